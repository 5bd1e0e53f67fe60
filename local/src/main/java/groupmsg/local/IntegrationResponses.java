package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a Lambda function's JSON response the way an HTTP API with payload format 2.0 does. A JSON object with a
 * {@code statusCode} is a structured response ({@code headers}, {@code cookies} as set-cookie headers, {@code body},
 * {@code isBase64Encoded}; format 2.0 has no {@code multiValueHeaders}, which API Gateway ignores, and so does this:
 * a header sent only there would work here and be gone in AWS); anything else is "format inference": status 200,
 * content type application/json, the JSON itself as the body (a JSON string is its text).
 */
final class IntegrationResponses {
    private IntegrationResponses() {}

    /** The function's response is not one API Gateway can use; it answers 500 Internal Server Error. */
    static final class MalformedResponse extends Exception {
        MalformedResponse(String message) {
            super(message);
        }
    }

    static GatewayResponse toHttp(String json) throws MalformedResponse {
        Object value;
        try {
            value = JSON.std.anyFrom(json);
        } catch (IOException e) {
            throw new MalformedResponse("response is not JSON: " + e.getMessage());
        }
        if (!(value instanceof Map<?, ?> map) || !map.containsKey("statusCode")) {
            byte[] body = value instanceof String s ? s.getBytes(StandardCharsets.UTF_8)
                    : json.getBytes(StandardCharsets.UTF_8);
            return new GatewayResponse(200, Map.of("content-type", List.of("application/json")), body);
        }
        int status = statusCode(map.get("statusCode"));
        var headers = new LinkedHashMap<String, List<String>>();
        if (map.get("headers") instanceof Map<?, ?> single) {
            single.forEach((k, v) -> {
                if (v != null) add(headers, k, String.valueOf(v));
            });
        }
        if (map.get("cookies") instanceof List<?> cookies) {
            cookies.forEach(c -> add(headers, "set-cookie", String.valueOf(c)));
        }
        Object rawBody = map.get("body");
        byte[] body;
        if (rawBody == null) {
            body = new byte[0];
        } else if (Boolean.TRUE.equals(map.get("isBase64Encoded"))) {
            try {
                body = Base64.getDecoder().decode(String.valueOf(rawBody));
            } catch (IllegalArgumentException e) {
                throw new MalformedResponse("isBase64Encoded is true but the body is not base64");
            }
        } else {
            body = String.valueOf(rawBody).getBytes(StandardCharsets.UTF_8);
        }
        return new GatewayResponse(status, headers, body);
    }

    private static int statusCode(Object value) throws MalformedResponse {
        int status;
        if (value instanceof Number n) {
            status = n.intValue();
        } else {
            try {
                status = Integer.parseInt(String.valueOf(value));
            } catch (NumberFormatException e) {
                throw new MalformedResponse("statusCode is not a number: " + value);
            }
        }
        if (status < 100 || status > 599) throw new MalformedResponse("statusCode out of range: " + status);
        return status;
    }

    private static void add(Map<String, List<String>> headers, Object name, String value) {
        headers.computeIfAbsent(String.valueOf(name).toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(value);
    }
}
