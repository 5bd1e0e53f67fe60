package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** Groups and members exactly per API.md, through the local runtime's HTTP API. */
@ExtendWith(LocalRuntimeExtension.class)
class GroupsE2eTest {

    static String phone(int i) {
        return String.format("+1415555%04d", i);
    }

    static Map<String, Object> member(String phone, String name) {
        return name == null ? Map.of("phone", phone) : Map.of("phone", phone, "name", name);
    }

    static String createGroup(ApiClient api, String name) {
        var r = api.post("/v1/groups", Map.of("name", name));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return (String) r.jsonObject().get("id");
    }

    static long memberCount(ApiClient api, String groupId) {
        return ((Number) api.get("/v1/groups/" + groupId).jsonObject().get("memberCount")).longValue();
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> items(ApiClient.Response r) {
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    static List<String> allMemberPhones(ApiClient api, String groupId, String query) {
        List<String> phones = new ArrayList<>();
        String cursor = null;
        do {
            var r = api.get("/v1/groups/" + groupId + "/members?limit=100" + (query == null ? "" : "&search=" + query)
                    + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            items(r).forEach(m -> phones.add((String) m.get("phone")));
            cursor = (String) r.jsonObject().get("nextCursor");
        } while (cursor != null);
        return phones;
    }

    @Test
    void createGetRenameDeleteWithNamesUniqueIgnoringCase(ApiClient api) {
        ApiClient a = api.forNewAccount("Groups Co");
        var created = a.post("/v1/groups", Map.of("name", "Volunteers", "description", "Saturday"));
        assertThat(created.status()).isEqualTo(201);
        var g = created.jsonObject();
        assertThat((String) g.get("id")).startsWith("grp_");
        assertThat(g).containsEntry("name", "Volunteers").containsEntry("description", "Saturday")
                .containsEntry("memberCount", 0);
        assertThat((String) g.get("createdAt")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        String id = (String) g.get("id");

        var dup = a.post("/v1/groups", Map.of("name", "VOLUNTEERS"));
        assertThat(dup.status()).isEqualTo(409);
        assertThat(dup.errorCode()).isEqualTo("conflict");

        String other = createGroup(a, "Staff");
        assertThat(a.patch("/v1/groups/" + other, Map.of("name", "volunteers")).status()).isEqualTo(409);
        assertThat(a.patch("/v1/groups/" + id, Map.of("name", "VOLUNTEERS")).status()).isEqualTo(200);
        var renamed = a.patch("/v1/groups/" + id, Map.of("name", "Helpers", "description", ""));
        assertThat(renamed.status()).isEqualTo(200);
        assertThat(renamed.jsonObject()).containsEntry("name", "Helpers").containsEntry("description", null);
        // the old name is free again, the new one is taken
        assertThat(a.post("/v1/groups", Map.of("name", "volunteers")).status()).isEqualTo(201);
        assertThat(a.post("/v1/groups", Map.of("name", "helpers")).status()).isEqualTo(409);

        assertThat(a.delete("/v1/groups/" + id).status()).isEqualTo(204);
        assertThat(a.get("/v1/groups/" + id).status()).isEqualTo(404);
        assertThat(a.delete("/v1/groups/" + id).status()).isEqualTo(404);
        assertThat(a.post("/v1/groups", Map.of("name", "Helpers")).status()).isEqualTo(201);
    }

    /**
     * Renames at once: each that succeeds answers with the group as it left it (its own name), not as read again
     * after another rename landed.
     */
    @Test
    void eachOfManyRenamesAtOnceAnswersWithItsOwnChange(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Renames Co");
        String id = createGroup(a, "Race 0");
        try (var pool = Executors.newFixedThreadPool(12)) {
            for (int round = 0; round < 3; round++) {
                List<Future<Map.Entry<String, ApiClient.Response>>> renames = new ArrayList<>();
                for (int i = 1; i <= 12; i++) {
                    String name = "Race " + round + "." + i;
                    renames.add(pool.submit(() -> Map.entry(name, a.patch("/v1/groups/" + id, Map.of("name", name)))));
                }
                int succeeded = 0;
                for (var f : renames) {
                    var answer = f.get();
                    if (answer.getValue().status() == 409) continue; // changed by many at once: asked to retry
                    assertThat(answer.getValue().status()).as(answer.getValue().body()).isEqualTo(200);
                    assertThat(answer.getValue().jsonObject()).as("the answer to " + answer.getKey())
                            .containsEntry("name", answer.getKey()).containsEntry("id", id);
                    succeeded++;
                }
                assertThat(succeeded).isPositive();
            }
        }
    }

    @Test
    void listsPageWithCursors(ApiClient api) {
        ApiClient a = api.forNewAccount("Paging Co");
        Set<String> made = new HashSet<>();
        for (int i = 0; i < 5; i++) made.add(createGroup(a, "G" + i));
        Set<String> seen = new HashSet<>();
        String cursor = null;
        int pages = 0;
        do {
            var r = a.get("/v1/groups?limit=2" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).isEqualTo(200);
            assertThat(items(r).size()).isLessThanOrEqualTo(2);
            items(r).forEach(g -> seen.add((String) g.get("id")));
            cursor = (String) r.jsonObject().get("nextCursor");
            pages++;
        } while (cursor != null);
        assertThat(seen).isEqualTo(made);
        assertThat(pages).isBetween(3, 4);
        assertThat(a.get("/v1/groups?limit=0").status()).isEqualTo(400);
        assertThat(a.get("/v1/groups?limit=101").status()).isEqualTo(400);
        assertThat(a.get("/v1/groups?limit=abc").status()).isEqualTo(400);
        var twice = a.get("/v1/groups?limit=5&limit=6");
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.body()).contains("limit must be given once");
        assertThat(a.get("/v1/groups?cursor=garbage!").status()).isEqualTo(400);
    }

    @Test
    void editedOrForeignCursorsAre400NotServerErrors(ApiClient api) {
        ApiClient a = api.forNewAccount("Cursor Co");
        for (int i = 0; i < 3; i++) createGroup(a, "C" + i);
        String cursor = (String) a.get("/v1/groups?limit=1").jsonObject().get("nextCursor");
        Map<String, Object> key = Json.parseObject(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
        String pk = (String) key.get("pk");
        // DynamoDB refuses each of these as a starting key: the caller's mistake, a 400 that names the cursor
        for (Map<String, Object> edited : List.<Map<String, Object>>of(
                Map.of("pk", pk, "sk", ""),
                Map.of("pk", pk, "sk", key.get("sk"), "extra", "1"),
                Map.of("pk", pk, "sk", "GROUP#" + "x".repeat(1100)),
                Map.of("pk", pk, "sk", key.get("sk"), "gsi1pk", pk, "gsi1sk", "x"),
                Map.of("pk", pk, "sk", "ZZZ#outside-the-list"),
                Map.of("pk", pk))) {
            String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(Json.write(edited).getBytes(StandardCharsets.UTF_8));
            for (String list : List.of("/v1/groups", "/v1/messages", "/v1/conversations", "/v1/inbound")) {
                var r = a.get(list + "?cursor=" + encoded);
                assertThat(r.status()).as(list + " with " + edited.keySet()).isEqualTo(400);
                assertThat(r.body()).contains("cursor");
            }
        }
        assertThat(a.get("/v1/groups?limit=1&cursor=" + cursor).status()).as("the real cursor still works").isEqualTo(200);
    }

    @Test
    void aPathIdTooLongToBeOursIsNotFound(ApiClient api) {
        ApiClient a = api.forNewAccount("Long Id Co");
        String longId = "grp_" + "A".repeat(1100);
        for (String path : List.of("/v1/groups/" + longId, "/v1/groups/" + longId + "/members",
                "/v1/messages/msg_" + "A".repeat(1100), "/v1/conversations/cnv_" + "A".repeat(1100), "/v1/lines/line_" + "A".repeat(1100))) {
            var r = a.get(path);
            assertThat(r.status()).as(path.substring(0, 20)).isEqualTo(404);
            assertThat(r.errorCode()).isEqualTo("not_found");
        }
        assertThat(a.patch("/v1/groups/" + longId, Map.of("name", "x")).status()).isEqualTo(404);
        // with an Idempotency-Key too: its record is keyed by the path, and nothing may be claimed for such a path
        ApiClient keyed = a.withHeader("Idempotency-Key", "k".repeat(255));
        assertThat(keyed.post("/v1/groups/" + longId + "/members", Map.of("members", List.of(Map.of("phone", phone(1))))).status())
                .isEqualTo(404);
        // an id within 200 characters whose percent-encoded path is 1,354 characters long: the record's key is then
        // the scope's hash (DynamoDB would refuse the scope itself as a key), and the answer a plain 404, not a 500
        String encodedId = URLEncoder.encode("grp_" + "€".repeat(150), StandardCharsets.UTF_8);
        var wide = keyed.post("/v1/groups/" + encodedId + "/members", Map.of("members", List.of(Map.of("phone", phone(1)))));
        assertThat(wide.status()).as(wide.body()).isEqualTo(404);
    }

    @Test
    void addMembersReportsPerEntryAndSearchesByNameOrDigits(ApiClient api) {
        ApiClient a = api.forNewAccount("Members Co");
        String g = createGroup(a, "Team");
        var r = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(
                Map.of("phone", "+14155550123", "name", "Ada Lovelace"),
                Map.of("phone", "(415) 555-0124", "country", "US", "name", "Grace Hopper"),
                Map.of("phone", "020 7946 0018", "country", "GB"),
                Map.of("phone", "12345"),
                Map.of("phone", "+1 415 555 0123"))));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.jsonObject()).containsEntry("added", 3).containsEntry("alreadyMembers", 1);
        @SuppressWarnings("unchecked") var invalid = (List<Map<String, Object>>) r.jsonObject().get("invalid");
        assertThat(invalid).hasSize(1);
        assertThat(invalid.get(0)).containsEntry("index", 3).containsEntry("phone", "12345");
        assertThat((String) invalid.get(0).get("reason")).isNotBlank();
        assertThat(memberCount(a, g)).isEqualTo(3);

        // Malformed entries are reported one by one too; the valid ones beside them are still added.
        var mixed = new ArrayList<Object>(List.of(Map.of("phone", "+14155550125"), Map.of(), Map.of("phone", 4155550126L),
                Map.of("phone", "+14155550127", "name", "x".repeat(101)), "+14155550128", Map.of("phone", "+14155550129", "nick", "Z")));
        mixed.add(Map.of("phone", "+14155550130", "name", "Katherine Johnson"));
        mixed.add(Map.of("phone", "+14155550131", "name", "\u001b[2JMallory"));
        var partly = a.post("/v1/groups/" + g + "/members", Map.of("members", mixed));
        assertThat(partly.status()).as(partly.body()).isEqualTo(200);
        assertThat(partly.jsonObject()).containsEntry("added", 2).containsEntry("alreadyMembers", 0);
        @SuppressWarnings("unchecked") var rejected = (List<Map<String, Object>>) partly.jsonObject().get("invalid");
        assertThat(rejected).extracting(e -> e.get("index")).containsExactly(1, 2, 3, 4, 5, 7);
        assertThat(rejected).extracting(e -> e.get("reason")).containsExactly("phone is required", "phone must be a string",
                "name must be 0..100 characters", "must be an object {phone, country?, name?}", "nick unknown field",
                "name must not contain control characters (tab and line breaks are allowed)");
        assertThat(rejected.get(3)).containsEntry("phone", "+14155550128");
        var overlong = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "1".repeat(65)), "2".repeat(65))));
        @SuppressWarnings("unchecked") var overlongInvalid = (List<Map<String, Object>>) overlong.jsonObject().get("invalid");
        assertThat(overlongInvalid).extracting(e -> e.get("phone")).containsExactly(null, null);
        assertThat(rejected.get(2)).containsEntry("phone", "+14155550127");
        assertThat(rejected.get(1)).containsEntry("phone", null);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550125").status()).isEqualTo(204);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550130").status()).isEqualTo(204);
        assertThat(memberCount(a, g)).isEqualTo(3);

        var again = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550124", null))));
        assertThat(again.jsonObject()).containsEntry("added", 0).containsEntry("alreadyMembers", 1);

        assertThat(allMemberPhones(a, g, null)).containsExactly("+14155550123", "+14155550124", "+442079460018");
        assertThat(allMemberPhones(a, g, "LOVE")).containsExactly("+14155550123");
        assertThat(allMemberPhones(a, g, "5550124")).containsExactly("+14155550124");
        assertThat(allMemberPhones(a, g, "7946")).containsExactly("+442079460018");
        assertThat(allMemberPhones(a, g, "nobody")).isEmpty();
        var listed = items(a.get("/v1/groups/" + g + "/members?search=ada"));
        assertThat(listed.get(0)).containsEntry("name", "Ada Lovelace").containsKey("addedAt");

        // one member by number (an extension of API.md): as the list shows it
        var one = a.get("/v1/groups/" + g + "/members/%2B14155550123");
        assertThat(one.status()).as(one.body()).isEqualTo(200);
        assertThat(one.jsonObject()).isEqualTo(listed.get(0));
        assertThat(a.get("/v1/groups/" + g + "/members/%2B14155550199").status()).isEqualTo(404);
        assertThat(a.get("/v1/groups/" + g + "/members/not-a-phone").status()).isEqualTo(400);
        assertThat(a.get("/v1/groups/grp_nope/members/%2B14155550123").status()).isEqualTo(404);
        assertThat(api.forNewAccount("Peeking Co").get("/v1/groups/" + g + "/members/%2B14155550123").status()).isEqualTo(404);

        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550123").status()).isEqualTo(204);
        assertThat(a.get("/v1/groups/" + g + "/members/%2B14155550123").status()).as("removed").isEqualTo(404);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550123").status()).isEqualTo(404);
        assertThat(a.delete("/v1/groups/" + g + "/members/not-a-phone").status()).isEqualTo(400);
        assertThat(memberCount(a, g)).isEqualTo(2);
        assertThat(allMemberPhones(a, g, null)).containsExactly("+14155550124", "+442079460018");
    }

    /**
     * A name stored before letters were folded keeps them ({@code łodz ødegard} for "Łódź Ødegård"): a search as the
     * name is written still finds it, also with its accents; a search without the letters finds it once its name is
     * set again (README).
     */
    @Test
    void aNameStoredBeforeLettersWereFoldedIsFoundAsItIsWritten(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Old Names Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = createGroup(a, "Old names");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(
                Map.of("phone", "+48221234567", "name", "Łódź Ødegård"),
                Map.of("phone", "+302101234567", "name", "Νίκος")))).jsonObject()).containsEntry("added", 2);
        var w = runtime.wiring();
        for (var old : Map.of("+48221234567", "łodz ødegard", "+302101234567", "νικος").entrySet()) {
            w.dynamo().updateItem(b -> b.tableName(w.config().table(groupmsg.platform.schema.Tables.MEMBERS))
                    .key(groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId) + "#GRP#" + g, old.getKey()))
                    .updateExpression("SET nameLower = :old REMOVE nameForm") // as rows of before nameForm were
                    .expressionAttributeValues(Map.of(":old", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS(old.getValue()))));
        }
        assertThat(allMemberPhones(a, g, "%C5%81%C3%B3d%C5%BA")).as("Łódź").containsExactly("+48221234567");
        assertThat(allMemberPhones(a, g, "%C3%98deg%C3%A5rd")).as("Ødegård").containsExactly("+48221234567");
        assertThat(allMemberPhones(a, g, "%CE%BD%CE%AF%CE%BA%CE%BF%CF%82")).as("νίκος").containsExactly("+302101234567");
        assertThat(allMemberPhones(a, g, "%CE%BD%CE%B9%CE%BA%CE%BF%CF%82")).as("νικος").containsExactly("+302101234567");
        assertThat(allMemberPhones(a, g, "lodz")).as("until its name is set again").isEmpty();
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B48221234567", Map.of("name", "Łódź Ødegård")).status()).isEqualTo(200);
        assertThat(allMemberPhones(a, g, "lodz")).containsExactly("+48221234567");
    }

    @Test
    void searchIgnoresAccentsAndFindsANumberWrittenWithItsTrunkZero(ApiClient api) {
        ApiClient a = api.forNewAccount("Search Co");
        String g = createGroup(a, "Mixed");
        var r = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(
                Map.of("phone", "+14155550141", "name", "José García"),
                Map.of("phone", "+14155550142", "name", "Jose\u0301fina Decomposed"),
                Map.of("phone", "+14155550143", "name", "Joseph Plain"),
                Map.of("phone", "07911 123456", "country", "GB", "name", "Una UK"),
                Map.of("phone", "030/12345678", "country", "DE", "name", "Dieter\u200b"),
                Map.of("phone", "(+44) 20 7946 0018", "name", "Bracketed Plus"),
                Map.of("phone", "+4791234567", "name", "Søren Ødegård"),
                Map.of("phone", "+306912345678", "name", "ΟΔΥΣΣΕΑΣ Mary\u00a0Ann"))));
        assertThat(r.jsonObject()).as(r.body()).containsEntry("added", 8);
        assertThat(allMemberPhones(a, g, "soren%20odegard")).as("ø as o").containsExactly("+4791234567");
        assertThat(allMemberPhones(a, g, "S%C3%B8ren")).as("as written").containsExactly("+4791234567");
        assertThat(allMemberPhones(a, g, "%CE%9F%CE%94%CE%A5%CE%A3")).as("ΟΔΥΣ: upper case, lowered with a final sigma")
                .containsExactly("+306912345678");
        assertThat(allMemberPhones(a, g, "mary%20ann")).as("a no-break space in the name").containsExactly("+306912345678");
        // searched as they were written
        assertThat(allMemberPhones(a, g, "030/12345678")).containsExactly("+493012345678");
        assertThat(allMemberPhones(a, g, "%2B49%20030%2012345678")).as("with the trunk 0 after the country code")
                .containsExactly("+493012345678");
        assertThat(allMemberPhones(a, g, "%2B44%2007911%20123456")).containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "0049%20030%2012345678")).as("with the 00 prefix").containsExactly("+493012345678");
        assertThat(allMemberPhones(a, g, "%2B44%20(0)20%207946%200018")).containsExactly("+442079460018");
        assertThat(allMemberPhones(a, g, "07911%C2%A0123456")).as("a no-break space").containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "%EF%BC%88%EF%BC%90%EF%BC%92%EF%BC%90%EF%BC%89%EF%BC%8D%EF%BC%97%EF%BC%99%EF%BC%94%EF%BC%96")).as("fullwidth digits, brackets and dash, as an input method types them")
                .containsExactly("+442079460018");
        assertThat(allMemberPhones(a, g, "dieter")).containsExactly("+493012345678");
        assertThat(items(a.get("/v1/groups/" + g + "/members?search=dieter")).getFirst())
                .as("kept without the invisible character at its end").containsEntry("name", "Dieter");
        assertThat(allMemberPhones(a, g, "jose")).containsExactly("+14155550141", "+14155550142", "+14155550143");
        assertThat(allMemberPhones(a, g, "jos%C3%A9")).as("josé").containsExactly("+14155550141", "+14155550142", "+14155550143");
        assertThat(allMemberPhones(a, g, "GARCIA")).containsExactly("+14155550141");
        assertThat(allMemberPhones(a, g, "07911123456")).containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "07911%20123456")).containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "7911123456")).containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "0791112")).as("the start of it").containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "0044%207911")).as("with the international prefix").containsExactly("+447911123456");
        assertThat(allMemberPhones(a, g, "0791")).as("too short to drop the 0: a substring of the digits, as API.md says").isEmpty();
        assertThat(allMemberPhones(a, g, "0141")).as("'141' is in other numbers, '0141' in one").containsExactly("+14155550141");
        assertThat(items(a.get("/v1/groups/" + g + "/members?search=garc%C3%ADa")).getFirst())
                .as("shown as given").containsEntry("name", "José García");
        // a search that folds to nothing (a lone accent, a variation selector) is in no name, not in every one
        assertThat(items(a.get("/v1/groups/" + g + "/members?search=%CC%81"))).isEmpty();
        assertThat(items(a.get("/v1/groups/" + g + "/members?search=%EF%B8%8F"))).isEmpty();

        // a Devanagari vowel sign or a kana's voicing mark is part of its letter, not an accent: each name its own
        String scripts = createGroup(a, "Scripts");
        var added = a.post("/v1/groups/" + scripts + "/members", Map.of("members", List.of(
                Map.of("phone", "+919812345671", "name", "राम"), Map.of("phone", "+919812345672", "name", "रीमा"),
                Map.of("phone", "+919812345673", "name", "रमेश"), Map.of("phone", "+819012345671", "name", "ガトウ"),
                Map.of("phone", "+819012345672", "name", "カトウ"))));
        assertThat(added.jsonObject()).as(added.body()).containsEntry("added", 5);
        java.util.function.Function<String, List<String>> found = name -> allMemberPhones(a, scripts,
                java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8));
        assertThat(found.apply("रीमा")).containsExactly("+919812345672");
        assertThat(found.apply("राम")).containsExactly("+919812345671");
        assertThat(found.apply("ガトウ")).containsExactly("+819012345671");
        assertThat(found.apply("カトウ")).containsExactly("+819012345672");
        // a number copied from a phone's contacts comes wrapped in invisible direction marks: added, and found so
        String copied = "\u202d+1 (415) 555\u20110177\u202c";
        var fromContacts = a.post("/v1/groups/" + scripts + "/members", Map.of("members", List.of(Map.of("phone", copied))));
        assertThat(fromContacts.jsonObject()).as(fromContacts.body()).containsEntry("added", 1);
        assertThat(found.apply(copied)).containsExactly("+14155550177");
    }

    /**
     * A batch add (or removal) tries for 15 s at most, its retries under many changes at once included, then answers
     * the 409 that says what it did: a unit could take 15-19 s under contention, and two of them ran past API
     * Gateway's 29 s (a 5xx, half done, without a word of it). Here each transaction takes 20 s of the clock.
     */
    @Test
    void aBatchPastItsTimeIsA409SayingWhatWasDone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Slow Batch Co");
        String g = createGroup(a, "Slow");
        var millis = new java.util.concurrent.atomic.AtomicLong(System.currentTimeMillis());
        var slow = transactionsTaking(runtime, millis, 20_000);
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 150; i++) batch.add(Map.of("phone", String.format("+1415557%04d", i)));

        var r = IdempotentRetriesE2eTest.call(new groupmsg.groups.GroupsApiHandler(slow), a, "POST /v1/groups/{id}/members",
                "/v1/groups/" + g + "/members", Map.of("id", g), Map.of("members", batch), "slow-batch-add");

        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(409);
        assertThat(r.getBody()).contains("98 of the numbers were added before it");
        assertThat(memberCount(a, g)).isEqualTo(98);
        var again = a.post("/v1/groups/" + g + "/members", Map.of("members", batch));
        assertThat(again.jsonObject()).as(again.body()).containsEntry("added", 52).containsEntry("alreadyMembers", 98);

        var removal = IdempotentRetriesE2eTest.call(new groupmsg.groups.GroupsApiHandler(slow), a, "POST /v1/groups/{id}/members/remove",
                "/v1/groups/" + g + "/members/remove", Map.of("id", g), Map.of("members", batch),
                "slow-batch-remove");
        assertThat(removal.getStatusCode()).as(removal.getBody()).isEqualTo(409);
        assertThat(removal.getBody()).contains("98 of the numbers were removed before it");
        assertThat(memberCount(a, g)).isEqualTo(52);
        // the 52 left given names: the first unit's renames are said too
        List<Map<String, Object>> named = new ArrayList<>();
        for (int i = 98; i < 150; i++) named.add(Map.of("phone", String.format("+1415557%04d", i), "name", "Named " + i));
        for (int i = 0; i < 60; i++) named.add(Map.of("phone", String.format("+1415558%04d", i)));
        var renamed = IdempotentRetriesE2eTest.call(new groupmsg.groups.GroupsApiHandler(slow), a, "POST /v1/groups/{id}/members",
                "/v1/groups/" + g + "/members", Map.of("id", g), Map.of("members", named), "slow-batch-rename");
        assertThat(renamed.getStatusCode()).as(renamed.getBody()).isEqualTo(409);
        assertThat(renamed.getBody()).contains("46 of the numbers were added and 52 renamed before it");
    }

    /**
     * One number's change tries for 15 s at most too (a removal, one across chosen groups; a removal from every group
     * 20 s, reading included), then answers the 409 that says what it did: their retries under many changes at once had
     * no end of their own, and could run past API Gateway's 29 s. Here each transaction takes 25 s of the clock, and the
     * single removal's first stamp is older than the group's last change (as under contention: it is tried again).
     */
    @Test
    void aSingleNumbersChangePastItsTimeIsA409SayingWhatWasDone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Slow Single Co");
        String first = createGroup(a, "First");
        String second = createGroup(a, "Second");
        String ann = "+14155570901";
        String bob = "+14155570902";
        assertThat(a.post("/v1/members", Map.of("phone", ann, "groupIds", List.of(first, second))).status()).isEqualTo(200);
        var millis = new java.util.concurrent.atomic.AtomicLong(System.currentTimeMillis() - 60_000);
        var slow = transactionsTaking(runtime, millis, 25_000);

        var removal = IdempotentRetriesE2eTest.call(new groupmsg.groups.GroupsApiHandler(slow), a,
                "DELETE /v1/groups/{id}/members/{phone}", "/v1/groups/" + first + "/members/%2B14155570901",
                Map.of("id", first, "phone", "%2B14155570901"), Map.of(), "slow-single-removal");
        assertThat(removal.getStatusCode()).as(removal.getBody()).isEqualTo(409);
        assertThat(memberCount(a, first)).as("its first try was stamped before the add: not done").isEqualTo(1);

        millis.set(System.currentTimeMillis() + 1_000);
        var across = IdempotentRetriesE2eTest.call(new groupmsg.groups.GroupsApiHandler(slow), a, "POST /v1/members",
                "/v1/members", Map.of(), Map.of("phone", bob, "groupIds", List.of(first, second)), "slow-across-add");
        assertThat(across.getStatusCode()).as(across.getBody()).isEqualTo(409);
        assertThat(across.getBody()).contains("could not be changed within the request's time")
                .contains("it was added to 1 of the groups before it");
        assertThat(memberCount(a, first)).isEqualTo(2);
        assertThat(memberCount(a, second)).isEqualTo(1);

        // a removal from every group stops after the group whose removal took it past its 15 s, and says where
        millis.addAndGet(1_000);
        var everywhere = IdempotentRetriesE2eTest.call(new groupmsg.groups.GroupsApiHandler(slow), a, "POST /v1/members/remove",
                "/v1/members/remove", Map.of(), Map.of("phone", ann), "slow-remove-everywhere");
        assertThat(everywhere.getStatusCode()).as(everywhere.getBody()).isEqualTo(200);
        var part = Json.parseObject(everywhere.getBody());
        assertThat((List<?>) part.get("removedFrom")).hasSize(1);
        assertThat(memberCount(a, first) + memberCount(a, second)).as("one of ann's two memberships went").isEqualTo(2);
        var rest = a.post("/v1/members/remove", Map.of("phone", ann, "cursor", part.get("nextCursor")));
        assertThat((List<?>) rest.jsonObject().get("removedFrom")).as(rest.body()).hasSize(1);
        assertThat(memberCount(a, first) + memberCount(a, second)).isEqualTo(1);
    }

    /** A wiring whose clock ({@code millis}) moves {@code stepMillis} on at every TransactWriteItems, before it runs. */
    static groupmsg.platform.config.Wiring transactionsTaking(LocalRuntime runtime, java.util.concurrent.atomic.AtomicLong millis,
                                                             long stepMillis) {
        return runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest) {
                    millis.addAndGet(stepMillis);
                }
            }
        }).withClock(groupmsg.local.TestClocks.readingFrom(millis));
    }

    @Test
    void aThousandMembersWithEscapedEmojiNamesFitInOneRequest(ApiClient api) {
        ApiClient a = api.forNewAccount("Emoji Co");
        String g = createGroup(a, "Emoji");
        var json = new StringBuilder("{\"members\":[");
        String name = "\\ud83d\\ude00".repeat(100); // as Python's json.dumps and Jackson's ASCII mode write it
        for (int i = 0; i < 1000; i++) {
            json.append(i == 0 ? "" : ",").append(String.format("{\"phone\":\"+1415556%04d\",\"name\":\"%s\"}", i, name));
        }
        String body = json.append("]}").toString();
        assertThat(body.length()).as("bytes").isGreaterThan(1_200_000);
        var r = a.send("POST", "/v1/groups/" + g + "/members", "application/json", body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.jsonObject()).containsEntry("added", 1000);
        assertThat(items(a.get("/v1/groups/" + g + "/members?limit=1")).getFirst()).containsEntry("name", "\ud83d\ude00".repeat(100));
    }

    @Test
    void namesAndTheSenderAreOneLine(ApiClient api) {
        ApiClient a = api.forNewAccount("One Line Co");
        var group = a.post("/v1/groups", Map.of("name", "Two\nLines"));
        assertThat(group.status()).isEqualTo(400);
        assertThat(group.body()).contains("name must be one line (no line breaks)");
        String g = createGroup(a, "One line");
        assertThat(a.patch("/v1/groups/" + g, Map.of("name", "Para\u2029graph")).status()).isEqualTo(400);
        // one spelling per name: invisible edges dropped, NFC, so look-alikes are the same name
        assertThat(a.post("/v1/groups", Map.of("name", "One line\u200b")).status()).isEqualTo(409);
        var cafe = a.post("/v1/groups", Map.of("name", "\ufeffCafe\u0301"));
        assertThat(cafe.status()).isEqualTo(201);
        assertThat(cafe.jsonObject()).containsEntry("name", "Caf\u00e9");
        assertThat(a.post("/v1/groups", Map.of("name", "caf\u00c9")).status()).isEqualTo(409);
        var invisible = a.post("/v1/groups", Map.of("name", "\u200b\u2060"));
        assertThat(invisible.status()).isEqualTo(400);
        assertThat(invisible.body()).contains("name must not be blank");
        var members = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(
                Map.of("phone", "+14155550151", "name", "Ann\r\nLee"), Map.of("phone", "+14155550152", "name", "Ann\tLee"))));
        assertThat(members.jsonObject()).containsEntry("added", 1);
        assertThat(items(a.get("/v1/groups/" + g + "/members"))).extracting(m -> m.get("name")).containsExactly("Ann\tLee");
        assertThat(members.body()).contains("name must be one line (no line breaks)");
        String line = MessagesE2eTest.createLine(a, MessagesE2eTest.linePhone(), 10);
        var send = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", line, "sender", "Food\nBank", "title", "t",
                "body", "Body lines\nare fine"));
        assertThat(send.status()).isEqualTo(400);
        assertThat(send.body()).contains("sender must be one line (no line breaks)");
        assertThat(a.patch("/v1/account", Map.of("name", "One\nLine Co")).status()).isEqualTo(400);
        assertThat(a.post("/v1/api-keys", Map.of("name", "ci\nkey", "role", "member")).status()).isEqualTo(400);
        assertThat(a.get("/v1/account").jsonObject()).containsEntry("name", "One Line Co");
    }

    @Test
    void aPercentInTheRemovedPhoneIsA400OrA404NeverA500(ApiClient api) {
        ApiClient a = api.forNewAccount("Percent Co");
        String g = createGroup(a, "Team");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550124", null))));
        // the gateway decodes %25 to '%': no phone number holds one
        for (String phone : List.of("%25", "50%25", "%25zz", "%252", "%25%25")) {
            var r = a.delete("/v1/groups/" + g + "/members/" + phone);
            assertThat(r.status()).as(phone + ": " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        // an unknown group first: 404 whatever the phone
        assertThat(a.delete("/v1/groups/grp_nope/members/%25").status()).isEqualTo(404);
        assertThat(a.delete("/v1/groups/grp_nope/members/%2B14155550124").status()).isEqualTo(404);
        // a phone its client encoded twice still names the member
        assertThat(a.delete("/v1/groups/" + g + "/members/%252B14155550124").status()).isEqualTo(204);
        assertThat(memberCount(a, g)).isZero();
    }

    @Test
    void nullForAnOptionalFieldIsTheFieldNotGiven(ApiClient api) {
        ApiClient a = api.forNewAccount("Null Co");
        var created = a.send("POST", "/v1/groups", "application/json", "{\"name\":\"Nulls\",\"description\":null}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.jsonObject()).containsEntry("description", null);
        String g = (String) created.jsonObject().get("id");
        // members as GET .../members lists them (an unnamed one has "name": null), copied into another group
        var r = a.send("POST", "/v1/groups/" + g + "/members", "application/json",
                "{\"members\":[{\"phone\":\"+14155550124\",\"name\":null,\"country\":null},"
                        + "{\"phone\":\"(415) 555-0125\",\"country\":\"US\",\"name\":null}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.jsonObject()).containsEntry("added", 2).containsEntry("invalid", List.of());
        assertThat(items(a.get("/v1/groups/" + g + "/members"))).extracting(m -> m.get("name")).containsExactly(null, null);
        // a name is still required to be a string when one is given, and PATCH still clears with null
        var wrong = a.send("POST", "/v1/groups/" + g + "/members", "application/json",
                "{\"members\":[{\"phone\":\"+14155550126\",\"name\":5}]}");
        assertThat(wrong.jsonObject()).containsEntry("added", 0);
        assertThat(a.send("POST", "/v1/groups", "application/json", "{\"name\":null}").status()).isEqualTo(400);

        // the other creates too: a line, a group message, a conversation, an opt-out, an API key
        String phone = MessagesE2eTest.linePhone();
        var line = a.send("POST", "/v1/lines", "application/json", "{\"phone\":\"" + phone + "\",\"type\":\"long_code\","
                + "\"groupMessaging\":true,\"mps\":null,\"country\":null,\"optOutReply\":null,\"optInReply\":null,\"helpReply\":null}");
        assertThat(line.status()).as(line.body()).isEqualTo(201);
        assertThat(line.jsonObject()).containsEntry("mps", 1);
        String lineId = (String) line.jsonObject().get("id");
        var message = a.send("POST", "/v1/groups/" + g + "/messages", "application/json", "{\"lineId\":\"" + lineId
                + "\",\"sender\":\"Ops\",\"title\":\"Nulls\",\"body\":\"Hi\",\"mediaUrls\":null}");
        assertThat(message.status()).as(message.body()).isEqualTo(202);
        assertThat(message.jsonObject()).containsEntry("mediaUrls", List.of());
        var conversation = a.send("POST", "/v1/conversations", "application/json", "{\"lineId\":\"" + lineId
                + "\",\"name\":null,\"country\":null,\"participants\":[\"+14155550124\",\"+14155550125\"],\"body\":\"Hi all\",\"mediaUrls\":null}");
        assertThat(conversation.status()).as(conversation.body()).isEqualTo(201);
        assertThat(conversation.jsonObject()).containsEntry("name", null);
        var optOut = a.send("POST", "/v1/opt-outs", "application/json", "{\"lineId\":\"" + lineId + "\",\"phone\":\"+14155550127\",\"country\":null}");
        assertThat(optOut.status()).as(optOut.body()).isEqualTo(201);
        // a required field sent as null is missing, whichever the route
        var noBody = a.send("POST", "/v1/groups/" + g + "/messages", "application/json", "{\"lineId\":\"" + lineId
                + "\",\"sender\":\"Ops\",\"title\":\"Nulls\",\"body\":null}");
        assertThat(noBody.status()).isEqualTo(400);
        assertThat(noBody.body()).contains("body is required");
    }

    @Test
    void aLargeAnswerToAnIdempotentAddIsRecordedAndReplayed(ApiClient api) {
        ApiClient a = api.forNewAccount("Large Answer Co");
        String g = createGroup(a, "Team");
        ApiClient keyed = a.withHeader("Idempotency-Key", "big-1");
        // 500 members, and 500 entries with a made-up 900-character field: each reason names it by 64 characters
        List<Object> entries = new ArrayList<>();
        for (int i = 0; i < 500; i++) entries.add(member(phone(i), null));
        for (int i = 0; i < 500; i++) entries.add(Map.of("phone", phone(600 + i), "x".repeat(899) + i % 10, "y"));
        var first = keyed.post("/v1/groups/" + g + "/members", Map.of("members", entries));
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        assertThat(first.jsonObject()).containsEntry("added", 500);
        assertThat(first.body().length()).isLessThan(100_000);
        @SuppressWarnings("unchecked") var invalid = (List<Map<String, Object>>) first.jsonObject().get("invalid");
        assertThat(invalid).hasSize(500);
        assertThat(invalid.get(0)).containsEntry("phone", phone(600)).containsEntry("reason", "x".repeat(64) + "... unknown field");
        var replay = keyed.post("/v1/groups/" + g + "/members", Map.of("members", entries));
        assertThat(replay.status()).isEqualTo(200);
        assertThat(replay.header("idempotent-replayed")).isEqualTo("true");
        assertThat(replay.body()).isEqualTo(first.body());

        // 1,000 entries echoing only escapes (6 bytes each in JSON): ~800 KB as they were, more than an
        // Idempotency-Key's record holds; the answer keeps each entry's index and a plain reason
        ApiClient keyed2 = a.withHeader("Idempotency-Key", "big-2");
        List<Object> escapes = new ArrayList<>();
        for (int i = 0; i < 1000; i++) escapes.add(Map.of("phone", "\u0001".repeat(64), "\u0002".repeat(70) + i, "z"));
        var escaped = keyed2.post("/v1/groups/" + g + "/members", Map.of("members", escapes));
        assertThat(escaped.status()).as(escaped.body().length() > 300 ? escaped.body().substring(0, 300) : escaped.body()).isEqualTo(200);
        @SuppressWarnings("unchecked") var plain = (List<Map<String, Object>>) escaped.jsonObject().get("invalid");
        assertThat(plain).hasSize(1000);
        assertThat(plain).extracting(e -> e.get("index")).doesNotHaveDuplicates();
        assertThat(plain.get(0)).containsEntry("phone", null).containsEntry("reason", "?".repeat(64) + "... unknown field");
        var replay2 = keyed2.post("/v1/groups/" + g + "/members", Map.of("members", escapes));
        assertThat(replay2.status()).isEqualTo(200);
        assertThat(replay2.body()).isEqualTo(escaped.body());
        assertThat(memberCount(a, g)).isEqualTo(500);
    }

    @Test
    void anEmptyNameInALaterDuplicateEntryTakesNothingFromAnEarlierOnesName(ApiClient api) {
        ApiClient a = api.forNewAccount("Empty Dup Co");
        String g = createGroup(a, "Dups");
        var r = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(
                Map.of("phone", "+14155550931", "name", "Ada"), Map.of("phone", "+14155550931", "name", ""))));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        @SuppressWarnings("unchecked") var items = (List<Map<String, Object>>) a.get("/v1/groups/" + g + "/members").jsonObject().get("items");
        assertThat(items).singleElement().satisfies(m -> assertThat(m).containsEntry("name", "Ada"));
    }

    @Test
    void addingAMemberAgainWithAnotherNameRenamesIt(ApiClient api) {
        ApiClient a = api.forNewAccount("Rename Member Co");
        String g = createGroup(a, "Team");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550140", "Ann Old"),
                member("+14155550141", null), member("+14155550142", "Same"))));
        var again = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550140", "Beatrice New"),
                member("+14155550141", "Named Now"), member("+14155550142", "Same"), member("+14155550143", "Fresh"))));
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        assertThat(again.jsonObject()).containsEntry("added", 1).containsEntry("alreadyMembers", 3).containsEntry("updated", 2);
        assertThat(memberCount(a, g)).isEqualTo(4);
        var listed = items(a.get("/v1/groups/" + g + "/members"));
        assertThat(listed).extracting(m -> m.get("name")).containsExactly("Beatrice New", "Named Now", "Same", "Fresh");
        // search follows the new name, not the old
        assertThat(allMemberPhones(a, g, "beatrice")).containsExactly("+14155550140");
        assertThat(allMemberPhones(a, g, "ann")).isEmpty();
        // given no name, a member keeps its own
        var unnamed = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550140", null))));
        assertThat(unnamed.jsonObject()).containsEntry("alreadyMembers", 1).containsEntry("updated", 0);
        assertThat(items(a.get("/v1/groups/" + g + "/members?search=beatrice"))).hasSize(1);
    }

    /** A member renamed, or its name taken away, by number (an extension): only the name changes; search follows it. */
    @Test
    void aMemberIsRenamedOrUnnamedByNumber(ApiClient api) {
        ApiClient a = api.forNewAccount("Patch Member Co");
        String g = createGroup(a, "Team");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550150", "Ann Old"), member("+14155550151", null))));
        String addedAt = (String) a.get("/v1/groups/" + g + "/members/%2B14155550150").jsonObject().get("addedAt");

        var renamed = a.patch("/v1/groups/" + g + "/members/%2B14155550150", Map.of("name", "Zoë New"));
        assertThat(renamed.status()).as(renamed.body()).isEqualTo(200);
        assertThat(renamed.jsonObject()).containsEntry("phone", "+14155550150").containsEntry("name", "Zoë New")
                .containsEntry("addedAt", addedAt);
        assertThat(allMemberPhones(a, g, "zoe")).containsExactly("+14155550150");
        assertThat(allMemberPhones(a, g, "ann")).isEmpty();
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "Named")).jsonObject())
                .containsEntry("name", "Named");
        assertThat(a.send("PATCH", "/v1/groups/" + g + "/members/%2B14155550150", "application/json", "{\"name\":null}")
                .jsonObject()).containsEntry("name", null);
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "")).jsonObject()).containsEntry("name", null);
        assertThat(allMemberPhones(a, g, "zoe")).isEmpty();
        // a name of invisible characters only is no name, as spaces alone are (and as a CSV import's cell is)
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "Named again")).status()).isEqualTo(200);
        var invisible = a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "\u200b\u2060"));
        assertThat(invisible.status()).as(invisible.body()).isEqualTo(200);
        assertThat(invisible.jsonObject()).containsEntry("name", null);
        var added = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550153", " "),
                member("+14155550154", "\u200b"))));
        assertThat(added.jsonObject()).containsEntry("added", 2).containsEntry("invalid", List.of());
        assertThat(a.get("/v1/groups/" + g + "/members/%2B14155550154").jsonObject()).containsEntry("name", null);
        var toGroups = a.post("/v1/members", Map.of("phone", "+14155550155", "name", "\ufeff", "groupIds", List.of(g)));
        assertThat(toGroups.status()).as(toGroups.body()).isBetween(200, 201);
        assertThat(a.get("/v1/groups/" + g + "/members/%2B14155550155").jsonObject()).containsEntry("name", null);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550153").status()).isEqualTo(204);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550154").status()).isEqualTo(204);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550155").status()).isEqualTo(204);
        assertThat(memberCount(a, g)).isEqualTo(2);

        // refused, nothing changed: a name of two lines or over 100 characters, another field, no name at all
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "a\nb")).status()).isEqualTo(400);
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "x".repeat(101))).status()).isEqualTo(400);
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "A", "phone", "+1")).status()).isEqualTo(400);
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of()).status()).isEqualTo(400);
        assertThat(a.get("/v1/groups/" + g + "/members/%2B14155550151").jsonObject()).containsEntry("name", null);
        // not a member (never, or removed), no such group, another account's group
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550152", Map.of("name", "A")).status()).isEqualTo(404);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550151").status()).isEqualTo(204);
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550151", Map.of("name", "A")).status()).isEqualTo(404);
        assertThat(a.patch("/v1/groups/grp_01JZZZZZZZZZZZZZZZZZZZZZZZ/members/%2B14155550150", Map.of("name", "A")).status()).isEqualTo(404);
        assertThat(api.forNewAccount("Not Their Member Co").patch("/v1/groups/" + g + "/members/%2B14155550150",
                Map.of("name", "A")).status()).isEqualTo(404);
        assertThat(items(a.get("/v1/groups/" + g + "/members"))).extracting(m -> m.get("phone") + " " + m.get("name"))
                .containsExactly("+14155550150 null");
    }

    @Test
    void aListReadsPastALongRunOfRemovedMembers(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Tombstones Co");
        String g = createGroup(a, "Mostly gone");
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 1001; i++) batch.add(member(phone(i), null));
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", batch.subList(0, 1000))).status()).isEqualTo(200);
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(batch.get(1000), member("+14155559999", "Last")))).status())
                .isEqualTo(200);
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Future<ApiClient.Response>> removals = new ArrayList<>();
            for (int i = 0; i < 1001; i++) {
                String p = phone(i).replace("+", "%2B");
                removals.add(pool.submit(() -> a.delete("/v1/groups/" + g + "/members/" + p)));
            }
            for (var f : removals) assertThat(f.get().status()).isEqualTo(204);
        }
        assertThat(memberCount(a, g)).isEqualTo(1);
        // 1,001 removed members come first in phone order: the page still finds the one after them
        for (String query : List.of("", "?limit=1")) {
            var page = a.get("/v1/groups/" + g + "/members" + query);
            assertThat(page.status()).isEqualTo(200);
            assertThat(items(page)).extracting(m -> m.get("phone")).as(query).containsExactly("+14155559999");
            assertThat(page.jsonObject()).containsEntry("nextCursor", null);
        }
    }

    @Test
    void removalLeavesATombstoneAndReaddKeepsHistory(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("History Co");
        String g = createGroup(a, "Team");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550150", "Kim"))));
        a.delete("/v1/groups/" + g + "/members/%2B14155550150");
        var row = memberRow(runtime, a, g, "+14155550150");
        assertThat(row).containsKeys("addedAt", "removedAt", "expiresAt");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550150", "Kim"))));
        row = memberRow(runtime, a, g, "+14155550150");
        assertThat(row).doesNotContainKey("removedAt");
        assertThat(row.get("history").l()).hasSize(1);
        assertThat(memberCount(a, g)).isEqualTo(1);
    }

    private static Map<String, AttributeValue> memberRow(LocalRuntime runtime, ApiClient a, String groupId, String phone) {
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var wiring = runtime.wiring();
        return wiring.dynamo().getItem(b -> b.tableName("members").consistentRead(true).key(Map.of(
                "pk", AttributeValue.fromS("ACCT#" + accountId + "#GRP#" + groupId),
                "sk", AttributeValue.fromS(phone)))).item();
    }

    @Test
    void memberCountStaysExactUnderConcurrentAddsAndRemoves(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Concurrency Co");
        String g = createGroup(a, "Busy");
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) batch.add(member(phone(i), null));
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Future<ApiClient.Response>> results = new ArrayList<>();
            // four overlapping adds of the same 300 numbers, and removals of 0..99 racing with them
            for (int t = 0; t < 4; t++) results.add(pool.submit(() -> a.post("/v1/groups/" + g + "/members", Map.of("members", batch))));
            for (int i = 0; i < 100; i++) {
                String p = phone(i).replace("+", "%2B");
                results.add(pool.submit(() -> a.delete("/v1/groups/" + g + "/members/" + p)));
            }
            // and two batch removals of 50..149, overlapping the single ones and each other
            for (int t = 0; t < 2; t++) {
                results.add(pool.submit(() -> a.post("/v1/groups/" + g + "/members/remove", Map.of("members", batch.subList(50, 150)))));
            }
            long added = 0;
            for (var f : results) {
                var r = f.get();
                assertThat(r.status()).as(r.body()).isIn(200, 204, 404);
                if (r.status() == 200 && r.jsonObject().containsKey("added")) added += ((Number) r.jsonObject().get("added")).longValue();
            }
            assertThat(added).isGreaterThanOrEqualTo(300);
        }
        List<String> present = allMemberPhones(a, g, null);
        assertThat(present).doesNotHaveDuplicates();
        assertThat(memberCount(a, g)).isEqualTo(present.size());
        assertThat(present.size()).isBetween(150, 300);
    }

    @Test
    void membersAreRemovedInBatchesWithEachEntryAccountedFor(ApiClient api) {
        ApiClient a = api.forNewAccount("Batch Removal Co");
        String g = createGroup(a, "Leavers");
        List<Map<String, Object>> everyone = new ArrayList<>();
        for (int i = 0; i < 250; i++) everyone.add(member(phone(i), "M" + i));
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", everyone)).status()).isEqualTo(200);

        // 200 of them (over two transactions' worth), one in national form, one twice, a stranger, a bad number,
        // and a name that is taken and ignored
        List<Object> leaving = new ArrayList<>(everyone.subList(0, 199));
        String national = phone(199).substring(2); // +1 dropped
        leaving.add(Map.of("phone", national, "country", "US"));
        leaving.add(Map.of("phone", phone(0), "name", "x".repeat(300))); // a name is not read: no limit applies
        leaving.add(member("+14155550999", null));
        leaving.add(member("12", null));
        var removed = a.post("/v1/groups/" + g + "/members/remove", Map.of("members", leaving));
        assertThat(removed.status()).as(removed.body()).isEqualTo(200);
        assertThat(removed.jsonObject()).containsEntry("removed", 200).containsEntry("notMembers", 2);
        assertThat(removed.jsonObject().get("invalid")).asList().singleElement()
                .satisfies(e -> assertThat(Json.write(e)).contains("\"index\":202").contains("\"phone\":\"12\""));
        assertThat(memberCount(a, g)).isEqualTo(50);
        List<String> present = allMemberPhones(a, g, null);
        assertThat(present).hasSize(50).doesNotContain(phone(0), phone(199)).contains(phone(200), phone(249));

        // again: nothing more is removed, and it says so
        var again = a.post("/v1/groups/" + g + "/members/remove", Map.of("members", leaving));
        assertThat(again.jsonObject()).containsEntry("removed", 0).containsEntry("notMembers", 202);
        assertThat(memberCount(a, g)).isEqualTo(50);

        // the rules of adding: 1..1000 entries, an object per entry, a group of this account
        assertThat(a.post("/v1/groups/" + g + "/members/remove", Map.of("members", List.of())).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/" + g + "/members/remove", Map.of("phones", List.of(phone(200)))).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/grp_nope/members/remove", Map.of("members", List.of(member(phone(200), null)))).status()).isEqualTo(404);
        assertThat(api.forNewAccount("Other Co").post("/v1/groups/" + g + "/members/remove",
                Map.of("members", List.of(member(phone(200), null)))).status()).isEqualTo(404);
        assertThat(memberCount(a, g)).isEqualTo(50);
        // its route takes POST only; another method is said so, not read as a member named "remove"
        for (var wrong : List.of(a.get("/v1/groups/" + g + "/members/remove"), a.delete("/v1/groups/" + g + "/members/remove"))) {
            assertThat(wrong.status()).isEqualTo(404);
            assertThat(wrong.errorCode()).isEqualTo("not_found");
            assertThat(wrong.body()).contains("POST removes members");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theMemberListSaysWhoHasOptedOutOfALine(ApiClient api) {
        ApiClient a = api.forNewAccount("Member Opt-outs Co");
        String g = createGroup(a, "Opt-out view");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member("+14155550801", "Ann"),
                member("+14155550802", "Bob"), member("+14155550803", "Cat")))).status()).isEqualTo(200);
        String lineId = MessagesE2eTest.createLine(a, MessagesE2eTest.linePhone(), 10);
        String otherLine = MessagesE2eTest.createLine(a, MessagesE2eTest.linePhone(), 10);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550802")).status()).isEqualTo(201);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", otherLine, "phone", "+14155550803")).status()).isEqualTo(201);

        var items = (List<Map<String, Object>>) a.get("/v1/groups/" + g + "/members?lineId=" + lineId).jsonObject().get("items");
        assertThat(items).extracting(m -> m.get("phone") + "=" + m.get("optedOut"))
                .containsExactly("+14155550801=false", "+14155550802=true", "+14155550803=false");
        // with a search and a page; without lineId members are as API.md shows them
        var page = (List<Map<String, Object>>) a.get("/v1/groups/" + g + "/members?lineId=" + otherLine + "&search=cat&limit=1")
                .jsonObject().get("items");
        assertThat(page).singleElement().satisfies(m -> assertThat(m).containsEntry("optedOut", true).containsEntry("name", "Cat"));
        assertThat((List<Map<String, Object>>) a.get("/v1/groups/" + g + "/members").jsonObject().get("items"))
                .allSatisfy(m -> assertThat(m).containsOnlyKeys("phone", "name", "addedAt"));
        // another account's line, or none, is a 400; so is an id longer than any (not a 500 from DynamoDB's key limit)
        String theirs = MessagesE2eTest.createLine(api.forNewAccount("Their Line Co"), MessagesE2eTest.linePhone(), 10);
        for (String bad : List.of(theirs, "line_nope")) {
            var r = a.get("/v1/groups/" + g + "/members?lineId=" + bad);
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.body()).contains("lineId: no such line in this account");
        }
        var tooLong = a.get("/v1/groups/" + g + "/members?lineId=line_" + "x".repeat(1500));
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.body()).contains("lineId: no id is 1505 characters long");
    }

    @Test
    @SuppressWarnings("unchecked")
    void groupsAreFoundByAPartOfTheirNameIgnoringCaseAndAccentsAlsoWithAMember(ApiClient api) {
        ApiClient a = api.forNewAccount("Group Search Co");
        String choir = createGroup(a, "Église Choir");
        String youth = createGroup(a, "Youth choir (Sundays)");
        createGroup(a, "Volunteers");
        String cafe = createGroup(a, "Cafe\u0301 regulars");
        Function<String, List<Object>> ids = query -> {
            var r = a.get("/v1/groups?" + query);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            return ((List<Map<String, Object>>) r.jsonObject().get("items")).stream().map(g -> g.get("id")).toList();
        };
        assertThat(ids.apply("search=CHOIR")).containsExactly(choir, youth);
        assertThat(ids.apply("search=eglise")).containsExactly(choir);
        assertThat(ids.apply("search=%C3%A9glise")).containsExactly(choir);
        assertThat(ids.apply("search=caf%C3%A9")).containsExactly(cafe);
        assertThat(ids.apply("search=%20%20")).hasSize(4); // blank: no filter
        assertThat(ids.apply("search=orchestra")).isEmpty();
        assertThat(ids.apply("search=%CC%81")).as("folds to nothing: no name has it").isEmpty();
        // a page at a time, the cursor given only when another follows
        var page1 = a.get("/v1/groups?search=choir&limit=1").jsonObject();
        assertThat((List<Map<String, Object>>) page1.get("items")).extracting(g -> g.get("id")).containsExactly(choir);
        var page2 = a.get("/v1/groups?search=choir&limit=1&cursor=" + page1.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) page2.get("items")).extracting(g -> g.get("id")).containsExactly(youth);
        assertThat(page2.get("nextCursor")).isNull();
        // with member=: the groups of that number whose name matches
        assertThat(a.post("/v1/groups/" + youth + "/members", Map.of("members", List.of(member("+14155550790", "Lee")))).status()).isEqualTo(200);
        assertThat(a.post("/v1/groups/" + cafe + "/members", Map.of("members", List.of(member("+14155550790", "Lee")))).status()).isEqualTo(200);
        assertThat(ids.apply("search=choir&member=%2B14155550790")).containsExactly(youth);
        // too long a search is a 400; another account finds none of these
        var tooLong = a.get("/v1/groups?search=" + "x".repeat(101));
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.body()).contains("search must be at most 100 characters");
        assertThat((List<?>) api.forNewAccount("Other Search Co").get("/v1/groups?search=choir").jsonObject().get("items")).isEmpty();
    }

    @Test
    @SuppressWarnings("unchecked")
    void theGroupsANumberIsAMemberOfAreListedPageByPage(ApiClient api) {
        ApiClient a = api.forNewAccount("Member Of Co");
        String first = createGroup(a, "Choir");
        String second = createGroup(a, "Band");
        String third = createGroup(a, "Crew");
        String kim = "+14155550777";
        for (String g : List.of(first, second, third)) {
            assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member(kim, "Kim")))).status()).isEqualTo(200);
        }
        assertThat(a.delete("/v1/groups/" + second + "/members/%2B14155550777").status()).isEqualTo(204);
        assertThat(a.post("/v1/groups/" + second + "/members", Map.of("members", List.of(member("+14155550778", null)))).status()).isEqualTo(200);

        var all = a.get("/v1/groups?member=%2B14155550777");
        assertThat(all.status()).as(all.body()).isEqualTo(200);
        assertThat((List<Map<String, Object>>) all.jsonObject().get("items")).extracting(g -> g.get("id")).containsExactly(first, third);
        assertThat(all.jsonObject().get("nextCursor")).isNull();
        // national, with its country; a page at a time
        var page1 = a.get("/v1/groups?member=415-555-0777&country=US&limit=1").jsonObject();
        assertThat((List<Map<String, Object>>) page1.get("items")).extracting(g -> g.get("id")).containsExactly(first);
        String cursor = (String) page1.get("nextCursor");
        assertThat(cursor).isNotNull();
        var page2 = a.get("/v1/groups?member=415-555-0777&country=US&limit=1&cursor=" + cursor).jsonObject();
        assertThat((List<Map<String, Object>>) page2.get("items")).extracting(g -> g.get("id")).containsExactly(third);
        assertThat(page2.get("nextCursor")).as("no cursor to an empty page").isNull();
        // nobody's groups; a bad number; another account sees none of these
        assertThat((List<?>) a.get("/v1/groups?member=%2B14155550779").jsonObject().get("items")).isEmpty();
        var bad = a.get("/v1/groups?member=12");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("member: ");
        // another account with Kim in a group of its own sees that one only
        ApiClient stranger = api.forNewAccount("Stranger Co");
        String theirs = createGroup(stranger, "Theirs");
        assertThat(stranger.post("/v1/groups/" + theirs + "/members", Map.of("members", List.of(member(kim, "Kim")))).status()).isEqualTo(200);
        createGroup(stranger, "Theirs without Kim");
        assertThat((List<Map<String, Object>>) stranger.get("/v1/groups?member=%2B14155550777").jsonObject().get("items"))
                .extracting(g -> g.get("id")).containsExactly(theirs);
    }

    /**
     * An account with more groups than one request reads in its time: the removal answers with where it stopped, and
     * going on from there takes the number out of every group once (a clock that jumps 20 s a removal stands in for
     * the hours of groups, or removals slowed by throttling: it stops part way through a page).
     */
    @Test
    void aRemovalFromAllGroupsThatRunsOutOfTimeGoesOnFromWhereItStopped(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Many Groups Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var service = new groupmsg.groups.GroupService(runtime.wiring());
        List<String> groups = new ArrayList<>();
        for (int i = 0; i < 130; i++) groups.add(service.create(accountId, "Group " + i, null).id());
        String kim = "+14155550799";
        service.addToGroups(accountId, kim, "Kim", groups.subList(0, 100));
        service.addToGroups(accountId, kim, "Kim", groups.subList(100, 130));
        var slow = new groupmsg.groups.GroupService(transactionsTaking(runtime,
                new java.util.concurrent.atomic.AtomicLong(System.currentTimeMillis()), 20_000));
        List<String> removed = new ArrayList<>();
        var first = slow.removeFromAllGroups(accountId, kim, null);
        first.changed().forEach(g -> removed.add(g.id()));
        assertThat(first.next()).as("stopped with groups left").isNotNull();
        assertThat(removed).as("the first removal took it past its time").hasSize(1);
        var rest = service.removeFromAllGroups(accountId, kim, first.next());
        rest.changed().forEach(g -> removed.add(g.id()));
        assertThat(rest.next()).isNull();
        assertThat(removed).containsExactlyElementsOf(groups);
        assertThat((List<?>) a.get("/v1/groups?member=%2B14155550799").jsonObject().get("items")).isEmpty();
        // through the API: the cursor is the account's own
        var r = a.post("/v1/members/remove", Map.of("phone", kim, "cursor", "bm90LWEtY3Vyc29y"));
        assertThat(r.status()).isEqualTo(400);
        assertThat(a.post("/v1/members/remove", Map.of("phone", kim)).jsonObject()).containsEntry("nextCursor", null)
                .containsEntry("removedFrom", List.of());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGroupIsCreatedWithItsFirstMembersInOneRequest(ApiClient api) {
        ApiClient a = api.forNewAccount("Founding Members Co");
        var body = Map.of("name", "Founders", "members", List.of(member("+14155550791", "Ann"), member("+14155550792", null),
                Map.of("phone", "(415) 555-0793", "country", "US"), member("+14155550791", "Ann B"), member("12", "Bad")));
        var created = a.withHeader("Idempotency-Key", "founders-1").post("/v1/groups", body);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String g = (String) created.jsonObject().get("id");
        assertThat(created.jsonObject()).containsEntry("name", "Founders").containsEntry("memberCount", 3);
        var members = (Map<String, Object>) created.jsonObject().get("members");
        assertThat(members).containsEntry("added", 3).containsEntry("alreadyMembers", 1).containsEntry("updated", 0);
        assertThat((List<Map<String, Object>>) members.get("invalid")).extracting(e -> e.get("index")).containsExactly(4);
        assertThat(a.get("/v1/groups/" + g + "/members/%2B14155550791").jsonObject()).as("the later entry's name")
                .containsEntry("name", "Ann B");
        var replayed = a.withHeader("Idempotency-Key", "founders-1").post("/v1/groups", body);
        assertThat(replayed.status()).isEqualTo(201);
        assertThat(replayed.jsonObject().get("id")).isEqualTo(g);
        assertThat(memberCount(a, g)).isEqualTo(3);

        var empty = a.post("/v1/groups", Map.of("name", "Nobody yet", "members", List.of()));
        assertThat(empty.status()).as(empty.body()).isEqualTo(201);
        assertThat(empty.jsonObject()).containsEntry("memberCount", 0)
                .containsEntry("members", Map.of("added", 0, "alreadyMembers", 0, "updated", 0, "invalid", List.of()));
        assertThat(a.post("/v1/groups", Map.of("name", "Plain")).jsonObject()).doesNotContainKey("members");

        List<Object> tooMany = new ArrayList<>();
        for (int i = 0; i < 1001; i++) tooMany.add(member(String.format("+1415556%04d", i), null));
        for (Object bad : List.of("+14155550791", tooMany, Map.of("phone", "+14155550791"))) {
            var r = a.post("/v1/groups", Map.of("name", "Refused", "members", bad));
            assertThat(r.status()).as(r.body()).isEqualTo(400);
        }
        assertThat((List<?>) a.get("/v1/groups?search=refused").jsonObject().get("items")).as("nothing created").isEmpty();
    }

    @SuppressWarnings("unchecked")
    private static List<String> ids(Map<String, Object> answer, String field) {
        return ((List<Map<String, Object>>) answer.get(field)).stream().map(g -> (String) g.get("id")).toList();
    }

    /** A group deleted while a number is added to several is in neither list (it was reported under alreadyIn). */
    @Test
    void aGroupDeletedWhileANumberIsAddedToSeveralIsInNeitherList(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Deleted Meanwhile Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String choir = createGroup(a, "Choir");
        String crew = createGroup(a, "Crew");
        var deletesCrew = runtime.wiringWith(groupmsg.local.JustBefore.transaction(tx -> tx.toString().contains("#GRP#" + crew),
                () -> assertThat(a.delete("/v1/groups/" + crew).status()).isEqualTo(204)));
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var result = new groupmsg.groups.GroupService(deletesCrew, queue).addToGroups(accountId, "+14155550786", "Kim",
                List.of(choir, crew));
        assertThat(result.changed()).extracting(groupmsg.groups.Group::id).containsExactly(choir);
        assertThat(result.unchanged()).as("not already in a group that is gone").isEmpty();
        assertThat(a.get("/v1/groups/" + crew).status()).isEqualTo(404);
    }

    @Test
    @SuppressWarnings("unchecked")
    void oneNumberIsAddedToSeveralGroupsAndRemovedFromAllOfThem(ApiClient api) {
        ApiClient a = api.forNewAccount("Person Co");
        String choir = createGroup(a, "Choir");
        String band = createGroup(a, "Band");
        String crew = createGroup(a, "Crew");
        String kim = "+14155550787", lee = "+14155550788";
        assertThat(a.post("/v1/groups/" + band + "/members", Map.of("members", List.of(member(lee, "Lee")))).status()).isEqualTo(200);
        ApiClient stranger = api.forNewAccount("Other Person Co");
        String theirs = createGroup(stranger, "Theirs");
        assertThat(stranger.post("/v1/groups/" + theirs + "/members", Map.of("members", List.of(member(kim, "Kim")))).status()).isEqualTo(200);

        var added = a.post("/v1/members", Map.of("phone", "(415) 555-0787", "country", "US", "name", "Kim",
                "groupIds", List.of(choir, crew, choir)));
        assertThat(added.status()).as(added.body()).isEqualTo(200);
        assertThat(added.jsonObject()).containsEntry("phone", kim);
        assertThat(ids(added.jsonObject(), "addedTo")).containsExactly(choir, crew);
        assertThat(ids(added.jsonObject(), "alreadyIn")).isEmpty();
        assertThat(a.get("/v1/groups/" + choir + "/members/%2B14155550787").jsonObject()).containsEntry("name", "Kim");
        assertThat(memberCount(a, choir)).isEqualTo(1);
        // again: nothing more; with another name: renamed where it is
        var again = a.post("/v1/members", Map.of("phone", kim, "groupIds", List.of(choir, crew, band))).jsonObject();
        assertThat(ids(again, "addedTo")).containsExactly(band);
        assertThat(ids(again, "alreadyIn")).containsExactly(choir, crew);
        var renamed = a.post("/v1/members", Map.of("phone", kim, "name", "Kim Park", "groupIds", List.of(crew))).jsonObject();
        assertThat(ids(renamed, "addedTo")).containsExactly(crew);
        assertThat(a.get("/v1/groups/" + crew + "/members/%2B14155550787").jsonObject()).containsEntry("name", "Kim Park");
        assertThat(memberCount(a, crew)).isEqualTo(1);

        // one group that is not the account's: a 400 naming it, and nothing added anywhere
        String fresh = createGroup(a, "Fresh");
        for (String wrong : List.of(theirs, "grp_01JDNOSUCHGROUP000000000000", "nope")) {
            var r = a.post("/v1/members", Map.of("phone", "+14155550789", "groupIds", List.of(fresh, wrong)));
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            assertThat(r.body()).contains(wrong);
        }
        assertThat(memberCount(a, fresh)).isZero();

        // out of chosen groups only (an extension): those it was in, and those it was not
        var chosen = a.post("/v1/members/remove", Map.of("phone", kim, "groupIds", List.of(band, fresh, band)));
        assertThat(chosen.status()).as(chosen.body()).isEqualTo(200);
        assertThat(ids(chosen.jsonObject(), "removedFrom")).containsExactly(band);
        assertThat(ids(chosen.jsonObject(), "notIn")).containsExactly(fresh);
        assertThat(chosen.jsonObject()).doesNotContainKey("nextCursor");
        // null is no "every group" (written out: the client leaves null fields out)
        var nullGroups = a.send("POST", "/v1/members/remove", "application/json", "{\"phone\":\"" + kim + "\",\"groupIds\":null}");
        assertThat(nullGroups.status()).as(nullGroups.body()).isEqualTo(400);
        assertThat(nullGroups.body()).contains("groupIds");
        assertThat(memberCount(a, band)).as("Lee stays").isEqualTo(1);
        for (Map<String, Object> bad : List.of(Map.<String, Object>of("phone", kim, "groupIds", List.of(choir, theirs)),
                Map.<String, Object>of("phone", kim, "groupIds", List.of()),
                Map.<String, Object>of("phone", kim, "groupIds", List.of(choir), "cursor", "bm90LWEtY3Vyc29y"))) {
            var r = a.post("/v1/members/remove", bad);
            assertThat(r.status()).as(bad.toString()).isEqualTo(400);
        }
        assertThat(memberCount(a, choir)).as("nothing removed by a refused request").isEqualTo(1);
        assertThat(a.post("/v1/groups/" + band + "/members", Map.of("members", List.of(member(kim, null)))).status()).isEqualTo(200);

        var removed = a.post("/v1/members/remove", Map.of("phone", kim));
        assertThat(removed.status()).as(removed.body()).isEqualTo(200);
        assertThat(ids(removed.jsonObject(), "removedFrom")).containsExactly(choir, band, crew);
        assertThat(((List<Map<String, Object>>) (List<?>) removed.jsonObject().get("removedFrom")).getFirst()).containsEntry("name", "Choir");
        assertThat((List<?>) a.get("/v1/groups?member=%2B14155550787").jsonObject().get("items")).isEmpty();
        assertThat(memberCount(a, choir)).isZero();
        assertThat(memberCount(a, band)).as("Lee stays").isEqualTo(1);
        assertThat(a.get("/v1/groups/" + band + "/members/%2B14155550788").status()).isEqualTo(200);
        assertThat(ids(a.post("/v1/members/remove", Map.of("phone", "415 555 0787", "country", "US")).jsonObject(), "removedFrom"))
                .as("a retry removes nothing more").isEmpty();
        assertThat(stranger.get("/v1/groups/" + theirs + "/members/%2B14155550787").status()).as("another account's").isEqualTo(200);

        for (Map<String, Object> bad : List.of(Map.<String, Object>of("phone", "12"), Map.<String, Object>of("phone", "+14155550787", "extra", 1),
                Map.<String, Object>of())) {
            assertThat(a.post("/v1/members/remove", bad).status()).as(bad.toString()).isEqualTo(400);
        }
        List<String> tooMany = new ArrayList<>();
        for (int i = 0; i < 101; i++) tooMany.add(choir);
        for (Map<String, Object> bad : List.of(Map.<String, Object>of("phone", kim), Map.<String, Object>of("phone", kim, "groupIds", List.of()),
                Map.<String, Object>of("phone", kim, "groupIds", tooMany), Map.<String, Object>of("phone", "12", "groupIds", List.of(choir)),
                Map.<String, Object>of("phone", kim, "groupIds", List.of(choir), "name", "Two\nlines"))) {
            assertThat(a.post("/v1/members", bad).status()).as(bad.toString()).isEqualTo(400);
        }
        assertThat(memberCount(a, choir)).isZero();
    }

    /**
     * Many removals of one group at once (a black-box review ran 40 at a time): each is answered 204/200, 404 (gone
     * already) or, having lost to the others every time, 409 to retry; never a 500, and the count stays exact.
     */
    @Test
    void manyRemovalsAtOnceAreAnsweredAndKeepTheCountExact(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Crowded Removals Co");
        String g = createGroup(a, "Crowd");
        List<Map<String, Object>> everyone = new ArrayList<>();
        for (int i = 0; i < 200; i++) everyone.add(member(phone(i), null));
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", everyone)).status()).isEqualTo(200);
        List<ApiClient.Response> answers = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(40)) {
            List<Future<ApiClient.Response>> results = new ArrayList<>();
            for (int b = 0; b < 20; b++) {
                var batch = everyone.subList(b * 10, b * 10 + 10);
                results.add(pool.submit(() -> a.post("/v1/groups/" + g + "/members/remove", Map.of("members", batch))));
            }
            for (int i = 0; i < 200; i++) {
                String p = phone(i).replace("+", "%2B");
                results.add(pool.submit(() -> a.delete("/v1/groups/" + g + "/members/" + p)));
            }
            for (var f : results) answers.add(f.get());
        }
        assertThat(answers).allSatisfy(r -> assertThat(r.status()).as(r.body()).isIn(200, 204, 404, 409));
        assertThat(answers).filteredOn(r -> r.status() == 409)
                .allSatisfy(r -> assertThat(r.body()).contains("retry the request"));
        List<String> present = allMemberPhones(a, g, null);
        assertThat(memberCount(a, g)).isEqualTo(present.size());
    }

    /**
     * A change that loses to others at every attempt (played by making the group counter's condition fail each
     * time) is a 409 to retry, and writes nothing; before, it was a 500.
     */
    @Test
    void aMembershipChangeThatAlwaysLosesIsA409ToRetryAndWritesNothing(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Always Losing Co");
        String g = createGroup(a, "Contested");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member(phone(1), null), member(phone(2), null)))).status())
                .isEqualTo(200);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        // the first counter update of the group goes through when let (a batch's first unit), the rest lose
        var letFirst = new java.util.concurrent.atomic.AtomicBoolean(false);
        var losing = new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public software.amazon.awssdk.core.SdkRequest modifyRequest(software.amazon.awssdk.core.interceptor.Context.ModifyRequest context,
                                                                      software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (!(context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest t)) return context.request();
                if (letFirst.getAndSet(false)) return t;
                var items = t.transactItems().stream().map(i -> i.update() != null && i.update().updateExpression().startsWith("ADD memberCount")
                        ? i.toBuilder().update(i.update().toBuilder().conditionExpression("attribute_not_exists(pk)").build()).build()
                        : i).toList();
                return t.toBuilder().transactItems(items).build();
            }
        };
        var wiring = runtime.wiringWith(losing);
        var groups = new groupmsg.groups.GroupService(wiring);
        for (Runnable change : List.<Runnable>of(
                () -> groups.removeMember(accountId, g, phone(1)),
                () -> groups.removeMembers(accountId, g, List.of(new groupmsg.groups.GroupService.MemberInput(phone(2), null, null))),
                () -> groups.addMembers(accountId, g, List.of(new groupmsg.groups.GroupService.MemberInput(phone(3), null, null))))) {
            try {
                change.run();
                throw new AssertionError("the change went through");
            } catch (groupmsg.platform.api.ApiException e) {
                assertThat(e.code().name()).isEqualTo("CONFLICT");
                assertThat(e.getMessage()).contains("retry the request");
                assertThat(e.isAfterPartOfTheWork()).as("nothing done: its Idempotency-Key is let go").isFalse();
            }
        }
        assertThat(allMemberPhones(a, g, null)).containsExactlyInAnyOrder(phone(1), phone(2));
        assertThat(memberCount(a, g)).isEqualTo(2);

        // a batch of two units whose second loses every time: the first stands, and the 409 says so
        String big = createGroup(a, "Contested big");
        List<Map<String, Object>> many = new ArrayList<>();
        List<groupmsg.groups.GroupService.MemberInput> leaving = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            many.add(member(phone(100 + i), null));
            leaving.add(new groupmsg.groups.GroupService.MemberInput(phone(100 + i), null, null));
        }
        assertThat(a.post("/v1/groups/" + big + "/members", Map.of("members", many)).status()).isEqualTo(200);
        letFirst.set(true);
        try {
            groups.removeMembers(accountId, big, leaving);
            throw new AssertionError("the removal went through");
        } catch (groupmsg.platform.api.ApiException e) {
            assertThat(e.code().name()).isEqualTo("CONFLICT");
            assertThat(e.getMessage()).contains("retry the request (98 of the numbers were removed before it");
            // part of it done: under an Idempotency-Key its claim is kept for the retry (another body meets a 409)
            assertThat(e.isAfterPartOfTheWork()).isTrue();
        }
        assertThat(memberCount(a, big)).isEqualTo(22);
        assertThat(allMemberPhones(a, big, null)).hasSize(22);
    }

    @Test
    void badInputGetsA4xxAndChangesNothing(ApiClient api) {
        ApiClient a = api.forNewAccount("Bad Input Co");
        String g = createGroup(a, "Team");
        assertThat(a.send("POST", "/v1/groups", "application/json", "{\"name\":").errorCode()).isEqualTo("invalid_request");
        assertThat(a.send("POST", "/v1/groups", "application/json", "").status()).isEqualTo(400);
        assertThat(a.send("POST", "/v1/groups", "application/json", "[]").status()).isEqualTo(400);
        var trailing = a.send("POST", "/v1/groups", "application/json", "{\"name\":\"trail\"} garbage");
        assertThat(trailing.status()).isEqualTo(400);
        assertThat(trailing.errorCode()).isEqualTo("invalid_request");
        // the contract's error shape: details always there, empty when a message says it all
        @SuppressWarnings("unchecked") var error = (Map<String, Object>) trailing.jsonObject().get("error");
        assertThat(error).containsEntry("details", List.of()).containsKey("message");
        assertThat(a.send("POST", "/v1/groups", "application/json", "{\"name\":\"a\"}{\"name\":\"b\"}").status()).isEqualTo(400);
        assertThat(a.send("POST", "/v1/groups", "application/json", "{\"name\":\"spaced\"} \n").status()).isEqualTo(201);
        assertThat(a.post("/v1/groups", Map.of("name", 42)).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups", Map.of("name", "x".repeat(101))).status()).isEqualTo(400);
        // 60 characters that are 120 once kept in NFC: too long as kept, and nothing is created
        var expanding = a.post("/v1/groups", Map.of("name", "\u0958".repeat(60)));
        assertThat(expanding.status()).as(expanding.body()).isEqualTo(400);
        assertThat(expanding.body()).contains("as it is kept");
        var escaped = a.post("/v1/groups", Map.of("name", "Team\u0000Red"));
        assertThat(escaped.status()).as(escaped.body()).isEqualTo(400);
        assertThat(escaped.body()).contains("must not contain control characters");
        assertThat(a.post("/v1/groups", Map.of("name", "ok", "colour", "red")).status()).isEqualTo(400);
        // JSON is read as JSON whatever the content type says (curl -d sends a form type, fetch a text one)
        var asText = a.send("POST", "/v1/groups", "text/plain;charset=UTF-8", "{\"name\":\"sent as text\"}");
        assertThat(asText.status()).as(asText.body()).isEqualTo(201);
        assertThat(a.send("POST", "/v1/groups", "application/x-www-form-urlencoded", "{\"name\":\"sent as a form\"}").status()).isEqualTo(201);
        // ... and for an Idempotency-Key the same object is the same request under any type and spacing
        ApiClient keyed = a.withHeader("Idempotency-Key", "typed-" + System.nanoTime());
        var typed = keyed.send("POST", "/v1/groups", "application/json", "{\"name\":\"typed once\"}");
        assertThat(typed.status()).as(typed.body()).isEqualTo(201);
        var retyped = keyed.send("POST", "/v1/groups", "text/plain", "{ \"name\": \"typed once\" }");
        assertThat(retyped.status()).as(retyped.body()).isEqualTo(201);
        assertThat(retyped.jsonObject().get("id")).isEqualTo(typed.jsonObject().get("id"));
        assertThat(keyed.send("POST", "/v1/groups", "text/plain", "{\"name\":\"typed twice\"}").status()).isEqualTo(409);
        var form = a.send("POST", "/v1/groups", "application/x-www-form-urlencoded", "name=x");
        assertThat(form.status()).isEqualTo(400);
        assertThat(form.errorCode()).isEqualTo("invalid_request");
        assertThat(form.body()).contains("application/x-www-form-urlencoded");
        var huge = a.send("POST", "/v1/groups", "application/json",
                "{\"name\":\"x\",\"description\":\"" + "y".repeat(2_100_000) + "\"}");
        assertThat(huge.status()).isEqualTo(413);
        assertThat(huge.errorCode()).isEqualTo("payload_too_large");
        assertThat(a.send("POST", "/v1/groups", "application/json", new byte[]{(byte) 0xC3, (byte) 0x28}).status()).isEqualTo(400);
        // bad bytes inside an otherwise well-formed JSON string are refused too, not stored as U+FFFD
        var badBytes = a.send("POST", "/v1/groups", "application/json",
                new byte[]{'{', '"', 'n', 'a', 'm', 'e', '"', ':', '"', (byte) 0xFF, (byte) 0xFE, 'x', '"', '}'});
        assertThat(badBytes.status()).isEqualTo(400);
        assertThat(badBytes.body()).contains("UTF-8");
        // and so is the replacement character a lenient gateway would have put in their place
        var replaced = a.send("POST", "/v1/groups", "application/json", "{\"name\":\"Ren\uFFFDe\"}");
        assertThat(replaced.status()).isEqualTo(400);
        assertThat(replaced.body()).contains("U+FFFD, the replacement character").doesNotContain("not valid UTF-8");
        var notFound = a.get("/v1/nothing/here");
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.errorCode()).isEqualTo("not_found");

        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", "+14155550123")).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of()).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of())).status()).isEqualTo(400);
        List<Map<String, Object>> tooMany = new ArrayList<>();
        for (int i = 0; i < 1001; i++) tooMany.add(member(phone(i), null));
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", tooMany)).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/grp_nope/members", Map.of("members", List.of(member(phone(1), null)))).status()).isEqualTo(404);
        assertThat(a.patch("/v1/groups/" + g, Map.of()).status()).isEqualTo(400);

        assertThat(memberCount(a, g)).isZero();
        assertThat(items(a.get("/v1/groups"))).extracting(x -> x.get("name")).containsExactlyInAnyOrder("Team", "spaced", "sent as text", "sent as a form",
                "typed once");
    }

    @Test
    void anotherAccountsGroupIsNotFound(ApiClient api) {
        ApiClient a = api.forNewAccount("Tenant A");
        ApiClient b = api.forNewAccount("Tenant B");
        String g = createGroup(a, "Private");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member(phone(7), "Secret"))));
        assertThat(b.get("/v1/groups/" + g).status()).isEqualTo(404);
        assertThat(b.get("/v1/groups/" + g + "/members").status()).isEqualTo(404);
        assertThat(b.patch("/v1/groups/" + g, Map.of("name", "mine")).status()).isEqualTo(404);
        assertThat(b.delete("/v1/groups/" + g + "/members/%2B14155550007").status()).isEqualTo(404);
        assertThat(b.delete("/v1/groups/" + g).status()).isEqualTo(404);
        assertThat(b.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member(phone(8), null)))).status()).isEqualTo(404);
        assertThat(items(b.get("/v1/groups"))).isEmpty();
        assertThat(memberCount(a, g)).isEqualTo(1);
        // a cursor from account A's list is refused by account B, not followed into A's partition
        a.post("/v1/groups", Map.of("name", "Second"));
        String cursor = (String) a.get("/v1/groups?limit=1").jsonObject().get("nextCursor");
        assertThat(b.get("/v1/groups?cursor=" + cursor).status()).isEqualTo(400);
    }

    @Test
    void idempotencyKeyReplaysTheOriginalAndRefusesADifferentBody(ApiClient api) {
        ApiClient a = api.forNewAccount("Idem Co").withHeader("Idempotency-Key", "grp-create-1");
        var first = a.post("/v1/groups", Map.of("name", "Once"));
        var second = a.post("/v1/groups", Map.of("name", "Once"));
        assertThat(first.status()).isEqualTo(201);
        assertThat(second.status()).isEqualTo(201);
        assertThat(second.body()).isEqualTo(first.body());
        assertThat(second.header("idempotent-replayed")).isEqualTo("true");
        // the same object spelt differently (spacing, key order) is the same request
        var respelt = a.send("POST", "/v1/groups", "application/json; charset=utf-8", "{ \"name\" :  \"Once\" }\n");
        assertThat(respelt.status()).isEqualTo(201);
        assertThat(respelt.body()).isEqualTo(first.body());
        var b = api.forNewAccount("Idem Order Co").withHeader("Idempotency-Key", "grp-create-2");
        var ordered = b.send("POST", "/v1/groups", "application/json", "{\"name\":\"Kept\",\"description\":\"d\"}");
        var reordered = b.send("POST", "/v1/groups", "application/json", "{\"description\":\"d\",\"name\":\"Kept\"}");
        assertThat(reordered.status()).isEqualTo(201);
        assertThat(reordered.body()).isEqualTo(ordered.body());
        assertThat(b.send("POST", "/v1/groups", "application/json", "{\"description\":\"e\",\"name\":\"Kept\"}").status()).isEqualTo(409);
        var different = a.post("/v1/groups", Map.of("name", "Twice"));
        assertThat(different.status()).isEqualTo(409);
        assertThat(items(a.get("/v1/groups"))).hasSize(1);
    }

    @Test
    void anIdempotencyKeyUsedOnAnotherRouteOrPathIsAConflictAndRunsNothing(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Idem Paths Co");
        String g1 = createGroup(a, "First");
        String g2 = createGroup(a, "Second");
        MessagesE2eTest.addMembers(a, g1, 4200, 2);
        MessagesE2eTest.addMembers(a, g2, 4210, 2);
        String line = MessagesE2eTest.createLine(a, MessagesE2eTest.linePhone(), 100);
        var keyed = a.withHeader("Idempotency-Key", "one-key");
        var body = Map.of("lineId", line, "sender", "Ops", "title", "t", "body", "Only once");
        assertThat(keyed.post("/v1/groups/" + g1 + "/messages", body).status()).isEqualTo(202);
        var other = keyed.post("/v1/groups/" + g2 + "/messages", body);
        assertThat(other.status()).as("the same message to another group").isEqualTo(409);
        assertThat(other.body()).contains("another route or path");
        assertThat(items(a.get("/v1/messages?groupId=" + g2))).isEmpty();
        assertThat(keyed.post("/v1/lines", Map.of("phone", MessagesE2eTest.linePhone(), "type", "long_code",
                "groupMessaging", false)).status()).as("another route").isEqualTo(409);
        assertThat(items(a.get("/v1/lines"))).hasSize(1);
        assertThat(keyed.post("/v1/groups/" + g1 + "/messages", body).header("idempotent-replayed")).isEqualTo("true");

        // a key whose only request was refused (a mistyped group's 404) runs the corrected request on its path, which
        // it is then bound to
        var fresh = a.withHeader("Idempotency-Key", "refused-first");
        var typo = Map.of("lineId", line, "sender", "Ops", "title", "t", "body", "Once, to the right group");
        assertThat(fresh.post("/v1/groups/grp_typo/messages", typo).status()).isEqualTo(404);
        assertThat(fresh.post("/v1/groups/" + g2 + "/messages", typo).status()).isEqualTo(202);
        assertThat(items(a.get("/v1/messages?groupId=" + g2))).hasSize(1);
        assertThat(fresh.post("/v1/groups", Map.of("name", "Fixed")).status()).isEqualTo(409);
    }

    @Test
    void aRefusedRequestLeavesItsIdempotencyKeyFree(ApiClient api) {
        // As with Stripe: nothing was done, so nothing is remembered; the fixed request runs under the same key.
        ApiClient a = api.forNewAccount("Idem Retry Co").withHeader("Idempotency-Key", "grp-fix-1");
        var bad = a.post("/v1/groups", Map.of("name", ""));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(a.post("/v1/groups", Map.of("name", "")).header("idempotent-replayed")).as("a 400 is not replayed").isNull();
        var fixed = a.post("/v1/groups", Map.of("name", "Fixed"));
        assertThat(fixed.status()).isEqualTo(201);
        var replay = a.post("/v1/groups", Map.of("name", "Fixed"));
        assertThat(replay.body()).isEqualTo(fixed.body());
        assertThat(replay.header("idempotent-replayed")).isEqualTo("true");
        assertThat(a.post("/v1/groups", Map.of("name", "")).status()).as("the key is now taken").isEqualTo(409);
        assertThat(items(a.get("/v1/groups"))).hasSize(1);
    }

    @Test
    void deletingAGroupTombstonesItsMembersAsynchronously(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Delete Co");
        String g = createGroup(a, "Doomed");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(member(phone(1), null), member(phone(2), null))));
        assertThat(a.delete("/v1/groups/" + g).status()).isEqualTo(204);
        long deadline = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < deadline && !memberRow(runtime, a, g, phone(2)).containsKey("removedAt")) {
            Thread.sleep(200);
        }
        assertThat(memberRow(runtime, a, g, phone(1))).containsKey("removedAt");
        assertThat(memberRow(runtime, a, g, phone(2))).containsKey("removedAt");
    }
}
