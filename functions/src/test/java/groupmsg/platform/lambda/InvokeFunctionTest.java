package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A payload that is not a JSON object is answered with an error result that says which of the two it is. */
class InvokeFunctionTest {
    private static final InvokeFunction ECHO = new InvokeFunction() {
        @Override
        public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
            return Map.of("echo", event);
        }

        @Override
        public Priming priming() {
            return null; // never primed: these tests only decode payloads (as LambdaJsonTest's functions)
        }
    };

    @SuppressWarnings("unchecked")
    private static Map<String, Object> invoke(String payload) throws Exception {
        var out = new ByteArrayOutputStream();
        ECHO.handleRequest(new ByteArrayInputStream(payload.getBytes(StandardCharsets.UTF_8)), out, null);
        return Json.parseObject(out.toString(StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    private static String errorMessage(String payload) throws Exception {
        var error = (Map<String, Object>) invoke(payload).get("error");
        assertThat(error).as(payload).containsEntry("code", "invalid_request").containsEntry("details", List.of());
        return (String) error.get("message");
    }

    @Test
    void jsonThatIsNotAnObjectIsNotCalledInvalidJson() throws Exception {
        assertThat(errorMessage("\"Acme\"")).isEqualTo("the payload must be a JSON object, not a string");
        assertThat(errorMessage("[\"Acme\"]")).isEqualTo("the payload must be a JSON object, not an array");
        assertThat(errorMessage("null")).isEqualTo("the payload must be a JSON object, not null");
    }

    @Test
    void textThatIsNotJsonSaysWhyWithoutTheParsersSettings() throws Exception {
        assertThat(errorMessage("{\"name\":NaN}")).isEqualTo("the payload is not valid JSON: NaN is not a JSON number (line 1, column 12)");
        assertThat(errorMessage("")).isEqualTo("the payload is not valid JSON: " + Json.EMPTY);
        assertThat(invoke("{\"name\":\"Acme\"}")).isEqualTo(Map.of("echo", Map.of("name", "Acme")));
    }
}
