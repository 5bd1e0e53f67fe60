package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IntegrationResponsesTest {

    @Test
    void structuredResponseGivesStatusHeadersCookiesAndBody() throws Exception {
        var response = IntegrationResponses.toHttp("""
                {"statusCode":201,"headers":{"Content-Type":"application/json","X-Id":"1"},
                 "multiValueHeaders":{"Vary":["Accept","Origin"]},"cookies":["a=1; Path=/","b=2"],
                 "body":"{\\"ok\\":true}","isBase64Encoded":false}""");
        assertThat(response.status()).isEqualTo(201);
        assertThat(response.headers()).containsEntry("content-type", List.of("application/json"))
                .containsEntry("x-id", List.of("1"))
                .containsEntry("set-cookie", List.of("a=1; Path=/", "b=2"))
                // format 2.0 has no multiValueHeaders: API Gateway ignores them, and so does the local gateway
                .doesNotContainKey("vary");
        assertThat(response.bodyText()).isEqualTo("{\"ok\":true}");
    }

    @Test
    void base64BodiesAreDecoded() throws Exception {
        byte[] bytes = {1, 2, (byte) 0xfe};
        var response = IntegrationResponses.toHttp("{\"statusCode\":200,\"body\":\"" + Base64.getEncoder().encodeToString(bytes)
                + "\",\"isBase64Encoded\":true}");
        assertThat(response.body()).isEqualTo(bytes);
    }

    @Test
    void noContentHasNoBody() throws Exception {
        assertThat(IntegrationResponses.toHttp("{\"statusCode\":204,\"headers\":{}}").body()).isEmpty();
    }

    @Test
    void jsonWithoutStatusCodeIsTheBodyOfA200() throws Exception {
        var object = IntegrationResponses.toHttp("{\"hello\":\"world\"}");
        assertThat(object.status()).isEqualTo(200);
        assertThat(object.firstHeader("content-type")).isEqualTo("application/json");
        assertThat(object.bodyText()).isEqualTo("{\"hello\":\"world\"}");
        assertThat(new String(IntegrationResponses.toHttp("\"plain\"").body(), StandardCharsets.UTF_8)).isEqualTo("plain");
    }

    @Test
    void unusableResponsesAreRejected() {
        assertThatThrownBy(() -> IntegrationResponses.toHttp("not json"))
                .isInstanceOf(IntegrationResponses.MalformedResponse.class);
        assertThatThrownBy(() -> IntegrationResponses.toHttp("{\"statusCode\":\"abc\"}"))
                .isInstanceOf(IntegrationResponses.MalformedResponse.class);
        assertThatThrownBy(() -> IntegrationResponses.toHttp("{\"statusCode\":200,\"body\":\"%%\",\"isBase64Encoded\":true}"))
                .isInstanceOf(IntegrationResponses.MalformedResponse.class);
    }
}
