package groupmsg.platform.api;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.dynamodb.model.RequestLimitExceededException;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.sqs.model.SqsException;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Which failures an API answers with 503 (retry shortly) rather than 500 (a fault the client cannot wait out). */
class TransientFaultTest {

    @Test
    void throttlingAndServiceSideFailuresAreTransient() {
        // as the SDK reads them off DynamoDB's answers: the error code in the details
        assertThat(HttpApiHandler.transientFault(ProvisionedThroughputExceededException.builder().statusCode(400)
                .awsErrorDetails(details("ProvisionedThroughputExceededException")).build())).isTrue();
        assertThat(HttpApiHandler.transientFault(RequestLimitExceededException.builder().statusCode(400)
                .awsErrorDetails(details("RequestLimitExceeded")).build())).isTrue();
        assertThat(HttpApiHandler.transientFault(SqsException.builder().statusCode(400)
                .awsErrorDetails(details("RequestThrottled")).build())).isTrue();
        assertThat(HttpApiHandler.transientFault(DynamoDbException.builder().statusCode(500)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("InternalServerError").build()).build())).isTrue();
        assertThat(HttpApiHandler.transientFault(SqsException.builder().statusCode(503).message("busy").build())).isTrue();
        assertThat(HttpApiHandler.transientFault(DynamoDbException.builder().statusCode(400)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("ThrottlingException").build()).build())).isTrue();
        // a batch's items DynamoDB or SQS still left unprocessed when the retries were spent
        assertThat(HttpApiHandler.transientFault(new groupmsg.platform.RetriesSpent("BatchGetItem on t still unprocessed"))).isTrue();
        assertThat(HttpApiHandler.transientFault(new IllegalStateException("wrapped",
                new groupmsg.platform.RetriesSpent("SQS failed 1 messages")))).isTrue();
    }

    /** A start key DynamoDB refuses is the caller's 400 only when the caller's cursor gave it. */
    @Test
    void aRefusedStartKeyIsTheCallersOnlyWhenItCameFromTheirCursor() {
        var refusal = DynamoDbException.builder().statusCode(400).message("The provided starting key is invalid").build();
        var withCursor = new com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent();
        withCursor.setQueryStringParameters(java.util.Map.of("cursor", "abc", "limit", "5"));
        assertThat(HttpApiHandler.cursorRefused(refusal, withCursor)).isTrue();
        var without = new com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent();
        assertThat(HttpApiHandler.cursorRefused(refusal, without)).isFalse();
        without.setQueryStringParameters(java.util.Map.of("limit", "5"));
        assertThat(HttpApiHandler.cursorRefused(refusal, without)).isFalse();
        assertThat(HttpApiHandler.cursorRefused(DynamoDbException.builder().statusCode(400).message("other").build(), withCursor))
                .isFalse();
        // a body's cursor (POST /v1/members/remove pages with one)
        var inBody = new com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent();
        inBody.setBody("{\"phone\":\"+14155550123\",\"cursor\":\"eyJwayI6IkFDQ1QifQ\"}");
        assertThat(HttpApiHandler.cursorRefused(refusal, inBody)).isTrue();
        inBody.setBody("{\"phone\":\"+14155550123\"}");
        assertThat(HttpApiHandler.cursorRefused(refusal, inBody)).isFalse();
    }

    @Test
    void requestAndCodeFaultsAreNot() {
        assertThat(HttpApiHandler.transientFault(ConditionalCheckFailedException.builder()
                .statusCode(400).message("condition").build())).isFalse();
        assertThat(HttpApiHandler.transientFault(ResourceNotFoundException.builder()
                .statusCode(400).message("no table").build())).isFalse();
        assertThat(HttpApiHandler.transientFault(DynamoDbException.builder().statusCode(400)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("ValidationException").build()).build())).isFalse();
        assertThat(HttpApiHandler.transientFault(new IllegalStateException("a bug"))).isFalse();
        assertThat(HttpApiHandler.transientFault(SdkClientException.create("Unable to marshall request"))).isFalse();
    }

    @Test
    void aTransactionIsTransientOnlyWhenEveryReasonIsAConflictOrThrottling() {
        assertThat(HttpApiHandler.transientFault(cancelled("None", "TransactionConflict", null))).isTrue();
        assertThat(HttpApiHandler.transientFault(cancelled("ThrottlingError", "None"))).isTrue();
        assertThat(HttpApiHandler.transientFault(cancelled("TransactionConflict", "ConditionalCheckFailed"))).isFalse();
        assertThat(HttpApiHandler.transientFault(cancelled("ValidationError"))).isFalse();
        assertThat(HttpApiHandler.transientFault(cancelled())).isFalse();
    }

    @Test
    void timeoutsAndConnectionFailuresAreTransientAlsoWhenWrapped() {
        assertThat(HttpApiHandler.transientFault(ApiCallTimeoutException.create(2000))).isTrue();
        assertThat(HttpApiHandler.transientFault(ApiCallAttemptTimeoutException.create(500))).isTrue();
        assertThat(HttpApiHandler.transientFault(SdkClientException.builder().message("Unable to execute HTTP request")
                .cause(new ConnectException("Connection refused")).build())).isTrue();
        assertThat(HttpApiHandler.transientFault(new IllegalStateException("store failed", SdkClientException.builder()
                .message("Unable to execute HTTP request").cause(new SocketTimeoutException("Read timed out")).build())))
                .isTrue();
        assertThat(HttpApiHandler.transientFault(new UncheckedIOException("local file", new java.io.IOException("disk"))))
                .isFalse();
    }

    private static AwsErrorDetails details(String errorCode) {
        return AwsErrorDetails.builder().errorCode(errorCode).errorMessage("test").build();
    }

    private static TransactionCanceledException cancelled(String... codes) {
        return TransactionCanceledException.builder().statusCode(400).message("cancelled")
                .cancellationReasons(Arrays.stream(codes).map(c -> CancellationReason.builder().code(c).build()).toList())
                .build();
    }
}
