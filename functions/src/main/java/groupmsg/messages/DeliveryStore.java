package groupmsg.messages;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Delivery rows in the deliveries table: {@code MSG#m#<shard> / <phone>}, the shard chosen by the phone's hash
 * so one message's rows spread over {@code shards} partitions. Each shard also has a counter item
 * {@code MSG#m#<shard> / #COUNTS} (sending, sent, delivered, failed, opted_out) that moves in the same
 * transaction as the rows it counts; queued = recipients - the rest.
 * <p>
 * Status only moves forward (but for a claim its worker gives back unsent, see {@link DeliveryService}, and a claim
 * the carrier says it never got, see {@link MessageMaintenance}), always by a conditional write on the status the
 * writer saw, so a duplicate batch, a retried Lambda or a replayed callback never sends twice or moves a row back.
 */
final class DeliveryStore {
    static final String COUNTS_SK = "#COUNTS";
    /** Rows per transaction: TransactWriteItems takes 100 actions, one is the shard's counter, one the usage. */
    static final int MAX_TRANSITIONS = 98;
    static final List<String> COUNTED = List.of(Delivery.SENDING, Delivery.SENT, Delivery.DELIVERED, Delivery.FAILED, Delivery.OPTED_OUT);

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    DeliveryStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static int shardOf(String phone, int shards) {
        return Math.floorMod(phone.hashCode(), shards);
    }

    static String shardPk(String messageId, int shard) {
        return "MSG#" + messageId + "#" + shard;
    }

    /** Writes a queued row for every phone that has none yet (rows already there are left as they are). */
    void insertQueued(String accountId, String messageId, int shards, List<String> phones, long now) {
        insertQueued(accountId, messageId, shards, phones, Map.of(), now, true);
    }

    /**
     * @param mayExist false only when no row of these phones can exist yet (a page written for the first time):
     *                 then the rows are not read first. BatchWriteItem overwrites, so a row that may already have
     *                 been claimed must never be written again as queued.
     * @return those of {@code phones} whose rows existed and are no longer queued: a worker has them already (a
     *         page taken over after its first run's jobs partly went out), so no job is to be made for them again
     */
    Set<String> insertQueued(String accountId, String messageId, int shards, List<String> phones, Map<String, String> names,
                             long now, boolean mayExist) {
        List<Map<String, AttributeValue>> keys = phones.stream().map(p -> Attr.key(shardPk(messageId, shardOf(p, shards)), p)).toList();
        Set<String> existing = new java.util.HashSet<>();
        Set<String> handled = new java.util.HashSet<>();
        if (mayExist) {
            for (var row : ops.batchGet(table, keys)) {
                existing.add(Attr.str(row, "sk"));
                if (!Delivery.QUEUED.equals(Attr.str(row, "status"))) handled.add(Attr.str(row, "sk"));
            }
        }
        List<WriteRequest> writes = new ArrayList<>();
        for (String phone : phones) {
            if (existing.contains(phone)) continue;
            var item = new HashMap<String, AttributeValue>(Attr.key(shardPk(messageId, shardOf(phone, shards)), phone));
            item.put("phone", s(phone));
            item.put("accountId", s(accountId)); // the sid index's sort key: a callback found by sid names its account
            item.put("status", s(Delivery.QUEUED));
            item.put("updatedAt", n(now));
            String name = names.get(phone);
            if (name != null && !name.isEmpty()) item.put("name", s(name)); // as the group named it then, for lists and reports
            writes.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item).build()).build());
        }
        ops.batchWrite(table, writes);
        return handled;
    }

    /** A delivery row found by the carrier's id of its message. */
    record Located(String accountId, String messageId, int shard, String phone) {}

    /**
     * The row the carrier's message {@code sid} was recorded on (the {@code sid} index, eventually consistent: a
     * row recorded a moment ago may not be found yet). Empty when none is, or when more than one is (ids are the
     * carrier's and unique; two rows with one would be no row to trust). Rows written before rows had their
     * account are not in the index: their callbacks come to the URL their send gave.
     */
    Optional<Located> findBySid(String sid) {
        var items = dynamo.query(q -> q.tableName(table).indexName(Tables.DELIVERIES_BY_SID)
                .keyConditionExpression("carrierMessageId = :sid")
                .expressionAttributeValues(Map.of(":sid", s(sid))).limit(2)).items();
        if (items.size() != 1) return Optional.empty();
        var item = items.getFirst();
        String pk = Attr.str(item, "pk");
        int hash = pk.lastIndexOf('#');
        return Optional.of(new Located(Attr.str(item, "accountId"), pk.substring("MSG#".length(), hash),
                Integer.parseInt(pk.substring(hash + 1)), Attr.str(item, "sk")));
    }

    /** Whether a delivery row has the carrier's message {@code sid} recorded (the {@code sid} index). */
    boolean sidRecorded(String sid) {
        return !dynamo.query(q -> q.tableName(table).indexName(Tables.DELIVERIES_BY_SID)
                .keyConditionExpression("carrierMessageId = :sid")
                .expressionAttributeValues(Map.of(":sid", s(sid))).limit(1)).items().isEmpty();
    }

    /** The current rows of some recipients of one shard, by phone (consistent reads; absent rows are left out). */
    Map<String, Map<String, AttributeValue>> rows(String messageId, int shard, List<String> phones) {
        var found = new HashMap<String, Map<String, AttributeValue>>();
        for (var row : ops.batchGet(table, phones.stream().map(p -> Attr.key(shardPk(messageId, shard), p)).toList())) {
            found.put(Attr.str(row, "sk"), row);
        }
        return found;
    }

    /**
     * A status change of one row, applied only if the row still has status {@code from} and, when {@code seenAt} is
     * given, was last changed then (a decision taken on an older read, such as a carrier lookup's, must not apply to
     * a row claimed again since), and, when {@code ofSend} is given, records that send of the carrier's or none (a
     * receipt of a first send whose answer was lost, the row sent again since, must not settle the second one).
     */
    record Transition(String phone, String from, String to, String carrierMessageId, String error, long at, Long seenAt,
                      String ofSend) {
        Transition(String phone, String from, String to, String carrierMessageId, String error, long at) {
            this(phone, from, to, carrierMessageId, error, at, null, null);
        }

        Transition(String phone, String from, String to, String carrierMessageId, String error, long at, Long seenAt) {
            this(phone, from, to, carrierMessageId, error, at, seenAt, null);
        }

        /** The same transition, of a row only as the claim at {@code claimedAt} left it ({@code updatedAt} then). */
        Transition ofClaim(long claimedAt) {
            return new Transition(phone, from, to, carrierMessageId, error, at, claimedAt, ofSend);
        }

        /** The same transition, of a row only if it records the carrier's send {@code sid} (or none); null: any. */
        Transition ofSend(String sid) {
            return new Transition(phone, from, to, carrierMessageId, error, at, seenAt, sid);
        }

        /** The same transition, recorded as of {@code time}. */
        Transition at(long time) {
            return new Transition(phone, from, to, carrierMessageId, error, time, seenAt, ofSend);
        }
    }

    /**
     * Applies transitions of one shard atomically with its counters. Rows whose status is no longer {@code from}
     * (someone else moved them) are dropped and the rest retried; returns the transitions that were applied.
     */
    List<Transition> apply(String messageId, int shard, List<Transition> transitions) {
        return apply(messageId, shard, transitions, applied -> List.of());
    }

    /**
     * As {@link #apply(String, int, List, java.util.function.Function)} for any number of transitions: one transaction
     * per {@value #MAX_TRANSITIONS}, each with its own further actions.
     */
    List<Transition> applyInChunks(String messageId, int shard, List<Transition> transitions,
                                   java.util.function.Function<List<Transition>, List<TransactWriteItem>> also) {
        List<Transition> applied = new ArrayList<>();
        for (int from = 0; from < transitions.size(); from += MAX_TRANSITIONS) {
            applied.addAll(apply(messageId, shard, transitions.subList(from, Math.min(transitions.size(), from + MAX_TRANSITIONS)), also));
        }
        return applied;
    }

    /**
     * As {@link #apply(String, int, List)}, with further actions (e.g. the usage they bill) computed from the
     * transitions of each attempt and committed in the same transaction, so they happen exactly when those do.
     * At most {@link #MAX_TRANSITIONS} transitions, leaving room for the counter and one further action.
     */
    List<Transition> apply(String messageId, int shard, List<Transition> transitions,
                           java.util.function.Function<List<Transition>, List<TransactWriteItem>> also) {
        if (transitions.size() > MAX_TRANSITIONS) throw new IllegalArgumentException("at most " + MAX_TRANSITIONS + " transitions");
        List<Transition> pending = new ArrayList<>(transitions);
        for (int attempt = 0; attempt < 10 && !pending.isEmpty(); attempt++) {
            List<TransactWriteItem> actions = new ArrayList<>();
            Map<String, Long> deltas = new TreeMap<>();
            for (Transition t : pending) {
                actions.add(update(messageId, shard, t));
                if (COUNTED.contains(t.from())) deltas.merge(t.from(), -1L, Long::sum);
                if (COUNTED.contains(t.to())) deltas.merge(t.to(), 1L, Long::sum);
            }
            deltas.values().removeIf(v -> v == 0);
            if (!deltas.isEmpty()) actions.add(counterUpdate(messageId, shard, deltas));
            actions.addAll(also.apply(pending));
            var outcome = ops.transact(actions);
            if (outcome instanceof DynamoOps.Committed) return pending;
            var cancelled = (DynamoOps.Cancelled) outcome;
            List<Transition> still = new ArrayList<>();
            for (int i = 0; i < pending.size(); i++) {
                if (!cancelled.conditionFailed(i)) still.add(pending.get(i));
            }
            if (still.size() == pending.size()) throw new IllegalStateException("delivery transaction cancelled: " + cancelled);
            pending = still;
        }
        // Every row failed its condition (nothing to apply), or the rows kept moving under us: never report
        // transitions whose transaction did not commit as applied.
        if (pending.isEmpty()) return pending;
        throw new IllegalStateException("delivery transaction still cancelled after 10 attempts");
    }

    private TransactWriteItem update(String messageId, int shard, Transition t) {
        var names = new HashMap<String, String>(Map.of("#status", "status"));
        var values = new HashMap<String, AttributeValue>(Map.of(":from", s(t.from()), ":to", s(t.to()), ":at", n(t.at())));
        StringBuilder set = new StringBuilder("SET #status = :to, updatedAt = :at");
        // when the send began: a reply that came before it cannot answer it (BroadcastReplies)
        if (Delivery.SENDING.equals(t.to())) set.append(", claimedAt = :at");
        if (t.carrierMessageId() != null) {
            set.append(", carrierMessageId = :sid");
            values.put(":sid", s(t.carrierMessageId()));
        }
        if (t.error() != null) {
            set.append(", #error = :error");
            names.put("#error", "error");
            values.put(":error", s(t.error()));
        } else if (Delivery.DELIVERED.equals(t.to())) {
            set.append(" REMOVE #error"); // one that was failed as "outcome unknown" and turned out delivered
            names.put("#error", "error");
        }
        String condition = "#status = :from";
        if (Delivery.FAILED.equals(t.from())) {
            // only a row failed for want of the carrier's word moves on from failed (see Delivery.OUTCOME_UNKNOWN)
            condition += " AND #error = :unknown";
            names.put("#error", "error");
            values.put(":unknown", s(Delivery.OUTCOME_UNKNOWN));
        }
        if (t.seenAt() != null) {
            condition += " AND updatedAt = :seen";
            values.put(":seen", n(t.seenAt()));
        }
        if (t.ofSend() != null) {
            condition += " AND (attribute_not_exists(carrierMessageId) OR carrierMessageId = :ofSend)";
            values.put(":ofSend", s(t.ofSend()));
        }
        String finalCondition = condition;
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(shardPk(messageId, shard), t.phone()))
                .updateExpression(set.toString()).conditionExpression(finalCondition)
                .expressionAttributeNames(names).expressionAttributeValues(values)).build();
    }

    private TransactWriteItem counterUpdate(String messageId, int shard, Map<String, Long> deltas) {
        var names = new HashMap<String, String>();
        var values = new HashMap<String, AttributeValue>();
        List<String> parts = new ArrayList<>();
        int i = 0;
        for (var e : deltas.entrySet()) {
            names.put("#c" + i, e.getKey());
            values.put(":c" + i, n(e.getValue()));
            parts.add("#c" + i + " :c" + i);
            i++;
        }
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(shardPk(messageId, shard), COUNTS_SK))
                .updateExpression("ADD " + String.join(", ", parts))
                .expressionAttributeNames(names).expressionAttributeValues(values)).build();
    }

    /** Summed counters of every shard. */
    Map<String, Long> counts(String messageId, int shards) {
        return sum(counterItems(messageId, shards));
    }

    /**
     * Each message's summed counters, by id: all their shards' counter items in as few BatchGetItems as they fit
     * (100 keys each), where a list of 100 messages made 100 calls one after another.
     */
    Map<String, Map<String, Long>> counts(List<GroupMessage> listed) {
        var shards = new HashMap<String, Integer>();
        listed.forEach(m -> shards.put(m.id(), m.shards()));
        var byMessage = counterItemsOf(shards);
        var out = new HashMap<String, Map<String, Long>>();
        for (GroupMessage m : listed) out.put(m.id(), sum(byMessage.getOrDefault(m.id(), List.of())));
        return out;
    }

    /**
     * How many rows of each message (id -> its shards) are in a counted {@code status}, summed over its shards, in as
     * few BatchGetItems as {@link #counts} reads.
     */
    Map<String, Long> countOf(Map<String, Integer> shardsByMessage, String status) {
        var byMessage = counterItemsOf(shardsByMessage);
        var out = new HashMap<String, Long>();
        shardsByMessage.keySet().forEach(id -> out.put(id,
                byMessage.getOrDefault(id, List.of()).stream().mapToLong(item -> Attr.num(item, status, 0)).sum()));
        return out;
    }

    /** The counter items of each message's shards (id -> its shards), by message id; 100 keys a BatchGetItem. */
    private Map<String, List<Map<String, AttributeValue>>> counterItemsOf(Map<String, Integer> shardsByMessage) {
        Map<String, String> messageOfPk = new HashMap<>();
        shardsByMessage.forEach((id, shards) -> {
            for (int shard = 0; shard < shards; shard++) messageOfPk.put(shardPk(id, shard), id);
        });
        var byMessage = new HashMap<String, List<Map<String, AttributeValue>>>();
        for (var item : ops.batchGet(table, messageOfPk.keySet().stream().map(pk -> Attr.key(pk, COUNTS_SK)).toList())) {
            byMessage.computeIfAbsent(messageOfPk.get(Attr.str(item, "pk")), id -> new ArrayList<>()).add(item);
        }
        return byMessage;
    }

    private static Map<String, Long> sum(List<Map<String, AttributeValue>> counterItems) {
        var totals = new LinkedHashMap<String, Long>();
        COUNTED.forEach(c -> totals.put(c, 0L));
        for (var item : counterItems) {
            for (String c : COUNTED) totals.merge(c, Attr.num(item, c, 0), Long::sum);
        }
        return totals;
    }

    /** The counter items of every shard there is one of. */
    private List<Map<String, AttributeValue>> counterItems(String messageId, int shards) {
        List<Map<String, AttributeValue>> keys = new ArrayList<>();
        for (int shard = 0; shard < shards; shard++) keys.add(Attr.key(shardPk(messageId, shard), COUNTS_SK));
        return ops.batchGet(table, keys);
    }

    /** How many rows of each shard are in a counted {@code status}, by shard. */
    long[] countByShard(String messageId, int shards, String status) {
        long[] counts = new long[shards];
        for (var item : counterItems(messageId, shards)) {
            String pk = Attr.str(item, "pk");
            counts[Integer.parseInt(pk.substring(pk.lastIndexOf('#') + 1))] = Attr.num(item, status, 0);
        }
        return counts;
    }

    /** Where a list goes on: after {@code afterPhone} in shard {@code shard}, or from the shard's start (null). */
    record Position(int shard, String afterPhone) {
        static final Position START = new Position(0, null);
    }

    /** A page of rows, where the next one starts (null: nothing follows), and how many rows were read for it. */
    record DeliveryPage(List<Delivery> deliveries, Position next, long rowsRead) {}

    /** Rows read per query when the list is filtered by status. */
    static final int FILTERED_PAGE_ROWS = 1000;

    /**
     * Rows from {@code from} on, shard after shard, up to {@code limit}; the page names where the next one starts
     * only when another row follows (one more is looked for), so the last page has no cursor.
     * <p>
     * Narrowed to a {@code statusFilter}, the matches can lie far apart: a shard whose counter says it holds none of
     * that status is not read (counters move in the rows' own transactions and are read first, so only a row that
     * took the status while the list was being read can be missed, as with any list of changing rows), and once
     * {@code readBudget} rows were read the page ends there, short or empty, naming the row after the last one read,
     * so one request never reads a whole large message for a few matches (API Gateway gives it 30 s).
     */
    DeliveryPage list(String messageId, int shards, Position from, int limit, String statusFilter, long readBudget) {
        return list(messageId, shards, from, limit, statusFilter, readBudget, () -> false);
    }

    /**
     * As {@link #list(String, int, Position, int, String, long)}, the page also ending, filtered or not, after the
     * first query that finds {@code outOfTime} (a report part's reading time: its rows pass through a function that
     * may run out of time, where a row count alone does not say how long DynamoDB takes to give them).
     */
    DeliveryPage list(String messageId, int shards, Position from, int limit, String statusFilter, long readBudget,
                      java.util.function.BooleanSupplier outOfTime) {
        // queued has no counter of its own (recipients - the rest, and the recipients are not counted per shard)
        long[] matching = statusFilter != null && COUNTED.contains(statusFilter) ? countByShard(messageId, shards, statusFilter) : null;
        List<Delivery> found = new ArrayList<>();
        Position last = null;
        long read = 0;
        for (int current = nextShardToRead(matching, from.shard(), shards); current < shards;
             current = nextShardToRead(matching, current + 1, shards)) {
            // Not "stop at the counted matches": a row entering the status while the shard is read could take the
            // place of one that had it all along (sent rows come and go all the time), which would then be left out.
            String after = current == from.shard() && from.afterPhone() != null ? from.afterPhone() : COUNTS_SK;
            String pk = shardPk(messageId, current);
            Map<String, AttributeValue> start = null;
            do {
                var values = new HashMap<String, AttributeValue>(Map.of(":pk", s(pk), ":after", s(after)));
                var request = software.amazon.awssdk.services.dynamodb.model.QueryRequest.builder().tableName(table)
                        .keyConditionExpression("pk = :pk AND sk > :after").exclusiveStartKey(start)
                        // DynamoDB applies Limit before a filter: with a status filter, read full pages (and stop
                        // at the limit below), else a page of a few matches takes a query per row read
                        .limit(statusFilter == null ? limit - found.size() + 1 : FILTERED_PAGE_ROWS);
                if (Delivery.QUEUED.equals(statusFilter)) {
                    // a row claimed for sending is still "queued" to the API (nothing has gone to the carrier yet)
                    request.filterExpression("#status IN (:status, :sending)").expressionAttributeNames(Map.of("#status", "status"));
                    values.put(":status", s(Delivery.QUEUED));
                    values.put(":sending", s(Delivery.SENDING));
                } else if (statusFilter != null) {
                    request.filterExpression("#status = :status").expressionAttributeNames(Map.of("#status", "status"));
                    values.put(":status", s(statusFilter));
                }
                QueryResponse page = dynamo.query(request.expressionAttributeValues(values).build());
                read += page.scannedCount();
                for (var item : page.items()) {
                    if (found.size() == limit) return new DeliveryPage(found, last, read); // one more follows
                    found.add(toDelivery(item));
                    last = new Position(current, Attr.str(item, "sk"));
                }
                start = page.hasLastEvaluatedKey() ? page.lastEvaluatedKey() : null;
                if ((statusFilter != null && read >= readBudget) || outOfTime.getAsBoolean()) {
                    if (start != null) return new DeliveryPage(found, new Position(current, Attr.str(start, "sk")), read);
                    int next = nextShardToRead(matching, current + 1, shards);
                    return new DeliveryPage(found, next < shards ? new Position(next, null) : null, read);
                }
            } while (start != null);
        }
        return new DeliveryPage(found, null, read);
    }

    /** The first shard from {@code from} on that can hold a match: any, unfiltered or for queued (no counter). */
    private static int nextShardToRead(long[] matching, int from, int shards) {
        int shard = from;
        while (shard < shards && matching != null && matching[shard] <= 0) shard++;
        return shard;
    }

    /** Rows of one shard in a given status (maintenance: stuck deliveries). */
    List<Delivery> inStatus(String messageId, int shard, String status, long updatedBefore) {
        return inStatus(messageId, shard, status, updatedBefore, null, Integer.MAX_VALUE);
    }

    /**
     * As {@link #inStatus(String, int, String, long)}, only the first {@code maxRows} after {@code afterPhone} (null:
     * from the first), in phone order: the pages stop being read once that many are found.
     */
    List<Delivery> inStatus(String messageId, int shard, String status, long updatedBefore, String afterPhone, int maxRows) {
        // the counter item sorts before every phone ('#' before '+')
        String after = afterPhone == null ? COUNTS_SK : afterPhone;
        List<Delivery> out = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            QueryResponse page = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk AND sk > :c")
                    .filterExpression("#status = :status AND updatedAt < :before")
                    .expressionAttributeNames(Map.of("#status", "status"))
                    .expressionAttributeValues(Map.of(":pk", s(shardPk(messageId, shard)), ":c", s(after),
                            ":status", s(status), ":before", n(updatedBefore)))
                    .limit(maxRows == Integer.MAX_VALUE ? null : FILTERED_PAGE_ROWS)
                    .exclusiveStartKey(from));
            for (var item : page.items()) {
                if (out.size() == maxRows) return out;
                out.add(toDelivery(item));
            }
            start = page.hasLastEvaluatedKey() ? page.lastEvaluatedKey() : null;
        } while (start != null && out.size() < maxRows);
        return out;
    }

    /**
     * One recipient's row in each of {@code messages} (its shard follows from the number), by message id; a message
     * without one (not sent to the number, or not fanned out to it yet) is left out. BatchGetItem, 100 keys a call.
     */
    Map<String, Delivery> rowsOf(String phone, List<GroupMessage> messages) {
        Map<String, String> messageOfPk = new HashMap<>();
        for (GroupMessage m : messages) messageOfPk.put(shardPk(m.id(), shardOf(phone, m.shards())), m.id());
        return rowsAt(phone, messageOfPk);
    }

    /**
     * One recipient's row in each of {@code messageIds}, messages of one shard (a conversation's: 10 recipients at
     * most), by message id; a message without one is left out. BatchGetItem, 100 keys a call.
     */
    Map<String, Delivery> rowsOfOneShard(String phone, List<String> messageIds) {
        Map<String, String> messageOfPk = new HashMap<>();
        for (String id : messageIds) messageOfPk.put(shardPk(id, 0), id);
        return rowsAt(phone, messageOfPk);
    }

    /** The recipient's row in each shard partition of {@code messageOfPk}, by the partition's message id. */
    private Map<String, Delivery> rowsAt(String phone, Map<String, String> messageOfPk) {
        Map<String, Delivery> found = new HashMap<>();
        for (var row : ops.batchGet(table, messageOfPk.keySet().stream().map(pk -> Attr.key(pk, phone)).toList())) {
            found.put(messageOfPk.get(Attr.str(row, "pk")), toDelivery(row));
        }
        return found;
    }

    static Delivery toDelivery(Map<String, AttributeValue> item) {
        return new Delivery(Attr.str(item, "phone"), Attr.str(item, "status"), Attr.str(item, "carrierMessageId"),
                Attr.str(item, "error"), Attr.num(item, "updatedAt", 0), Attr.numOrNull(item, "claimedAt"), Attr.str(item, "name"));
    }
}
