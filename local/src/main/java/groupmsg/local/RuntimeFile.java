package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code DATA_DIR/runtime.json}: where a running runtime's services are, so {@code invoke} (and tools) can work on
 * the same data and queues while it runs. Written once the runtime is ready, removed when it stops; a file left by
 * a runtime that was killed is recognised by its process being gone or its endpoints no longer answering.
 *
 * @param publicBaseUrl the URL carrier webhooks are signed over (PUBLIC_BASE_URL); null in a file written before it
 *                      was recorded
 */
public record RuntimeFile(long pid, String startedAt, String baseUrl, String region, URI dynamoEndpoint,
                          URI sqsEndpoint, URI snsEndpoint, Map<String, String> queueUrls, String publicBaseUrl) {

    public static final String FILE_NAME = "runtime.json";
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    public RuntimeFile {
        queueUrls = Map.copyOf(queueUrls);
    }

    public static Path pathIn(Path dataDir) {
        return dataDir.resolve(FILE_NAME);
    }

    /** Written to a temporary file and moved into place, so a reader never sees half a file. */
    public void write(Path file) {
        var json = new LinkedHashMap<String, Object>();
        json.put("pid", pid);
        json.put("startedAt", startedAt);
        json.put("baseUrl", baseUrl);
        json.put("region", region);
        json.put("dynamodbEndpoint", dynamoEndpoint.toString());
        json.put("sqsEndpoint", sqsEndpoint.toString());
        json.put("snsEndpoint", snsEndpoint == null ? null : snsEndpoint.toString());
        json.put("queueUrls", queueUrls);
        json.put("publicBaseUrl", publicBaseUrl);
        try {
            Path temp = file.resolveSibling(FILE_NAME + ".tmp");
            Files.writeString(temp, JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(json) + "\n");
            try {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The file's content; empty when there is no file or it cannot be read as one. */
    public static Optional<RuntimeFile> read(Path file) {
        if (!Files.isRegularFile(file)) return Optional.empty();
        try {
            Map<String, Object> json = JSON.std.mapFrom(Files.readString(file));
            Map<String, String> queues = new LinkedHashMap<>();
            if (json.get("queueUrls") instanceof Map<?, ?> m) m.forEach((k, v) -> queues.put(String.valueOf(k), String.valueOf(v)));
            return Optional.of(new RuntimeFile(
                    json.get("pid") instanceof Number n ? n.longValue() : -1,
                    String.valueOf(json.get("startedAt")),
                    String.valueOf(json.get("baseUrl")),
                    String.valueOf(json.get("region")),
                    URI.create(String.valueOf(json.get("dynamodbEndpoint"))),
                    URI.create(String.valueOf(json.get("sqsEndpoint"))),
                    json.get("snsEndpoint") == null ? null : URI.create(String.valueOf(json.get("snsEndpoint"))),
                    queues,
                    json.get("publicBaseUrl") == null ? null : String.valueOf(json.get("publicBaseUrl"))));
        } catch (IOException | RuntimeException e) {
            LocalLog.warn("runtime_file_unreadable", Map.of("file", file.toString()), e);
            return Optional.empty();
        }
    }

    public static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LocalLog.warn("runtime_file_not_deleted", Map.of("file", file.toString()), e);
        }
    }

    /**
     * Whether the runtime that wrote this file is up: its {@code /local/health} answers with its pid, and the DynamoDB
     * and SQS endpoints recorded here answer. Both, because external services (DYNAMODB_ENDPOINT, SQS_ENDPOINT) outlive
     * a runtime that was killed; asked over HTTP, not by the pid alone (a runtime in a container has a pid the host
     * does not see, and a dead runtime's pid can be another process's by now).
     */
    public boolean runtimeIsUp() {
        return answersAsThisRuntime() && servicesAnswer();
    }

    /**
     * The health check says whether this runtime is up: it answers with its pid (another pid: another runtime has the
     * port now), or nothing listens. A busy runtime may answer late (its health check probes the services, up to 2 s
     * each): with no answer in time, its process, where this one can see it, says.
     */
    private boolean answersAsThisRuntime() {
        try (var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1)
                .connectTimeout(PROBE_TIMEOUT).build()) {
            var response = http.send(java.net.http.HttpRequest.newBuilder(URI.create(baseUrl + "/local/health"))
                    .timeout(HEALTH_TIMEOUT).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            return JSON.std.mapFrom(response.body()).get("pid") instanceof Number n && n.longValue() == pid;
        } catch (java.net.http.HttpTimeoutException e) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(true);
        } catch (IOException | RuntimeException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Longer than the health check's own probes of DynamoDB and SQS take at most (2 s each). */
    private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(6);

    /** Whether the DynamoDB and SQS endpoints recorded here answer now. */
    boolean servicesAnswer() {
        var credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local"));
        try (var http = UrlConnectionHttpClient.builder().connectionTimeout(PROBE_TIMEOUT).socketTimeout(PROBE_TIMEOUT).build();
             var dynamo = DynamoDbClient.builder().httpClient(http).region(Region.of(region))
                     .credentialsProvider(credentials).endpointOverride(dynamoEndpoint).build();
             var sqs = SqsClient.builder().httpClient(http).region(Region.of(region))
                     .credentialsProvider(credentials).endpointOverride(sqsEndpoint).build()) {
            dynamo.listTables(r -> r.limit(1).overrideConfiguration(c -> c.apiCallTimeout(PROBE_TIMEOUT)));
            sqs.listQueues(r -> r.overrideConfiguration(c -> c.apiCallTimeout(PROBE_TIMEOUT)));
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
