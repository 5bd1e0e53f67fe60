package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.optout.OptOutService;
import groupmsg.platform.api.Csv;
import groupmsg.platform.queue.SqsQueueSender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.items;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/** The opt-outs as CSV (an extension): a do-not-text list to keep elsewhere, the account's or a line's, in parts. */
@ExtendWith(LocalRuntimeExtension.class)
class OptOutsExportE2eTest {
    private static final String HEADER = "lineId,phone,source,createdAt,linePhone";

    private static void optOut(ApiClient a, String line, String phone) {
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", line, "phone", phone)).status()).isEqualTo(201);
    }

    /**
     * An account with many lines: a page of the account's opt-outs, or an export part, reads lines for 5 s at most,
     * then hands back a cursor past the last line read (here every look at the clock is 3 s later, so each page reads
     * one or two lines). Following the cursors lists every opt-out once, in order; a page may hold none.
     */
    @Test
    void acrossManyLinesAPageStopsReadingInTimeAndTheCursorsListEveryOptOutOnce(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Many Lines Co");
        List<String> lineIds = new ArrayList<>();
        for (int i = 0; i < 5; i++) lineIds.add(createLine(a, linePhone(), 5));
        optOut(a, lineIds.get(0), "+14155550181");
        optOut(a, lineIds.get(2), "+14155550183");
        optOut(a, lineIds.get(2), "+14155550182");
        optOut(a, lineIds.get(4), "+14155550184");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var ticking = groupmsg.local.TestClocks.steppingBy(3_000);
        var service = new OptOutService(runtime.wiring().withClock(ticking),
                new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        List<String> listed = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var page = service.listAll(accountId, 100, cursor);
            page.optOuts().forEach(o -> listed.add(o.lineId() + " " + o.phone()));
            cursor = page.nextCursor();
            pages++;
        } while (cursor != null && pages < 20);
        assertThat(listed).containsExactly(lineIds.get(0) + " +14155550181", lineIds.get(2) + " +14155550182",
                lineIds.get(2) + " +14155550183", lineIds.get(4) + " +14155550184");
        assertThat(pages).as("stopped in time, not read in one go").isGreaterThan(2);

        List<String> exported = new ArrayList<>();
        cursor = null;
        int parts = 0;
        do {
            var part = service.export(accountId, null, OptOutService.EXPORT_MAX_ROWS, cursor, Csv.MAX_ANSWER_BYTES);
            part.csv().lines().skip(1).forEach(l -> exported.add(l.substring(0, l.indexOf(',', l.indexOf(',') + 1))));
            cursor = part.nextCursor();
            parts++;
        } while (cursor != null && parts < 20);
        assertThat(exported).containsExactly(lineIds.get(0) + ",+14155550181", lineIds.get(2) + ",+14155550182",
                lineIds.get(2) + ",+14155550183", lineIds.get(4) + ",+14155550184");
        assertThat(parts).isGreaterThan(2);
        // the API reads them all in one page at a normal pace
        assertThat(items(a.get("/v1/opt-outs"))).hasSize(4);
    }

    @Test
    void theOptOutsExportAsCsvLineByLineInParts(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Do Not Text Co");
        Map<String, String> phones = new java.util.HashMap<>();
        String first = createLine(a, linePhone(), 5);
        String second = createLine(a, linePhone(), 5);
        String gone = createLine(a, linePhone(), 5);
        for (String id : List.of(first, second, gone)) phones.put(id, (String) a.get("/v1/lines/" + id).jsonObject().get("phone"));
        optOut(a, second, "+14155550172");
        optOut(a, first, "+14155550173");
        optOut(a, first, "+14155550171");
        optOut(a, gone, "+14155550174");
        assertThat(a.delete("/v1/lines/" + gone).status()).isEqualTo(204);

        // as the JSON list has them: line by line, oldest line first, each in number order; a deleted line's left out
        @SuppressWarnings("unchecked")
        var listed = (List<Map<String, Object>>) a.get("/v1/opt-outs").jsonObject().get("items");
        org.assertj.core.api.Assertions.assertThat(a.get("/v1/opt-outs.csv?phone=%2B14155550100").status())
                .as("a filter the export does not apply").isEqualTo(400);
        var whole = a.get("/v1/opt-outs.csv");
        assertThat(whole.status()).as(whole.body()).isEqualTo(200);
        assertThat(whole.header("content-disposition")).isEqualTo("attachment; filename=\"opt-outs.csv\"");
        assertThat(whole.header("x-next-cursor")).isNull();
        List<String> lines = whole.body().lines().toList();
        assertThat(lines.getFirst()).isEqualTo(HEADER);
        assertThat(lines.subList(1, lines.size())).containsExactlyElementsOf(listed.stream()
                .map(o -> o.get("lineId") + "," + o.get("phone") + "," + o.get("source") + "," + o.get("createdAt") + ","
                        + phones.get((String) o.get("lineId"))).toList());
        assertThat(lines.subList(1, lines.size())).extracting(l -> l.substring(0, l.indexOf(',', l.indexOf(',') + 1)))
                .containsExactly(first + ",+14155550171", first + ",+14155550173", second + ",+14155550172");

        // a line's, a deleted one's too (kept for it)
        assertThat(a.get("/v1/opt-outs.csv?lineId=" + second).body().lines()).hasSize(2);
        assertThat(a.get("/v1/opt-outs.csv?lineId=" + gone).body().lines().skip(1).toList())
                .singleElement().satisfies(l -> assertThat(l).startsWith(gone + ",+14155550174,manual,").endsWith("," + phones.get(gone)));

        // in parts of one, across lines: every row once
        List<String> rows = new ArrayList<>();
        String cursor = null;
        int parts = 0;
        do {
            var part = a.get("/v1/opt-outs.csv?limit=1" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(part.status()).as(part.body()).isEqualTo(200);
            rows.addAll(part.body().lines().skip(1).toList());
            cursor = part.header("x-next-cursor");
            if (cursor != null) assertThat(part.header("link")).isEqualTo("</v1/opt-outs.csv?limit=1&cursor=" + cursor + ">; rel=\"next\"");
            parts++;
        } while (cursor != null);
        assertThat(parts).isEqualTo(3);
        assertThat(rows).containsExactlyElementsOf(lines.subList(1, lines.size()));

        // parts cut by their size: the same rows, none twice
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var service = new OptOutService(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        List<String> cut = new ArrayList<>();
        cursor = null;
        parts = 0;
        do {
            var part = service.export(accountId, null, OptOutService.EXPORT_MAX_ROWS, cursor, 170);
            assertThat(Csv.answerBytes(part.csv(), 0)).isLessThanOrEqualTo(170);
            cut.addAll(part.csv().lines().skip(1).toList());
            cursor = part.nextCursor();
            parts++;
        } while (cursor != null);
        assertThat(parts).isEqualTo(3);
        assertThat(cut).containsExactlyElementsOf(lines.subList(1, lines.size()));

        // refused: another account's line, a bad cursor or limit
        assertThat(api.forNewAccount("Not Their List Co").get("/v1/opt-outs.csv?lineId=" + first).status()).isEqualTo(404);
        assertThat(a.get("/v1/opt-outs.csv?cursor=nope").status()).isEqualTo(400);
        assertThat(a.get("/v1/opt-outs.csv?limit=0").status()).isEqualTo(400);
        String secondsCursor = a.get("/v1/opt-outs.csv?limit=1").header("x-next-cursor");
        assertThat(a.get("/v1/opt-outs.csv?lineId=" + second + "&cursor=" + secondsCursor).status())
                .as("the account's cursor points into another line").isEqualTo(400);
        assertThat(items(a.get("/v1/opt-outs"))).hasSize(3);
    }
}
