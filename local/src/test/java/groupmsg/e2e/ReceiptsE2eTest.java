package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.local.bench.RequestCounter;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.ReceiptWorkerHandler;
import groupmsg.messages.StatusCallbacks.Receipt;
import groupmsg.platform.config.Wiring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static groupmsg.e2e.DeliveryFaultsTest.acceptAndFanOut;
import static groupmsg.e2e.DeliveryFaultsTest.deliverAll;
import static groupmsg.e2e.DeliveryFaultsTest.statuses;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The receipt worker on the real tables: a batch of delivery receipts is applied per message shard in a few
 * transactions, forward only, billing only rows the worker had not recorded, and a redelivered batch changes nothing.
 */
@ExtendWith(LocalRuntimeExtension.class)
class ReceiptsE2eTest {

    @Test
    @SuppressWarnings("unchecked")
    void aBatchOfReceiptsIsAppliedPerShardInBulkForwardOnlyAndBilledOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Receipts Co");
        var carrier = new DeliveryFaultsTest.ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        int members = 230;
        var s = acceptAndFanOut(a, wiring, members);
        String lost = s.phones().get(0);
        // the carrier took this one but its answer was lost: the row stays in sending until a receipt settles it
        carrier.script.put(lost, List.of(new UncheckedIOException(new IOException("read timed out"))));
        deliverAll(new DeliveryService(wiring), s);
        Map<String, Integer> shardOf = new HashMap<>();
        for (var batch : s.queue().deliveries) {
            for (String p : (List<String>) batch.get("phones")) shardOf.put(p, ((Number) batch.get("shard")).intValue());
        }
        long billedBefore = billedMessages(a);
        assertThat(billedBefore).isEqualTo(members - 1);

        String failedA = s.phones().get(1), failedB = s.phones().get(2);
        List<Receipt> receipts = new ArrayList<>();
        long at = System.currentTimeMillis();
        for (String p : s.phones()) {
            boolean failed = p.equals(failedA) || p.equals(failedB);
            // the carrier's id of each send (the scripted carrier's); the lost one's the worker never recorded
            receipts.add(new Receipt(s.accountId(), s.messageId(), shardOf.get(p), p, "SM" + p.substring(1) + (p.equals(lost) ? "x" : ""),
                    failed ? "failed" : "delivered", failed ? "carrier 30003" : null, at));
        }
        // a second, contradicting receipt right after the first one for the same row (one transaction may not touch
        // a row twice: the first receipt wins), and one for a number the message never had
        receipts.add(4, new Receipt(s.accountId(), s.messageId(), shardOf.get(s.phones().get(3)), s.phones().get(3), null,
                "failed", "carrier 30005", at + 1));
        receipts.add(new Receipt(s.accountId(), s.messageId(), 0, "+19995550000", null, "delivered", null, at));
        SQSEvent event = event(receipts);

        var requests = new RequestCounter();
        var worker = new ReceiptWorkerHandler(runtime.wiringWith(requests));
        SQSBatchResponse response = worker.handleRequest(event, null);
        assertThat(response.getBatchItemFailures()).isEmpty();

        Map<String, String> after = statuses(a, s.messageId());
        assertThat(after).hasSize(members);
        assertThat(after).containsEntry(lost, "delivered").containsEntry(failedA, "failed").containsEntry(failedB, "failed")
                .containsEntry(s.phones().get(3), "delivered");
        assertThat(after.values().stream().filter("delivered"::equals).count()).isEqualTo(members - 2);
        var counts = (Map<String, Number>) a.get("/v1/messages/" + s.messageId()).jsonObject().get("counts");
        assertThat(counts.get("delivered").intValue()).isEqualTo(members - 2);
        assertThat(counts.get("failed").intValue()).isEqualTo(2);
        assertThat(counts.get("sent").intValue()).isZero();
        assertThat(counts.get("queued").intValue()).isZero();
        var lostRow = allDeliveries(a, s.messageId()).stream().filter(d -> lost.equals(d.get("phone"))).findFirst().orElseThrow();
        assertThat(lostRow).containsEntry("carrierMessageId", "SM" + lost.substring(1) + "x");
        // the row the worker never recorded is billed by its receipt, the others were billed by the worker
        assertThat(billedMessages(a)).isEqualTo(members);

        // one transaction per 98 receipts of a shard, a second one for a chunk where some condition failed, one
        // settling the rows found in sending: 6 here for 232 receipts, where one per receipt used to be the rule
        long transactions = requests.snapshot().entrySet().stream().filter(e -> e.getKey().endsWith("TransactWriteItems"))
                .mapToLong(Map.Entry::getValue).sum();
        long shards = shardOf.values().stream().distinct().count();
        assertThat(transactions).isBetween(shards, 2 * (receipts.size() / 98 + shards) + shards);

        // the same batch again (SQS delivers at least once): nothing moves, nothing is billed twice
        assertThat(worker.handleRequest(event, null).getBatchItemFailures()).isEmpty();
        assertThat(statuses(a, s.messageId())).isEqualTo(after);
        assertThat(billedMessages(a)).isEqualTo(members);
    }

    /**
     * A row sent twice (the first send's answer lost, a lookup that did not find it, sent again): the first send's
     * receipt says nothing of the second, which the row records; it is dropped, and the second's applies. Before,
     * the first send's "undelivered" failed a row whose second send was delivered.
     */
    @Test
    void aReceiptOfAnotherSendThanTheRowRecordsIsDropped(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Two Sends Co");
        var carrier = new DeliveryFaultsTest.ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        var s = acceptAndFanOut(a, wiring, 2);
        deliverAll(new DeliveryService(wiring), s);
        assertThat(statuses(a, s.messageId()).values()).containsOnly("sent");
        String phone = s.phones().get(0);
        int shard = shardOf(s, phone);
        long at = System.currentTimeMillis();
        var worker = new ReceiptWorkerHandler(runtime.wiring());
        var first = new Receipt(s.accountId(), s.messageId(), shard, phone, "SMfirstsend0001", "failed", "carrier 30003", at);
        assertThat(worker.handleRequest(event(List.of(first)), null).getBatchItemFailures()).isEmpty();
        assertThat(statuses(a, s.messageId())).containsEntry(phone, "sent");
        // an uncharged one too (its refund would go with the move)
        var firstUncharged = new Receipt(s.accountId(), s.messageId(), shard, phone, "SMfirstsend0001", "failed", "carrier 30001", at, true);
        assertThat(worker.handleRequest(event(List.of(firstUncharged)), null).getBatchItemFailures()).isEmpty();
        assertThat(statuses(a, s.messageId())).containsEntry(phone, "sent");
        assertThat(billedMessages(a)).isEqualTo(2);

        var recorded = new Receipt(s.accountId(), s.messageId(), shard, phone, "SM" + phone.substring(1), "delivered", null, at + 1);
        assertThat(worker.handleRequest(event(List.of(recorded)), null).getBatchItemFailures()).isEmpty();
        assertThat(statuses(a, s.messageId())).containsEntry(phone, "delivered");

        // the two sends' receipts in one batch, the first send's first: the row's own applies all the same. Before,
        // the batch kept a number's first receipt only, and the row's waited an hour for the overdue-receipt check.
        String other = s.phones().get(1);
        int otherShard = shardOf(s, other);
        var both = List.of(
                new Receipt(s.accountId(), s.messageId(), otherShard, other, "SMfirstsend0002", "failed", "carrier 30003", at),
                new Receipt(s.accountId(), s.messageId(), otherShard, other, "SMfirstsend0002", "failed", "carrier 30003", at),
                new Receipt(s.accountId(), s.messageId(), otherShard, other, "SM" + other.substring(1), "delivered", null, at + 1));
        assertThat(worker.handleRequest(event(both), null).getBatchItemFailures()).isEmpty();
        assertThat(statuses(a, s.messageId())).containsEntry(other, "delivered");
        assertThat(billedMessages(a)).isEqualTo(2);
    }

    @SuppressWarnings("unchecked")
    private static int shardOf(DeliveryFaultsTest.Setup s, String phone) {
        for (var batch : s.queue().deliveries) {
            if (((List<String>) batch.get("phones")).contains(phone)) return ((Number) batch.get("shard")).intValue();
        }
        throw new AssertionError("no job for " + phone);
    }

    @Test
    void aReceiptThatBeatsTheWorkersRecordSettlesTheRowAndItIsBilledOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Receipts Race Co");
        var worker = new ReceiptWorkerHandler(runtime.wiring());
        // The carrier's receipt is applied while the send is still in flight, before the worker can record it.
        var carrier = new ReceiptFirstCarrier(worker);
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        carrier.setup = acceptAndFanOut(a, wiring, 5);
        var s = carrier.setup;
        deliverAll(new DeliveryService(wiring), s);

        assertThat(statuses(a, s.messageId()).values()).containsOnly("delivered").hasSize(5);
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Number>) a.get("/v1/messages/" + s.messageId()).jsonObject().get("counts");
        assertThat(counts.get("delivered").intValue()).isEqualTo(5);
        assertThat(counts.get("sent").intValue()).isZero();
        assertThat(billedMessages(a)).as("billed by the receipts, not again by the worker's record").isEqualTo(5);
        for (var d : allDeliveries(a, s.messageId())) {
            assertThat(d.get("carrierMessageId")).isEqualTo("SM" + ((String) d.get("phone")).substring(1));
        }
    }

    @Test
    void anUnreadableRecordFailsAloneAndTheRestIsApplied(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Receipts Poison Co");
        var s = acceptAndFanOut(a, runtime.wiring().withCarrier(new DeliveryFaultsTest.ScriptedCarrier()), 3);
        deliverAll(new DeliveryService(runtime.wiring().withCarrier(new DeliveryFaultsTest.ScriptedCarrier())), s);
        @SuppressWarnings("unchecked")
        var batch = (Map<String, Object>) s.queue().deliveries.getFirst();
        @SuppressWarnings("unchecked")
        String phone = ((List<String>) batch.get("phones")).getFirst();
        var good = new Receipt(s.accountId(), s.messageId(), ((Number) batch.get("shard")).intValue(), phone, null,
                "delivered", null, System.currentTimeMillis());
        SQSEvent event = event(List.of(good));
        var poison = new SQSEvent.SQSMessage();
        poison.setMessageId("poison-" + UUID.randomUUID());
        poison.setBody("{\"accountId\":\"" + s.accountId() + "\",\"status\":\"sent\"}");
        var records = new ArrayList<>(event.getRecords());
        records.add(poison);
        event.setRecords(records);

        var response = new ReceiptWorkerHandler(runtime.wiring()).handleRequest(event, null);
        assertThat(response.getBatchItemFailures()).extracting(SQSBatchResponse.BatchItemFailure::getItemIdentifier)
                .containsExactly(poison.getMessageId());
        assertThat(statuses(a, s.messageId())).containsEntry(phone, "delivered");
    }

    /** Accepts every send and has its delivery receipt applied before answering, i.e. before the worker can record it. */
    static final class ReceiptFirstCarrier implements CarrierPort {
        private final ReceiptWorkerHandler worker;
        volatile DeliveryFaultsTest.Setup setup;

        ReceiptFirstCarrier(ReceiptWorkerHandler worker) {
            this.worker = worker;
        }

        @Override
        public SendResult send(OutboundMessage message) {
            String sid = "SM" + message.to().substring(1);
            int shard = Integer.parseInt(message.statusCallbackUrl().replaceAll(".*[?&]s=(\\d+).*", "$1"));
            var receipt = new Receipt(setup.accountId(), setup.messageId(), shard, message.to(), sid, "delivered", null,
                    System.currentTimeMillis());
            assertThat(worker.handleRequest(event(List.of(receipt)), null).getBatchItemFailures()).isEmpty();
            return new SendResult.Accepted(sid, "queued");
        }
    }

    /**
     * A receipt whose sid is not found yet is looked for again seconds later; the batch's other receipts are applied
     * before that wait, not after it (up to 500 receipts waited five seconds for one callback of a message another
     * system sent from the same carrier account).
     */
    @Test
    void receiptsFoundAreAppliedWithoutWaitingForASidNotFoundYet(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Sid Wait Co");
        Wiring wiring = runtime.wiring().withCarrier(new DeliveryFaultsTest.ScriptedCarrier());
        var s = acceptAndFanOut(a, wiring, 1);
        deliverAll(new DeliveryService(wiring), s);
        String phone = s.phones().getFirst();
        int shard = ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();
        long at = System.currentTimeMillis();
        var routed = new Receipt(s.accountId(), s.messageId(), shard, phone, "SM" + phone.substring(1), "delivered", null, at);
        var notOurs = new Receipt(null, null, -1, "+19995550001", "SM" + "f".repeat(32), "delivered", null, at, false);
        var worker = new ReceiptWorkerHandler(runtime.wiring());
        var answer = new java.util.concurrent.atomic.AtomicReference<SQSBatchResponse>();
        Thread handling = Thread.ofVirtual().start(() -> answer.set(worker.handleRequest(event(List.of(notOurs, routed)), null)));
        long deliveredAt = 0;
        while (deliveredAt == 0 && handling.isAlive()) {
            if ("delivered".equals(statuses(a, s.messageId()).get(phone))) deliveredAt = System.currentTimeMillis();
            else Thread.sleep(50);
        }
        handling.join(20_000);
        assertThat(handling.isAlive()).isFalse();
        assertThat(answer.get()).as("the worker answered").isNotNull();
        assertThat(answer.get().getBatchItemFailures()).isEmpty();
        // before the unknown sid's second look, which comes 5 s after the receipts came (after it, before)
        assertThat(deliveredAt).as("applied while the worker still waited").isPositive()
                .isLessThan(at + 5_000);
        assertThat(statuses(a, s.messageId())).containsEntry(phone, "delivered");
    }

    private static SQSEvent event(List<Receipt> receipts) {
        List<SQSEvent.SQSMessage> records = new ArrayList<>();
        for (Receipt r : receipts) {
            var record = new SQSEvent.SQSMessage();
            record.setMessageId(UUID.randomUUID().toString());
            record.setBody(r.toJson());
            records.add(record);
        }
        var event = new SQSEvent();
        event.setRecords(records);
        return event;
    }

    /**
     * The messages billed to the account (a new one for each test) this month and the month before: a test that runs
     * across midnight on the first of a month has its bills in both.
     */
    static long billedMessages(ApiClient a) {
        return ((Number) usageOfTheTest(a).get("messages")).longValue();
    }

    /**
     * {@code GET /v1/usage} of a test's new account as the test made it: this month's and the month before's, summed
     * (totals, and {@code byKind} and {@code byLine} entries by kind and line), so a test that runs across midnight on
     * the first of a month sees its bills whole. Without that, it is this month's answer as it is.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> usageOfTheTest(ApiClient a) {
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        var before = a.get("/v1/usage?month=" + now.minusMonths(1)).jsonObject();
        var sum = new java.util.LinkedHashMap<>(a.get("/v1/usage?month=" + now).jsonObject());
        sum.replaceAll((field, value) -> switch (value) {
            case Number n -> added(n, (Number) before.get(field));
            case List<?> entries -> mergedBy(field.equals("byKind") ? "kind" : "lineId", (List<Map<String, Object>>) entries,
                    (List<Map<String, Object>>) before.get(field));
            default -> value;
        });
        return sum;
    }

    private static List<Map<String, Object>> mergedBy(String key, List<Map<String, Object>> now, List<Map<String, Object>> before) {
        if (before.isEmpty()) return now;
        var merged = new java.util.LinkedHashMap<Object, Map<String, Object>>();
        for (var entry : before) merged.put(entry.get(key), new java.util.LinkedHashMap<>(entry));
        for (var entry : now) {
            merged.merge(entry.get(key), new java.util.LinkedHashMap<>(entry), (was, is) -> {
                is.replaceAll((field, value) -> value instanceof Number n ? added(n, (Number) was.get(field)) : value);
                return is;
            });
        }
        return new ArrayList<>(merged.values());
    }

    private static Number added(Number a, Number b) {
        long sum = a.longValue() + b.longValue();
        return sum == (int) sum ? (Number) (int) sum : (Number) sum;
    }
}
