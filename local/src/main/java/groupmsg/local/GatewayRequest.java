package groupmsg.local;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An HTTP request as the local gateway received it, independent of the HTTP server (so event building is unit
 * tested without sockets).
 *
 * @param rawPath  the path exactly as sent, still percent-encoded
 * @param rawQuery the query string as sent without the '?', "" when there is none
 * @param headers  header names as received (any case) with every value of repeated headers
 */
public record GatewayRequest(String method, String rawPath, String rawQuery, Map<String, List<String>> headers,
                             byte[] body, String sourceIp, String protocol) {

    public GatewayRequest {
        rawQuery = rawQuery == null ? "" : rawQuery;
        headers = Map.copyOf(headers);
        body = body == null ? new byte[0] : body;
    }

    /** The values of a header, matched ignoring case, in the order received. */
    public List<String> headerValues(String name) {
        return headers.entrySet().stream()
                .filter(e -> e.getKey().equalsIgnoreCase(name))
                .flatMap(e -> e.getValue().stream())
                .toList();
    }

    /** A header's values joined with ",", as API Gateway passes repeated headers. */
    public Optional<String> header(String name) {
        List<String> values = headerValues(name);
        return values.isEmpty() ? Optional.empty() : Optional.of(String.join(",", values));
    }

    /** The media type without parameters, lower case; "" when there is no Content-Type. */
    public String mediaType() {
        String type = header("content-type").orElse("");
        int semicolon = type.indexOf(';');
        return (semicolon < 0 ? type : type.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
    }
}
