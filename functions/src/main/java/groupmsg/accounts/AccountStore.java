package groupmsg.accounts;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.Role;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DeletionMarks;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import groupmsg.platform.schema.Handlers;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.Select;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Accounts and API keys in the core table:
 * account {@code ACCT#a / ACCOUNT}; key {@code ACCT#a / KEY#k}; key lookup {@code KEYHASH#sha256 / KEYHASH}; a revoked
 * key's mark {@code ACCT#a / KEY-REVOKED#k}.
 */
final class AccountStore {
    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;
    private final java.time.Clock clock;
    /**
     * Revoked keys' marks: the retry of the request that made one cannot make it again (a revoked id active again,
     * with a secret only the retry saw).
     */
    private final DeletionMarks revokedKeys;

    AccountStore(DynamoOps ops, String table, java.time.Clock clock) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
        this.clock = clock;
        this.revokedKeys = new DeletionMarks(dynamo, table, "KEY-REVOKED#");
    }

    static String accountPk(String accountId) {
        return Attr.accountPk(accountId);
    }

    static String keySk(String keyId) {
        return "KEY#" + keyId;
    }

    /** Creates the account with its first key atomically; false when the account exists already. */
    boolean createAccount(Account account, ApiKeyView key, String keyHash) {
        var outcome = ops.transact(List.of(
                TransactWriteItem.builder().put(p -> p.tableName(table).item(accountItem(account))
                        .conditionExpression("attribute_not_exists(pk)")).build(),
                putKey(account.id(), key, keyHash),
                putKeyHash(account.id(), key, keyHash),
                // a put, not an ADD: the bootstrap function may only put items (Handlers.NARROWED_TABLE_ACCESS)
                TransactWriteItem.builder().put(p -> p.tableName(table).item(Map.of("pk", s(accountPk(account.id())),
                        "sk", s(KEY_COUNT_SK), "keys", n(1))).conditionExpression("attribute_not_exists(pk)")).build()));
        return outcome instanceof DynamoOps.Committed;
    }

    /** Keys an account may have at once: a leaked owner key could otherwise make millions, which no revocation reads. */
    static final int MAX_KEYS = 100;
    private static final String KEY_COUNT_SK = "KEY-COUNT";

    /**
     * Moves the account's key count by {@code by}; one more only while it is under {@link #MAX_KEYS}, unless
     * {@code capped} is false (the local runtime's start-up key: it replaces the last one, revoked right after, and a
     * start must not fail on a full account).
     */
    private TransactWriteItem countKeys(String accountId, int by, boolean capped) {
        return TransactWriteItem.builder().update(u -> {
            u.tableName(table).key(Attr.key(accountPk(accountId), KEY_COUNT_SK)).updateExpression("ADD #keys :by");
            if (by > 0 && capped) {
                u.conditionExpression("attribute_not_exists(#keys) OR #keys < :max")
                        .expressionAttributeValues(Map.of(":by", n(by), ":max", n(MAX_KEYS)));
            } else {
                u.expressionAttributeValues(Map.of(":by", n(by)));
            }
            u.expressionAttributeNames(Map.of("#keys", "keys"));
        }).build();
    }

    boolean putAccountIfAbsent(Account account) {
        try {
            dynamo.putItem(b -> b.tableName(table).item(accountItem(account))
                    .conditionExpression("attribute_not_exists(pk)"));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * Starts the account's key count from the keys it has, where it has none yet (an account from before the count):
     * otherwise such an account's keys then would go uncounted, past the cap. Two at once put it once; a key made
     * between the count and the put is not counted (one or two over the cap at most).
     */
    void countKeysIfUncounted(String accountId) {
        var count = dynamo.getItem(b -> b.tableName(table).key(Attr.key(accountPk(accountId), KEY_COUNT_SK))
                .consistentRead(true)).item();
        if (count != null && !count.isEmpty()) return;
        int keys = dynamo.queryPaginator(b -> b.tableName(table).consistentRead(true)
                        .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)").select(Select.COUNT)
                        .expressionAttributeValues(Map.of(":pk", s(accountPk(accountId)), ":prefix", s("KEY#"))))
                .stream().mapToInt(QueryResponse::count).sum();
        try {
            dynamo.putItem(b -> b.tableName(table).item(Map.of("pk", s(accountPk(accountId)), "sk", s(KEY_COUNT_SK),
                    "keys", n(keys))).conditionExpression("attribute_not_exists(pk)"));
        } catch (ConditionalCheckFailedException e) {
            // counted meanwhile by another creation
        }
    }

    /**
     * Adds a key; false when a key with its id, or one with the same secret, is registered already.
     *
     * @param caller the key the request came with (null: the runtime's own start-up keys)
     */
    boolean addKey(String accountId, ApiKeyView key, String keyHash, Caller caller) {
        var actions = List.of(putKey(accountId, key, keyHash), putKeyHash(accountId, key, keyHash),
                countKeys(accountId, 1, caller != null), revokedKeys.absent(accountId, key.id()));
        var outcome = CallerKey.transact(ops, table, actions, caller, key.id());
        if (outcome instanceof DynamoOps.Cancelled c && !c.conditionFailed(0) && c.conditionFailed(3)) {
            // the retry of a request whose first run made this key, revoked since: not made again (a revoked id
            // active again, with a secret only the retry saw)
            throw ApiException.conflict("the key this request created (" + key.id() + ") has been revoked since; "
                    + "create another with a new Idempotency-Key");
        }
        if (outcome instanceof DynamoOps.Cancelled c && !c.conditionFailed(0) && c.conditionFailed(2)) {
            throw ApiException.conflict("the account has " + MAX_KEYS + " API keys, the most it may have; revoke one first");
        }
        return outcome instanceof DynamoOps.Committed;
    }

    /** Whether the key {@code keyId} was revoked within its mark's {@link DeletionMarks#KEPT} (a consistent read). */
    boolean revoked(String accountId, String keyId) {
        return revokedKeys.marked(accountId, keyId);
    }

    /** The account, read consistently: a setting changed a moment ago (who may start conversations) applies at once. */
    Optional<Account> account(String accountId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(accountPk(accountId), "ACCOUNT")).consistentRead(true)).item();
        if (item == null || item.isEmpty()) return Optional.empty();
        return Optional.of(toAccount(item));
    }

    /**
     * Sets {@code name} (null: left) and the settings {@code change} names, each its own attribute, so a change of one
     * never writes back another's old value; the account as it is then, or empty when there is none.
     */
    Optional<Account> updateAccount(String accountId, String name, AccountSettings.Change change) {
        var values = new HashMap<String, AttributeValue>();
        var names = new HashMap<String, String>();
        List<String> sets = new java.util.ArrayList<>();
        if (name != null) {
            sets.add("#name = :name");
            names.put("#name", "name");
            values.put(":name", s(name));
        }
        if (change.groupChatRoles() != null) {
            sets.add("groupChatRoles = :roles");
            values.put(":roles", roleList(change.groupChatRoles()));
        }
        if (change.maxConversationParticipants() != null) {
            sets.add("maxConversationParticipants = :max");
            values.put(":max", n(change.maxConversationParticipants()));
        }
        if (change.conversationOptOutPolicy() != null) {
            sets.add("conversationOptOutPolicy = :policy");
            values.put(":policy", s(change.conversationOptOutPolicy()));
        }
        if (change.groupMessageAnswers() != null) {
            sets.add("groupMessageAnswers = :answers");
            values.put(":answers", s(change.groupMessageAnswers()));
        }
        try {
            var after = dynamo.updateItem(b -> b.tableName(table).key(Attr.key(accountPk(accountId), "ACCOUNT"))
                    .updateExpression("SET " + String.join(", ", sets)).conditionExpression("attribute_exists(pk)")
                    .expressionAttributeNames(names.isEmpty() ? null : names).expressionAttributeValues(values)
                    .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.ALL_NEW)).attributes();
            return Optional.of(toAccount(after));
        } catch (ConditionalCheckFailedException e) {
            return Optional.empty();
        }
    }

    private static AttributeValue roleList(Set<Role> roles) {
        return AttributeValue.fromL(roles.stream().sorted().map(r -> s(r.wireName())).toList());
    }

    /** The key behind a secret's hash, read consistently so that a revoked key fails at once. */
    Optional<Caller> callerByHash(String keyHash) {
        var item = dynamo.getItem(b -> b.tableName(table).key(keyLookup(keyHash))
                .consistentRead(true)).item();
        if (item == null || item.isEmpty()) return Optional.empty();
        return Role.fromWire(Attr.str(item, "role"))
                .map(role -> new Caller(Attr.str(item, "accountId"), Attr.str(item, "keyId"), role));
    }

    record KeyPage(List<ApiKeyView> keys, Map<String, AttributeValue> lastKey) {}

    KeyPage keys(String accountId, int limit, Map<String, AttributeValue> startKey) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                .expressionAttributeValues(Map.of(":pk", s(accountPk(accountId)), ":prefix", s("KEY#")))
                .consistentRead(true) // a key revoked or created a moment before shows so, as the authorizer sees it
                .exclusiveStartKey(startKey));
        return new KeyPage(page.items().stream().map(AccountStore::toKey).toList(), page.lastKey());
    }

    /** Every key of the account, read consistently (a revocation decides on them). */
    List<ApiKeyView> allKeys(String accountId) {
        return ops.queryAll(table, accountPk(accountId), "KEY#").stream().map(AccountStore::toKey).toList();
    }

    /**
     * How many revocations the account has had: each one's transaction moves it on condition that it is still what
     * was read before the keys were, so two revocations decided on the same keys cannot both commit (each saw
     * another owner key, and together they would remove the last two).
     */
    long revocations(String accountId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(accountPk(accountId), REVOCATIONS_SK))
                .consistentRead(true)).item();
        return Attr.num(item, "count", 0);
    }

    private static final String REVOCATIONS_SK = "KEY-REVOCATIONS";

    enum Revoked { REVOKED, NO_SUCH_KEY, KEYS_CHANGED }

    /** For {@link #deleteKey}: a revocation decided on nothing else (not an owner key's), which does not count. */
    static final long ANY_REVOCATIONS = -1;

    /**
     * Deletes the key and its lookup row together, if no other revocation committed since {@code revocationsRead}
     * ({@link #revocations}) was read.
     */
    Revoked deleteKey(String accountId, String keyId, long revocationsRead, Caller caller) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(accountPk(accountId), keySk(keyId)))
                .consistentRead(true)).item();
        if (item == null || item.isEmpty()) return Revoked.NO_SUCH_KEY;
        String hash = Attr.str(item, "keyHash");
        List<TransactWriteItem> actions = new ArrayList<>(List.of(
                // still the secret read: one replaced meanwhile (a retried creation) would keep its new lookup row,
                // a secret that works, of a key no longer listed
                TransactWriteItem.builder().delete(d -> d.tableName(table)
                        .key(Attr.key(accountPk(accountId), keySk(keyId)))
                        .conditionExpression("keyHash = :hash").expressionAttributeValues(Map.of(":hash", s(hash)))).build(),
                deleteKeyHash(hash)));
        actions.add(countKeys(accountId, -1, false));
        actions.add(revokedKeys.put(accountId, keyId, clock.millis())); // index 3, before the revocations' count
        if (revocationsRead != ANY_REVOCATIONS) {
            actions.add(TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(accountPk(accountId), REVOCATIONS_SK))
                    .updateExpression("SET #count = :next")
                    .conditionExpression(revocationsRead == 0 ? "attribute_not_exists(#count)" : "#count = :read")
                    .expressionAttributeNames(Map.of("#count", "count"))
                    .expressionAttributeValues(revocationsRead == 0 ? Map.of(":next", n(1))
                            : Map.of(":next", n(revocationsRead + 1), ":read", n(revocationsRead)))).build());
        }
        var outcome = CallerKey.transact(ops, table, actions, caller, keyId);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (c.conditionFailed(0)) return key(accountId, keyId).isEmpty() ? Revoked.NO_SUCH_KEY : Revoked.KEYS_CHANGED;
            if (revocationsRead != ANY_REVOCATIONS && c.conditionFailed(4)) return Revoked.KEYS_CHANGED;
            throw new IllegalStateException("key revocation cancelled: " + c);
        }
        return Revoked.REVOKED;
    }

    /** A key as stored, with the hash of its secret; empty when there is none. */
    record StoredKey(ApiKeyView key, String keyHash) {}

    Optional<StoredKey> key(String accountId, String keyId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(accountPk(accountId), keySk(keyId)))
                .consistentRead(true)).item();
        if (item == null || item.isEmpty()) return Optional.empty();
        return Optional.of(new StoredKey(toKey(item), Attr.str(item, "keyHash")));
    }

    /**
     * Gives a key another secret: its row takes the new hash and last four, its old lookup row goes and the new one
     * comes, together; false when the key is gone or holds another secret than {@code stored} did by now.
     */
    boolean replaceSecret(String accountId, StoredKey stored, String newHash, String newLast4, Caller caller) {
        ApiKeyView key = stored.key();
        var actions = List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(accountPk(accountId), keySk(key.id())))
                        .updateExpression("SET keyHash = :new, last4 = :last4").conditionExpression("keyHash = :old")
                        .expressionAttributeValues(Map.of(":new", s(newHash), ":last4", s(newLast4), ":old", s(stored.keyHash())))).build(),
                deleteKeyHash(stored.keyHash()),
                putKeyHash(accountId, key, newHash));
        var outcome = CallerKey.transact(ops, table, actions, caller, key.id());
        return outcome instanceof DynamoOps.Committed;
    }

    private TransactWriteItem putKey(String accountId, ApiKeyView key, String keyHash) {
        var item = new HashMap<String, AttributeValue>(Attr.key(accountPk(accountId), keySk(key.id())));
        // The key row remembers its hash so revocation can delete the lookup row (the secret itself is gone).
        item.put("keyHash", s(keyHash));
        item.put("name", s(key.name()));
        item.put("role", s(key.role().wireName()));
        item.put("last4", s(key.last4()));
        item.put("createdAt", n(key.createdAt()));
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                .conditionExpression("attribute_not_exists(pk)")).build();
    }

    /*
     * Only putKeyHash and deleteKeyHash write a key's lookup row (what the authorizer trusts): the stack denies every
     * other function writes under KEYHASH#: which handlers may is found by which reach these two (HandlerNeeds).
     */
    private TransactWriteItem putKeyHash(String accountId, ApiKeyView key, String keyHash) {
        var item = new HashMap<String, AttributeValue>(keyLookup(keyHash));
        item.put("accountId", s(accountId));
        item.put("keyId", s(key.id()));
        item.put("role", s(key.role().wireName()));
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                .conditionExpression("attribute_not_exists(pk)")).build();
    }

    private TransactWriteItem deleteKeyHash(String keyHash) {
        return TransactWriteItem.builder().delete(d -> d.tableName(table).key(keyLookup(keyHash))).build();
    }

    /** The key of a secret's lookup row; its partition key begins {@link Handlers#KEY_LOOKUP_PREFIX}. */
    private static Map<String, AttributeValue> keyLookup(String keyHash) {
        return Attr.key(Handlers.KEY_LOOKUP_PREFIX + keyHash, "KEYHASH");
    }

    private Map<String, AttributeValue> accountItem(Account account) {
        var item = new HashMap<String, AttributeValue>(Attr.key(accountPk(account.id()), "ACCOUNT"));
        item.put("accountId", s(account.id()));
        item.put("name", s(account.name()));
        item.put("createdAt", n(account.createdAt()));
        item.put("groupChatRoles", roleList(account.settings().groupChatRoles()));
        item.put("maxConversationParticipants", n(account.settings().maxConversationParticipants()));
        item.put("conversationOptOutPolicy", s(account.settings().conversationOptOutPolicy()));
        item.put("groupMessageAnswers", s(account.settings().groupMessageAnswers()));
        return item;
    }

    private static Account toAccount(Map<String, AttributeValue> item) {
        Set<Role> roles = EnumSet.noneOf(Role.class);
        if (item.containsKey("groupChatRoles")) {
            item.get("groupChatRoles").l().forEach(v -> Role.fromWire(v.s()).ifPresent(roles::add));
        }
        var defaults = AccountSettings.defaults();
        var settings = new AccountSettings(item.containsKey("groupChatRoles") ? roles : defaults.groupChatRoles(),
                (int) Attr.num(item, "maxConversationParticipants", defaults.maxConversationParticipants()),
                Optional.ofNullable(Attr.str(item, "conversationOptOutPolicy")).orElse(defaults.conversationOptOutPolicy()),
                Optional.ofNullable(Attr.str(item, "groupMessageAnswers")).orElse(defaults.groupMessageAnswers()));
        return new Account(Attr.str(item, "accountId"), Attr.str(item, "name"), settings, Attr.num(item, "createdAt", 0));
    }

    private static ApiKeyView toKey(Map<String, AttributeValue> item) {
        return new ApiKeyView(Attr.str(item, "sk").substring("KEY#".length()), Attr.str(item, "name"),
                Role.fromWire(Attr.str(item, "role")).orElseThrow(), Attr.str(item, "last4"),
                Attr.num(item, "createdAt", 0));
    }
}
