package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.platform.schema.Handlers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code invoke} against the running runtime: DATA_DIR holds a runtime.json naming the shared test runtime's
 * services, as a runtime started on that DATA_DIR would write it.
 */
@ExtendWith(LocalRuntimeExtension.class)
class InvokeCommandE2eTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int invoke(Path dataDir, String... args) {
        return InvokeCommand.run(args, Map.of("DATA_DIR", dataDir.toString()),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private static void writeRuntimeFile(LocalRuntime runtime, Path dataDir) {
        var queueUrls = new java.util.LinkedHashMap<String, String>();
        runtime.queues().forEach((name, q) -> queueUrls.put(name, q.url()));
        new RuntimeFile(ProcessHandle.current().pid(), Instant.now().toString(), runtime.baseUrl(),
                runtime.settings().region(), runtime.dynamoEndpoint(), runtime.sqsEndpoint(), null, queueUrls)
                .write(RuntimeFile.pathIn(dataDir));
    }

    @Test
    void runsAHandlerOnAnEventFileAgainstTheRunningRuntimesData(LocalRuntime runtime, ApiClient api, @TempDir Path dataDir)
            throws Exception {
        ApiClient account = api.forNewAccount("invoke test");
        assertThat(account.post("/v1/groups", Map.of("name", "Made over HTTP")).status()).isEqualTo(201);
        String accountId = (String) account.get("/v1/account").jsonObject().get("id");

        writeRuntimeFile(runtime, dataDir);
        var meta = new ApiGatewayEvents.RequestMeta("req", Instant.now(), "Root=1-0-0", 443);
        var request = new GatewayRequest("GET", "/v1/groups", "", Map.of("Host", List.of("localhost")), null, "127.0.0.1", "HTTP/1.1");
        Map<String, Object> event = new ApiGatewayEvents("us-east-1").httpEvent(request, "GET /v1/groups", Map.of(),
                Map.of("accountId", accountId, "keyId", "key_test", "role", "owner"), meta);
        Path eventFile = dataDir.resolve("list-groups.json");
        Files.writeString(eventFile, JSON.std.asString(event));

        int code = invoke(dataDir, Handlers.GROUPS_API.name(), eventFile.toString());

        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Map<String, Object> response = JSON.std.mapFrom(out.toString(StandardCharsets.UTF_8));
        assertThat(response).containsEntry("statusCode", 200);
        assertThat((String) response.get("body")).contains("Made over HTTP");
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("using the running local runtime");
    }

    @Test
    void aFailingInvocationPrintsLambdasErrorDocument(LocalRuntime runtime, @TempDir Path dataDir) throws Exception {
        writeRuntimeFile(runtime, dataDir);
        Path eventFile = dataDir.resolve("not-an-event.json");
        Files.writeString(eventFile, "[1, 2, 3]");

        int code = invoke(dataDir, Handlers.GROUPS_API.name(), eventFile.toString());

        assertThat(code).isEqualTo(1);
        Map<String, Object> error = JSON.std.mapFrom(out.toString(StandardCharsets.UTF_8));
        assertThat(error).containsKeys("errorMessage", "errorType");
    }

    @Test
    void badUsageExitsWith2(@TempDir Path dataDir) {
        assertThat(invoke(dataDir, "groups-api")).isEqualTo(2);
        assertThat(invoke(dataDir, "no-such-handler", "event.json")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown handler 'no-such-handler'");
        assertThat(invoke(dataDir, "groups-api", dataDir.resolve("missing.json").toString())).isEqualTo(2);
        assertThat(out.size()).isZero();
    }

    @Test
    void runtimeFileRoundTrips(@TempDir Path dataDir) {
        var file = new RuntimeFile(42, "2026-11-23T10:00:00Z", "http://127.0.0.1:8080", "us-east-1",
                java.net.URI.create("http://127.0.0.1:1"), java.net.URI.create("http://127.0.0.1:2"), null,
                Map.of("imports", "http://127.0.0.1:2/000000000000/imports.fifo"));
        Path path = RuntimeFile.pathIn(dataDir);
        file.write(path);
        assertThat(RuntimeFile.read(path)).contains(file);
        assertThat(file.servicesAnswer()).as("nothing listens there").isFalse();
        RuntimeFile.delete(path);
        assertThat(RuntimeFile.read(path)).isEmpty();
    }
}
