package groupmsg.platform.queue;

import groupmsg.platform.Failures;
import groupmsg.platform.Log;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * The transactional outbox: a queue message is written in the same transaction as the record it belongs to
 * ({@link #stage}), sent right after the commit, and its row deleted once SQS has it ({@link #dispatch}).
 * If the process dies in between, maintenance finds the row and sends it ({@link #redrive}); consumers are
 * idempotent and FIFO queues also de-duplicate by the message's id, so a second send changes nothing.
 * Rows live in {@code OUTBOX#<0..SHARDS-1> / <stagedAt>#<id>} of the core table (spread so a burst of
 * webhooks does not write one partition).
 */
public final class Outbox {
    static final int SHARDS = 8;

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;
    private final QueueSender queue;
    private final Clock clock;

    public Outbox(DynamoDbClient dynamo, String table, QueueSender queue, Clock clock) {
        this.dynamo = dynamo;
        this.ops = new DynamoOps(dynamo);
        this.table = table;
        this.queue = queue;
        this.clock = clock;
    }

    /** One message to send. {@code id} is unique per message (e.g. the inbound message's id). */
    public record Entry(String id, QueueDef queue, QueueMessage message, long stagedAt) {
        Map<String, AttributeValue> key() {
            return Attr.key("OUTBOX#" + Math.floorMod(id.hashCode(), SHARDS), String.format("%013d#%s", stagedAt, id));
        }
    }

    public Entry entry(String id, QueueDef queue, QueueMessage message) {
        return new Entry(id, queue, message, clock.millis());
    }

    /** The put of the outbox row, to commit with the record it belongs to. */
    public TransactWriteItem stage(Entry entry) {
        var item = new HashMap<String, AttributeValue>(entry.key());
        item.put("entryId", s(entry.id()));
        item.put("queue", s(entry.queue().name()));
        item.put("body", s(entry.message().body()));
        if (entry.message().groupId() != null) item.put("groupId", s(entry.message().groupId()));
        if (entry.message().deduplicationId() != null) item.put("deduplicationId", s(entry.message().deduplicationId()));
        item.put("stagedAt", n(entry.stagedAt()));
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)).build();
    }

    /** Sends the message and removes its row. A failure leaves the row for {@link #redrive}. */
    public void dispatch(Entry entry) {
        queue.send(entry.queue(), List.of(entry.message()));
        dynamo.deleteItem(b -> b.tableName(table).key(entry.key()));
    }

    /**
     * {@link #dispatch}, for a caller whose work is done once the row is committed: a failure is logged and the row
     * left for {@link #redrive} (within about a minute and a half) rather than failing what already succeeded.
     */
    public void dispatchOrLeave(Entry entry) {
        try {
            dispatch(entry);
        } catch (RuntimeException e) {
            Log.error("outbox_dispatch_deferred", Map.of("entryId", entry.id(), "queue", entry.queue().name()), e);
        }
    }

    /**
     * Sends every row staged more than {@code olderThan} ago (their first dispatch was lost), oldest first across the
     * shards (in batches: a FIFO message group's rows in order, the rest as batches allow); returns how many. One that cannot be sent holds back only the later rows of its FIFO message group
     * (they must not overtake it), not every row after it; the run then fails, once it has sent the rest.
     * The shards are read one after another on purpose: side by side they took 10-16 ms instead of 30-52 against
     * DynamoDB Local's plain HTTP, but in AWS each parallel read needs its own TLS connection (a run a minute finds
     * none kept alive), and seven more handshakes on maintenance's fraction of a vCPU would likely cost more.
     */
    public int redrive(Duration olderThan, int limitPerShard) {
        return redrive(olderThan, limitPerShard, Duration.ofDays(1));
    }

    /**
     * {@link #redrive(Duration, int)} that sends no more rows once {@code within} has passed (at least one batch goes):
     * a backlog (SQS refusing for minutes) must not take the run past its function's time. Rows go in rounds of one
     * SendMessageBatch (up to {@link #BATCH}; two when their bodies pass SQS's 256 KB) and one BatchWriteItem of deletes per queue, a FIFO message group's
     * rows one a round (a backlog of 1,000 rows across groups is about 100 sends, not 1,000 sends and 1,000 deletes).
     * Passes read each shard's next page while the run has time; the rows not sent wait for the next run, each
     * group's in order.
     */
    public int redrive(Duration olderThan, int limitPerShard, Duration within) {
        long stopAt = System.nanoTime() + within.toNanos();
        long before = clock.millis() - olderThan.toMillis();
        var run = new Run(stopAt);
        // Pass after pass while the run has time: each reads every shard's next page after the last pass's bound
        // (every row up to it was read then), so a backlog of thousands goes in one run, not 8 pages a minute, and
        // rows refused first (one queue unusable) do not keep the others' newer rows from going
        String after = null;
        do {
            Pass pass = readPass(before, after, limitPerShard);
            sendInRounds(pass.due(), run);
            after = pass.upTo();
        } while (after != null && !run.outOfTime && System.nanoTime() - stopAt < 0);
        if (run.sent > 0) Log.info("outbox_redriven", Map.of("messages", run.sent));
        if (run.firstFailure != null) throw run.firstFailure;
        return run.sent;
    }

    /** What a redrive has done so far: across its passes, a held group stays held (its later rows must not go). */
    private static final class Run {
        final long stopAt;
        final Set<String> heldGroups = new HashSet<>();
        /** Queues that refused every row of a batch, each tried alone: SQS refusing them all (a permission, a key). */
        final Set<String> heldQueues = new HashSet<>();
        RuntimeException firstFailure;
        int sent;
        boolean triedAny;
        boolean outOfTime;

        Run(long stopAt) {
            this.stopAt = stopAt;
        }
    }

    /**
     * Rows due to go this pass, oldest first, and the bound the next pass reads after (null: every row due was read).
     * A shard read in part (more rows due than a page) may hold older rows than the others' last: only rows up to the
     * earliest such page's end go this pass, so that none overtakes an older one of its group.
     */
    private record Pass(List<Map<String, AttributeValue>> due, String upTo) {}

    private Pass readPass(long before, String after, int limitPerShard) {
        List<Map<String, AttributeValue>> due = new ArrayList<>();
        String upTo = null;
        for (int shard = 0; shard < SHARDS; shard++) {
            String pk = "OUTBOX#" + shard;
            var page = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk AND sk < :before")
                    .expressionAttributeValues(Map.of(":pk", s(pk), ":before", s(String.format("%013d", before))))
                    .exclusiveStartKey(after == null ? null : Map.of("pk", s(pk), "sk", s(after)))
                    .limit(limitPerShard));
            due.addAll(page.items());
            if (page.hasLastEvaluatedKey() && !page.items().isEmpty()) {
                String last = Attr.str(page.items().getLast(), "sk");
                if (upTo == null || last.compareTo(upTo) < 0) upTo = last;
            }
        }
        due.sort(Comparator.comparing(item -> Attr.str(item, "sk"))); // <stagedAt>#<id>: a message group's order
        if (upTo != null) {
            String bound = upTo;
            due.removeIf(item -> Attr.str(item, "sk").compareTo(bound) > 0);
        }
        return new Pass(due, upTo);
    }

    /** Sends a pass's rows in rounds (see {@link #redrive(Duration, int, Duration)}) while the run has time. */
    private void sendInRounds(List<Map<String, AttributeValue>> due, Run run) {
        List<Map<String, AttributeValue>> remaining = due;
        while (!remaining.isEmpty()) {
            // A round: each queue's next rows in order, up to a batch, and one row per FIFO message group (a batch
            // SQS takes in part must not let a group's later row go without its earlier one); the rest next round.
            Map<String, List<Map<String, AttributeValue>>> batches = new LinkedHashMap<>();
            Set<String> groupsThisRound = new HashSet<>();
            List<Map<String, AttributeValue>> next = new ArrayList<>();
            for (var item : remaining) {
                String queueName = Attr.str(item, "queue");
                if (!knownQueue(queueName)) {
                    // staged by a version that knew a queue this one does not (rolled back since): left for it; the
                    // run fails after the rest (before, it failed here, first of every run, and no row went)
                    if (run.firstFailure == null) {
                        run.firstFailure = new IllegalStateException("outbox row " + Attr.str(item, "entryId")
                                + " is for a queue this version does not know: " + queueName);
                    }
                    continue;
                }
                String group = groupOf(item);
                if ((group != null && run.heldGroups.contains(group)) || run.heldQueues.contains(queueName)) continue;
                var batch = batches.computeIfAbsent(queueName, q -> new ArrayList<>());
                // a group met again, or met first when its queue's batch is full: this row and the group's later ones wait
                if ((group != null && !groupsThisRound.add(group)) || batch.size() == BATCH) {
                    next.add(item);
                    continue;
                }
                batch.add(item);
            }
            int untried = next.size();
            for (var batch : batches.values()) untried += batch.size();
            for (var batch : batches.values()) {
                if (batch.isEmpty()) continue;
                if (run.triedAny && System.nanoTime() - run.stopAt >= 0) {
                    Log.warn("outbox_redrive_out_of_time", Map.of("sent", run.sent, "left", untried));
                    run.outOfTime = true;
                    return;
                }
                run.triedAny = true;
                untried -= batch.size();
                var result = sendAndDelete(batch, run.heldGroups, run.stopAt);
                // the rest of its rows wait for the next run: tried row by row, pass after pass, a queue refusing
                // them all took the run's time, and the overdue-receipt checks after it had none
                if (result.queueRefusing()) run.heldQueues.add(Attr.str(batch.getFirst(), "queue"));
                run.sent += result.sent();
                if (result.failure() != null) run.firstFailure = Failures.keepFirst(run.firstFailure, result.failure());
            }
            remaining = next;
        }
    }

    /** SQS's most messages in one SendMessageBatch. */
    static final int BATCH = SqsQueueSender.MAX_ENTRIES;

    /** How many rows of a batch went (their rows deleted), and the first failure of those that did not (null: none). */
    private record BatchResult(int sent, RuntimeException failure, boolean queueRefusing) {
        BatchResult(int sent, RuntimeException failure) {
            this(sent, failure, false);
        }
    }

    /**
     * Sends one queue's rows in one batch and deletes them in one BatchWriteItem. A batch SQS refuses goes row by row
     * ({@link #dispatch}; the sender retried the batch already), so a row that cannot go holds back only its own group
     * ({@code heldGroups} gets it); once one is refused too, only while the run has time ({@code stopAt}): SQS may be
     * refusing everything (an outage, the backlog's cause), each row waiting out the SDK's retries. Rows sent whose
     * delete failed are sent again by a later run (their consumers are idempotent), and hold back their groups' later rows.
     */
    private BatchResult sendAndDelete(List<Map<String, AttributeValue>> batch, Set<String> heldGroups, long stopAt) {
        List<Entry> entries = batch.stream().map(Outbox::entryOf).toList();
        try {
            queue.send(entries.getFirst().queue(), entries.stream().map(Entry::message).toList());
        } catch (RuntimeException refused) {
            if (entries.size() == 1) {
                holdGroup(batch.getFirst(), heldGroups);
                return new BatchResult(0, refused);
            }
            int sent = 0;
            RuntimeException failure = null;
            for (int i = 0; i < entries.size(); i++) {
                if (failure != null && System.nanoTime() - stopAt >= 0) {
                    for (var item : batch.subList(i, batch.size())) holdGroup(item, heldGroups);
                    break;
                }
                try {
                    dispatch(entries.get(i));
                    sent++;
                } catch (RuntimeException e) {
                    holdGroup(batch.get(i), heldGroups);
                    failure = Failures.keepFirst(failure, e);
                }
            }
            // every row refused, each alone (two at least: one row may be refused for itself)
            return new BatchResult(sent, failure, sent == 0 && entries.size() > 1);
        }
        try {
            ops.batchWrite(table, entries.stream().map(e -> WriteRequest.builder()
                    .deleteRequest(d -> d.key(e.key())).build()).toList());
            return new BatchResult(entries.size(), null);
        } catch (RuntimeException e) {
            batch.forEach(item -> holdGroup(item, heldGroups));
            return new BatchResult(0, e);
        }
    }

    /** Whether this version has a queue of that name (a lookup by name: any queue a row names may be sent to). */
    private static boolean knownQueue(String name) {
        try {
            Queues.byName(name);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Entry entryOf(Map<String, AttributeValue> item) {
        String groupId = Attr.str(item, "groupId");
        return new Entry(Attr.str(item, "entryId"), Queues.byName(Attr.str(item, "queue")),
                new QueueMessage(Attr.str(item, "body"), groupId, Attr.str(item, "deduplicationId")),
                Attr.num(item, "stagedAt", 0));
    }

    /** The row's FIFO message group, qualified by its queue; null for a standard queue's row. */
    private static String groupOf(Map<String, AttributeValue> item) {
        String groupId = Attr.str(item, "groupId");
        return groupId == null ? null : Attr.str(item, "queue") + "#" + groupId;
    }

    private static void holdGroup(Map<String, AttributeValue> item, Set<String> heldGroups) {
        String group = groupOf(item);
        if (group != null) heldGroups.add(group);
    }
}
