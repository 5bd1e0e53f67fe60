package groupmsg.webhooks;

import groupmsg.carrier.TwilioSignature;

import groupmsg.platform.api.ApiException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TwilioInboundParsingTest {

    /** 1,600 characters as Twilio counts them (code points): 1,600 emoji are taken, 1,601 letters are not. */
    @Test
    void theBodysLimitIsInCharactersNotUtf16Units() {
        String emoji = "\uD83D\uDE00".repeat(1600);
        assertThat(CarrierWebhookHandler.inboundSms(params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100",
                "Body", emoji)).body()).isEqualTo(emoji);
        assertThatThrownBy(() -> CarrierWebhookHandler.inboundSms(params("MessageSid", SID, "From", "+14155550123",
                "To", "+12125550100", "Body", "x".repeat(1601)))).isInstanceOf(ApiException.class);
    }

    /**
     * The URL a signature is checked against: the base URL and the request's path, the base's path given once when
     * the request's path already holds it (a custom domain's API mapping: API Gateway keeps its key in rawPath).
     */
    @Test
    void theSignedUrlHoldsABasePathOnce() {
        assertThat(CarrierWebhookHandler.signedUrls("https://abc.execute-api.eu-west-1.amazonaws.com", "/webhooks/twilio/inbound"))
                .containsExactly("https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/twilio/inbound");
        assertThat(CarrierWebhookHandler.signedUrls("https://api.example.com/sms", "/sms/webhooks/twilio/inbound"))
                .containsExactly("https://api.example.com/sms/webhooks/twilio/inbound", "https://api.example.com/sms/sms/webhooks/twilio/inbound");
        // a path in front that strips the base's path before API Gateway
        assertThat(CarrierWebhookHandler.signedUrls("https://api.example.com/sms", "/webhooks/twilio/inbound"))
                .containsExactly("https://api.example.com/sms/webhooks/twilio/inbound");
        // ... also one that is the start of the routes' own path: both are taken
        assertThat(CarrierWebhookHandler.signedUrls("https://ex.example/webhooks", "/webhooks/twilio/inbound"))
                .containsExactly("https://ex.example/webhooks/twilio/inbound", "https://ex.example/webhooks/webhooks/twilio/inbound");
        // a base path that is only the start of a segment is not the request's
        assertThat(CarrierWebhookHandler.signedUrls("https://api.example.com/sm", "/sms/webhooks/twilio/status"))
                .containsExactly("https://api.example.com/sm/sms/webhooks/twilio/status");
        assertThat(CarrierWebhookHandler.signedUrls("http://localhost:8080", "/webhooks/twilio/status"))
                .containsExactly("http://localhost:8080/webhooks/twilio/status");
    }
    static final String SID = "SM0123456789abcdef0123456789abcdef";

    static Map<String, List<String>> params(String... pairs) {
        var p = new LinkedHashMap<String, List<String>>();
        for (int i = 0; i < pairs.length; i += 2) p.put(pairs[i], List.of(pairs[i + 1]));
        return p;
    }

    @Test
    void readsTwiliosFieldsAndIgnoresTheOnesWeDoNotUse() {
        var sms = CarrierWebhookHandler.inboundSms(params("MessageSid", SID, "From", "+14155550123", "To", " +12125550100 ",
                "Body", "Hi there", "NumMedia", "1", "MediaUrl0", "https://api.twilio.com/m/ME1", "FromCity", "SF",
                "ApiVersion", "2010-04-01"));
        assertThat(sms.carrierMessageId()).isEqualTo(SID);
        assertThat(sms.from()).isEqualTo("+14155550123");
        assertThat(sms.to()).isEqualTo("+12125550100");
        assertThat(sms.body()).isEqualTo("Hi there");
        assertThat(sms.mediaUrls()).containsExactly("https://api.twilio.com/m/ME1");
    }

    @Test
    void shortCodesAndMediaOnlyMessagesAreFine() {
        var sms = CarrierWebhookHandler.inboundSms(params("SmsMessageSid", SID.replace("SM", "MM"), "From", "+14155550123",
                "To", "12345", "NumMedia", "1", "MediaUrl0", "https://x.example/1"));
        assertThat(sms.to()).isEqualTo("12345");
        assertThat(sms.body()).isEmpty();
    }

    @Test
    void controlCharactersAreDroppedFromTheBodyAndHalfSurrogatesReplacedButLineBreaksAndEmojiKept() {
        var sms = CarrierWebhookHandler.inboundSms(params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100",
                "Body", "a\u0000b\u001b[31m\u007f\tc\r\nd \ud83d\ude00 e\ud800"));
        assertThat(sms.body()).isEqualTo("ab[31m\tc\r\nd \ud83d\ude00 e\ufffd");
        assertThatThrownBy(() -> CarrierWebhookHandler.inboundSms(params("MessageSid", SID, "From", "+14155550123",
                "To", "+12125550100", "Body", "\u0000\u0007"))).hasMessage("message has neither Body nor media");
    }

    /** The sid is only the dedupe key, and the signature proves the sender: any plausible id is taken. */
    @Test
    void anyPlausibleMessageSidIsTheDedupeKey() {
        for (String sid : List.of("SMabc", "SM123", "SMdup1", "MMtest0001", "ab", "SM" + "Z".repeat(62), SID.toUpperCase())) {
            var sms = CarrierWebhookHandler.inboundSms(params("MessageSid", sid, "From", "+14155550123", "To", "+12125550100",
                    "Body", "x"));
            assertThat(sms.carrierMessageId()).isEqualTo(sid);
        }
        assertThat(CarrierWebhookHandler.inboundSms(params("MessageSid", " ", "SmsMessageSid", "SMabc", "From", "+14155550123",
                "To", "+12125550100", "Body", "x")).carrierMessageId()).as("a blank MessageSid, the old field set").isEqualTo("SMabc");
    }

    /**
     * Twilio signs names and values run together: "MessageSidSM…NumMedia0" is the same text whether NumMedia is a
     * field or the end of the sid, so a captured request cut anew keeps its signature. Its id must not be a new one.
     */
    @Test
    void aCapturedRequestCutAnewIsRefusedThoughItsSignatureHolds() {
        String url = "https://example.test/webhooks/twilio/inbound";
        var original = params("MessageSid", SID, "NumMedia", "0", "From", "+14155550123", "To", "+12125550100", "Body", "START");
        var recut = params("MessageSid", SID + "NumMedia0", "From", "+14155550123", "To", "+12125550100", "Body", "START");
        String token = "token-for-the-test";
        assertThat(TwilioSignature.compute(url, recut, token)).as("the signature holds")
                .isEqualTo(TwilioSignature.compute(url, original, token));
        assertThat(CarrierWebhookHandler.inboundSms(original).carrierMessageId()).isEqualTo(SID);
        assertThatThrownBy(() -> CarrierWebhookHandler.inboundSms(recut)).isInstanceOf(ApiException.class)
                .hasMessageContaining("MessageSid");
        // Twilio's copies of the id (SmsMessageSid, SmsSid) are left where they were by such a cut: they must agree
        for (String copy : List.of("SmsMessageSid", "SmsSid")) {
            assertThatThrownBy(() -> CarrierWebhookHandler.inboundSms(params("MessageSid", "SMdup2", copy, "SMdup1",
                    "From", "+14155550123", "To", "+12125550100", "Body", "x"))).as(copy)
                    .isInstanceOf(ApiException.class).hasMessageContaining(copy);
        }
        assertThat(CarrierWebhookHandler.inboundSms(params("MessageSid", SID, "SmsMessageSid", SID, "SmsSid", SID,
                "From", "+14155550123", "To", "+12125550100", "Body", "x")).carrierMessageId()).isEqualTo(SID);
    }

    @Test
    void aStatusCallbacksSidIsOptionalButNeverMalformed() {
        assertThat(CarrierWebhookHandler.statusSid(params("MessageStatus", "delivered"))).isNull();
        assertThat(CarrierWebhookHandler.statusSid(params("MessageSid", " "))).isNull();
        assertThat(CarrierWebhookHandler.statusSid(params("MessageSid", "SMx"))).isEqualTo("SMx");
        assertThat(CarrierWebhookHandler.statusSid(params("MessageSid", SID))).isEqualTo(SID);
        for (String bad : List.of("S", "SM" + "a".repeat(63), "SM 1", "<script>")) {
            assertThatThrownBy(() -> CarrierWebhookHandler.statusSid(params("MessageSid", bad))).as(bad)
                    .isInstanceOf(ApiException.class);
        }
    }

    /** What the signature is computed over: a body that is no form cannot be verified (the handler answers 403). */
    @Test
    void aBodyThatIsNoFormHasNoParameters() {
        assertThat(CarrierWebhookHandler.readForm("Body=Hi%20there&To=%2B1212&Body=again".getBytes(StandardCharsets.UTF_8)))
                .hasValue(Map.of("Body", List.of("Hi there", "again"), "To", List.of("+1212")));
        assertThat(CarrierWebhookHandler.readForm(new byte[0])).hasValue(Map.of());
        assertThat(CarrierWebhookHandler.readForm("Body=%zz".getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(CarrierWebhookHandler.readForm("Body=%E".getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(CarrierWebhookHandler.readForm(new byte[]{'B', '=', (byte) 0xff, (byte) 0xfe})).isEmpty();
    }

    @Test
    void malformedFieldsAreRefused() {
        List<Map<String, List<String>>> bad = List.of(
                params("From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "", "From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "S", "From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "SM" + "a".repeat(63), "From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "SM-1", "From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "SM#1", "From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "SMé1", "From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", SID, "To", "+12125550100", "Body", "x"),
                params("MessageSid", SID, "From", "+1 415 <script>", "To", "+12125550100", "Body", "x"),
                params("MessageSid", SID, "From", "+14155550123", "Body", "x"),
                params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100", "Body", "x".repeat(1601)),
                params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100", "Body", "x", "NumMedia", "-1"),
                params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100", "Body", "x", "NumMedia", "11"),
                params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100", "Body", "x", "NumMedia", "1"),
                params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100", "Body", "x", "NumMedia", "1",
                        "MediaUrl0", "ftp://x"),
                params("MessageSid", SID, "From", "+14155550123", "To", "+12125550100", "Body", "  "));
        for (var p : bad) {
            assertThatThrownBy(() -> CarrierWebhookHandler.inboundSms(p)).as(p.toString()).isInstanceOf(ApiException.class);
        }
    }
}
