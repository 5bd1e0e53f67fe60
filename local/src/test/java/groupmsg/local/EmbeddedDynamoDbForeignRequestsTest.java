package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DynamoDB Local answers any origin's CORS preflight and takes any signature: a web page in the developer's browser
 * that found its port could read the members' numbers or write an owner key's hash. The embedded one refuses a web
 * page's requests (another site's Origin, a Host that is not this machine) as the API's gateway does, while the SDK
 * (and the AWS CLI, local tools) still reach it.
 */
class EmbeddedDynamoDbForeignRequestsTest {

    /** The status line of a raw HTTP/1.1 request of DynamoDB's ListTables with these Host and Origin headers (null: not sent). */
    private static String call(URI endpoint, String method, String host, String origin) throws Exception {
        String headers = ("OPTIONS".equals(method)
                ? "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-amz-target,content-type\r\n" : "")
                + "X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                + "Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n";
        return HttpGatewayForeignRequestsTest.statusLine(endpoint.getPort(), method, "/", host, origin, headers,
                "application/x-amz-json-1.0", "{}");
    }

    @Test
    void pagesInABrowserAreRefusedWhileTheSdkAndLocalToolsAreServed() throws Exception {
        try (var dynamo = EmbeddedDynamoDb.start(null)) {
            URI endpoint = dynamo.endpoint();
            String loopback = "127.0.0.1:" + endpoint.getPort();
            // a page of another site: its preflight and its request; a name rebound to 127.0.0.1
            assertThat(call(endpoint, "OPTIONS", loopback, "https://evil.example")).contains(" 403 ");
            assertThat(call(endpoint, "POST", loopback, "https://evil.example")).contains(" 403 ");
            assertThat(call(endpoint, "POST", loopback, "null")).contains(" 403 ");
            assertThat(call(endpoint, "POST", "rebound.evil.example:" + endpoint.getPort(), null)).contains(" 403 ");
            // a local tool (curl, the AWS CLI against localhost)
            assertThat(call(endpoint, "POST", loopback, null)).contains(" 200 ");
            assertThat(call(endpoint, "POST", "localhost:" + endpoint.getPort(), null)).contains(" 200 ");
            // and the SDK
            try (var client = LocalRuntime.localDynamo("us-east-1", endpoint)) {
                assertThat(client.listTables().tableNames()).isNotNull();
            }
        }
    }
}
