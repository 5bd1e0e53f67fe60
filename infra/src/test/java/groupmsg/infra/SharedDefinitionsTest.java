package groupmsg.infra;

import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static groupmsg.infra.TemplateJson.list;
import static groupmsg.infra.TemplateJson.map;
import static groupmsg.infra.TemplateJson.refs;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * No drift between what is deployed and the definitions the local runtime provisions from ({@link Tables#ALL},
 * {@link Queues#ALL}, {@link Handlers#ALL}, {@link Routes#ALL}): the definitions are read back out of the
 * synthesized template and must come out equal, with nothing missing and nothing extra. (The local runtime's
 * {@code Provisioner} creates its tables and queues from the same records; local's ProvisionerE2eTest checks that
 * side.)
 */
class SharedDefinitionsTest {

    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of());
    }

    @Test
    void theTemplatesTablesReadBackAsTablesAll() {
        Map<String, String> nameById = new HashMap<>();
        synth.stack().tables().forEach((name, table) -> nameById.put(synth.logicalId(table), name));
        List<TableDef> deployed = new ArrayList<>();
        resourcesOfType("AWS::DynamoDB::Table").forEach((id, r) -> {
            Map<String, Object> p = map(r.get("Properties"));
            List<String> keys = keys(p.get("KeySchema"));
            List<TableDef.IndexDef> indexes = new ArrayList<>();
            if (p.get("GlobalSecondaryIndexes") != null) {
                for (Object g : list(p.get("GlobalSecondaryIndexes"))) {
                    List<String> indexKeys = keys(map(g).get("KeySchema"));
                    String projection = (String) map(map(g).get("Projection")).get("ProjectionType");
                    assertThat(projection).isIn("ALL", "KEYS_ONLY");
                    indexes.add(new TableDef.IndexDef((String) map(g).get("IndexName"), indexKeys.get(0), indexKeys.get(1),
                            projection.equals("KEYS_ONLY")));
                }
            }
            Object ttl = p.get("TimeToLiveSpecification");
            String ttlAttribute = null;
            if (ttl != null) {
                assertThat(map(ttl).get("Enabled")).isEqualTo(true);
                ttlAttribute = (String) map(ttl).get("AttributeName");
            }
            deployed.add(new TableDef(nameById.get(id), keys.get(0), keys.get(1), indexes, ttlAttribute));
        });
        assertThat(deployed).containsExactlyInAnyOrderElementsOf(Tables.ALL);
    }

    /** [partition key, sort key or null] of a KeySchema. */
    private static List<String> keys(Object keySchema) {
        String hash = null;
        String range = null;
        for (Object k : list(keySchema)) {
            if ("HASH".equals(map(k).get("KeyType"))) hash = (String) map(k).get("AttributeName");
            else range = (String) map(k).get("AttributeName");
        }
        List<String> out = new ArrayList<>();
        out.add(hash);
        out.add(range);
        return out;
    }

    @Test
    void theTemplatesQueuesAndEventSourcesReadBackAsQueuesAll() {
        Map<String, String> queueById = new HashMap<>();
        synth.stack().queues().forEach((name, q) -> queueById.put(synth.logicalId(q), name));
        Set<String> dlqIds = new java.util.HashSet<>();
        synth.stack().deadLetterQueues().values().forEach(q -> dlqIds.add(synth.logicalId(q)));
        Map<String, String> handlerByAliasId = new HashMap<>();
        synth.stack().aliases().forEach((name, alias) -> handlerByAliasId.put(synth.logicalId(alias), name));

        Map<String, Map<String, Object>> queues = resourcesOfType("AWS::SQS::Queue");
        assertThat(queues.keySet()).as("queues and their DLQs, nothing else")
                .containsExactlyInAnyOrderElementsOf(concat(queueById.keySet(), dlqIds));
        List<QueueDef> deployed = new ArrayList<>();
        for (Map<String, Object> esmResource : resourcesOfType("AWS::Lambda::EventSourceMapping").values()) {
            Map<String, Object> esm = map(esmResource.get("Properties"));
            String queueId = refs(esm.get("EventSourceArn")).iterator().next();
            String consumer = handlerByAliasId.get(refs(esm.get("FunctionName")).iterator().next());
            assertThat(consumer).as("event source of " + queueId + " targets a live alias").isNotNull();
            assertThat(esm.get("FunctionResponseTypes")).isEqualTo(List.of("ReportBatchItemFailures"));

            Map<String, Object> q = synth.properties(queueId);
            Map<String, Object> redrive = map(q.get("RedrivePolicy"));
            String dlqId = refs(redrive.get("deadLetterTargetArn")).iterator().next();
            assertThat(dlqIds).contains(dlqId);
            boolean fifo = Boolean.TRUE.equals(q.get("FifoQueue"));
            assertThat(Boolean.TRUE.equals(synth.properties(dlqId).get("FifoQueue"))).as("DLQ type of " + queueId).isEqualTo(fifo);
            deployed.add(new QueueDef(queueById.get(queueId), fifo, consumer,
                    (Integer) esm.get("BatchSize"),
                    (Integer) map(esm.get("ScalingConfig")).get("MaximumConcurrency"),
                    (Integer) redrive.get("maxReceiveCount"),
                    (Integer) q.get("VisibilityTimeout"),
                    (Integer) q.get("MessageRetentionPeriod") / 86_400,
                    esm.get("MaximumBatchingWindowInSeconds") instanceof Integer window ? window : 0));
        }
        assertThat(deployed).containsExactlyInAnyOrderElementsOf(Queues.ALL);
    }

    @Test
    void everyQueuesVisibilityTimeoutIsAtLeastSixTimesItsConsumersTimeout() {
        // From the template alone: queue -> event source -> alias -> function -> Timeout.
        for (Map<String, Object> esmResource : resourcesOfType("AWS::Lambda::EventSourceMapping").values()) {
            Map<String, Object> esm = map(esmResource.get("Properties"));
            String queueId = refs(esm.get("EventSourceArn")).iterator().next();
            String aliasId = refs(esm.get("FunctionName")).iterator().next();
            String functionId = refs(synth.properties(aliasId).get("FunctionName")).iterator().next();
            int timeout = (Integer) synth.properties(functionId).get("Timeout");
            int visibility = (Integer) synth.properties(queueId).get("VisibilityTimeout");
            assertThat(visibility).as(queueId + " visibility timeout vs its consumer " + functionId + " (" + timeout + " s)")
                    .isGreaterThanOrEqualTo(6 * timeout);
            assertThat(esm).as(queueId + " has a maximum concurrency").containsKey("ScalingConfig");
        }
    }

    @Test
    void everyFifoQueuesEventSourceTakesOneMessageAtATime() {
        // Behind a failing message its group's followers are reported failed unprocessed, yet each receive counts:
        // batched, they would reach the dead-letter queue with it, never tried.
        int fifoSources = 0;
        for (Map<String, Object> esmResource : resourcesOfType("AWS::Lambda::EventSourceMapping").values()) {
            Map<String, Object> esm = map(esmResource.get("Properties"));
            String queueId = refs(esm.get("EventSourceArn")).iterator().next();
            if (!Boolean.TRUE.equals(synth.properties(queueId).get("FifoQueue"))) continue;
            fifoSources++;
            assertThat(esm.get("BatchSize")).as(queueId + " batch size").isEqualTo(1);
        }
        assertThat(fifoSources).as("imports, inbound, optouts, relays").isEqualTo(4);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new QueueDef("ordered", true,
                        Handlers.INBOUND_WORKER.name(), 5, 5, 5, 6 * Handlers.INBOUND_WORKER.timeoutSeconds(), 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be 1");
    }

    @Test
    void theTemplatesFunctionsReadBackAsHandlersAll() {
        Map<String, Map<String, Object>> functions = resourcesOfType("AWS::Lambda::Function");
        assertThat(functions).hasSameSizeAs(Handlers.ALL);
        for (HandlerDef def : Handlers.ALL) {
            Map<String, Object> fn = synth.properties(synth.logicalId(synth.stack().functions().get(def.name())));
            assertThat(List.of(fn.get("Handler"), fn.get("MemorySize"), fn.get("Timeout"))).as(def.name())
                    .isEqualTo(List.of(def.handlerString(), def.memoryMb(), def.timeoutSeconds()));
        }
    }

    @Test
    void everyV1RouteIsBehindTheAuthorizerAndOnlyWebhooksAreNot() {
        Map<String, Map<String, Object>> byKey = new LinkedHashMap<>();
        resourcesOfType("AWS::ApiGatewayV2::Route").values()
                .forEach(r -> byKey.put((String) map(r.get("Properties")).get("RouteKey"), map(r.get("Properties"))));
        assertThat(byKey.keySet()).containsAll(Routes.ALL.stream().map(RouteDef::key).toList());
        byKey.forEach((key, route) -> {
            String path = key.equals(Routes.DEFAULT_ROUTE_KEY) ? key : key.substring(key.indexOf(' ') + 1);
            String auth = (String) route.getOrDefault("AuthorizationType", "NONE");
            if (path.startsWith("/v1/")) {
                assertThat(auth).as(key).isEqualTo("CUSTOM");
                assertThat(route).as(key).containsKey("AuthorizerId");
            } else {
                assertThat(path).as(key + " (unauthenticated)").matches("/webhooks/.+|\\$default");
                assertThat(auth).as(key).isEqualTo("NONE");
            }
        });
    }

    private static Set<String> concat(Set<String> a, Set<String> b) {
        Set<String> out = new java.util.HashSet<>(a);
        out.addAll(b);
        return out;
    }

    private static Map<String, Map<String, Object>> resourcesOfType(String type) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        synth.resources().forEach((id, r) -> {
            if (type.equals(r.get("Type"))) out.put(id, r);
        });
        return out;
    }
}
