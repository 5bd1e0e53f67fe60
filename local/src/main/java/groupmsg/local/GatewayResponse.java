package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the local gateway sends back: status, headers (a name may repeat, e.g. set-cookie) and body bytes.
 *
 * @param headers lower-case header names to their values
 */
public record GatewayResponse(int status, Map<String, List<String>> headers, byte[] body) {

    public static final String JSON_TYPE = "application/json; charset=utf-8";

    public GatewayResponse {
        var copy = new LinkedHashMap<String, List<String>>();
        headers.forEach((k, v) -> copy.put(k, List.copyOf(v)));
        headers = Collections.unmodifiableMap(copy);
        body = body == null ? new byte[0] : body;
    }

    /** API Gateway's own answers ({@code {"message":"Forbidden"}} and the like), with its content type. */
    public static GatewayResponse gatewayMessage(int status, String message) {
        return new GatewayResponse(status, Map.of("content-type", List.of("application/json")),
                ("{\"message\":" + quote(message) + "}").getBytes(StandardCharsets.UTF_8));
    }

    /** A JSON answer of the runtime's own /local endpoints. */
    public static GatewayResponse json(int status, Object body) {
        try {
            return new GatewayResponse(status, Map.of("content-type", List.of(JSON_TYPE)),
                    JSON.std.asBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The contract's error body ({@code {"error":{"code","message","details"}}}) for the runtime's own endpoints. */
    public static GatewayResponse error(int status, String code, String message) {
        return error(status, code, message, List.of());
    }

    /** ... with the problems found, one {@code {field, message}} each. */
    public static GatewayResponse error(int status, String code, String message, List<?> details) {
        var error = new LinkedHashMap<String, Object>();
        error.put("code", code);
        error.put("message", message);
        error.put("details", details);
        return json(status, Map.of("error", error));
    }

    public GatewayResponse withHeader(String name, String value) {
        var copy = new LinkedHashMap<>(headers);
        List<String> values = new ArrayList<>(copy.getOrDefault(name, List.of()));
        values.add(value);
        copy.put(name, values);
        return new GatewayResponse(status, copy, body);
    }

    public String firstHeader(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    private static String quote(String text) {
        try {
            return JSON.std.asString(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
