package groupmsg.integrations;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;

/**
 * How a receiver knows a delivery is ours: header {@code Groupmsg-Signature: t=<epoch seconds>,v1=<hex>}, where the
 * hex is HMAC-SHA256, keyed with the webhook's secret, of {@code <t>.<body>}. The time in the signed text lets the
 * receiver refuse an old delivery replayed at it (say, older than 5 minutes).
 */
public final class WebhookSignature {
    public static final String HEADER = "Groupmsg-Signature";

    private WebhookSignature() {}

    public static String header(String secret, long epochSeconds, String body) {
        return "t=" + epochSeconds + ",v1=" + hmac(secret, epochSeconds + "." + body);
    }

    static String hmac(String secret, String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
