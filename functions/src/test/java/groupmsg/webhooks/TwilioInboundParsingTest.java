package groupmsg.webhooks;

import groupmsg.platform.api.ApiException;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TwilioInboundParsingTest {
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
    void malformedFieldsAreRefused() {
        List<Map<String, List<String>>> bad = List.of(
                params("From", "+14155550123", "To", "+12125550100", "Body", "x"),
                params("MessageSid", "SMshort", "From", "+14155550123", "To", "+12125550100", "Body", "x"),
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
