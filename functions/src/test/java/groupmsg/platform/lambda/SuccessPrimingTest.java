package groupmsg.platform.lambda;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The SDK's success paths primed against canned answers, without a network. */
class SuccessPrimingTest {

    @Test
    void everyCannedAnswerParsesAsTheSdkExpects() {
        // throws if an answer did not parse, or an expected failure did not come as its exception type; 12 requests:
        // 8 DynamoDB operations and its 2 expected failures (none retried), an SQS batch, an SNS publish
        assertThat(SuccessPriming.run(Region.EU_WEST_1)).isEqualTo(12);
    }

    @Test
    void fipsOrDualStackTurnedOnForEveryClientDoesNotStopIt() {
        // The SDK refuses either with a custom endpoint; the environment (here its system properties) can set them.
        for (String setting : List.of("aws.useFipsEndpoint", "aws.useDualstackEndpoint")) {
            System.setProperty(setting, "true");
            try {
                assertThat(SuccessPriming.run(Region.US_EAST_1)).as(setting).isEqualTo(12);
            } finally {
                System.clearProperty(setting);
            }
        }
    }

    @Test
    void theCannedClientAnswersByOperationAndNamedFailure() throws IOException {
        List<String> asked = new ArrayList<>();
        var client = new SuccessPriming.CannedHttpClient("application/x-amz-json-1.0", (operation, failure) -> {
            asked.add(operation + "/" + failure);
            return new SuccessPriming.Answer(failure == null ? 200 : 400, "{}");
        });
        var ok = client.prepareRequest(request("DynamoDB_20120810.GetItem", null)).call();
        var failed = client.prepareRequest(request("DynamoDB_20120810.UpdateItem", "ConditionalCheckFailedException")).call();

        assertThat(asked).containsExactly("GetItem/null", "UpdateItem/ConditionalCheckFailedException");
        assertThat(ok.httpResponse().statusCode()).isEqualTo(200);
        assertThat(failed.httpResponse().statusCode()).isEqualTo(400);
        assertThat(new String(ok.responseBody().orElseThrow().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("{}");
        var crc32 = new java.util.zip.CRC32();
        crc32.update("{}".getBytes(StandardCharsets.UTF_8));
        assertThat(ok.httpResponse().firstMatchingHeader("x-amz-crc32")).as("DynamoDB's checksum, which its client verifies")
                .contains(Long.toString(crc32.getValue()));
    }

    @Test
    void theSdkStillChecksWhatTheCannedClientAnswers() {
        // The SQS client compares the body's MD5 with the answer's: a canned answer for another body is refused,
        // which is why the primed message's MD5 is fixed in SuccessPriming.
        var client = new SuccessPriming.CannedHttpClient("application/x-amz-json-1.0", (operation, failure) -> new SuccessPriming.Answer(200,
                "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\",\"MD5OfMessageBody\":\"00000000000000000000000000000000\"}],\"Failed\":[]}"));
        try (var sqs = SqsClient.builder().httpClient(client).region(Region.EU_WEST_1).endpointOverride(URI.create("http://priming.invalid"))
                .credentialsProvider(() -> software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("a", "b")).build()) {
            assertThatThrownBy(() -> sqs.sendMessageBatch(b -> b.queueUrl("http://priming.invalid/000000000000/q")
                    .entries(SendMessageBatchRequestEntry.builder().id("0").messageBody("priming").build())))
                    .isInstanceOf(SdkClientException.class);
        }
    }

    private static HttpExecuteRequest request(String target, String failure) {
        var http = SdkHttpFullRequest.builder().method(SdkHttpMethod.POST).uri(URI.create("http://priming.invalid/"))
                .putHeader("X-Amz-Target", target);
        if (failure != null) http.putHeader(SuccessPriming.FAIL_HEADER, failure);
        return HttpExecuteRequest.builder().request(http.build()).build();
    }
}
