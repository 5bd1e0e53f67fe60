package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SimpleIAMPolicyResponse;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LambdaJsonTest {
    private static Map<String, Object> sample(String handler, String file) throws Exception {
        return Json.parseObject(Files.readString(Path.of("..", "events", handler, file)));
    }

    @Test
    void httpEventKeepsWhatTheHandlersRead() throws Exception {
        var event = LambdaJson.httpEvent(sample("groups-api", "create-group.json"));
        assertThat(event.getRouteKey()).isEqualTo("POST /v1/groups");
        assertThat(event.getRawPath()).isEqualTo("/v1/groups");
        assertThat(event.getRawQueryString()).isEmpty();
        assertThat(event.getHeaders()).containsEntry("content-type", "application/json");
        assertThat(event.getBody()).contains("Volunteers");
        assertThat(event.getIsBase64Encoded()).isFalse();
        assertThat(event.getPathParameters()).isNull();
        var ctx = event.getRequestContext();
        assertThat(ctx.getHttp().getMethod()).isEqualTo("POST");
        assertThat(ctx.getHttp().getSourceIp()).isEqualTo("203.0.113.7");
        assertThat(ctx.getTimeEpoch()).isEqualTo(1795428930123L);
        assertThat(ctx.getRequestId()).isEqualTo("Cb1Xoj5bIAMEVfA=");
        assertThat(ctx.getAuthorizer().getLambda()).containsEntry("accountId", "acct_default").containsEntry("role", "owner");
    }

    @Test
    void httpEventWithBinaryBodyParametersAndNoContext() {
        var event = LambdaJson.httpEvent(Map.of("routeKey", "GET /v1/groups/{groupId}", "isBase64Encoded", true,
                "body", "AAE=", "pathParameters", Map.of("groupId", "grp_1"), "queryStringParameters", Map.of("limit", 5),
                "cookies", List.of("a=1")));
        assertThat(event.getIsBase64Encoded()).isTrue();
        assertThat(event.getPathParameters()).containsEntry("groupId", "grp_1");
        assertThat(event.getQueryStringParameters()).containsEntry("limit", "5");
        assertThat(event.getCookies()).containsExactly("a=1");
        assertThat(event.getRequestContext()).isNull();
    }

    @Test
    void httpResponseLeavesOutWhatIsNotSet() {
        var response = APIGatewayV2HTTPResponse.builder().withStatusCode(201)
                .withHeaders(Map.of("content-type", "application/json")).withBody("{}").build();
        assertThat(Json.write(LambdaJson.httpResponse(response)))
                .isEqualTo("{\"statusCode\":201,\"headers\":{\"content-type\":\"application/json\"},\"body\":\"{}\",\"isBase64Encoded\":false}");
    }

    @Test
    void authorizerEventAndSimpleResponse() throws Exception {
        var event = LambdaJson.authorizerEvent(sample("authorizer", "request.json"));
        assertThat(event.getIdentitySource()).hasSize(1).allMatch(s -> s.startsWith("Bearer gmk_"));
        assertThat(event.getHeaders()).containsKey("authorization");
        assertThat(event.getRouteKey()).isEqualTo("GET /v1/groups");
        assertThat(Json.write(LambdaJson.authorizerResponse(new SimpleIAMPolicyResponse(true, Map.of("role", "owner")))))
                .isEqualTo("{\"isAuthorized\":true,\"context\":{\"role\":\"owner\"}}");
        assertThat(Json.write(LambdaJson.authorizerResponse(new SimpleIAMPolicyResponse(false, null))))
                .isEqualTo("{\"isAuthorized\":false,\"context\":{}}");
    }

    @Test
    void sqsEventWithAttributesAndMessageAttributes() throws Exception {
        var event = LambdaJson.sqsEvent(sample("delivery-worker", "delivery-batch-unknown-message.json"));
        assertThat(event.getRecords()).hasSize(1);
        var message = event.getRecords().get(0);
        assertThat(message.getMessageId()).isEqualTo("059f36b4-87a3-44ab-83d2-661975830a7d");
        assertThat(message.getBody()).contains("msg_01JDNOSUCHMESSAGE0000000000");
        assertThat(message.getAttributes()).containsEntry("ApproximateReceiveCount", "1");
        assertThat(message.getEventSourceArn()).isEqualTo("arn:aws:sqs:us-east-1:123456789012:deliveries");
        assertThat(message.getMessageAttributes()).isEmpty();

        var withAttributes = LambdaJson.sqsEvent(Map.of("Records", List.of(Map.of("messageId", "m1", "body", "b",
                "attributes", Map.of("MessageGroupId", "g1"),
                "messageAttributes", Map.of("kind", Map.of("dataType", "String", "stringValue", "x"),
                        "blob", Map.of("dataType", "Binary", "binaryValue", "AAE="))))));
        var m = withAttributes.getRecords().get(0);
        assertThat(m.getAttributes()).containsEntry("MessageGroupId", "g1");
        assertThat(m.getMessageAttributes().get("kind").getStringValue()).isEqualTo("x");
        assertThat(m.getMessageAttributes().get("blob").getBinaryValue().remaining()).isEqualTo(2);
        assertThat(LambdaJson.sqsEvent(Map.of()).getRecords()).isEmpty();
        assertThatThrownBy(() -> LambdaJson.sqsEvent(Map.of("Records", List.of("not an object"))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void batchResponseListsOnlyTheFailures() {
        var response = new SQSBatchResponse(List.of(new SQSBatchResponse.BatchItemFailure("m2")));
        assertThat(Json.write(LambdaJson.batchResponse(response))).isEqualTo("{\"batchItemFailures\":[{\"itemIdentifier\":\"m2\"}]}");
        assertThat(Json.write(LambdaJson.batchResponse(new SQSBatchResponse(List.of())))).isEqualTo("{\"batchItemFailures\":[]}");
    }

    @Test
    void scheduledEvent() throws Exception {
        var event = LambdaJson.scheduledEvent(sample("maintenance", "scheduled.json"));
        assertThat(event.getDetailType()).isEqualTo("Scheduled Event");
        assertThat(event.getSource()).isEqualTo("aws.events");
        assertThat(event.getResources()).singleElement().asString().endsWith("rule/groupmsg-dev-maintenance");
        assertThat(event.getDetail()).isEmpty();
    }

    @Test
    void queueFunctionRunsThroughTheStreamEntryPoint() throws Exception {
        QueueFunction failEverything = new QueueFunction() {
            @Override
            public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
                return new SQSBatchResponse(event.getRecords().stream()
                        .map(r -> new SQSBatchResponse.BatchItemFailure(r.getMessageId())).toList());
            }

            @Override
            public Priming priming() {
                return null;
            }
        };
        var out = new ByteArrayOutputStream();
        failEverything.handleRequest(new ByteArrayInputStream(
                "{\"Records\":[{\"messageId\":\"a\",\"body\":\"x\"},{\"messageId\":\"b\",\"body\":\"y\"}]}".getBytes(StandardCharsets.UTF_8)),
                out, null);
        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo("{\"batchItemFailures\":[{\"itemIdentifier\":\"a\"},{\"itemIdentifier\":\"b\"}]}");
    }

    @Test
    void malformedEventIsAnError() {
        HttpFunction ok = new HttpFunction() {
            @Override
            public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
                return APIGatewayV2HTTPResponse.builder().withStatusCode(200).build();
            }

            @Override
            public Priming priming() {
                return null;
            }
        };
        assertThatThrownBy(() -> ok.handleRequest(new ByteArrayInputStream("{\"routeKey\":".getBytes(StandardCharsets.UTF_8)),
                new ByteArrayOutputStream(), null)).isInstanceOf(Json.JsonSyntaxException.class);
    }
}
