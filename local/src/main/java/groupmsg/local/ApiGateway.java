package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import groupmsg.platform.schema.Handlers;

import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTP API in front of the handlers, behaving as API Gateway does for this stack: route matching, the Lambda
 * REQUEST authorizer on every route that has a permission, the Lambda proxy integration (payload 2.0), and API
 * Gateway's own answers when something fails before or instead of the handler:
 * <ul>
 *   <li>no (or an empty) Authorization header: 401 {@code {"message":"Unauthorized"}}, the authorizer is not called;</li>
 *   <li>the authorizer says no: 403 {@code {"message":"Forbidden"}};</li>
 *   <li>the authorizer or the handler fails, times out or answers something unusable: 500
 *       {@code {"message":"Internal Server Error"}};</li>
 *   <li>a body over 10 MB: 413 {@code {"message":"Request Entity Too Large"}}.</li>
 * </ul>
 * Nothing is cached between requests, as the stack turns the authorizer's cache off: a revoked key stops working at once. Unknown routes go to the
 * {@code $default} route's function (the contract's 404), without the authorizer, as the stack wires it.
 */
public final class ApiGateway {
    /** API Gateway's request payload limit. */
    public static final int MAX_BODY_BYTES = 10 * 1024 * 1024;

    private final RouteMatcher routes;
    private final LocalFunctions functions;
    private final ApiGatewayEvents events;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public ApiGateway(RouteMatcher routes, LocalFunctions functions, String region, Clock clock) {
        this.routes = routes;
        this.functions = functions;
        this.events = new ApiGatewayEvents(region);
        this.clock = clock;
    }

    public static ApiGateway forAllRoutes(LocalFunctions functions, String region, Clock clock) {
        return new ApiGateway(new RouteMatcher(Routes.ALL), functions, region, clock);
    }

    /**
     * @param localPort the port the request came in on (API Gateway's x-forwarded-port)
     */
    public GatewayResponse handle(GatewayRequest request, int localPort) {
        var meta = new ApiGatewayEvents.RequestMeta(newRequestId(), clock.instant(), newTraceId(), localPort);
        return handle(request, meta).withHeader("apigw-requestid", meta.requestId());
    }

    private GatewayResponse handle(GatewayRequest request, ApiGatewayEvents.RequestMeta meta) {
        if (request.body().length > MAX_BODY_BYTES) return GatewayResponse.gatewayMessage(413, "Request Entity Too Large");

        Optional<RouteMatcher.Match> match = routes.match(request.method(), request.rawPath());
        if (match.isEmpty()) {
            return integrate(Handlers.NOT_FOUND.name(), events.httpEvent(request, Routes.DEFAULT_ROUTE_KEY, null, null, meta),
                    meta);
        }
        RouteDef route = match.get().route();
        Map<String, String> pathParameters = match.get().pathParameters();

        Map<String, Object> authorizerContext = null;
        if (route.authorized()) {
            String identity = request.header("authorization").map(String::strip).orElse("");
            if (identity.isEmpty()) return GatewayResponse.gatewayMessage(401, "Unauthorized");
            switch (authorize(events.authorizerEvent(request, route.key(), pathParameters, identity, meta), meta)) {
                case Denied denied -> {
                    return GatewayResponse.gatewayMessage(403, "Forbidden");
                }
                case AuthorizerFailed failed -> {
                    return internalError();
                }
                case Allowed allowed -> authorizerContext = allowed.context();
            }
        }
        return integrate(route.handler(), events.httpEvent(request, route.key(), pathParameters, authorizerContext, meta),
                meta);
    }

    private sealed interface Decision permits Allowed, Denied, AuthorizerFailed {}

    private record Allowed(Map<String, Object> context) implements Decision {}

    private record Denied() implements Decision {}

    private record AuthorizerFailed() implements Decision {}

    /** Runs the authorizer and reads its simple response ({@code isAuthorized}, {@code context}). */
    private Decision authorize(Map<String, Object> event, ApiGatewayEvents.RequestMeta meta) {
        String response;
        try {
            response = function(Handlers.AUTHORIZER.name()).invoke(write(event));
        } catch (FunctionError e) {
            LocalLog.error("authorizer_failed", Map.of("requestId", meta.requestId(), "kind", e.kind().name()),
                    e.getCause() != null ? e.getCause() : e);
            return new AuthorizerFailed();
        }
        try {
            if (JSON.std.anyFrom(response) instanceof Map<?, ?> map && map.get("isAuthorized") instanceof Boolean allowed) {
                if (!allowed) return new Denied();
                var context = new LinkedHashMap<String, Object>();
                if (map.get("context") instanceof Map<?, ?> c) c.forEach((k, v) -> context.put(String.valueOf(k), v));
                return new Allowed(context);
            }
        } catch (IOException e) {
            // falls through to the error below
        }
        LocalLog.warn("authorizer_response_invalid", Map.of("requestId", meta.requestId(), "response", truncate(response)));
        return new AuthorizerFailed();
    }

    private GatewayResponse integrate(String functionName, Map<String, Object> event, ApiGatewayEvents.RequestMeta meta) {
        try {
            String response = function(functionName).invoke(write(event));
            return IntegrationResponses.toHttp(response);
        } catch (FunctionError e) {
            if (e.kind() == FunctionError.Kind.REQUEST_TOO_LARGE) {
                return GatewayResponse.gatewayMessage(413, "Request Entity Too Large");
            }
            LocalLog.error("integration_failed", Map.of("function", functionName, "requestId", meta.requestId(),
                    "kind", e.kind().name()), e.getCause() != null ? e.getCause() : e);
            return internalError();
        } catch (IntegrationResponses.MalformedResponse e) {
            LocalLog.warn("integration_response_invalid", Map.of("function", functionName,
                    "requestId", meta.requestId(), "problem", e.getMessage()));
            return internalError();
        }
    }

    /** A route naming a function the runtime does not have is a wiring bug: it fails like a broken function. */
    private LocalFunction function(String name) throws FunctionError {
        return functions.find(name).orElseThrow(() -> new FunctionError(FunctionError.Kind.INIT_FAILED, name,
                "no such function in Handlers.ALL", null));
    }

    private static GatewayResponse internalError() {
        return GatewayResponse.gatewayMessage(500, "Internal Server Error");
    }

    /** Request ids shaped like API Gateway's ({@code B2jBmj5DoAMEcIQ=}). */
    private String newRequestId() {
        byte[] bytes = new byte[11];
        random.nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }

    /** An X-Ray trace header: {@code Root=1-<epoch seconds hex>-<96 random bits hex>}. */
    private String newTraceId() {
        byte[] bytes = new byte[12];
        random.nextBytes(bytes);
        Instant now = clock.instant();
        return "Root=1-" + Long.toHexString(now.getEpochSecond()) + "-" + HexFormat.of().formatHex(bytes);
    }

    private static String write(Map<String, Object> event) {
        try {
            return JSON.std.asString(event);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write event", e);
        }
    }

    private static String truncate(String text) {
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }
}
