package groupmsg.local;

import groupmsg.accounts.AccountService;
import groupmsg.accounts.CreatedAccount;
import groupmsg.notify.Topic;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The runtime's own endpoints (API.md, "Local runtime only"): {@code GET /local/health},
 * {@code POST /local/accounts} and {@code GET /local/events}; and {@code POST /local/events}, through which
 * {@code invoke} publishes the events of a handler it runs against this runtime. Not deployed, so not behind the
 * authorizer.
 */
final class LocalEndpoints {
    /** A health check must answer quickly even when a service hangs. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
    private static final int MAX_ACCOUNT_NAME = 100;

    private final DynamoDbClient dynamo;
    private final SqsClient sqs;
    private final AccountService accounts;
    private final LocalFunctions functions;
    private final Clock clock;
    private final Instant startedAt;
    private final RecordingEventPublisher events;

    LocalEndpoints(DynamoDbClient dynamo, SqsClient sqs, AccountService accounts, LocalFunctions functions,
                   Clock clock, Instant startedAt, RecordingEventPublisher events) {
        this.dynamo = dynamo;
        this.sqs = sqs;
        this.accounts = accounts;
        this.functions = functions;
        this.clock = clock;
        this.startedAt = startedAt;
        this.events = events;
    }

    Map<String, HttpGateway.LocalEndpoint> routes() {
        return Map.of(
                "GET /local/health", this::health,
                "POST /local/accounts", this::createAccount,
                "GET /local/events", this::events,
                "POST /local/events", this::publish);
    }

    /** 200 when DynamoDB and SQS both answer, 503 otherwise; handlers that failed to load are listed. */
    GatewayResponse health(GatewayRequest request) {
        String dynamoStatus = probe(() -> dynamo.listTables(r -> r.limit(1)
                .overrideConfiguration(c -> c.apiCallTimeout(PROBE_TIMEOUT))));
        String sqsStatus = probe(() -> sqs.listQueues(r -> r
                .overrideConfiguration(c -> c.apiCallTimeout(PROBE_TIMEOUT))));
        boolean up = dynamoStatus.equals("ok") && sqsStatus.equals("ok");

        var handlers = new LinkedHashMap<String, String>();
        for (LocalFunction f : functions.all()) handlers.put(f.name(), f.initialised() ? "ok" : "failed");
        var body = new LinkedHashMap<String, Object>();
        body.put("status", up ? "ok" : "unavailable");
        body.put("dynamodb", dynamoStatus);
        body.put("sqs", sqsStatus);
        body.put("handlers", handlers);
        body.put("uptimeSeconds", Duration.between(startedAt, clock.instant()).toSeconds());
        body.put("pid", ProcessHandle.current().pid()); // what DATA_DIR/runtime.json names: this runtime is up
        return GatewayResponse.json(up ? 200 : 503, body);
    }

    private static String probe(Runnable call) {
        try {
            call.run();
            return "ok";
        } catch (RuntimeException e) {
            return "unavailable: " + e.getClass().getSimpleName();
        }
    }

    /**
     * {@code {name}} -> 201 {@code {accountId, apiKey}}: a new account and its owner key. The body is read as the API
     * reads one (strict JSON, unknown fields refused, a name the API would take: no control characters, one line).
     */
    GatewayResponse createAccount(GatewayRequest request) {
        String name;
        try {
            JsonBody body = new JsonBody(Json.parseObject(ApiRequest.jsonText(request.body())), "")
                    .allowOnly("name");
            name = body.name("name", body.requiredString("name", 1, MAX_ACCOUNT_NAME), MAX_ACCOUNT_NAME);
            body.validate();
        } catch (Json.NotAnObjectException e) {
            return GatewayResponse.error(400, "invalid_request", "body must be a JSON object {\"name\": \"...\"}, not " + e.kind());
        } catch (Json.JsonSyntaxException e) {
            return GatewayResponse.error(400, "invalid_request", "body is not valid JSON: " + e.getMessage());
        } catch (ApiException e) {
            return GatewayResponse.error(e.code().status(), e.code().wire(), e.getMessage(), e.details());
        }
        CreatedAccount created = accounts.createAccount(name);
        var response = new LinkedHashMap<String, Object>();
        response.put("accountId", created.accountId());
        response.put("apiKey", created.apiKey());
        return GatewayResponse.json(201, response).withHeader("cache-control", "no-store"); // it shows the key
    }

    /**
     * {@code ?topic=notifications|integrations} -> {@code {items: [...]}}: the messages published to the topic,
     * oldest first, each exactly the JSON that was published (spliced in as recorded, not re-serialised).
     */
    GatewayResponse events(GatewayRequest request) {
        String name = ApiGatewayEvents.queryParameters(request.rawQuery()).get("topic");
        String known = String.join("|", Arrays.stream(Topic.values()).map(Topic::wireName).toList());
        if (name == null || name.isBlank()) {
            return GatewayResponse.error(400, "invalid_request", "topic is required (" + known + ")");
        }
        Optional<Topic> topic = RecordingEventPublisher.topicNamed(name);
        if (topic.isEmpty()) {
            return GatewayResponse.error(400, "invalid_request", "unknown topic '" + name + "' (" + known + ")");
        }
        String body = "{\"items\":[" + String.join(",", events.events(topic.get())) + "]}";
        return new GatewayResponse(200, Map.of("content-type", List.of(GatewayResponse.JSON_TYPE)),
                body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@code {topic, accountId, type, event}} -> 202: publishes the event as a handler of this runtime would (recorded
     * for {@code GET /local/events}, handed to the webhooks queue, and to SNS_ENDPOINT's topic when set). How a handler
     * run by {@code invoke} in another process publishes (see {@link RuntimeEventPublisher}).
     */
    GatewayResponse publish(GatewayRequest request) {
        Topic topic;
        String accountId;
        String type;
        Map<String, Object> event;
        try {
            JsonBody body = new JsonBody(Json.parseObject(ApiRequest.jsonText(request.body())), "")
                    .allowOnly("topic", "accountId", "type", "event");
            String name = body.requiredString("topic", 1, 100);
            accountId = body.requiredString("accountId", 1, 200);
            type = body.requiredString("type", 1, 100);
            event = body.raw("event") instanceof Map<?, ?> m ? copyOf(m) : null;
            if (event == null) body.problem("event", "must be a JSON object");
            Optional<Topic> known = name == null ? Optional.empty() : RecordingEventPublisher.topicNamed(name);
            if (name != null && known.isEmpty()) body.problem("topic", "unknown topic '" + name + "'");
            body.validate();
            topic = known.orElseThrow();
        } catch (Json.JsonSyntaxException e) {
            return GatewayResponse.error(400, "invalid_request", "body is not a JSON object: " + e.getMessage());
        } catch (ApiException e) {
            return GatewayResponse.error(e.code().status(), e.code().wire(), e.getMessage(), e.details());
        }
        events.publish(topic, accountId, type, event);
        return new GatewayResponse(202, Map.of(), new byte[0]);
    }

    private static Map<String, Object> copyOf(Map<?, ?> map) {
        var copy = new LinkedHashMap<String, Object>();
        map.forEach((k, v) -> copy.put(String.valueOf(k), v));
        return copy;
    }
}
