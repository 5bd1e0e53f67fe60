package groupmsg.platform.lambda;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.core.client.builder.SdkSyncClientBuilder;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.zip.CRC32;

/**
 * SnapStart priming of the SDK's success paths. {@link Priming}'s requests to nowhere run marshalling, signing, the
 * HTTP client and error parsing, but every answer they get is an error, so the parsers of a successful answer (an
 * item, a page, a batch's results, a cancelled transaction's reasons) were still loaded and run for the first time by
 * the first real requests after a restore. Here each operation the functions use goes once through clients whose
 * HTTP client never touches the network: it answers with a canned success, or with the failure the request names
 * in {@link #FAIL_HEADER}. Nothing is read or written anywhere and no permission is needed. The clients are built
 * here and closed; the classes, and the JVM's profile of the code, stay for the functions' own clients.
 *
 * <p>A canned answer the SDK cannot parse throws: priming then reports failure (tests check it succeeds).
 */
final class SuccessPriming {
    /** A request header naming the error code the canned client answers with instead of a success. */
    static final String FAIL_HEADER = "x-groupmsg-priming-fail";
    private static final URI NOWHERE = URI.create("http://priming.invalid");
    private static final StaticCredentialsProvider CREDENTIALS =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("priming", "priming"));
    private static final String ITEM = "{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"s\"},\"n\":{\"N\":\"1\"},\"b\":{\"BOOL\":true},"
            + "\"l\":{\"L\":[{\"S\":\"x\"},{\"N\":\"2\"}]},\"m\":{\"M\":{\"k\":{\"NULL\":true}}},\"ss\":{\"SS\":[\"a\"]}}";
    private static final String DYNAMO_ERROR_TYPE = "com.amazonaws.dynamodb.v20120810#";
    /** The body of the primed SQS message and its MD5, which the SQS client checks against the answer's. */
    private static final String MESSAGE = "priming";
    private static final String MESSAGE_MD5 = "f4f858ed3f1ca34c4beabce73dd6df29";

    private SuccessPriming() {}

    /** @return how many requests got a canned answer (each one parsed as the SDK expects, or this throws) */
    static int run(Region region) {
        return primeDynamo(region) + primeSqs(region) + primeSns(region);
    }

    private static int primeDynamo(Region region) {
        var answers = new CannedHttpClient("application/x-amz-json-1.0", (operation, failure) -> {
            if (failure != null) {
                String reasons = failure.equals("TransactionCanceledException")
                        ? ",\"CancellationReasons\":[{\"Code\":\"ConditionalCheckFailed\",\"Message\":\"The conditional request failed\"},{\"Code\":\"None\"}]"
                        : "";
                return new Answer(400, "{\"__type\":\"" + DYNAMO_ERROR_TYPE + failure + "\",\"message\":\"primed\"" + reasons + "}");
            }
            return new Answer(200, switch (operation) {
                case "GetItem" -> "{\"Item\":" + ITEM + "}";
                case "Query" -> "{\"Items\":[" + ITEM + "],\"Count\":1,\"ScannedCount\":1,"
                        + "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"s\"}}}";
                case "BatchGetItem" -> "{\"Responses\":{\"t\":[" + ITEM + "]},\"UnprocessedKeys\":{}}";
                case "BatchWriteItem" -> "{\"UnprocessedItems\":{}}";
                case "PutItem", "UpdateItem", "DeleteItem" -> "{\"Attributes\":" + ITEM + "}";
                default -> "{}"; // TransactWriteItems
            });
        });
        Map<String, AttributeValue> key = Map.of("pk", AttributeValue.fromS("p"), "sk", AttributeValue.fromS("s"));
        Map<String, AttributeValue> values = Map.of(":n", AttributeValue.fromN("1"));
        try (var dynamo = offline(DynamoDbClient.builder(), answers, region)) {
            dynamo.getItem(b -> b.tableName("t").key(key).consistentRead(true));
            dynamo.query(b -> b.tableName("t").keyConditionExpression("pk = :n").expressionAttributeValues(values).limit(1));
            dynamo.batchGetItem(b -> b.requestItems(Map.of("t", KeysAndAttributes.builder().keys(key).build())));
            dynamo.batchWriteItem(b -> b.requestItems(Map.of("t", List.of(WriteRequest.builder().putRequest(p -> p.item(key)).build()))));
            dynamo.putItem(b -> b.tableName("t").item(key));
            dynamo.updateItem(b -> b.tableName("t").key(key).updateExpression("SET n = :n").expressionAttributeValues(values));
            dynamo.deleteItem(b -> b.tableName("t").key(key));
            var update = TransactWriteItem.builder().update(u -> u.tableName("t").key(key).updateExpression("SET n = :n")
                    .expressionAttributeValues(values)).build();
            dynamo.transactWriteItems(b -> b.transactItems(update));
            // The functions' two expected failures: a condition that did not hold, alone and in a transaction.
            expectFailure(ConditionalCheckFailedException.class, () -> dynamo.updateItem(b -> b.tableName("t").key(key)
                    .updateExpression("SET n = :n").expressionAttributeValues(values)
                    .overrideConfiguration(o -> o.putHeader(FAIL_HEADER, "ConditionalCheckFailedException"))));
            expectFailure(TransactionCanceledException.class, () -> dynamo.transactWriteItems(b -> b.transactItems(update)
                    .overrideConfiguration(o -> o.putHeader(FAIL_HEADER, "TransactionCanceledException"))));
        }
        return answers.answered();
    }

    private static int primeSqs(Region region) {
        var answers = new CannedHttpClient("application/x-amz-json-1.0", (operation, failure) -> new Answer(200,
                "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\",\"MD5OfMessageBody\":\"" + MESSAGE_MD5 + "\"}],\"Failed\":[]}"));
        try (var sqs = offline(SqsClient.builder(), answers, region)) {
            var sent = sqs.sendMessageBatch(b -> b.queueUrl(NOWHERE + "/000000000000/q")
                    .entries(SendMessageBatchRequestEntry.builder().id("0").messageBody(MESSAGE).build()));
            if (sent.successful().size() != 1) throw new IllegalStateException("canned SQS answer not parsed");
        }
        return answers.answered();
    }

    private static int primeSns(Region region) {
        var answers = new CannedHttpClient("text/xml", (operation, failure) -> new Answer(200,
                "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m</MessageId>"
                        + "</PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>"));
        try (var sns = offline(SnsClient.builder(), answers, region)) {
            var published = sns.publish(b -> b.topicArn("arn:aws:sns:" + region.id() + ":000000000000:t").message(MESSAGE));
            if (!"m".equals(published.messageId())) throw new IllegalStateException("canned SNS answer not parsed");
        }
        return answers.answered();
    }

    /**
     * A client whose only HTTP client is {@code answers}. FIPS and dual-stack are off: the environment can turn them
     * on for every client (AWS_USE_FIPS_ENDPOINT), and the SDK refuses either with a custom endpoint; these clients
     * have no real endpoint to choose.
     */
    private static <B extends AwsClientBuilder<B, C> & SdkSyncClientBuilder<B, C>, C> C offline(
            B builder, SdkHttpClient answers, Region region) {
        return builder.httpClient(answers).region(region).endpointOverride(NOWHERE).fipsEnabled(false)
                .dualstackEnabled(false).credentialsProvider(CREDENTIALS).build();
    }

    private static void expectFailure(Class<? extends RuntimeException> expected, Runnable request) {
        try {
            request.run();
        } catch (RuntimeException e) {
            if (expected.isInstance(e)) return;
            throw e;
        }
        throw new IllegalStateException("canned " + expected.getSimpleName() + " not raised");
    }

    record Answer(int status, String body) {}

    /**
     * Answers every request without a network: by operation (the {@code X-Amz-Target} header's part after the dot;
     * empty for protocols without it) and the failure named in {@link #FAIL_HEADER} (null for a success).
     */
    static final class CannedHttpClient implements SdkHttpClient {
        private final String contentType;
        private final BiFunction<String, String, Answer> answers;
        private int answered;

        CannedHttpClient(String contentType, BiFunction<String, String, Answer> answers) {
            this.contentType = contentType;
            this.answers = answers;
        }

        @Override
        public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
            String target = request.httpRequest().firstMatchingHeader("X-Amz-Target").orElse("");
            Answer answer = answers.apply(target.substring(target.indexOf('.') + 1),
                    request.httpRequest().firstMatchingHeader(FAIL_HEADER).orElse(null));
            answered++;
            byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
            // DynamoDB sends every answer's CRC32, which its client checks as it reads: the check is primed too.
            var crc32 = new CRC32();
            crc32.update(body);
            return new ExecutableHttpRequest() {
                @Override
                public HttpExecuteResponse call() {
                    return HttpExecuteResponse.builder()
                            .response(SdkHttpResponse.builder().statusCode(answer.status())
                                    .putHeader("Content-Type", contentType)
                                    .putHeader("Content-Length", Integer.toString(body.length))
                                    .putHeader("x-amz-crc32", Long.toString(crc32.getValue())).build())
                            .responseBody(AbortableInputStream.create(new ByteArrayInputStream(body))).build();
                }

                @Override
                public void abort() {
                    // nothing in flight
                }
            };
        }

        /** Requests answered so far (the SDK calls one client from one thread here). */
        int answered() {
            return answered;
        }

        @Override
        public void close() {
            // nothing to release
        }
    }
}
