package groupmsg.integrations;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.List;

/**
 * How a receiver knows a delivery is ours: header {@code Groupmsg-Signature: t=<epoch seconds>,v1=<hex>}, where the
 * hex is HMAC-SHA256, keyed with the webhook's secret, of {@code <t>.<body>}. The time in the signed text lets the
 * receiver refuse an old delivery replayed at it (say, older than 5 minutes). After a rotation, until the previous
 * secret expires, a second {@code v1=} signs with it: a receiver still on the old secret (or already on the new
 * one) accepts the delivery when any {@code v1} matches.
 */
public final class WebhookSignature {
    public static final String HEADER = "Groupmsg-Signature";

    private WebhookSignature() {}

    public static String header(String secret, long epochSeconds, String body) {
        return header(List.of(secret), epochSeconds, body);
    }

    /** @param secrets the current secret first, then a previous one still signed with */
    public static String header(List<String> secrets, long epochSeconds, String body) {
        var header = new StringBuilder("t=").append(epochSeconds);
        for (String secret : secrets) header.append(",v1=").append(hmac(secret, epochSeconds + "." + body));
        return header.toString();
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
