package groupmsg.local;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import groupmsg.platform.api.Text;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The runtime's HTTP server (the JDK's, one virtual thread per exchange) on 127.0.0.1. {@code /local/...} goes to
 * the runtime's own endpoints (health, accounts, the carrier emulator's tools), paths under a registered prefix
 * to that prefix's endpoint (the carrier emulator's Twilio REST API under {@code /2010-04-01/}), everything else
 * to the {@link ApiGateway}, exactly as it would reach the deployed API.
 *
 * <p>{@link #bind(int)} then {@link #serve} lets the runtime learn its port before it builds what needs it (the
 * carrier adapter's base URL); {@link #start} does both at once.
 */
public final class HttpGateway implements AutoCloseable {

    /** One of the runtime's own {@code /local/...} endpoints. */
    @FunctionalInterface
    public interface LocalEndpoint {
        GatewayResponse handle(GatewayRequest request) throws Exception;
    }

    private static final String LOCAL_PREFIX = "/local/";
    private static final String HEALTH_PATH = "/local/health";
    /** Headers the HTTP server computes itself; a handler's value for them would be wrong or duplicated. */
    private static final Set<String> SERVER_MANAGED = Set.of("content-length", "transfer-encoding", "connection", "date");

    private final HttpServer server;
    private final ExecutorService executor;
    // Set once by serve(), before the server starts accepting (HttpServer.start happens-before every exchange).
    private volatile ApiGateway api;
    private volatile Map<String, LocalEndpoint> localEndpoints = Map.of();
    private volatile Map<String, LocalEndpoint> prefixEndpoints = Map.of();
    private volatile boolean started;
    /** While set, the API and the health check answer 503: the runtime is serving, but not ready ({@link #holdApi}). */
    private volatile boolean apiHeld;
    /** The host of PUBLIC_BASE_URL when it is no loopback name (a tunnel's): taken for the API and webhooks (below). */
    private volatile String publicHost;
    /** Whether a tunnel may reach the carrier webhooks ({@link #acceptPublicHost}). */
    private volatile boolean tunnelWebhooks = true;

    private HttpGateway(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * @param localEndpoints keyed by {@code "METHOD /local/path"}
     */
    public static HttpGateway start(int port, ApiGateway api, Map<String, LocalEndpoint> localEndpoints) throws IOException {
        return bind(port).serve(api, localEndpoints, Map.of());
    }

    /** Connections waiting to be accepted (the kernel caps it at {@code net.core.somaxconn}). */
    static final int ACCEPT_BACKLOG = 1024;

    /** Binds 127.0.0.1:{@code port} (0: a free port) without serving yet; {@link #port()} is known from here on. */
    public static HttpGateway bind(int port) throws IOException {
        // The API, the webhooks and the carrier emulator share this server, whose one dispatcher thread accepts
        // connections: at 1,000 mps the senders open dozens at once, and with the default backlog (50) a burst
        // overflowed it on a busy CPU and connects timed out after 2 s (seen in the 10,000-recipient benchmark).
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), ACCEPT_BACKLOG);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        var gateway = new HttpGateway(server, executor);
        server.createContext("/", gateway::exchange);
        return gateway;
    }

    /**
     * Starts serving (once).
     *
     * @param localEndpoints  keyed by {@code "METHOD /local/path"}
     * @param prefixEndpoints keyed by a raw path prefix such as {@code "/2010-04-01/"}: every method and path under it
     *                        goes to that endpoint (checked before the API gateway; not for {@code /local/})
     */
    public synchronized HttpGateway serve(ApiGateway api, Map<String, LocalEndpoint> localEndpoints,
                                          Map<String, LocalEndpoint> prefixEndpoints) {
        if (started) throw new IllegalStateException("already serving");
        this.api = api;
        this.localEndpoints = Map.copyOf(localEndpoints);
        this.prefixEndpoints = Map.copyOf(prefixEndpoints);
        server.start();
        started = true;
        return this;
    }

    /**
     * Until {@link #openApi}, {@code /v1} requests and {@code GET /local/health} answer 503 (Retry-After 1) while
     * everything else is served: the runtime's start needs the carrier emulator's routes (what the last run lost is
     * looked up there) before it may take requests that would overtake what it recovers.
     */
    public void holdApi() {
        apiHeld = true;
    }

    public void openApi() {
        apiHeld = false;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * Takes requests whose Host is {@code publicBaseUrl}'s (a tunnel to this machine) to the API, and to the carrier
     * webhooks unless {@code publishedCarrierToken}: signed with the default token, which anyone can read, a text to
     * a line (a STOP, a START) could be forged by whoever learnt the tunnel's address. A request a tunnel forwarded
     * under a loopback Host is held to the same.
     */
    public void acceptPublicHost(String publicBaseUrl, boolean publishedCarrierToken) {
        String host = publicBaseUrl == null ? null : java.net.URI.create(publicBaseUrl).getHost();
        publicHost = host == null || isLoopbackName(host) ? null : host.toLowerCase(Locale.ROOT);
        tunnelWebhooks = !publishedCarrierToken;
    }

    /**
     * Why a request is refused as coming from a web page rather than from this machine's tools, or null. The runtime
     * listens on 127.0.0.1, but a page open in the developer's browser can reach it: by a plain POST (no preflight
     * for text/plain) to the unauthenticated /local/ endpoints (make an owner key, inject a STOP, publish an event
     * to the account's real webhooks), or through a name of its own rebound to 127.0.0.1 (then reading the answers).
     * So the Host must be a loopback name (or the tunnel's, for the API and the carrier webhooks: not the runtime's
     * own endpoints nor the emulator's Twilio API, whose account and default token are known), and an Origin, if
     * sent, a loopback one. Curl, the SDKs and the carrier emulator send no Origin.
     */
    static String refusal(String hostHeader, String originHeader, String rawPath, String publicHost, boolean forwarded,
                          boolean tunnelWebhooks) {
        boolean webhookWithPublishedToken = !tunnelWebhooks && rawPath.startsWith("/webhooks/");
        // a proxy or tunnel adds a forwarding header, and may have rewritten the Host to a loopback one
        // (ngrok --host-header=rewrite): what it forwards reaches the API and the webhooks only
        if (forwarded && webhookWithPublishedToken) return PUBLISHED_TOKEN;
        if (forwarded && !tunnelMayReach(rawPath, tunnelWebhooks)) return "a forwarded request (a tunnel's) reaches the API and the webhooks only";
        if (hostHeader != null) {
            String host = ApiGatewayEvents.hostWithoutPort(hostHeader.strip().toLowerCase(Locale.ROOT));
            boolean tunnelHost = publicHost != null && publicHost.equals(host);
            if (tunnelHost && webhookWithPublishedToken) return PUBLISHED_TOKEN;
            boolean tunnel = tunnelHost && tunnelMayReach(rawPath, tunnelWebhooks);
            if (!isLoopbackName(host) && !tunnel) return "Host " + Text.cut(hostHeader, 100) + " is not this machine";
        }
        if (originHeader != null) {
            String host;
            try {
                host = java.net.URI.create(originHeader.strip()).getHost();
            } catch (IllegalArgumentException e) {
                host = null;
            }
            if (host == null || !isLoopbackName(host)) return "requests from web pages are not taken (Origin "
                    + Text.cut(originHeader, 100) + ")";
        }
        return null;
    }

    /**
     * The JDK's server reads the request line's bytes one char each (ISO-8859-1); a client that sends UTF-8 unencoded
     * (curl with ?search=José) would have it read as "JosÃ©". Read as UTF-8, as API Gateway does.
     */
    static String asUtf8(String raw) {
        if (raw == null || raw.chars().allMatch(c -> c < 0x80)) return raw;
        if (raw.chars().anyMatch(c -> c > 0xFF)) return raw; // not bytes read one char each
        return new String(raw.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Headers a proxy or tunnel adds to what it forwards; this machine's own tools send none. */
    private static final List<String> FORWARDING_HEADERS = List.of("X-Forwarded-For", "Forwarded", "X-Forwarded-Host",
            "X-Real-IP", "CF-Connecting-IP");

    /** Why a tunnel's request to a carrier webhook is refused while the carrier token is the published default. */
    static final String PUBLISHED_TOKEN = "a tunnel reaches the carrier webhooks only with TWILIO_AUTH_TOKEN set: the default "
            + "token is published, and anyone could sign a text with it";

    /** What a tunnel to this machine may reach: the API (keys) and the carrier webhooks (signatures, a token of its own). */
    private static boolean tunnelMayReach(String rawPath, boolean tunnelWebhooks) {
        return isApi(rawPath) || tunnelWebhooks && rawPath.startsWith("/webhooks/");
    }

    private static boolean isApi(String rawPath) {
        return rawPath.startsWith("/v1/") || rawPath.equals("/v1");
    }

    private static boolean isLoopbackName(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        // 0.0.0.0 and Docker's name for the host too: names tools are given for "this machine" (no page can make a
        // browser send them as the Host of its own name; a page reaching them directly sends its Origin)
        return h.equals("localhost") || h.endsWith(".localhost") || h.equals("[::1]") || h.equals("0.0.0.0")
                || h.equals("host.docker.internal")
                || h.matches("127(\\.[0-9]{1,3}){3}");
    }

    private void exchange(HttpExchange exchange) {
        long started = System.nanoTime();
        String method = exchange.getRequestMethod().toUpperCase(Locale.ROOT);
        String rawPath = asUtf8(exchange.getRequestURI().getRawPath());
        try {
            GatewayResponse response = respond(exchange, method, rawPath);
            write(exchange, method, response);
            var fields = new LinkedHashMap<String, Object>();
            fields.put("method", method);
            fields.put("path", String.valueOf(rawPath));
            fields.put("status", response.status());
            fields.put("ms", (System.nanoTime() - started) / 1_000_000);
            LocalLog.info("http_request", fields);
        } catch (IOException e) {
            // The client went away; nothing to answer.
            LocalLog.warn("http_exchange_failed", Map.of("method", method, "path", String.valueOf(rawPath)), e);
        } finally {
            exchange.close();
        }
    }

    private GatewayResponse respond(HttpExchange exchange, String method, String rawPath) throws IOException {
        if (rawPath == null || rawPath.isEmpty()) rawPath = "/";
        var requestHeaders = exchange.getRequestHeaders();
        boolean forwarded = FORWARDING_HEADERS.stream().anyMatch(requestHeaders::containsKey);
        String refused = refusal(requestHeaders.getFirst("Host"), requestHeaders.getFirst("Origin"), rawPath, publicHost, forwarded,
                tunnelWebhooks);
        if (refused != null) {
            LocalLog.warn("http_request_refused", Map.of("method", method, "path", rawPath, "reason", refused));
            return GatewayResponse.error(403, "forbidden", refused);
        }
        String declaredLength = requestHeaders.getFirst("Content-Length");
        if (declaredLength != null && parseLength(declaredLength) > ApiGateway.MAX_BODY_BYTES) {
            return tooLarge(exchange.getRequestBody());
        }
        InputStream in = exchange.getRequestBody();
        byte[] body = in.readNBytes(ApiGateway.MAX_BODY_BYTES + 1);
        if (body.length > ApiGateway.MAX_BODY_BYTES) return tooLarge(in);
        in.close();

        var headers = new LinkedHashMap<String, List<String>>();
        requestHeaders.forEach((name, values) -> headers.put(name, List.copyOf(values)));
        var request = new GatewayRequest(method, rawPath, asUtf8(exchange.getRequestURI().getRawQuery()), headers, body,
                exchange.getRemoteAddress().getAddress().getHostAddress(), exchange.getProtocol());
        try {
            if (apiHeld && (isApi(rawPath) || rawPath.equals(HEALTH_PATH))) {
                return GatewayResponse.gatewayMessage(503, "Service Unavailable").withHeader("Retry-After", "1");
            }
            if (rawPath.startsWith(LOCAL_PREFIX)) return local(request);
            for (var prefixed : prefixEndpoints.entrySet()) {
                if (rawPath.startsWith(prefixed.getKey())) return prefixed.getValue().handle(request);
            }
            return api.handle(request, port());
        } catch (Exception e) {
            LocalLog.error("http_request_failed", Map.of("method", method, "path", rawPath), e);
            return GatewayResponse.gatewayMessage(500, "Internal Server Error");
        }
    }

    private GatewayResponse local(GatewayRequest request) throws Exception {
        LocalEndpoint endpoint = localEndpoints.get(request.method() + " " + request.rawPath());
        if (endpoint == null) {
            return GatewayResponse.error(404, "not_found", "no route for " + request.method() + " " + request.rawPath());
        }
        return endpoint.handle(request);
    }

    private static void write(HttpExchange exchange, String method, GatewayResponse response) throws IOException {
        var out = exchange.getResponseHeaders();
        response.headers().forEach((name, values) -> {
            if (!SERVER_MANAGED.contains(name.toLowerCase(Locale.ROOT))) out.put(name, values);
        });
        byte[] body = response.body();
        boolean noBody = method.equals("HEAD") || response.status() == 204 || response.status() == 304 || body.length == 0;
        exchange.sendResponseHeaders(response.status(), noBody ? -1 : body.length);
        if (!noBody) {
            try (OutputStream stream = exchange.getResponseBody()) {
                stream.write(body);
            }
        }
    }

    /** How much of an oversized body is read to answer it cleanly; past this the connection is simply closed. */
    private static final long DRAIN_LIMIT = 64L * 1024 * 1024;

    private static long parseLength(String value) {
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * The 413 for a body over the limit, once the rest of the body has been read and dropped (up to
     * {@link #DRAIN_LIMIT}): a connection closed while the request still arrives is reset, and the client, still
     * sending, could lose the answer (seen as "header parser received no bytes").
     */
    private static GatewayResponse tooLarge(InputStream in) throws IOException {
        try (in) {
            byte[] discarded = new byte[64 * 1024];
            long read = 0;
            for (int n; read < DRAIN_LIMIT && (n = in.read(discarded)) >= 0; ) read += n;
        }
        return GatewayResponse.gatewayMessage(413, "Request Entity Too Large");
    }

    /** Stops accepting requests and gives those in flight a second to finish. */
    @Override
    public synchronized void close() {
        // A server that never started has no exchanges to wait for.
        server.stop(started ? 1 : 0);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) executor.shutdownNow();
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
