package groupmsg.local.carrier;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.CarrierSettings;
import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import groupmsg.carrier.TwilioCarrier;
import groupmsg.carrier.TwilioSignature;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production Twilio adapter, as the runtime's wiring builds it, against the runtime's carrier emulator.
 * Each test uses numbers of its own: the runtime (and its emulator) is shared by every end-to-end test.
 */
@ExtendWith(LocalRuntimeExtension.class)
class CarrierEmulatorE2eTest {

    /** A valid US number nobody else uses in this run. */
    static String uniquePhone() {
        while (true) {
            var random = ThreadLocalRandom.current();
            String phone = "+1" + (random.nextInt(2, 10)) + "0" + random.nextInt(1, 10)
                    + random.nextInt(2, 10) + String.format("%06d", random.nextInt(1_000_000));
            if (CarrierEmulator.isE164(phone)) return phone;
        }
    }

    /** Gives {@code phone} a line rate, as POST /v1/lines stores it (the number's LINEPHONE reservation). */
    static void lineWithMps(LocalRuntime runtime, String phone, int mps) {
        runtime.wiring().dynamo().putItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).item(Map.of(
                "pk", AttributeValue.fromS("LINEPHONE#" + phone), "sk", AttributeValue.fromS("LINEPHONE"),
                "accountId", AttributeValue.fromS("acct_test"), "lineId", AttributeValue.fromS("line_test"),
                "mps", AttributeValue.fromN(String.valueOf(mps)))));
    }

    private static OutboundMessage sms(String from, String to, String body) {
        return new OutboundMessage(from, to, body, List.of(), null);
    }

    @Test
    void theRuntimesWiringUsesTheProductionAdapterPointedAtTheEmulator(LocalRuntime runtime) {
        assertThat(runtime.wiring().carrier()).isInstanceOf(TwilioCarrier.class);
        CarrierSettings settings = runtime.wiring().config().carrier();
        assertThat(settings.apiBaseUrl()).isEqualTo(runtime.baseUrl());
        assertThat(settings.accountSid()).isEqualTo(CarrierEmulator.ACCOUNT_SID);
        assertThat(settings.authToken()).isEqualTo(runtime.settings().twilioAuthToken());
        assertThat(runtime.wiring().config().publicBaseUrl()).isEqualTo(runtime.publicBaseUrl());
    }

    @Test
    void acceptsRecordsAndListsWhatItWasAskedToSend(LocalRuntime runtime, ApiClient api) {
        CarrierPort carrier = runtime.wiring().carrier();
        String from = uniquePhone();
        String otherFrom = uniquePhone();
        String to = uniquePhone();
        String otherTo = uniquePhone();
        lineWithMps(runtime, from, 10);

        SendResult first = carrier.send(new OutboundMessage(from, to, "Rehearsal at 7 ✓",
                List.of("https://cdn.example.com/poster.jpg"), null));
        SendResult second = carrier.send(sms(otherFrom, to, "second"));
        SendResult third = carrier.send(sms(from, otherTo, "third"));

        assertThat(first).isInstanceOfSatisfying(SendResult.Accepted.class, a -> {
            assertThat(a.carrierMessageId()).matches("SM[0-9a-f]{32}");
            assertThat(a.status()).isEqualTo("queued");
        });
        assertThat(second).isInstanceOf(SendResult.Accepted.class);
        assertThat(third).isInstanceOf(SendResult.Accepted.class);

        ApiClient.Response toList = api.withoutKey().get("/local/carrier/messages?to=" + to);
        assertThat(toList.status()).isEqualTo(200);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> items = (List<Map<String, Object>>) toList.jsonObject().get("items");
        assertThat(items).extracting(i -> i.get("body")).containsExactly("Rehearsal at 7 ✓", "second");
        Map<String, Object> item = items.get(0);
        assertThat(item).containsEntry("sid", ((SendResult.Accepted) first).carrierMessageId())
                .containsEntry("from", from).containsEntry("to", to)
                .containsEntry("mediaUrls", List.of("https://cdn.example.com/poster.jpg"));
        assertThat((String) item.get("status")).isIn("queued", "sent", "delivered");
        assertThat((String) item.get("createdAt")).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> fromList = (List<Map<String, Object>>) api.withoutKey()
                .get("/local/carrier/messages?from=%2B" + from.substring(1)).jsonObject().get("items");
        assertThat(fromList).extracting(i -> i.get("body")).containsExactly("Rehearsal at 7 ✓", "third");

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> both = (List<Map<String, Object>>) api.withoutKey()
                .get("/local/carrier/messages?to=" + to + "&from=" + from).jsonObject().get("items");
        assertThat(both).extracting(i -> i.get("body")).containsExactly("Rehearsal at 7 ✓");
    }

    @Test
    void anUnknownSenderGetsOneMessagePerSecond(LocalRuntime runtime, ApiClient api) throws InterruptedException {
        CarrierPort carrier = runtime.wiring().carrier();
        String from = uniquePhone();

        var results = new ArrayList<SendResult>();
        for (int i = 0; i < 3; i++) results.add(carrier.send(sms(from, uniquePhone(), "burst " + i)));

        assertThat(results.get(0)).isInstanceOf(SendResult.Accepted.class);
        assertThat(results.subList(1, 3)).allSatisfy(r -> assertThat(r)
                .isEqualTo(new SendResult.Rejected(429, "20429", "Too Many Requests", true, false)));
        Map<String, Object> listed = api.withoutKey().get("/local/carrier/messages?from=" + from).jsonObject();
        assertThat((List<?>) listed.get("items")).hasSize(1);
        assertThat(listed).containsEntry("rejected", 2).containsEntry("rateLimited", 2);

        Thread.sleep(1_050);
        assertThat(carrier.send(sms(from, uniquePhone(), "after a second"))).isInstanceOf(SendResult.Accepted.class);
    }

    @Test
    void aLinesMpsFromTheCoreTableSetsItsRate(LocalRuntime runtime) {
        String from = uniquePhone();
        lineWithMps(runtime, from, 3);
        CarrierPort carrier = runtime.wiring().carrier();

        var results = new ArrayList<SendResult>();
        for (int i = 0; i < 4; i++) results.add(carrier.send(sms(from, uniquePhone(), "m" + i)));

        assertThat(results.subList(0, 3)).allSatisfy(r -> assertThat(r).isInstanceOf(SendResult.Accepted.class));
        assertThat(results.get(3)).isInstanceOfSatisfying(SendResult.Rejected.class, r -> {
            assertThat(r.httpStatus()).isEqualTo(429);
            assertThat(r.retryable()).isTrue();
        });
    }

    @Test
    void wrongCredentialsAre401AndARefusalOfTheSender(LocalRuntime runtime, ApiClient api) {
        var wrong = new TwilioCarrier(new CarrierSettings(runtime.baseUrl(), CarrierEmulator.ACCOUNT_SID, "not-the-token"));
        String to = uniquePhone();

        assertThat(wrong.send(sms(uniquePhone(), to, "hi")))
                .isEqualTo(new SendResult.Rejected(401, "20003", "Authenticate", false, false, true));

        ApiClient.Response raw = api.withoutKey().send("POST", "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID
                + "/Messages.json", "application/x-www-form-urlencoded", "To=%2B14155550123&From=%2B14155550100&Body=x");
        assertThat(raw.status()).isEqualTo(401);
        assertThat(raw.header("www-authenticate")).isEqualTo("Basic realm=\"Twilio API\"");
        assertThat(raw.jsonObject()).containsEntry("code", 20003).containsEntry("status", 401);
        assertThat((List<?>) api.withoutKey().get("/local/carrier/messages?to=" + to).jsonObject().get("items")).isEmpty();
    }

    @Test
    void invalidNumbersAreTwiliosNonRetryable400s(LocalRuntime runtime) {
        CarrierPort carrier = runtime.wiring().carrier();

        assertThat(carrier.send(sms(uniquePhone(), "+1415", "hi"))).isInstanceOfSatisfying(SendResult.Rejected.class, r -> {
            assertThat(r.httpStatus()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("21211");
            assertThat(r.retryable()).isFalse();
        });
        assertThat(carrier.send(sms("sender", uniquePhone(), "hi"))).isInstanceOfSatisfying(SendResult.Rejected.class,
                r -> assertThat(r.errorCode()).isEqualTo("21212"));
    }

    /** Twilio's loop guard (14107): the 31st of a chain of quick messages between two numbers is taken, then fails. */
    @Test
    void theMessageThatTakesAChainOfQuickOnesPastThirtyFailsAsALoop(LocalRuntime runtime) throws Exception {
        try (var catcher = new WebhookCatcher()) {
            String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_x&m=msg_x&s=0";
            String from = uniquePhone();
            String to = uniquePhone();
            lineWithMps(runtime, from, 100);
            for (int i = 1; i <= 31; i++) {
                assertThat(runtime.wiring().carrier().send(new OutboundMessage(from, to, "tick " + i, List.of(), i == 31 ? callback : null)))
                        .as("taken at the send, as Twilio takes it").isInstanceOf(SendResult.Accepted.class);
            }
            assertThat(catcher.await(1, Duration.ofSeconds(10))).singleElement().satisfies(call -> {
                assertThat(call.field("MessageStatus")).isEqualTo("failed");
                assertThat(call.field("ErrorCode")).isEqualTo("14107");
            });
            var sent = runtime.carrierEmulator().messages(to, from);
            assertThat(sent).hasSize(31);
            assertThat(sent.getLast().statusHistory()).as("never sent").containsExactly("queued", "failed");
            assertThat(sent.subList(0, 30)).allSatisfy(m -> assertThat(m.failure()).isNull());
        }
    }

    @Test
    void statusCallbacksArriveSignedSentThenDelivered(LocalRuntime runtime) throws Exception {
        try (var catcher = new WebhookCatcher()) {
            String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_x&m=msg_x&s=0";
            String from = uniquePhone();
            String to = uniquePhone();

            SendResult result = runtime.wiring().carrier().send(new OutboundMessage(from, to, "status please",
                    List.of(), callback));

            assertThat(result).isInstanceOf(SendResult.Accepted.class);
            String sid = ((SendResult.Accepted) result).carrierMessageId();
            List<WebhookCatcher.Caught> calls = catcher.await(2, Duration.ofSeconds(10));
            assertThat(calls).extracting(c -> c.field("MessageStatus")).containsExactly("sent", "delivered");
            for (WebhookCatcher.Caught call : calls) {
                assertThat(TwilioSignature.verify(callback, call.form(), runtime.settings().twilioAuthToken(),
                        call.signature())).isTrue();
                assertThat(call.field("MessageSid")).isEqualTo(sid);
                assertThat(call.field("From")).isEqualTo(from);
                assertThat(call.field("To")).isEqualTo(to);
            }
            assertThat(runtime.carrierEmulator().messages(to, from)).singleElement()
                    .satisfies(m -> assertThat(m.status()).isEqualTo("delivered"));
        }
    }

    @Test
    void inboundIsValidatedAndAccepted(LocalRuntime runtime, ApiClient api) throws InterruptedException {
        ApiClient client = api.withoutKey();
        String phone = uniquePhone();
        String line = uniquePhone();

        assertThat(client.send("POST", "/local/carrier/inbound", "application/json", "{not json").errorCode())
                .isEqualTo("invalid_request");
        assertThat(client.send("POST", "/local/carrier/inbound", "application/json", "[]").status()).isEqualTo(400);
        var noFrom = client.post("/local/carrier/inbound", Map.of("to", line, "body", "hi"));
        assertThat(noFrom.errorCode()).isEqualTo("invalid_request");
        assertThat(noFrom.jsonObject().get("error")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("message", "from is required (the phone's number in E.164)");
        assertThat(client.post("/local/carrier/inbound", Map.of("from", "555-0100", "to", line, "body", "hi")).status())
                .isEqualTo(400);
        assertThat(client.post("/local/carrier/inbound", Map.of("from", phone, "to", "+1", "body", "hi")).status())
                .isEqualTo(400);
        assertThat(client.post("/local/carrier/inbound", Map.of("from", phone, "to", line)).status()).isEqualTo(400);
        assertThat(client.post("/local/carrier/inbound", Map.of("from", phone, "to", line, "body", 5)).status())
                .isEqualTo(400);
        assertThat(client.post("/local/carrier/inbound", Map.of("from", phone, "to", line, "body", "x".repeat(1601))).status())
                .isEqualTo(400);
        ApiClient.Response bad = client.post("/local/carrier/inbound", Map.of("from", "nope", "to", "nope", "body", "hi"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> details = (List<Map<String, Object>>) ((Map<String, Object>) bad.jsonObject().get("error")).get("details");
        assertThat(details).extracting(d -> d.get("field")).containsExactly("from", "to");

        ApiClient.Response accepted = client.post("/local/carrier/inbound", Map.of("from", phone, "to", line, "body", "HELP"));
        assertThat(accepted.status()).isEqualTo(202);
        assertThat(accepted.jsonObject()).containsEntry("from", phone).containsEntry("to", line)
                .containsEntry("webhookUrl", runtime.publicBaseUrl() + "/webhooks/twilio/inbound");

        // The webhook goes to the runtime's own /webhooks/twilio/inbound (whatever that answers today).
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        EmulatedInbound recorded = null;
        while (System.nanoTime() < deadline) {
            recorded = runtime.carrierEmulator().inboundMessages().stream().filter(m -> m.from().equals(phone))
                    .findFirst().orElse(null);
            if (recorded != null && recorded.webhookStatus() != null) break;
            Thread.sleep(20);
        }
        assertThat(recorded).isNotNull();
        assertThat(recorded.webhookStatus()).isNotNull().isPositive();
    }
}
