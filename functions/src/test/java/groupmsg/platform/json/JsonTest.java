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
        String deep = "[".repeat(1001) + "]".repeat(1001);
        assertThatThrownBy(() -> Json.parse(deep)).isInstanceOfSatisfying(Json.JsonSyntaxException.class, e -> {
            assertThat(e.getMessage()).contains("nesting depth").contains("1000").doesNotContain("StreamReadConstraints");
        });
    }
}
