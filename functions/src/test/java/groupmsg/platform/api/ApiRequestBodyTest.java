package groupmsg.platform.api;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a 400 says of a request body that is not the JSON object a route reads. */
class ApiRequestBodyTest {
    private static ApiRequest request(String contentType, String body) {
        Map<String, String> headers = contentType == null ? Map.of() : Map.of("content-type", contentType);
        return new ApiRequest("POST /v1/groups", "/v1/groups", Map.of(), Map.of(), headers,
                body.getBytes(StandardCharsets.UTF_8), new Caller("acct_1", "key_1", Role.OWNER), null);
    }

    private static String message(String contentType, String body) {
        try {
            request(contentType, body).jsonBody();
        } catch (ApiException e) {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            return e.getMessage();
        }
        throw new AssertionError("accepted: " + body);
    }

    @Test
    void theCharsetParameterIsReadAmongOthersQuotedOrNot() {
        assertThat(request("text/csv; charset=Windows-1252", "").charset()).contains("windows-1252");
        assertThat(request("text/csv;header=present; CHARSET = \"ISO-8859-1\" ;x=y", "").charset()).contains("iso-8859-1");
        assertThat(request("text/csv; header=present", "").charset()).isEmpty();
        assertThat(request("text/csv; charset=", "").charset()).isEmpty();
        assertThat(request("text/csv; xcharset=utf-16", "").charset()).isEmpty();
        assertThat(request(null, "").charset()).isEmpty();
        assertThat(request("text/csv; charset=cp1252", "").mediaType()).isEqualTo("text/csv");
    }

    @Test
    void aLeadingByteOrderMarkIsIgnored() {
        JsonBody body = request("application/json", "\ufeff{\"name\":\"Team\"}").jsonBody();
        assertThat(body.requiredString("name", 1, 100)).isEqualTo("Team");
        assertThat(message("application/json", "{\"name\":\"Team\"}\ufeff")).as("only at the start").startsWith("body is not valid JSON");
    }

    @Test
    void validJsonThatIsNotAnObjectIsNotCalledInvalidJson() {
        for (var c : Map.of("[]", "an array", "\"x\"", "a string", "1", "a number", "null", "null", "true", "a boolean")
                .entrySet()) {
            assertThat(message("application/json", c.getKey())).as(c.getKey())
                    .isEqualTo("body must be a JSON object, not " + c.getValue());
        }
        // whatever its type said: it is JSON, so the type is not what is wrong
        assertThat(message("text/plain", "[1]")).isEqualTo("body must be a JSON object, not an array");
    }

    @Test
    void aSyntaxErrorNamesNoParserSettingAndKeepsItsPosition() {
        assertThat(message("application/json", "{\"name\":NaN}"))
                .isEqualTo("body is not valid JSON: NaN is not a JSON number (line 1, column 12)");
        assertThat(message("application/json", "{/*c*/\"name\":\"x\"}"))
                .isEqualTo("body is not valid JSON: comments are not allowed in JSON (line 1, column 2)");
        assertThat(message("text/plain", "name=x")).startsWith("body is not valid JSON: ")
                .endsWith("(it was sent as text/plain; send a JSON object as application/json)");
    }

    @Test
    void aBodyOfOnlyWhitespaceIsEmpty() {
        for (String body : List.of(" ", "   ", "\n", " \r\n\t ")) {
            assertThat(message("application/json", body)).as(body)
                    .isEqualTo("request body is empty (only whitespace); send a JSON object");
        }
        assertThat(message("application/json", "")).isEqualTo("request body is required (a JSON object)");
        assertThat(request(null, " {\"name\":\"x\"} ").jsonBody().requiredString("name", 1, 10)).isEqualTo("x");
    }

    /**
     * A string far over its limit is refused before it is normalized: NFC sorts a run of combining marks in quadratic
     * time (200 KB of them held a function 26 s).
     */
    @Test
    void aStringFarOverItsLimitIsRefusedBeforeItIsNormalized() {
        String marks = "a" + "\u0301".repeat(100_000) + "\u0316".repeat(100_000);
        var body = new JsonBody(Map.of("name", marks), "");
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(5),
                () -> assertThat(body.requiredString("name", 1, 100)).isNull());
        assertThat(body.firstProblem()).contains("1..100 characters");
        assertThat(new JsonBody(Map.of("name", "Cafe\u0301"), "").requiredString("name", 1, 100)).isEqualTo("Caf\u00e9");
    }
}
