package groupmsg.local;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2CustomAuthorizerEvent;
import com.amazonaws.services.lambda.runtime.events.SimpleIAMPolicyResponse;
import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.accounts.AuthorizerHandler;
import groupmsg.accounts.BootstrapAccountHandler;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.TableAccess;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.Select;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bootstrap-account function (the first account and owner key of a deployed stack) on DynamoDB Local: invoked as
 * Lambda would, its key then works through the authorizer and the API; bad input is an error result; the secret is
 * never logged; and it and the authorizer work within their narrowed IAM grants ({@code Handlers.NARROWED_TABLE_ACCESS}),
 * SnapStart priming included.
 */
@ExtendWith(LocalRuntimeExtension.class)
class BootstrapAccountE2eTest {
    private static final Path EVENTS = Path.of("..", "events");
    private static final String NAME = "bootstrap-account";

    private static String sampleEvent(String handler, String file) throws Exception {
        return Files.readString(EVENTS.resolve(handler).resolve(file));
    }

    private static Map<String, Object> invoke(LocalRuntime runtime, String payload) throws Exception {
        return JSON.std.mapFrom(runtime.functions().get(NAME).invoke(payload));
    }

    @Test
    @SuppressWarnings("unchecked")
    void createsAnAccountWhoseKeyIsAnOwnerKeyThroughTheAuthorizerAndTheApi(LocalRuntime runtime, ApiClient api) throws Exception {
        Map<String, Object> created = invoke(runtime, sampleEvent(NAME, "create-account.json"));
        assertThat(created).containsOnlyKeys("accountId", "apiKey");
        String accountId = (String) created.get("accountId");
        String apiKey = (String) created.get("apiKey");
        assertThat(accountId).startsWith("acct_");
        assertThat(apiKey).startsWith("gmk_");

        // The authorizer, invoked as API Gateway would with the sample request carrying the new key.
        String request = sampleEvent("authorizer", "request.json").replace("gmk_REDACTED_sample_key_value_0000000000000", apiKey);
        Map<String, Object> answer = JSON.std.mapFrom(runtime.functions().get(Handlers.AUTHORIZER.name()).invoke(request));
        assertThat(answer).containsEntry("isAuthorized", true);
        Map<String, Object> context = (Map<String, Object>) answer.get("context");
        assertThat(context).containsEntry("accountId", accountId).containsEntry("role", "owner");
        assertThat((String) context.get("keyId")).startsWith("key_");

        // ... and the whole way through the gateway: the account, named as asked, and its one owner key.
        ApiClient owner = api.withKey(apiKey);
        var account = owner.get("/v1/account");
        assertThat(account.status()).isEqualTo(200);
        assertThat(account.jsonObject()).containsEntry("id", accountId).containsEntry("name", "Acme Food Bank");
        var keys = owner.get("/v1/api-keys");
        assertThat(keys.status()).isEqualTo(200);
        assertThat((List<Object>) keys.jsonObject().get("items")).singleElement()
                .satisfies(k -> assertThat((Map<String, Object>) k)
                        .containsEntry("role", "owner").containsEntry("id", context.get("keyId")));
        assertThat(keys.body()).doesNotContain(apiKey);
        // An owner key may make more keys (admin-api's owner-only route).
        assertThat(owner.post("/v1/api-keys", Map.of("name", "ci", "role", "admin")).status()).isEqualTo(201);

        // Each invocation is a new account (documented: nothing to de-duplicate on that could show the secret again).
        Map<String, Object> again = invoke(runtime, sampleEvent(NAME, "create-account.json"));
        assertThat(again.get("accountId")).isNotEqualTo(accountId);
        assertThat(again.get("apiKey")).isNotEqualTo(apiKey);
    }

    @Test
    @SuppressWarnings("unchecked")
    void badInputIsAnErrorResultNotAFailedInvocationAndCreatesNothing(LocalRuntime runtime) throws Exception {
        List<String> payloads = List.of(
                sampleEvent(NAME, "misspelt-name.json"), "{}", "{\"name\":\"\"}", "{\"name\":\"   \"}", "{\"name\":null}",
                "{\"name\":5}", "{\"name\":\"" + "x".repeat(101) + "\"}", "{\"name\":\"Acme\\u0000\"}",
                "{\"name\":\"Acme\",\"role\":\"owner\"}",
                // not an object at all (the CLI passes any JSON through; a broken payload is refused by Lambda first)
                "\"Acme\"", "[\"Acme\"]", "null", "{\"name\":", "");
        long accountsBefore = accountItems(runtime);
        for (String payload : payloads) {
            Map<String, Object> result = invoke(runtime, payload); // a FunctionError would throw here
            assertThat(result).as(payload).containsOnlyKeys("error");
            Map<String, Object> error = (Map<String, Object>) result.get("error");
            assertThat(error).as(payload).containsEntry("code", "invalid_request").containsKeys("message", "details");
            assertThat((String) error.get("message")).as(payload).isNotBlank().doesNotContain("Exception", "\tat ");
        }
        assertThat(((Map<String, Object>) invoke(runtime, "{}").get("error")).get("details"))
                .isEqualTo(List.of(Map.of("field", "name", "message", "is required")));
        assertThat(((Map<String, Object>) invoke(runtime, sampleEvent(NAME, "misspelt-name.json")).get("error")).get("message"))
                .asString().contains("Name unknown field");
        assertThat(((Map<String, Object>) invoke(runtime, "{\"name\":\"   \"}").get("error")).get("message"))
                .isEqualTo("name must not be blank");
        assertThat(((Map<String, Object>) invoke(runtime, "[\"Acme\"]").get("error")).get("message"))
                .isEqualTo("the payload must be a JSON object, not an array");
        assertThat(((Map<String, Object>) invoke(runtime, "").get("error")).get("message"))
                .isEqualTo("the payload is not valid JSON: " + Json.EMPTY);
        // A 100-character name (code points, like every name in the API) is fine.
        assertThat(invoke(runtime, "{\"name\":\"" + "\uD83D\uDE00".repeat(100) + "\"}")).containsKey("apiKey");
        assertThat(accountItems(runtime)).isEqualTo(accountsBefore + 1);
    }

    @Test
    void theSecretIsNeverLogged(LocalRuntime runtime) {
        var handler = new BootstrapAccountHandler(runtime.wiring());
        Map<String, Object> created = new LinkedHashMap<>();
        String logs = capturingStdout(() -> created.putAll(handler.handleRequest(Map.of("name", "Log Co"), null)));
        assertThat(logs).contains("account_bootstrapped").contains((String) created.get("accountId"))
                .doesNotContain((String) created.get("apiKey"))
                .doesNotContain(((String) created.get("apiKey")).substring(4, 20));

        String refusal = capturingStdout(() -> handler.handleRequest(Map.of("gmk_pasted_by_mistake_1234567890", "x"), null));
        assertThat(refusal).contains("account_bootstrap_refused").doesNotContain("gmk_pasted_by_mistake");
    }

    @Test
    @SuppressWarnings("unchecked")
    void theLocalInvokeCommandRunsIt(LocalRuntime runtime, @TempDir Path dataDir) throws Exception {
        var queueUrls = new LinkedHashMap<String, String>();
        runtime.queues().forEach((name, q) -> queueUrls.put(name, q.url()));
        new RuntimeFile(ProcessHandle.current().pid(), Instant.now().toString(), runtime.baseUrl(),
                runtime.settings().region(), runtime.dynamoEndpoint(), runtime.sqsEndpoint(), null, queueUrls,
                runtime.publicBaseUrl()).write(RuntimeFile.pathIn(dataDir));
        for (String file : List.of("create-account.json", "misspelt-name.json")) {
            var out = new ByteArrayOutputStream();
            var err = new ByteArrayOutputStream();
            int code = InvokeCommand.run(new String[]{NAME, EVENTS.resolve(NAME).resolve(file).toString()},
                    Map.of("DATA_DIR", dataDir.toString()), new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertThat(code).as(file + ": " + err.toString(StandardCharsets.UTF_8)).isZero();
            Map<String, Object> printed = JSON.std.mapFrom(out.toString(StandardCharsets.UTF_8));
            if (file.startsWith("create")) assertThat(printed).containsKeys("accountId", "apiKey");
            else assertThat((Map<String, Object>) printed.get("error")).containsEntry("code", "invalid_request");
        }
    }

    /**
     * The authorizer and the bootstrap function under an emulation of their narrowed IAM policy: every request
     * outside it is answered AccessDeniedException, as in AWS. Priming (whose requests to nowhere are meant to fail)
     * still completes, and each handler's real requests all fall inside its grant.
     */
    @Test
    void theAuthorizerAndTheBootstrapFunctionWorkWithinTheirNarrowedGrants(LocalRuntime runtime) {
        String coreTable = runtime.wiring().config().table(Tables.CORE);

        var bootstrapIam = new EmulatedIam(Handlers.NARROWED_TABLE_ACCESS.get(NAME), coreTable);
        var bootstrap = new BootstrapAccountHandler(wiringUnder(runtime, bootstrapIam));
        assertThat(bootstrap.priming().prime()).as("bootstrap-account primed").isTrue();
        Map<String, Object> created = bootstrap.handleRequest(Map.of("name", "Least Privilege Co"), null);
        assertThat(created).containsKeys("accountId", "apiKey");
        // the account, its key, the key's lookup row and the account's key count
        assertThat(bootstrapIam.allowed).hasSize(4).allMatch(c -> c.startsWith("dynamodb:PutItem " + coreTable + " "));
        assertThat(bootstrapIam.denied).as("only priming's requests to nowhere are denied").isNotEmpty()
                .allMatch(d -> d.contains("groupmsg-priming"));

        var authorizerIam = new EmulatedIam(Handlers.NARROWED_TABLE_ACCESS.get(Handlers.AUTHORIZER.name()), coreTable);
        var authorizer = new AuthorizerHandler(wiringUnder(runtime, authorizerIam));
        assertThat(authorizer.priming().prime()).as("authorizer primed").isTrue();
        SimpleIAMPolicyResponse allowed = authorizer.handleRequest(authorizerEvent((String) created.get("apiKey")), null);
        assertThat(allowed.getIsAuthorized()).isTrue();
        assertThat(allowed.getContext()).containsEntry("accountId", (String) created.get("accountId"))
                .containsEntry("role", "owner");
        SimpleIAMPolicyResponse unknown = authorizer.handleRequest(authorizerEvent("gmk_not_a_key_of_anyone_0000000000000"), null);
        assertThat(unknown.getIsAuthorized()).isFalse();
        assertThat(authorizerIam.allowed).hasSize(2).allMatch(c -> c.startsWith("dynamodb:GetItem " + coreTable + " KEYHASH#"));
        assertThat(authorizerIam.denied).isNotEmpty().allMatch(d -> d.contains("groupmsg-priming"));
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static Wiring wiringUnder(LocalRuntime runtime, ExecutionInterceptor iam) {
        return Wiring.create(runtime.wiring().config(), LocalRuntime.LOCAL_CREDENTIALS, List.of(iam))
                .withEvents(runtime.wiring().events());
    }

    private static APIGatewayV2CustomAuthorizerEvent authorizerEvent(String key) {
        var event = new APIGatewayV2CustomAuthorizerEvent();
        event.setRouteKey("GET /v1/account");
        event.setHeaders(Map.of("authorization", "Bearer " + key));
        return event;
    }

    /** Account items in the core table (one per account). */
    private static long accountItems(LocalRuntime runtime) {
        String table = runtime.wiring().config().table(Tables.CORE);
        long count = 0;
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = runtime.wiring().dynamo().scan(b -> b.tableName(table).select(Select.COUNT)
                    .filterExpression("sk = :sk").expressionAttributeValues(Map.of(":sk", AttributeValue.fromS("ACCOUNT")))
                    .exclusiveStartKey(from));
            count += page.count();
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return count;
    }

    private static synchronized String capturingStdout(Runnable action) {
        PrintStream original = System.out;
        var captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    /**
     * IAM's answer for a role whose only data access is {@code access} on {@code table}: DynamoDB item requests
     * (alone or in a transaction, whose actions IAM authorizes one by one as PutItem, UpdateItem...) are allowed
     * when their action is granted and the item's partition key has a granted prefix (dynamodb:LeadingKeys);
     * everything else (queries, batches, other tables, SQS, SNS) is denied with AccessDeniedException.
     */
    static final class EmulatedIam implements ExecutionInterceptor {
        private final TableAccess access;
        private final String table;
        /** "action table partitionKey" of every item request allowed. */
        final Queue<String> allowed = new ConcurrentLinkedQueue<>();
        /** Every request denied, as the SDK prints it. */
        final Queue<String> denied = new ConcurrentLinkedQueue<>();

        EmulatedIam(TableAccess access, String table) {
            this.access = access;
            this.table = table;
        }

        private record ItemCall(String action, String table, Map<String, AttributeValue> key) {
            String partitionKey() {
                AttributeValue pk = key == null ? null : key.get("pk");
                return pk == null ? null : pk.s();
            }
        }

        @Override
        public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
            SdkRequest request = context.request();
            List<ItemCall> calls = itemCalls(request);
            boolean permitted = calls != null && !calls.isEmpty() && calls.stream()
                    .allMatch(c -> c.table().equals(table) && access.allows(c.action(), c.partitionKey()));
            if (permitted) {
                calls.forEach(c -> allowed.add(c.action() + " " + c.table() + " " + c.partitionKey()));
                return;
            }
            denied.add(attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME) + " " + request);
            String message = "not authorized to perform "
                    + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME) + " (emulated IAM)";
            throw AwsServiceException.builder().statusCode(400).message(message)
                    .awsErrorDetails(AwsErrorDetails.builder().errorCode("AccessDeniedException").errorMessage(message).build())
                    .build();
        }

        /** The item actions a request is authorized as; null for any other request (never allowed here). */
        private static List<ItemCall> itemCalls(SdkRequest request) {
            return switch (request) {
                case GetItemRequest r -> List.of(new ItemCall("dynamodb:GetItem", r.tableName(), r.key()));
                case PutItemRequest r -> List.of(new ItemCall("dynamodb:PutItem", r.tableName(), r.item()));
                case UpdateItemRequest r -> List.of(new ItemCall("dynamodb:UpdateItem", r.tableName(), r.key()));
                case DeleteItemRequest r -> List.of(new ItemCall("dynamodb:DeleteItem", r.tableName(), r.key()));
                case TransactWriteItemsRequest r -> {
                    List<ItemCall> calls = new ArrayList<>();
                    for (TransactWriteItem item : r.transactItems()) {
                        var put = item.put();
                        var update = item.update();
                        var delete = item.delete();
                        var check = item.conditionCheck();
                        if (put != null) calls.add(new ItemCall("dynamodb:PutItem", put.tableName(), put.item()));
                        if (update != null) calls.add(new ItemCall("dynamodb:UpdateItem", update.tableName(), update.key()));
                        if (delete != null) calls.add(new ItemCall("dynamodb:DeleteItem", delete.tableName(), delete.key()));
                        if (check != null) calls.add(new ItemCall("dynamodb:ConditionCheckItem", check.tableName(), check.key()));
                    }
                    yield calls;
                }
                default -> null;
            };
        }
    }
}
