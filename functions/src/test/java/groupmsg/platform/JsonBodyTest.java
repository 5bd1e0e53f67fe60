package groupmsg.platform;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.api.Text;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonBodyTest {
    private static JsonBody body(String json) {
        return new JsonBody(Json.parseObject(json), "");
    }

    @Test
    void readsValidFieldsTrimmed() {
        JsonBody b = body("{\"name\":\"  Team  \",\"flag\":true,\"n\":5}");
        assertThat(b.requiredString("name", 1, 100)).isEqualTo("Team");
        assertThat(b.optionalBoolean("flag")).contains(true);
        assertThat(b.optionalInteger("n", 1, 10)).contains(5L);
        b.validate();
    }

    @Test
    void aMediaUrlsProblemNamesItsIndexInTheRequest() {
        JsonBody b = body("{\"mediaUrls\":[5,\"http://insecure.example/a.jpg\",\"https://ok.example/b.jpg\"]}");
        assertThat(b.optionalHttpsUrls("mediaUrls", 10)).containsExactly("http://insecure.example/a.jpg", "https://ok.example/b.jpg");
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e ->
                assertThat(e.details()).extracting(d -> d.get("field")).containsExactly("mediaUrls[0]", "mediaUrls[1]"));
    }

    @Test
    void collectsEveryProblemIntoOne400() {
        JsonBody b = body("{\"name\":42,\"extra\":1,\"n\":\"5\"}").allowOnly("name", "n");
        b.requiredString("name", 1, 100);
        b.optionalInteger("n", 1, 10);
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.details()).extracting(d -> d.get("field")).containsExactlyInAnyOrder("extra", "name", "n");
            assertThat(e.getMessage()).contains("and 2 more problems");
        });
    }

    @Test
    void oneMoreProblemIsSingular() {
        JsonBody b = body("{\"extra\":1}").allowOnly("name");
        b.requiredString("name", 1, 100);
        assertThatThrownBy(b::validate).hasMessage("extra unknown field (and 1 more problem)");
    }

    @Test
    void aBodyOfManyUnknownFieldsListsTheFirstHundredAndCountsTheRest() {
        var json = new StringBuilder("{");
        for (int i = 0; i < 5000; i++) json.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":0");
        JsonBody b = body(json.append('}').toString()).allowOnly("name");
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.details()).hasSize(100);
            assertThat(e.details().get(0)).containsEntry("field", "k0");
            assertThat(e.getMessage()).isEqualTo("k0 unknown field (and 4999 more problems, the first 100 listed in details)");
        });
    }

    @Test
    void controlCharactersAreRefusedButTabAndLineBreaksAreText() {
        JsonBody b = body("{\"name\":\"Ann\\u0000Lee\",\"sender\":\"\\u001b[31mBank\",\"title\":\"a\\u0085b\","
                + "\"body\":\"line 1\\r\\nline 2\\tend\",\"tags\":[\"ok\",\"bad\\u007f\"]}");
        assertThat(b.requiredString("name", 1, 100)).isNull();
        assertThat(b.requiredString("sender", 1, 100)).isNull();
        assertThat(b.requiredString("title", 1, 100)).isNull();
        assertThat(b.requiredString("body", 1, 100)).isEqualTo("line 1\r\nline 2\tend");
        b.optionalStringList("tags", 0, 5, 20);
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.details()).extracting(d -> d.get("field")).containsExactly("name", "sender", "title", "tags[1]");
            assertThat(e.details()).extracting(d -> d.get("message")).containsOnly(Text.CONTROL_CHARACTER_PROBLEM);
        });
    }

    @Test
    void unpairedSurrogatesAreRefusedButPairsAreCharacters() {
        // JSON escapes can carry half a pair; it would be stored and sent as '?' and counted as UCS-2 before that.
        JsonBody b = body("{\"high\":\"aaa\\ud800\",\"low\":\"\\udc00b\",\"reversed\":\"\\ude00\\ud83d\","
                + "\"pair\":\"ok \\ud83d\\ude00\",\"tags\":[\"\\ud83d\\ude00\",\"x\\udbff\"]}");
        assertThat(b.requiredString("high", 1, 100)).isNull();
        assertThat(b.requiredString("low", 1, 100)).isNull();
        assertThat(b.requiredString("reversed", 1, 100)).isNull();
        assertThat(b.requiredString("pair", 1, 100)).isEqualTo("ok \uD83D\uDE00");
        b.optionalStringList("tags", 0, 5, 20);
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.details()).extracting(d -> d.get("field")).containsExactly("high", "low", "reversed", "tags[1]");
            assertThat(e.details()).extracting(d -> d.get("message")).containsOnly(Text.UNPAIRED_SURROGATE_PROBLEM);
        });
    }

    @Test
    void lengthCountsCodePointsNotUtf16Units() {
        String emoji = "\uD83D\uDE00".repeat(100);
        JsonBody b = body("{\"name\":\"" + emoji + "\"}");
        assertThat(b.requiredString("name", 1, 100)).isEqualTo(emoji);
        b.validate();
    }

    @Test
    void missingNullAndEmptyAreProblems() {
        JsonBody b = body("{\"a\":null,\"b\":\"   \"}");
        b.requiredString("a", 1, 10);
        b.requiredString("b", 1, 10);
        b.requiredString("c", 1, 10);
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class,
                e -> assertThat(e.details()).hasSize(3));
    }

    @Test
    void aNumberMayHaveAFractionAndIsCheckedAgainstItsRange() {
        JsonBody b = body("{\"quarter\":0.25,\"whole\":20,\"exp\":1.5e1,\"small\":0.05,\"huge\":1000000000000000000000000000000,"
                + "\"inf\":1e400,\"text\":\"2.5\",\"flag\":true}");
        assertThat(b.optionalNumber("quarter", 0.1, 1000)).contains(0.25);
        assertThat(b.optionalNumber("whole", 0.1, 1000)).contains(20.0);
        assertThat(b.optionalNumber("exp", 0.1, 1000)).contains(15.0);
        assertThat(b.optionalNumber("absent", 0.1, 1000)).isEmpty();
        for (String name : List.of("small", "huge", "inf", "text", "flag")) assertThat(b.optionalNumber(name, 0.1, 1000)).as(name).isEmpty();
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.details())
                .extracting(d -> d.get("field") + " " + d.get("message")).containsExactly(
                        "small must be between 0.1 and 1000", "huge must be between 0.1 and 1000", "inf must be between 0.1 and 1000",
                        "text must be a number", "flag must be a number"));
    }

    @Test
    void aWholeNumberOutOfRangeIsOutOfRangeHoweverLarge() {
        JsonBody b = body("{\"huge\":1000000000000000000000000000000,\"negative\":-1000000000000000000000000000000,"
                + "\"inf\":1e400,\"minusInf\":-1e400,\"e20\":1e20,\"big\":5000,\"zero\":0,\"tiny\":1e-400,"
                + "\"half\":1.5,\"text\":\"5\",\"whole\":7.0,\"exp\":1e2}");
        for (String name : List.of("huge", "negative", "inf", "minusInf", "e20", "big", "zero", "tiny")) {
            assertThat(b.optionalInteger(name, 1, 1000)).as(name).isEmpty();
        }
        assertThat(b.optionalInteger("half", 1, 1000)).isEmpty();
        assertThat(b.optionalInteger("text", 1, 1000)).isEmpty();
        assertThat(b.optionalInteger("whole", 1, 1000)).contains(7L);
        assertThat(b.optionalInteger("exp", 1, 1000)).contains(100L);
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.getMessage()).isEqualTo("huge must be between 1 and 1000 (and 9 more problems)");
            assertThat(e.details()).extracting(d -> d.get("field") + " " + d.get("message")).containsExactly(
                    "huge must be between 1 and 1000", "negative must be between 1 and 1000", "inf must be between 1 and 1000",
                    "minusInf must be between 1 and 1000", "e20 must be between 1 and 1000", "big must be between 1 and 1000",
                    "zero must be between 1 and 1000", "tiny must be between 1 and 1000",
                    "half must be an integer", "text must be an integer");
        });
    }

    @Test
    void aBlankStringIsCalledBlankNotTooShort() {
        JsonBody b = body("{\"name\":\"   \",\"empty\":\"\",\"tabbed\":\"\\t\\n\",\"note\":\"  \",\"short\":\" a \",\"opt\":\" \"}");
        assertThat(b.requiredString("name", 1, 100)).isNull();
        assertThat(b.requiredString("empty", 1, 100)).isNull();
        assertThat(b.requiredString("tabbed", 1, 100)).isNull();
        assertThat(b.optionalString("opt", 1, 100)).isEmpty();
        assertThat(b.optionalString("note", 0, 100)).contains(""); // may be empty: blank is fine
        assertThat(b.requiredString("short", 2, 100)).isNull(); // not blank, just short
        assertThatThrownBy(b::validate).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.getMessage()).isEqualTo("name must not be blank (and 4 more problems)");
            assertThat(e.details()).extracting(d -> d.get("field") + " " + d.get("message")).containsExactly(
                    "name must not be blank", "empty must not be blank", "tabbed must not be blank",
                    "opt must not be blank", "short must be 2..100 characters");
        });
    }

    @Test
    void entriesAreJudgedEachOnItsOwn() {
        JsonBody b = body("{\"members\":[{\"phone\":\"+1\"},7,{\"phone\":1,\"x\":2}]}");
        var entries = b.requiredEntries("members", 1, 10);
        assertThat(entries).hasSize(3);
        assertThat(entries.get(1)).isNull();
        for (JsonBody e : entries) if (e != null) e.allowOnly("phone").requiredString("phone", 1, 20);
        assertThat(entries.get(0).valid()).isTrue();
        assertThat(entries.get(0).firstProblem()).isNull();
        assertThat(entries.get(2).firstProblem()).isEqualTo("x unknown field");
        b.validate(); // the entries' problems are not the body's
    }

    @Test
    void arraySizeIsBounded() {
        JsonBody b = body("{\"members\":[]}");
        b.requiredEntries("members", 1, 1000);
        assertThatThrownBy(b::validate).hasMessageContaining("1..1000");
        JsonBody notAnArray = body("{\"members\":{}}");
        notAnArray.requiredEntries("members", 1, 1000);
        assertThatThrownBy(notAnArray::validate).hasMessage("members must be an array");
    }

    @Test
    void malformedJsonIsASyntaxError() {
        assertThatThrownBy(() -> Json.parseObject("{\"a\":")).isInstanceOf(Json.JsonSyntaxException.class);
        assertThatThrownBy(() -> Json.parseObject("[1,2]")).isInstanceOf(Json.JsonSyntaxException.class);
        assertThatThrownBy(() -> Json.parseObject("{\"a\":1,\"a\":2}")).isInstanceOf(Json.JsonSyntaxException.class);
    }

    /** Media URLs the carrier can fetch: https with a host, also one java.net.URI reads no host in. */
    @Test
    void httpsUrlsWithUnderscoredOrNonAsciiHostsAreTakenAndCredentialsOrBadPortsAreNot() {
        var good = List.of("https://example.com/a.jpg", "https://my_bucket.s3.amazonaws.com/a.jpg",
                "https://bücher.de/x.jpg", "https://my_bucket.example.com:8443/a.png", "https://[::1]/a.jpg",
                "https://bucket_2.s3-eu-west-1.amazonaws.com/a.jpg", "https://my_bucket.example.com:65535/a.png");
        JsonBody ok = new JsonBody(java.util.Map.of("mediaUrls", good), "");
        assertThat(ok.optionalHttpsUrls("mediaUrls", 10)).isEqualTo(good);
        ok.validate();
        for (String bad : List.of("http://example.com/a.jpg", "https://user:pw@my_bucket.example.com/a.jpg",
                "https://my_bucket.example.com:99999/a.jpg", "https://my_bucket.example.com:0/a.jpg", "https:///a.jpg",
                "https://_/a.jpg?", "https://exa mple.com/a.jpg", "https://-bad-.com", "https://my_bucket/a.jpg",
                "https://my_bucket..com/a.jpg", "https://my_bucket.example.com:/a.jpg", "https://my_bucket.-x.com/a.jpg",
                "https://my_bucket.x-.com/a.jpg", "https://my_bucket.example.com:123456/a.jpg", "https://my_bucket.example.com:8a/a.jpg",
                "https://my_bucket.exa*mple.com/a.jpg")) {
            JsonBody b = new JsonBody(java.util.Map.of("mediaUrls", List.of(bad)), "");
            b.optionalHttpsUrls("mediaUrls", 10);
            assertThatThrownBy(b::validate).as(bad).isInstanceOf(ApiException.class);
        }
    }

    /**
     * A host of as many labels as 2,048 characters hold, read on a thread with a small stack: a regular expression's
     * repeated group recursed once a label and overflowed (an Error, a 500 for a URL of the allowed length).
     */
    @Test
    void aHostOfSeveralHundredLabelsIsReadWithoutDeepRecursion() throws Exception {
        String host = "a_." .repeat(679) + "x";
        String url = "https://" + host;
        assertThat(url.length()).isLessThanOrEqualTo(2048);
        var results = new java.util.concurrent.CopyOnWriteArrayList<Object>();
        Thread small = new Thread(null, () -> {
            try {
                JsonBody body = new JsonBody(java.util.Map.of("mediaUrls", List.of(url, url.replace("a_.x", "a_.-x"))), "");
                results.add(body.optionalHttpsUrls("mediaUrls", 10));
                results.add(body.firstProblem());
            } catch (Throwable t) {
                results.add(t);
            }
        }, "small-stack", 128 * 1024);
        small.start();
        small.join();
        assertThat(results).hasSize(2);
        assertThat(results.getLast()).as("the second ends in a label starting with '-'")
                .asString().contains("mediaUrls[1]");
    }
}
