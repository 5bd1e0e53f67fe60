package groupmsg.platform.json;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonTest {
    @Test
    void oneValueWithWhitespaceAroundIsJson() {
        assertThat(Json.parseObject(" {\"a\":[1,\"b\"]}\n\t ")).isEqualTo(Map.of("a", List.of(1, "b")));
        assertThat(Json.parse("42")).isEqualTo(42);
    }

    @Test
    void anythingAfterTheValueIsNotJson() {
        for (String text : List.of("{\"a\":1} garbage", "{\"a\":1}{\"b\":2}", "{\"a\":1}]", "[1] 2", "{\"a\":1},")) {
            assertThatThrownBy(() -> Json.parse(text)).as(text).isInstanceOf(Json.JsonSyntaxException.class);
        }
    }

    @Test
    void theCanonicalFormSortsKeysAtEveryLevelAndKeepsArrayOrder() {
        String a = Json.writeCanonical(Json.parse("{ \"b\": [ {\"y\":1,\"x\":2}, 3 ], \"a\": null }"));
        String b = Json.writeCanonical(Json.parse("{\"a\":null,\"b\":[{\"x\":2,\"y\":1},3]}"));
        assertThat(a).isEqualTo(b).isEqualTo("{\"a\":null,\"b\":[{\"x\":2,\"y\":1},3]}");
        assertThat(Json.writeCanonical(Json.parse("[3,1]"))).isNotEqualTo(Json.writeCanonical(Json.parse("[1,3]")));
    }

    @Test
    void theCanonicalFormSpellsAWholeNumberOneWay() {
        String whole = Json.writeCanonical(Json.parse("{\"mps\":20,\"n\":[1]}"));
        assertThat(Json.writeCanonical(Json.parse("{\"mps\":20.0,\"n\":[1e0]}"))).isEqualTo(whole);
        assertThat(Json.writeCanonical(Json.parse("{\"mps\":2e1,\"n\":[1.00]}"))).isEqualTo(whole);
        // not the same: a fraction, a string, a number past a double's exact integers
        assertThat(Json.writeCanonical(Json.parse("{\"mps\":20.5,\"n\":[1]}"))).isNotEqualTo(whole);
        assertThat(Json.writeCanonical(Json.parse("{\"mps\":\"20\",\"n\":[1]}"))).isNotEqualTo(whole);
        assertThat(Json.writeCanonical(Json.parse("{\"mps\":1.25}"))).isEqualTo("{\"mps\":1.25}");
        // the form before (keys sorted only), which records written then hold
        assertThat(Json.writeSortedKeys(Json.parse("{\"n\":[1e0],\"mps\":20.0}"))).isEqualTo("{\"mps\":20.0,\"n\":[1.0]}");
    }

    @Test
    void emptyOrCutOffTextIsNotJson() {
        for (String text : List.of("", "   ", "{\"a\":", "[1,")) {
            assertThatThrownBy(() -> Json.parse(text)).as(text).isInstanceOf(Json.JsonSyntaxException.class);
        }
        assertThatThrownBy(() -> Json.parseObject("{\"a\":1,\"a\":2}")).isInstanceOf(Json.JsonSyntaxException.class);
    }

    @Test
    void aSyntaxErrorSaysWhatAndWhereWithoutTheParsersInternals() {
        assertThatThrownBy(() -> Json.parse("{\n  \"a\": notjson}")).isInstanceOfSatisfying(Json.JsonSyntaxException.class, e -> {
            assertThat(e.getMessage()).startsWith("Unrecognized token 'notjson'").endsWith("(line 2, column 15)");
            assertThat(e.getMessage()).doesNotContain("Source:").doesNotContain("\n");
        });
        assertThatThrownBy(() -> Json.parse("{\"name\":\"x\"")).isInstanceOfSatisfying(Json.JsonSyntaxException.class, e -> {
            assertThat(e.getMessage()).contains("end-of-input").contains("opened at line 1, column 1")
                    .doesNotContain("Source").doesNotContain("REDACTED").doesNotContain("StreamReadFeature");
        });
        for (String broken : List.of("{\"a\":[1,2", "[{\"a\":1}", "{\"a\" 1}", "{'a':1}", "{\"a\":tru}", "\"\\x\"")) {
            assertThatThrownBy(() -> Json.parse(broken)).as(broken).isInstanceOfSatisfying(Json.JsonSyntaxException.class,
                    e -> assertThat(e.getMessage()).doesNotContain("Source").doesNotContain("REDACTED").doesNotContain("`"));
        }
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        assertThatThrownBy(() -> Json.parse(deep)).isInstanceOfSatisfying(Json.JsonSyntaxException.class, e -> {
            assertThat(e.getMessage()).contains("nesting depth").contains(String.valueOf(Json.MAX_DEPTH))
                    .doesNotContain("StreamReadConstraints");
        });
    }

    @Test
    void whatOnlyAParserSettingWouldAllowIsSaidPlainlyWithoutTheSettingsName() {
        assertThat(message("{\"name\":NaN}")).isEqualTo("NaN is not a JSON number (line 1, column 12)");
        assertThat(message("{\"a\":-Infinity}")).isEqualTo("-Infinity is not a JSON number (line 1, column 15)");
        assertThat(message("{/*c*/\"name\":\"x\"}")).isEqualTo("comments are not allowed in JSON (line 1, column 2)");
        assertThat(message("{\"a\":1} // done")).startsWith("comments are not allowed in JSON (line 1, column ");
        assertThat(message("{\"a\":+1}")).isEqualTo("Unexpected character ('+' (code 43)) in numeric value:"
                + " JSON spec does not allow numbers to have plus signs (line 1, column 7)");
        for (String text : List.of("{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":+Infinity}", "{\"a\":+1}", "/* x */ {}",
                "{\"a\":1 // x\n}", "{\"a\":01}", "{'a':1}", "{a:1}", "{\"a\":1,}", "[1,,2]", "{\"a\":\"\t\"}", "{\"a\":\"\\'\"}")) {
            assertThat(message(text)).as(text).doesNotContainIgnoringCase("feature").doesNotContain("`")
                    .doesNotContain("enable").doesNotContain("ALLOW_").contains("(line 1, column ");
        }
    }

    @Test
    void aTextWithNoValueSaysSo() {
        for (String text : List.of("", "   ", " \n\t\r ")) {
            assertThat(message(text)).as(text).isEqualTo(Json.EMPTY).doesNotContain("No content to map");
        }
    }

    @Test
    void jsonThatIsNotAnObjectIsToldApartFromTextThatIsNotJson() {
        for (var c : Map.of("[]", "an array", "\"x\"", "a string", "1", "a number", "1.5", "a number", "null", "null",
                "true", "a boolean").entrySet()) {
            assertThatThrownBy(() -> Json.parseObject(c.getKey())).as(c.getKey())
                    .isInstanceOfSatisfying(Json.NotAnObjectException.class, e -> {
                        assertThat(e.kind()).isEqualTo(c.getValue());
                        assertThat(e.getMessage()).isEqualTo("expected a JSON object, not " + c.getValue());
                    });
        }
        assertThatThrownBy(() -> Json.parseObject("[1,")).isExactlyInstanceOf(Json.JsonSyntaxException.class);
    }

    private static String message(String text) {
        try {
            Json.parse(text);
        } catch (Json.JsonSyntaxException e) {
            return e.getMessage();
        }
        throw new AssertionError("parsed: " + text);
    }

    /**
     * Nesting beyond 64 levels is not JSON we read: a 400 saying so. At the parser's default (1,000), 800 nested arrays
     * (1.6 KB) overflowed the stack in the request hash's walk: a 500, and the execution environment gone.
     */
    @Test
    void nestingDeeperThanOurBodiesIsRefusedAsMalformed() {
        String deep = "{\"name\":" + "[".repeat(800) + "]".repeat(800) + "}";
        assertThatThrownBy(() -> Json.parse(deep)).isInstanceOf(Json.JsonSyntaxException.class)
                .hasMessageContaining("nesting depth").hasMessageNotContaining("StreamReadConstraints");
        String fine = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertThat(Json.writeCanonical(Json.parse(fine))).isEqualTo(fine);
    }
}
