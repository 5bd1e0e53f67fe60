package groupmsg.carrier;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Twilio's {@code X-Twilio-Signature}: Base64 of HMAC-SHA1, keyed with the auth token, over the full URL Twilio
 * called followed by every POST parameter, sorted by name (case-sensitive, code-unit order), each as name + value
 * with no delimiters. A name with several values contributes name + value once per value, in the order given.
 */
public final class TwilioSignature {
    public static final String HEADER = "X-Twilio-Signature";

    private TwilioSignature() {}

    /** The signature Twilio would send for a POST of {@code params} to {@code url}. */
    public static String compute(String url, Map<String, List<String>> params, String authToken) {
        if (url == null) throw new IllegalArgumentException("url is required");
        if (authToken == null || authToken.isEmpty()) throw new IllegalArgumentException("authToken is required");
        StringBuilder data = new StringBuilder(url);
        if (params != null) {
            for (var entry : new TreeMap<>(params).entrySet()) {
                if (entry.getValue() == null) continue;
                for (String value : entry.getValue()) {
                    data.append(entry.getKey()).append(value == null ? "" : value);
                }
            }
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(authToken.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
            return Base64.getEncoder().encodeToString(mac.doFinal(data.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 is not available", e);
        }
    }

    /**
     * Whether {@code signatureHeader} is Twilio's signature of this request. Like Twilio's own validators, also
     * accepts the signature computed over the URL with the scheme's default port added (when it has none) or with
     * its port removed (any port: Twilio's SDKs do so, its signing being inconsistent about ports); and, when a
     * parameter has several values, over them sorted with repeats dropped (as Twilio's Python validator signs them).
     * Compares in constant time; a missing or blank header, or a missing token, never verifies.
     */
    public static boolean verify(String url, Map<String, List<String>> params, String authToken, String signatureHeader) {
        if (url == null || authToken == null || authToken.isEmpty() || signatureHeader == null || signatureHeader.isBlank()) {
            return false;
        }
        byte[] received = signatureHeader.strip().getBytes(StandardCharsets.UTF_8);
        List<Map<String, List<String>>> forms = new ArrayList<>(List.of(params == null ? Map.of() : params));
        if (params != null && params.values().stream().anyMatch(v -> v != null && v.size() > 1)) {
            var sorted = new TreeMap<String, List<String>>();
            params.forEach((name, values) -> sorted.put(name, values == null ? null
                    : values.stream().map(v -> v == null ? "" : v).distinct().sorted().toList()));
            forms.add(sorted);
        }
        boolean valid = false;
        for (String candidate : urlVariants(url)) {
            for (var form : forms) {
                byte[] expected = compute(candidate, form, authToken).getBytes(StandardCharsets.UTF_8);
                // No short-circuit: every variant is checked, each in constant time.
                valid |= MessageDigest.isEqual(expected, received);
            }
        }
        return valid;
    }

    /** The URL as given, then with its port removed (any port), or the default port added when it has none. */
    static List<String> urlVariants(String url) {
        Set<String> variants = new LinkedHashSet<>();
        variants.add(url);
        int schemeEnd = url.indexOf("://");
        if (schemeEnd > 0) {
            String scheme = url.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
            int defaultPort = switch (scheme) {
                case "https" -> 443;
                case "http" -> 80;
                default -> -1;
            };
            if (defaultPort > 0) {
                int authorityStart = schemeEnd + 3;
                int authorityEnd = authorityStart;
                while (authorityEnd < url.length() && "/?#".indexOf(url.charAt(authorityEnd)) < 0) authorityEnd++;
                String authority = url.substring(authorityStart, authorityEnd);
                int hostStart = authority.lastIndexOf('@') + 1;
                int colon = authority.lastIndexOf(':');
                int bracket = authority.lastIndexOf(']');
                String prefix = url.substring(0, authorityStart);
                String suffix = url.substring(authorityEnd);
                if (colon >= hostStart && colon > bracket) {
                    variants.add(prefix + authority.substring(0, colon) + suffix);
                } else if (!authority.isEmpty()) {
                    variants.add(prefix + authority + ":" + defaultPort + suffix);
                }
            }
        }
        return new ArrayList<>(variants);
    }
}
