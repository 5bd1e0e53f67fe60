package groupmsg.local;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.events.ScheduledEvent;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.schema.HandlerDef;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalFunctionTest {
    private static final FunctionSpec SPEC = new FunctionSpec("test-fn", 2, 256);

    /** A handler that binds RequestHandler's types through a generic base class. */
    abstract static class TypedBase<I, O> implements RequestHandler<I, O> {}

    static final class CountRecords extends TypedBase<SQSEvent, SQSBatchResponse> {
        @Override
        public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
            return new SQSBatchResponse(event.getRecords().stream()
                    .map(m -> new SQSBatchResponse.BatchItemFailure(m.getMessageId())).toList());
        }
    }

    /** A class, not a lambda: the runtime (like Lambda's) reads the event type from the class's generic interface. */
    static final class RecordingMaintenance implements RequestHandler<ScheduledEvent, Map<String, Object>> {
        final AtomicReference<ScheduledEvent> seen = new AtomicReference<>();

        @Override
        public Map<String, Object> handleRequest(ScheduledEvent event, Context context) {
            seen.set(event);
            return Map.of("swept", 0);
        }
    }

    private static LocalFunction function(RequestHandler<?, ?> handler) {
        return LocalFunction.of(SPEC, handler, "us-east-1", Clock.systemUTC());
    }

    @Test
    void resolvesDeclaredTypesThroughGenericSuperclasses() {
        assertThat(LocalFunction.requestHandlerTypes(CountRecords.class))
                .containsExactly(SQSEvent.class, SQSBatchResponse.class);
    }

    @Test
    void eventsAndResponsesGoThroughTheLambdaRuntimesSerialisation() throws Exception {
        String response = function(new CountRecords()).invoke("""
                {"Records":[{"messageId":"m-1","body":"x","eventSourceARN":"arn:aws:sqs:us-east-1:1:q"},
                            {"messageId":"m-2","body":"y"}]}""");
        assertThat(response).isEqualTo("{\"batchItemFailures\":[{\"itemIdentifier\":\"m-1\"},{\"itemIdentifier\":\"m-2\"}]}");
    }

    @Test
    void contextDescribesTheFunction() throws Exception {
        AtomicReference<Context> seen = new AtomicReference<>();
        RequestHandler<Map<String, Object>, String> handler = (event, context) -> {
            seen.set(context);
            return "ok";
        };
        assertThat(function(handler).invoke("{}", "req-1")).isEqualTo("\"ok\"");
        Context context = seen.get();
        assertThat(context.getAwsRequestId()).isEqualTo("req-1");
        assertThat(context.getFunctionName()).isEqualTo("test-fn");
        assertThat(context.getMemoryLimitInMB()).isEqualTo(256);
        assertThat(context.getInvokedFunctionArn()).isEqualTo("arn:aws:lambda:us-east-1:000000000000:function:test-fn");
        assertThat(context.getRemainingTimeInMillis()).isBetween(1, 2000);
    }

    @Test
    void aHandlerThatThrowsIsAnUnhandledError() {
        RequestHandler<Map<String, Object>, String> handler = (event, context) -> {
            throw new IllegalStateException("boom");
        };
        assertThatThrownBy(() -> function(handler).invoke("{}"))
                .isInstanceOfSatisfying(FunctionError.class, e -> {
                    assertThat(e.kind()).isEqualTo(FunctionError.Kind.UNHANDLED);
                    assertThat(e.getCause()).hasMessage("boom");
                });
    }

    @Test
    void aHandlerThatOverrunsItsTimeoutTimesOut() {
        RequestHandler<Map<String, Object>, String> slow = (event, context) -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "late";
        };
        var oneSecond = LocalFunction.of(new FunctionSpec("slow", 1, 128), slow, "us-east-1", Clock.systemUTC());
        long started = System.nanoTime();
        assertThatThrownBy(() -> oneSecond.invoke("{}"))
                .isInstanceOfSatisfying(FunctionError.class, e -> assertThat(e.kind()).isEqualTo(FunctionError.Kind.TIMEOUT));
        assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(5_000);
    }

    /**
     * An invocation abandoned at its timeout goes on in its thread (a handler may swallow the interrupt), but its AWS
     * calls, and those of threads it starts, fail from then on, as in a sandbox Lambda ended: before, it finished its
     * work after its caller was told it timed out. Calls before the timeout go as usual.
     */
    @Test
    void anInvocationAbandonedAtItsTimeoutHasItsAwsCallsCutOff() throws Exception {
        var cutoff = new InvocationCutoff();
        var credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local"));
        URI nowhere = URI.create("http://127.0.0.1:9");
        Wiring wiring = Wiring.create(new AppConfig("us-east-1", nowhere, nowhere, Map.of(), Map.of()), credentials, List.of(cutoff));
        var before = new AtomicReference<String>();
        var afterInItsThread = new java.util.concurrent.CompletableFuture<String>();
        var afterInAChild = new java.util.concurrent.CompletableFuture<String>();
        java.util.function.Supplier<String> call = () -> {
            try {
                wiring.dynamo().listTables();
                return "answered";
            } catch (RuntimeException e) {
                return String.valueOf(e.getMessage());
            }
        };
        RequestHandler<Map<String, Object>, String> overruns = (event, context) -> {
            before.set(call.get());
            try {
                Thread.sleep(3_000);
            } catch (InterruptedException e) {
                // swallowed, as a handler's catch-all may
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            afterInItsThread.complete(call.get());
            Thread.ofVirtual().start(() -> afterInAChild.complete(call.get()));
            return "late";
        };
        try {
            var twoSeconds = LocalFunction.of(new FunctionSpec("overruns", 2, 128), overruns, "us-east-1", Clock.systemUTC(), cutoff);
            assertThatThrownBy(() -> twoSeconds.invoke("{}"))
                    .isInstanceOfSatisfying(FunctionError.class, e -> assertThat(e.kind()).isEqualTo(FunctionError.Kind.TIMEOUT));
            String cutOff = "the invocation timed out: its AWS calls are cut off, as Lambda's would be";
            assertThat(before.get()).as("before its timeout: tried (nobody listens there)").isNotEqualTo(cutOff);
            assertThat(afterInItsThread.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(cutOff);
            assertThat(afterInAChild.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(cutOff);
            // another invocation of the same function goes as usual
            RequestHandler<Map<String, Object>, String> quick = (event, context) -> call.get();
            assertThat(LocalFunction.of(new FunctionSpec("quick", 5, 128), quick, "us-east-1", Clock.systemUTC(), cutoff).invoke("{}"))
                    .isNotEqualTo("\"" + cutOff + "\"");
        } finally {
            LocalRuntime.closeClients(wiring);
        }
    }

    @Test
    void requestsOverSixMegabytesAreRejectedBeforeTheHandlerRuns() {
        RequestHandler<String, String> echo = (event, context) -> event;
        String huge = "\"" + "a".repeat(LocalFunction.MAX_REQUEST_BYTES) + "\"";
        assertThatThrownBy(() -> function(echo).invoke(huge))
                .isInstanceOfSatisfying(FunctionError.class,
                        e -> assertThat(e.kind()).isEqualTo(FunctionError.Kind.REQUEST_TOO_LARGE));
    }

    @Test
    void aHandlerClassThatCannotBeBuiltBecomesAFailedFunction() {
        var credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local"));
        URI nowhere = URI.create("http://127.0.0.1:9");
        Wiring wiring = Wiring.create(new AppConfig("us-east-1", nowhere, nowhere, Map.of(), Map.of()), credentials, List.of());
        try {
            var def = new HandlerDef("ghost", "groupmsg.nowhere.GhostHandler", HandlerDef.Trigger.HTTP, 128, 3, List.of(), List.of());
            LocalFunction ghost = LocalFunctions.load(def, wiring);
            assertThat(ghost.initialised()).isFalse();
            assertThatThrownBy(() -> ghost.invoke("{}"))
                    .isInstanceOfSatisfying(FunctionError.class,
                            e -> assertThat(e.kind()).isEqualTo(FunctionError.Kind.INIT_FAILED));
        } finally {
            LocalRuntime.closeClients(wiring);
        }
    }

    @Test
    void aFunctionKnowsOnlyTheQueuesItsHandlerDefSendsToOrConsumesAsInAws() {
        var config = new AppConfig("us-east-1", null, null, Map.of(), Map.of("relays", "http://q/relays",
                "fanout", "http://q/fanout", "inbound", "http://q/inbound"));
        Wiring wiring = new Wiring(config, Clock.systemUTC(), new groupmsg.platform.config.Ids(), null, null, null, null);
        var inboundApi = LocalFunctions.asDeployed(groupmsg.platform.schema.Handlers.INBOUND_API, wiring).config();
        assertThat(inboundApi.queueUrl(groupmsg.platform.schema.Queues.RELAYS)).isEqualTo("http://q/relays");
        assertThatThrownBy(() -> inboundApi.queueUrl(groupmsg.platform.schema.Queues.INBOUND))
                .hasMessageContaining("no URL configured for queue inbound");
        // a consumer knows its own queue
        var worker = LocalFunctions.asDeployed(groupmsg.platform.schema.Handlers.INBOUND_WORKER, wiring).config();
        assertThat(worker.queueUrl(groupmsg.platform.schema.Queues.INBOUND)).isEqualTo("http://q/inbound");
        assertThat(worker.queueUrl(groupmsg.platform.schema.Queues.FANOUT)).isEqualTo("http://q/fanout");
    }

    @Test
    void aFunctionKnowsOnlyTheTablesItsHandlerDefListsAsInAws() {
        var config = new AppConfig("us-east-1", null, null, Map.of("core", "t-core", "members", "t-members",
                "deliveries", "t-deliveries"), Map.of());
        Wiring wiring = new Wiring(config, Clock.systemUTC(), new groupmsg.platform.config.Ids(), null, null, null, null);
        var webhookWorker = LocalFunctions.asDeployed(groupmsg.platform.schema.Handlers.WEBHOOK_WORKER, wiring).config();
        assertThat(webhookWorker.table(groupmsg.platform.schema.Tables.CORE)).isEqualTo("t-core");
        assertThatThrownBy(() -> webhookWorker.table(groupmsg.platform.schema.Tables.DELIVERIES))
                .hasMessageContaining("no name configured for table deliveries (set TABLE_DELIVERIES)");
        var messagesApi = LocalFunctions.asDeployed(groupmsg.platform.schema.Handlers.MESSAGES_API, wiring).config();
        assertThat(messagesApi.table(groupmsg.platform.schema.Tables.DELIVERIES)).isEqualTo("t-deliveries");
        // in AWS: the stack's variables only, no logical name taken for a missing one
        var deployed = AppConfig.fromEnvironment(Map.of("TABLE_CORE", "stack-core"));
        assertThat(deployed.table(groupmsg.platform.schema.Tables.CORE)).isEqualTo("stack-core");
        assertThatThrownBy(() -> deployed.table(groupmsg.platform.schema.Tables.MEMBERS)).hasMessageContaining("TABLE_MEMBERS");
    }

    @Test
    void maintenanceScheduleSendsEventBridgesScheduledEvent() throws Exception {
        var maintenance = new RecordingMaintenance();
        String json = MaintenanceTimer.scheduledEvent(Instant.parse("2026-11-23T10:15:30.456Z"), "us-east-1");
        assertThat(function(maintenance).invoke(json)).isEqualTo("{\"swept\":0}");

        ScheduledEvent event = maintenance.seen.get();
        assertThat(event.getDetailType()).isEqualTo("Scheduled Event");
        assertThat(event.getSource()).isEqualTo("aws.events");
        assertThat(event.getAccount()).isEqualTo("000000000000");
        assertThat(event.getRegion()).isEqualTo("us-east-1");
        assertThat(event.getTime().getMillis()).isEqualTo(Instant.parse("2026-11-23T10:15:30Z").toEpochMilli());
        assertThat(event.getResources()).containsExactly("arn:aws:events:us-east-1:000000000000:rule/groupmsg-maintenance");
        assertThat(event.getId()).isNotBlank();
    }
}
