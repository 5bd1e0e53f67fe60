package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The runtime listens on 127.0.0.1, but a web page open in the developer's browser can still reach it: a plain
 * cross-site POST to an unauthenticated /local/ endpoint, or a name of the page's own rebound to 127.0.0.1. Neither
 * reaches an endpoint; curl, the SDKs and the emulator (loopback Host, no Origin) do, and a tunnel's Host does for
 * the API and the carrier webhooks.
 */
class HttpGatewayForeignRequestsTest {

    /** The status line of a raw HTTP/1.1 POST with these Host and Origin headers (null: not sent). */
    private static String post(HttpGateway gateway, String path, String host, String origin) throws Exception {
        return post(gateway, path, host, origin, "");
    }

    private static String post(HttpGateway gateway, String path, String host, String origin, String moreHeaders) throws Exception {
        return statusLine(gateway.port(), "POST", path, host, origin, moreHeaders, "text/plain", "{\"topic\":\"integrations\"}");
    }

    /**
     * The status line of a raw HTTP/1.1 request to 127.0.0.1:{@code port} with these Host and Origin headers (null: not
     * sent), further header lines ({@code moreHeaders}, each ending in CRLF) and an ASCII body of {@code contentType}.
     */
    static String statusLine(int port, String method, String path, String host, String origin, String moreHeaders,
                             String contentType, String body) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            var request = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            if (host != null) request.append("Host: ").append(host).append("\r\n");
            if (origin != null) request.append("Origin: ").append(origin).append("\r\n");
            request.append(moreHeaders);
            request.append("Content-Type: ").append(contentType).append("\r\nContent-Length: ").append(body.length())
                    .append("\r\nConnection: close\r\n\r\n").append(body);
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return answer.substring(0, answer.indexOf("\r\n"));
        }
    }

    @Test
    void pagesInABrowserReachNoEndpointWhileLocalToolsAndATunnelDo() throws Exception {
        var calls = new AtomicInteger();
        HttpGateway.LocalEndpoint counted = request -> {
            calls.incrementAndGet();
            return GatewayResponse.gatewayMessage(200, "OK");
        };
        try (HttpGateway gateway = HttpGateway.bind(0)) {
            gateway.acceptPublicHost("https://abc123.tunnel.example", false);
            gateway.serve(null, Map.of("POST /local/events", counted), Map.of("/webhooks/", counted));
            int port = gateway.port();

            // a cross-site POST from a page (its Origin), and a rebound name (its Host): refused, nothing called
            assertThat(post(gateway, "/local/events", "localhost:" + port, "https://evil.example")).contains(" 403 ");
            assertThat(post(gateway, "/local/events", "localhost:" + port, "null")).contains(" 403 ");
            assertThat(post(gateway, "/local/events", "rebound.evil.example:" + port, null)).contains(" 403 ");
            assertThat(post(gateway, "/webhooks/twilio/inbound", "rebound.evil.example:" + port, null)).contains(" 403 ");
            // the tunnel's name reaches the webhooks, not the runtime's own unauthenticated endpoints
            assertThat(post(gateway, "/local/events", "abc123.tunnel.example", null)).contains(" 403 ");
            // nor through a tunnel that rewrote the Host to this machine's (it adds its forwarding header)
            assertThat(post(gateway, "/local/events", "localhost:" + port, null, "x-forwarded-for: 203.0.113.9\r\n")).contains(" 403 ");
            assertThat(calls).hasValue(0);

            assertThat(post(gateway, "/webhooks/twilio/inbound", "abc123.tunnel.example", null)).contains(" 200 ");
            for (String host : new String[]{"localhost:" + port, "127.0.0.1:" + port, "LOCALHOST", "[::1]:" + port}) {
                assertThat(post(gateway, "/local/events", host, null)).as(host).contains(" 200 ");
            }
            assertThat(post(gateway, "/local/events", "127.0.0.1:" + port, "http://localhost:3000")).as("a local page").contains(" 200 ");
            assertThat(calls).hasValue(6);
        }
    }

    /** With the published default carrier token, a tunnel reaches the API and not the carrier webhooks. */
    @Test
    void aTunnelReachesNoWebhookWhileTheCarrierTokenIsThePublishedDefault() throws Exception {
        var calls = new AtomicInteger();
        HttpGateway.LocalEndpoint counted = request -> {
            calls.incrementAndGet();
            return GatewayResponse.gatewayMessage(200, "OK");
        };
        try (HttpGateway gateway = HttpGateway.bind(0)) {
            gateway.acceptPublicHost("https://abc123.tunnel.example", true);
            gateway.serve(null, Map.of(), Map.of("/webhooks/", counted));
            int port = gateway.port();
            assertThat(post(gateway, "/webhooks/twilio/inbound", "abc123.tunnel.example", null)).contains(" 403 ");
            assertThat(post(gateway, "/webhooks/twilio/inbound", "localhost:" + port, null, "x-forwarded-for: 203.0.113.9\r\n"))
                    .contains(" 403 ");
            assertThat(calls).hasValue(0);
            assertThat(post(gateway, "/webhooks/twilio/inbound", "localhost:" + port, null)).as("the emulator's own").contains(" 200 ");
            assertThat(calls).hasValue(1);
        }
    }

    @Test
    void theRefusalNamesWhatWasWrong() {
        assertThat(HttpGateway.refusal("localhost:8080", null, "/local/accounts", null, false, true)).isNull();
        assertThat(HttpGateway.refusal(null, null, "/local/accounts", null, false, true)).as("HTTP/1.0, no Host").isNull();
        assertThat(HttpGateway.refusal("127.0.0.2", null, "/v1/groups", null, false, true)).isNull();
        assertThat(HttpGateway.refusal("app.localhost:8080", null, "/v1/groups", null, false, true)).isNull();
        assertThat(HttpGateway.refusal("0.0.0.0:8080", null, "/v1/groups", null, false, true)).isNull();
        assertThat(HttpGateway.refusal("host.docker.internal:8080", null, "/v1/groups", null, false, true)).isNull();
        // a tunnel that rewrote the Host to a loopback one still marks what it forwards
        assertThat(HttpGateway.refusal("localhost:8080", null, "/local/accounts", null, true, true)).contains("forwarded");
        assertThat(HttpGateway.refusal("localhost:8080", null, "/2010-04-01/Accounts/AC1/Messages.json", null, true, true))
                .contains("forwarded");
        assertThat(HttpGateway.refusal("localhost:8080", null, "/webhooks/twilio/inbound", null, true, true)).isNull();
        assertThat(HttpGateway.refusal("localhost:8080", null, "/v1/groups", null, true, true)).isNull();
        // a tunnel's name reaches the API and the webhooks only (not the emulator's Twilio API, its token known)
        assertThat(HttpGateway.refusal("abc.tunnel.example", null, "/v1/groups", "abc.tunnel.example", false, true)).isNull();
        assertThat(HttpGateway.refusal("abc.tunnel.example", null, "/2010-04-01/Accounts/AC1/Messages.json",
                "abc.tunnel.example", false, true)).contains("is not this machine");
        assertThat(HttpGateway.refusal("0.0.0.0:8080", "https://evil.example", "/local/events", null, false, true)).contains("Origin");
        assertThat(HttpGateway.refusal("127.0.0.1.evil.example", null, "/v1/groups", null, false, true)).contains("is not this machine");
        assertThat(HttpGateway.refusal("localhost", "https://localhost.evil.example", "/v1/groups", null, false, true)).contains("Origin");
        assertThat(HttpGateway.refusal("localhost", "not a url at all", "/v1/groups", null, false, true)).contains("Origin");
        // the carrier token the published default: a tunnel reaches the API, not the webhooks (anyone could sign)
        assertThat(HttpGateway.refusal("abc.tunnel.example", null, "/webhooks/twilio/inbound", "abc.tunnel.example", false, false))
                .isEqualTo(HttpGateway.PUBLISHED_TOKEN);
        assertThat(HttpGateway.refusal("localhost:8080", null, "/webhooks/twilio/inbound", null, true, false))
                .isEqualTo(HttpGateway.PUBLISHED_TOKEN);
        assertThat(HttpGateway.refusal("abc.tunnel.example", null, "/v1/groups", "abc.tunnel.example", false, false)).isNull();
        assertThat(HttpGateway.refusal("localhost:8080", null, "/webhooks/twilio/inbound", null, false, false))
                .as("this machine's own tools (the emulator) still").isNull();
    }

    /** curl sends a query's non-ASCII characters as raw UTF-8: read as UTF-8, not one char a byte ("JosÃ©"). */
    @Test
    void aQuerySentAsRawUtf8IsReadAsUtf8() throws Exception {
        var seen = new java.util.concurrent.atomic.AtomicReference<String>();
        HttpGateway.LocalEndpoint echo = request -> {
            seen.set(request.rawQuery());
            return GatewayResponse.gatewayMessage(200, "OK");
        };
        try (HttpGateway gateway = HttpGateway.bind(0)) {
            gateway.serve(null, Map.of("GET /local/echo", echo), Map.of());
            try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
                socket.getOutputStream().write(("GET /local/echo?search=Jos\u00e9&x=%C3%A9 HTTP/1.1\r\nHost: localhost\r\n"
                        + "Connection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 200");
            }
        }
        assertThat(seen.get()).isEqualTo("search=Jos\u00e9&x=%C3%A9");
        assertThat(HttpGateway.asUtf8("a=%20")).isEqualTo("a=%20");
        assertThat(HttpGateway.asUtf8(null)).isNull();
    }
}
