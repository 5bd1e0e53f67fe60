package groupmsg.messages;

import groupmsg.e2e.StatusWebhookE2eTest;
import groupmsg.e2e.TwilioWebhooks;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.local.QueueCounts;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A status callback posted to the bare {@code /webhooks/twilio/status} (API.md: Twilio's fields; a Messaging Service's
 * own status callback has none of our URL's parameters) is applied to the row its {@code MessageSid} was recorded on,
 * found through the deliveries table's {@code sid} index: through the webhook, the receipts queue and the receipt
 * worker, against DynamoDB Local and ElasticMQ. One for another number, or for a sid no row has, changes nothing.
 */
@ExtendWith(LocalRuntimeExtension.class)
class StatusCallbackBySidE2eTest {
    private static final String PATH = "/webhooks/twilio/status";

    @Test
    void aCallbackWithoutOurParametersIsAppliedToTheRowOfItsSid(ApiClient api, LocalRuntime runtime) throws Exception {
        var store = new DeliveryStore(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.DELIVERIES));
        String run = UUID.randomUUID().toString().replace("-", "");
        String messageId = "msg_sid_" + run;
        String a = "+16175570001", b = "+16175570002", c = "+16175570003";
        String sidA = "SM" + run + "a", sidB = "SM" + run + "b", sidC = "SM" + run + "c";
        store.insertQueued("acct_sid_" + run, messageId, 1, List.of(a, b, c), 1_000L);
        store.apply(messageId, 0, List.of(
                new DeliveryStore.Transition(a, Delivery.QUEUED, Delivery.SENDING, null, null, 2_000L),
                new DeliveryStore.Transition(b, Delivery.QUEUED, Delivery.SENDING, null, null, 2_000L),
                new DeliveryStore.Transition(c, Delivery.QUEUED, Delivery.SENDING, null, null, 2_000L)));
        store.apply(messageId, 0, List.of(
                new DeliveryStore.Transition(a, Delivery.SENDING, Delivery.SENT, sidA, null, 3_000L),
                new DeliveryStore.Transition(b, Delivery.SENDING, Delivery.SENT, sidB, null, 3_000L),
                new DeliveryStore.Transition(c, Delivery.SENDING, Delivery.SENT, sidC, null, 3_000L)));

        // Twilio's fields only; the last names no number, and the sid alone finds its row
        assertThat(post(api, runtime, Map.of("MessageSid", sidA, "To", a, "MessageStatus", "delivered"))).isEqualTo(200);
        assertThat(post(api, runtime, Map.of("MessageSid", sidB, "To", c, "MessageStatus", "failed", "ErrorCode", "30003"))).isEqualTo(200);
        assertThat(post(api, runtime, Map.of("MessageSid", "SM" + run + "x", "To", a, "MessageStatus", "failed"))).isEqualTo(200);
        assertThat(post(api, runtime, Map.of("MessageSid", sidC, "MessageStatus", "undelivered", "ErrorCode", "30003"))).isEqualTo(200);
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime); // and none waits to be tried again

        var rows = store.rows(messageId, 0, List.of(a, b, c));
        assertThat(Attr.str(rows.get(a), "status")).isEqualTo(Delivery.DELIVERED);
        assertThat(Attr.str(rows.get(b), "status")).as("a sid with another number's To").isEqualTo(Delivery.SENT);
        assertThat(Attr.str(rows.get(c), "status")).isEqualTo(Delivery.FAILED);
        assertThat(Attr.str(rows.get(c), "error")).isEqualTo("carrier 30003");
        var counts = store.counts(messageId, 1);
        assertThat(counts).containsEntry(Delivery.DELIVERED, 1L).containsEntry(Delivery.SENT, 1L).containsEntry(Delivery.FAILED, 1L);

        // the same callback again (Twilio retries) changes nothing more
        assertThat(post(api, runtime, Map.of("MessageSid", sidC, "MessageStatus", "delivered"))).isEqualTo(200);
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);
        assertThat(Attr.str(store.rows(messageId, 0, List.of(c)).get(c), "status")).isEqualTo(Delivery.FAILED);
    }

    /** A callback that beats the worker's record of the sid is looked for again a few seconds after it came. */
    @Test
    void aCallbackThatBeatsTheRecordOfItsSidIsAppliedOnceTheSidIsRecorded(ApiClient api, LocalRuntime runtime) throws Exception {
        var store = new DeliveryStore(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.DELIVERIES));
        String run = UUID.randomUUID().toString().replace("-", "");
        String messageId = "msg_sid_" + run, phone = "+16175570011", sid = "SM" + run + "d";
        store.insertQueued("acct_sid_" + run, messageId, 1, List.of(phone), 1_000L);
        store.apply(messageId, 0, List.of(new DeliveryStore.Transition(phone, Delivery.QUEUED, Delivery.SENDING, null, null, 2_000L)));

        long posted = System.currentTimeMillis();
        assertThat(post(api, runtime, Map.of("MessageSid", sid, "To", phone, "MessageStatus", "delivered"))).isEqualTo(200);
        awaitTakenByTheWorker(runtime); // and looked for at once, found nothing: it waits for the second look
        assertThat(Attr.str(store.rows(messageId, 0, List.of(phone)).get(phone), "status")).as("nothing applied before the sid is recorded")
                .isEqualTo(Delivery.SENDING);
        // recorded before the worker's second look (5 s after the callback came), or this tests nothing of it
        assertThat(System.currentTimeMillis() - posted).isLessThan(4_000);
        store.apply(messageId, 0, List.of(new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.SENT, sid, null, 3_000L)));
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);

        assertThat(Attr.str(store.rows(messageId, 0, List.of(phone)).get(phone), "status")).isEqualTo(Delivery.DELIVERED);
    }

    /**
     * Until the receipts queue has no message waiting and one taken (the worker holds it through its wait for the
     * second look), then the queue's second of batching window and a little more: the worker's first look, a read as
     * soon as its batch is handed to it, is done by then.
     */
    private static void awaitTakenByTheWorker(LocalRuntime runtime) throws InterruptedException {
        for (long deadline = System.currentTimeMillis() + 3_000; System.currentTimeMillis() < deadline; Thread.sleep(20)) {
            var receipts = QueueCounts.of(runtime, "receipts");
            if (receipts.waiting() == 0 && receipts.inFlight() > 0) {
                Thread.sleep(1_300);
                return;
            }
        }
        throw new AssertionError("the receipts worker did not take the callback within 3 s");
    }

    private static int post(ApiClient api, LocalRuntime runtime, Map<String, String> params) {
        return TwilioWebhooks.post(api, runtime, PATH, params, null).status();
    }
}
