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
 * read, a shard read from its start stops at its counted matches, and a request that has read its budget of rows
 * ends its page there (short, even empty) with a cursor after the last row read, so following the cursors finds
 * every match once however far apart they lie.
 */
@ExtendWith(LocalRuntimeExtension.class)
class DeliveryListReadsE2eTest {
    private static final int SHARDS = 2;

    @Test
    void aFilteredListSkipsShardsWithoutMatchesStopsAtItsCountAndEndsAPageAtItsBudget(LocalRuntime runtime) {
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
        store.insertQueued(messageId, SHARDS, phones, 1_000L, false);
        // failed: the first two rows of shard 0, none in shard 1; opted out: one row near the end of each shard
        String failed0 = byShard.get(0).get(0), failed1 = byShard.get(0).get(1);
        String optedOut0 = byShard.get(0).get(byShard.get(0).size() - 3), optedOut1 = byShard.get(1).get(byShard.get(1).size() - 3);
        store.apply(messageId, 0, List.of(
                new DeliveryStore.Transition(failed0, Delivery.QUEUED, Delivery.FAILED, null, "refused", 2_000L),
                new DeliveryStore.Transition(failed1, Delivery.QUEUED, Delivery.FAILED, null, "refused", 2_000L),
                new DeliveryStore.Transition(optedOut0, Delivery.QUEUED, Delivery.OPTED_OUT, null, null, 2_000L)));
        store.apply(messageId, 1, List.of(new DeliveryStore.Transition(optedOut1, Delivery.QUEUED, Delivery.OPTED_OUT, null, null, 2_000L)));

        // both failures are at the start of shard 0: one query of it, and shard 1 (counted none) is never read
        DeliveryPage failures = store.list(messageId, SHARDS, Position.START, 100, Delivery.FAILED, Long.MAX_VALUE);
        assertThat(failures.deliveries()).extracting(Delivery::phone).containsExactly(failed0, failed1);
        assertThat(failures.next()).isNull();
        assertThat(failures.rowsRead()).isLessThanOrEqualTo(DeliveryStore.FILTERED_PAGE_ROWS);

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
        assertThat(found).containsExactly(optedOut0, optedOut1);
        assertThat(pageSizes).hasSizeGreaterThanOrEqualTo(3).contains(0);

        // unfiltered lists have no budget: a page is its limit
        DeliveryPage all = store.list(messageId, SHARDS, Position.START, 100, null, 1);
        assertThat(all.deliveries()).hasSize(100);
        assertThat(all.next()).isEqualTo(new Position(0, byShard.get(0).get(99)));
    }
}
