package groupmsg.platform.queue;

import groupmsg.platform.Failures;
import groupmsg.platform.Log;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
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
    private final String table;
    private final QueueSender queue;
    private final Clock clock;

    public Outbox(DynamoDbClient dynamo, String table, QueueSender queue, Clock clock) {
        this.dynamo = dynamo;
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
     * shards; returns how many. One that cannot be sent holds back only the later rows of its FIFO message group
     * (they must not overtake it), not every row after it; the run then fails, once it has sent the rest.
     * The shards are read one after another on purpose: side by side they took 10-16 ms instead of 30-52 against
     * DynamoDB Local's plain HTTP, but in AWS each parallel read needs its own TLS connection (a run a minute finds
     * none kept alive), and seven more handshakes on maintenance's fraction of a vCPU would likely cost more.
     */
    public int redrive(Duration olderThan, int limitPerShard) {
        return redrive(olderThan, limitPerShard, Duration.ofDays(1));
    }

    /**
     * {@link #redrive(Duration, int)} that sends no more rows once {@code within} has passed (at least one goes): each
     * row is a send and a delete one after the other, and a backlog (SQS refusing for minutes) must not take the
     * run past its function's time. The rows not sent wait for the next run, each group's in order.
     */
    public int redrive(Duration olderThan, int limitPerShard, Duration within) {
        long stopAt = System.nanoTime() + within.toNanos();
        long before = clock.millis() - olderThan.toMillis();
        List<Map<String, AttributeValue>> due = new ArrayList<>();
        // a shard read in part (more rows due than a page) may hold older rows than the others' last: only rows up
        // to the earliest such page's end go this run, so that none overtakes an older one of its group
        String upTo = null;
        for (int shard = 0; shard < SHARDS; shard++) {
            String pk = "OUTBOX#" + shard;
            var page = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk AND sk < :before")
                    .expressionAttributeValues(Map.of(":pk", s(pk), ":before", s(String.format("%013d", before))))
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
        int sent = 0;
        Set<String> heldGroups = new HashSet<>();
        RuntimeException firstFailure = null;
        int tried = 0;
        for (var item : due) {
            if (tried > 0 && System.nanoTime() - stopAt >= 0) {
                Log.warn("outbox_redrive_out_of_time", Map.of("sent", sent, "left", due.size() - tried));
                break;
            }
            String queueName = Attr.str(item, "queue");
            String groupId = Attr.str(item, "groupId");
            String group = groupId == null ? null : queueName + "#" + groupId; // only FIFO queues' messages have one
            if (group != null && heldGroups.contains(group)) continue;
            tried++;
            try {
                var entry = new Entry(Attr.str(item, "entryId"), Queues.byName(queueName),
                        new QueueMessage(Attr.str(item, "body"), groupId, Attr.str(item, "deduplicationId")),
                        Attr.num(item, "stagedAt", 0));
                dispatch(entry);
                sent++;
            } catch (RuntimeException e) {
                if (group != null) heldGroups.add(group);
                firstFailure = Failures.keepFirst(firstFailure, e);
            }
        }
        if (sent > 0) Log.info("outbox_redriven", Map.of("messages", sent));
        if (firstFailure != null) throw firstFailure;
        return sent;
    }
}
