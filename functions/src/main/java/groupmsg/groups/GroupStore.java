package groupmsg.groups;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DeletionMarks;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Groups in the core table: group {@code ACCT#a / GROUP#g}, name reservation {@code ACCT#a / GROUPNAME#<lower>}
 * (unique names ignoring case), and pending member clean-ups of deleted groups {@code JOBS#group-cleanup / a#g}
 * (an outbox the maintenance handler re-drives if the clean-up message was never sent).
 */
final class GroupStore {
    static final String CLEANUP_JOBS_PK = "JOBS#group-cleanup";

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;
    /** Deleted groups' marks: the retry of the request that made one cannot make it again. */
    private final DeletionMarks deleted;

    GroupStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
        this.deleted = new DeletionMarks(dynamo, table, "GROUP-DELETED#");
    }

    static String accountPk(String accountId) {
        return Attr.accountPk(accountId);
    }

    static Map<String, AttributeValue> groupKey(String accountId, String groupId) {
        return Attr.key(accountPk(accountId), "GROUP#" + groupId);
    }

    /** Whether the group {@code groupId} was deleted within its mark's {@link DeletionMarks#KEPT} (a consistent read). */
    boolean deleted(String accountId, String groupId) {
        return deleted.marked(accountId, groupId);
    }

    private static Map<String, AttributeValue> nameKey(String accountId, String name) {
        return Attr.key(accountPk(accountId), "GROUPNAME#" + name.toLowerCase(Locale.ROOT));
    }

    /** Creates the group; returns it as stored (an earlier run's, when a run of the same request created it). */
    Group create(String accountId, Group group) {
        var item = new HashMap<String, AttributeValue>(groupKey(accountId, group.id()));
        item.put("groupId", s(group.id()));
        item.put("name", s(group.name()));
        if (group.description() != null) item.put("description", s(group.description()));
        item.put("memberCount", n(0));
        item.put("createdAt", n(group.createdAt()));
        item.put("updatedAt", n(group.updatedAt()));
        var outcome = ops.transact(List.of(
                TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                        .conditionExpression("attribute_not_exists(pk)")).build(),
                reserveName(accountId, group.name(), group.id()),
                deleted.absent(accountId, group.id())));
        if (outcome instanceof DynamoOps.Cancelled c) {
            var earlier = get(accountId, group.id()); // its name is reserved by itself: not taken
            if (earlier.isPresent()) return earlier.get();
            if (c.conditionFailed(2)) {
                // the retry of a request whose first run made it, deleted since: not made again
                throw ApiException.conflict("the group this request created (" + group.id() + ") has been deleted since;"
                        + " create another with a new Idempotency-Key");
            }
            if (c.conditionFailed(1)) throw nameTaken(group.name());
            throw new IllegalStateException("group create cancelled: " + c);
        }
        return group;
    }

    /**
     * The account's groups of these ids, by id (consistent; BatchGetItem, 100 keys a call); unknown ids are left out,
     * and ids that are none (null, or not {@code grp_...}) are not read.
     */
    Map<String, Group> getAll(String accountId, java.util.Collection<String> groupIds) {
        Map<String, Group> found = new HashMap<>();
        var keys = groupIds.stream().filter(id -> id != null && id.startsWith("grp_")).distinct()
                .map(id -> groupKey(accountId, id)).toList();
        for (var item : ops.batchGet(table, keys)) {
            Group g = toGroup(item);
            found.put(g.id(), g);
        }
        return found;
    }

    Optional<Group> get(String accountId, String groupId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(groupKey(accountId, groupId)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toGroup(item));
    }

    record GroupPage(List<Group> groups, Map<String, AttributeValue> lastKey) {}

    /**
     * Read consistently: removing a number from all groups goes through this list, and must find the group created a
     * moment before (an account has tens of groups, so the doubled read cost is small).
     */
    GroupPage list(String accountId, int limit, Map<String, AttributeValue> startKey) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table).consistentRead(true)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                .expressionAttributeValues(Map.of(":pk", s(accountPk(accountId)), ":prefix", s("GROUP#")))
                .exclusiveStartKey(startKey));
        List<Group> groups = new ArrayList<>();
        page.items().forEach(i -> groups.add(toGroup(i)));
        return new GroupPage(groups, page.lastKey());
    }

    /**
     * Renames and/or re-describes; moves the name reservation when the name changes other than in case. Only if the
     * group's name is still {@code current}'s: a rename that committed since the read would otherwise be undone (a
     * description change writes the name it read) or leave its new name's reservation behind. False when the name
     * changed since the read: the caller reads the group again and retries.
     *
     * @param newDescription empty removes it; null leaves it as it is now (not as read: a description another request
     *                       set since stays)
     */
    boolean update(String accountId, Group current, String newName, String newDescription, long now) {
        List<TransactWriteItem> actions = new ArrayList<>();
        var names = new HashMap<String, String>(Map.of("#name", "name"));
        var values = new HashMap<String, AttributeValue>(Map.of(":name", s(newName), ":now", n(now),
                ":read", s(current.name())));
        String set = "SET #name = :name, updatedAt = :now";
        String remove = "";
        if (newDescription != null) {
            names.put("#description", "description");
            if (newDescription.isEmpty()) {
                remove = " REMOVE #description";
            } else {
                set += ", #description = :description";
                values.put(":description", s(newDescription));
            }
        }
        String expression = set + remove;
        actions.add(TransactWriteItem.builder().update(u -> u.tableName(table).key(groupKey(accountId, current.id()))
                .updateExpression(expression).conditionExpression("attribute_exists(pk) AND #name = :read")
                .expressionAttributeNames(names).expressionAttributeValues(values)).build());
        boolean nameMoves = !newName.toLowerCase(Locale.ROOT).equals(current.name().toLowerCase(Locale.ROOT));
        if (nameMoves) {
            actions.add(reserveName(accountId, newName, current.id()));
            actions.add(TransactWriteItem.builder().delete(d -> d.tableName(table).key(nameKey(accountId, current.name()))
                    .conditionExpression("groupId = :g").expressionAttributeValues(Map.of(":g", s(current.id())))).build());
        }
        var outcome = ops.transact(actions);
        if (nameMoves && outcome instanceof DynamoOps.Cancelled c && c.conditionFailed(2)
                && !c.conditionFailed(0) && !c.conditionFailed(1)) {
            // The name is the group's (its condition held) but its reservation is not (missing, or left to another
            // group by an earlier race, as delete finds too): not this group's to delete. Renamed without it; before,
            // every rename of such a group was a 409 "retry", for good.
            outcome = ops.transact(actions.subList(0, 2));
        }
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (c.conditionFailed(0)) {
                if (get(accountId, current.id()).isEmpty()) throw ApiException.notFound("group");
                return false;
            }
            if (nameMoves && c.conditionFailed(1)) throw nameTaken(newName);
            throw ApiException.conflict("the group changed while it was being updated; retry");
        }
        return true;
    }

    /**
     * Deletes the group and its name reservation and records a member clean-up job, atomically, as a membership
     * change stamped {@code stampedAt} (its clean-up tombstones every member with the stamp it commits with): in
     * order with every accepted message and change, so a message accepted just before still goes to its members.
     * Returns that stamp, or empty when the group is gone.
     * <p>
     * The reservation deleted is the one of the name the group has when the delete commits, and only if it is the
     * group's own: the group's delete is conditioned on the name read, so a rename committed in between makes it
     * read the group again and delete the new name's (before, the old name's was deleted unconditionally: the new
     * one stayed reserved by a group that no longer exists, for good, or another group's reservation of the old
     * name went).
     */
    OptionalLong delete(String accountId, Group group, java.time.Clock clock) {
        long now = clock.millis();
        Group read = group;
        boolean ownsName = true;
        for (int attempt = 0; attempt < 20; attempt++) {
            var job = new HashMap<String, AttributeValue>(Attr.key(CLEANUP_JOBS_PK, accountId + "#" + group.id()));
            job.put("accountId", s(accountId));
            job.put("groupId", s(group.id()));
            job.put("deletedAt", n(now));
            long at = now;
            String name = read.name();
            List<TransactWriteItem> actions = new ArrayList<>();
            actions.add(TransactWriteItem.builder().delete(d -> d.tableName(table).key(groupKey(accountId, group.id()))
                    .conditionExpression("attribute_exists(pk) AND #name = :name AND " + STAMP_IN_ORDER)
                    .expressionAttributeNames(Map.of("#name", "name"))
                    .expressionAttributeValues(Map.of(":now", n(at), ":name", s(name)))).build());
            actions.add(TransactWriteItem.builder().put(p -> p.tableName(table).item(job)).build());
            if (ownsName) {
                actions.add(TransactWriteItem.builder().delete(d -> d.tableName(table).key(nameKey(accountId, name))
                        .conditionExpression("groupId = :g").expressionAttributeValues(Map.of(":g", s(group.id())))).build());
            }
            actions.add(deleted.put(accountId, group.id(), at)); // last: see above
            var outcome = ops.transact(actions);
            if (outcome instanceof DynamoOps.Committed) return OptionalLong.of(at);
            // The name is the group's (its condition held) but its reservation is not: left by an earlier race,
            // it is not this group's to delete.
            if (ownsName && outcome instanceof DynamoOps.Cancelled c && c.conditionFailed(2) && !c.conditionFailed(0)) {
                ownsName = false;
            }
            Optional<Group> current = get(accountId, group.id());
            if (current.isEmpty()) return OptionalLong.empty();
            if (!current.get().name().equals(read.name())) ownsName = true;
            read = current.get();
            // not before now either: behind every change that began after it, it would lose to a stream of them
            now = restamp(read, Math.max(now, clock.millis()));
        }
        throw new IllegalStateException("group delete kept conflicting");
    }

    /**
     * @param redrivenAt when maintenance last sent its job again, or a run of it last handed on (0: never)
     * @param after      the last member row a run of it read before it handed on (null: none did)
     */
    record CleanupJob(String accountId, String groupId, long deletedAt, long redrivenAt, String after) {}

    /**
     * Clean-up jobs recorded before {@code olderThan} (ms) and not sent again since {@code redrivenBefore}, oldest
     * first, at most {@code limit}; few exist at any time, so all are read (every page). The rows sort by account and
     * group, not time, and a Query's limit counts the rows it reads before its filter: one page of {@code limit} once
     * held only newer jobs (or other accounts' sorting first), and an old job behind them was never sent again.
     */
    List<CleanupJob> pendingCleanups(long olderThan, long redrivenBefore, int limit) {
        return ops.queryAll(table, CLEANUP_JOBS_PK).stream()
                .map(i -> new CleanupJob(Attr.str(i, "accountId"), Attr.str(i, "groupId"), Attr.num(i, "deletedAt", 0),
                        Attr.num(i, "redrivenAt", 0), Attr.str(i, "after")))
                .filter(job -> job.deletedAt() < olderThan && job.redrivenAt() < redrivenBefore)
                .sorted(java.util.Comparator.comparingLong(CleanupJob::deletedAt))
                .limit(limit).toList();
    }

    /** Records that maintenance sent the clean-up's job again at {@code now} (not for a job finished meanwhile). */
    void markCleanupRedriven(String accountId, String groupId, long now) {
        // a failed condition: done meanwhile, nothing to mark
        ops.updateIf(b -> b.tableName(table).key(Attr.key(CLEANUP_JOBS_PK, accountId + "#" + groupId))
                .updateExpression("SET redrivenAt = :now").conditionExpression("attribute_exists(pk)")
                .expressionAttributeValues(Map.of(":now", n(now))));
    }

    /**
     * Records that a run of the clean-up handed on at {@code now}, after the member row {@code after}: maintenance waits
     * its retry span from now before sending it again, and then sends it from there (not for a job finished meanwhile).
     */
    void markCleanupHandedOn(String accountId, String groupId, long now, String after) {
        // never back: a run's mark can come after the next run's (each sends its hand-on first)
        ops.updateIf(b -> b.tableName(table).key(Attr.key(CLEANUP_JOBS_PK, accountId + "#" + groupId))
                .updateExpression("SET redrivenAt = :now, #after = :after")
                .conditionExpression("attribute_exists(pk) AND (attribute_not_exists(#after) OR #after < :after)")
                .expressionAttributeNames(Map.of("#after", "after"))
                .expressionAttributeValues(Map.of(":now", n(now), ":after", s(after))));
    }

    void finishCleanup(String accountId, String groupId) {
        dynamo.deleteItem(b -> b.tableName(table).key(Attr.key(CLEANUP_JOBS_PK, accountId + "#" + groupId)));
    }

    /** A membership change's stamp must be after the group's last acceptance, and not before an earlier change's. */
    private static final String STAMP_IN_ORDER = "(attribute_not_exists(lastSendAt) OR lastSendAt < :now)"
            + " AND (attribute_not_exists(stampedTo) OR stampedTo <= :now)";

    /**
     * The counter's part of a membership change whose rows are stamped {@code now}: the count, the group's
     * membership version and its latest stamp. It fails when the group is gone, and when the stamp is out of order:
     * a group message was accepted at or after it ({@code lastSendAt}: a change stamped before a message's acceptance
     * but committed after it would be in its fan-out, which keeps the rows present at that time, without being in its
     * count), or a change committed with a later stamp (another instance's clock ahead: commit order and stamp order
     * must agree). The writer stamps again ({@link Group#lastSendAt} + 1, {@link Group#stampedTo}) and retries.
     */
    TransactWriteItem counterDelta(String accountId, String groupId, long delta, long now) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(groupKey(accountId, groupId))
                .updateExpression("ADD memberCount :d, memberVersion :one SET updatedAt = :now, stampedTo = :now")
                .conditionExpression("attribute_exists(pk) AND " + STAMP_IN_ORDER)
                .expressionAttributeValues(Map.of(":d", n(delta), ":one", n(1), ":now", n(now)))).build();
    }

    /** That the group still exists, in a membership transaction that moves no counter (renames, an import's progress). */
    TransactWriteItem existsCheck(String accountId, String groupId) {
        return TransactWriteItem.builder().conditionCheck(c -> c.tableName(table).key(groupKey(accountId, groupId))
                .conditionExpression("attribute_exists(pk)")).build();
    }

    /** The stamp a membership change takes after its counter's condition failed: after every accepted message and change. */
    static long restamp(Group group, long stamp) {
        return Math.max(stamp, Math.max(group.lastSendAt() + 1, group.stampedTo()));
    }

    /**
     * A group message's acceptance at {@code acceptedAt} of the group as read ({@code seen}): it holds only if no
     * membership change committed since that read (the version is still the one read: a count could change and come
     * back) and no later message was accepted meanwhile; it fences later changes stamped at or before
     * {@code acceptedAt} out (see {@link #counterDelta}). {@code acceptedAt} must be after {@code seen}'s
     * {@code lastSendAt} and not before its {@code stampedTo}.
     */
    TransactWriteItem acceptFence(String accountId, Group seen, long acceptedAt) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(groupKey(accountId, seen.id()))
                .updateExpression("SET lastSendAt = :at")
                .conditionExpression("attribute_exists(pk) AND "
                        + (seen.memberVersion() == 0 ? "attribute_not_exists(memberVersion)" : "memberVersion = :version")
                        + " AND (attribute_not_exists(lastSendAt) OR lastSendAt < :at)")
                .expressionAttributeValues(seen.memberVersion() == 0 ? Map.of(":at", n(acceptedAt))
                        : Map.of(":at", n(acceptedAt), ":version", n(seen.memberVersion())))).build();
    }

    String table() {
        return table;
    }

    private TransactWriteItem reserveName(String accountId, String name, String groupId) {
        var item = new HashMap<String, AttributeValue>(nameKey(accountId, name));
        item.put("groupId", s(groupId));
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                .conditionExpression("attribute_not_exists(pk)")).build();
    }

    private static ApiException nameTaken(String name) {
        return ApiException.conflict("a group named '" + name + "' already exists (names are unique ignoring case)");
    }

    private static Group toGroup(Map<String, AttributeValue> item) {
        return new Group(Attr.str(item, "groupId"), Attr.str(item, "name"), Attr.str(item, "description"),
                Attr.num(item, "memberCount", 0), Attr.num(item, "createdAt", 0), Attr.num(item, "updatedAt", 0),
                Attr.num(item, "lastSendAt", 0), Attr.num(item, "memberVersion", 0), Attr.num(item, "stampedTo", 0));
    }
}
