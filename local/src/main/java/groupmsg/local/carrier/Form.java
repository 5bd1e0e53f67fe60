package groupmsg.local.carrier;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code application/x-www-form-urlencoded} in and out, keeping repeated names and their order. */
public final class Form {
    private Form() {}

    /**
     * Parses a form body; a name without '=' has the value "". Throws {@link IllegalArgumentException} on a
     * malformed percent escape.
     */
    public static Map<String, List<String>> parse(String body) {
        var fields = new LinkedHashMap<String, List<String>>();
        if (body == null || body.isEmpty()) return fields;
        for (String pair : body.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            fields.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        fields.replaceAll((k, v) -> Collections.unmodifiableList(v));
        return fields;
    }

    /** Encodes every value of every name, in map order. */
    public static String encode(Map<String, List<String>> fields) {
        var out = new StringBuilder();
        fields.forEach((name, values) -> {
            for (String value : values) {
                if (!out.isEmpty()) out.append('&');
                out.append(URLEncoder.encode(name, StandardCharsets.UTF_8)).append('=')
                        .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
            }
        });
        return out.toString();
    }

    /** The first value of a field, or null. */
    public static String first(Map<String, List<String>> fields, String name) {
        List<String> values = fields.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /**
     * Query parameters (first value wins) decoded with percent escapes only: a literal '+' stays a '+', so
     * {@code ?to=+14155550123} typed by hand means the phone number.
     */
    public static Map<String, String> query(String rawQuery) {
        var params = new LinkedHashMap<String, String>();
        if (rawQuery == null || rawQuery.isEmpty()) return params;
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String name = percentDecode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : percentDecode(pair.substring(eq + 1));
            params.putIfAbsent(name, value);
        }
        return params;
    }

    /** A malformed escape ({@code %}, {@code %zz}) is kept as text, as the gateway keeps it (it was a 500). */
    private static String percentDecode(String text) {
        try {
            return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException malformed) {
            return text;
        }
    }
}
