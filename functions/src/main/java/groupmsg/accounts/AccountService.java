package groupmsg.accounts;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.Role;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Accounts, their settings and API keys; resolves a presented key to its caller. */
public final class AccountService {
    /** The local runtime's default account (API.md: LOCAL_API_KEY is its owner key). */
    public static final String DEFAULT_ACCOUNT_ID = "acct_default";

    private final AccountStore store;
    private final ApiKeys keys = new ApiKeys();
    private final Clock clock;
    private final Ids ids;

    public AccountService(Wiring wiring) {
        this.store = new AccountStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE), wiring.clock());
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    /** A new account with a generated owner key. */
    public CreatedAccount createAccount(String name) {
        String accountId = ids.next("acct_");
        String secret = keys.generate();
        ApiKeyView owner = newKey(ids.next(ApiKeyView.ID_PREFIX), "owner", Role.OWNER, secret);
        var account = new Account(accountId, name, AccountSettings.defaults(), clock.millis());
        if (!store.createAccount(account, owner, ApiKeys.hash(secret))) {
            throw new IllegalStateException("account id collision: " + accountId);
        }
        return new CreatedAccount(accountId, secret);
    }

    /**
     * Makes sure the local runtime's default account exists and that {@code ownerKey} (when given) is one of its
     * owner keys; with no key given a new one is generated. Safe to call on every start.
     */
    public CreatedAccount bootstrapDefaultAccount(String name, String ownerKey) {
        store.putAccountIfAbsent(new Account(DEFAULT_ACCOUNT_ID, name, AccountSettings.defaults(), clock.millis()));
        boolean generated = ownerKey == null || ownerKey.isBlank();
        String secret = generated ? keys.generate() : ownerKey.strip();
        if (!ApiKeys.plausible(secret)) {
            throw new IllegalArgumentException("LOCAL_API_KEY must be 1..256 printable ASCII characters without spaces");
        }
        Optional<Caller> existing = store.callerByHash(ApiKeys.hash(secret));
        String keyId;
        if (existing.isPresent()) {
            if (!existing.get().accountId().equals(DEFAULT_ACCOUNT_ID)) {
                throw new IllegalArgumentException("LOCAL_API_KEY already belongs to another account");
            }
            // the start-up key is the owner's: a member key given here would have been taken for it
            if (existing.get().role() != Role.OWNER) {
                throw new IllegalArgumentException("LOCAL_API_KEY is one of the default account's "
                        + existing.get().role().wireName() + " keys; the start-up key must be an owner key");
            }
            keyId = existing.get().keyId();
        } else {
            ApiKeyView added = newKey(ids.next(ApiKeyView.ID_PREFIX), generated ? GENERATED_LOCAL_KEY : LOCAL_KEY, Role.OWNER, secret);
            store.countKeysIfUncounted(DEFAULT_ACCOUNT_ID);
            store.addKey(DEFAULT_ACCOUNT_ID, added, ApiKeys.hash(secret), null);
            keyId = added.id();
        }
        // The default account has one start-up owner key, this start's: the one an earlier start generated or was
        // given is revoked (each start used to add one more live owner key, so changing LOCAL_API_KEY to be rid of
        // a leaked one did nothing). Keys made through the API are left alone.
        for (ApiKeyView old : store.allKeys(DEFAULT_ACCOUNT_ID)) {
            if (startUpKeyName(old.name()) && !old.id().equals(keyId)) revokeKey(DEFAULT_ACCOUNT_ID, old.id(), null);
        }
        return new CreatedAccount(DEFAULT_ACCOUNT_ID, secret);
    }

    /** The id of the default account's start-up owner key (see bootstrapDefaultAccount), if the account has one. */
    public Optional<String> startUpKeyId() {
        // the newest: during a start, or after one whose revocation of the last failed, there are two
        return store.allKeys(DEFAULT_ACCOUNT_ID).stream().filter(k -> startUpKeyName(k.name()))
                .max(java.util.Comparator.comparingLong(ApiKeyView::createdAt)).map(ApiKeyView::id);
    }

    /** Whether {@code name} is a start-up key's (the API refuses it for a key it makes, see bootstrapDefaultAccount). */
    public static boolean startUpKeyName(String name) {
        return name.equals(GENERATED_LOCAL_KEY) || name.equals(LOCAL_KEY);
    }

    /** The name of the owner key a local start is given in LOCAL_API_KEY, which the next start replaces. */
    static final String LOCAL_KEY = "local owner (LOCAL_API_KEY)";

    /** The name of the owner key a local start generates (no LOCAL_API_KEY), which the next start replaces. */
    static final String GENERATED_LOCAL_KEY = "local owner (generated)";

    /** The caller behind a presented key, if the key is live. */
    public Optional<Caller> authorize(String presentedKey) {
        if (!ApiKeys.plausible(presentedKey)) return Optional.empty();
        return store.callerByHash(ApiKeys.hash(presentedKey));
    }

    public Account account(String accountId) {
        return store.account(accountId).orElseThrow(() -> ApiException.notFound("account"));
    }

    /** Sets the name and the settings given, and only those (another PATCH's at the same time stand too). */
    public Account updateAccount(String accountId, Optional<String> name, AccountSettings.Change settings) {
        if (name.isEmpty() && settings.isEmpty()) return account(accountId);
        return store.updateAccount(accountId, name.orElse(null), settings)
                .orElseThrow(() -> ApiException.notFound("account"));
    }

    public record NewKey(ApiKeyView key, String secret) {}

    /**
     * Creates the key {@code keyId} with a new secret. When it exists already, this is the same request run again
     * after its first run stored the key but its answer was lost (an Idempotency-Key retry after a 5xx, which holds
     * the id): the key gets a new secret, which is answered, so the request makes one key, and its secret is known
     * (before, the retry made a second key, the first's secret seen by nobody). Nothing is stored when the caller's
     * own key was revoked meanwhile ({@link CallerKey}).
     */
    public NewKey createKey(String accountId, String keyId, String name, Role role, Caller caller) {
        String secret = keys.generate();
        ApiKeyView key = newKey(keyId, name, role, secret);
        store.countKeysIfUncounted(accountId);
        if (store.addKey(accountId, key, ApiKeys.hash(secret), caller)) return new NewKey(key, secret);
        var stored = store.key(accountId, keyId).orElseThrow(() -> new IllegalStateException("key collision"));
        if (!store.replaceSecret(accountId, stored, ApiKeys.hash(secret), ApiKeys.last4(secret), caller)) {
            throw new IllegalStateException("the key changed while its secret was replaced");
        }
        ApiKeyView was = stored.key();
        return new NewKey(new ApiKeyView(was.id(), was.name(), was.role(), ApiKeys.last4(secret), was.createdAt()), secret);
    }

    /**
     * Whether the account has the key {@code keyId}, or had it and revoked it within 30 days (a retried request's check
     * for what its first run made: one whose key was revoked since keeps that id, and its retry is a 409).
     */
    public boolean keyExistsOrRevoked(String accountId, String keyId) {
        return store.key(accountId, keyId).isPresent() || store.revoked(accountId, keyId);
    }

    public record KeyPage(List<ApiKeyView> keys, Map<String, AttributeValue> lastKey) {}

    public KeyPage listKeys(String accountId, int limit, Map<String, AttributeValue> startKey) {
        var page = store.keys(accountId, limit, startKey);
        return new KeyPage(page.keys(), page.lastKey());
    }

    /**
     * Revokes a key at once (its lookup row is deleted, and the authorizer reads consistently). The account's
     * last owner key cannot be revoked: nobody could manage keys afterwards. Nothing is revoked when the caller's own
     * key was revoked meanwhile ({@link CallerKey}): a leaked key's requests under way cannot revoke the others.
     */
    public void revokeKey(String accountId, String keyId, Caller caller) {
        // before its count moves: a revocation would otherwise start an account from before the count at -1
        store.countKeysIfUncounted(accountId);
        // Decided on the keys as read after the revocation count; another revocation committed meanwhile (two owner
        // keys revoked side by side, each seeing the other) moves the count, and this one decides again.
        for (int attempt = 0; attempt < MAX_REVOKE_ATTEMPTS; attempt++) {
            long revocations = store.revocations(accountId);
            List<ApiKeyView> all = store.allKeys(accountId);
            ApiKeyView target = all.stream().filter(k -> k.id().equals(keyId)).findFirst()
                    .orElseThrow(() -> ApiException.notFound("API key"));
            long owners = all.stream().filter(k -> k.role() == Role.OWNER).count();
            if (target.role() == Role.OWNER && owners <= 1) {
                throw new ApiException(ErrorCode.CONFLICT, "cannot revoke the account's last owner key; create another owner key first");
            }
            // only an owner key's revocation is decided on the others: another key's goes whatever else is revoked
            switch (store.deleteKey(accountId, keyId, target.role() == Role.OWNER ? revocations : AccountStore.ANY_REVOCATIONS, caller)) {
                case REVOKED -> {
                    return;
                }
                case NO_SUCH_KEY -> throw ApiException.notFound("API key");
                case KEYS_CHANGED -> { /* decide again on the keys as they are now */ }
            }
        }
        throw ApiException.conflict("the account's keys kept changing while this key was revoked; try again");
    }

    /** Revocations of one account side by side are rare; each failed attempt saw another commit. */
    static final int MAX_REVOKE_ATTEMPTS = 10;

    public static String accountPartition(String accountId) {
        return AccountStore.accountPk(accountId);
    }

    private ApiKeyView newKey(String id, String name, Role role, String secret) {
        return new ApiKeyView(id, name, role, ApiKeys.last4(secret), clock.millis());
    }
}
