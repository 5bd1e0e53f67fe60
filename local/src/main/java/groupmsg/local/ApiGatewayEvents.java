package groupmsg.local;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds the JSON documents API Gateway HTTP APIs send to Lambda: the payload format 2.0 request event and the
 * REQUEST authorizer event (simple responses). Field for field as AWS documents them, including its quirks:
 * header names are lower case and repeated headers are joined with ","; cookies leave the headers for their own
 * list; query values are decoded and repeated ones joined with ","; fields without a value are left out; bodies
 * of non-text content types are base64-encoded. One choice of ours: a body that is not valid UTF-8 is base64-encoded
 * too (whether AWS replaces its bad bytes instead is not documented; functions refuse either form of a JSON body).
 */
public final class ApiGatewayEvents {
    /** API Gateway's {@code requestContext.time}: {@code 12/Mar/2020:19:03:58 +0000}. */
    private static final DateTimeFormatter REQUEST_TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneOffset.UTC);
    private static final String STAGE = "$default";
    /** Hop-by-hop headers, which a proxy does not pass on. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "transfer-encoding",
            "upgrade", "proxy-connection", "te", "trailer");

    /**
     * What API Gateway knows about a request besides the request itself.
     *
     * @param traceId the {@code x-amzn-trace-id} API Gateway adds
     */
    public record RequestMeta(String requestId, Instant time, String traceId, int localPort) {}

    private final String region;

    /**
     * The request's path as an HTTP API passes it on: percent-decoded, as {@code rawPath} and {@code http.path} (REST
     * APIs and function URLs keep it encoded; HTTP APIs do not, as published captures show), so the same resource
     * asked for as {@code %2B1415...} and as {@code +1415...} is one path to a handler here as there (its Idempotency
     * target, say). The query string stays as sent.
     */
    static String decodedPath(GatewayRequest request) {
        return PercentDecoding.decodePath(request.rawPath());
    }

    public ApiGatewayEvents(String region) {
        this.region = region;
    }

    /** The payload format 2.0 event for a route's integration. */
    public Map<String, Object> httpEvent(GatewayRequest request, String routeKey, Map<String, String> pathParameters,
                                         Map<String, Object> authorizerContext, RequestMeta meta) {
        var event = new LinkedHashMap<String, Object>();
        event.put("version", "2.0");
        event.put("routeKey", routeKey);
        event.put("rawPath", decodedPath(request));
        event.put("rawQueryString", request.rawQuery());
        putCommon(event, request, meta);
        var context = requestContext(request, routeKey, meta);
        if (authorizerContext != null) {
            // Keep the documented order: authorizer comes right after apiId.
            var ordered = new LinkedHashMap<String, Object>();
            context.forEach((k, v) -> {
                ordered.put(k, v);
                if (k.equals("apiId")) ordered.put("authorizer", Map.of("lambda", authorizerContext));
            });
            context = ordered;
        }
        event.put("requestContext", context);
        if (pathParameters != null && !pathParameters.isEmpty()) event.put("pathParameters", pathParameters);
        byte[] body = request.body();
        // A body that is not valid UTF-8 cannot travel as text (decoding would quietly replace its bad bytes): it
        // goes base64-encoded, and the function's strict decoding answers 400.
        boolean binary = body.length > 0 && (!isText(request.mediaType()) || !validUtf8(body));
        if (body.length > 0) {
            event.put("body", binary ? Base64.getEncoder().encodeToString(body) : new String(body, StandardCharsets.UTF_8));
        }
        event.put("isBase64Encoded", binary);
        return event;
    }

    /**
     * The event of a REQUEST authorizer whose identity source is {@code $request.header.Authorization}.
     *
     * @param identity the Authorization header's value
     */
    public Map<String, Object> authorizerEvent(GatewayRequest request, String routeKey, Map<String, String> pathParameters,
                                               String identity, RequestMeta meta) {
        var event = new LinkedHashMap<String, Object>();
        event.put("version", "2.0");
        event.put("type", "REQUEST");
        event.put("routeArn", "arn:aws:execute-api:" + region + ":" + LocalAws.ACCOUNT_ID + ":" + LocalAws.API_ID
                + "/" + STAGE + "/" + request.method() + request.rawPath());
        event.put("identitySource", List.of(identity));
        event.put("routeKey", routeKey);
        event.put("rawPath", decodedPath(request));
        event.put("rawQueryString", request.rawQuery());
        putCommon(event, request, meta);
        event.put("requestContext", requestContext(request, routeKey, meta));
        if (pathParameters != null && !pathParameters.isEmpty()) event.put("pathParameters", pathParameters);
        return event;
    }

    static boolean validUtf8(byte[] bytes) {
        try {
            ApiRequest.utf8(bytes); // the function's own strict decoding
            return true;
        } catch (ApiException e) {
            return false;
        }
    }

    /**
     * Whether an HTTP API passes a body of this media type as text (otherwise base64): {@code text/*} and JSON, XML
     * and JavaScript only. A form post, as every Twilio webhook is, arrives base64-encoded in AWS, so it does here.
     */
    public static boolean isText(String mediaType) {
        return mediaType.startsWith("text/")
                || mediaType.equals("application/json")
                || mediaType.equals("application/xml")
                || mediaType.equals("application/javascript");
    }

    private void putCommon(Map<String, Object> event, GatewayRequest request, RequestMeta meta) {
        List<String> cookies = cookies(request);
        if (!cookies.isEmpty()) event.put("cookies", cookies);
        event.put("headers", headers(request, meta));
        Map<String, String> query = queryParameters(request.rawQuery());
        if (!query.isEmpty()) event.put("queryStringParameters", query);
    }

    private Map<String, Object> requestContext(GatewayRequest request, String routeKey, RequestMeta meta) {
        String host = hostWithoutPort(request.header("host").orElse("localhost"));
        var http = new LinkedHashMap<String, Object>();
        http.put("method", request.method());
        http.put("path", decodedPath(request));
        http.put("protocol", request.protocol());
        http.put("sourceIp", request.sourceIp());
        http.put("userAgent", request.header("user-agent").orElse(""));

        var context = new LinkedHashMap<String, Object>();
        context.put("accountId", LocalAws.ACCOUNT_ID);
        context.put("apiId", LocalAws.API_ID);
        context.put("domainName", host);
        context.put("domainPrefix", host.contains(".") && !Character.isDigit(host.charAt(0))
                ? host.substring(0, host.indexOf('.')) : host);
        context.put("http", http);
        context.put("requestId", meta.requestId());
        context.put("routeKey", routeKey);
        context.put("stage", STAGE);
        context.put("time", REQUEST_TIME.format(meta.time()));
        context.put("timeEpoch", meta.time().toEpochMilli());
        return context;
    }

    /** Lower-case names, repeated values joined with ",", plus the x-forwarded-* and trace headers API Gateway adds. */
    static Map<String, String> headers(GatewayRequest request, RequestMeta meta) {
        var headers = new LinkedHashMap<String, String>();
        request.headers().forEach((name, values) -> {
            String lower = name.toLowerCase(Locale.ROOT);
            // Payload 2.0 moves cookies out of the headers into their own list.
            if (HOP_BY_HOP.contains(lower) || lower.equals("cookie") || values.isEmpty()) return;
            headers.merge(lower, String.join(",", values), (a, b) -> a + "," + b);
        });
        headers.putIfAbsent("x-amzn-trace-id", meta.traceId());
        headers.merge("x-forwarded-for", request.sourceIp(), (existing, ip) -> existing + ", " + ip);
        headers.putIfAbsent("x-forwarded-port", Integer.toString(meta.localPort()));
        headers.putIfAbsent("x-forwarded-proto", "http");
        return headers;
    }

    /** Every cookie of every Cookie header, one entry each ({@code "a=1; b=2"} gives two). */
    static List<String> cookies(GatewayRequest request) {
        List<String> cookies = new ArrayList<>();
        for (String header : request.headerValues("cookie")) {
            for (String cookie : header.split(";")) {
                String trimmed = cookie.strip();
                if (!trimmed.isEmpty()) cookies.add(trimmed);
            }
        }
        return cookies;
    }

    /** Decoded query parameters; a repeated name gets its values joined with ",". */
    static Map<String, String> queryParameters(String rawQuery) {
        var parameters = new LinkedHashMap<String, String>();
        if (rawQuery == null || rawQuery.isEmpty()) return parameters;
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String name = PercentDecoding.decodeQuery(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : PercentDecoding.decodeQuery(pair.substring(eq + 1));
            parameters.merge(name, value, (a, b) -> a + "," + b);
        }
        return parameters;
    }

    /** A Host header's host without its port ("[::1]:8080" -> "[::1]", "localhost:8080" -> "localhost"). */
    static String hostWithoutPort(String host) {
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? host : host.substring(0, end + 1);
        }
        int colon = host.lastIndexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }
}
