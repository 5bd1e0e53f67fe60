package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.messages.DeliveryList;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.Csv;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/** A group message's deliveries as a CSV report (an extension): every recipient's status, in parts for a large one. */
@ExtendWith(LocalRuntimeExtension.class)
class DeliveryReportE2eTest {

    @Test
    void aMessagesDeliveriesDownloadAsCsvInPartsAndByStatus(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Report Co");
        String line = createLine(a, linePhone(), 50);
        String g = createGroup(a, "Reported");
        List<String> phones = List.of("+14155550161", "+14155550162", "+14155550163", "+14155550164", UndeliverableMembersE2eTest.NOT_MOBILE);
        // named as the group names them: the report and the list show each recipient's name when it was sent to
        Map<String, String> names = Map.of("+14155550161", "Ann", "+14155550162", "=Boss, Jr.");
        var added = a.post("/v1/groups/" + g + "/members", Map.of("members", phones.stream()
                .map(p -> names.containsKey(p) ? Map.of("phone", p, "name", names.get(p)) : Map.of("phone", p)).toList()));
        assertThat(added.jsonObject()).containsEntry("added", 5);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", line, "phone", "+14155550164")).status()).isEqualTo(201);
        String id = (String) send(a, g, line, "Report me").get("id");
        assertThat(awaitSent(a, id, 15_000)).containsEntry("status", "sent");
        // every receipt in, so no row changes between the reads compared below
        assertThat(InboundE2eTest.await(() -> ((Map<?, ?>) a.get("/v1/messages/" + id).jsonObject().get("counts")).get("delivered"),
                d -> Integer.valueOf(3).equals(d), 15_000)).isEqualTo(3);
        // a rename afterwards changes the group, not who the message went to
        assertThat(a.patch("/v1/groups/" + g + "/members/%2B14155550161", Map.of("name", "Annie")).status()).isEqualTo(200);

        var report = a.get("/v1/messages/" + id + "/deliveries.csv");
        assertThat(report.status()).as(report.body()).isEqualTo(200);
        assertThat(report.header("content-type")).startsWith("text/csv");
        assertThat(report.header("content-disposition")).isEqualTo("attachment; filename=\"" + id + "-deliveries.csv\"");
        assertThat(report.header("x-next-cursor")).isNull();
        List<String> lines = report.body().lines().toList();
        assertThat(lines.getFirst()).isEqualTo("phone,status,error,carrierMessageId,updatedAt,name");
        assertThat(lines).hasSize(6);
        // the same as the JSON list says, row for row
        @SuppressWarnings("unchecked")
        var listed = (List<Map<String, Object>>) a.get("/v1/messages/" + id + "/deliveries?limit=100").jsonObject().get("items");
        assertThat(lines.subList(1, 6)).containsExactlyElementsOf(listed.stream().map(d -> d.get("phone") + "," + d.get("status") + ","
                + cell((String) d.get("error")) + "," + (d.get("carrierMessageId") == null ? "" : d.get("carrierMessageId")) + ","
                + d.get("updatedAt") + "," + Csv.cell((String) d.get("name"))).toList());
        assertThat(listed).extracting(d -> d.get("phone") + "=" + d.get("name")).containsExactlyInAnyOrder("+14155550161=Ann",
                "+14155550162==Boss, Jr.", "+14155550163=null", "+14155550164=null", UndeliverableMembersE2eTest.NOT_MOBILE + "=null");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("+14155550161,delivered,").endsWith(",Ann"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("+14155550162,delivered,").endsWith(",\"'=Boss, Jr.\""));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("+14155550164,opted_out,,,"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith(UndeliverableMembersE2eTest.NOT_MOBILE + ",failed,").contains("21614"));
        assertThat(lines).filteredOn(l -> l.contains(",delivered,")).hasSize(3);

        // by status, as the list filters
        var delivered = a.get("/v1/messages/" + id + "/deliveries.csv?status=delivered&limit=2");
        String deliveredCursor = delivered.header("x-next-cursor");
        assertThat(delivered.header("link")).isEqualTo("</v1/messages/" + id + "/deliveries.csv?limit=2&status=delivered&cursor="
                + deliveredCursor + ">; rel=\"next\"");
        var deliveredRest = a.get("/v1/messages/" + id + "/deliveries.csv?status=delivered&limit=2&cursor=" + deliveredCursor);
        assertThat(deliveredRest.header("x-next-cursor")).isNull();
        assertThat(java.util.stream.Stream.concat(delivered.body().lines().skip(1), deliveredRest.body().lines().skip(1)).toList())
                .hasSize(3).allSatisfy(l -> assertThat(l).contains(",delivered,"));
        List<String> failed = a.get("/v1/messages/" + id + "/deliveries.csv?status=failed").body().lines().toList();
        assertThat(failed).hasSize(2);
        assertThat(failed.get(1)).startsWith(UndeliverableMembersE2eTest.NOT_MOBILE + ",failed,");

        // in parts of two: every row once, each part a whole CSV, the next named by x-next-cursor and link
        List<String> rows = new ArrayList<>();
        String cursor = null;
        int parts = 0;
        do {
            var part = a.get("/v1/messages/" + id + "/deliveries.csv?limit=2" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(part.status()).as(part.body()).isEqualTo(200);
            List<String> partLines = part.body().lines().toList();
            assertThat(partLines.getFirst()).isEqualTo("phone,status,error,carrierMessageId,updatedAt,name");
            rows.addAll(partLines.subList(1, partLines.size()));
            cursor = part.header("x-next-cursor");
            if (cursor != null) {
                assertThat(part.header("link")).isEqualTo("</v1/messages/" + id + "/deliveries.csv?limit=2&cursor=" + cursor + ">; rel=\"next\"");
            }
            parts++;
        } while (cursor != null);
        assertThat(parts).isEqualTo(3);
        assertThat(rows).containsExactlyElementsOf(lines.subList(1, 6));

        // refused: no such message, another account's, a bad status, limit or cursor, another message's cursor
        assertThat(a.get("/v1/messages/msg_01JZZZZZZZZZZZZZZZZZZZZZZZ/deliveries.csv").status()).isEqualTo(404);
        assertThat(api.forNewAccount("Not Their Report Co").get("/v1/messages/" + id + "/deliveries.csv").status()).isEqualTo(404);
        assertThat(a.get("/v1/messages/" + id + "/deliveries.csv?status=lost").status()).isEqualTo(400);
        assertThat(a.get("/v1/messages/" + id + "/deliveries.csv?limit=50001").status()).isEqualTo(400);
        assertThat(a.get("/v1/messages/" + id + "/deliveries.csv?cursor=nope").status()).isEqualTo(400);
        String other = (String) send(a, g, line, "Another").get("id");
        assertThat(awaitSent(a, other, 15_000)).containsEntry("status", "sent");
        String othersCursor = a.get("/v1/messages/" + other + "/deliveries.csv?limit=1").header("x-next-cursor");
        assertThat(othersCursor).isNotNull();
        assertThat(a.get("/v1/messages/" + id + "/deliveries.csv?cursor=" + othersCursor).status()).isEqualTo(400);
    }

    private static String cell(String value) {
        if (value == null) return "";
        return value.contains(",") || value.contains("\"") ? "\"" + value.replace("\"", "\"\"") + "\"" : value;
    }

    /** A report's part ends at the last whole row that fits its bytes, across shards: nothing lost or twice. */
    @Test
    void reportPartsCutByTheirSizeLoseNoRowAndRepeatNone(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Small Report Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = createLine(a, linePhone(), 1000);
        String g = createGroup(a, "Many rows");
        List<String> phones = MessagesE2eTest.addMembers(a, g, 4000, 2500); // two shards
        // two opted out, far apart (the last numbers, so each near its shard's end)
        List<String> optedOut = List.of(phones.get(2498), phones.get(2499));
        for (String p : optedOut) assertThat(a.post("/v1/opt-outs", Map.of("lineId", line, "phone", p)).status()).isEqualTo(201);
        String id = (String) send(a, g, line, "Counted").get("id");
        assertThat(awaitSent(a, id, 60_000)).containsEntry("status", "sent");
        // every receipt in, so no row changes while the parts are read
        assertThat(InboundE2eTest.await(() -> ((Map<?, ?>) a.get("/v1/messages/" + id).jsonObject().get("counts")).get("delivered"),
                d -> Integer.valueOf(2498).equals(d), 30_000)).isEqualTo(2498);
        String whole = a.get("/v1/messages/" + id + "/deliveries.csv").body();
        assertThat(whole.lines()).hasSize(2501);

        var list = new DeliveryList(runtime.wiring());
        StringBuilder joined = new StringBuilder();
        int parts = 0;
        String cursor = null;
        do {
            var part = list.report(accountId, id, DeliveryList.REPORT_MAX_ROWS, cursor, null, 20_000).orElseThrow();
            assertThat(Csv.answerBytes(part.csv(), 0)).isLessThanOrEqualTo(20_000);
            joined.append(part.csv().substring(HEADER.length()));
            cursor = part.nextCursor();
            parts++;
        } while (cursor != null);
        assertThat(parts).isGreaterThan(5);
        assertThat(HEADER + joined).isEqualTo(whole);

        // a part out of its reading time (none here: each ends after its first query, of 100 rows as if DynamoDB's
        // 1 MB cut it) ends there, unfiltered too, and the next goes on from the last row read, mid-shard too
        var smallQueries = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public software.amazon.awssdk.core.SdkRequest modifyRequest(software.amazon.awssdk.core.interceptor.Context.ModifyRequest context,
                                                                       software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q
                        && q.tableName().equals(runtime.wiring().config().table(groupmsg.platform.schema.Tables.DELIVERIES))) {
                    return q.toBuilder().limit(q.limit() == null ? 100 : Math.min(q.limit(), 100)).build();
                }
                return context.request();
            }
        });
        var timeless = new DeliveryList(smallQueries, DeliveryList.LIST_READ_BUDGET, DeliveryList.REPORT_READ_BUDGET, 0);
        StringBuilder timed = new StringBuilder();
        int timedParts = 0;
        cursor = null;
        do {
            var part = timeless.report(accountId, id, DeliveryList.REPORT_MAX_ROWS, cursor, null, Csv.MAX_ANSWER_BYTES).orElseThrow();
            timed.append(part.csv().substring(HEADER.length()));
            cursor = part.nextCursor();
            timedParts++;
        } while (cursor != null && timedParts < 200);
        assertThat(cursor).isNull();
        assertThat(timedParts).isGreaterThanOrEqualTo(25);
        assertThat(HEADER + timed).isEqualTo(whole);
        assertThat(joined.toString().lines().map(l -> l.substring(0, l.indexOf(','))).toList()).containsExactlyInAnyOrderElementsOf(phones);

        // a few matches among many rows: a part, and a JSON page, that read their budget end there (short, even
        // empty) with a cursor that goes on from the last row read; every match comes once
        var budgeted = new DeliveryList(runtime.wiring(), 500, 500, DeliveryList.REPORT_READ_MILLIS);
        List<String> reported = new ArrayList<>();
        List<Integer> partSizes = new ArrayList<>();
        cursor = null;
        do {
            var part = budgeted.report(accountId, id, DeliveryList.REPORT_MAX_ROWS, cursor, "opted_out", Csv.MAX_ANSWER_BYTES).orElseThrow();
            assertThat(part.csv()).startsWith(HEADER);
            List<String> rows = part.csv().substring(HEADER.length()).lines().toList();
            rows.forEach(r -> reported.add(r.substring(0, r.indexOf(','))));
            partSizes.add(rows.size());
            cursor = part.nextCursor();
        } while (cursor != null && partSizes.size() < 10);
        assertThat(cursor).isNull();
        assertThat(reported).containsExactlyInAnyOrderElementsOf(optedOut);
        assertThat(partSizes).hasSizeGreaterThanOrEqualTo(2).contains(0);
        // the deployed budget reads the whole message in one part
        var unbudgeted = new DeliveryList(runtime.wiring()).report(accountId, id, DeliveryList.REPORT_MAX_ROWS, null, "opted_out",
                Csv.MAX_ANSWER_BYTES).orElseThrow();
        assertThat(unbudgeted.nextCursor()).isNull();
        assertThat(unbudgeted.csv().lines().skip(1).map(r -> r.substring(0, r.indexOf(','))).toList())
                .containsExactlyInAnyOrderElementsOf(optedOut);

        List<String> listed = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        cursor = null;
        do {
            var query = new java.util.HashMap<String, String>(Map.of("status", "opted_out", "limit", "100"));
            if (cursor != null) query.put("cursor", cursor);
            var request = new ApiRequest("GET /v1/messages/{id}/deliveries", "/v1/messages/" + id + "/deliveries",
                    Map.of("id", id), query, Map.of(), new byte[0], null, null);
            var page = groupmsg.platform.json.Json.parseObject(budgeted.respond(request, accountId, id).orElseThrow().body());
            @SuppressWarnings("unchecked")
            var items = (List<Map<String, Object>>) page.get("items");
            items.forEach(d -> listed.add((String) d.get("phone")));
            pageSizes.add(items.size());
            cursor = (String) page.get("nextCursor");
        } while (cursor != null && pageSizes.size() < 10);
        assertThat(cursor).isNull();
        assertThat(listed).containsExactlyInAnyOrderElementsOf(optedOut);
        assertThat(pageSizes).hasSizeGreaterThanOrEqualTo(2).contains(0);
        // and through the API (the deployed budget), one page
        @SuppressWarnings("unchecked")
        var viaApi = (List<Map<String, Object>>) a.get("/v1/messages/" + id + "/deliveries?status=opted_out").jsonObject().get("items");
        assertThat(viaApi).extracting(d -> d.get("phone")).containsExactlyInAnyOrderElementsOf(optedOut);
    }

    private static final String HEADER = "phone,status,error,carrierMessageId,updatedAt,name\n";
}
