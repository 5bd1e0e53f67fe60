package groupmsg.e2e;

import groupmsg.groups.GroupService;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.platform.api.Csv;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.GroupsE2eTest.items;
import static org.assertj.core.api.Assertions.assertThat;

/** A group's members exported as CSV (an extension): the import template's columns, so it imports again. */
@ExtendWith(LocalRuntimeExtension.class)
class MembersExportE2eTest {

    private static Map<String, Object> member(String phone, String name) {
        var m = new HashMap<String, Object>();
        m.put("phone", phone);
        if (name != null) m.put("name", name);
        return m;
    }

    @Test
    void aGroupsMembersExportAsCsvInPartsAndImportAgain(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Export Co");
        String g = createGroup(a, "To export");
        var added = a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(
                member("+442079460145", null),
                member("+14155550142", "Bob \"The Builder\""),
                member("+16045550144", "Zoë"),
                member("+14155550141", "Smith, Jane"),
                member("+14155550143", "=HYPERLINK(\"http://x\")"),
                member("+14155550146", "Gone"),
                member("+14155550147", "-Dash"))));
        assertThat(added.status()).as(added.body()).isEqualTo(200);
        assertThat(added.jsonObject()).containsEntry("added", 7);
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550146").status()).isEqualTo(204);

        // the list's filters are not the export's: a 400, not every member
        for (String filter : java.util.List.of("undeliverable=true", "search=ada", "lineId=line_x")) {
            var filtered = a.get("/v1/groups/" + g + "/members.csv?" + filter);
            org.assertj.core.api.Assertions.assertThat(filtered.status()).as(filter).isEqualTo(400);
            org.assertj.core.api.Assertions.assertThat(filtered.body()).contains("is not taken here");
        }
        var whole = a.get("/v1/groups/" + g + "/members.csv");
        assertThat(whole.status()).as(whole.body()).isEqualTo(200);
        assertThat(whole.header("content-type")).startsWith("text/csv");
        assertThat(whole.header("content-disposition")).isEqualTo("attachment; filename=\"" + g + "-members.csv\"");
        assertThat(whole.header("x-next-cursor")).isNull();
        String expected = """
                country,phone,name
                US,+14155550141,"Smith, Jane"
                US,+14155550142,"Bob ""The Builder\"""
                US,+14155550143,"'=HYPERLINK(""http://x"")"
                US,+14155550147,'-Dash
                CA,+16045550144,Zoë
                GB,+442079460145,
                """;
        assertThat(whole.body()).isEqualTo(expected);

        // in parts of two (six members: the last part full, and no cursor after it), each a whole CSV, the next one
        // named by x-next-cursor and link
        List<String> parts = new ArrayList<>();
        String cursor = null;
        do {
            var part = a.get("/v1/groups/" + g + "/members.csv?limit=2" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(part.status()).as(part.body()).isEqualTo(200);
            parts.add(part.body());
            cursor = part.header("x-next-cursor");
            if (cursor != null) {
                assertThat(part.header("link")).isEqualTo("</v1/groups/" + g + "/members.csv?limit=2&cursor=" + cursor + ">; rel=\"next\"");
            }
        } while (cursor != null);
        assertThat(parts).hasSize(3).allSatisfy(p -> assertThat(p).startsWith("country,phone,name\n"));
        assertThat(parts).allSatisfy(p -> assertThat(p.lines()).hasSize(3));
        assertThat(String.join("", parts.stream().map(p -> p.substring(p.indexOf('\n') + 1)).toList()))
                .isEqualTo(expected.substring(expected.indexOf('\n') + 1));

        // the export imports into another group as it is
        String copy = createGroup(a, "Copy");
        var started = a.send("POST", "/v1/groups/" + copy + "/imports", "text/csv", whole.body());
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        var done = ImportsE2eTest.awaitDone(a, copy, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("status", "done").containsEntry("added", 6).containsEntry("invalidCount", 0);
        // the same names: the formula guard, a spreadsheet's text marker, is taken off again
        assertThat(items(a.get("/v1/groups/" + copy + "/members"))).extracting(m -> m.get("phone") + " " + m.get("name"))
                .containsExactlyInAnyOrder("+14155550141 Smith, Jane", "+14155550142 Bob \"The Builder\"",
                        "+14155550143 =HYPERLINK(\"http://x\")", "+14155550147 -Dash", "+16045550144 Zoë", "+442079460145 null");

        // refused: no such group, another account's, a bad part size or cursor
        assertThat(a.get("/v1/groups/grp_01JZZZZZZZZZZZZZZZZZZZZZZZ/members.csv").status()).isEqualTo(404);
        assertThat(api.forNewAccount("Not Their Export Co").get("/v1/groups/" + g + "/members.csv").status()).isEqualTo(404);
        assertThat(a.get("/v1/groups/" + g + "/members.csv?limit=50001").status()).isEqualTo(400);
        assertThat(a.get("/v1/groups/" + g + "/members.csv?cursor=nope").status()).isEqualTo(400);
        String otherGroupsCursor = a.get("/v1/groups/" + copy + "/members.csv?limit=1").header("x-next-cursor");
        assertThat(a.get("/v1/groups/" + g + "/members.csv?cursor=" + otherGroupsCursor).status()).isEqualTo(400);
    }

    /** A part ends at the last whole row that fits its bytes, and the next one starts right after it: nothing lost or twice. */
    @Test
    void partsCutByTheirSizeLoseNoMemberAndRepeatNone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Small Parts Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = createGroup(a, "Cut by size");
        List<Map<String, Object>> members = new ArrayList<>();
        for (int i = 0; i < 25; i++) members.add(member(String.format("+1415555%04d", 3000 + i), i % 3 == 0 ? "\"Quoted\" " + i : "Person " + i));
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", members)).jsonObject()).containsEntry("added", 25);
        String whole = a.get("/v1/groups/" + g + "/members.csv").body();

        var parts = exportedParts(new GroupService(runtime.wiring()), accountId, g, GroupService.EXPORT_MAX_MEMBERS, 200);
        for (String part : parts) {
            assertThat(Csv.answerBytes(part, 0)).as("within its bytes (save a single row)").isLessThanOrEqualTo(200);
        }
        assertThat(parts.size()).isGreaterThanOrEqualTo(5);
        assertThat(joined(parts)).isEqualTo(whole);
    }

    /**
     * A part ends when its read time is up, at the last row read (a removed member's, maybe), and the next one goes on
     * from there: a group that lost most of its members exports in parts that each fit the function's time.
     */
    @Test
    void partsCutByTheirReadTimeLoseNoMemberAndRepeatNone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Slow Parts Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = createGroup(a, "Mostly removed");
        List<Map<String, Object>> members = new ArrayList<>();
        List<Map<String, Object>> removed = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            String phone = String.format("+1415556%04d", i);
            members.add(member(phone, "Person " + i));
            if (i % 4 != 0) removed.add(Map.of("phone", phone));
        }
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", members)).jsonObject()).containsEntry("added", 600);
        assertThat(a.post("/v1/groups/" + g + "/members/remove", Map.of("members", removed)).jsonObject()).containsEntry("removed", 450);
        String whole = a.get("/v1/groups/" + g + "/members.csv").body();
        assertThat(whole.lines().count()).isEqualTo(151);

        // each look at the clock 20 s on: a part's read time is up after its first query (of 2 x 100 rows: 50 members)
        var groups = new GroupService(runtime.wiring().withClock(groupmsg.local.TestClocks.steppingBy(20_000)));
        var parts = exportedParts(groups, accountId, g, 100, Csv.MAX_ANSWER_BYTES);
        assertThat(parts.size()).as("cut by time, not by the 100 members a part may hold").isGreaterThanOrEqualTo(3);
        assertThat(joined(parts)).isEqualTo(whole);
    }

    /** The group's export part after part, each checked to be a whole CSV (its header first); at most 100 parts. */
    private static List<String> exportedParts(GroupService groups, String accountId, String g, int limit, long maxBytes) {
        List<String> parts = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            var part = groups.exportMembers(accountId, g, limit, maxBytes, start);
            assertThat(part.csv()).startsWith(MEMBERS_HEADER);
            parts.add(part.csv());
            start = part.lastKey();
        } while (start != null && parts.size() < 100);
        return parts;
    }

    /** The parts as one CSV: the header once, then every part's rows. */
    private static String joined(List<String> parts) {
        StringBuilder joined = new StringBuilder(MEMBERS_HEADER);
        parts.forEach(p -> joined.append(p.substring(MEMBERS_HEADER.length())));
        return joined.toString();
    }

    private static final String MEMBERS_HEADER = "country,phone,name\n";
}
