package groupmsg.carrier;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.havingExactly;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The production adapter against a WireMock server answering with Twilio's request and response shapes. */
class TwilioCarrierTest {
    private static final String ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
    private static final String AUTH_TOKEN = "s3cr3t-token";
    private static final String PATH = "/2010-04-01/Accounts/" + ACCOUNT_SID + "/Messages.json";
    private static final String MESSAGE_SID = "SMfedcba9876543210fedcba9876543210";

    private static WireMockServer wiremock;
    private TwilioCarrier carrier;

    @BeforeAll
    static void startWireMock() {
        wiremock = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
        wiremock.start();
    }

    @AfterAll
    static void stopWireMock() {
        wiremock.stop();
    }

    @BeforeEach
    void reset() {
        wiremock.resetAll();
        carrier = new TwilioCarrier(new CarrierSettings(wiremock.baseUrl(), ACCOUNT_SID, AUTH_TOKEN));
    }

    private static OutboundMessage mms() {
        return new OutboundMessage("+14155550100", "+14155550123", "Choir: rehearsal moved to 7pm & bring music=yes ✓",
                List.of("https://cdn.example.com/a.jpg?x=1&y=2", "https://cdn.example.com/b.png"),
                "https://api.example.com/webhooks/twilio/status");
    }

    /** Twilio's 201 answer to a Messages create (trimmed of nothing that matters: the real field set). */
    private static String createdJson(String status) {
        return """
                {"account_sid": "%1$s", "api_version": "2010-04-01", "body": "Choir: rehearsal moved",
                 "date_created": "Mon, 23 Nov 2026 10:15:30 +0000", "date_sent": null,
                 "date_updated": "Mon, 23 Nov 2026 10:15:30 +0000", "direction": "outbound-api",
                 "error_code": null, "error_message": null, "from": "+14155550100", "messaging_service_sid": null,
                 "num_media": "2", "num_segments": "1", "price": null, "price_unit": "USD",
                 "sid": "%2$s", "status": "%3$s",
                 "subresource_uris": {"media": "/2010-04-01/Accounts/%1$s/Messages/%2$s/Media.json"},
                 "to": "+14155550123", "uri": "/2010-04-01/Accounts/%1$s/Messages/%2$s.json"}
                """.formatted(ACCOUNT_SID, MESSAGE_SID, status);
    }

    private static String errorJson(int code, String message, int status) {
        return """
                {"code": %d, "message": "%s", "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}
                """.formatted(code, message, code, status);
    }

    private static void answer(int status, String body) {
        wiremock.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withStatus(status)
                .withHeader("Content-Type", "application/json; charset=utf-8").withBody(body)));
    }

    private static List<Map.Entry<String, String>> formFields(String body) {
        var fields = new ArrayList<Map.Entry<String, String>>();
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            fields.add(new AbstractMap.SimpleEntry<>(
                    URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8)));
        }
        return fields;
    }

    @Test
    void postsTwiliosFormWithBasicAuthToTheAccountsMessagesResource() {
        answer(201, createdJson("queued"));

        carrier.send(mms());

        List<LoggedRequest> requests = wiremock.findAll(postRequestedFor(urlEqualTo(PATH)));
        assertThat(requests).hasSize(1);
        LoggedRequest request = requests.get(0);
        assertThat(request.getUrl()).isEqualTo(PATH);
        assertThat(request.getHeader("Content-Type")).startsWith("application/x-www-form-urlencoded");
        assertThat(request.getHeader("Authorization")).isEqualTo("Basic " + Base64.getEncoder()
                .encodeToString((ACCOUNT_SID + ":" + AUTH_TOKEN).getBytes(StandardCharsets.UTF_8)));
        assertThat(formFields(request.getBodyAsString())).containsExactly(
                Map.entry("To", "+14155550123"),
                Map.entry("From", "+14155550100"),
                Map.entry("Body", "Choir: rehearsal moved to 7pm & bring music=yes ✓"),
                Map.entry("MediaUrl", "https://cdn.example.com/a.jpg?x=1&y=2"),
                Map.entry("MediaUrl", "https://cdn.example.com/b.png"),
                Map.entry("StatusCallback", "https://api.example.com/webhooks/twilio/status"));

        // The same, as WireMock's own form matching sees it.
        wiremock.verify(postRequestedFor(urlEqualTo(PATH))
                .withFormParam("To", equalTo("+14155550123"))
                .withFormParam("From", equalTo("+14155550100"))
                .withFormParam("MediaUrl", havingExactly("https://cdn.example.com/a.jpg?x=1&y=2", "https://cdn.example.com/b.png"))
                .withFormParam("StatusCallback", equalTo("https://api.example.com/webhooks/twilio/status")));
    }

    @Test
    void anSmsWithoutMediaOrCallbackSendsOnlyToFromAndBody() {
        answer(201, createdJson("queued"));

        carrier.send(new OutboundMessage("+14155550100", "+14155550123", "hi", null, null));

        String body = wiremock.findAll(postRequestedFor(urlEqualTo(PATH))).get(0).getBodyAsString();
        assertThat(formFields(body)).containsExactly(
                Map.entry("To", "+14155550123"), Map.entry("From", "+14155550100"), Map.entry("Body", "hi"));
    }

    /** A picture alone goes without a Body (Twilio needs one only where no MediaUrl is given); text alone keeps even an empty one. */
    @Test
    void aPictureAloneSendsNoBody() {
        answer(201, createdJson("queued"));

        carrier.send(new OutboundMessage("+14155550100", "+14155550123", "", List.of("https://cdn.example.com/b.png"), null));
        carrier.send(new OutboundMessage("+14155550100", "+14155550123", "", null, null));

        var requests = wiremock.findAll(postRequestedFor(urlEqualTo(PATH)));
        assertThat(formFields(requests.get(0).getBodyAsString())).containsExactly(
                Map.entry("To", "+14155550123"), Map.entry("From", "+14155550100"),
                Map.entry("MediaUrl", "https://cdn.example.com/b.png"));
        assertThat(formFields(requests.get(1).getBodyAsString())).contains(Map.entry("Body", ""));
    }

    @Test
    void a201IsAcceptedWithTheMessageSidAndInitialStatus() {
        answer(201, createdJson("queued"));

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Accepted(MESSAGE_SID, "queued"));
    }

    @Test
    void a200IsAcceptedToo() {
        answer(200, createdJson("accepted"));

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Accepted(MESSAGE_SID, "accepted"));
    }

    @Test
    void aSuccessWithoutASidIsNotConfirmed() {
        answer(201, "{}");

        assertThatThrownBy(() -> carrier.send(mms())).isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void anUnsubscribedRecipientIsRejectedAsOptedOutAndNotRetryable() {
        answer(400, errorJson(21610, "Attempt to send to unsubscribed recipient", 400));

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(400, "21610",
                "Attempt to send to unsubscribed recipient", false, true));
    }

    @Test
    void tooManyRequestsIsRetryable() {
        answer(429, errorJson(20429, "Too Many Requests", 429));

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(429, "20429", "Too Many Requests", true, false));
    }

    @Test
    void code20429IsRetryableWhateverTheHttpStatus() {
        answer(400, errorJson(20429, "Too Many Requests", 400));

        assertThat(carrier.send(mms())).isInstanceOfSatisfying(SendResult.Rejected.class,
                r -> assertThat(r.retryable()).isTrue());
    }

    @Test
    void a429WithoutAJsonBodyIsRetryableWithTheHttpStatusAsCode() {
        answer(429, "");

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(429, "429", "HTTP 429", true, false));
    }

    @Test
    void serviceUnavailableIsRetryable() {
        answer(503, "<html>Service Unavailable</html>");

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(503, "503", "HTTP 503", true, false));
    }

    /** Twilio (error 20500): a message POST that answered 500 may have sent it, and retrying can send it twice. */
    @ParameterizedTest
    @ValueSource(ints = {500, 502, 504, 202, 408})
    void anAnswerThatLeavesOpenWhetherItWasSentThrowsUncheckedIOException(int status) {
        answer(status, status == 500 ? errorJson(20500, "Internal Server Error", 500) : "<html>Bad Gateway</html>");

        assertThatThrownBy(() -> carrier.send(mms()))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("carrier answered " + status)
                .hasMessageContaining("may have been sent")
                .hasMessageNotContaining(AUTH_TOKEN);
    }

    @Test
    void aRedirectIsTheSendersRefusalNotRetriedAndNotTheRecipients() {
        wiremock.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withStatus(302).withHeader("Location", "/elsewhere")));

        assertThat(carrier.send(mms())).isInstanceOfSatisfying(SendResult.Rejected.class, r -> {
            assertThat(r.httpStatus()).isEqualTo(302);
            assertThat(r.retryable()).isFalse();
            // a wrong API base URL: the recipients wait, queued, until it is mended
            assertThat(r.senderRefused()).isTrue();
        });
    }

    @Test
    void anInvalidToNumberIsNotRetryable() {
        answer(400, errorJson(21211, "The 'To' number 12345 is not a valid phone number.", 400));

        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(400, "21211",
                "The 'To' number 12345 is not a valid phone number.", false, false));
    }

    @Test
    void refusalsOfTheSenderAreNotRetriedButAreNotTheRecipients() {
        answer(400, errorJson(21212, "The 'From' number +1555 is not a valid phone number", 400));
        assertThat(carrier.send(mms())).isInstanceOfSatisfying(SendResult.Rejected.class, r -> {
            assertThat(r.errorCode()).isEqualTo("21212");
            assertThat(r.retryable()).isFalse();
            assertThat(r.senderRefused()).isTrue();
        });
        // a long code or toll-free number that is not the account's or cannot text
        for (int code : List.of(21601, 21661, 21606, 21659)) {
            answer(400, errorJson(code, "The From phone number is not a valid, SMS-capable inbound phone number", 400));
            assertThat(((SendResult.Rejected) carrier.send(mms())).senderRefused()).as("%d", code).isTrue();
        }
        // but from a short code, 21606 and 21659 also mean another country's number: that recipient's alone
        var fromShortCode = new OutboundMessage("54321", "+447911123456", "Hi", List.of(), null);
        answer(400, errorJson(21606, "The From phone number is not a valid, SMS-capable inbound phone number", 400));
        assertThat(((SendResult.Rejected) carrier.send(fromShortCode)).senderRefused()).isFalse();
        answer(400, errorJson(21659, "'From' is not a Twilio phone number or Short Code country mismatch", 400));
        assertThat(((SendResult.Rejected) carrier.send(fromShortCode)).senderRefused()).isFalse();
        answer(400, errorJson(21660, "Mismatch between the 'From' number and the account", 400));
        assertThat(((SendResult.Rejected) carrier.send(fromShortCode)).senderRefused()).isTrue();

        answer(401, errorJson(20003, "Authenticate", 401));
        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(401, "20003", "Authenticate", false, false, true));
        // the From's queue full: turned away, tried again later, as a throttle is; nobody's and no broken sender's
        answer(400, errorJson(21611, "This 'From' number has exceeded the maximum number of queued messages", 400));
        assertThat(carrier.send(mms())).isEqualTo(new SendResult.Rejected(400, "21611",
                "This 'From' number has exceeded the maximum number of queued messages", true, false, false));
        answer(404, errorJson(20404, "The requested resource was not found", 404));
        assertThat(((SendResult.Rejected) carrier.send(mms())).senderRefused()).isTrue();
        // the recipient's, not the sender's
        answer(400, errorJson(21211, "The 'To' number 12345 is not a valid phone number.", 400));
        assertThat(((SendResult.Rejected) carrier.send(mms())).senderRefused()).isFalse();
        answer(400, errorJson(21610, "Attempt to send to unsubscribed recipient", 400));
        assertThat(((SendResult.Rejected) carrier.send(mms())).senderRefused()).isFalse();
        answer(429, errorJson(20429, "Too Many Requests", 429));
        assertThat(((SendResult.Rejected) carrier.send(mms())).senderRefused()).isFalse();
    }

    @Test
    void anUnreachableCarrierThrowsUncheckedIOException() throws Exception {
        int freePort;
        try (var socket = new ServerSocket(0)) {
            freePort = socket.getLocalPort();
        }
        var unreachable = new TwilioCarrier(new CarrierSettings("http://127.0.0.1:" + freePort, ACCOUNT_SID, AUTH_TOKEN));

        assertThatThrownBy(() -> unreachable.send(mms()))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageNotContaining(AUTH_TOKEN);
    }

    @Test
    void aCutOffAnswerThrowsUncheckedIOException() {
        wiremock.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));

        assertThatThrownBy(() -> carrier.send(mms())).isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void aSlowCarrierTimesOutWithUncheckedIOException() {
        wiremock.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withStatus(201)
                .withBody(createdJson("queued")).withFixedDelay(2_000)));
        var impatient = new TwilioCarrier(new CarrierSettings(wiremock.baseUrl(), ACCOUNT_SID, AUTH_TOKEN),
                Duration.ofMillis(200));

        assertThatThrownBy(() -> impatient.send(mms()))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(HttpTimeoutException.class);
    }

    @Test
    void aTrailingSlashOnTheBaseUrlIsIgnored() {
        answer(201, createdJson("queued"));
        var slashed = new TwilioCarrier(new CarrierSettings(wiremock.baseUrl() + "/", ACCOUNT_SID, AUTH_TOKEN));

        assertThat(slashed.send(mms())).isInstanceOf(SendResult.Accepted.class);
    }

    @Test
    void requiresCompleteSettingsAndNeverShowsTheToken() {
        assertThatThrownBy(() -> new TwilioCarrier(new CarrierSettings("https://api.twilio.com", ACCOUNT_SID, null)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TwilioCarrier(new CarrierSettings("https://api.twilio.com", " ", AUTH_TOKEN)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(carrier.toString()).doesNotContain(AUTH_TOKEN);
    }

    // ---------------------------------------------------------------- finding a sent message

    private static final String FROM = "+14155550100";
    private static final String TO = "+14155550123";
    private static final Instant CLAIMED = Instant.parse("2026-12-03T08:00:00Z");
    private static final DateTimeFormatter RFC_2822 =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss Z", Locale.US).withZone(ZoneOffset.UTC);

    private static SentLookup.Query lookingFor(String body) {
        return new SentLookup.Query(FROM, TO, body, CLAIMED, CLAIMED.plusSeconds(900));
    }

    /**
     * A message of Twilio's list, created {@code secondsAfterClaim} after the claim and sent a second later (null:
     * not sent yet).
     */
    private static Map<String, Object> listed(String sid, String body, long secondsAfterClaim, String status, Object errorCode) {
        return listed(sid, body, secondsAfterClaim, secondsAfterClaim + 1, status, errorCode);
    }

    private static Map<String, Object> listed(String sid, String body, long secondsAfterClaim, Long sentSecondsAfterClaim,
                                              String status, Object errorCode) {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("sid", sid);
        m.put("from", FROM);
        m.put("to", TO);
        m.put("body", body);
        m.put("status", status);
        m.put("error_code", errorCode);
        m.put("date_created", RFC_2822.format(CLAIMED.plusSeconds(secondsAfterClaim)));
        m.put("date_sent", sentSecondsAfterClaim == null ? null : RFC_2822.format(CLAIMED.plusSeconds(sentSecondsAfterClaim)));
        return m;
    }

    private static String page(List<Map<String, Object>> messages, String nextPageUri) {
        var body = new java.util.LinkedHashMap<String, Object>();
        body.put("messages", messages);
        body.put("next_page_uri", nextPageUri);
        body.put("page_size", 50);
        return groupmsg.platform.json.Json.write(body);
    }

    private static void listAnswers(int status, String body) {
        wiremock.stubFor(get(urlPathEqualTo(PATH)).willReturn(aResponse().withStatus(status)
                .withHeader("Content-Type", "application/json").withBody(body)));
    }

    private static final String NEXT = "/2010-04-01/Accounts/" + ACCOUNT_SID + "/Messages.json?To=x&PageSize=50&Page=1&PageToken=PA1";

    @Test
    void theOneMessageWithThisTextInTheWindowIsFound() {
        // newest first, as Twilio lists them
        listAnswers(200, page(List.of(
                listed("SMlater", "Ops: Hello", 1000, "delivered", null),       // after the window: another send
                listed("SMtheone", "Sent from your Twilio trial account - Ops: Hello", 2, "undelivered", 30007),
                listed("SMbefore", "Ops: Hello", -3600, "delivered", null)), null));

        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.Found("SMtheone", "undelivered", "30007"));

        LoggedRequest request = wiremock.findAll(getRequestedFor(urlPathEqualTo(PATH))).getFirst();
        assertThat(request.queryParameter("To").firstValue()).isEqualTo(TO);
        assertThat(request.queryParameter("From").firstValue()).isEqualTo(FROM);
        assertThat(request.queryParameter("PageSize").firstValue()).isEqualTo("50");
        assertThat(request.queryParameter("DateSent").isPresent()).as("a queued message has no send date").isFalse();
        assertThat(request.getHeader("Authorization")).isEqualTo("Basic " + Base64.getEncoder().encodeToString(
                (ACCOUNT_SID + ":" + AUTH_TOKEN).getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void notFoundOnlyWhenNothingWentToTheNumberInTheWindow() {
        listAnswers(200, page(List.of(listed("SMbefore", "Ops: Hello", -3600, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.NotFound());

        listAnswers(200, page(List.of(), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.NotFound());
    }

    @Test
    void doubtIsNoAnswerNeverNotFound() {
        // another text in the window could be this one, changed on the way
        listAnswers(200, page(List.of(listed("SMother", "Ops: Hello!", 30, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.Unanswered("1 message(s) to the number that may be this one", false));
        // a little more around this text: it may be this one
        listAnswers(200, page(List.of(listed("SMcoach", "Ops:  Hello!!", 30, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOfSatisfying(SentLookup.Unanswered.class,
                u -> assertThat(u.carrierFailing()).isFalse());
        // much more around it is another text (a short reply inside a long one), and this one was never sent
        listAnswers(200, page(List.of(listed("SMcoach", "Coach Ops: Hello there", 30, "delivered", null),
                listed("SMbob", "Bob: ok thanks, see you at nine", 20, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.NotFound());
        assertThat(carrier.findSent(lookingFor("ok"))).isEqualTo(new SentLookup.NotFound());
        // two with this text (two groups got one announcement): which is this one cannot be told
        listAnswers(200, page(List.of(listed("SMa", "Ops: Hello", 30, "sent", null), listed("SMb", "Ops: Hello", 5, "sent", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.Unanswered("2 messages with this text in the window", false));
        // a date it cannot read
        var odd = listed("SModd", "Ops: Hello", 30, "sent", null);
        odd.put("date_created", "2026-12-03T08:00:30Z");
        listAnswers(200, page(List.of(odd), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOf(SentLookup.Unanswered.class);
    }

    /**
     * The same announcement sent twice a few seconds apart, the second's send lost in a crash: the first's copy is not
     * the second's (before, a window reaching a minute back took it for it, and the recipient never got the second).
     */
    @Test
    void theSameTextSentBeforeTheClaimIsNotThisOne() {
        listAnswers(200, page(List.of(listed("SMfirst", "Ops: Hello", -7, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.NotFound());
        // within the carrier's clock skew it could be either: no answer
        listAnswers(200, page(List.of(listed("SMfirst", "Ops: Hello", -3, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOf(SentLookup.Unanswered.class);
        // and with this one after the claim as well, still no answer
        listAnswers(200, page(List.of(listed("SMsecond", "Ops: Hello", 1, "sent", null), listed("SMfirst", "Ops: Hello", -3, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOf(SentLookup.Unanswered.class);
    }

    /**
     * An account that redacts message bodies or numbers (Twilio's Message Body / Phone Number Redaction) lists this
     * message without its text or with the number masked: it may be this one, so no answer, never not found (which
     * sends it again).
     */
    @Test
    void aRedactedMessageInTheWindowIsDoubtNotNotFound() {
        listAnswers(200, page(List.of(listed("SMredacted", "", 1, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOfSatisfying(SentLookup.Unanswered.class,
                u -> assertThat(u.carrierFailing()).isFalse());
        var masked = listed("SMmasked", "Ops: Hello", 1, "delivered", null);
        masked.put("to", TO.substring(0, TO.length() - 3) + "XXX");
        listAnswers(200, page(List.of(masked), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOf(SentLookup.Unanswered.class);
        var noBody = listed("SMnobody", "x", 1, "delivered", null);
        noBody.remove("body");
        listAnswers(200, page(List.of(noBody), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOf(SentLookup.Unanswered.class);
        // outside the window, a redacted message is not this one
        listAnswers(200, page(List.of(listed("SMold", "", -3600, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.NotFound());
    }

    /** A conversation's other relays to the number are other texts, not this one changed. */
    @Test
    void otherTextsToTheNumberDoNotHideThisOne() {
        listAnswers(200, page(List.of(listed("SMbob", "Bob: sure, 9 works", 40, "delivered", null),
                listed("SMann", "Ann: Hello", 20, "delivered", null)), null));
        assertThat(carrier.findSent(lookingFor("Cat: see you"))).isEqualTo(new SentLookup.NotFound());
        listAnswers(200, page(List.of(listed("SMbob", "Bob: sure, 9 works", 40, "delivered", null),
                listed("SMcat", "Cat: see you", 1, "sent", null)), null));
        assertThat(carrier.findSent(lookingFor("Cat: see you"))).isEqualTo(new SentLookup.Found("SMcat", "sent", null));
        // spacing aside, a text that holds this one may be it
        listAnswers(200, page(List.of(listed("SMcat", "Cat:  see you\r\n", 1, "sent", null)), null));
        assertThat(carrier.findSent(lookingFor("Cat: see you"))).isInstanceOf(SentLookup.Unanswered.class);
    }

    @Test
    void nextPagesAreReadUntilOneHoldsAMessageSentBeforeTheWindow() {
        wiremock.stubFor(get(urlPathEqualTo(PATH)).withQueryParam("Page", absent()).willReturn(aResponse().withStatus(200)
                .withBody(page(List.of(listed("SMnewer", "Ops: Other", 1000, "delivered", null)), NEXT))));
        // still queued at the carrier: no send date, so it sorts anywhere, and the reading goes on past it
        wiremock.stubFor(get(urlPathEqualTo(PATH)).withQueryParam("Page", equalTo("1")).willReturn(aResponse().withStatus(200)
                .withBody(page(List.of(listed("SMfound", "Ops: Hello", 1, null, "queued", null)), NEXT.replace("Page=1", "Page=2")))));
        wiremock.stubFor(get(urlPathEqualTo(PATH)).withQueryParam("Page", equalTo("2")).willReturn(aResponse().withStatus(200)
                .withBody(page(List.of(listed("SMold", "Ops: Hello", -7200, "delivered", null)), NEXT.replace("Page=1", "Page=3")))));

        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.Found("SMfound", "queued", null));
        assertThat(wiremock.findAll(getRequestedFor(urlPathEqualTo(PATH)))).as("stops at the page sent before the window").hasSize(3);
    }

    @Test
    void aPageSentBeforeTheWindowEndsTheSearch() {
        listAnswers(200, page(List.of(listed("SMold", "Ops: Hello", -7200, "delivered", null)), NEXT));

        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isEqualTo(new SentLookup.NotFound());
        assertThat(wiremock.findAll(getRequestedFor(urlPathEqualTo(PATH)))).hasSize(1);
    }

    @Test
    void pagesThatNeverLeaveTheWindowGiveNoAnswerRatherThanNotFound() {
        listAnswers(200, page(List.of(listed("SMbusy", "Ops: Other", 1000, "delivered", null)), NEXT));

        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOfSatisfying(SentLookup.Unanswered.class,
                u -> assertThat(u.carrierFailing()).isFalse());
        assertThat(wiremock.findAll(getRequestedFor(urlPathEqualTo(PATH)))).hasSize(TwilioCarrier.LOOKUP_MAX_PAGES);
    }

    @ParameterizedTest
    @ValueSource(ints = {401, 429, 500, 503})
    void anErrorIsNoAnswerNeverNotFound(int status) {
        listAnswers(status, errorJson(20500, "Internal Server Error", status));

        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOfSatisfying(SentLookup.Unanswered.class, u -> {
            assertThat(u.reason()).contains(String.valueOf(status)).doesNotContain(AUTH_TOKEN);
            assertThat(u.carrierFailing()).isTrue();
        });
    }

    @Test
    void anAnswerWithoutAListOrNoCarrierAtAllIsNoAnswer() throws Exception {
        listAnswers(200, "{\"code\": 1}");
        assertThat(carrier.findSent(lookingFor("Ops: Hello"))).isInstanceOf(SentLookup.Unanswered.class);

        int freePort;
        try (var socket = new ServerSocket(0)) {
            freePort = socket.getLocalPort();
        }
        var unreachable = new TwilioCarrier(new CarrierSettings("http://127.0.0.1:" + freePort, ACCOUNT_SID, AUTH_TOKEN));
        assertThat(unreachable.findSent(lookingFor("Ops: Hello"))).isInstanceOfSatisfying(SentLookup.Unanswered.class,
                u -> assertThat(u.carrierFailing()).isTrue());
    }

    private static final String MESSAGE_PATH = "/2010-04-01/Accounts/" + ACCOUNT_SID + "/Messages/" + MESSAGE_SID + ".json";

    private static void messageAnswers(int status, String body) {
        wiremock.stubFor(get(urlEqualTo(MESSAGE_PATH)).willReturn(aResponse().withStatus(status)
                .withHeader("Content-Type", "application/json; charset=utf-8").withBody(body)));
    }

    @Test
    void aMessageIsReadByItsSidWithBasicAuthAndItsStatusAndErrorCodeAreWhatItSays() {
        messageAnswers(200, createdJson("undelivered").replace("\"error_code\": null", "\"error_code\": 30003"));

        assertThat(carrier.findById(MESSAGE_SID)).isEqualTo(new SentLookup.Found(MESSAGE_SID, "undelivered", "30003"));
        var requests = wiremock.findAll(getRequestedFor(urlEqualTo(MESSAGE_PATH)));
        assertThat(requests).singleElement().satisfies(r -> assertThat(r.getHeader("Authorization")).isEqualTo("Basic "
                + Base64.getEncoder().encodeToString((ACCOUNT_SID + ":" + AUTH_TOKEN).getBytes(StandardCharsets.UTF_8))));

        messageAnswers(200, createdJson("delivered"));
        assertThat(carrier.findById(MESSAGE_SID)).isEqualTo(new SentLookup.Found(MESSAGE_SID, "delivered", null));
        messageAnswers(200, createdJson("sent"));
        assertThat(carrier.findById(MESSAGE_SID)).isEqualTo(new SentLookup.Found(MESSAGE_SID, "sent", null));
    }

    @Test
    void aMessageTheCarrierDoesNotHoldIsNotFoundAndAnyOtherAnswerIsNoAnswer() {
        messageAnswers(404, errorJson(20404, "The requested resource was not found", 404));
        assertThat(carrier.findById(MESSAGE_SID)).isEqualTo(new SentLookup.NotFound());

        for (int status : new int[] {401, 429, 500}) {
            messageAnswers(status, errorJson(20500, "Internal Server Error", status));
            assertThat(carrier.findById(MESSAGE_SID)).isInstanceOfSatisfying(SentLookup.Unanswered.class, u -> {
                assertThat(u.reason()).contains(String.valueOf(status)).doesNotContain(AUTH_TOKEN);
                assertThat(u.carrierFailing()).isTrue();
            });
        }
        messageAnswers(200, "{\"sid\": \"" + MESSAGE_SID + "\"}");
        assertThat(carrier.findById(MESSAGE_SID)).isInstanceOf(SentLookup.Unanswered.class);
    }
}
