package groupmsg.carrier;

import com.twilio.security.RequestValidator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TwilioSignatureTest {
    // Twilio's documented test vector (DESIGN.md, "Carriers").
    private static final String URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
    private static final String TOKEN = "12345";
    private static final String EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    private static Map<String, List<String>> params() {
        var params = new LinkedHashMap<String, List<String>>();
        // Deliberately not in sorted order.
        params.put("To", List.of("+18005551212"));
        params.put("CallSid", List.of("CA1234567890ABCDE"));
        params.put("From", List.of("+14158675309"));
        params.put("Digits", List.of("1234"));
        params.put("Caller", List.of("+14158675309"));
        return params;
    }

    private static Map<String, String> single(Map<String, List<String>> params) {
        var out = new LinkedHashMap<String, String>();
        params.forEach((k, v) -> out.put(k, v.get(0)));
        return out;
    }

    @Test
    void computesTwiliosDocumentedVector() {
        assertThat(TwilioSignature.compute(URL, params(), TOKEN)).isEqualTo(EXPECTED);
    }

    @Test
    void verifiesTwiliosDocumentedVector() {
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, EXPECTED)).isTrue();
    }

    @Test
    void acceptsTheUrlWithTheDefaultPortAddedOrRemoved() {
        // Signed over the URL with :443, verified against the URL without it (and the other way round).
        String withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        String signedWithPort = TwilioSignature.compute(withPort, params(), TOKEN);
        assertThat(signedWithPort).isNotEqualTo(EXPECTED);
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, signedWithPort)).isTrue();
        assertThat(TwilioSignature.verify(withPort, params(), TOKEN, EXPECTED)).isTrue();

        String http = "http://example.org/hook";
        String httpWithPort = "http://example.org:80/hook";
        assertThat(TwilioSignature.verify(http, params(), TOKEN, TwilioSignature.compute(httpWithPort, params(), TOKEN))).isTrue();
        assertThat(TwilioSignature.verify(httpWithPort, params(), TOKEN, TwilioSignature.compute(http, params(), TOKEN))).isTrue();
    }

    @Test
    void aNonDefaultPortMayBeLeftOutOfTheSignedUrlButNoOtherPortTakesItsPlace() {
        String local = "http://localhost:8080/webhooks/twilio/status";
        String signed = TwilioSignature.compute(local, params(), TOKEN);
        assertThat(TwilioSignature.verify(local, params(), TOKEN, signed)).isTrue();
        // signed without it (as Twilio's SDKs accept: its signing is inconsistent about ports)
        String withoutPort = TwilioSignature.compute("http://localhost/webhooks/twilio/status", params(), TOKEN);
        assertThat(TwilioSignature.verify(local, params(), TOKEN, withoutPort)).isTrue();
        assertThat(new RequestValidator(TOKEN).validate(local, single(params()), withoutPort)).as("Twilio's own").isTrue();
        assertThat(TwilioSignature.verify("http://localhost/webhooks/twilio/status", params(), TOKEN, signed)).isFalse();
        assertThat(TwilioSignature.verify("http://localhost:8081/webhooks/twilio/status", params(), TOKEN, signed)).isFalse();
        // The default port of the other scheme is not a default here.
        String https = TwilioSignature.compute("https://example.org:80/x", params(), TOKEN);
        assertThat(TwilioSignature.verify("https://example.org/x", params(), TOKEN, https)).isFalse();
    }

    @Test
    void urlVariantsKeepEverythingButThePort() {
        assertThat(TwilioSignature.urlVariants("https://u:p@h.example/a:b?c=d:443#f"))
                .containsExactly("https://u:p@h.example/a:b?c=d:443#f", "https://u:p@h.example:443/a:b?c=d:443#f");
        assertThat(TwilioSignature.urlVariants("http://[::1]:80/x")).containsExactly("http://[::1]:80/x", "http://[::1]/x");
        assertThat(TwilioSignature.urlVariants("https://h.example:8443/x")).containsExactly("https://h.example:8443/x", "https://h.example/x");
        assertThat(TwilioSignature.urlVariants("http://[::1]/x")).containsExactly("http://[::1]/x", "http://[::1]:80/x");
        assertThat(TwilioSignature.urlVariants("HTTPS://h")).containsExactly("HTTPS://h", "HTTPS://h:443");
        assertThat(TwilioSignature.urlVariants("ftp://h/x")).containsExactly("ftp://h/x");
        assertThat(TwilioSignature.urlVariants("not a url")).containsExactly("not a url");
    }

    @ParameterizedTest
    @ValueSource(strings = {"CallSid", "Caller", "Digits", "From", "To"})
    void rejectsATamperedParameter(String name) {
        var tampered = new LinkedHashMap<>(params());
        tampered.put(name, List.of(tampered.get(name).get(0) + "0"));
        assertThat(TwilioSignature.verify(URL, tampered, TOKEN, EXPECTED)).isFalse();
    }

    @Test
    void rejectsAnAddedOrRemovedParameterAndAChangedUrlOrToken() {
        var added = new LinkedHashMap<>(params());
        added.put("Body", List.of("hi"));
        assertThat(TwilioSignature.verify(URL, added, TOKEN, EXPECTED)).isFalse();

        var removed = new LinkedHashMap<>(params());
        removed.remove("Digits");
        assertThat(TwilioSignature.verify(URL, removed, TOKEN, EXPECTED)).isFalse();

        assertThat(TwilioSignature.verify("https://mycompany.com/myapp.php?foo=1&bar=3", params(), TOKEN, EXPECTED)).isFalse();
        assertThat(TwilioSignature.verify("http://mycompany.com/myapp.php?foo=1&bar=2", params(), TOKEN, EXPECTED)).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), "54321", EXPECTED)).isFalse();
    }

    @Test
    void rejectsMissingOrMalformedSignatures() {
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, null)).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, "")).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, "   ")).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, EXPECTED.substring(1))).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), TOKEN, EXPECTED.toLowerCase())).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), null, EXPECTED)).isFalse();
        assertThat(TwilioSignature.verify(URL, params(), "", EXPECTED)).isFalse();
        assertThat(TwilioSignature.verify(null, params(), TOKEN, EXPECTED)).isFalse();
    }

    @Test
    void computeRequiresAUrlAndAToken() {
        assertThatThrownBy(() -> TwilioSignature.compute(URL, params(), "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TwilioSignature.compute(null, params(), TOKEN)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void repeatedValuesAreSignedInOrderAfterTheirName() {
        var params = new LinkedHashMap<String, List<String>>();
        params.put("MediaUrl", List.of("https://b.example/2.jpg", "https://a.example/1.jpg"));
        params.put("Body", List.of("hi"));
        String expected = TwilioSignature.compute("https://x.example/h", Map.of(
                "Body", List.of("hi"),
                "MediaUrl", List.of("https://b.example/2.jpg" + "MediaUrl" + "https://a.example/1.jpg")), TOKEN);
        assertThat(TwilioSignature.compute("https://x.example/h", params, TOKEN)).isEqualTo(expected);

        // also taken: the values sorted, repeats dropped (Twilio's Python validator signs them so)
        var sortedOnce = new LinkedHashMap<String, List<String>>();
        sortedOnce.put("MediaUrl", List.of("https://a.example/1.jpg", "https://b.example/2.jpg"));
        sortedOnce.put("Body", List.of("hi"));
        var repeated = new LinkedHashMap<>(params);
        repeated.put("MediaUrl", List.of("https://b.example/2.jpg", "https://a.example/1.jpg", "https://b.example/2.jpg"));
        assertThat(TwilioSignature.verify("https://x.example/h", repeated, TOKEN,
                TwilioSignature.compute("https://x.example/h", sortedOnce, TOKEN))).isTrue();
        // but not in an order that is neither as received nor sorted
        Map<String, List<String>> received = Map.of("Body", List.of("hi"),
                "MediaUrl", List.of("https://c.example/3.jpg", "https://a.example/1.jpg", "https://b.example/2.jpg"));
        Map<String, List<String>> otherOrder = Map.of("Body", List.of("hi"),
                "MediaUrl", List.of("https://b.example/2.jpg", "https://c.example/3.jpg", "https://a.example/1.jpg"));
        assertThat(TwilioSignature.verify("https://x.example/h", received, TOKEN,
                TwilioSignature.compute("https://x.example/h", otherOrder, TOKEN))).isFalse();
    }

    @Test
    void emptyParamsSignTheUrlAlone() {
        assertThat(TwilioSignature.compute(URL, Map.of(), TOKEN)).isEqualTo(TwilioSignature.compute(URL, null, TOKEN));
        assertThat(new RequestValidator(TOKEN).validate(URL, Map.of(), TwilioSignature.compute(URL, Map.of(), TOKEN))).isTrue();
    }

    @Test
    void agreesWithTwiliosOwnRequestValidator() {
        var sdk = new RequestValidator(TOKEN);
        assertThat(sdk.validate(URL, single(params()), EXPECTED)).isTrue();

        var callback = new LinkedHashMap<String, List<String>>();
        callback.put("MessageSid", List.of("SM0123456789abcdef0123456789abcdef"));
        callback.put("AccountSid", List.of("AC00000000000000000000000000000000"));
        callback.put("From", List.of("+14155550100"));
        callback.put("To", List.of("+14155550123"));
        callback.put("MessageStatus", List.of("delivered"));
        callback.put("SmsStatus", List.of("delivered"));
        callback.put("Body", List.of("Héllo wörld ✓ & more=stuff"));
        callback.put("ApiVersion", List.of("2010-04-01"));
        for (String url : List.of(
                "http://localhost:8080/webhooks/twilio/status",
                "https://api.example.com/webhooks/twilio/status",
                "https://api.example.com:443/webhooks/twilio/status?x=1&y=%20z",
                "http://api.example.com/webhooks/twilio/inbound")) {
            String ours = TwilioSignature.compute(url, callback, "local-auth-token");
            var validator = new RequestValidator("local-auth-token");
            assertThat(validator.validate(url, single(callback), ours)).as(url).isTrue();
            // And ours accepts what theirs accepts for the port variants.
            for (String variant : TwilioSignature.urlVariants(url)) {
                String theirsAccepts = TwilioSignature.compute(variant, callback, "local-auth-token");
                assertThat(validator.validate(url, single(callback), theirsAccepts)).as(variant).isTrue();
                assertThat(TwilioSignature.verify(url, callback, "local-auth-token", theirsAccepts)).as(variant).isTrue();
            }
            var tampered = new LinkedHashMap<>(callback);
            tampered.put("MessageStatus", List.of("failed"));
            assertThat(validator.validate(url, single(tampered), ours)).isFalse();
            assertThat(TwilioSignature.verify(url, tampered, "local-auth-token", ours)).isFalse();
        }
    }
}
