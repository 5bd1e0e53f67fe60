package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2CustomAuthorizerEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.events.ScheduledEvent;
import com.amazonaws.services.lambda.runtime.events.SimpleIAMPolicyResponse;
import groupmsg.platform.json.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Lambda event and response documents our handlers use, read and written with the jackson-jr we use anyway.
 * The Lambda Java runtime would otherwise bind them with its own serialisation library (a shaded Jackson with
 * mix-ins): measured, that cost a fresh JVM about 1,200 classes and 300 ms on the first invocation. Field names
 * are the documents' own (payload format 2.0, simple authorizer responses, SQS event source with partial batch
 * responses, EventBridge scheduled events); fields a document leaves out stay null, as the runtime leaves them.
 */
public final class LambdaJson {
    private LambdaJson() {}

    public static Map<String, Object> read(InputStream input) throws IOException {
        return Json.parseObject(new String(input.readAllBytes(), StandardCharsets.UTF_8));
    }

    public static void write(Object document, OutputStream output) throws IOException {
        output.write(Json.write(document).getBytes(StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- HTTP API, payload format 2.0

    public static APIGatewayV2HTTPEvent httpEvent(Map<String, Object> json) {
        var event = new APIGatewayV2HTTPEvent();
        event.setVersion(string(json, "version"));
        event.setRouteKey(string(json, "routeKey"));
        event.setRawPath(string(json, "rawPath"));
        event.setRawQueryString(string(json, "rawQueryString"));
        event.setCookies(strings(json, "cookies"));
        event.setHeaders(stringMap(json, "headers"));
        event.setQueryStringParameters(stringMap(json, "queryStringParameters"));
        event.setPathParameters(stringMap(json, "pathParameters"));
        event.setStageVariables(stringMap(json, "stageVariables"));
        event.setBody(string(json, "body"));
        event.setIsBase64Encoded(Boolean.TRUE.equals(json.get("isBase64Encoded")));
        Map<String, Object> ctx = object(json, "requestContext");
        if (ctx != null) {
            var context = new APIGatewayV2HTTPEvent.RequestContext();
            context.setRouteKey(string(ctx, "routeKey"));
            context.setAccountId(string(ctx, "accountId"));
            context.setStage(string(ctx, "stage"));
            context.setApiId(string(ctx, "apiId"));
            context.setDomainName(string(ctx, "domainName"));
            context.setDomainPrefix(string(ctx, "domainPrefix"));
            context.setTime(string(ctx, "time"));
            if (ctx.get("timeEpoch") instanceof Number epoch) context.setTimeEpoch(epoch.longValue());
            context.setRequestId(string(ctx, "requestId"));
            Map<String, Object> http = object(ctx, "http");
            if (http != null) {
                var h = new APIGatewayV2HTTPEvent.RequestContext.Http();
                h.setMethod(string(http, "method"));
                h.setPath(string(http, "path"));
                h.setProtocol(string(http, "protocol"));
                h.setSourceIp(string(http, "sourceIp"));
                h.setUserAgent(string(http, "userAgent"));
                context.setHttp(h);
            }
            Map<String, Object> authorizer = object(ctx, "authorizer");
            if (authorizer != null) {
                var a = new APIGatewayV2HTTPEvent.RequestContext.Authorizer();
                a.setLambda(object(authorizer, "lambda"));
                context.setAuthorizer(a);
            }
            event.setRequestContext(context);
        }
        return event;
    }

    public static Map<String, Object> httpResponse(APIGatewayV2HTTPResponse response) {
        var json = new LinkedHashMap<String, Object>();
        json.put("statusCode", response.getStatusCode());
        putIfPresent(json, "headers", response.getHeaders());
        // no multiValueHeaders: payload format 2.0 has none, and API Gateway ignores them
        putIfPresent(json, "cookies", response.getCookies());
        putIfPresent(json, "body", response.getBody());
        json.put("isBase64Encoded", response.getIsBase64Encoded());
        return json;
    }

    // ---------------------------------------------------------------- HTTP API Lambda authorizer, simple responses

    public static APIGatewayV2CustomAuthorizerEvent authorizerEvent(Map<String, Object> json) {
        var event = new APIGatewayV2CustomAuthorizerEvent();
        event.setVersion(string(json, "version"));
        event.setType(string(json, "type"));
        event.setRouteArn(string(json, "routeArn"));
        event.setIdentitySource(strings(json, "identitySource"));
        event.setRouteKey(string(json, "routeKey"));
        event.setRawPath(string(json, "rawPath"));
        event.setRawQueryString(string(json, "rawQueryString"));
        event.setCookies(strings(json, "cookies"));
        event.setHeaders(stringMap(json, "headers"));
        event.setQueryStringParameters(stringMap(json, "queryStringParameters"));
        event.setPathParameters(stringMap(json, "pathParameters"));
        event.setStageVariables(stringMap(json, "stageVariables"));
        return event;
    }

    public static Map<String, Object> authorizerResponse(SimpleIAMPolicyResponse response) {
        var json = new LinkedHashMap<String, Object>();
        json.put("isAuthorized", response.getIsAuthorized());
        json.put("context", response.getContext() == null ? Map.of() : response.getContext());
        return json;
    }

    // ---------------------------------------------------------------- SQS event source

    public static SQSEvent sqsEvent(Map<String, Object> json) {
        List<SQSEvent.SQSMessage> records = new ArrayList<>();
        if (json.get("Records") instanceof List<?> list) {
            for (Object item : list) {
                if (!(item instanceof Map<?, ?> raw)) throw new IllegalArgumentException("an SQS record is not an object");
                @SuppressWarnings("unchecked") Map<String, Object> r = (Map<String, Object>) raw;
                var message = new SQSEvent.SQSMessage();
                message.setMessageId(string(r, "messageId"));
                message.setReceiptHandle(string(r, "receiptHandle"));
                message.setBody(string(r, "body"));
                message.setMd5OfBody(string(r, "md5OfBody"));
                message.setMd5OfMessageAttributes(string(r, "md5OfMessageAttributes"));
                message.setEventSource(string(r, "eventSource"));
                message.setEventSourceArn(string(r, "eventSourceARN"));
                message.setAwsRegion(string(r, "awsRegion"));
                message.setAttributes(stringMap(r, "attributes"));
                message.setMessageAttributes(messageAttributes(object(r, "messageAttributes")));
                records.add(message);
            }
        }
        var event = new SQSEvent();
        event.setRecords(records);
        return event;
    }

    private static Map<String, SQSEvent.MessageAttribute> messageAttributes(Map<String, Object> json) {
        if (json == null) return null;
        var attributes = new LinkedHashMap<String, SQSEvent.MessageAttribute>();
        json.forEach((name, value) -> {
            @SuppressWarnings("unchecked") Map<String, Object> a = value instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
            var attribute = new SQSEvent.MessageAttribute();
            attribute.setDataType(string(a, "dataType"));
            attribute.setStringValue(string(a, "stringValue"));
            if (a.get("binaryValue") instanceof String b) attribute.setBinaryValue(ByteBuffer.wrap(Base64.getDecoder().decode(b)));
            attribute.setStringListValues(strings(a, "stringListValues"));
            attributes.put(name, attribute);
        });
        return attributes;
    }

    public static Map<String, Object> batchResponse(SQSBatchResponse response) {
        List<Map<String, Object>> failures = new ArrayList<>();
        if (response != null && response.getBatchItemFailures() != null) {
            for (var failure : response.getBatchItemFailures()) failures.add(Map.of("itemIdentifier", failure.getItemIdentifier()));
        }
        return Map.of("batchItemFailures", failures);
    }

    // ---------------------------------------------------------------- EventBridge schedule

    /** The rule's event; its {@code time} is left out (the handler reads the clock it is given, never this). */
    public static ScheduledEvent scheduledEvent(Map<String, Object> json) {
        var event = new ScheduledEvent();
        event.setVersion(string(json, "version"));
        event.setId(string(json, "id"));
        event.setDetailType(string(json, "detail-type"));
        event.setSource(string(json, "source"));
        event.setAccount(string(json, "account"));
        event.setRegion(string(json, "region"));
        event.setResources(strings(json, "resources"));
        event.setDetail(object(json, "detail"));
        return event;
    }

    // ---------------------------------------------------------------- field helpers

    private static String string(Map<String, Object> json, String field) {
        Object value = json.get(field);
        return value == null ? null : value.toString();
    }

    private static List<String> strings(Map<String, Object> json, String field) {
        if (!(json.get(field) instanceof List<?> list)) return null;
        List<String> out = new ArrayList<>(list.size());
        for (Object item : list) out.add(item == null ? null : item.toString());
        return out;
    }

    private static Map<String, String> stringMap(Map<String, Object> json, String field) {
        if (!(json.get(field) instanceof Map<?, ?> map)) return null;
        var out = new LinkedHashMap<String, String>(map.size() * 2);
        map.forEach((k, v) -> out.put(String.valueOf(k), v == null ? null : v.toString()));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Map<String, Object> json, String field) {
        return json.get(field) instanceof Map<?, ?> map ? (Map<String, Object>) map : null;
    }

    private static void putIfPresent(Map<String, Object> json, String field, Object value) {
        if (value != null) json.put(field, value);
    }
}
