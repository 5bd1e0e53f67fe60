package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import groupmsg.carrier.TwilioSignature;
import groupmsg.notify.Topic;
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
                runtime.settings().region(), runtime.dynamoEndpoint(), runtime.sqsEndpoint(), null, queueUrls,
                runtime.publicBaseUrl()).write(RuntimeFile.pathIn(dataDir));
    }

    /** A process that has ended, so its pid names no live process. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
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

    /**
     * With no runtime up on DATA_DIR but one starting there (it holds the DATA_DIR lock, and writes its runtime file
     * only once ready), invoke opens nothing beside it: it says so and exits 1. Once let go, it runs on services of its own.
     */
    @Test
    void aRuntimeStartingOnTheDataDirHoldsInvokeOff(@TempDir Path dataDir) throws Exception {
        String event = Path.of(System.getProperty("user.dir")).getParent().resolve("events/groups-api/list-groups.json").toString();
        try (var channel = java.nio.channels.FileChannel.open(dataDir.resolve(DataDirLock.FILE),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             var starting = channel.lock()) {
            assertThat(invoke(dataDir, "groups-api", event)).isEqualTo(1);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("a local runtime is starting on");
            assertThat(dataDir.resolve("shared-local-instance.db")).as("no database opened").doesNotExist();
        }
        assertThat(invoke(dataDir, "groups-api", event)).isZero();
        assertThat(dataDir.resolve("shared-local-instance.db")).exists();
        // and let go again at its exit
        try (var channel = java.nio.channels.FileChannel.open(dataDir.resolve(DataDirLock.FILE), java.nio.file.StandardOpenOption.WRITE);
             var free = channel.tryLock()) {
            assertThat(free).isNotNull();
        }
    }

    @Test
    void runtimeFileRoundTrips(@TempDir Path dataDir) {
        var file = new RuntimeFile(42, "2026-11-23T10:00:00Z", "http://127.0.0.1:8080", "us-east-1",
                java.net.URI.create("http://127.0.0.1:1"), java.net.URI.create("http://127.0.0.1:2"), null,
                Map.of("imports", "http://127.0.0.1:2/000000000000/imports.fifo"), "https://tunnel.example.com");
        Path path = RuntimeFile.pathIn(dataDir);
        file.write(path);
        assertThat(RuntimeFile.read(path)).contains(file);
        assertThat(file.servicesAnswer()).as("nothing listens there").isFalse();
        assertThat(file.runtimeIsUp()).isFalse();
        RuntimeFile.delete(path);
        assertThat(RuntimeFile.read(path)).isEmpty();
    }

    @Test
    void aKilledRuntimesFileIsNotARunningRuntimeEvenWhenItsExternalServicesStillAnswer(LocalRuntime runtime) throws Exception {
        var queueUrls = new java.util.LinkedHashMap<String, String>();
        runtime.queues().forEach((name, q) -> queueUrls.put(name, q.url()));
        var live = new RuntimeFile(ProcessHandle.current().pid(), Instant.now().toString(), runtime.baseUrl(),
                runtime.settings().region(), runtime.dynamoEndpoint(), runtime.sqsEndpoint(), null, queueUrls, null);
        // killed: its HTTP server went with it (nothing listens on port 1), its external services did not
        var killed = new RuntimeFile(deadPid(), live.startedAt(), "http://127.0.0.1:1", live.region(), live.dynamoEndpoint(),
                live.sqsEndpoint(), null, queueUrls, null);
        var otherRuntime = new RuntimeFile(deadPid(), live.startedAt(), live.baseUrl(), live.region(), live.dynamoEndpoint(),
                live.sqsEndpoint(), null, queueUrls, null);

        assertThat(killed.servicesAnswer()).isTrue();
        assertThat(killed.runtimeIsUp()).isFalse();
        assertThat(otherRuntime.runtimeIsUp()).as("its port now another runtime's").isFalse();
        assertThat(live.runtimeIsUp()).isTrue();
    }

    /**
     * A handler invoked against the running runtime has what the runtime's own handlers have: the runtime's emulator
     * as its carrier (before, none: a delivery job invoked failed every recipient for good) and the runtime's topics
     * (before, nowhere: its events were dropped and marked published).
     */
    @Test
    void anInvokedHandlerSendsThroughTheRunningRuntimesEmulatorAndPublishesToItsTopics(LocalRuntime runtime, ApiClient api,
                                                                                      @TempDir Path dataDir) throws Exception {
        writeRuntimeFile(runtime, dataDir);
        RuntimeFile file = RuntimeFile.read(RuntimeFile.pathIn(dataDir)).orElseThrow();
        String to = "+1646555" + String.format("%04d", (int) (ProcessHandle.current().pid() % 10_000));
        try (var events = new RuntimeEventPublisher(file.baseUrl())) {
            var wiring = InvokeCommand.wiringFor(file, LocalSettings.fromEnvironment(Map.of("DATA_DIR", dataDir.toString())), events);
            try {
                var sent = wiring.carrier().send(new OutboundMessage("+16465550100", to, "sent by invoke", List.of(), null));
                assertThat(sent).isInstanceOf(SendResult.Accepted.class);
                String sid = ((SendResult.Accepted) sent).carrierMessageId();
                assertThat(api.get("/local/carrier/messages?to=" + to).body()).contains(sid).contains("sent by invoke");

                String marker = "evt-" + System.nanoTime();
                wiring.events().publish(Topic.INTEGRATIONS, "acc_invoke", "invoke.test", Map.of("marker", marker));
                assertThat(api.get("/local/events?topic=integrations").body()).contains(marker).contains("invoke.test");
                assertThat(api.get("/local/events?topic=notifications").body()).doesNotContain(marker);
            } finally {
                LocalRuntime.closeClients(wiring);
            }
        }
    }

    @Test
    void aSignedCarrierWebhookInvokedAgainstTheRunningRuntimeIsTaken(LocalRuntime runtime, ApiClient api,
                                                                    @TempDir Path dataDir) throws Exception {
        ApiClient account = api.forNewAccount("invoke webhook");
        String line = "+1718555" + String.format("%04d", (int) (System.nanoTime() % 10_000));
        assertThat(account.post("/v1/lines", Map.of("phone", line, "type", "long_code", "groupMessaging", false)).status())
                .isEqualTo(201);
        writeRuntimeFile(runtime, dataDir);
        String from = "+17185550199";
        var params = new java.util.TreeMap<String, List<String>>(Map.of("MessageSid", List.of("SM" + "a".repeat(32)),
                "From", List.of(from), "To", List.of(line), "Body", List.of("hello from invoke"), "NumMedia", List.of("0")));
        String form = params.entrySet().stream().map(e -> java.net.URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                + "=" + java.net.URLEncoder.encode(e.getValue().getFirst(), StandardCharsets.UTF_8))
                .collect(java.util.stream.Collectors.joining("&"));
        String signature = TwilioSignature.compute(runtime.publicBaseUrl() + "/webhooks/twilio/inbound", params,
                runtime.settings().twilioAuthToken());
        var meta = new ApiGatewayEvents.RequestMeta("req", Instant.now(), "Root=1-0-0", 443);
        var request = new GatewayRequest("POST", "/webhooks/twilio/inbound", "",
                Map.of("Host", List.of("localhost"), "Content-Type", List.of("application/x-www-form-urlencoded"),
                        TwilioSignature.HEADER, List.of(signature)),
                form.getBytes(StandardCharsets.UTF_8), "127.0.0.1", "HTTP/1.1");
        Map<String, Object> event = new ApiGatewayEvents("us-east-1").httpEvent(request, "POST /webhooks/twilio/inbound",
                Map.of(), null, meta);
        Path eventFile = dataDir.resolve("inbound.json");
        Files.writeString(eventFile, JSON.std.asString(event));

        int code = invoke(dataDir, Handlers.CARRIER_WEBHOOK.name(), eventFile.toString());

        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Map<String, Object> response = JSON.std.mapFrom(out.toString(StandardCharsets.UTF_8));
        assertThat(response).as("signed over the runtime's public URL with its token").containsEntry("statusCode", 200);
        long deadline = System.currentTimeMillis() + 20_000;
        String inbound = account.get("/v1/inbound").body();
        while (!inbound.contains("hello from invoke") && System.currentTimeMillis() < deadline) {
            Thread.sleep(150);
            inbound = account.get("/v1/inbound").body();
        }
        assertThat(inbound).as("recorded, and its job done by the runtime").contains("hello from invoke");
    }

    @Test
    void theEventsEndpointRefusesWhatIsNotAnEvent(ApiClient api) {
        for (String body : List.of("[]", "{}", "{\"topic\":\"nope\",\"accountId\":\"a\",\"type\":\"t\",\"event\":{}}",
                "{\"topic\":\"integrations\",\"accountId\":\"a\",\"type\":\"t\",\"event\":[1]}",
                "{\"topic\":\"integrations\",\"accountId\":\"a\",\"type\":\"refused.event\",\"event\":{},\"x\":1}")) {
            var r = api.send("POST", "/local/events", "application/json", body);
            assertThat(r.status()).as(body).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        assertThat(api.get("/local/events?topic=integrations").body()).doesNotContain("refused.event");
    }
}
