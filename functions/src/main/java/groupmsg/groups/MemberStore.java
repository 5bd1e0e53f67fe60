package groupmsg.groups;

import groupmsg.platform.api.Text;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Memberships in the members table, one row per (group, phone): {@code ACCT#a#GRP#g / +14155550123}.
 * A removal does not delete the row: it sets {@code removedAt} (a tombstone that expires through TTL), and a
 * re-add keeps the earlier presence intervals in {@code history}, so "who was a member at time T" can be
 * answered exactly for a message accepted at T (see {@link #presentAt}).
 * <p>
 * Every add and remove runs in a transaction with the group's {@code memberCount} update, with conditions
 * on the member row's previous state, so the count stays exact under any concurrency and under retries.
 */
final class MemberStore {
    /**
     * The form of a row's {@code nameLower} ({@code nameForm}): 2 since 2026-12-06, when a letter's own marks (a
     * Devanagari vowel sign, a kana's voicing mark) were kept; rows without it dropped every mark.
     */
    static final int NAME_FORM = 2;

    /** Transactions take 100 actions: up to 98 member puts + the counter + one caller action (import progress). */
    static final int MAX_PUTS_PER_TRANSACTION = 98;
    static final Duration TOMBSTONE_RETENTION = Duration.ofDays(30);
    private static final int MAX_HISTORY = 10;
    /**
     * How long an ended interval is kept whatever their number: a message accepted within it may still be fanning out
     * (redriven after an outage) and must find the member present then. Beyond {@link #MAX_HISTORY_HARD} the oldest
     * go all the same (the row's size).
     */
    static final Duration HISTORY_KEPT = Duration.ofDays(1);
    static final int MAX_HISTORY_HARD = 1_000;
    private static final int MAX_ATTEMPTS = 20;

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;
    private final GroupStore groups;
    private final Clock clock;

    MemberStore(DynamoOps ops, String table, GroupStore groups, Clock clock) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
        this.groups = groups;
        this.clock = clock;
    }

    static String groupPk(String accountId, String groupId) {
        return Attr.accountPk(accountId) + "#GRP#" + groupId;
    }

    /** A number to add, already normalised to E.164. */
    record Candidate(String phone, String name) {}

    /**
     * Counts of one unit; {@code updated} those of {@code alreadyMembers} whose name it changed;
     * {@code alreadyApplied} when the caller's own action's condition said it ran before;
     * {@code stampedAt} the stamp it committed with (later than asked when a group message or a later-stamped change
     * came first: the caller's next unit starts from it instead of failing the same way once more).
     */
    record UnitResult(int added, int alreadyMembers, int updated, boolean alreadyApplied, long stampedAt) {}

    /** The group is gone (deleted while members were being written). */
    static final class GroupGoneException extends RuntimeException {
        GroupGoneException() {
            super("group no longer exists", null, false, false);
        }
    }

    /**
     * Adds up to {@link #MAX_PUTS_PER_TRANSACTION} distinct numbers in one transaction with the counter update. A
     * number already present that is given a name other than its own takes that name in the same transaction (a
     * corrected list re-imported); one given no name keeps its own. A rename changes no count and no stamp: who
     * receives a message does not depend on names.
     *
     * @param extra an optional extra action (given the final added / already counts) committed in the same
     *              transaction; if its condition fails the unit is reported as already applied and nothing is written
     */
    UnitResult addUnit(String accountId, String groupId, List<Candidate> unit,
                       Function<UnitResult, TransactWriteItem> extra, long stampedAt) {
        return addUnit(accountId, groupId, unit, extra, stampedAt, Long.MAX_VALUE);
    }

    /** {@link #addUnit} that tries no more after {@code giveUpAt} (epoch ms): a {@link ContentionException} then. */
    UnitResult addUnit(String accountId, String groupId, List<Candidate> unit,
                       Function<UnitResult, TransactWriteItem> extra, long stampedAt, long giveUpAt) {
        if (unit.size() > MAX_PUTS_PER_TRANSACTION) throw new IllegalArgumentException("unit too large");
        String pk = groupPk(accountId, groupId);
        Map<String, Map<String, AttributeValue>> existing = read(pk, unit.stream().map(Candidate::phone).toList());
        long now = stampedAt;
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            giveUpAfter(giveUpAt, "membership transaction");
            List<Candidate> toAdd = unit.stream().filter(c -> !isPresent(existing.get(c.phone()))).toList();
            List<Candidate> toRename = unit.stream().filter(c -> renames(existing.get(c.phone()), c)).toList();
            UnitResult result = new UnitResult(toAdd.size(), unit.size() - toAdd.size(), toRename.size(), false, now);
            List<TransactWriteItem> actions = new ArrayList<>();
            for (Candidate c : toAdd) actions.add(putMember(pk, c, existing.get(c.phone()), now));
            for (Candidate c : toRename) actions.add(rename(pk, c, existing.get(c.phone())));
            int counterIndex = -1;
            int groupIndex = -1;
            if (!toAdd.isEmpty()) {
                counterIndex = actions.size();
                actions.add(groups.counterDelta(accountId, groupId, toAdd.size(), now));
            } else if (!toRename.isEmpty() || extra != null) {
                // no counter to move, whose condition would say the group is gone: renames, or an import's progress,
                // of a group deleted meanwhile must not commit (the import would end done for a deleted group)
                groupIndex = actions.size();
                actions.add(groups.existsCheck(accountId, groupId));
            }
            int extraIndex = -1;
            if (extra != null) {
                extraIndex = actions.size();
                actions.add(extra.apply(result));
            }
            if (actions.isEmpty()) return result;
            var outcome = ops.transact(actions);
            if (outcome instanceof DynamoOps.Committed) return result;
            var cancelled = requireOnlyConditions((DynamoOps.Cancelled) outcome, "membership transaction");
            if (groupIndex >= 0 && cancelled.conditionFailed(groupIndex)) throw new GroupGoneException();
            if (extraIndex >= 0 && cancelled.conditionFailed(extraIndex)) return new UnitResult(0, 0, 0, true, now);
            if (counterIndex >= 0 && cancelled.conditionFailed(counterIndex)) now = restamp(accountId, groupId, now, attempt);
            // A member row changed under us (a concurrent add or remove): read again and recompute.
            List<Candidate> written = new ArrayList<>(toAdd);
            written.addAll(toRename);
            List<String> changed = new ArrayList<>();
            for (int i = 0; i < written.size(); i++) {
                if (cancelled.conditionFailed(i) || cancelled.reasonCodes().isEmpty()) changed.add(written.get(i).phone());
            }
            var reread = read(pk, changed);
            // a row gone since (an expired tombstone deleted by its TTL) is absent now, not as it was read
            for (String p : changed) existing.put(p, reread.get(p));
        }
        throw new ContentionException("membership transaction");
    }

    /**
     * The stamp a membership change takes after its counter's condition failed: the group is gone (thrown), or a
     * group message was accepted at or after the stamp, and the change must then come after it (see
     * {@link GroupStore#counterDelta}). Not before now either: taking only the latest change's stamp, a change
     * stayed behind every request that began after it and committed first, and under a stream of concurrent
     * removals it failed 20 times in a row (a 500).
     */
    private long restamp(String accountId, String groupId, long stamp, int attempt) {
        // a short random pause first: changes racing on one group otherwise retry in step and keep colliding
        try {
            // at most 40 ms: all of a unit's pauses stay under a second (a 1,000-number batch is 11 units)
            Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextLong(0, Math.min(40, 5L << Math.min(attempt, 3)) + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while changing members", e);
        }
        return GroupStore.restamp(groups.get(accountId, groupId).orElseThrow(GroupGoneException::new),
                Math.max(stamp, clock.millis()));
    }

    /**
     * A cancellation a retry can cure: conditions that failed (another change came first), with conflicts or
     * throttling beside them. Anything else (a
     * validation error, an item collection over its size) would fail the same way every time: thrown at once, as
     * the server error it is, rather than retried into a 409.
     */
    private static DynamoOps.Cancelled requireOnlyConditions(DynamoOps.Cancelled cancelled, String what) {
        boolean onlyConditions = cancelled.reasonCodes().stream().allMatch(c -> c == null || "None".equals(c)
                || "ConditionalCheckFailed".equals(c) || "TransactionConflict".equals(c) || "ThrottlingError".equals(c));
        if (!onlyConditions) throw new IllegalStateException(what + " cancelled: " + cancelled);
        return cancelled;
    }

    /**
     * A membership change that lost to other changes of the same group at every attempt (many at once): nothing of it
     * was written, and the caller may try again.
     */
    static final class ContentionException extends RuntimeException {
        /** The request's time ran out (its tries slowed by a busy store, or lost to other changes), not its tries. */
        final boolean outOfTime;

        ContentionException(String what) {
            this(what, false);
        }

        ContentionException(String what, boolean outOfTime) {
            super(what + (outOfTime ? " did not commit within the request's time for it"
                    : " kept conflicting with other changes of the group after " + MAX_ATTEMPTS + " attempts"), null, false, false);
            this.outOfTime = outOfTime;
        }
    }

    /**
     * Throws a {@link ContentionException} once {@code giveUpAt} has passed: a request's retries under many changes
     * at once (a unit took 15-19 s, two of them past API Gateway's 29 s: a 5xx, half done) end in its 409 instead.
     */
    private void giveUpAfter(long giveUpAt, String what) {
        if (clock.millis() >= giveUpAt) throw new ContentionException(what, true);
    }

    /** The member with {@code phone} if the number is in the group now (a consistent read: a change just answered shows). */
    Optional<Member> present(String accountId, String groupId, String phone) {
        var row = dynamo.getItem(b -> b.tableName(table).key(Attr.key(groupPk(accountId, groupId), phone)).consistentRead(true)).item();
        return isPresent(row) && !row.isEmpty() ? Optional.of(toMember(row)) : Optional.empty();
    }

    /**
     * Clears a member's undeliverable mark and notes when (a failure of a message accepted before then does not mark
     * it again); false when the number is not a present member. An unmarked member is left as it is (one more
     * consistent read tells it from a number that is not a member).
     */
    boolean clearUndeliverable(String accountId, String groupId, String phone, long now) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(groupPk(accountId, groupId), phone))
                    .updateExpression("SET #c = :now REMOVE #u")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(removedAt) AND attribute_exists(#u)")
                    .expressionAttributeNames(Map.of("#u", Undeliverable.ATTRIBUTE, "#c", Undeliverable.CLEARED_AT))
                    .expressionAttributeValues(Map.of(":now", n(now))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return present(accountId, groupId, phone).isPresent();
        }
    }

    /**
     * Names a present member ({@code name} null: takes its name away), its search form with it; empty when the
     * number is not a present member. Only the name changes: who the member is, and since when, stays.
     */
    Optional<Member> rename(String accountId, String groupId, String phone, String name) {
        try {
            var row = dynamo.updateItem(b -> {
                b.tableName(table).key(Attr.key(groupPk(accountId, groupId), phone))
                        .conditionExpression("attribute_exists(pk) AND attribute_not_exists(removedAt)")
                        .expressionAttributeNames(Map.of("#name", "name"))
                        .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.ALL_NEW);
                if (name == null) {
                    b.updateExpression("REMOVE #name, nameLower, nameForm");
                } else {
                    b.updateExpression("SET #name = :name, nameLower = :lower, nameForm = :form")
                            .expressionAttributeValues(Map.of(":name", s(name), ":lower", s(Text.searchForm(name)),
                                    ":form", n(NAME_FORM)));
                }
            }).attributes();
            return Optional.of(toMember(row));
        } catch (ConditionalCheckFailedException e) {
            return Optional.empty();
        }
    }

    /**
     * Tombstones one membership with the counter update; false when the number is not a present member. Tries no more
     * after {@code giveUpAt} (epoch ms): a {@link ContentionException} then.
     */
    boolean remove(String accountId, String groupId, String phone, long stampedAt, long giveUpAt) {
        long now = stampedAt;
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            giveUpAfter(giveUpAt, "member removal");
            long at = now;
            var outcome = ops.transact(List.of(
                    TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(groupPk(accountId, groupId), phone))
                            .updateExpression("SET removedAt = :now, expiresAt = :ttl")
                            .conditionExpression("attribute_exists(pk) AND attribute_not_exists(removedAt)")
                            .expressionAttributeValues(Map.of(":now", n(at), ":ttl", n(expiry(at))))).build(),
                    groups.counterDelta(accountId, groupId, -1, at)));
            if (!(outcome instanceof DynamoOps.Cancelled c)) return true;
            if (c.conditionFailed(0)) return false;
            if (!c.conditionFailed(1)) throw new IllegalStateException("member removal cancelled: " + c);
            try {
                now = restamp(accountId, groupId, now, attempt);
            } catch (GroupGoneException gone) {
                return false;
            }
        }
        throw new ContentionException("member removal");
    }

    /** Of {@code groupIds}, those {@code phone} is a member of now (one BatchGetItem per 100 groups, consistent). */
    java.util.Set<String> groupsWith(String accountId, List<String> groupIds, String phone) {
        var keys = groupIds.stream().map(g -> Attr.key(groupPk(accountId, g), phone)).toList();
        var found = new java.util.HashSet<String>();
        String prefix = groupPk(accountId, "");
        for (var row : ops.batchGet(table, keys)) {
            if (isPresent(row)) found.add(Attr.str(row, "pk").substring(prefix.length()));
        }
        return found;
    }

    /**
     * Counts of one removal unit, and the stamp it committed with (see {@link UnitResult#stampedAt}); {@code
     * alreadyApplied}: the extra action's condition failed, and nothing was written.
     */
    record RemovalResult(int removed, int notMembers, boolean alreadyApplied, long stampedAt) {}

    /**
     * Tombstones up to {@link #MAX_PUTS_PER_TRANSACTION} distinct numbers in one transaction with the counter update
     * (as {@link #remove} does one); numbers not present members are counted, not failed. Throws
     * {@link GroupGoneException} when the group is gone.
     *
     * @param extra an optional extra action committed in the same transaction (also when no number is a member); if
     *              its condition fails the unit is reported as already applied and nothing is written
     */
    RemovalResult removeUnit(String accountId, String groupId, List<String> phones, TransactWriteItem extra,
                             long stampedAt, long giveUpAt) {
        if (phones.size() > MAX_PUTS_PER_TRANSACTION) throw new IllegalArgumentException("unit too large");
        String pk = groupPk(accountId, groupId);
        Map<String, Map<String, AttributeValue>> existing = read(pk, phones);
        long now = stampedAt;
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            giveUpAfter(giveUpAt, "member removal");
            List<String> present = phones.stream().filter(p -> isPresent(existing.get(p))).toList();
            if (present.isEmpty() && extra == null) return new RemovalResult(0, phones.size(), false, now);
            long at = now;
            List<TransactWriteItem> actions = new ArrayList<>();
            for (String phone : present) {
                actions.add(TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(pk, phone))
                        .updateExpression("SET removedAt = :now, expiresAt = :ttl")
                        .conditionExpression("attribute_exists(pk) AND attribute_not_exists(removedAt)")
                        .expressionAttributeValues(Map.of(":now", n(at), ":ttl", n(expiry(at))))).build());
            }
            // the counter's condition says whether the group is gone; with nothing to count, its own check does
            actions.add(present.isEmpty() ? groups.existsCheck(accountId, groupId)
                    : groups.counterDelta(accountId, groupId, -present.size(), at));
            if (extra != null) actions.add(extra);
            var outcome = ops.transact(actions);
            if (outcome instanceof DynamoOps.Committed) {
                return new RemovalResult(present.size(), phones.size() - present.size(), false, at);
            }
            var cancelled = requireOnlyConditions((DynamoOps.Cancelled) outcome, "member removal");
            if (present.isEmpty() && cancelled.conditionFailed(0)) throw new GroupGoneException();
            if (extra != null && cancelled.conditionFailed(present.size() + 1)) return new RemovalResult(0, 0, true, at);
            if (cancelled.conditionFailed(present.size())) now = restamp(accountId, groupId, now, attempt);
            // A member row changed under us (removed, or removed and added again): read again and recompute.
            List<String> changed = new ArrayList<>();
            for (int i = 0; i < present.size(); i++) {
                if (cancelled.conditionFailed(i) || cancelled.reasonCodes().isEmpty()) changed.add(present.get(i));
            }
            var reread = read(pk, changed);
            for (String p : changed) existing.put(p, reread.get(p));
        }
        throw new ContentionException("member removal");
    }

    record MemberPage(List<Member> members, Map<String, AttributeValue> lastKey) {}

    /**
     * Present members in phone order, optionally only those whose name contains {@code nameNeedle} (lower case)
     * or whose digits contain {@code digitNeedle}. Pages through tombstones and non-matches until {@code limit}
     * members are found, the rows end, or {@code readBudgetMillis} of reading is spent (at least one page is read;
     * then the cursor continues the search: a page short of its limit, even empty, with a cursor means only that).
     */
    MemberPage list(String accountId, String groupId, String nameNeedle, String digitNeedle, Boolean undeliverable,
                    int limit, Map<String, AttributeValue> startKey, long readBudgetMillis) {
        String pk = groupPk(accountId, groupId);
        var values = new HashMap<String, AttributeValue>(Map.of(":pk", s(pk)));
        String filter = "attribute_not_exists(removedAt)";
        if (undeliverable != null) {
            filter += undeliverable ? " AND attribute_exists(" + Undeliverable.ATTRIBUTE + ")"
                    : " AND attribute_not_exists(" + Undeliverable.ATTRIBUTE + ")";
        }
        List<String> matches = new ArrayList<>();
        if (nameNeedle != null) {
            values.put(":name", s(nameNeedle));
            matches.add("contains(nameLower, :name)");
            String folded = Text.searchForm(nameNeedle);
            // a needle that folds to nothing (a lone accent, a variation selector) would be in every name
            if (!folded.equals(nameNeedle) && !folded.isEmpty()) {
                // rows written before names were stored folded keep their accents: "josé" still finds those
                values.put(":folded", s(folded));
                matches.add("contains(nameLower, :folded)");
            }
            String accentless = Text.accentlessLowerCase(nameNeedle);
            if (!accentless.equals(nameNeedle) && !accentless.equals(folded) && !accentless.isEmpty()) {
                // rows written before letters were folded keep them ("łodz" for Łódź): "Łódź" as written finds those;
                // only those (no nameForm): every mark dropped, "रीमा" is "रम", which a new row of "रमेश" holds
                values.put(":accentless", s(accentless));
                matches.add("(attribute_not_exists(nameForm) AND contains(nameLower, :accentless))");
            }
        }
        if (digitNeedle != null) {
            values.put(":digits", s(digitNeedle));
            matches.add("contains(digits, :digits)");
            String international = PhoneNumbers.internationalDigits(digitNeedle);
            if (international != null) {
                values.put(":national", s(international));
                matches.add("contains(digits, :national)");
            }
        }
        if (!matches.isEmpty()) filter += " AND (" + String.join(" OR ", matches) + ")";
        String filterExpression = filter;
        List<Member> found = new ArrayList<>();
        Map<String, AttributeValue> start = startKey;
        long readUntil = clock.millis() + readBudgetMillis;
        for (int page = 0; page == 0 || clock.millis() < readUntil; page++) {
            Map<String, AttributeValue> from = start;
            // A plain list reads a little more than its page first (enough when few members were removed), then
            // 1,000 rows at a time: a run of removed members (tombstones stay 30 days) must not use the budget up
            // in small reads and answer an empty page with a cursor while members follow.
            int rows = matches.isEmpty() && undeliverable == null && page == 0 ? Math.max(limit * 2, 50) : 1000;
            // Strongly consistent, as the group and a member are read: a list, an export or a conversation started
            // from the group right after a removal must not still show (and text) the removed member.
            QueryResponse response = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk")
                    .filterExpression(filterExpression).expressionAttributeValues(values)
                    .exclusiveStartKey(from).limit(rows).consistentRead(true));
            for (var item : response.items()) {
                if (found.size() == limit) {
                    // One more member follows, so there is a next page: it continues right after the last member
                    // returned, not after the last row read. (Stopping at the limit'th gave a cursor to an empty
                    // page when the members ran out there.)
                    return new MemberPage(found, Attr.key(pk, found.getLast().phone()));
                }
                found.add(toMember(item));
            }
            if (!response.hasLastEvaluatedKey()) return new MemberPage(found, null);
            start = response.lastEvaluatedKey();
        }
        return new MemberPage(found, start);
    }

    record RowPage(List<Map<String, AttributeValue>> rows, String lastPhone) {}

    /** Up to {@code limit} rows (present or not) after {@code afterPhone}; {@code lastPhone} null at the end. */
    RowPage rowsAfter(String accountId, String groupId, String afterPhone, int limit) {
        String pk = groupPk(accountId, groupId);
        Map<String, AttributeValue> start = afterPhone == null ? null : Attr.key(pk, afterPhone);
        QueryResponse response = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", s(pk))).exclusiveStartKey(start).limit(limit)
                // the fan-out's snapshot: a change committed before the acceptance must be seen (a replica's
                // eventually consistent read could still show a member removed just before the send, or miss one added)
                .consistentRead(true));
        String last = response.hasLastEvaluatedKey() ? response.lastEvaluatedKey().get("sk").s() : null;
        return new RowPage(response.items(), last);
    }

    /**
     * How many BatchWriteItem calls a clean-up makes side by side: one after another, a 100,000-member group's 4,000
     * took most of the import worker's 120 s on DynamoDB Local.
     */
    static final int CLEANUP_LANES = 4;

    /** Rows a clean-up reads at a time: its time is looked at between pages, so a page must be quick to write. */
    static final int CLEANUP_PAGE_ROWS = 1000;

    /**
     * What a clean-up did: rows tombstoned, and the number of the last row it read when it stopped out of time (null:
     * it read the group's last row).
     */
    record Tombstoned(int count, String stoppedAfter) {}

    /**
     * Tombstones the present rows of a deleted group after {@code afterPhone} (null: from the first), page by page,
     * until the last or until {@code outOfTime} says so between pages (idempotent; BatchWriteItem with retries, side by
     * side).
     */
    Tombstoned tombstoneFrom(String accountId, String groupId, long deletedAt, String afterPhone,
                             java.util.function.BooleanSupplier outOfTime) {
        int count = 0;
        String after = afterPhone;
        while (true) {
            RowPage page = rowsAfter(accountId, groupId, after, CLEANUP_PAGE_ROWS);
            List<WriteRequest> writes = new ArrayList<>();
            for (var row : page.rows()) {
                if (row.containsKey("removedAt")) continue;
                var tomb = new HashMap<>(row);
                tomb.put("removedAt", n(deletedAt));
                tomb.put("expiresAt", n(expiry(deletedAt)));
                writes.add(WriteRequest.builder().putRequest(PutRequest.builder().item(tomb).build()).build());
            }
            ops.batchWrite(table, writes, CLEANUP_LANES);
            count += writes.size();
            after = page.lastPhone();
            if (after == null) return new Tombstoned(count, null);
            if (outOfTime.getAsBoolean()) return new Tombstoned(count, after);
        }
    }

    /**
     * Whether the row's number was a member at {@code t} (ms): in its current interval or any remembered one.
     * This is the snapshot rule for messages accepted at {@code t}.
     */
    static boolean presentAt(Map<String, AttributeValue> row, long t) {
        long added = Attr.num(row, "addedAt", Long.MAX_VALUE);
        Long removed = Attr.numOrNull(row, "removedAt");
        if (added <= t && (removed == null || removed > t)) return true;
        AttributeValue history = row.get("history");
        if (history == null || !history.hasL()) return false;
        for (AttributeValue interval : history.l()) {
            String[] parts = interval.s().split(":");
            if (Long.parseLong(parts[0]) <= t && Long.parseLong(parts[1]) > t) return true;
        }
        return false;
    }

    private Map<String, Map<String, AttributeValue>> read(String pk, List<String> phones) {
        Map<String, Map<String, AttributeValue>> rows = new HashMap<>();
        if (phones.isEmpty()) return rows;
        List<Map<String, AttributeValue>> keys = phones.stream().map(p -> Attr.key(pk, p)).toList();
        for (var item : ops.batchGet(table, keys)) rows.put(Attr.str(item, "sk"), item);
        return rows;
    }

    private static boolean isPresent(Map<String, AttributeValue> row) {
        return row != null && !row.containsKey("removedAt");
    }

    /** Whether a present member is given a name other than its own. */
    private static boolean renames(Map<String, AttributeValue> row, Candidate c) {
        return isPresent(row) && c.name() != null && !c.name().isEmpty() && !c.name().equals(Attr.str(row, "name"));
    }

    /** The name change of a present member, only while it is the membership read (not removed, or re-added, since). */
    private TransactWriteItem rename(String pk, Candidate c, Map<String, AttributeValue> previous) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(pk, c.phone()))
                .updateExpression("SET #name = :name, nameLower = :lower, nameForm = :form")
                .conditionExpression("addedAt = :added AND attribute_not_exists(removedAt)")
                .expressionAttributeNames(Map.of("#name", "name"))
                .expressionAttributeValues(Map.of(":name", s(c.name()), ":lower", s(Text.searchForm(c.name())),
                        ":form", n(NAME_FORM), ":added", previous.get("addedAt")))).build();
    }

    private TransactWriteItem putMember(String pk, Candidate c, Map<String, AttributeValue> previous, long now) {
        var item = new LinkedHashMap<String, AttributeValue>(Attr.key(pk, c.phone()));
        item.put("phone", s(c.phone()));
        item.put("digits", s(c.phone().substring(1)));
        if (c.name() != null && !c.name().isEmpty()) {
            item.put("name", s(c.name()));
            item.put("nameLower", s(Text.searchForm(c.name())));
            item.put("nameForm", n(NAME_FORM));
        }
        item.put("addedAt", n(now));
        if (previous == null) {
            return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                    .conditionExpression("attribute_not_exists(pk)")).build();
        }
        // Re-adding a removed member: remember the interval that just ended (bounded), and only if the
        // tombstone we read is still the one there.
        List<String> history = new ArrayList<>();
        if (previous.containsKey("history")) previous.get("history").l().forEach(v -> history.add(v.s()));
        history.add(Attr.num(previous, "addedAt", 0) + ":" + Attr.num(previous, "removedAt", 0));
        item.put("history", AttributeValue.fromL(keptHistory(history, now).stream().map(AttributeValue::fromS).toList()));
        AttributeValue removedAt = previous.get("removedAt");
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                .conditionExpression("removedAt = :removed")
                .expressionAttributeValues(Map.of(":removed", removedAt))).build();
    }

    /**
     * The presence intervals ({@code "<addedAt>:<removedAt>"}, oldest first) a re-added member keeps: the latest
     * {@link #MAX_HISTORY}, and any ended within {@link #HISTORY_KEPT} of {@code now} (up to {@link #MAX_HISTORY_HARD}).
     * Before, only the latest 10: a number removed and added back more often than that while a message accepted in
     * one of the first was still fanning out lost its recipient, counted in the message's recipients but never sent.
     */
    static List<String> keptHistory(List<String> intervals, long now) {
        long keptFrom = now - HISTORY_KEPT.toMillis();
        int drop = 0;
        while (intervals.size() - drop > MAX_HISTORY
                && (intervals.size() - drop > MAX_HISTORY_HARD || endOf(intervals.get(drop)) < keptFrom)) {
            drop++;
        }
        return List.copyOf(intervals.subList(drop, intervals.size()));
    }

    private static long endOf(String interval) {
        return Long.parseLong(interval.substring(interval.indexOf(':') + 1));
    }

    private static long expiry(long now) {
        return (now + TOMBSTONE_RETENTION.toMillis()) / 1000;
    }

    private static Member toMember(Map<String, AttributeValue> item) {
        return new Member(Attr.str(item, "phone"), Attr.str(item, "name"), Attr.num(item, "addedAt", 0),
                Undeliverable.of(item));
    }
}
