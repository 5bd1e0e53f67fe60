package groupmsg.platform.api;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import groupmsg.platform.config.Ids;
import groupmsg.platform.json.Json;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of an API Gateway HTTP API (payload 2.0) request a service needs, with the caller taken from the
 * authorizer's context only.
 */
public record ApiRequest(String routeKey, String rawPath, Map<String, String> pathParameters,
                         Map<String, String> query, Map<String, String> headers, byte[] body, Caller caller,
                         Creation creation) {

    /**
     * The ids of what a request run under an Idempotency-Key's claim creates: {@code ulid} the claim's; {@code rerun}
     * when an earlier run of the request held it; {@code renew} gives a fresh one (recorded on the claim).
     */
    public record Creation(String ulid, boolean rerun, java.util.function.Supplier<String> renew) {}

    /**
     * JSON bodies larger than this are refused with 413. The largest legitimate one is 1,000 members: ~150 KB as
     * plain UTF-8, but ~1.3 MB with 100-emoji names as most serialisers write them by default (each emoji a
     * "\\ud83d\\ude00" pair of escapes), which the 1 MB limit this was refused.
     */
    public static final int MAX_JSON_BYTES = 2 * 1024 * 1024;
    /** Longest path parameter looked up: 200 characters stay under DynamoDB's 1,024-byte sort key in UTF-8. */
    static final int MAX_PATH_PARAMETER = 200;

    /**
     * The request of an event. A path parameter longer than {@value #MAX_PATH_PARAMETER} characters names nothing we
     * have (ids are tens of characters, phone numbers under 20) and would be over DynamoDB's key size in a lookup: a
     * 404, before anything (an Idempotency-Key's claim included) is done with it.
     */
    public static ApiRequest from(APIGatewayV2HTTPEvent event) {
        Map<String, String> headers = lowerCased(event.getHeaders());
        byte[] body = decodeBody(event.getBody(), event.getIsBase64Encoded());
        Map<String, String> pathParameters = event.getPathParameters() == null ? Map.of() : event.getPathParameters();
        pathParameters.forEach((name, value) -> {
            if (value != null && value.length() > MAX_PATH_PARAMETER) {
                throw ApiException.notFound(name + " of " + value.length() + " characters");
            }
        });
        return new ApiRequest(event.getRouteKey(), event.getRawPath(), pathParameters,
                event.getQueryStringParameters() == null ? Map.of() : event.getQueryStringParameters(),
                headers, body, callerOf(event), null);
    }

    /** This request run under an Idempotency-Key's claim. */
    ApiRequest withCreation(Creation creation) {
        return new ApiRequest(routeKey, rawPath, pathParameters, query, headers, body, caller, creation);
    }

    /**
     * The time-ordered part of the ids of what this request creates. Under an Idempotency-Key, a run after one that
     * stored something under the claim's ({@code storedUnder} says so) gets that same one, so it finds it and does
     * not create it again; a run after one that stored nothing gets a fresh one, recorded for any later run, so what
     * it creates takes the time it is created. Otherwise a fresh one.
     */
    public String creationUlid(Ids ids, java.util.function.Predicate<String> storedUnder) {
        if (creation == null) return ids.next("");
        if (!creation.rerun() || storedUnder.test(creation.ulid())) return creation.ulid();
        return creation.renew().get();
    }

    /**
     * An id given as a query parameter (a filter such as {@code lineId}): one longer than any id of ours is a 400,
     * not a lookup of a key over DynamoDB's size limit.
     */
    public Optional<String> queryId(String name) {
        Optional<String> value = query(name).filter(v -> !v.isBlank());
        if (value.isPresent() && value.get().length() > MAX_PATH_PARAMETER) {
            throw ApiException.invalid(name + ": no id is " + value.get().length() + " characters long");
        }
        return value;
    }

    /**
     * A 400 naming a query parameter other than {@code allowed}: where a caller may expect a filter the route does not
     * apply (an export asked for {@code ?undeliverable=true} answered every member), rather than ignoring it.
     */
    public void onlyQuery(String... allowed) {
        var known = new java.util.HashSet<>(java.util.List.of(allowed)); // Paging adds limit and cursor: a repeat is fine
        for (String name : query.keySet()) {
            if (!known.contains(name)) {
                throw ApiException.invalid("query parameter " + Text.cut(name, 40) + " is not taken here (only "
                        + String.join(", ", allowed) + ")");
            }
        }
    }

    /** A query parameter that is true or false (any other value a 400); null when absent or blank. */
    public Boolean queryTrueOrFalse(String name) {
        return query(name).filter(v -> !v.isBlank()).map(v -> switch (v) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            default -> throw ApiException.invalid(name + " must be true or false");
        }).orElse(null);
    }

    /** The caller; routes behind the authorizer always have one. */
    public Caller requireCaller() {
        if (caller == null) throw new ApiException(ErrorCode.UNAUTHORIZED, "missing credentials");
        return caller;
    }

    public String accountId() {
        return requireCaller().accountId();
    }

    /** A path parameter (at most {@value #MAX_PATH_PARAMETER} characters: see {@link #from}). */
    public String path(String name) {
        String value = pathParameters.get(name);
        if (value == null || value.isEmpty()) throw ApiException.invalid("missing path parameter " + name);
        return value;
    }

    public Optional<String> query(String name) {
        return Optional.ofNullable(query.get(name)).filter(v -> !v.isEmpty());
    }

    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }

    /** The media type of the body without parameters, lower case; empty when absent. */
    public String mediaType() {
        String type = header("content-type").orElse("");
        int semi = type.indexOf(';');
        return (semi < 0 ? type : type.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    }

    /**
     * The {@code charset} parameter of the content type, lower case and unquoted; empty when there is none. The
     * other parameters are passed over.
     */
    public Optional<String> charset() {
        String type = header("content-type").orElse("");
        int semi = type.indexOf(';');
        while (semi >= 0) {
            int next = type.indexOf(';', semi + 1);
            String parameter = (next < 0 ? type.substring(semi + 1) : type.substring(semi + 1, next)).trim();
            int eq = parameter.indexOf('=');
            if (eq > 0 && parameter.substring(0, eq).trim().equalsIgnoreCase("charset")) {
                String value = parameter.substring(eq + 1).trim();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1).trim();
                }
                return Optional.of(value.toLowerCase(Locale.ROOT)).filter(v -> !v.isEmpty());
            }
            semi = next;
        }
        return Optional.empty();
    }

    /** Whether a {@link #charset} names UTF-8 (as it is spelt, with or without its hyphen). */
    public static boolean isUtf8(String charset) {
        return charset.equals("utf-8") || charset.equals("utf8");
    }

    /** Whether the body is to be read as JSON: no content type, {@code application/json} or a {@code +json} type. */
    public boolean jsonMediaType() {
        String type = mediaType();
        return type.isEmpty() || type.equals("application/json") || type.endsWith("+json");
    }

    /** As {@link #jsonBody}, but no body at all reads as {@code {}}: for a request whose every field is optional. */
    public JsonBody optionalJsonBody() {
        return body.length == 0 ? new JsonBody(Map.of(), "") : jsonBody();
    }

    /** The body as a JSON object, or a 4xx that says what is wrong with it. */
    public JsonBody jsonBody() {
        if (body.length == 0) throw ApiException.invalid("request body is required (a JSON object)");
        if (body.length > MAX_JSON_BYTES) {
            throw ApiException.tooLarge("request body is " + body.length + " bytes; the limit is " + MAX_JSON_BYTES);
        }
        // Read as JSON whatever its content type says: curl's -d sends a form type and fetch a text one, and the body
        // is JSON all the same. One that is not gets a 400 that names the type it came with.
        String text = jsonText(body);
        if (text.indexOf(REPLACEMENT_CHARACTER) >= 0) throw ApiException.invalid(REPLACED_BYTES);
        if (jsonWhitespace(text)) throw ApiException.invalid("request body is empty (only whitespace); send a JSON object");
        try {
            return new JsonBody(Json.parseObject(text), "");
        } catch (Json.NotAnObjectException e) {
            // valid JSON, so neither "not valid JSON" nor the content type is the trouble
            throw ApiException.invalid("body must be a JSON object, not " + e.kind());
        } catch (Json.JsonSyntaxException e) {
            throw ApiException.invalid("body is not valid JSON: " + e.getMessage()
                    + (jsonMediaType() ? "" : " (it was sent as " + mediaType() + "; send a JSON object as application/json)"));
        }
    }

    /** Whether the text is only JSON's whitespace (space, tab, line feed, carriage return), so it holds no value. */
    private static boolean jsonWhitespace(String text) {
        return text.chars().allMatch(c -> c == ' ' || c == '\t' || c == '\n' || c == '\r');
    }

    /**
     * U+FFFD is what a decoder puts in place of bytes that are not UTF-8. The local gateway hands such a body over
     * base64-encoded (so {@link #utf8} refuses it), but a gateway that decodes text leniently would hand over the
     * replacement characters instead; a JSON body or CSV file that holds one is refused either way, the webhooks'
     * (the carrier's text) are not. The escaped form in JSON ({@code "\\uFFFD"}) is a deliberate choice of the
     * sender and passes.
     */
    public static final char REPLACEMENT_CHARACTER = '\uFFFD';
    private static final String REPLACED_BYTES = "body holds U+FFFD, the replacement character, which stands for bytes that"
            + " were not UTF-8 (a lenient decoder's); send the text as UTF-8, or the character escaped as \\uFFFD in JSON";

    /**
     * A JSON body's text: UTF-8 without a leading byte-order mark, which JSON allows a reader to ignore and some
     * Windows tools write (it was refused as "Unexpected character (code 65279)").
     */
    public static String jsonText(byte[] bytes) {
        String text = utf8(bytes);
        return text.startsWith("\ufeff") ? text.substring(1) : text;
    }

    /** Strict UTF-8: malformed bytes are a 400, not silently replaced. */
    public static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw ApiException.invalid("body is not valid UTF-8");
        }
    }

    private static byte[] decodeBody(String body, boolean base64) {
        if (body == null) return new byte[0];
        if (!base64) return body.getBytes(StandardCharsets.UTF_8);
        try {
            return Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("body is not valid base64");
        }
    }

    private static Map<String, String> lowerCased(Map<String, String> headers) {
        if (headers == null) return Map.of();
        var out = new java.util.HashMap<String, String>(headers.size() * 2);
        headers.forEach((k, v) -> out.put(k.toLowerCase(Locale.ROOT), v));
        return out;
    }

    private static Caller callerOf(APIGatewayV2HTTPEvent event) {
        var ctx = event.getRequestContext();
        if (ctx == null || ctx.getAuthorizer() == null || ctx.getAuthorizer().getLambda() == null) return null;
        Map<String, Object> lambda = ctx.getAuthorizer().getLambda();
        Object account = lambda.get("accountId");
        Object key = lambda.get("keyId");
        Optional<Role> role = Role.fromWire(lambda.get("role") == null ? null : lambda.get("role").toString());
        if (account == null || key == null || role.isEmpty()) return null;
        return new Caller(account.toString(), key.toString(), role.get());
    }
}
