package groupmsg.platform.config;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A SnapStart function has no access key variables, only Lambda's container credentials endpoint: the clients must
 * sign with what that endpoint gives (with the variables alone, every AWS call of a deployed function failed).
 * The endpoint and a DynamoDB endpoint are one JDK HTTP server here; the SDK reads the endpoint's settings from
 * system properties as well as from the environment, which a test cannot set.
 */
class FunctionCredentialsTest {
    private static final String FULL_URI = "aws.containerCredentialsFullUri";
    private static final String TOKEN = "aws.containerAuthorizationToken";

    private HttpServer server;

    @AfterEach
    void tearDown() {
        System.clearProperty(FULL_URI);
        System.clearProperty(TOKEN);
        if (server != null) server.stop(0);
    }

    @Test
    void withLambdasContainerEndpointTheClientsSignWithTheCredentialsItGives() throws IOException {
        List<String> credentialRequests = new CopyOnWriteArrayList<>();
        List<String> signedRequests = new CopyOnWriteArrayList<>();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String expiration = Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString();
        server.createContext("/2021-04-23/credentials", exchange -> {
            credentialRequests.add(exchange.getRequestHeaders().getFirst("Authorization"));
            answer(exchange, "application/json", """
                    {"AccessKeyId":"ASIAFROMCONTAINER","SecretAccessKey":"secret-from-container",
                     "Token":"session-from-container","Expiration":"%s"}""".formatted(expiration));
        });
        server.createContext("/", exchange -> {
            signedRequests.add(exchange.getRequestHeaders().getFirst("Authorization") + " | "
                    + exchange.getRequestHeaders().getFirst("X-Amz-Security-Token"));
            answer(exchange, "application/x-amz-json-1.0", "{\"TableNames\":[]}");
        });
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        System.setProperty(FULL_URI, base + "/2021-04-23/credentials");
        System.setProperty(TOKEN, "container-token");

        try (DynamoDbClient dynamo = DynamoDbClient.builder()
                .httpClient(UrlConnectionHttpClient.builder().build())
                .region(Region.US_EAST_1)
                .endpointOverride(URI.create(base))
                .credentialsProvider(Wiring.functionCredentials())
                .build()) {
            dynamo.listTables();
            dynamo.listTables();
        }

        assertThat(credentialRequests).as("fetched once, then cached until near its expiry").containsExactly("container-token");
        assertThat(signedRequests).hasSize(2).allSatisfy(request -> assertThat(request)
                .contains("Credential=ASIAFROMCONTAINER/")
                .endsWith(" | session-from-container"));
    }

    @Test
    void withoutTheEndpointTheFunctionsVariablesAreUsed() {
        // (a machine that has the endpoint in its environment, such as an EKS pod, has the container provider here)
        boolean endpointInEnvironment = System.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != null;
        assertThat(Wiring.functionCredentials()).isInstanceOf(endpointInEnvironment
                ? software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider.class
                : EnvironmentVariableCredentialsProvider.class);
    }

    private static void answer(HttpExchange exchange, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(200, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }
}
