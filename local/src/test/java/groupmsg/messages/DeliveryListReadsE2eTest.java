package groupmsg.messages;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.messages.DeliveryStore.DeliveryPage;
import groupmsg.messages.DeliveryStore.Position;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A delivery list narrowed to a status, against DynamoDB Local: a shard whose counter holds none of the status is not
 * read, and a request that has read its budget of rows ends its page there (short, even empty) with a cursor after
 * the last row read (or at the next shard's start), so following the cursors finds every match once however far
 * apart they lie.
 */
@ExtendWith(LocalRuntimeExtension.class)
class DeliveryListReadsE2eTest {
    private static final int SHARDS = 2;

    /**
     * A page of messages reads all their shards' counters in one BatchGetItem per 100 keys (a list of 100 used to
     * make 100 calls one after another), and each message gets its own sums.
     */
    @Test
    void aPageOfMessagesReadsItsCountersInOneBatch(LocalRuntime runtime) {
        var batchGets = new java.util.concurrent.atomic.AtomicInteger();
        var counted = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest) batchGets.incrementAndGet();
            }
        });
        var store = new DeliveryStore(new DynamoOps(counted.dynamo()), counted.config().table(Tables.DELIVERIES));
        List<GroupMessage> listed = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            int shards = 1 + i % 5;
            String id = "msg_counts_" + i + "_" + UUID.randomUUID();
            List<String> phones = new ArrayList<>();
            for (int p = 0; p <= i; p++) phones.add(String.format("+1617557%02d%02d", i, p));
            store.insertQueued("acct_test", id, shards, phones, java.util.Map.of(), 1_000L, false);
            // the first i / 2 of them failed: each in its own shard's counter
            for (String failed : phones.subList(0, i / 2)) {
                store.apply(id, DeliveryStore.shardOf(failed, shards), List.of(
                        new DeliveryStore.Transition(failed, Delivery.QUEUED, Delivery.FAILED, null, "refused", 2_000L)));
            }
            listed.add(new GroupMessage(id, "acct_test", "grp_x", "line_x", "+14155550100", 1, null, null, "b", List.of(),
                    "b", SmsText.Encoding.GSM_7, 1, phones.size(), shards, 1_000L, true, GroupMessage.SENDING, null,
                    MessageKind.GROUP, List.of(), 0, null, null, null, 0, 0));
        }
        batchGets.set(0);
        var counts = store.counts(listed);
        assertThat(batchGets).as("90 counter keys: one call").hasValue(1);
        for (int i = 0; i < 30; i++) {
            GroupMessage m = listed.get(i);
            assertThat(counts.get(m.id())).as(m.id()).isEqualTo(store.counts(m.id(), m.shards()))
                    .containsEntry(Delivery.FAILED, (long) (i / 2));
        }
    }

    @Test
    void aFilteredListSkipsShardsWithoutMatchesAndEndsAPageAtItsBudget(LocalRuntime runtime) {
        var store = new DeliveryStore(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.DELIVERIES));
        String messageId = "msg_reads_" + UUID.randomUUID();
        List<List<String>> byShard = List.of(new ArrayList<>(), new ArrayList<>());
        List<String> phones = new ArrayList<>();
        for (int i = 0; i < 2500; i++) {
            String phone = String.format("+1617556%04d", i);
            phones.add(phone);
            byShard.get(DeliveryStore.shardOf(phone, SHARDS)).add(phone); // in phone order, as a shard's rows sort
        }
        assertThat(byShard.get(0)).hasSizeGreaterThan(1100);
        assertThat(byShard.get(1)).hasSizeGreaterThan(1100);
        store.insertQueued("acct_test", messageId, SHARDS, phones, java.util.Map.of(), 1_000L, false);
        // failed: the first two rows of shard 0, none in shard 1; opted out: one row near the end of each shard
        String failed0 = byShard.get(0).get(0), failed1 = byShard.get(0).get(1);
        String optedOut0 = byShard.get(0).get(byShard.get(0).size() - 3), optedOut1 = byShard.get(1).get(byShard.get(1).size() - 3);
        store.apply(messageId, 0, List.of(
                new DeliveryStore.Transition(failed0, Delivery.QUEUED, Delivery.FAILED, null, "refused", 2_000L),
                new DeliveryStore.Transition(failed1, Delivery.QUEUED, Delivery.FAILED, null, "refused", 2_000L),
                new DeliveryStore.Transition(optedOut0, Delivery.QUEUED, Delivery.OPTED_OUT, null, null, 2_000L)));
        store.apply(messageId, 1, List.of(new DeliveryStore.Transition(optedOut1, Delivery.QUEUED, Delivery.OPTED_OUT, null, null, 2_000L)));

        // both failures are in shard 0: shard 1 (counted none) is never read
        DeliveryPage failures = store.list(messageId, SHARDS, Position.START, 100, Delivery.FAILED, Long.MAX_VALUE);
        assertThat(failures.deliveries()).extracting(Delivery::phone).containsExactly(failed0, failed1);
        assertThat(failures.next()).isNull();
        assertThat(failures.rowsRead()).isEqualTo(byShard.get(0).size());
        // a row that takes the status later in a read shard is found (the counter is not taken as where to stop)
        String failedLate = byShard.get(0).get(byShard.get(0).size() - 1);
        store.apply(messageId, 0, List.of(new DeliveryStore.Transition(failedLate, Delivery.QUEUED, Delivery.FAILED, null, "refused", 3_000L)));
        assertThat(store.list(messageId, SHARDS, Position.START, 100, Delivery.FAILED, Long.MAX_VALUE).deliveries())
                .extracting(Delivery::phone).containsExactly(failed0, failed1, failedLate);

        // unbudgeted, one page holds both opt-outs, having read (nearly) the whole message
        DeliveryPage whole = store.list(messageId, SHARDS, Position.START, 100, Delivery.OPTED_OUT, Long.MAX_VALUE);
        assertThat(whole.deliveries()).extracting(Delivery::phone).containsExactly(optedOut0, optedOut1);
        assertThat(whole.next()).isNull();
        assertThat(whole.rowsRead()).isGreaterThan(2400);

        // a budget of 500 rows: each page stops after the query that used it up (1,000 rows), short or empty,
        // and the cursors lead through every opt-out once
        List<String> found = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        Position from = Position.START;
        do {
            DeliveryPage page = store.list(messageId, SHARDS, from, 100, Delivery.OPTED_OUT, 500);
            assertThat(page.rowsRead()).isLessThanOrEqualTo(DeliveryStore.FILTERED_PAGE_ROWS + 500);
            page.deliveries().forEach(d -> found.add(d.phone()));
            pageSizes.add(page.deliveries().size());
            from = page.next();
        } while (from != null && pageSizes.size() < 10);
        assertThat(from).isNull();
        assertThat(found).containsExactly(optedOut0, optedOut1);
        assertThat(pageSizes).containsExactly(0, 1, 1);

        // a budget used up just as a shard ends: the page goes on at the next shard's start, a cursor without a phone
        DeliveryPage first = store.list(messageId, SHARDS, Position.START, 100, Delivery.OPTED_OUT, byShard.get(0).size());
        assertThat(first.deliveries()).extracting(Delivery::phone).containsExactly(optedOut0);
        assertThat(first.next()).isEqualTo(new Position(1, null));
        String cursor = DeliveryList.DeliveryCursor.encode(first.next(), messageId);
        assertThat(DeliveryList.DeliveryCursor.decode(cursor, messageId, SHARDS)).isEqualTo(new Position(1, null));
        DeliveryPage second = store.list(messageId, SHARDS, DeliveryList.DeliveryCursor.decode(cursor, messageId, SHARDS), 100,
                Delivery.OPTED_OUT, byShard.get(0).size());
        assertThat(second.deliveries()).extracting(Delivery::phone).containsExactly(optedOut1);
        assertThat(second.next()).isNull();

        // unfiltered lists have no budget: a page is its limit
        DeliveryPage all = store.list(messageId, SHARDS, Position.START, 100, null, 1);
        assertThat(all.deliveries()).hasSize(100);
        assertThat(all.next()).isEqualTo(new Position(0, byShard.get(0).get(99)));
    }
}
