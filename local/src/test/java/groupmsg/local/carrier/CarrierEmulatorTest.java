package groupmsg.local.carrier;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.carrier.TwilioSignature;
import groupmsg.local.GatewayRequest;
import groupmsg.local.GatewayResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The emulator on its own (no runtime): REST dialect, validation, rates, signed webhooks. */
class CarrierEmulatorTest {
    private static final String TOKEN = "unit-test-token";
    private static final String PATH = "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID + "/Messages.json";
    private static final String FROM = "+14155550100";
    private static final String TO = "+14155550123";
    private static final String PUBLIC = "https://groupmsg.example.com";

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final Map<String, Double> rates = new LinkedHashMap<>();
    private WebhookCatcher catcher;
    private CarrierEmulator emulator;

    @BeforeEach
    void start() throws IOException {
        catcher = new WebhookCatcher();
        // The "runtime" is the catcher: webhooks to the public base URL are delivered there.
        emulator = new CarrierEmulator(new CarrierEmulator.Settings(CarrierEmulator.ACCOUNT_SID, TOKEN, PUBLIC,
                catcher.baseUrl(), Duration.ofMillis(20)),
                from -> rates.getOrDefault(from, SenderRates.DEFAULT_MPS), Clock.systemUTC(), nanos::get);
    }

    @AfterEach
    void stop() {
        emulator.close();
        catcher.close();
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static GatewayRequest request(String method, String path, String query, String authorization,
                                          String contentType, String body) {
        var headers = new LinkedHashMap<String, List<String>>();
        if (authorization != null) headers.put("Authorization", List.of(authorization));
        if (contentType != null) headers.put("Content-Type", List.of(contentType));
        return new GatewayRequest(method, path, query, headers,
                body == null ? null : body.getBytes(StandardCharsets.UTF_8), "127.0.0.1", "HTTP/1.1");
    }

    private GatewayResponse create(Map<String, List<String>> form) {
        return emulator.handleRestApi(request("POST", PATH, null, basic(CarrierEmulator.ACCOUNT_SID, TOKEN),
                "application/x-www-form-urlencoded", Form.encode(form)));
    }

    private static Map<String, List<String>> form(String... pairs) {
        var form = new LinkedHashMap<String, List<String>>();
        for (int i = 0; i < pairs.length; i += 2) {
            form.computeIfAbsent(pairs[i], k -> new ArrayList<>()).add(pairs[i + 1]);
        }
        return form;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(GatewayResponse response) throws IOException {
        return (Map<String, Object>) JSON.std.anyFrom(response.bodyText());
    }

    private static void assertTwilioError(GatewayResponse response, int status, int code) throws IOException {
        assertThat(response.status()).as(response.bodyText()).isEqualTo(status);
        Map<String, Object> body = json(response);
        assertThat(body).containsEntry("code", code).containsEntry("status", status)
                .containsEntry("more_info", "https://www.twilio.com/docs/errors/" + code)
                .containsKey("message");
    }

    @Test
    void acceptsAMessageWithTwiliosResource() throws IOException {
        GatewayResponse response = create(form("To", TO, "From", FROM, "Body", "Hello ✓",
                "MediaUrl", "https://cdn.example.com/a.jpg", "MediaUrl", "https://cdn.example.com/b.png"));

        assertThat(response.status()).isEqualTo(201);
        assertThat(response.firstHeader("content-type")).startsWith("application/json");
        Map<String, Object> body = json(response);
        assertThat((String) body.get("sid")).matches("SM[0-9a-f]{32}");
        assertThat(body).containsEntry("account_sid", CarrierEmulator.ACCOUNT_SID)
                .containsEntry("from", FROM).containsEntry("to", TO).containsEntry("body", "Hello ✓")
                .containsEntry("status", "queued").containsEntry("num_media", "2").containsEntry("num_segments", "1")
                .containsEntry("direction", "outbound-api").containsEntry("api_version", "2010-04-01")
                .containsEntry("error_code", null).containsEntry("price", null)
                .containsEntry("uri", "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID + "/Messages/" + body.get("sid") + ".json");
        assertThat((String) body.get("date_created")).matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000");

        List<EmulatedMessage> recorded = emulator.messages(TO, FROM);
        assertThat(recorded).singleElement().satisfies(m -> {
            assertThat(m.sid()).isEqualTo(body.get("sid"));
            assertThat(m.mediaUrls()).containsExactly("https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png");
        });
    }

    @Test
    void countsSegmentsLikeACarrier() throws IOException {
        assertThat(json(create(form("To", TO, "From", FROM, "Body", "x".repeat(161))))).containsEntry("num_segments", "2");
        nanos.addAndGet(2_000_000_000L); // its two segments, a second each at 1 mps
        assertThat(json(create(form("To", TO, "From", FROM, "Body", "é✓".repeat(40))))).containsEntry("num_segments", "2");
    }

    @Test
    void requiresTheAccountsCredentials() throws IOException {
        String body = Form.encode(form("To", TO, "From", FROM, "Body", "hi"));
        for (String auth : new String[]{null, basic(CarrierEmulator.ACCOUNT_SID, "wrong"),
                basic("AC11111111111111111111111111111111", TOKEN), "Bearer " + TOKEN, "Basic !!!"}) {
            GatewayResponse response = emulator.handleRestApi(request("POST", PATH, null, auth,
                    "application/x-www-form-urlencoded", body));
            assertTwilioError(response, 401, 20003);
            assertThat(response.firstHeader("www-authenticate")).isEqualTo("Basic realm=\"Twilio API\"");
        }
        assertThat(emulator.messages(null, null)).isEmpty();
    }

    @Test
    void otherResourcesAndMethods() throws IOException {
        String auth = basic(CarrierEmulator.ACCOUNT_SID, TOKEN);
        assertTwilioError(emulator.handleRestApi(request("POST",
                "/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages.json", null, auth, null, "")), 404, 20404);
        assertTwilioError(emulator.handleRestApi(request("GET", "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID
                + "/Calls.json", null, auth, null, null)), 404, 20404);
        assertTwilioError(emulator.handleRestApi(request("DELETE", PATH, null, auth, null, null)), 405, 20004);
        assertTwilioError(emulator.handleRestApi(request("GET", "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID
                + "/Messages/SM00000000000000000000000000000000.json", null, auth, null, null)), 404, 20404);
    }

    @Test
    void readsMessagesBackLikeTwilio() throws IOException {
        String first = (String) json(create(form("To", TO, "From", FROM, "Body", "one"))).get("sid");
        nanos.addAndGet(1_000_000_000L);
        String second = (String) json(create(form("To", "+14155550124", "From", FROM, "Body", "two"))).get("sid");
        String auth = basic(CarrierEmulator.ACCOUNT_SID, TOKEN);

        GatewayResponse fetched = emulator.handleRestApi(request("GET", "/2010-04-01/Accounts/"
                + CarrierEmulator.ACCOUNT_SID + "/Messages/" + first + ".json", null, auth, null, null));
        assertThat(fetched.status()).isEqualTo(200);
        assertThat(json(fetched)).containsEntry("sid", first).containsEntry("body", "one");

        GatewayResponse listed = emulator.handleRestApi(request("GET", PATH, "From=%2B14155550100", auth, null, null));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> page = (List<Map<String, Object>>) json(listed).get("messages");
        assertThat(page).extracting(m -> m.get("sid")).containsExactly(second, first);
        GatewayResponse filtered = emulator.handleRestApi(request("GET", PATH, "To=+14155550124", auth, null, null));
        assertThat((List<?>) json(filtered).get("messages")).hasSize(1);
    }

    @Test
    void validatesLikeTwilio() throws IOException {
        assertTwilioError(create(form("From", FROM, "Body", "hi")), 400, 21604);
        assertTwilioError(create(form("To", TO, "Body", "hi")), 400, 21603);
        assertTwilioError(create(form("To", TO, "From", FROM)), 400, 21602);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "")), 400, 21602);
        assertTwilioError(create(form("To", "12345", "From", FROM, "Body", "hi")), 400, 21211);
        assertTwilioError(create(form("To", "+1415555", "From", FROM, "Body", "hi")), 400, 21211);
        assertTwilioError(create(form("To", "4155550123", "From", FROM, "Body", "hi")), 400, 21211);
        assertTwilioError(create(form("To", TO, "From", "+1", "Body", "hi")), 400, 21212);
        assertTwilioError(create(form("To", TO, "From", TO, "Body", "hi")), 400, 21266);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "x".repeat(1601))), 400, 21617);
        var media = new ArrayList<String>();
        for (int i = 0; i < 11; i++) media.add("https://cdn.example.com/" + i + ".jpg");
        var tooMany = form("To", TO, "From", FROM, "Body", "hi");
        tooMany.put("MediaUrl", media);
        assertTwilioError(create(tooMany), 400, 21623);
        assertTwilioError(create(form("To", TO, "From", FROM, "MediaUrl", "ftp://x/y.jpg")), 400, 21620);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "hi", "StatusCallback", "not a url")), 400, 21609);
        assertTwilioError(emulator.handleRestApi(request("POST", PATH, null, basic(CarrierEmulator.ACCOUNT_SID, TOKEN),
                "application/x-www-form-urlencoded", "To=%ZZ")), 400, 20001);
        assertThat(emulator.messages(null, null)).isEmpty();
        assertThat(emulator.rejections(null, null)).hasSize(14).allSatisfy(r -> assertThat(r.httpStatus()).isEqualTo(400));

        // Media alone is a message; short codes may send.
        assertThat(create(form("To", TO, "From", FROM, "MediaUrl", "https://cdn.example.com/a.jpg")).status()).isEqualTo(201);
        assertThat(create(form("To", TO, "From", "12345", "Body", "hi")).status()).isEqualTo(201);
    }

    @Test
    void enforcesEachSendersRateOverASlidingSecond() throws IOException {
        assertThat(create(form("To", TO, "From", FROM, "Body", "1")).status()).isEqualTo(201);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "2")), 429, 20429);
        // Another sender has its own window.
        assertThat(create(form("To", TO, "From", "+14155550101", "Body", "x")).status()).isEqualTo(201);
        nanos.addAndGet(999_000_000L);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "3")), 429, 20429);
        nanos.addAndGet(1_000_000L);
        assertThat(create(form("To", TO, "From", FROM, "Body", "4")).status()).isEqualTo(201);

        assertThat(emulator.messages(null, FROM)).extracting(EmulatedMessage::body).containsExactly("1", "4");
        assertThat(emulator.rejections(null, FROM)).extracting(CarrierEmulator.Rejection::code).containsExactly(20429, 20429);
    }

    @Test
    void aFasterLineTakesMorePerSecondAndASlowerOneFewer() throws IOException {
        rates.put(FROM, 3.0);
        for (int i = 0; i < 3; i++) assertThat(create(form("To", TO, "From", FROM, "Body", "m" + i)).status()).isEqualTo(201);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "m3")), 429, 20429);
        nanos.addAndGet(500_000_000L);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "m4")), 429, 20429);
        nanos.addAndGet(500_000_000L);
        assertThat(create(form("To", TO, "From", FROM, "Body", "m5")).status()).isEqualTo(201);

        String slow = "+14155550102";
        rates.put(slow, 0.5);
        assertThat(create(form("To", TO, "From", slow, "Body", "s1")).status()).isEqualTo(201);
        nanos.addAndGet(1_500_000_000L);
        assertTwilioError(create(form("To", TO, "From", slow, "Body", "s2")), 429, 20429);
        nanos.addAndGet(500_000_000L);
        assertThat(create(form("To", TO, "From", slow, "Body", "s3")).status()).isEqualTo(201);
    }

    /** The rate counts segments, as the carrier's MPS does: a long text takes a slow line as long as its parts. */
    @Test
    void theRateCountsSegmentsOneAfterAnother() throws IOException {
        String threeParts = "x".repeat(400); // 3 GSM-7 segments of 153
        assertThat(create(form("To", TO, "From", FROM, "Body", threeParts)).status()).isEqualTo(201);
        // 1 mps: its segments leave at 0, 1 and 2 s; nothing more fits before 3 s
        nanos.addAndGet(2_999_000_000L);
        assertTwilioError(create(form("To", TO, "From", FROM, "Body", "short")), 429, 20429);
        nanos.addAndGet(1_000_000L);
        assertThat(create(form("To", TO, "From", FROM, "Body", "short")).status()).isEqualTo(201);
        // an MMS is one, whatever its text
        nanos.addAndGet(1_000_000_000L);
        assertThat(create(form("To", TO, "From", FROM, "Body", threeParts, "MediaUrl", "https://cdn.example.com/a.jpg")).status()).isEqualTo(201);
        nanos.addAndGet(1_000_000_000L);
        assertThat(create(form("To", TO, "From", FROM, "Body", "after the MMS")).status()).isEqualTo(201);

        // 2 mps: two segments fill a second, the second leaving half a second after the first
        String fast = "+14155550103";
        rates.put(fast, 2.0);
        assertThat(create(form("To", TO, "From", fast, "Body", "y".repeat(200))).status()).isEqualTo(201);
        nanos.addAndGet(600_000_000L);
        assertTwilioError(create(form("To", TO, "From", fast, "Body", "a third in that second")), 429, 20429);
        nanos.addAndGet(400_000_000L);
        assertThat(create(form("To", TO, "From", fast, "Body", "one second on")).status()).isEqualTo(201);
        // a 2-segment text waits as long, then takes the next second whole
        assertTwilioError(create(form("To", TO, "From", fast, "Body", "z".repeat(200))), 429, 20429);
        nanos.addAndGet(500_000_000L);
        assertThat(create(form("To", TO, "From", fast, "Body", "z".repeat(200))).status()).isEqualTo(201);

        // one a little early, while the segments before it still leave, is taken when the second has room for it
        String faster = "+14155550104";
        rates.put(faster, 20.0);
        assertThat(create(form("To", TO, "From", faster, "Body", "a".repeat(200))).status()).isEqualTo(201);
        nanos.addAndGet(40_000_000L);
        assertThat(create(form("To", TO, "From", faster, "Body", "b".repeat(200))).status()).isEqualTo(201);
        // ... but not one whose segments would crowd a second with those still to leave
        String slowLong = "+14155550105";
        rates.put(slowLong, 1.0);
        assertThat(create(form("To", TO, "From", slowLong, "Body", "c".repeat(400))).status()).isEqualTo(201);
        nanos.addAndGet(1_500_000_000L);
        assertTwilioError(create(form("To", TO, "From", slowLong, "Body", "short")), 429, 20429);
    }

    @Test
    void sendsSignedStatusCallbacksSentThenDelivered() throws Exception {
        String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_1&m=msg_1&s=7";
        String sid = (String) json(create(form("To", TO, "From", FROM, "Body", "hi", "StatusCallback", callback))).get("sid");

        List<WebhookCatcher.Caught> calls = catcher.await(2, Duration.ofSeconds(5));

        assertThat(calls).hasSize(2);
        assertThat(calls).extracting(c -> c.field("MessageStatus")).containsExactly("sent", "delivered");
        for (WebhookCatcher.Caught call : calls) {
            assertThat(call.method()).isEqualTo("POST");
            assertThat(call.pathAndQuery()).isEqualTo("/webhooks/twilio/status?a=acct_1&m=msg_1&s=7");
            assertThat(call.contentType()).startsWith("application/x-www-form-urlencoded");
            assertThat(TwilioSignature.verify(callback, call.form(), TOKEN, call.signature())).isTrue();
            assertThat(TwilioSignature.verify(callback, call.form(), "other-token", call.signature())).isFalse();
            assertThat(call.field("MessageSid")).isEqualTo(sid);
            assertThat(call.field("SmsSid")).isEqualTo(sid);
            assertThat(call.field("SmsStatus")).isEqualTo(call.field("MessageStatus"));
            assertThat(call.field("AccountSid")).isEqualTo(CarrierEmulator.ACCOUNT_SID);
            assertThat(call.field("From")).isEqualTo(FROM);
            assertThat(call.field("To")).isEqualTo(TO);
            assertThat(call.field("ApiVersion")).isEqualTo("2010-04-01");
        }
        EmulatedMessage message = emulator.messages(TO, FROM).get(0);
        assertThat(message.status()).isEqualTo("delivered");
        assertThat(message.statusHistory()).containsExactly("queued", "sent", "delivered");
    }

    @Test
    void twiliosMagicNumbersAreRefusedAsTwilioRefusesThem() throws IOException {
        assertTwilioError(create(form("To", "+15005550001", "From", FROM, "Body", "hi")), 400, 21211);
        assertTwilioError(create(form("To", "+15005550002", "From", FROM, "Body", "hi")), 400, 21612);
        assertTwilioError(create(form("To", "+15005550003", "From", FROM, "Body", "hi")), 400, 21408);
        assertTwilioError(create(form("To", "+15005550004", "From", FROM, "Body", "hi")), 400, 21610);
        assertTwilioError(create(form("To", "+15005550009", "From", FROM, "Body", "hi")), 400, 21614);
        assertThat(emulator.messages(null, null)).isEmpty();
        assertThat(emulator.rejections(null, FROM)).hasSize(5);
        // the other numbers of the range are numbers like any
        assertThat(create(form("To", "+15005550006", "From", FROM, "Body", "hi")).status()).isEqualTo(201);
    }

    @Test
    void twiliosMagicFromNumbersAreRefusedWhateverTheRecipient() throws IOException {
        assertTwilioError(create(form("To", "+14155550123", "From", "+15005550001", "Body", "hi")), 400, 21212);
        assertTwilioError(create(form("To", "+14155550123", "From", "+15005550007", "Body", "hi")), 400, 21606);
        assertTwilioError(create(form("To", "+14155550123", "From", "+15005550008", "Body", "hi")), 400, 21611);
        assertThat(emulator.messages(null, null)).isEmpty();
        // the range's other numbers send like any
        assertThat(create(form("To", "+14155550123", "From", "+15005550006", "Body", "hi")).status()).isEqualTo(201);
    }

    @Test
    void aLandlineIsSentThenUndeliveredWithItsErrorCodeInTheCallbackAndTheResource() throws Exception {
        String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_1&m=msg_1&s=0";
        String sid = (String) json(create(form("To", "+15005550030", "From", FROM, "Body", "hi", "StatusCallback", callback))).get("sid");

        List<WebhookCatcher.Caught> calls = catcher.await(2, Duration.ofSeconds(5));
        assertThat(calls).extracting(c -> c.field("MessageStatus")).containsExactly("sent", "undelivered");
        assertThat(calls.get(0).field("ErrorCode")).isNull();
        assertThat(calls.get(1).field("ErrorCode")).isEqualTo("30006");
        assertThat(TwilioSignature.verify(callback, calls.get(1).form(), TOKEN, calls.get(1).signature())).isTrue();
        EmulatedMessage message = emulator.messages("+15005550030", FROM).get(0);
        assertThat(message.statusHistory()).containsExactly("queued", "sent", "undelivered");
        var resource = json(emulator.handleRestApi(request("GET", "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID
                + "/Messages/" + sid + ".json", null, basic(CarrierEmulator.ACCOUNT_SID, TOKEN), null, "")));
        assertThat(resource).containsEntry("status", "undelivered").containsEntry("error_code", 30006);
    }

    /** Twilio fails a send from a sender not registered for US traffic without sending it: "failed" is its one change. */
    @Test
    void anUnregisteredSendersMessageFailsWithoutBeingSent() throws Exception {
        rates.put(FROM, 10.0); // two sends in a row
        int callbacks = 0;
        for (var number : Map.of("+15005550033", "30034", "+15005550034", "30032").entrySet()) {
            callbacks++;
            String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_1&m=msg_" + number.getValue() + "&s=0";
            String sid = (String) json(create(form("To", number.getKey(), "From", FROM, "Body", "hi", "StatusCallback", callback))).get("sid");
            List<WebhookCatcher.Caught> calls = catcher.await(callbacks, Duration.ofSeconds(5)).stream()
                    .filter(c -> sid.equals(c.field("MessageSid"))).toList();
            assertThat(calls).extracting(c -> c.field("MessageStatus")).containsExactly("failed");
            assertThat(calls.getFirst().field("ErrorCode")).isEqualTo(number.getValue());
            EmulatedMessage message = emulator.messages(number.getKey(), FROM).get(0);
            assertThat(message.statusHistory()).containsExactly("queued", "failed");
            var resource = json(emulator.handleRestApi(request("GET", "/2010-04-01/Accounts/" + CarrierEmulator.ACCOUNT_SID
                    + "/Messages/" + sid + ".json", null, basic(CarrierEmulator.ACCOUNT_SID, TOKEN), null, "")));
            assertThat(resource).containsEntry("status", "failed").containsEntry("error_code", Integer.valueOf(number.getValue()));
        }
        Thread.sleep(300); // no "sent" or "delivered" comes after
        assertThat(catcher.requests()).hasSize(callbacks);
    }

    /** A fresh emulator on the same settings, as a restarted runtime builds it. */
    private CarrierEmulator restarted() {
        return new CarrierEmulator(new CarrierEmulator.Settings(CarrierEmulator.ACCOUNT_SID, TOKEN, PUBLIC,
                catcher.baseUrl(), Duration.ofMillis(20)),
                from -> rates.getOrDefault(from, SenderRates.DEFAULT_MPS), Clock.systemUTC(), nanos::get);
    }

    @Test
    @SuppressWarnings("unchecked")
    void whatItTookIsKeptInTheDataDirAndListedAndDeliveredAfterARestart(@TempDir Path dataDir) throws Exception {
        emulator.close();
        emulator = restarted();
        assertThat(emulator.keepMessagesIn(dataDir)).isZero();
        String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_1&m=msg_1&s=0";
        String delivered = (String) json(create(form("To", TO, "From", FROM, "Body", "first", "StatusCallback", callback))).get("sid");
        catcher.await(2, Duration.ofSeconds(5));
        // kept once its callback was taken: wait for that line before stopping (a stop before it sends it again)
        long keptBy = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (Files.readAllLines(dataDir.resolve("carrier-messages.jsonl")).stream()
                .noneMatch(l -> l.contains(delivered) && l.contains("\"delivered\"")) && System.nanoTime() < keptBy) {
            Thread.sleep(10);
        }
        nanos.addAndGet(1_000_000_000L);
        // stopped before its callbacks: as a kill would leave it
        emulator.close();
        emulator = restarted();
        emulator.keepMessagesIn(dataDir);
        nanos.addAndGet(1_000_000_000L);
        String cutShort = (String) json(create(form("To", TO, "From", FROM, "Body", "second", "StatusCallback", callback))).get("sid");
        emulator.close(); // at once: no callback of the second has gone yet
        assertThat(emulator.messages(TO, FROM)).extracting(EmulatedMessage::sid).containsExactly(delivered, cutShort);
        // a kill cuts the last line in half, here inside an emoji's bytes
        Path journal = dataDir.resolve("carrier-messages.jsonl");
        Files.writeString(journal, "{\"sid\":\"SMcut\",\"from\":\"+1415\",\"body\":\"hi ", StandardOpenOption.APPEND);
        Files.write(journal, new byte[] {(byte) 0xF0, (byte) 0x9F}, StandardOpenOption.APPEND);

        int callbacksBefore = catcher.await(2, Duration.ofSeconds(1)).size();
        emulator = restarted();
        assertThat(emulator.keepMessagesIn(dataDir)).isEqualTo(2);
        List<EmulatedMessage> kept = emulator.messages(TO, FROM);
        assertThat(kept).extracting(EmulatedMessage::sid).containsExactly(delivered, cutShort);
        assertThat(kept.getFirst().status()).isEqualTo("delivered");
        assertThat(kept.getFirst().body()).isEqualTo("first");
        // the one cut short goes on: sent, then delivered, with its callbacks
        List<WebhookCatcher.Caught> calls = catcher.await(callbacksBefore + 2, Duration.ofSeconds(5));
        assertThat(calls.subList(callbacksBefore, calls.size())).extracting(c -> c.field("MessageSid"), c -> c.field("MessageStatus"))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(cutShort, "sent"), org.assertj.core.groups.Tuple.tuple(cutShort, "delivered"));
        // and both are found through Twilio's list, newest first
        var listed = json(emulator.handleRestApi(request("GET", PATH, "To=" + java.net.URLEncoder.encode(TO, StandardCharsets.UTF_8),
                basic(CarrierEmulator.ACCOUNT_SID, TOKEN), null, null)));
        assertThat((List<Map<String, Object>>) listed.get("messages")).extracting(m -> m.get("sid")).containsExactly(cutShort, delivered);
        // compacted: one line per message, the cut line gone
        emulator.close();
        assertThat(Files.readAllLines(journal).stream().filter(l -> !l.isBlank())).hasSizeBetween(2, 4);
        emulator = restarted();
        assertThat(emulator.keepMessagesIn(dataDir)).isEqualTo(2);
        assertThat(Files.readAllLines(journal)).hasSize(2);
        assertThat(emulator.messages(TO, FROM)).extracting(EmulatedMessage::status).containsExactly("delivered", "delivered");
    }

    /** A message failed as a loop (14107) is kept so: taken back after a restart before its callback, it fails. */
    @Test
    void aLoopsFailureIsKeptInTheDataDir(@TempDir Path dataDir) throws Exception {
        emulator.close();
        emulator = restarted();
        emulator.keepMessagesIn(dataDir);
        rates.put(FROM, 100.0);
        for (int i = 1; i <= LoopGuard.MOST; i++) json(create(form("To", TO, "From", FROM, "Body", "tick " + i)));
        String callback = catcher.baseUrl() + "/webhooks/twilio/status?a=acct_1&m=msg_1&s=0";
        String loop = (String) json(create(form("To", TO, "From", FROM, "Body", "one too many", "StatusCallback", callback))).get("sid");
        emulator.close(); // at once: before its callback
        emulator = restarted();
        emulator.keepMessagesIn(dataDir);
        assertThat(emulator.messages(TO, FROM)).filteredOn(m -> m.sid().equals(loop)).singleElement()
                .satisfies(m -> assertThat(m.failure()).isEqualTo(LoopGuard.LOOP));
        assertThat(catcher.await(1, Duration.ofSeconds(5))).singleElement().satisfies(call -> {
            assertThat(call.field("MessageSid")).isEqualTo(loop);
            assertThat(call.field("MessageStatus")).isEqualTo("failed");
            assertThat(call.field("ErrorCode")).isEqualTo("14107");
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void theListIsReadAPageAtATimeNewestFirst() throws Exception {
        List<String> sids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sids.add((String) json(create(form("To", TO, "From", FROM, "Body", "m" + i))).get("sid"));
            nanos.addAndGet(1_000_000_000L);
        }
        var first = json(emulator.handleRestApi(request("GET", PATH, "To=" + java.net.URLEncoder.encode(TO, StandardCharsets.UTF_8)
                + "&PageSize=2", basic(CarrierEmulator.ACCOUNT_SID, TOKEN), null, null)));
        assertThat((List<Map<String, Object>>) first.get("messages")).extracting(m -> m.get("sid")).containsExactly(sids.get(2), sids.get(1));
        String next = (String) first.get("next_page_uri");
        assertThat(next).contains("To=%2B14155550123").contains("PageSize=2").endsWith("Page=1");
        var second = json(emulator.handleRestApi(request("GET", next.substring(0, next.indexOf('?')), next.substring(next.indexOf('?') + 1),
                basic(CarrierEmulator.ACCOUNT_SID, TOKEN), null, null)));
        assertThat((List<Map<String, Object>>) second.get("messages")).extracting(m -> m.get("sid")).containsExactly(sids.get(0));
        assertThat(second.get("next_page_uri")).isNull();
    }

    @Test
    void aFailingCallbackIsNotFatal() throws Exception {
        catcher.answer(500);
        create(form("To", TO, "From", FROM, "Body", "a", "StatusCallback", catcher.baseUrl() + "/down"));
        nanos.addAndGet(1_000_000_000L);
        create(form("To", TO, "From", FROM, "Body", "b", "StatusCallback", "http://127.0.0.1:1/unreachable"));
        nanos.addAndGet(1_000_000_000L);
        create(form("To", TO, "From", FROM, "Body", "c"));

        catcher.await(2, Duration.ofSeconds(5));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline
                && !emulator.messages(TO, FROM).stream().allMatch(m -> m.status().equals("delivered"))) {
            Thread.sleep(20);
        }
        assertThat(emulator.messages(TO, FROM)).extracting(EmulatedMessage::status)
                .containsExactly("delivered", "delivered", "delivered");
    }

    @Test
    void injectsASignedInboundWebhookOverThePublicUrl() throws Exception {
        GatewayResponse response = emulator.receiveInbound(request("POST", "/local/carrier/inbound", null, null,
                "application/json", "{\"from\":\"" + TO + "\",\"to\":\"" + FROM + "\",\"body\":\"STOP\"}"));

        assertThat(response.status()).isEqualTo(202);
        Map<String, Object> accepted = json(response);
        assertThat((String) accepted.get("sid")).matches("SM[0-9a-f]{32}");
        assertThat(accepted).containsEntry("webhookUrl", PUBLIC + "/webhooks/twilio/inbound");

        List<WebhookCatcher.Caught> calls = catcher.await(1, Duration.ofSeconds(5));
        assertThat(calls).hasSize(1);
        WebhookCatcher.Caught call = calls.get(0);
        // Delivered to the runtime itself, signed over the public URL.
        assertThat(call.pathAndQuery()).isEqualTo("/webhooks/twilio/inbound");
        assertThat(TwilioSignature.verify(PUBLIC + "/webhooks/twilio/inbound", call.form(), TOKEN, call.signature())).isTrue();
        assertThat(TwilioSignature.verify(catcher.baseUrl() + "/webhooks/twilio/inbound", call.form(), TOKEN, call.signature())).isFalse();
        assertThat(call.field("MessageSid")).isEqualTo(accepted.get("sid"));
        assertThat(call.field("AccountSid")).isEqualTo(CarrierEmulator.ACCOUNT_SID);
        assertThat(call.field("From")).isEqualTo(TO);
        assertThat(call.field("To")).isEqualTo(FROM);
        assertThat(call.field("Body")).isEqualTo("STOP");
        assertThat(call.field("NumMedia")).isEqualTo("0");
        assertThat(call.field("NumSegments")).isEqualTo("1");
        assertThat(call.field("SmsStatus")).isEqualTo("received");
        assertThat(call.field("ApiVersion")).isEqualTo("2010-04-01");

        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (emulator.inboundMessages().get(0).webhookStatus() == null && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(emulator.inboundMessages()).singleElement().satisfies(m -> assertThat(m.webhookStatus()).isEqualTo(204));
    }

    @Test
    void inboundMediaBecomesNumberedMediaFields() throws Exception {
        GatewayResponse response = emulator.receiveInbound(request("POST", "/local/carrier/inbound", null, null,
                "application/json", "{\"from\":\"" + TO + "\",\"to\":\"" + FROM
                        + "\",\"body\":\"\",\"mediaUrls\":[\"https://m.example/a.png\",\"https://m.example/b.jpg\"]}"));
        assertThat(response.status()).isEqualTo(202);

        WebhookCatcher.Caught call = catcher.await(1, Duration.ofSeconds(5)).get(0);
        assertThat(call.field("NumMedia")).isEqualTo("2");
        assertThat(call.field("MediaUrl0")).isEqualTo("https://m.example/a.png");
        assertThat(call.field("MediaContentType0")).isEqualTo("image/png");
        assertThat(call.field("MediaUrl1")).isEqualTo("https://m.example/b.jpg");
        assertThat(TwilioSignature.verify(PUBLIC + "/webhooks/twilio/inbound", call.form(), TOKEN, call.signature())).isTrue();
    }

    /** A text's 1,600 characters are counted as the webhook counts them: an emoji is one, not two UTF-16 units. */
    @Test
    void anInboundTextsLimitIsInCharacters() {
        String emoji = "\uD83D\uDE00";
        for (int count : List.of(1600, 1601)) {
            GatewayResponse response = emulator.receiveInbound(request("POST", "/local/carrier/inbound", null, null,
                    "application/json", "{\"from\":\"" + TO + "\",\"to\":\"" + FROM + "\",\"body\":\"" + emoji.repeat(count) + "\"}"));
            assertThat(response.status()).as(count + " emoji").isEqualTo(count == 1600 ? 202 : 400);
        }
    }

    @Test
    void deliversOnlyUrlsUnderThePublicBaseUrlToItself() {
        assertThat(emulator.deliveryUrl(PUBLIC + "/webhooks/twilio/status?a=1")).isEqualTo(catcher.baseUrl() + "/webhooks/twilio/status?a=1");
        assertThat(emulator.deliveryUrl(PUBLIC)).isEqualTo(catcher.baseUrl());
        assertThat(emulator.deliveryUrl(PUBLIC + ".evil.example/x")).isEqualTo(PUBLIC + ".evil.example/x");
        assertThat(emulator.deliveryUrl("http://elsewhere.example/x")).isEqualTo("http://elsewhere.example/x");
    }

    @Test
    void queryFiltersKeepALiteralPlus() {
        assertThat(Form.query("to=+14155550123&from=%2B14155550100&x")).containsEntry("to", "+14155550123")
                .containsEntry("from", "+14155550100").containsEntry("x", "");
    }

    /** A malformed escape in a query is text that matches nothing (it was a 500 with a stack trace in the log). */
    @Test
    void aMalformedEscapeInAQueryMatchesNothingRatherThanFailing() {
        assertThat(Form.query("to=%&from=%zz&x=%2B1")).containsEntry("to", "%").containsEntry("from", "%zz").containsEntry("x", "+1");
        assertThat(create(form("From", FROM, "To", TO, "Body", "hi")).status()).isEqualTo(201);
        GatewayResponse tools = emulator.listForTools(request("GET", "/local/carrier/messages", "to=%", null, null, null));
        assertThat(tools.status()).isEqualTo(200);
        assertThat(new String(tools.body(), StandardCharsets.UTF_8)).contains("\"items\":[]");
        GatewayResponse rest = emulator.handleRestApi(request("GET", PATH, "To=%zz", basic(CarrierEmulator.ACCOUNT_SID, TOKEN), null, null));
        assertThat(rest.status()).isEqualTo(200);
    }

    /** Every short code a line may have sends (3 to 8 digits, as carriers' do by country), not only 5 or 6. */
    @Test
    void aShortCodeOfAnyLengthALineMayHaveSends() {
        for (String code : List.of("123", "1234", "12345", "12345678")) {
            assertThat(create(form("From", code, "To", TO, "Body", "hi")).status()).as(code).isEqualTo(201);
        }
        assertThat(create(form("From", "12", "To", TO, "Body", "hi")).status()).isEqualTo(400);
        assertThat(create(form("From", "123456789", "To", TO, "Body", "hi")).status()).isEqualTo(400);
    }
}
