package groupmsg.infra;

import groupmsg.notify.Topic;
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
import software.amazon.awscdk.cxapi.SynthesisMessage;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static groupmsg.infra.TemplateJson.list;
import static groupmsg.infra.TemplateJson.map;
import static groupmsg.infra.TemplateJson.refs;
import static groupmsg.infra.TemplateJson.statements;
import static groupmsg.infra.TemplateJson.strings;
import static org.assertj.core.api.Assertions.assertThat;

/** The dev stack (cdk.json's context), synthesized once for the whole class. */
class GroupMsgStackTest {

    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of());
    }

    @Test
    void stackIsNamedAfterTheDefaultStageAndTheTemplateIsWritten() {
        assertThat(synth.stack().getStackName()).isEqualTo("groupmsg-dev");
        assertThat(synth.templateFile()).exists()
                .hasFileName("groupmsg-dev.template.json")
                .hasParent(Synth.infraDir().resolve("cdk.out"));
        assertThat(synth.templateFile()).satisfies(f -> assertThat(Files.size(f)).isPositive());
    }

    @Test
    void oneTablePerTableDefWithItsKeysTtlAndRecovery() {
        synth.template().resourceCountIs("AWS::DynamoDB::Table", Tables.ALL.size());
        for (TableDef def : Tables.ALL) {
            String id = synth.logicalId(synth.stack().tables().get(def.name()));
            Map<String, Object> props = synth.properties(id);
            List<Map<String, String>> keySchema = new ArrayList<>();
            keySchema.add(Map.of("AttributeName", def.partitionKey(), "KeyType", "HASH"));
            if (def.sortKey() != null) keySchema.add(Map.of("AttributeName", def.sortKey(), "KeyType", "RANGE"));
            assertThat(props.get("KeySchema")).as(def.name()).isEqualTo(keySchema);
            assertThat(list(props.get("AttributeDefinitions"))).as(def.name())
                    .allSatisfy(a -> assertThat(map(a).get("AttributeType")).isEqualTo("S"));
            assertThat(props.get("BillingMode")).isEqualTo("PAY_PER_REQUEST");
            assertThat(props.get("PointInTimeRecoverySpecification"))
                    .isEqualTo(Map.of("PointInTimeRecoveryEnabled", true));
            if (def.ttlAttribute() != null) {
                assertThat(props.get("TimeToLiveSpecification"))
                        .isEqualTo(Map.of("AttributeName", def.ttlAttribute(), "Enabled", true));
            } else {
                assertThat(props).doesNotContainKey("TimeToLiveSpecification");
            }
            List<Object> gsis = props.containsKey("GlobalSecondaryIndexes") ? list(props.get("GlobalSecondaryIndexes")) : List.of();
            assertThat(gsis).as(def.name() + " GSIs").hasSameSizeAs(def.indexes());
            for (TableDef.IndexDef index : def.indexes()) {
                List<Map<String, String>> indexKeys = new ArrayList<>();
                indexKeys.add(Map.of("AttributeName", index.partitionKey(), "KeyType", "HASH"));
                if (index.sortKey() != null) indexKeys.add(Map.of("AttributeName", index.sortKey(), "KeyType", "RANGE"));
                assertThat(gsis).anySatisfy(g -> {
                    assertThat(map(g).get("IndexName")).isEqualTo(index.name());
                    assertThat(map(g).get("KeySchema")).isEqualTo(indexKeys);
                    assertThat(map(g).get("Projection")).isEqualTo(Map.of("ProjectionType", index.keysOnly() ? "KEYS_ONLY" : "ALL"));
                });
            }
            // Not prod: deletable, no deletion protection (ProdStageTest covers the opposite).
            assertThat(props.get("DeletionProtectionEnabled")).isEqualTo(false);
            assertThat(synth.resources().get(id).get("DeletionPolicy")).isEqualTo("Delete");
        }
    }

    @Test
    void everyQueueHasAnEncryptedTlsOnlyDeadLetterQueue() {
        synth.template().resourceCountIs("AWS::SQS::Queue", 2 * Queues.ALL.size());
        for (QueueDef def : Queues.ALL) {
            String queueId = synth.logicalId(synth.stack().queues().get(def.name()));
            String dlqId = synth.logicalId(synth.stack().deadLetterQueues().get(def.name()));
            Map<String, Object> queue = synth.properties(queueId);
            Map<String, Object> dlq = synth.properties(dlqId);

            assertThat(queue.get("VisibilityTimeout")).isEqualTo(def.visibilityTimeoutSeconds());
            assertThat(queue.get("MessageRetentionPeriod")).isEqualTo(def.retentionDays() * 86_400);
            assertThat(queue.get("RedrivePolicy")).isEqualTo(Map.of(
                    "deadLetterTargetArn", Map.of("Fn::GetAtt", List.of(dlqId, "Arn")),
                    "maxReceiveCount", def.maxReceiveCount()));
            assertThat(dlq.get("MessageRetentionPeriod")).isEqualTo(GroupMsgStack.DLQ_RETENTION_DAYS * 86_400);
            for (Map<String, Object> q : List.of(queue, dlq)) {
                assertThat(q.get("SqsManagedSseEnabled")).isEqualTo(true);
                if (def.fifo()) {
                    assertThat(q.get("FifoQueue")).isEqualTo(true);
                    assertThat(q.get("ContentBasedDeduplication")).isEqualTo(false);
                    // high throughput mode on the queue itself (the default caps send calls at 300 a second)
                    if (q == queue) {
                        assertThat(q).containsEntry("FifoThroughputLimit", "perMessageGroupId")
                                .containsEntry("DeduplicationScope", "messageGroup");
                    }
                } else {
                    assertThat(q).doesNotContainKey("FifoQueue");
                }
            }
            for (String id : List.of(queueId, dlqId)) {
                assertThat(synth.resources().values()).as("TLS-only policy on " + id).anySatisfy(r -> {
                    assertThat(r.get("Type")).isEqualTo("AWS::SQS::QueuePolicy");
                    assertThat(refs(map(r.get("Properties")).get("Queues"))).containsExactly(id);
                    assertThat(statements(r)).anySatisfy(s -> {
                        assertThat(s.get("Effect")).isEqualTo("Deny");
                        assertThat(s.get("Condition")).isEqualTo(Map.of("Bool", Map.of("aws:SecureTransport", "false")));
                    });
                });
            }
        }
    }

    @Test
    void oneSnapStartFunctionPerHandlerDefWithItsSizingAndEnvironment() {
        synth.template().resourceCountIs("AWS::Lambda::Function", Handlers.ALL.size());
        synth.template().resourceCountIs("AWS::Lambda::Alias", Handlers.ALL.size());
        for (HandlerDef def : Handlers.ALL) {
            String fnId = synth.logicalId(synth.stack().functions().get(def.name()));
            Map<String, Object> fn = synth.properties(fnId);
            assertThat(fn.get("Handler")).as(def.name()).isEqualTo(def.handlerString());
            assertThat(fn.get("Runtime")).isEqualTo("java25");
            assertThat(fn.get("Architectures")).isEqualTo(List.of("arm64"));
            assertThat(fn.get("SnapStart")).isEqualTo(Map.of("ApplyOn", "PublishedVersions"));
            assertThat(fn.get("MemorySize")).isEqualTo(def.memoryMb());
            assertThat(fn.get("Timeout")).isEqualTo(def.timeoutSeconds());
            assertThat(map(fn.get("LoggingConfig")).get("LogFormat")).isEqualTo("JSON");
            assertThat(map(fn.get("Code"))).containsKey("S3Key");
            assertThat((String) map(fn.get("Code")).get("S3Key")).endsWith(".jar");

            Map<String, Object> expectedEnv = new LinkedHashMap<>();
            expectedEnv.put("JAVA_TOOL_OPTIONS", "-XX:+TieredCompilation -XX:TieredStopAtLevel=1");
            for (String t : def.tables()) {
                TableDef table = Tables.ALL.stream().filter(x -> x.name().equals(t)).findFirst().orElseThrow();
                expectedEnv.put(table.envVar(), Map.of("Ref", synth.logicalId(synth.stack().tables().get(t))));
            }
            Set<String> queues = new HashSet<>(def.queuesSentTo());
            Queues.ALL.stream().filter(q -> q.consumer().equals(def.name())).forEach(q -> queues.add(q.name()));
            for (String q : queues) {
                expectedEnv.put(Queues.byName(q).envVar(), Map.of("Ref", synth.logicalId(synth.stack().queues().get(q))));
            }
            for (String q : def.deadLettersSentTo()) {
                expectedEnv.put(Queues.byName(q).dlqEnvVar(),
                        Map.of("Ref", synth.logicalId(synth.stack().deadLetterQueues().get(q))));
            }
            for (Topic t : synth.stack().needs().get(def.name()).topics()) {
                expectedEnv.put(t.envVar(), Map.of("Ref", synth.logicalId(synth.stack().eventTopics().get(t))));
            }
            if (synth.stack().needs().get(def.name()).carrierCredentials()) {
                expectedEnv.put(GroupMsgStack.TWILIO_SECRET_ARN_ENV, Map.of("Ref", secretId()));
            }
            Map<String, Object> env = fn.containsKey("Environment")
                    ? map(map(fn.get("Environment")).get("Variables")) : Map.of();
            assertThat(env).as(def.name() + " env").containsAllEntriesOf(expectedEnv);
            assertThat(env.keySet()).as(def.name() + " env has nothing else")
                    .allMatch(k -> expectedEnv.containsKey(k) || k.equals(GroupMsgStack.PUBLIC_BASE_URL_ENV));

            Map<String, Object> alias = synth.properties(synth.logicalId(synth.stack().aliases().get(def.name())));
            assertThat(alias.get("Name")).isEqualTo(GroupMsgStack.LIVE_ALIAS);
            assertThat(refs(alias.get("FunctionName"))).containsExactly(fnId);
            String versionId = refs(alias.get("FunctionVersion")).iterator().next();
            assertThat(synth.resources().get(versionId).get("Type")).isEqualTo("AWS::Lambda::Version");
            assertThat(refs(synth.properties(versionId).get("FunctionName"))).containsExactly(fnId);
        }
    }

    @Test
    void webhookHandlersAndStatusCallbackSendersGetThePublicBaseUrl() {
        assertThat(synth.stack().needs().get(Handlers.DELIVERY_WORKER.name()).publicBaseUrl())
                .as("the delivery worker builds the carrier's status callback URLs from it").isTrue();
        for (HandlerDef def : Handlers.ALL) {
            boolean webhook = Routes.forHandler(def.name()).stream().anyMatch(r -> !r.authorized())
                    || synth.stack().needs().get(def.name()).publicBaseUrl();
            Map<String, Object> fn = synth.properties(synth.logicalId(synth.stack().functions().get(def.name())));
            Map<String, Object> env = map(map(fn.get("Environment")).get("Variables"));
            if (webhook) {
                // No publicBaseUrl in dev's context: the API's own endpoint.
                assertThat(env.get(GroupMsgStack.PUBLIC_BASE_URL_ENV)).as(def.name()).isEqualTo(Map.of(
                        "Fn::GetAtt", List.of(synth.logicalId(synth.stack().api()), "ApiEndpoint")));
            } else {
                assertThat(env).as(def.name()).doesNotContainKey(GroupMsgStack.PUBLIC_BASE_URL_ENV);
            }
        }
        assertThat(map(map(synth.json().get("Outputs")).get("PublicBaseUrl")).get("Value")).isEqualTo(Map.of(
                "Fn::GetAtt", List.of(synth.logicalId(synth.stack().api()), "ApiEndpoint")));
    }

    @Test
    void oneRoutePerRouteDefPlusDefaultEachOnItsHandlersAlias() {
        synth.template().resourceCountIs("AWS::ApiGatewayV2::Route", Routes.ALL.size() + 1);
        String authorizerId = onlyResourceOfType("AWS::ApiGatewayV2::Authorizer");
        Map<String, Map<String, Object>> byKey = new HashMap<>();
        for (Map<String, Object> r : resourcesOfType("AWS::ApiGatewayV2::Route").values()) {
            byKey.put((String) map(r.get("Properties")).get("RouteKey"), map(r.get("Properties")));
        }
        Set<String> expectedKeys = Routes.ALL.stream().map(RouteDef::key).collect(Collectors.toSet());
        expectedKeys.add(Routes.DEFAULT_ROUTE_KEY);
        assertThat(byKey.keySet()).isEqualTo(expectedKeys);

        for (RouteDef r : Routes.ALL) {
            Map<String, Object> route = byKey.get(r.key());
            assertThat(integrationTarget(route)).as(r.key()).isEqualTo(aliasId(r.handler()));
            if (r.authorized()) {
                assertThat(route.get("AuthorizationType")).as(r.key()).isEqualTo("CUSTOM");
                assertThat(route.get("AuthorizerId")).isEqualTo(Map.of("Ref", authorizerId));
            } else {
                assertThat(route.getOrDefault("AuthorizationType", "NONE")).as(r.key()).isEqualTo("NONE");
            }
        }
        Map<String, Object> fallback = byKey.get(Routes.DEFAULT_ROUTE_KEY);
        assertThat(integrationTarget(fallback)).isEqualTo(aliasId(Handlers.NOT_FOUND.name()));
        assertThat(fallback.getOrDefault("AuthorizationType", "NONE")).isEqualTo("NONE");
        assertThat(fallback).doesNotContainKey("AuthorizerId");

        for (Map<String, Object> integration : resourcesOfType("AWS::ApiGatewayV2::Integration").values()) {
            assertThat(map(integration.get("Properties")).get("PayloadFormatVersion")).isEqualTo("2.0");
            assertThat(map(integration.get("Properties")).get("IntegrationType")).isEqualTo("AWS_PROXY");
        }
    }

    @Test
    void requestAuthorizerWithSimpleResponsesOnTheAuthorizationHeader() {
        String id = onlyResourceOfType("AWS::ApiGatewayV2::Authorizer");
        Map<String, Object> auth = synth.properties(id);
        assertThat(auth.get("AuthorizerType")).isEqualTo("REQUEST");
        assertThat(auth.get("IdentitySource")).isEqualTo(List.of("$request.header.Authorization"));
        assertThat(auth.get("EnableSimpleResponses")).isEqualTo(true);
        assertThat(auth.get("AuthorizerPayloadFormatVersion")).isEqualTo("2.0");
        // no caching: a revoked key stops working at once (API.md)
        assertThat(auth.get("AuthorizerResultTtlInSeconds")).isEqualTo(0);
        assertThat(refs(auth.get("AuthorizerUri"))).contains(aliasId(Handlers.AUTHORIZER.name()));
        // API Gateway may invoke the authorizer's alias.
        assertThat(resourcesOfType("AWS::Lambda::Permission").values()).anySatisfy(p -> {
            Map<String, Object> props = map(p.get("Properties"));
            assertThat(props.get("Principal")).isEqualTo("apigateway.amazonaws.com");
            assertThat(refs(props.get("FunctionName"))).contains(aliasId(Handlers.AUTHORIZER.name()));
        });
    }

    @Test
    void defaultStageIsThrottledAndAccessLogged() {
        Map<String, Object> stage = synth.properties(onlyResourceOfType("AWS::ApiGatewayV2::Stage"));
        assertThat(stage.get("StageName")).isEqualTo("$default");
        assertThat(stage.get("AutoDeploy")).isEqualTo(true);
        assertThat(stage.get("DefaultRouteSettings")).isEqualTo(Map.of(
                "ThrottlingRateLimit", GroupMsgStack.API_RATE_LIMIT, "ThrottlingBurstLimit", GroupMsgStack.API_BURST_LIMIT));
        Map<String, Object> logs = map(stage.get("AccessLogSettings"));
        assertThat(refs(logs.get("DestinationArn"))).hasSize(1);
        assertThat((String) logs.get("Format")).contains("$context.requestId", "$context.status", "$context.routeKey");
        Object apiUrl = map(map(synth.json().get("Outputs")).get("ApiUrl")).get("Value");
        assertThat(refs(apiUrl)).contains(synth.logicalId(synth.stack().api()));
        assertThat(apiUrl.toString()).contains("https://", ".execute-api.");
    }

    @Test
    void eachQueueFeedsItsConsumersAliasWithPartialBatchResponses() {
        synth.template().resourceCountIs("AWS::Lambda::EventSourceMapping", Queues.ALL.size());
        for (QueueDef def : Queues.ALL) {
            String queueId = synth.logicalId(synth.stack().queues().get(def.name()));
            Map<String, Object> esm = resourcesOfType("AWS::Lambda::EventSourceMapping").values().stream()
                    .map(r -> map(r.get("Properties")))
                    .filter(p -> refs(p.get("EventSourceArn")).contains(queueId))
                    .findFirst().orElseThrow(() -> new AssertionError("no event source for " + def.name()));
            assertThat(esm.get("BatchSize")).isEqualTo(def.batchSize());
            // Lambda refuses a batch over 10 without a window of at least a second; none means "invoke at once"
            assertThat(esm.get("MaximumBatchingWindowInSeconds"))
                    .isEqualTo(def.batchingWindowSeconds() == 0 ? null : def.batchingWindowSeconds());
            if (def.batchSize() > 10) assertThat(def.batchingWindowSeconds()).isPositive();
            assertThat(esm.get("FunctionResponseTypes")).isEqualTo(List.of("ReportBatchItemFailures"));
            assertThat(esm.get("ScalingConfig")).isEqualTo(Map.of("MaximumConcurrency", def.maxConcurrency()));
            assertThat(refs(esm.get("FunctionName"))).containsExactly(aliasId(def.consumer()));
            assertThat(esm.get("FunctionName").toString()).contains(":" + GroupMsgStack.LIVE_ALIAS);
        }
    }

    /** DEPLOY.md tells operators how much Lambda concurrency the queue consumers may take: the sum of their caps. */
    @Test
    void theDeployGuideCountsTheQueueConsumersConcurrency() throws Exception {
        int total = Queues.ALL.stream().mapToInt(QueueDef::maxConcurrency).sum();
        String guide = Files.readString(StackSettings.repositoryRoot(java.nio.file.Path.of("")).resolve("infra/DEPLOY.md"));
        assertThat(guide).contains("the queue consumers may run up to " + total + " at once");
    }

    /**
     * The alarm topic's own policy (enforceSsl makes one, replacing SNS's default) lets CloudWatch publish, from this
     * account's alarms: without it every alarm action failed.
     */
    @Test
    void cloudWatchAlarmsMayPublishToTheAlarmTopic() {
        var policies = resourcesOfType("AWS::SNS::TopicPolicy").values().stream()
                .filter(p -> refs(map(p.get("Properties")).get("Topics")).stream().anyMatch(r -> r.startsWith("AlarmTopic")))
                .toList();
        assertThat(policies).hasSize(1);
        var statements = statements(map(map(policies.getFirst().get("Properties")).get("PolicyDocument")));
        assertThat(statements).anySatisfy(st -> {
            assertThat(st.get("Effect")).isEqualTo("Allow");
            assertThat(map(st.get("Principal")).get("Service")).isEqualTo("cloudwatch.amazonaws.com");
            assertThat(strings(st.get("Action"))).containsExactly("sns:Publish");
            assertThat(map(st.get("Condition"))).containsKeys("StringEquals", "ArnLike");
        });
        assertThat(statements).anySatisfy(st -> assertThat(st.get("Effect")).isEqualTo("Deny")); // TLS only, as before
    }

    /** A failed maintenance run is not retried: the next scheduled one does the same sweep. */
    @Test
    void aFailedMaintenanceRunIsNotRetried() {
        for (HandlerDef h : Handlers.ALL.stream().filter(d -> d.trigger() == HandlerDef.Trigger.SCHEDULE).toList()) {
            assertThat(resourcesOfType("AWS::Lambda::EventInvokeConfig").values()).anySatisfy(c -> {
                Map<String, Object> props = map(c.get("Properties"));
                assertThat(props.get("MaximumRetryAttempts")).isEqualTo(0);
                assertThat(props.get("MaximumEventAgeInSeconds")).isEqualTo(60 * Handlers.MAINTENANCE_INTERVAL_MINUTES);
                assertThat(refs(props.get("Qualifier"))).containsExactly(aliasId(h.name()));
            });
        }
    }

    @Test
    void maintenanceRunsOnASchedule() {
        int n = Handlers.MAINTENANCE_INTERVAL_MINUTES;
        String expression = n == 1 ? "rate(1 minute)" : "rate(" + n + " minutes)";
        List<HandlerDef> scheduled = Handlers.ALL.stream().filter(h -> h.trigger() == HandlerDef.Trigger.SCHEDULE).toList();
        assertThat(scheduled).contains(Handlers.MAINTENANCE);
        synth.template().resourceCountIs("AWS::Events::Rule", scheduled.size());
        for (HandlerDef h : scheduled) {
            assertThat(resourcesOfType("AWS::Events::Rule").values()).anySatisfy(r -> {
                Map<String, Object> props = map(r.get("Properties"));
                assertThat(props.get("ScheduleExpression")).isEqualTo(expression);
                assertThat(props.get("State")).isEqualTo("ENABLED");
                assertThat(refs(props.get("Targets"))).containsExactly(aliasId(h.name()));
            });
            assertThat(resourcesOfType("AWS::Lambda::Permission").values()).anySatisfy(p -> {
                Map<String, Object> props = map(p.get("Properties"));
                assertThat(props.get("Principal")).isEqualTo("events.amazonaws.com");
                assertThat(refs(props.get("FunctionName"))).containsExactly(aliasId(h.name()));
            });
        }
    }

    @Test
    void alarmsOnEveryDeadLetterQueueAndOnEachFunctionsErrorsAndThrottles() {
        // ... and two on the HTTP API (5xx, carrier webhooks' 4xx) and one per paged handled failure (ApiProtectionTest)
        // ... and three on failures that page when they last (ApiProtectionTest)
        // ... and one per queue on its oldest job's age (below)
        // ... and one per dead-letter queue on its growth (below), and one on the webhooks queue's waiting events
        // ... and one per dead-letter queue on its oldest message's age, and one on the integrations topic's deliveries
        // ... and one per scheduled function that did not run (below)
        List<HandlerDef> scheduled = Handlers.ALL.stream().filter(h -> h.trigger() == HandlerDef.Trigger.SCHEDULE).toList();
        assertThat(scheduled).isNotEmpty();
        synth.template().resourceCountIs("AWS::CloudWatch::Alarm", 4 * Queues.ALL.size() + 2 + 2 * Handlers.ALL.size() + 2
                + GroupMsgStack.PAGED_HANDLED_FAILURES.size() + 3 + scheduled.size());
        String topicId = synth.logicalId(synth.stack().alarmTopic());
        List<Map<String, Object>> alarms = resourcesOfType("AWS::CloudWatch::Alarm").values().stream()
                .map(r -> map(r.get("Properties"))).toList();
        for (HandlerDef h : scheduled) {
            String fnId = synth.logicalId(synth.stack().functions().get(h.name()));
            // no run in ten minutes (it runs every minute), or no data at all: a disabled rule, a lost permission;
            // created after its rule, so a new stack's first minutes do not page
            assertThat(alarms).as("not-running alarm for " + h.name()).anySatisfy(a -> {
                assertThat(a).containsEntry("Namespace", "AWS/Lambda").containsEntry("MetricName", "Invocations")
                        .containsEntry("Statistic", "Sum").containsEntry("Period", 300).containsEntry("Threshold", 1)
                        .containsEntry("ComparisonOperator", "LessThanThreshold").containsEntry("EvaluationPeriods", 2)
                        .containsEntry("DatapointsToAlarm", 2)
                        .containsEntry("TreatMissingData", "breaching")
                        .containsEntry("AlarmActions", List.of(Map.of("Ref", topicId)));
                assertThat(refs(a.get("Dimensions"))).containsExactly(fnId);
            });
            String alarmId = resourcesOfType("AWS::CloudWatch::Alarm").entrySet().stream()
                    .filter(e -> "Invocations".equals(map(e.getValue().get("Properties")).get("MetricName"))
                            && refs(map(e.getValue().get("Properties")).get("Dimensions")).contains(fnId))
                    .map(Map.Entry::getKey).findFirst().orElseThrow();
            assertThat(synth.resources().get(alarmId).get("DependsOn").toString()).as("after its schedule rule")
                    .contains(GroupMsgStack.pascal(h.name()) + "Schedule");
            // and after the rule's permission to invoke the function's alias (a resource of the rule's own)
            String permission = resourcesOfType("AWS::Lambda::Permission").entrySet().stream()
                    .filter(e -> "events.amazonaws.com".equals(map(e.getValue().get("Properties")).get("Principal"))
                            && map(e.getValue().get("Properties")).get("SourceArn").toString()
                            .contains(GroupMsgStack.pascal(h.name()) + "Schedule"))
                    .map(Map.Entry::getKey).findFirst().orElseThrow();
            assertThat(strings(synth.resources().get(alarmId).get("DependsOn"))).as("after its invoke permission").contains(permission);
        }
        assertThat(alarms).filteredOn(a -> !"Invocations".equals(a.get("MetricName"))).allSatisfy(a -> {
            assertThat(a.get("AlarmActions")).isEqualTo(List.of(Map.of("Ref", topicId)));
            // on the first occurrence, but for webhook 4xx (not on a stray unsigned post: ApiProtectionTest) and a
            // queue's oldest job (an age: below)
            if ("ApproximateNumberOfMessagesDelayed".equals(a.get("MetricName"))) {
                // the webhooks queue's events waiting between passes
                assertThat(a.get("Threshold")).isEqualTo(GroupMsgStack.WEBHOOKS_WAITING_ALARM);
                assertThat(refs(a.get("Dimensions"))).containsExactly(synth.logicalId(synth.stack().queues().get("webhooks")));
            } else if (!"ApproximateAgeOfOldestMessage".equals(a.get("MetricName"))) {
                assertThat(a.get("Threshold")).isEqualTo(GroupMsgStack.WEBHOOK_CLIENT_ERRORS_METRIC.equals(a.get("MetricName"))
                        ? GroupMsgStack.WEBHOOK_CLIENT_ERRORS_ALARM_THRESHOLD : 1);
            }
            assertThat(a.get("ComparisonOperator")).isEqualTo("GreaterThanOrEqualToThreshold");
        });
        // SNS failing to deliver integrations events to the webhooks queue (its policy or key changed)
        String integrations = synth.logicalId(synth.stack().eventTopics().get(Topic.INTEGRATIONS));
        assertThat(alarms).as("integrations delivery alarm").anySatisfy(a -> {
            assertThat(a.get("Namespace")).isEqualTo("AWS/SNS");
            assertThat(a.get("MetricName")).isEqualTo("NumberOfNotificationsFailed");
            assertThat(a.get("Dimensions").toString()).contains(integrations);
        });
        for (QueueDef q : Queues.ALL) {
            String dlqId = synth.logicalId(synth.stack().deadLetterQueues().get(q.name()));
            assertThat(alarms).as("DLQ alarm for " + q.name()).anySatisfy(a -> {
                assertThat(a.get("Namespace")).isEqualTo("AWS/SQS");
                assertThat(a.get("MetricName")).isEqualTo("ApproximateNumberOfMessagesVisible");
                assertThat(refs(a.get("Dimensions"))).containsExactly(dlqId);
            });
            // a message left there pages again 4 days before SQS can drop it: a standard queue's keeps its first send's
            // time (it may have waited the source's retention before it moved), a FIFO queue's starts anew
            int dropsAtAgeAtTheSoonest = (14 - (q.fifo() ? 0 : q.retentionDays())) * 86_400;
            assertThat(alarms).as("DLQ age alarm for " + q.name()).anySatisfy(a -> {
                assertThat(a.get("MetricName")).isEqualTo("ApproximateAgeOfOldestMessage");
                assertThat(refs(a.get("Dimensions"))).containsExactly(dlqId);
                assertThat(a.get("Threshold")).isEqualTo(dropsAtAgeAtTheSoonest - 4 * 86_400);
            });
            // an alarm notifies on a change of state: more messages in a DLQ that held some paged nobody
            assertThat(alarms).as("DLQ growth alarm for " + q.name()).anySatisfy(a -> {
                assertThat(a.get("Metrics")).isInstanceOf(List.class);
                List<Map<String, Object>> metrics = ((List<?>) a.get("Metrics")).stream().map(m -> map(m)).toList();
                assertThat(metrics).anySatisfy(m -> assertThat(m).containsEntry("Expression", "DIFF(visible + inFlight)"));
                assertThat(a).containsEntry("EvaluationPeriods", 2).containsEntry("DatapointsToAlarm", 1);
                for (String counted : List.of("ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible")) {
                    assertThat(metrics).as(counted).anySatisfy(m -> {
                        assertThat(m).containsKey("MetricStat");
                        var stat = map(map(m.get("MetricStat")).get("Metric"));
                        assertThat(stat).containsEntry("MetricName", counted);
                        assertThat(refs(stat.get("Dimensions"))).containsExactly(dlqId);
                        assertThat(map(m.get("MetricStat"))).containsEntry("Period", 60);
                    });
                }
            });
        }
        for (QueueDef q : Queues.ALL) {
            // A job past all its tries' time is not being taken (a disabled event source, a lost permission): no DLQ
            // nor function alarm sees it, and the queue drops it after its retention (4 days).
            String queueId = synth.logicalId(synth.stack().queues().get(q.name()));
            int threshold = GroupMsgStack.oldestJobAlarmSeconds(q);
            // a standard queue's metric leaves out a message received three times or more: its first two tries only
            int counted = q.fifo() ? q.maxReceiveCount() : 2;
            assertThat(threshold).as(q.name()).isGreaterThan(counted * q.visibilityTimeoutSeconds() + 15 * 60)
                    .isLessThanOrEqualTo(counted * q.visibilityTimeoutSeconds() + 30 * 60)
                    .isLessThan(q.retentionDays() * 86_400 / 10);
            assertThat(alarms).as("oldest job alarm for " + q.name()).anySatisfy(a -> {
                assertThat(a.get("Namespace")).isEqualTo("AWS/SQS");
                assertThat(a.get("MetricName")).isEqualTo("ApproximateAgeOfOldestMessage");
                assertThat(a.get("Statistic")).isEqualTo("Maximum");
                assertThat(refs(a.get("Dimensions"))).containsExactly(queueId);
                assertThat(a.get("Threshold")).isEqualTo(threshold);
            });
        }
        for (HandlerDef h : Handlers.ALL) {
            String fnId = synth.logicalId(synth.stack().functions().get(h.name()));
            for (String metric : List.of("Errors", "Throttles")) {
                assertThat(alarms).as(metric + " alarm for " + h.name()).anySatisfy(a -> {
                    assertThat(a.get("Namespace")).isEqualTo("AWS/Lambda");
                    assertThat(a.get("MetricName")).isEqualTo(metric);
                    assertThat(refs(a.get("Dimensions"))).containsExactly(fnId);
                });
            }
        }
    }

    @Test
    void noPolicyAllowsAWildcardActionOrResource() {
        List<Map<String, Object>> all = statements(synth.json().get("Resources"));
        assertThat(all).isNotEmpty();
        List<Map<String, Object>> allows = all.stream().filter(s -> "Allow".equals(s.get("Effect"))).toList();
        assertThat(allows).isNotEmpty().allSatisfy(s -> {
            List<String> actions = strings(s.get("Action"));
            assertThat(s).as("NotAction is a wildcard in disguise").doesNotContainKey("NotAction");
            assertThat(actions).as("actions of %s", s).isNotEmpty().noneMatch(a -> a.equals("*") || a.endsWith(":*"));
            assertThat(strings(s.get("Resource"))).as("resources of %s", s).noneMatch(r -> r.equals("*"));
        });
    }

    @Test
    void eachFunctionMayTouchOnlyItsOwnTablesQueuesAndLogs() {
        assertThat(KEY_LOOKUP_WRITERS).allSatisfy(name ->
                assertThat(synth.stack().needs().get(name).writesKeyLookups()).as(name + " writes key lookups").isTrue());
        for (HandlerDef def : Handlers.ALL) {
            String roleId = synth.logicalId(synth.stack().functions().get(def.name()).getRole());
            Map<String, Object> role = synth.properties(roleId);
            assertThat(role).as(def.name() + " role").doesNotContainKey("ManagedPolicyArns").doesNotContainKey("Policies");
            List<Map<String, Object>> statements = resourcesOfType("AWS::IAM::Policy").values().stream()
                    .map(p -> map(p.get("Properties")))
                    .filter(p -> refs(p.get("Roles")).contains(roleId))
                    .flatMap(p -> statements(p.get("PolicyDocument")).stream()).toList();

            Set<String> allowedTables = def.tables().stream()
                    .map(t -> synth.logicalId(synth.stack().tables().get(t))).collect(Collectors.toSet());
            Set<String> sendQueues = def.queuesSentTo().stream()
                    .map(q -> synth.logicalId(synth.stack().queues().get(q))).collect(Collectors.toCollection(HashSet::new));
            // a dead-letter queue is sent to only by a function that dead-letters its queue's messages itself
            def.deadLettersSentTo().forEach(q -> sendQueues.add(synth.logicalId(synth.stack().deadLetterQueues().get(q))));
            Set<String> consumeQueues = Queues.ALL.stream().filter(q -> q.consumer().equals(def.name()))
                    .map(q -> synth.logicalId(synth.stack().queues().get(q.name()))).collect(Collectors.toSet());

            Set<String> publishTopics = synth.stack().needs().get(def.name()).topics().stream()
                    .map(t -> synth.logicalId(synth.stack().eventTopics().get(t))).collect(Collectors.toSet());
            boolean readsSecret = synth.stack().needs().get(def.name()).carrierCredentials();

            Set<String> tablesSeen = new HashSet<>();
            Set<String> topicsSeen = new HashSet<>();
            boolean secretSeen = false;
            List<Map<String, Object>> denials = statements.stream().filter(s -> "Deny".equals(s.get("Effect"))).toList();
            // every function on the core table but those whose code writes API keys' lookup rows may write none (a
            // narrowed grant, NarrowedTableAccessTest's, is the whole of what its role may do there)
            String core = synth.logicalId(synth.stack().tables().get("core"));
            boolean writesKeys = KEY_LOOKUP_WRITERS.contains(def.name());
            if (def.tables().contains("core") && !writesKeys && !Handlers.NARROWED_TABLE_ACCESS.containsKey(def.name())) {
                assertThat(denials).as(def.name() + " may write no API key lookup").singleElement().satisfies(d -> {
                    assertThat(strings(d.get("Action"))).containsExactlyInAnyOrder("dynamodb:PutItem",
                            "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem");
                    assertThat(refs(d.get("Resource"))).containsExactly(core);
                    assertThat(d.get("Condition")).isEqualTo(Map.of("ForAnyValue:StringLike",
                            Map.of("dynamodb:LeadingKeys", List.of("KEYHASH#*"))));
                });
            } else {
                assertThat(denials).as(def.name() + " denials").isEmpty();
            }
            for (Map<String, Object> s : statements) {
                if (denials.contains(s)) continue;
                List<String> actions = strings(s.get("Action"));
                Set<String> resources = refs(s.get("Resource"));
                Set<String> services = actions.stream().map(a -> a.substring(0, a.indexOf(':'))).collect(Collectors.toSet());
                assertThat(services).as(def.name() + " statement %s", s).hasSize(1);
                switch (services.iterator().next()) {
                    case "logs" -> {
                        assertThat(actions).containsExactlyInAnyOrder("logs:CreateLogStream", "logs:PutLogEvents");
                        assertThat(resources).hasSize(1);
                        assertThat(synth.resources().get(resources.iterator().next()).get("Type")).isEqualTo("AWS::Logs::LogGroup");
                        assertThat(map(map(synth.properties(synth.logicalId(synth.stack().functions().get(def.name()))).get("LoggingConfig")).get("LogGroup")))
                                .isEqualTo(Map.of("Ref", resources.iterator().next()));
                    }
                    case "dynamodb" -> {
                        assertThat(allowedTables).as(def.name() + " tables").containsAll(resources);
                        // items by key and by query: no Scan (a whole table, every account's key hashes), no streams
                        assertThat(actions).as(def.name() + " table actions").isSubsetOf(GroupMsgStack.ITEM_ACCESS);
                        tablesSeen.addAll(resources);
                        if (def.trigger() == HandlerDef.Trigger.AUTHORIZER) {
                            assertThat(actions).as("authorizer is read-only")
                                    .noneMatch(a -> a.matches("dynamodb:(Put|Update|Delete|BatchWrite)Item"));
                        }
                    }
                    case "sqs" -> {
                        if (actions.contains("sqs:SendMessage")) {
                            assertThat(sendQueues).as(def.name() + " send").containsAll(resources);
                        } else {
                            assertThat(actions).contains("sqs:ReceiveMessage", "sqs:DeleteMessage");
                            assertThat(consumeQueues).as(def.name() + " consume").containsAll(resources);
                        }
                    }
                    case "sns" -> {
                        assertThat(actions).as(def.name() + " sns").containsExactly("sns:Publish");
                        assertThat(publishTopics).as(def.name() + " may publish to").containsAll(resources);
                        topicsSeen.addAll(resources);
                    }
                    case "secretsmanager" -> {
                        assertThat(readsSecret).as(def.name() + " may read the carrier credentials").isTrue();
                        assertThat(actions).containsExactlyInAnyOrder("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret");
                        assertThat(resources).containsExactly(secretId());
                        secretSeen = true;
                    }
                    default -> throw new AssertionError(def.name() + " has an unexpected permission: " + s);
                }
            }
            assertThat(tablesSeen).as(def.name() + " granted tables").isEqualTo(allowedTables);
            assertThat(topicsSeen).as(def.name() + " granted topics").isEqualTo(publishTopics);
            assertThat(secretSeen).as(def.name() + " granted the carrier credentials").isEqualTo(readsSecret);
            for (String q : sendQueues) {
                assertThat(statements).as(def.name() + " may send to " + q).anySatisfy(s -> {
                    assertThat(strings(s.get("Action"))).contains("sqs:SendMessage");
                    assertThat(refs(s.get("Resource"))).contains(q);
                });
            }
            for (String q : consumeQueues) {
                assertThat(statements).as(def.name() + " may consume " + q).anySatisfy(s -> {
                    assertThat(strings(s.get("Action"))).contains("sqs:ReceiveMessage");
                    assertThat(refs(s.get("Resource"))).contains(q);
                });
            }
        }
    }

    /**
     * The functions whose code writes API keys' lookup rows (creating, replacing, revoking keys; the first key of an
     * account): every other one is denied it, whatever its other grants.
     */
    static final Set<String> KEY_LOOKUP_WRITERS = Set.of(Handlers.ADMIN_API.name(), Handlers.BOOTSTRAP_ACCOUNT.name());

    @Test
    void theExtendedSchemaIsDeployed() {
        // Guards against a definition silently dropping out of the lists the generic checks iterate over.
        assertThat(synth.stack().tables()).containsKeys("core", "members", "deliveries");
        Map<String, Object> core = synth.properties(synth.logicalId(synth.stack().tables().get("core")));
        assertThat(list(core.get("GlobalSecondaryIndexes"))).extracting(g -> map(g).get("IndexName")).contains("gsi1");
        assertThat(synth.stack().queues()).containsKeys("imports", "fanout", "deliveries");
        assertThat(synth.stack().deadLetterQueues()).containsKeys("imports", "fanout", "deliveries");
        assertThat(synth.stack().functions()).containsKeys("messages-api", "fanout-worker", "delivery-worker", "carrier-webhook");
        assertThat(synth.stack().routes()).containsKeys("POST /v1/groups/{id}/messages", "GET /v1/messages/{id}/deliveries",
                "POST /webhooks/twilio/status");
        synth.template().resourceCountIs("AWS::SNS::Topic", 1 + Topic.values().length);
        synth.template().resourceCountIs("AWS::SecretsManager::Secret", 1);
    }

    @Test
    void theIntegrationsTopicDeliversEveryEventRawToTheWebhooksQueueAndTheNotificationsTopicDoesNot() {
        String queue = synth.logicalId(synth.stack().queues().get(Queues.WEBHOOKS.name()));
        var subscriptions = resourcesOfType("AWS::SNS::Subscription").values().stream().map(r -> map(r.get("Properties")))
                .filter(p -> "sqs".equals(p.get("Protocol"))).toList();
        assertThat(subscriptions).hasSize(1).allSatisfy(p -> {
            assertThat(p.get("RawMessageDelivery")).isEqualTo(true);
            assertThat(refs(p.get("Endpoint"))).contains(queue);
        });
        Set<String> topics = new HashSet<>();
        subscriptions.forEach(p -> topics.addAll(refs(p.get("TopicArn"))));
        // group messages (the notifications topic's group_message.sent) are not forwarded to integrations (API.md)
        assertThat(topics).containsExactly(synth.logicalId(synth.stack().eventTopics().get(Topic.INTEGRATIONS)));
        // the queue lets SNS send to it (from those topics only)
        var policies = resourcesOfType("AWS::SQS::QueuePolicy").values().stream().map(r -> map(r.get("Properties")))
                .filter(p -> refs(p.get("Queues")).contains(queue)).toList();
        assertThat(policies).isNotEmpty();
        assertThat(policies.toString()).contains("sns.amazonaws.com").contains("aws:SourceArn");
    }

    @Test
    void theCarrierWebhookRouteHasNoAuthorizerAndItsFunctionKnowsThePublicUrl() {
        Map<String, Object> route = resourcesOfType("AWS::ApiGatewayV2::Route").values().stream()
                .map(r -> map(r.get("Properties")))
                .filter(p -> "POST /webhooks/twilio/status".equals(p.get("RouteKey")))
                .findFirst().orElseThrow();
        assertThat(route.getOrDefault("AuthorizationType", "NONE")).isEqualTo("NONE");
        assertThat(route).doesNotContainKey("AuthorizerId");
        assertThat(integrationTarget(route)).isEqualTo(aliasId(Handlers.CARRIER_WEBHOOK.name()));
        Map<String, Object> env = map(map(synth.properties(synth.logicalId(synth.stack().functions()
                .get(Handlers.CARRIER_WEBHOOK.name()))).get("Environment")).get("Variables"));
        assertThat(env).containsKey(GroupMsgStack.PUBLIC_BASE_URL_ENV).containsKey(GroupMsgStack.TWILIO_SECRET_ARN_ENV);
        // Only carrier webhooks go without the authorizer (no accidental public /v1 route).
        assertThat(Routes.ALL.stream().filter(r -> !r.authorized()).map(RouteDef::path))
                .allMatch(p -> p.startsWith("/webhooks/"));
    }

    @Test
    void eventTopicsAreKmsEncryptedTlsOnlyAndPublishedToOnlyByTheirPublishers() {
        assertThat(synth.stack().eventTopics()).containsOnlyKeys(Topic.values());
        Map<String, Object> outputs = map(synth.json().get("Outputs"));
        for (Topic t : Topic.values()) {
            String topicId = synth.logicalId(synth.stack().eventTopics().get(t));
            // The alias's ARN in the stack's account and region: arn:<partition>:kms:<region>:<account>:alias/aws/sns.
            List<Object> keyArn = list(list(map(synth.properties(topicId).get("KmsMasterKeyId")).get("Fn::Join")).get(1));
            assertThat(keyArn).as(t + " encrypted").startsWith("arn:")
                    .endsWith(":" + GroupMsgStack.SNS_MANAGED_KEY_ALIAS).contains(":kms:");
            assertThat(synth.resources().values()).as("TLS-only policy on " + t).anySatisfy(r -> {
                assertThat(r.get("Type")).isEqualTo("AWS::SNS::TopicPolicy");
                assertThat(refs(map(r.get("Properties")).get("Topics"))).containsExactly(topicId);
                assertThat(statements(r)).anySatisfy(s -> {
                    assertThat(s.get("Effect")).isEqualTo("Deny");
                    assertThat(strings(s.get("Action"))).contains("sns:Publish");
                    assertThat(s.get("Condition")).isEqualTo(Map.of("Bool", Map.of("aws:SecureTransport", "false")));
                });
            });
            assertThat(map(outputs.get(GroupMsgStack.pascal(t.wireName()) + "TopicArn")).get("Value"))
                    .isEqualTo(Map.of("Ref", topicId));
            // The topic's variable is set exactly on the functions that may publish to it.
            for (HandlerDef def : Handlers.ALL) {
                Map<String, Object> env = map(map(synth.properties(synth.logicalId(synth.stack().functions().get(def.name())))
                        .get("Environment")).get("Variables"));
                boolean publishes = synth.stack().needs().get(def.name()).topics().contains(t);
                if (publishes) assertThat(env).as(def.name()).containsEntry(t.envVar(), Map.of("Ref", topicId));
                else assertThat(env).as(def.name()).doesNotContainKey(t.envVar());
            }
        }
        // Derived from the code (HandlerNeeds): whoever completes a group message publishes group_message.sent.
        assertThat(synth.stack().needs().get(Handlers.FANOUT_WORKER.name()).topics()).containsExactly(Topic.NOTIFICATIONS);
        assertThat(synth.stack().needs().get(Handlers.ADMIN_API.name()).topics()).isEmpty();
        // No KMS statement anywhere: the AWS-managed SNS key needs none.
        assertThat(statements(synth.json().get("Resources"))).noneSatisfy(s ->
                assertThat(strings(s.get("Action"))).anyMatch(a -> a.startsWith("kms:")));
    }

    @Test
    void carrierCredentialsAreAGeneratedSecretReadableOnlyByTheCarrierUsers() {
        Map<String, Object> secret = synth.properties(secretId());
        Map<String, Object> generate = map(secret.get("GenerateSecretString"));
        assertThat(generate.get("GenerateStringKey")).isEqualTo("authToken");
        assertThat(generate.get("SecretStringTemplate"))
                .isEqualTo("{\"accountSid\":\"" + GroupMsgStack.TWILIO_ACCOUNT_SID_PLACEHOLDER + "\"}");
        assertThat(secret).doesNotContainKey("SecretString");
        assertThat(synth.resources().get(secretId()).get("DeletionPolicy")).isEqualTo("Delete");
        assertThat(map(map(synth.json().get("Outputs")).get("TwilioSecretArn")).get("Value")).isEqualTo(Map.of("Ref", secretId()));
        assertThat(synth.stack().needs().get(Handlers.DELIVERY_WORKER.name()).carrierCredentials()).isTrue();
        assertThat(synth.stack().needs().get(Handlers.CARRIER_WEBHOOK.name()).carrierCredentials()).isTrue();
        assertThat(synth.stack().needs().get(Handlers.GROUPS_API.name()).carrierCredentials()).isFalse();
        for (HandlerDef def : Handlers.ALL) {
            Map<String, Object> env = map(map(synth.properties(synth.logicalId(synth.stack().functions().get(def.name())))
                    .get("Environment")).get("Variables"));
            if (synth.stack().needs().get(def.name()).carrierCredentials()) {
                assertThat(env).as(def.name()).containsEntry(GroupMsgStack.TWILIO_SECRET_ARN_ENV, Map.of("Ref", secretId()));
            } else {
                assertThat(env).as(def.name()).doesNotContainKey(GroupMsgStack.TWILIO_SECRET_ARN_ENV);
            }
            // No twilioAccountSid in dev's context: the functions read it from the secret.
            assertThat(env).as(def.name()).doesNotContainKey(GroupMsgStack.TWILIO_ACCOUNT_SID_ENV);
        }
    }

    @Test
    void cdkNagAwsSolutionsFindsNothingUnsuppressed() {
        assertNagClean(synth);
        // Every suppression carries a reason long enough to say why.
        List<Object> suppressions = new ArrayList<>();
        for (Map<String, Object> r : synth.resources().values()) {
            if (r.get("Metadata") instanceof Map<?, ?> md && md.get("cdk_nag") instanceof Map<?, ?> nag) {
                suppressions.addAll(list(nag.get("rules_to_suppress")));
            }
        }
        assertThat(suppressions).isNotEmpty().allSatisfy(s -> {
            assertThat((String) map(s).get("id")).startsWith("AwsSolutions-");
            assertThat((String) map(s).get("reason")).hasSizeGreaterThan(40);
        });
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** Suppressed rules, each with its reason in the stack; anything else cdk-nag flags fails. */
    static final Set<String> EXPECTED_SUPPRESSIONS = Set.of("AwsSolutions-APIG4", "AwsSolutions-SMG4");

    static void assertNagClean(Synth.Result synth) {
        assertThat(synth.nagErrors()).as(describe(synth.nagErrors())).isEmpty();
        assertThat(synth.nagWarnings()).as(describe(synth.nagWarnings())).isEmpty();
        assertThat(synth.otherWarnings()).as("CDK warnings: " + describe(synth.otherWarnings())).isEmpty();
        // The report proves the rules ran (an aspect that never ran would also report no errors).
        List<List<String>> rows = synth.nagReport();
        assertThat(rows.stream().map(r -> r.get(0)).collect(Collectors.toSet())).contains(
                "AwsSolutions-APIG1", "AwsSolutions-APIG4", "AwsSolutions-IAM4", "AwsSolutions-IAM5",
                "AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4", "AwsSolutions-DDB3",
                "AwsSolutions-L1", "AwsSolutions-SNS3", "AwsSolutions-SMG4");
        assertThat(rows).allSatisfy(r -> assertThat(r.get(2)).as(String.join(" | ", r)).isIn("Compliant", "Suppressed"));
        boolean anyIndex = Tables.ALL.stream().anyMatch(t -> !t.indexes().isEmpty());
        assertThat(rows.stream().filter(r -> r.get(2).equals("Suppressed")))
                .allSatisfy(r -> {
                    if (r.get(0).equals("AwsSolutions-IAM5")) {
                        // Only the <table ARN>/index/* resource that grants on a table with GSIs bring along.
                        assertThat(anyIndex).as(String.join(" | ", r)).isTrue();
                        assertThat(r.get(3)).contains("global secondary indexes");
                    } else {
                        assertThat(EXPECTED_SUPPRESSIONS).as(String.join(" | ", r)).contains(r.get(0));
                    }
                    assertThat(r.get(3)).isNotBlank().isNotEqualTo("N/A");
                });
    }

    static String describe(List<SynthesisMessage> messages) {
        return messages.stream().map(m -> m.getId() + ": " + m.getEntry().getData()).collect(Collectors.joining("\n"));
    }

    private static Map<String, Map<String, Object>> resourcesOfType(String type) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        synth.resources().forEach((id, r) -> {
            if (type.equals(r.get("Type"))) out.put(id, r);
        });
        return out;
    }

    private static String onlyResourceOfType(String type) {
        Map<String, Map<String, Object>> found = resourcesOfType(type);
        assertThat(found).as(type).hasSize(1);
        return found.keySet().iterator().next();
    }

    private static String secretId() {
        return synth.logicalId(synth.stack().twilioSecret());
    }

    private static String aliasId(String handler) {
        return synth.logicalId(synth.stack().aliases().get(handler));
    }

    /** The alias a route's integration invokes: Route.Target -> Integration.IntegrationUri -> alias. */
    private static String integrationTarget(Map<String, Object> route) {
        Set<String> integration = refs(route.get("Target"));
        assertThat(integration).hasSize(1);
        Map<String, Object> props = synth.properties(integration.iterator().next());
        Set<String> uri = refs(props.get("IntegrationUri"));
        assertThat(uri).hasSize(1);
        return uri.iterator().next();
    }
}
