package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A small HTTP client for end-to-end tests against a local runtime: JSON in and out, the API key sent as
 * {@code Authorization: Bearer}. Immutable; the {@code with...} methods return a changed copy.
 *
 * <pre>{@code
 * ApiClient.Response r = api.post("/v1/groups", Map.of("name", "Team"));
 * assertThat(r.status()).isEqualTo(201);
 * String id = (String) r.jsonObject().get("id");
 * api.withoutKey().get("/v1/groups").status();            // 401
 * api.withHeader("Idempotency-Key", "k1").post(...);
 * }</pre>
 */
public final class ApiClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final HttpClient http;
    private final String baseUrl;
    private final String apiKey;
    private final Map<String, String> headers;

    public ApiClient(String baseUrl, String apiKey) {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(), baseUrl, apiKey, Map.of());
    }

    private ApiClient(HttpClient http, String baseUrl, String apiKey, Map<String, String> headers) {
        this.http = http;
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
        this.headers = Map.copyOf(headers);
    }

    /** A response as received. */
    public record Response(int status, Map<String, List<String>> headers, String body) {

        /** The first value of a header (name in any case), or null. */
        public String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? null : values.get(0);
        }

        /** The body parsed as JSON (maps, lists, strings, numbers, booleans). */
        public Object json() {
            try {
                return JSON.std.anyFrom(body);
            } catch (IOException e) {
                throw new AssertionError("response body is not JSON (status " + status + "): " + body, e);
            }
        }

        @SuppressWarnings("unchecked")
        public Map<String, Object> jsonObject() {
            Object value = json();
            if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
            throw new AssertionError("response body is not a JSON object (status " + status + "): " + body);
        }

        /** {@code error.code} of the contract's error body, or null. */
        public String errorCode() {
            if (json() instanceof Map<?, ?> map && map.get("error") instanceof Map<?, ?> error) {
                return (String) error.get("code");
            }
            return null;
        }
    }

    public String baseUrl() {
        return baseUrl;
    }

    public String apiKey() {
        return apiKey;
    }

    public ApiClient withKey(String key) {
        return new ApiClient(http, baseUrl, key, headers);
    }

    /** Sends no Authorization header at all. */
    public ApiClient withoutKey() {
        return withKey(null);
    }

    public ApiClient withHeader(String name, String value) {
        var copy = new LinkedHashMap<>(headers);
        copy.put(name, value);
        return new ApiClient(http, baseUrl, apiKey, copy);
    }

    /** Creates an account through {@code POST /local/accounts} and returns a client holding its owner key. */
    public ApiClient forNewAccount(String name) {
        Response created = withoutKey().post("/local/accounts", Map.of("name", name));
        if (created.status() != 201) throw new AssertionError("could not create an account: " + created);
        return withKey((String) created.jsonObject().get("apiKey"));
    }

    public Response get(String path) {
        return send("GET", path, null, (byte[]) null);
    }

    public Response delete(String path) {
        return send("DELETE", path, null, (byte[]) null);
    }

    public Response post(String path, Object json) {
        return send("POST", path, "application/json", toJson(json));
    }

    public Response patch(String path, Object json) {
        return send("PATCH", path, "application/json", toJson(json));
    }

    public Response put(String path, Object json) {
        return send("PUT", path, "application/json", toJson(json));
    }

    /** A body of any type: CSV imports, form-encoded webhooks, malformed JSON. */
    public Response send(String method, String path, String contentType, String body) {
        return send(method, path, contentType, body == null ? null : body.getBytes(StandardCharsets.UTF_8));
    }

    public Response send(String method, String path, String contentType, byte[] body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(TIMEOUT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) request.header("Content-Type", contentType);
        if (apiKey != null) request.header("Authorization", "Bearer " + apiKey);
        headers.forEach(request::header);
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            var received = new LinkedHashMap<String, List<String>>();
            response.headers().map().forEach((k, v) -> received.put(k.toLowerCase(Locale.ROOT), v));
            return new Response(response.statusCode(), received, response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static String toJson(Object value) {
        try {
            return JSON.std.asString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
