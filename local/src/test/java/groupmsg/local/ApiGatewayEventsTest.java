package groupmsg.local;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2CustomAuthorizerEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.fasterxml.jackson.jr.ob.JSON;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The events the gateway builds, checked both as JSON and as the objects the Lambda runtime's own serialisation
 * makes of them (what a handler actually receives).
 */
class ApiGatewayEventsTest {
    private static final Instant TIME = Instant.parse("2026-11-23T10:15:30.123Z");
    private static final ApiGatewayEvents.RequestMeta META =
            new ApiGatewayEvents.RequestMeta("Cb1Xoj5bIAMEVfA=", TIME, "Root=1-abc-def", 8080);

    private final ApiGatewayEvents events = new ApiGatewayEvents("us-east-1");

    private static GatewayRequest request(String method, String path, String query, Map<String, List<String>> headers,
                                          String body) {
        return new GatewayRequest(method, path, query, headers, body == null ? null : body.getBytes(StandardCharsets.UTF_8),
                "127.0.0.1", "HTTP/1.1");
    }

    private static APIGatewayV2HTTPEvent asLambdaSees(Map<String, Object> event) throws IOException {
        return (APIGatewayV2HTTPEvent) LambdaSerialization.serializerFor(APIGatewayV2HTTPEvent.class,
                ApiGatewayEventsTest.class.getClassLoader()).fromJson(JSON.std.asString(event));
    }

    @Test
    void thePathIsPassedOnDecodedAndTheQueryAsSent() throws IOException {
        var event = asLambdaSees(events.httpEvent(request("DELETE", "/v1/groups/grp%5F1/members/%2B14155550100", "q=a%20b&x=%2B1", Map.of(), null),
                "DELETE /v1/groups/{id}/members/{phone}", Map.of("id", "grp_1", "phone", "+14155550100"), Map.of("accountId", "acct_1"), META));
        assertThat(event.getRawPath()).isEqualTo("/v1/groups/grp_1/members/+14155550100");
        assertThat(event.getRequestContext().getHttp().getPath()).isEqualTo("/v1/groups/grp_1/members/+14155550100");
        assertThat(event.getRawQueryString()).isEqualTo("q=a%20b&x=%2B1");
    }

    @Test
    void headersAreLowerCasedAndRepeatedOnesJoinedWithCommas() throws IOException {
        var headers = new LinkedHashMap<String, List<String>>();
        headers.put("Content-Type", List.of("application/json"));
        headers.put("X-Custom", List.of("a", "b"));
        headers.put("Host", List.of("localhost:8080"));
        headers.put("User-Agent", List.of("curl/8.5.0"));
        headers.put("Authorization", List.of("Bearer k"));
        headers.put("Connection", List.of("keep-alive"));

        var event = asLambdaSees(events.httpEvent(request("POST", "/v1/groups", "", headers, "{}"),
                "POST /v1/groups", Map.of(), Map.of("accountId", "acct_1"), META));

        assertThat(event.getHeaders())
                .containsEntry("content-type", "application/json")
                .containsEntry("x-custom", "a,b")
                .containsEntry("host", "localhost:8080")
                .containsEntry("authorization", "Bearer k")
                .containsEntry("x-forwarded-proto", "http")
                .containsEntry("x-forwarded-port", "8080")
                .containsEntry("x-forwarded-for", "127.0.0.1")
                .containsEntry("x-amzn-trace-id", "Root=1-abc-def")
                .doesNotContainKey("connection");
        assertThat(event.getHeaders().keySet()).allSatisfy(k -> assertThat(k).isLowerCase());
    }

    @Test
    void requestFieldsAreThoseOfPayloadFormat2() throws IOException {
        var headers = Map.of("Host", List.of("localhost:8080"), "User-Agent", List.of("curl/8.5.0"));
        Map<String, Object> json = events.httpEvent(
                request("GET", "/v1/groups/grp%5F1", "limit=10&tag=a&tag=b&q=x+y%21", headers, null),
                "GET /v1/groups/{id}", Map.of("id", "grp_1"), Map.of("accountId", "acct_1", "keyId", "key_1", "role", "owner"),
                META);

        assertThat(json).doesNotContainKeys("body", "cookies", "stageVariables");
        var event = asLambdaSees(json);
        assertThat(event.getVersion()).isEqualTo("2.0");
        assertThat(event.getRouteKey()).isEqualTo("GET /v1/groups/{id}");
        assertThat(event.getRawPath()).as("decoded, as an HTTP API passes it").isEqualTo("/v1/groups/grp_1");
        assertThat(event.getRawQueryString()).isEqualTo("limit=10&tag=a&tag=b&q=x+y%21");
        assertThat(event.getQueryStringParameters())
                .containsExactlyInAnyOrderEntriesOf(Map.of("limit", "10", "tag", "a,b", "q", "x y!"));
        assertThat(event.getPathParameters()).containsExactly(Map.entry("id", "grp_1"));
        assertThat(event.getBody()).isNull();
        assertThat(event.getIsBase64Encoded()).isFalse();

        var context = event.getRequestContext();
        assertThat(context.getAccountId()).isEqualTo(LocalAws.ACCOUNT_ID);
        assertThat(context.getApiId()).isEqualTo(LocalAws.API_ID);
        assertThat(context.getDomainName()).isEqualTo("localhost");
        assertThat(context.getDomainPrefix()).isEqualTo("localhost");
        assertThat(context.getRequestId()).isEqualTo("Cb1Xoj5bIAMEVfA=");
        assertThat(context.getRouteKey()).isEqualTo("GET /v1/groups/{id}");
        assertThat(context.getStage()).isEqualTo("$default");
        assertThat(context.getTime()).isEqualTo("23/Nov/2026:10:15:30 +0000");
        assertThat(context.getTimeEpoch()).isEqualTo(TIME.toEpochMilli());
        assertThat(context.getHttp().getMethod()).isEqualTo("GET");
        assertThat(context.getHttp().getPath()).isEqualTo("/v1/groups/grp_1");
        assertThat(context.getHttp().getProtocol()).isEqualTo("HTTP/1.1");
        assertThat(context.getHttp().getSourceIp()).isEqualTo("127.0.0.1");
        assertThat(context.getHttp().getUserAgent()).isEqualTo("curl/8.5.0");
        assertThat(context.getAuthorizer().getLambda())
                .containsExactlyInAnyOrderEntriesOf(Map.of("accountId", "acct_1", "keyId", "key_1", "role", "owner"));
    }

    @Test
    void defaultRouteEventHasNoAuthorizerAndNoPathParameters() throws IOException {
        Map<String, Object> json = events.httpEvent(request("GET", "/nowhere", "", Map.of(), null), "$default", null, null, META);
        assertThat(json).doesNotContainKeys("pathParameters", "queryStringParameters");
        @SuppressWarnings("unchecked")
        var context = (Map<String, Object>) json.get("requestContext");
        assertThat(context).doesNotContainKey("authorizer");
        assertThat(asLambdaSees(json).getRouteKey()).isEqualTo("$default");
    }

    @Test
    void cookiesMoveFromTheHeadersIntoTheirOwnList() throws IOException {
        var headers = Map.of("Cookie", List.of("a=1; b=2", "c=3"));
        var event = asLambdaSees(events.httpEvent(request("GET", "/v1/groups", "", headers, null),
                "GET /v1/groups", Map.of(), Map.of(), META));
        assertThat(event.getCookies()).containsExactly("a=1", "b=2", "c=3");
        assertThat(event.getHeaders()).doesNotContainKey("cookie");
    }

    @Test
    void textBodiesArePassedAsTextAndEverythingElseAsBase64() throws IOException {
        for (String type : List.of("application/json", "application/json; charset=utf-8", "text/csv", "TEXT/PLAIN",
                "application/xml", "application/javascript")) {
            var event = asLambdaSees(events.httpEvent(request("POST", "/x", "", Map.of("Content-Type", List.of(type)), "é,1"),
                    "$default", null, null, META));
            assertThat(event.getIsBase64Encoded()).as(type).isFalse();
            assertThat(event.getBody()).as(type).isEqualTo("é,1");
        }
        // a form post (every Twilio webhook) is base64 in AWS, as any type not listed above
        for (String type : List.of("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8",
                "application/problem+json", "application/csv")) {
            var event = asLambdaSees(events.httpEvent(request("POST", "/x", "", Map.of("Content-Type", List.of(type)), "é=1"),
                    "$default", null, null, META));
            assertThat(event.getIsBase64Encoded()).as(type).isTrue();
            assertThat(new String(Base64.getDecoder().decode(event.getBody()), StandardCharsets.UTF_8)).as(type).isEqualTo("é=1");
        }
        byte[] binary = {0, (byte) 0xff, 0x10, 'a'};
        for (String type : List.of("application/octet-stream", "image/png", "multipart/form-data; boundary=x")) {
            var req = new GatewayRequest("POST", "/x", "", Map.of("Content-Type", List.of(type)), binary, "127.0.0.1", "HTTP/1.1");
            var event = asLambdaSees(events.httpEvent(req, "$default", null, null, META));
            assertThat(event.getIsBase64Encoded()).as(type).isTrue();
            assertThat(Base64.getDecoder().decode(event.getBody())).as(type).isEqualTo(binary);
        }
        var untyped = new GatewayRequest("POST", "/x", "", Map.of(), "hello".getBytes(StandardCharsets.UTF_8), "127.0.0.1", "HTTP/1.1");
        assertThat(asLambdaSees(events.httpEvent(untyped, "$default", null, null, META)).getIsBase64Encoded())
                .as("no content type").isTrue();
    }

    @Test
    void authorizerEventIsAVersion2RequestEventWithTheAuthorizationHeaderAsIdentity() throws IOException {
        var headers = Map.of("Authorization", List.of("Bearer secret"), "Host", List.of("localhost:8080"));
        Map<String, Object> json = events.authorizerEvent(request("DELETE", "/v1/groups/grp_1", "", headers, null),
                "DELETE /v1/groups/{id}", Map.of("id", "grp_1"), "Bearer secret", META);

        var event = (APIGatewayV2CustomAuthorizerEvent) LambdaSerialization.serializerFor(APIGatewayV2CustomAuthorizerEvent.class,
                getClass().getClassLoader()).fromJson(JSON.std.asString(json));
        assertThat(event.getVersion()).isEqualTo("2.0");
        assertThat(event.getType()).isEqualTo("REQUEST");
        assertThat(event.getIdentitySource()).containsExactly("Bearer secret");
        assertThat(event.getRouteKey()).isEqualTo("DELETE /v1/groups/{id}");
        assertThat(event.getRouteArn())
                .isEqualTo("arn:aws:execute-api:us-east-1:000000000000:local/$default/DELETE/v1/groups/grp_1");
        assertThat(event.getHeaders()).containsEntry("authorization", "Bearer secret");
        assertThat(event.getPathParameters()).containsEntry("id", "grp_1");
        assertThat(event.getRequestContext().getRequestId()).isEqualTo("Cb1Xoj5bIAMEVfA=");
        assertThat(event.getRequestContext().getHttp().getMethod()).isEqualTo("DELETE");
        assertThat(event.getRequestContext().getTimeEpoch()).isEqualTo(TIME);
    }
}
