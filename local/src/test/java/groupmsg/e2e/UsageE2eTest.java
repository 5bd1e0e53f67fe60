package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import groupmsg.usage.UsageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /v1/usage}: the per-line billing counters the delivery worker records, summed per UTC month. */
@ExtendWith(LocalRuntimeExtension.class)
class UsageE2eTest {

    private static UsageStore store(LocalRuntime runtime) {
        return new UsageStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE));
    }

    private static long at(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    private static String accountId(ApiClient api) {
        return (String) api.get("/v1/account").jsonObject().get("id");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> byLine(ApiClient.Response r) {
        return (List<Map<String, Object>>) r.jsonObject().get("byLine");
    }

    @Test
    void sumsPerLineAndUtcMonth(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Usage Co");
        String account = accountId(a);
        var sms = LinesE2eTest.createLine(a, Map.of("phone", LinesE2eTest.newLongCode(), "type", "long_code", "groupMessaging", true));
        var tollFree = LinesE2eTest.createLine(a, Map.of("phone", LinesE2eTest.newTollFree(), "type", "toll_free"));
        String smsLine = (String) sms.get("id");
        String tfLine = (String) tollFree.get("id");
        UsageStore usage = store(runtime);
        // November 2026: two recipients of a 2-segment SMS, one MMS recipient, three 1-segment SMS on the toll-free line
        // (by kind: a group message's, a conversation's, a group MMS, answers to one person)
        usage.record(account, smsLine, "group", at("2026-11-01T00:00:00Z"), 1, 2, 0);
        usage.record(account, smsLine, "conversation", at("2026-11-15T12:00:00Z"), 1, 2, 0);
        usage.record(account, smsLine, "group", at("2026-11-30T23:59:59.999Z"), 1, 0, 1);
        usage.record(account, tfLine, "direct_reply", at("2026-11-20T08:00:00Z"), 3, 3, 0);
        // the neighbouring months stay apart
        usage.record(account, smsLine, "group", at("2026-10-31T23:59:59.999Z"), 7, 7, 0);
        usage.record(account, smsLine, "group", at("2026-12-01T00:00:00Z"), 5, 10, 0);
        // another account's usage is not ours
        ApiClient other = api.forNewAccount("Other Usage Co");
        usage.record(accountId(other), "line_other", "group", at("2026-11-10T00:00:00Z"), 100, 100, 100);

        var nov = a.get("/v1/usage?month=2026-11");
        assertThat(nov.status()).as(nov.body()).isEqualTo(200);
        assertThat(nov.jsonObject()).containsEntry("month", "2026-11").containsEntry("messages", 6)
                .containsEntry("segments", 7).containsEntry("mms", 1);
        assertThat(byLine(nov)).containsExactly(
                Map.of("lineId", smsLine, "phone", sms.get("phone"), "messages", 3, "segments", 4, "mms", 1,
                        "byKind", List.of(kind("conversation", 1, 2, 0), kind("group", 2, 2, 1))),
                Map.of("lineId", tfLine, "phone", tollFree.get("phone"), "messages", 3, "segments", 3, "mms", 0,
                        "byKind", List.of(kind("direct_reply", 3, 3, 0))));
        assertThat(nov.jsonObject().get("byKind")).isEqualTo(List.of(kind("conversation", 1, 2, 0),
                kind("direct_reply", 3, 3, 0), kind("group", 2, 2, 1)));

        var oct = a.get("/v1/usage?month=2026-10").jsonObject();
        assertThat(oct).containsEntry("messages", 7).containsEntry("segments", 7).containsEntry("mms", 0);
        var dec = a.get("/v1/usage?month=2026-12");
        assertThat(dec.jsonObject()).containsEntry("messages", 5).containsEntry("segments", 10);
        assertThat(byLine(dec)).hasSize(1);

        // members may read usage
        ApiClient member = a.withKey((String) a.post("/v1/api-keys", Map.of("name", "m", "role", "member")).jsonObject().get("key"));
        assertThat(member.get("/v1/usage?month=2026-11").jsonObject()).containsEntry("messages", 6);
        assertThat(other.get("/v1/usage?month=2026-11").jsonObject()).containsEntry("messages", 100);
    }

    @Test
    void concurrentRecordsAllCount(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Busy Usage Co");
        String account = accountId(a);
        String line = LinesE2eTest.createGroupLine(a);
        UsageStore usage = store(runtime);
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> done = new java.util.ArrayList<>();
            for (int i = 0; i < 80; i++) done.add(pool.submit(() -> usage.record(account, line, "group", at("2025-03-10T10:00:00Z"), 1, 3, 0)));
            for (var f : done) f.get();
        }
        var r = a.get("/v1/usage?month=2025-03").jsonObject();
        assertThat(r).containsEntry("messages", 80).containsEntry("segments", 240).containsEntry("mms", 0)
                .containsEntry("byKind", List.of(kind("group", 80, 240, 0)));
    }

    @Test
    void defaultsToTheCurrentUtcMonth(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Now Usage Co");
        String line = LinesE2eTest.createGroupLine(a);
        String before = YearMonth.now(ZoneOffset.UTC).toString();
        store(runtime).record(accountId(a), line, "group", System.currentTimeMillis(), 2, 2, 0);
        var r = a.get("/v1/usage");
        String after = YearMonth.now(ZoneOffset.UTC).toString();
        assertThat(r.status()).isEqualTo(200);
        assertThat((String) r.jsonObject().get("month")).isIn(before, after);
        if (before.equals(after)) assertThat(r.jsonObject()).containsEntry("messages", 2);
    }

    /** The other tests' reading of their usage ({@link ReceiptsE2eTest#usageOfTheTest}) sums a month's end's two months. */
    @Test
    @SuppressWarnings("unchecked")
    void aTestsUsageAcrossTheEndOfAMonthIsSummedWhole(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Month End Usage Co");
        String line = LinesE2eTest.createGroupLine(a);
        String other = LinesE2eTest.createGroupLine(a);
        long startOfThisMonth = YearMonth.now(ZoneOffset.UTC).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
        store(runtime).record(accountId(a), line, "group", startOfThisMonth - 1, 2, 4, 0);
        store(runtime).record(accountId(a), line, "group", startOfThisMonth, 3, 3, 1);
        store(runtime).record(accountId(a), other, "conversation", startOfThisMonth, 1, 1, 0);

        var usage = ReceiptsE2eTest.usageOfTheTest(a);
        assertThat(usage).containsEntry("messages", 6).containsEntry("segments", 8).containsEntry("mms", 1);
        assertThat((List<Map<String, Object>>) usage.get("byKind")).containsExactlyInAnyOrder(
                Map.of("kind", "group", "messages", 5, "segments", 7, "mms", 1),
                Map.of("kind", "conversation", "messages", 1, "segments", 1, "mms", 0));
        assertThat((List<Map<String, Object>>) usage.get("byLine")).satisfiesExactlyInAnyOrder(
                l -> assertThat(l).containsEntry("lineId", line).containsEntry("messages", 5).containsEntry("segments", 7),
                l -> assertThat(l).containsEntry("lineId", other).containsEntry("messages", 1));
        assertThat(ReceiptsE2eTest.billedMessages(a)).isEqualTo(6);
    }

    @Test
    void anEmptyMonthIsZeros(ApiClient api) {
        ApiClient a = api.forNewAccount("Quiet Usage Co");
        LinesE2eTest.createGroupLine(a);
        var r = a.get("/v1/usage?month=2024-02");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.jsonObject()).isEqualTo(Map.of("month", "2024-02", "messages", 0, "segments", 0, "mms", 0,
                "byKind", List.of(), "byLine", List.of()));
    }

    @Test
    void aBadMonthIs400(ApiClient api) {
        ApiClient a = api.forNewAccount("Bad Month Co");
        for (String month : List.of("2026-13", "2026-00", "2026-1", "26-11", "november", "2026-11-01", "2026%2F11")) {
            var r = a.get("/v1/usage?month=" + month);
            assertThat(r.status()).as(month + " -> " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
    }

    /** A filter usage does not take is refused, not ignored (the answer would be the whole account's current month). */
    @Test
    void filtersUsageDoesNotTakeAre400(ApiClient api) {
        ApiClient a = api.forNewAccount("Usage Filters Co");
        for (String query : List.of("period=2026-01", "lineId=line_x", "from=2026-01-01&to=2026-01-31", "month=2026-01&lineId=line_x")) {
            var r = a.get("/v1/usage?" + query);
            assertThat(r.status()).as(query + " -> " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
    }

    static Map<String, Object> kind(String kind, int messages, int segments, int mms) {
        return Map.of("kind", kind, "messages", messages, "segments", segments, "mms", mms);
    }
}
