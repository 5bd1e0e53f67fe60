package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A runtime that recovers what its last run lost serves the carrier emulator's routes (the recovery asks them) but
 * holds the API and its health check until it is done: a request taken meanwhile could overtake what it recovers.
 */
class HttpGatewayHoldTest {

    private static HttpResponse<String> get(HttpClient client, HttpGateway gateway, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aHeldApiAnswers503WhileTheEmulatorsRoutesAreServed() throws Exception {
        HttpGateway.LocalEndpoint ok = request -> GatewayResponse.gatewayMessage(200, "OK");
        try (HttpGateway gateway = HttpGateway.bind(0); HttpClient client = HttpClient.newHttpClient()) {
            gateway.holdApi();
            // no API behind it: a held request must not reach one
            gateway.serve(null, Map.of("GET /local/health", ok, "GET /local/carrier/messages", ok), Map.of("/2010-04-01/", ok));

            var api = get(client, gateway, "/v1/groups");
            assertThat(api.statusCode()).isEqualTo(503);
            assertThat(api.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(get(client, gateway, "/local/health").statusCode()).as("not ready yet").isEqualTo(503);
            assertThat(get(client, gateway, "/2010-04-01/Accounts/AC1/Messages/SM1.json").statusCode()).isEqualTo(200);
            assertThat(get(client, gateway, "/local/carrier/messages").statusCode()).isEqualTo(200);

            gateway.openApi();
            assertThat(get(client, gateway, "/local/health").statusCode()).isEqualTo(200);
        }
    }
}
