package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Queues;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.GroupsE2eTest.memberCount;
import static groupmsg.e2e.GroupsE2eTest.phone;
import static org.assertj.core.api.Assertions.assertThat;

/** CSV imports through the API, the FIFO imports queue and the import worker. */
@ExtendWith(LocalRuntimeExtension.class)
class ImportsE2eTest {

    static Map<String, Object> awaitDone(ApiClient api, String groupId, String importId) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            var r = api.get("/v1/groups/" + groupId + "/imports/" + importId);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            if (!"running".equals(r.jsonObject().get("status"))) return r.jsonObject();
            assertThat(System.currentTimeMillis()).as("import %s done within 120 s: %s", importId, r.body()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    @Test
    void templateIsCsvWithTheHeaderAndAnExample(ApiClient api) {
        var r = api.get("/v1/groups/import-template.csv");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-type")).startsWith("text/csv");
        assertThat(r.body()).startsWith("country,phone,name").hasLineCount(2);
    }

    @Test
    void theTemplateAsDownloadedImportsItsExampleRow(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Template Co");
        String g = createGroup(a, "From the template");
        String template = a.get("/v1/groups/import-template.csv").body();
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", template);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        assertThat(started.jsonObject()).containsEntry("status", "running").containsEntry("total", 1);
        var done = awaitDone(a, g, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("status", "done").containsEntry("processed", 1).containsEntry("added", 1);
        assertThat(a.get("/v1/groups/" + g + "/members").jsonObject().get("items")).asList().singleElement()
                .satisfies(m -> assertThat(m.toString()).contains("phone=+14155550123").contains("name=Ada Lovelace"));
    }

    @Test
    void importsValidRowsAndReportsInvalidOnesWithLineNumbers(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Import Co");
        String g = createGroup(a, "Imported");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", phone(0)))));
        StringBuilder csv = new StringBuilder("country,phone,name\n");
        for (int i = 0; i < 2500; i++) csv.append("US,").append(phone(i)).append(",Person ").append(i).append('\n');
        csv.append("US,not a number,Broken\n");           // line 2502
        csv.append(",4155550199,No Country\n");           // line 2503
        csv.append("US,").append(phone(5)).append(",Dup\n"); // line 2504: already a member by then
        csv.append("US,4155550198,Smith, John\n");        // line 2505: an unquoted comma, one cell too many
        csv.append("Stray\n");                           // line 2506: stops before its phone
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv.toString());
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        assertThat(started.jsonObject()).containsEntry("status", "running").containsEntry("total", 2505);
        String importId = (String) started.jsonObject().get("id");
        assertThat(importId).startsWith("imp_");

        var done = awaitDone(a, g, importId);
        assertThat(done).containsEntry("status", "done").containsEntry("total", 2505).containsEntry("processed", 2505)
                .containsEntry("added", 2499).containsEntry("alreadyMembers", 2).containsEntry("invalidCount", 4);
        @SuppressWarnings("unchecked") var invalid = (List<Map<String, Object>>) done.get("invalid");
        assertThat(invalid).extracting(m -> m.get("line")).containsExactly(2502, 2503, 2505, 2506);
        assertThat(invalid.get(0)).containsEntry("phone", "not a number");
        // lines out of the header's columns are reported, not imported, and stop nothing else
        assertThat(invalid.get(2)).containsEntry("phone", "4155550198")
                .containsEntry("reason", "4 fields, the header has 3 (a value with a comma must be in double quotes)");
        assertThat(invalid.get(3)).containsEntry("phone", "").containsEntry("reason", "1 field, the header has 3");
        assertThat(memberCount(a, g)).isEqualTo(2500);
    }

    /**
     * Phone cells as other systems' exports write them: a CSV-injection guard or Excel's text formula around the number,
     * a number in scientific notation with all its digits; one whose digits Excel dropped says so.
     */
    @Test
    void phoneCellsAsSpreadsheetsWriteThemImport(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Spreadsheet Co");
        String g = createGroup(a, "From Excel");
        String csv = "country,phone,name\n"
                + "US,'+14155550171,Guarded\n"
                + "US,\"=\"\"+14155550172\"\"\",Formula\n"
                + "US,1.4155550173E+10,Scientific\n"
                + "GB,4.47911E+11,Lost Digits\n";
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        var done = awaitDone(a, g, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("added", 3).containsEntry("invalidCount", 1);
        @SuppressWarnings("unchecked") var invalid = (List<Map<String, Object>>) done.get("invalid");
        assertThat(invalid.getFirst()).containsEntry("line", 5).containsEntry("phone", "4.47911E+11");
        assertThat((String) invalid.getFirst().get("reason")).startsWith("written in scientific notation, its digits lost");
        for (String added : List.of("%2B14155550171", "%2B14155550172", "%2B14155550173")) {
            assertThat(a.get("/v1/groups/" + g + "/members/" + added).status()).as(added).isEqualTo(200);
        }
    }

    @Test
    void everyInvalidLineIsShownUpToAThousandAndPagedOnRequest(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Many Invalid Co");
        String g = createGroup(a, "Mostly broken");
        StringBuilder csv = new StringBuilder("country,phone,name\n");
        for (int i = 0; i < 120; i++) csv.append("US,bad ").append(i).append(",Nobody\n");
        csv.append("US,").append(phone(1)).append(",Somebody\n");
        String importId = (String) a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv.toString()).jsonObject().get("id");

        var done = awaitDone(a, g, importId);
        assertThat(done).containsEntry("status", "done").containsEntry("invalidCount", 120).containsEntry("added", 1)
                .containsEntry("nextCursor", null);
        assertThat((List<?>) done.get("invalid")).as("the whole list, as API.md shows it").hasSize(120);

        List<Object> paged = new java.util.ArrayList<>();
        String cursor = null;
        do {
            var page = a.get("/v1/groups/" + g + "/imports/" + importId + "?limit=50" + (cursor == null ? "" : "&cursor=" + cursor)).jsonObject();
            paged.addAll((List<?>) page.get("invalid"));
            cursor = (String) page.get("nextCursor");
        } while (cursor != null);
        assertThat(paged).isEqualTo(done.get("invalid"));
        assertThat(a.get("/v1/groups/" + g + "/imports/" + importId + "?limit=1001").status()).isEqualTo(400);
    }

    @Test
    void aNameWithAControlCharacterOrALineBreakMakesItsRowInvalid(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Control Co");
        String g = createGroup(a, "Controlled");
        String csv = "country,phone,name\n"
                + "US,(415) 555-0141,Ada\n"
                + "US,(415) 555-0142,\u001b[31mRed\n"           // line 3: a terminal escape
                + "US,(415) 555-0143,\"Two\nLines\"\n"         // line 4: a quoted line break is text, but a name is one line
                + "US,(415) 555-0144,Bell\u0007\n";             // line 6
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        var done = awaitDone(a, g, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("status", "done").containsEntry("added", 1).containsEntry("invalidCount", 3);
        @SuppressWarnings("unchecked") var invalid = (List<Map<String, Object>>) done.get("invalid");
        assertThat(invalid).extracting(m -> m.get("line")).containsExactly(3, 4, 6);
        assertThat(invalid).extracting(m -> m.get("reason")).containsExactly(
                "name must not contain control characters (tab and line breaks are allowed)", "name must be one line (no line breaks)",
                "name must not contain control characters (tab and line breaks are allowed)");
        assertThat(memberCount(a, g)).isEqualTo(1);
    }

    @Test
    void aRedeliveredPartChangesNothing(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Redelivery Co");
        String g = createGroup(a, "Twice");
        StringBuilder csv = new StringBuilder("phone,name\n");
        for (int i = 0; i < 300; i++) csv.append(phone(i)).append(",P").append(i).append('\n');
        String importId = (String) a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv.toString())
                .jsonObject().get("id");
        var done = awaitDone(a, g, importId);
        assertThat(done).containsEntry("added", 300);

        // the same part again, as SQS at-least-once delivery may do (different dedup id so FIFO accepts it)
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            if (i > 0) rows.append(',');
            rows.append("[").append(i + 2).append(",null,\"").append(phone(i)).append("\",\"P").append(i).append("\"]");
        }
        String body = "{\"kind\":\"import-part\",\"accountId\":\"" + accountId + "\",\"groupId\":\"" + g
                + "\",\"importId\":\"" + importId + "\",\"part\":0,\"rows\":[" + rows + "]}";
        String url = runtime.wiring().config().queueUrl(Queues.IMPORTS);
        runtime.wiring().sqs().sendMessage(b -> b.queueUrl(url).messageBody(body)
                .messageGroupId(accountId + "#" + g).messageDeduplicationId("redelivery-" + importId));
        runtime.awaitIdle();
        var after = a.get("/v1/groups/" + g + "/imports/" + importId).jsonObject();
        assertThat(after).containsEntry("processed", 300).containsEntry("added", 300).containsEntry("alreadyMembers", 0);
        assertThat(memberCount(a, g)).isEqualTo(300);
    }

    @Test
    void aHugeCellMakesItsRowInvalidAndTheImportAndTheGroupsQueueGoOn(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Huge Cell Co");
        String g = createGroup(a, "BigCell");
        StringBuilder csv = new StringBuilder("country,phone,name\n");
        for (int i = 0; i < 150; i++) csv.append("US,").append(phone(i)).append(",P").append(i).append('\n');
        csv.append("US,").append("1".repeat(450_000)).append(",Giant\n");                          // line 152
        csv.append("US,").append(phone(150)).append(',').append("n".repeat(450_000)).append('\n');  // line 153
        csv.append("X".repeat(450_000)).append(',').append("4155550151").append(",Nowhere\n");    // line 154
        for (int i = 152; i < 302; i++) csv.append("US,").append(phone(i)).append(",P").append(i).append('\n');
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv.toString());
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        var done = awaitDone(a, g, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("status", "done").containsEntry("processed", 303).containsEntry("added", 300)
                .containsEntry("invalidCount", 3);
        @SuppressWarnings("unchecked") var invalid = (List<Map<String, Object>>) done.get("invalid");
        assertThat(invalid).extracting(m -> m.get("line")).containsExactly(152, 153, 154);
        assertThat(invalid.get(0)).containsEntry("phone", "1".repeat(64) + "...").containsEntry("reason", "too long");
        assertThat(invalid.get(1)).containsEntry("phone", phone(150)).containsEntry("reason", "name longer than 100 characters");
        assertThat(invalid.get(2)).containsEntry("phone", "4155550151").containsEntry("reason", "unknown country '" + "X".repeat(16) + "...'");
        assertThat(memberCount(a, g)).isEqualTo(300);
        // the group's queue is not held up: a later import of it completes
        var next = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", "phone\n" + phone(900) + "\n");
        assertThat(awaitDone(a, g, (String) next.jsonObject().get("id"))).containsEntry("status", "done").containsEntry("added", 1);
    }

    @Test
    void textThatHardlyCompressesIsAcceptedNeverA500(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Entropy Co");
        String g = createGroup(a, "Random");
        java.util.Random random = new java.util.Random(3);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder csv = new StringBuilder("country,phone,name\n");
        for (int i = 0; i < 400; i++) csv.append("US,").append(phone(i)).append(",P").append(i).append('\n');
        for (int i = 0; i < 300; i++) {      // junk phones of 2,000 random characters: 600 KB that gzip hardly shrinks
            csv.append("US,");
            for (int c = 0; c < 2000; c++) csv.append(alphabet.charAt(random.nextInt(alphabet.length())));
            csv.append(",Junk\n");
        }
        for (int i = 400; i < 1400; i++) {   // valid names of 100 random CJK characters
            csv.append("US,").append(phone(i)).append(',');
            for (int c = 0; c < 100; c++) csv.appendCodePoint(0x4E00 + random.nextInt(20_000));
            csv.append('\n');
        }
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv.toString());
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        var done = awaitDone(a, g, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("status", "done").containsEntry("total", 1700).containsEntry("added", 1400)
                .containsEntry("invalidCount", 300);
        assertThat(memberCount(a, g)).isEqualTo(1400);
    }

    @Test
    void reimportingAMemberWithAnotherNameRenamesIt(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Reimport Co");
        String g = createGroup(a, "Corrected");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", phone(1), "name", "Misspelt"),
                Map.of("phone", phone(2), "name", "Kept"))));
        String csv = "phone,name\n" + phone(1) + ",Spelt Right\n" + phone(2) + ",\n" + phone(3) + ",New\n";
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv);
        var done = awaitDone(a, g, (String) started.jsonObject().get("id"));
        assertThat(done).containsEntry("status", "done").containsEntry("added", 1).containsEntry("alreadyMembers", 2)
                .containsEntry("updated", 1);
        @SuppressWarnings("unchecked") var members = (List<Map<String, Object>>) a.get("/v1/groups/" + g + "/members").jsonObject().get("items");
        assertThat(members).extracting(m -> m.get("name")).containsExactly("Spelt Right", "Kept", "New");
        assertThat(memberCount(a, g)).isEqualTo(3);
    }

    /** Excel's "CSV (Comma delimited)" on Windows is windows-1252: sent declared so (quoted, as some clients do), it imports. */
    @Test
    void aFileDeclaredWindows1252ImportsItsAccentedNames(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Cp1252 Co");
        String g = createGroup(a, "Accents");
        byte[] cp1252 = ("country,phone,name\nUS," + phone(5) + ",Ren\u00e9e \u20ac\n").getBytes(java.nio.charset.Charset.forName("windows-1252"));
        ApiClient keyed = a.withHeader("Idempotency-Key", "cp1252-import");
        var started = keyed.send("POST", "/v1/groups/" + g + "/imports", "text/csv; header=present; charset=\"Windows-1252\"", cp1252);
        assertThat(started.status()).isEqualTo(202);
        // the same bytes declared in another charset are another request: they would read otherwise
        assertThat(keyed.send("POST", "/v1/groups/" + g + "/imports", "text/csv; charset=utf-8", cp1252).status()).isEqualTo(409);
        assertThat(keyed.send("POST", "/v1/groups/" + g + "/imports", "text/csv; charset=windows-1252", cp1252)
                .header("idempotent-replayed")).isEqualTo("true");
        assertThat(awaitDone(a, g, (String) started.jsonObject().get("id"))).containsEntry("added", 1);
        @SuppressWarnings("unchecked") var members = (List<Map<String, Object>>) a.get("/v1/groups/" + g + "/members").jsonObject().get("items");
        assertThat(members).extracting(m -> m.get("name")).containsExactly("Ren\u00e9e \u20ac");
    }

    @Test
    void malformedFilesAreA400ThatSaysWhatIsWrong(ApiClient api) {
        ApiClient a = api.forNewAccount("Malformed Co");
        String g = createGroup(a, "Strict");
        String path = "/v1/groups/" + g + "/imports";
        var header = a.send("POST", path, "text/csv", "number,fullname\n+14155550100,Ada\n");
        assertThat(header.status()).isEqualTo(400);
        assertThat(header.body()).contains("header");
        var quote = a.send("POST", path, "text/csv", "country,phone,name\nUS,+14155550100,\"Ada\n");
        assertThat(quote.status()).isEqualTo(400);
        assertThat(quote.body()).contains("line 2").contains("quote");
        var binary = a.send("POST", path, "text/csv", new byte[]{'p', 'h', 'o', 'n', 'e', '\n', 0, 1, 2, (byte) 0xFF});
        assertThat(binary.status()).isEqualTo(400);
        // a file saved as Windows-1252 (é is one byte 0xE9) is named, with its line, not imported with U+FFFD
        byte[] latin1 = "country,phone,name\nUS,+14155550100,Ren\u00e9e\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        var notUtf8 = a.send("POST", path, "text/csv", latin1);
        assertThat(notUtf8.status()).isEqualTo(400);
        assertThat(notUtf8.body()).contains("line 2").contains("not valid UTF-8");
        assertThat(a.send("POST", path, "text/csv", "country,phone,name\n").status()).isEqualTo(400);
        assertThat(a.send("POST", path, "application/json", "{}").status()).isEqualTo(400);
        byte[] tooBig = ("phone\n" + "+14155550100\n".repeat(420_000)).getBytes(StandardCharsets.UTF_8);
        assertThat(a.send("POST", path, "text/csv", tooBig).status()).isEqualTo(413);
        assertThat(a.get("/v1/groups/" + g + "/imports/imp_doesnotexist").status()).isEqualTo(404);
        assertThat(memberCount(a, g)).isZero();
    }

    /** A group's imports (an extension): newest first, paged, the group's only, with their progress; 404 for no such group. */
    @Test
    @SuppressWarnings("unchecked")
    void aGroupsImportsAreListedNewestFirst(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Import List Co");
        String g = createGroup(a, "Listed imports");
        String other = createGroup(a, "Other imports");
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String csv = "country,phone,name\nUS," + phone(900 + i) + ",Person " + i + "\nUS,bad,Nobody\n";
            var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", csv);
            assertThat(started.status()).as(started.body()).isEqualTo(202);
            ids.add((String) started.jsonObject().get("id"));
            var elsewhere = a.send("POST", "/v1/groups/" + other + "/imports", "text/csv", "country,phone,name\nUS," + phone(950 + i) + ",X\n");
            assertThat(elsewhere.status()).isEqualTo(202);
        }
        for (String id : ids) awaitDone(a, g, id);

        var first = a.get("/v1/groups/" + g + "/imports?limit=2").jsonObject();
        var items = (List<Map<String, Object>>) first.get("items");
        assertThat(items).extracting(m -> m.get("id")).containsExactly(ids.get(2), ids.get(1));
        assertThat(items.getFirst()).containsEntry("groupId", g).containsEntry("status", "done").containsEntry("total", 2)
                .containsEntry("processed", 2).containsEntry("added", 1).containsEntry("invalidCount", 1)
                .containsKey("createdAt").doesNotContainKey("invalid");
        var second = a.get("/v1/groups/" + g + "/imports?limit=2&cursor=" + first.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) second.get("items")).extracting(m -> m.get("id")).containsExactly(ids.get(0));
        assertThat(second.get("nextCursor")).isNull();
        assertThat((List<?>) a.get("/v1/groups/" + other + "/imports").jsonObject().get("items")).hasSize(3);

        assertThat(a.get("/v1/groups/grp_01JZZZZZZZZZZZZZZZZZZZZZZZ/imports").status()).isEqualTo(404);
        assertThat(api.forNewAccount("Not Their Imports Co").get("/v1/groups/" + g + "/imports").status()).isEqualTo(404);
        String lineCursor = (String) a.get("/v1/groups?limit=1").jsonObject().get("nextCursor");
        assertThat(a.get("/v1/groups/" + g + "/imports?cursor=" + lineCursor).status()).as("another list's cursor").isEqualTo(400);
    }

    /**
     * A group's imports stay reachable behind more than a page's reads of another group's (one synced hourly): a page
     * that found none of this group's in its 1,000 reads ends at another group's import, and its cursor goes on.
     * Before, that cursor was refused as another group's (400), and the older imports could not be listed.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aGroupsImportsAreReachedPastAThousandOfAnotherGroups(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Busy Imports Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = createGroup(a, "Rarely imported");
        String other = createGroup(a, "Synced hourly");
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", "country,phone,name\nUS," + phone(990) + ",Ann\n");
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        String ours = (String) started.jsonObject().get("id");
        awaitDone(a, g, ours);
        // 1,001 newer imports of the other group, as its syncs left them
        String table = runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE);
        var ids = new groupmsg.platform.config.Ids();
        List<software.amazon.awssdk.services.dynamodb.model.WriteRequest> puts = new java.util.ArrayList<>();
        for (int i = 0; i < 1001; i++) {
            String id = ids.next("imp_");
            puts.add(software.amazon.awssdk.services.dynamodb.model.WriteRequest.builder().putRequest(p -> p.item(Map.of(
                    "pk", av("ACCT#" + accountId), "sk", av("IMPORT#" + id), "importId", av(id), "groupId", av(other),
                    "status", av("done"), "total", avN(1), "processed", avN(1), "added", avN(1),
                    "createdAt", avN(System.currentTimeMillis()), "expiresAt", avN(System.currentTimeMillis() / 1000 + 86_400)))).build());
        }
        for (int from = 0; from < puts.size(); from += 25) {
            var batch = puts.subList(from, Math.min(puts.size(), from + 25));
            var left = runtime.wiring().dynamo().batchWriteItem(b -> b.requestItems(Map.of(table, batch))).unprocessedItems();
            assertThat(left).isEmpty();
        }

        List<Object> listed = new java.util.ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var page = a.get("/v1/groups/" + g + "/imports" + (cursor == null ? "" : "?cursor=" + cursor));
            assertThat(page.status()).as(page.body()).isEqualTo(200);
            var items = (List<Map<String, Object>>) page.jsonObject().get("items");
            items.forEach(item -> listed.add(item.get("id")));
            cursor = (String) page.jsonObject().get("nextCursor");
            assertThat(++pages).as("pages").isLessThan(5);
        } while (cursor != null);
        assertThat(listed).containsExactly(ours);
    }

    private static software.amazon.awssdk.services.dynamodb.model.AttributeValue av(String value) {
        return software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS(value);
    }

    private static software.amazon.awssdk.services.dynamodb.model.AttributeValue avN(long value) {
        return software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN(Long.toString(value));
    }
}
