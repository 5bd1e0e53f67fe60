package groupmsg.platform;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** JSON null as "not given" where a create's field is optional, and how much of an unknown field's name a problem repeats. */
class JsonBodyNullAndEchoTest {
    private static JsonBody body(String json) {
        return new JsonBody(Json.parseObject(json), "");
    }

    @Test
    void nullIsAbsentForANullableOptionalStringButStillValidatedWhenGiven() {
        JsonBody b = body("{\"description\":null,\"name\":\"  Ada \",\"country\":7}");
        assertThat(b.optionalNullableString("description", 0, 10)).isEmpty();
        assertThat(b.optionalNullableString("missing", 0, 10)).isEmpty();
        assertThat(b.optionalNullableString("name", 0, 10)).contains("Ada");
        assertThat(b.optionalNullableString("country", 0, 8)).isEmpty();
        assertThat(b.firstProblem()).isEqualTo("country must be a string");
    }

    @Test
    void optionalStringStillRefusesNullForItsOtherCallers() {
        JsonBody b = body("{\"name\":null}");
        assertThat(b.optionalString("name", 1, 100)).isEmpty();
        assertThat(b.firstProblem()).isEqualTo("name must be a string, not null");
    }

    @Test
    void aCreatesNullsAreAbsentFieldsOfEveryTypeAndARequiredNullIsRequired() {
        JsonBody b = body("{\"mediaUrls\":null,\"mps\":null,\"groupMessaging\":null,\"name\":null,\"body\":null,\"title\":\"T\"}")
                .allowOnly("mediaUrls", "mps", "groupMessaging", "name", "body", "title").nullsAsAbsent();
        assertThat(b.optionalStringList("mediaUrls", 0, 10, 100)).isEmpty();
        assertThat(b.optionalInteger("mps", 1, 100)).isEmpty();
        assertThat(b.optionalBoolean("groupMessaging")).isEmpty();
        assertThat(b.optionalString("name", 1, 100)).isEmpty();
        assertThat(b.optionalString("title", 1, 100)).contains("T");
        assertThat(b.firstProblem()).isNull();
        assertThat(b.requiredString("body", 1, 10)).isNull();
        assertThat(b.firstProblem()).isEqualTo("body is required");

        // a misspelt field sent as null is still named
        JsonBody misspelt = body("{\"mediaUrl\":null}").allowOnly("mediaUrls").nullsAsAbsent();
        assertThat(misspelt.firstProblem()).isEqualTo("mediaUrl unknown field");
    }

    @Test
    void anUnknownFieldIsNamedByAtMost64Characters() {
        String longKey = "k".repeat(900);
        String emojiKey = "a".repeat(63) + "\uD83D\uDE00" + "tail";
        JsonBody b = new JsonBody(Map.of(longKey, 1, emojiKey, 2, "short", 3), "").allowOnly("name");
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e ->
                assertThat(e.details()).extracting(d -> (String) d.get("field"))
                        .containsExactlyInAnyOrder("k".repeat(64) + "...", "a".repeat(63) + "...", "short"));
    }
}
