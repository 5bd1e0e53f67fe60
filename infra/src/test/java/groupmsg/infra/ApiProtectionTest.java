package groupmsg.infra;

import groupmsg.lines.LineRules;
import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static groupmsg.infra.TemplateJson.map;
import static groupmsg.infra.TemplateJson.refs;
import static groupmsg.infra.TemplateJson.strings;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP API's throttles and alarms: the carrier webhooks are not held to the API routes' stage throttle (Twilio
 * does not retry a webhook answered 429, so a throttled receipt or STOP is lost), and the API's own failures alarm.
 */
class ApiProtectionTest {

    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of());
    }

    private static Set<String> webhookRouteKeys() {
        return Routes.ALL.stream().filter(r -> !r.authorized()).map(RouteDef::key).collect(Collectors.toSet());
    }

    private static Map<String, Object> stage() {
        return synth.properties(synth.logicalId(synth.stack().apiStage()));
    }

    @Test
    void webhookRoutesHaveTheirOwnThrottleWellAboveTheFastestLinesCallbacks() {
        // at least two status callbacks per recipient at a line's highest rate, and inbound texts on top
        assertThat(GroupMsgStack.WEBHOOK_RATE_LIMIT).isGreaterThanOrEqualTo(3 * LineRules.MAX_MPS);
        assertThat(GroupMsgStack.WEBHOOK_BURST_LIMIT).isGreaterThanOrEqualTo(GroupMsgStack.WEBHOOK_RATE_LIMIT);
        assertThat(webhookRouteKeys()).containsExactlyInAnyOrder("POST /webhooks/twilio/inbound", "POST /webhooks/twilio/status");

        Map<String, Object> routeSettings = map(stage().get("RouteSettings"));
        // Exactly the webhooks: every API route keeps the stage default.
        assertThat(routeSettings.keySet()).isEqualTo(webhookRouteKeys());
        for (String key : webhookRouteKeys()) {
            assertThat(routeSettings.get(key)).as(key).isEqualTo(Map.of(
                    "ThrottlingRateLimit", GroupMsgStack.WEBHOOK_RATE_LIMIT,
                    "ThrottlingBurstLimit", GroupMsgStack.WEBHOOK_BURST_LIMIT));
        }
        assertThat(stage().get("DefaultRouteSettings")).isEqualTo(Map.of(
                "ThrottlingRateLimit", GroupMsgStack.API_RATE_LIMIT, "ThrottlingBurstLimit", GroupMsgStack.API_BURST_LIMIT));
    }

    @Test
    void theStageIsCreatedAfterTheRoutesItsSettingsName() {
        // CloudFormation refuses route settings for a route key that does not exist yet.
        Object dependsOn = synth.resources().get(synth.logicalId(synth.stack().apiStage())).get("DependsOn");
        for (String key : webhookRouteKeys()) {
            assertThat(strings(dependsOn)).as(key).contains(synth.logicalId(synth.stack().routes().get(key)));
        }
    }

    @Test
    void http5xxAlarmsOnTheStage() {
        String apiId = synth.logicalId(synth.stack().api());
        Map<String, Object> alarm = onlyAlarm("AWS/ApiGateway", "5xx");
        assertThat(alarm.get("Dimensions")).isEqualTo(List.of(
                Map.of("Name", "ApiId", "Value", Map.of("Ref", apiId)),
                Map.of("Name", "Stage", "Value", "$default")));
        assertNotifies(alarm, 1); // on the first 5xx
    }

    @Test
    void webhook4xxAreCountedFromTheAccessLogsAndAlarm() {
        String logGroupId = synth.logicalId(synth.stack().apiAccessLogs());
        // The access log lines carry what the filter reads.
        String format = (String) map(stage().get("AccessLogSettings")).get("Format");
        assertThat(format).contains("\"routeKey\":\"$context.routeKey\"", "\"status\":\"$context.status\"");

        List<Map<String, Object>> filters = metricFilters().stream()
                .filter(f -> refs(f.get("LogGroupName")).contains(logGroupId)).toList();
        assertThat(filters).hasSize(1);
        Map<String, Object> filter = filters.getFirst();
        assertThat(refs(filter.get("LogGroupName"))).containsExactly(logGroupId);
        String pattern = (String) filter.get("FilterPattern");
        for (String key : webhookRouteKeys()) assertThat(pattern).contains("$.routeKey = \"" + key + "\"");
        assertThat(pattern).contains("$.status = \"4*\"").doesNotContain("/v1/");
        assertThat(filter.get("MetricTransformations")).isEqualTo(List.of(Map.of(
                "MetricName", GroupMsgStack.WEBHOOK_CLIENT_ERRORS_METRIC,
                "MetricNamespace", GroupMsgStack.METRIC_NAMESPACE_PREFIX + "dev",
                "MetricValue", "1")));

        Map<String, Object> alarm = onlyAlarm(GroupMsgStack.METRIC_NAMESPACE_PREFIX + "dev", GroupMsgStack.WEBHOOK_CLIENT_ERRORS_METRIC);
        assertThat(alarm).doesNotContainKey("Dimensions");
        assertThat((String) alarm.get("AlarmDescription")).contains("429", "403", "publicBaseUrl");
        // not on a stray unsigned post (a 403 too): a misconfiguration or a throttle refuses far more in a minute
        assertNotifies(alarm, GroupMsgStack.WEBHOOK_CLIENT_ERRORS_ALARM_THRESHOLD);
        assertThat(GroupMsgStack.WEBHOOK_CLIENT_ERRORS_ALARM_THRESHOLD).isGreaterThan(1);
    }

    @Test
    void failuresFunctionsHandleAreCountedFromEveryFunctionsLogsAndTheSeriousOnesPage() {
        List<Map<String, Object>> handled = metricFilters().stream()
                .filter(f -> f.get("MetricTransformations").toString().contains(GroupMsgStack.HANDLED_FAILURES_METRIC)).toList();
        assertThat(handled).hasSize(groupmsg.platform.schema.Handlers.ALL.size());
        assertThat(handled.stream().map(f -> refs(f.get("LogGroupName")).iterator().next()).collect(Collectors.toSet()))
                .as("one per function's log group").hasSize(handled.size())
                .allSatisfy(id -> assertThat(synth.resources().get(id).get("Type")).isEqualTo("AWS::Logs::LogGroup"));
        assertThat(handled).allSatisfy(f -> {
            assertThat(f.get("FilterPattern")).isEqualTo("{ $.metric = \"*\" }"); // any value
            assertThat(f.get("MetricTransformations")).isEqualTo(List.of(Map.of(
                    "MetricName", GroupMsgStack.HANDLED_FAILURES_METRIC,
                    "MetricNamespace", GroupMsgStack.METRIC_NAMESPACE_PREFIX + "dev",
                    "MetricValue", "1",
                    "Dimensions", List.of(Map.of("Key", "Metric", "Value", "$.metric")))));
        });
        // the functions log what the filter reads: a "metric" field (a name the alarms below know among them)
        for (String paged : GroupMsgStack.PAGED_HANDLED_FAILURES) {
            List<Map<String, Object>> alarms = synth.resources().values().stream()
                    .filter(r -> "AWS::CloudWatch::Alarm".equals(r.get("Type"))).map(r -> map(r.get("Properties")))
                    .filter(p -> GroupMsgStack.HANDLED_FAILURES_METRIC.equals(p.get("MetricName"))
                            && List.of(Map.of("Name", "Metric", "Value", paged)).equals(p.get("Dimensions")))
                    .toList();
            assertThat(alarms).as(paged).singleElement().satisfies(alarm -> {
                assertThat(alarm.get("Namespace")).isEqualTo(GroupMsgStack.METRIC_NAMESPACE_PREFIX + "dev");
                assertNotifies(alarm, 1);
            });
        }
    }

    @Test
    void failedQueueJobsAndAnAbsentCarrierPageWhenTheyComeBackWithinTenMinutes() {
        for (String failure : List.of(groupmsg.platform.HandledFailures.JOB_FAILED, groupmsg.platform.HandledFailures.CARRIER_UNAVAILABLE)) {
            List<Map<String, Object>> alarms = synth.resources().values().stream()
                    .filter(r -> "AWS::CloudWatch::Alarm".equals(r.get("Type"))).map(r -> map(r.get("Properties")))
                    .filter(p -> GroupMsgStack.HANDLED_FAILURES_METRIC.equals(p.get("MetricName"))
                            && List.of(Map.of("Name", "Metric", "Value", failure)).equals(p.get("Dimensions")))
                    .toList();
            assertThat(alarms).as(failure).singleElement().satisfies(alarm -> {
                assertNotifies(alarm, 1);
                // failures in 3 minutes of 10: a passing throttle fails a job in a minute or two
                assertThat(alarm).containsEntry("Period", 60).containsEntry("EvaluationPeriods", 10)
                        .containsEntry("DatapointsToAlarm", 3).containsEntry("TreatMissingData", "notBreaching");
            });
        }
        assertThat(GroupMsgStack.PAGED_HANDLED_FAILURES)
                .doesNotContain(groupmsg.platform.HandledFailures.JOB_FAILED, groupmsg.platform.HandledFailures.CARRIER_UNAVAILABLE);
    }

    @Test
    void maintenanceBehindPagesWhenItLastsTenMinutesOfFifteen() {
        List<Map<String, Object>> alarms = synth.resources().values().stream()
                .filter(r -> "AWS::CloudWatch::Alarm".equals(r.get("Type"))).map(r -> map(r.get("Properties")))
                .filter(p -> GroupMsgStack.HANDLED_FAILURES_METRIC.equals(p.get("MetricName"))
                        && List.of(Map.of("Name", "Metric", "Value", groupmsg.platform.HandledFailures.MAINTENANCE_BEHIND))
                        .equals(p.get("Dimensions")))
                .toList();
        assertThat(alarms).singleElement().satisfies(alarm -> {
            assertNotifies(alarm, 1);
            assertThat(alarm).containsEntry("Period", 60).containsEntry("EvaluationPeriods", 15)
                    .containsEntry("DatapointsToAlarm", 10).containsEntry("TreatMissingData", "notBreaching");
        });
        assertThat(GroupMsgStack.PAGED_HANDLED_FAILURES).doesNotContain(groupmsg.platform.HandledFailures.MAINTENANCE_BEHIND);
    }

    private static List<Map<String, Object>> metricFilters() {
        return synth.resources().values().stream()
                .filter(r -> "AWS::Logs::MetricFilter".equals(r.get("Type")))
                .map(r -> map(r.get("Properties"))).toList();
    }

    private static Map<String, Object> onlyAlarm(String namespace, String metric) {
        List<Map<String, Object>> found = synth.resources().values().stream()
                .filter(r -> "AWS::CloudWatch::Alarm".equals(r.get("Type")))
                .map(r -> map(r.get("Properties")))
                .filter(p -> namespace.equals(p.get("Namespace")) && metric.equals(p.get("MetricName")))
                .toList();
        assertThat(found).as(namespace + " " + metric + " alarm").hasSize(1);
        return found.getFirst();
    }

    private static void assertNotifies(Map<String, Object> alarm, int threshold) {
        assertThat(alarm.get("AlarmActions")).isEqualTo(List.of(Map.of("Ref", synth.logicalId(synth.stack().alarmTopic()))));
        assertThat(alarm.get("Statistic")).isEqualTo("Sum");
        assertThat(alarm.get("Period")).isEqualTo(60);
        assertThat(alarm.get("Threshold")).isEqualTo(threshold);
        assertThat(alarm.get("ComparisonOperator")).isEqualTo("GreaterThanOrEqualToThreshold");
        assertThat(alarm.get("TreatMissingData")).isEqualTo("notBreaching");
    }
}
