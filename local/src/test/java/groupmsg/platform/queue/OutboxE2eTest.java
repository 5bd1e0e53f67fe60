package groupmsg.platform.queue;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The outbox's redrive on the real DynamoDB Local, in a table of its own (the shared core table holds other tests'
 * rows in flight, which a redrive would take): the old rows of every shard go out once, young rows wait.
 */
@ExtendWith(LocalRuntimeExtension.class)
class OutboxE2eTest {
    private static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");

    /** The queue port, recording what it was given (the outbox's rows are the subject here, not SQS). */
    private static class RecordingQueue implements QueueSender {
        final ConcurrentLinkedQueue<String> sent = new ConcurrentLinkedQueue<>();

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            messages.forEach(m -> sent.add(queue.name() + " " + m.body()));
        }
    }

    /** A table of the test's own, keyed as the core table. */
    private static String freshTable(software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamo) {
        String table = "outbox-test-" + System.nanoTime();
        dynamo.createTable(b -> b.tableName(table).billingMode(BillingMode.PAY_PER_REQUEST)
                .attributeDefinitions(
                        AttributeDefinition.builder().attributeName("pk").attributeType(ScalarAttributeType.S).build(),
                        AttributeDefinition.builder().attributeName("sk").attributeType(ScalarAttributeType.S).build())
                .keySchema(KeySchemaElement.builder().attributeName("pk").keyType(KeyType.HASH).build(),
                        KeySchemaElement.builder().attributeName("sk").keyType(KeyType.RANGE).build()));
        return table;
    }

    @Test
    void redriveSendsTheOldRowsOfEveryShardOnceAndLeavesTheYoungOnes(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var queue = new RecordingQueue();

        var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(60), ZoneOffset.UTC));
        List<String> old = IntStream.range(0, 40).mapToObj(i -> "in_old_" + i).toList();
        Set<Integer> shards = old.stream().map(id -> Math.floorMod(id.hashCode(), Outbox.SHARDS)).collect(Collectors.toSet());
        assertThat(shards).as("the rows spread over every shard").hasSize(Outbox.SHARDS);
        for (String id : old) {
            var entry = staging.entry(id, Queues.OPTOUTS, new QueueMessage("body " + id, "line", id));
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(entry)));
        }
        var young = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(5), ZoneOffset.UTC));
        var youngEntry = young.entry("in_young", Queues.INBOUND, new QueueMessage("body in_young", "line", "in_young"));
        dynamo.transactWriteItems(b -> b.transactItems(young.stage(youngEntry)));

        var maintenance = new Outbox(dynamo, table, queue, Clock.fixed(NOW, ZoneOffset.UTC));
        // out of time (none here): one row a run, the oldest first, the rest left for the next runs
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100, Duration.ZERO)).isEqualTo(1);
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100, Duration.ZERO)).isEqualTo(1);
        assertThat(queue.sent).containsExactly("optouts body in_old_0", "optouts body in_old_1"); // <stagedAt>#<id> order
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100)).isEqualTo(38);
        assertThat(queue.sent).containsExactlyInAnyOrderElementsOf(old.stream().map(id -> "optouts body " + id).toList());

        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100)).as("sent rows are deleted").isZero();
        assertThat(queue.sent).hasSize(40);
        // the young row is a later redrive's once it is old enough
        var later = new Outbox(dynamo, table, queue, Clock.fixed(NOW.plusSeconds(30), ZoneOffset.UTC));
        assertThat(later.redrive(Duration.ofSeconds(30), 100)).isEqualTo(1);
        assertThat(queue.sent).contains("inbound body in_young").hasSize(41);
    }

    /**
     * A backlog goes in batches: per queue up to 10 rows a send, one row of a FIFO message group a send (a batch taken
     * in part must not let a group's later row overtake its earlier one), so 25 groups' rows, a group of 3 and 12
     * rows of a standard queue take 7 sends, not 40; each row once, each group's in order, every row deleted.
     */
    @Test
    void aBacklogGoesInBatchesKeepingEachGroupsOrder(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var batches = new ConcurrentLinkedQueue<List<String>>();
        var queue = new RecordingQueue() {
            @Override
            public void send(QueueDef q, List<QueueMessage> messages) {
                batches.add(messages.stream().map(QueueMessage::body).toList());
                super.send(q, messages);
            }
        };
        int second = 0;
        List<String> rows = new java.util.ArrayList<>();
        for (int i = 0; i < 25; i++) rows.add("optouts in_g" + i);
        for (int i = 0; i < 3; i++) rows.add("optouts in_same" + i);
        for (int i = 0; i < 12; i++) rows.add("receipts rc" + i);
        for (String row : rows) {
            var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(120).plusSeconds(second++), ZoneOffset.UTC));
            String id = row.substring(row.indexOf(' ') + 1);
            boolean fifo = row.startsWith("optouts");
            var entry = staging.entry(id, fifo ? Queues.OPTOUTS : Queues.RECEIPTS,
                    new QueueMessage("body " + id, fifo ? (id.startsWith("in_same") ? "same" : id) : null, fifo ? id : null));
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(entry)));
        }
        var maintenance = new Outbox(dynamo, table, queue, Clock.fixed(NOW, ZoneOffset.UTC));
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100)).isEqualTo(40);

        assertThat(queue.sent).hasSize(40).doesNotHaveDuplicates();
        assertThat(batches).hasSize(7).allSatisfy(b -> assertThat(b).hasSizeBetween(1, Outbox.BATCH));
        assertThat(queue.sent.stream().filter(m -> m.contains("in_same")).toList())
                .containsExactly("optouts body in_same0", "optouts body in_same1", "optouts body in_same2");
        assertThat(batches).allSatisfy(b -> assertThat(b.stream().filter(m -> m.contains("in_same")).count()).isLessThanOrEqualTo(1));
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100)).as("every row deleted").isZero();
    }

    /**
     * A backlog larger than a page per shard goes in one run, pass after pass, each group's rows in order; rows of a
     * queue SQS refuses (staged first) do not keep another queue's newer rows from going, and once a batch of it and
     * each of its rows were refused, it is tried no more that run. Before, a run read one page
     * per shard (8 x 100 rows a minute at most), and only rows up to the earliest full page's end went: refused rows
     * filling those pages held every other row back, run after run.
     */
    @Test
    void aBacklogLargerThanAPagePerShardGoesInOneRunPastRowsThatAreRefused(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var refusals = new java.util.concurrent.atomic.AtomicInteger();
        var queue = new RecordingQueue() {
            @Override
            public void send(QueueDef q, List<QueueMessage> messages) {
                if (q == Queues.RECEIPTS) {
                    refusals.incrementAndGet();
                    throw new IllegalStateException("SQS refused the receipts queue");
                }
                super.send(q, messages);
            }
        };
        int second = 0;
        List<String> refused = IntStream.range(0, 60).mapToObj(i -> "rc" + i).toList();
        List<String> fifo = IntStream.range(0, 90).mapToObj(i -> "in_p" + i).toList();
        for (String id : refused) {
            var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(600).plusSeconds(second++), ZoneOffset.UTC));
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(staging.entry(id, Queues.RECEIPTS,
                    new QueueMessage("body " + id, null, null)))));
        }
        for (String id : fifo) {
            var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(600).plusSeconds(second++), ZoneOffset.UTC));
            // three groups, each row after its group's earlier ones
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(staging.entry(id, Queues.OPTOUTS,
                    new QueueMessage("body " + id, "g" + (Integer.parseInt(id.substring(4)) % 3), id)))));
        }
        var maintenance = new Outbox(dynamo, table, queue, Clock.fixed(NOW, ZoneOffset.UTC));

        assertThatThrownBy(() -> maintenance.redrive(Duration.ofSeconds(30), 5)).hasMessageContaining("receipts");

        assertThat(queue.sent).as("every FIFO row, once, in order").containsExactlyElementsOf(fifo.stream().map(id -> "optouts body " + id).toList());
        // the queue refusing a batch and each of its rows is tried no more this run (not 6 batches and 60 rows)
        assertThat(refusals).hasValueLessThanOrEqualTo(1 + Outbox.BATCH);
        var again = new RecordingQueue();
        assertThat(new Outbox(dynamo, table, again, Clock.fixed(NOW, ZoneOffset.UTC)).redrive(Duration.ofSeconds(30), 5))
                .as("the refused rows, kept for the next run").isEqualTo(refused.size());
    }

    /**
     * SQS refusing everything (the outage a backlog comes from): a refused batch is tried row by row only while the
     * run has time, so a run out of time makes one batch send and one row's, not one per row (each waits out the
     * SDK's retries); with time, every row is tried. Nothing is lost: every row stays for the next run.
     */
    @Test
    void whenSqsRefusesEverythingARunOutOfTimeTriesOneBatchAndOneRow(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var calls = new java.util.concurrent.atomic.AtomicInteger();
        QueueSender down = (q, messages) -> {
            calls.incrementAndGet();
            throw new IllegalStateException("SQS down");
        };
        var staging = new Outbox(dynamo, table, down, Clock.fixed(NOW.minusSeconds(60), ZoneOffset.UTC));
        for (String id : List.of("in_x", "in_y", "in_z")) {
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(
                    staging.entry(id, Queues.OPTOUTS, new QueueMessage("body " + id, id, id)))));
        }
        var maintenance = new Outbox(dynamo, table, down, Clock.fixed(NOW, ZoneOffset.UTC));
        assertThatThrownBy(() -> maintenance.redrive(Duration.ofSeconds(30), 100, Duration.ZERO)).hasMessage("SQS down");
        assertThat(calls).hasValue(2);
        calls.set(0);
        assertThatThrownBy(() -> maintenance.redrive(Duration.ofSeconds(30), 100)).hasMessage("SQS down");
        assertThat(calls).as("the batch, then each row").hasValue(4);
        var recording = new RecordingQueue();
        assertThat(new Outbox(dynamo, table, recording, Clock.fixed(NOW, ZoneOffset.UTC)).redrive(Duration.ofSeconds(30), 100)).isEqualTo(3);
    }

    /**
     * A row for a queue this version does not know (staged by a newer one, rolled back since) is left for it, and the
     * rest go; the run fails after them. Before, it failed the run first, every run, and no row went.
     */
    @Test
    void aRowForAQueueThisVersionDoesNotKnowIsLeftAndTheRestGo(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var queue = new RecordingQueue();
        int second = 0;
        for (String id : List.of("in_gone1", "in_ok1", "in_ok2")) {
            var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(60).plusSeconds(second++), ZoneOffset.UTC));
            var entry = staging.entry(id, Queues.OPTOUTS, new QueueMessage("body " + id, id, id));
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(entry)));
        }
        // the oldest row names a queue this version does not have
        var rows = dynamo.scan(b -> b.tableName(table)).items().stream()
                .filter(i -> "in_gone1".equals(i.get("entryId").s())).toList();
        assertThat(rows).hasSize(1);
        dynamo.updateItem(b -> b.tableName(table).key(Map.of("pk", rows.getFirst().get("pk"), "sk", rows.getFirst().get("sk")))
                .updateExpression("SET #q = :q").expressionAttributeNames(Map.of("#q", "queue"))
                .expressionAttributeValues(Map.of(":q", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("gone"))));

        var maintenance = new Outbox(dynamo, table, queue, Clock.fixed(NOW, ZoneOffset.UTC));
        assertThatThrownBy(() -> maintenance.redrive(Duration.ofSeconds(30), 100)).hasMessageContaining("gone")
                .hasMessageContaining("in_gone1");
        assertThat(queue.sent).containsExactly("optouts body in_ok1", "optouts body in_ok2");
        assertThat(dynamo.scan(b -> b.tableName(table)).items()).as("left for the version that knows it")
                .singleElement().satisfies(i -> assertThat(i.get("entryId").s()).isEqualTo("in_gone1"));
    }

    /**
     * A row SQS refuses holds back only the later rows of its FIFO message group, across shards (oldest first over
     * all of them), not every row after it; the run fails once it sent the rest. Before, the first refusal stopped
     * the whole redrive, and a group's rows in different shards went in shard order.
     */
    @Test
    void aRowThatCannotBeSentHoldsBackOnlyItsGroupsLaterRows(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var refusing = new java.util.concurrent.atomic.AtomicBoolean(true);
        var queue = new RecordingQueue() {
            @Override
            public void send(QueueDef q, List<QueueMessage> messages) {
                if (refusing.get() && messages.getFirst().body().equals("body in_a1")) throw new IllegalStateException("SQS refused");
                super.send(q, messages);
            }
        };
        // group a's two rows, the later one in a shard read before the earlier one's; group b's row
        String first = "in_a1";
        String later = IntStream.range(0, 100).mapToObj(i -> "in_a2_" + i)
                .filter(id -> Math.floorMod(id.hashCode(), Outbox.SHARDS) < Math.floorMod(first.hashCode(), Outbox.SHARDS))
                .findFirst().orElseThrow();
        int second = 0;
        for (String id : List.of(first, later, "in_b1")) {
            var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(60).plusSeconds(second++), ZoneOffset.UTC));
            var entry = staging.entry(id, Queues.OPTOUTS, new QueueMessage("body " + id, id.startsWith("in_a") ? "a" : "b", id));
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(entry)));
        }
        var maintenance = new Outbox(dynamo, table, queue, Clock.fixed(NOW, ZoneOffset.UTC));
        assertThatThrownBy(() -> maintenance.redrive(Duration.ofSeconds(30), 100)).hasMessage("SQS refused");
        assertThat(queue.sent).containsExactly("optouts body in_b1");

        refusing.set(false);
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 100)).isEqualTo(2);
        assertThat(queue.sent).containsExactly("optouts body in_b1", "optouts body in_a1", "optouts body " + later);
    }

    /**
     * A shard with more rows due than a page: a later row of a group in another shard waits for the pass that reaches
     * the group's older row (its shard's page ended before it), and goes after it.
     */
    @Test
    void aShardReadInPartHoldsBackRowsLaterThanItsPage(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        String table = freshTable(dynamo);
        var queue = new RecordingQueue();
        // in one shard: another row, then group a's first; group a's second in another shard, staged after both
        String other = "in_z0";
        int shardOf = Math.floorMod(other.hashCode(), Outbox.SHARDS);
        String first = IntStream.range(0, 200).mapToObj(i -> "in_a1_" + i)
                .filter(id -> Math.floorMod(id.hashCode(), Outbox.SHARDS) == shardOf).findFirst().orElseThrow();
        String later = IntStream.range(0, 200).mapToObj(i -> "in_a2_" + i)
                .filter(id -> Math.floorMod(id.hashCode(), Outbox.SHARDS) != shardOf).findFirst().orElseThrow();
        int second = 0;
        for (String id : List.of(other, first, later)) {
            var staging = new Outbox(dynamo, table, queue, Clock.fixed(NOW.minusSeconds(60).plusSeconds(second++), ZoneOffset.UTC));
            var entry = staging.entry(id, Queues.OPTOUTS, new QueueMessage("body " + id, id.equals(other) ? "z" : "a", id));
            dynamo.transactWriteItems(b -> b.transactItems(staging.stage(entry)));
        }
        var maintenance = new Outbox(dynamo, table, queue, Clock.fixed(NOW, ZoneOffset.UTC));
        // a page as long as its limit may end a shard or not (DynamoDB cannot tell): the rest goes in later passes
        assertThat(maintenance.redrive(Duration.ofSeconds(30), 1)).isEqualTo(3);
        assertThat(queue.sent).containsExactly("optouts body " + other, "optouts body " + first, "optouts body " + later);
    }

    @Test
    void aShardThatCannotBeReadFailsTheRedrive(LocalRuntime runtime) {
        var queue = new RecordingQueue();
        var outbox = new Outbox(runtime.wiring().dynamo(), "no-such-table-" + System.nanoTime(), queue, Clock.systemUTC());
        assertThatThrownBy(() -> outbox.redrive(Duration.ofSeconds(30), 100)).isInstanceOf(ResourceNotFoundException.class);
        assertThat(queue.sent).isEmpty();
    }
}
