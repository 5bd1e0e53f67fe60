package groupmsg.e2e;

import groupmsg.lines.LineOwner;
import groupmsg.lines.LineService;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Lines exactly per API.md, through the local runtime's HTTP API. */
@ExtendWith(LocalRuntimeExtension.class)
class LinesE2eTest {
    private static final String TIMESTAMP = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

    /**
     * A number no other test uses: a number belongs to one line across all accounts, and every end-to-end test
     * shares one runtime. Every +1 415 NXX-XXXX with NXX 200..999 is valid for libphonenumber.
     */
    static String newLongCode() {
        var r = ThreadLocalRandom.current();
        return String.format("+1415%03d%04d", r.nextInt(200, 1000), r.nextInt(10_000));
    }

    static String newTollFree() {
        return String.format("+1800%07d", ThreadLocalRandom.current().nextInt(2_000_000, 10_000_000));
    }

    static String newShortCode() {
        return Integer.toString(ThreadLocalRandom.current().nextInt(100_000, 1_000_000));
    }

    static Map<String, Object> createLine(ApiClient api, Map<String, Object> body) {
        var r = api.post("/v1/lines", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.jsonObject();
    }

    /** A +1 long code line with group messaging on; returns its id. */
    static String createGroupLine(ApiClient api) {
        return (String) createLine(api, Map.of("phone", newLongCode(), "type", "long_code", "groupMessaging", true)).get("id");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> items(ApiClient.Response r) {
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    private static Map<String, Object> with(Map<String, Object> base, String key, Object value) {
        var copy = new HashMap<>(base);
        copy.put(key, value);
        return copy;
    }

    @Test
    void createGetListAndPatch(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Lines Co");
        String e164 = newLongCode();
        String national = "(" + e164.substring(2, 5) + ") " + e164.substring(5, 8) + "-" + e164.substring(8);
        var line = createLine(a, Map.of("phone", national, "country", "US", "type", "long_code", "groupMessaging", true));
        assertThat((String) line.get("id")).startsWith("line_");
        assertThat(line).containsEntry("phone", e164).containsEntry("type", "long_code")
                .containsEntry("groupMessaging", true).containsEntry("mps", 1);
        assertThat((String) line.get("optOutReply")).contains("START");
        assertThat((String) line.get("optInReply")).contains("STOP");
        assertThat((String) line.get("helpReply")).contains("STOP");
        assertThat((String) line.get("createdAt")).matches(TIMESTAMP);
        assertThat((String) line.get("updatedAt")).matches(TIMESTAMP);
        String id = (String) line.get("id");

        var got = a.get("/v1/lines/" + id);
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.jsonObject()).isEqualTo(line);

        var tollFree = createLine(a, Map.of("phone", newTollFree(), "type", "toll_free", "mps", 3,
                "optOutReply", "Bye.", "optInReply", "Hi again.\u200B", "helpReply", "\uFEFFCall us."));
        // kept without the invisible characters pasted at their ends (each made its reply UCS-2)
        assertThat(tollFree).containsEntry("type", "toll_free").containsEntry("groupMessaging", false)
                .containsEntry("mps", 3).containsEntry("optOutReply", "Bye.").containsEntry("optInReply", "Hi again.")
                .containsEntry("helpReply", "Call us.");
        String shortCode = newShortCode();
        var sc = createLine(a, Map.of("phone", shortCode, "type", "short_code", "mps", 100));
        assertThat(sc).containsEntry("phone", shortCode).containsEntry("mps", 100).containsEntry("groupMessaging", false);

        // oldest first, one page at a time
        List<String> seen = new ArrayList<>();
        String cursor = null;
        do {
            var page = a.get("/v1/lines?limit=1" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(page.status()).as(page.body()).isEqualTo(200);
            assertThat(items(page).size()).isLessThanOrEqualTo(1);
            items(page).forEach(l -> seen.add((String) l.get("id")));
            cursor = (String) page.jsonObject().get("nextCursor");
        } while (cursor != null);
        assertThat(seen).containsExactly(id, (String) tollFree.get("id"), (String) sc.get("id"));
        var all = a.get("/v1/lines");
        assertThat(items(all)).hasSize(3);
        assertThat(all.jsonObject().get("nextCursor")).isNull();
        assertThat(a.get("/v1/lines?limit=0").status()).isEqualTo(400);
        assertThat(a.get("/v1/lines?cursor=garbage!").status()).isEqualTo(400);
        // a cursor of another list of the same account does not work here
        a.post("/v1/groups", Map.of("name", "G1"));
        a.post("/v1/groups", Map.of("name", "G2"));
        String groupCursor = (String) a.get("/v1/groups?limit=1").jsonObject().get("nextCursor");
        assertThat(a.get("/v1/lines?cursor=" + groupCursor).status()).isEqualTo(400);

        var patched = a.patch("/v1/lines/" + id, Map.of("mps", 5, "helpReply", "Text STOP to stop.", "groupMessaging", false));
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        assertThat(patched.jsonObject()).containsEntry("mps", 5).containsEntry("helpReply", "Text STOP to stop.")
                .containsEntry("groupMessaging", false).containsEntry("phone", e164)
                .containsEntry("optOutReply", line.get("optOutReply")).containsEntry("createdAt", line.get("createdAt"));
        assertThat(((String) patched.jsonObject().get("updatedAt")).compareTo((String) line.get("updatedAt")))
                .as("updated after its creation").isGreaterThan(0);
        assertThat(a.get("/v1/lines/" + id).jsonObject()).isEqualTo(patched.jsonObject());
        // null puts a reply back to the default; an empty one is still a 400
        var reset = a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"helpReply\": null}");
        assertThat(reset.status()).as(reset.body()).isEqualTo(200);
        assertThat(reset.jsonObject()).containsEntry("helpReply", line.get("helpReply")).containsEntry("mps", 5);
        assertThat(a.patch("/v1/lines/" + id, Map.of("helpReply", "")).status()).isEqualTo(400);

        // the number's reservation keeps the rate in step: inbound routing and the carrier's rate read it
        var reservation = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .consistentRead(true).key(Map.of("pk", AttributeValue.fromS("LINEPHONE#" + e164),
                        "sk", AttributeValue.fromS("LINEPHONE")))).item();
        assertThat(reservation.get("mps").n()).isEqualTo("5");
        assertThat(reservation.get("type").s()).isEqualTo("long_code");
        assertThat(reservation.get("lineId").s()).isEqualTo(id);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        LineService lines = new LineService(runtime.wiring());
        assertThat(lines.ownerOfPhone(e164)).contains(new LineOwner(accountId, id, 5));
        assertThat(lines.ownerOfPhone(shortCode)).contains(new LineOwner(accountId, (String) sc.get("id"), 100));
        assertThat(lines.ownerOfPhone(newLongCode())).isEmpty();
        assertThat(lines.get(accountId, id).groupMessaging()).isFalse();
        assertThat(lines.get(accountId, (String) tollFree.get("id")).tollFree()).isTrue();
        assertThat(lines.find("acct_someone_else", id)).isEmpty();
    }

    @Test
    void patchRefusesImmutableAndInvalidFields(ApiClient api) {
        ApiClient a = api.forNewAccount("Patch Lines Co");
        String id = createGroupLine(a);
        for (var body : List.<Map<String, Object>>of(
                Map.of("phone", newLongCode()), Map.of("type", "toll_free"), Map.of("country", "US"),
                Map.of(), Map.of("nickname", "x"), Map.of("mps", 0), Map.of("mps", 1001), Map.of("mps", 0.05),
                Map.of("mps", 1.2345), Map.of("mps", "2.5"),
                Map.of("groupMessaging", "yes"), Map.of("optOutReply", ""), Map.of("helpReply", "x".repeat(321)))) {
            var r = a.patch("/v1/lines/" + id, body);
            assertThat(r.status()).as(body + " -> " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        assertThat(a.patch("/v1/lines/" + id, Map.of("helpReply", "x".repeat(320))).status()).isEqualTo(200);
        assertThat(a.patch("/v1/lines/" + id, Map.of("mps", 1000)).jsonObject()).containsEntry("mps", 1000);
        // JSON has one number type: a whole number written with a fraction is that number
        var whole = a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"mps\": 20.0}");
        assertThat(whole.status()).as(whole.body()).isEqualTo(200);
        assertThat(whole.jsonObject()).containsEntry("mps", 20);
        assertThat(a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"mps\": 2e1}").jsonObject()).containsEntry("mps", 20);
        // a number past any range is out of the range, not "not a number"
        for (String mps : List.of("1000000000000000000000000000000", "1e400", "-1e400", "1e20", "0", "0.09")) {
            var huge = a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"mps\": " + mps + "}");
            assertThat(huge.status()).as(mps).isEqualTo(400);
            assertThat(huge.body()).as(mps).contains("\"mps must be between 0.1 and 1000\"");
        }
        // API.md: mps is a number; a carrier's grant per minute is a fraction (75 a minute: 1.25), kept as given
        assertThat(a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"mps\": 1.25}").jsonObject()).containsEntry("mps", 1.25);
        assertThat(a.get("/v1/lines/" + id).jsonObject()).containsEntry("mps", 1.25);
        assertThat(a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"mps\": 0.25}").jsonObject()).containsEntry("mps", 0.25);
        var fine = a.send("PATCH", "/v1/lines/" + id, "application/json", "{\"mps\": 1.2345}");
        assertThat(fine.status()).isEqualTo(400);
        assertThat(fine.body()).contains("at most 3 decimals");
        assertThat(a.get("/v1/lines/" + id).jsonObject()).containsEntry("mps", 0.25);
    }

    @Test
    void theLineListNarrowsToTheLinesThatCanDoGroupMessagingOrToOneType(ApiClient api) {
        ApiClient a = api.forNewAccount("Line Picker Co");
        String chat1 = createGroupLine(a);
        String plain = (String) createLine(a, Map.of("phone", newLongCode(), "type", "long_code")).get("id");
        String tollFree = (String) createLine(a, Map.of("phone", newTollFree(), "type", "toll_free")).get("id");
        String chat2 = createGroupLine(a);
        String shortCode = (String) createLine(a, Map.of("phone", newShortCode(), "type", "short_code")).get("id");
        createGroupLine(api.forNewAccount("Other Line Picker Co"));

        assertThat(listedLineIds(a, "groupMessaging=true")).containsExactly(chat1, chat2);
        assertThat(listedLineIds(a, "groupMessaging=false")).containsExactly(plain, tollFree, shortCode);
        assertThat(listedLineIds(a, "type=long_code")).containsExactly(chat1, plain, chat2);
        assertThat(listedLineIds(a, "type=toll_free&groupMessaging=true")).isEmpty();
        assertThat(listedLineIds(a, "")).containsExactly(chat1, plain, tollFree, chat2, shortCode);
        // a line switched off drops out of the group-messaging list at once
        assertThat(a.patch("/v1/lines/" + chat1, Map.of("groupMessaging", false)).status()).isEqualTo(200);
        assertThat(listedLineIds(a, "groupMessaging=true")).containsExactly(chat2);
        for (String bad : List.of("groupMessaging=yes", "type=landline")) {
            var r = a.get("/v1/lines?" + bad);
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
    }

    /** Every line the list gives for a query, a page of one at a time (so the cursors are exercised). */
    private static List<String> listedLineIds(ApiClient a, String query) {
        List<String> ids = new java.util.ArrayList<>();
        String cursor = null;
        do {
            var r = a.get("/v1/lines?limit=1&" + query + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            var page = items(r);
            assertThat(page).hasSizeLessThanOrEqualTo(1);
            page.forEach(l -> ids.add((String) l.get("id")));
            cursor = (String) r.jsonObject().get("nextCursor");
        } while (cursor != null);
        return ids;
    }

    @Test
    void groupMessagingNeedsAPlusOneLongCode(ApiClient api) {
        ApiClient a = api.forNewAccount("Toll Free Co");
        var refused = a.post("/v1/lines", Map.of("phone", newTollFree(), "type", "toll_free", "groupMessaging", true));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.errorCode()).isEqualTo("invalid_request");
        assertThat(refused.jsonObject().get("error")).isEqualTo(Map.of("code", "invalid_request",
                "message", "groupMessaging is not available on toll-free numbers; use a +1 long code",
                "details", List.of(Map.of("field", "groupMessaging",
                        "message", "is not available on toll-free numbers; use a +1 long code"))));
        var shortCode = a.post("/v1/lines", Map.of("phone", newShortCode(), "type", "short_code", "groupMessaging", true));
        assertThat(shortCode.status()).isEqualTo(400);
        assertThat(shortCode.body()).contains("\"groupMessaging is not available on short codes; use a +1 long code\"");
        var british = a.post("/v1/lines", Map.of("phone", "+442079460018", "type", "long_code", "groupMessaging", true));
        assertThat(british.status()).isEqualTo(400);
        assertThat(british.body()).contains("\"groupMessaging is available only on +1 (US or Canada) long codes\"");
        // a toll-free number cannot pass for a long code
        var mislabelled = a.post("/v1/lines", Map.of("phone", newTollFree(), "type", "long_code", "groupMessaging", true));
        assertThat(mislabelled.status()).isEqualTo(400);
        assertThat(mislabelled.body()).contains("toll-free");
        assertThat(items(a.get("/v1/lines"))).isEmpty();

        String tollFreeId = (String) createLine(a, Map.of("phone", newTollFree(), "type", "toll_free")).get("id");
        var patch = a.patch("/v1/lines/" + tollFreeId, Map.of("groupMessaging", true));
        assertThat(patch.status()).isEqualTo(400);
        assertThat(patch.body()).contains("\"groupMessaging is not available on toll-free numbers; use a +1 long code\"");
        assertThat(a.get("/v1/lines/" + tollFreeId).jsonObject()).containsEntry("groupMessaging", false);
        assertThat(a.patch("/v1/lines/" + tollFreeId, Map.of("groupMessaging", false)).status()).isEqualTo(200);
    }

    @Test
    void createValidatesEveryField(ApiClient api) {
        ApiClient a = api.forNewAccount("Validation Lines Co");
        Map<String, Object> good = Map.of("phone", newLongCode(), "type", "long_code");
        for (var body : List.<Map<String, Object>>of(
                Map.of("type", "long_code"), with(good, "type", "landline"), Map.of("phone", newLongCode()),
                with(good, "phone", "4155550123"), with(good, "phone", "+15555550123"), with(good, "phone", "not a phone"),
                with(good, "mps", 0), with(good, "mps", 1001), with(good, "mps", "5"), with(good, "groupMessaging", "true"),
                with(good, "optOutReply", " "), with(good, "optInReply", "y".repeat(321)), with(good, "extra", 1),
                Map.of("phone", "12", "type", "short_code"), Map.of("phone", "+12345", "type", "short_code"),
                with(good, "country", "XX"))) {
            var r = a.post("/v1/lines", body);
            assertThat(r.status()).as(body + " -> " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        var huge = a.send("POST", "/v1/lines", "application/json",
                "{\"phone\":\"" + good.get("phone") + "\",\"type\":\"long_code\",\"mps\":1000000000000000000000000000000}");
        assertThat(huge.status()).isEqualTo(400);
        assertThat(huge.body()).contains("\"mps must be between 0.1 and 1000\"");
        var malformed = a.send("POST", "/v1/lines", "application/json", "{\"phone\":");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(items(a.get("/v1/lines"))).isEmpty();
        assertThat(a.post("/v1/lines", with(good, "mps", 1000)).status()).isEqualTo(201);
        var perMinute = a.post("/v1/lines", Map.of("phone", newLongCode(), "type", "long_code", "mps", 0.5));
        assertThat(perMinute.status()).as(perMinute.body()).isEqualTo(201);
        assertThat(perMinute.jsonObject()).containsEntry("mps", 0.5);
    }

    @Test
    void aNumberBelongsToOneLineAcrossAccounts(ApiClient api) {
        ApiClient first = api.forNewAccount("First Owner Co");
        ApiClient second = api.forNewAccount("Second Owner Co");
        String phone = newLongCode();
        createLine(first, Map.of("phone", phone, "type", "long_code"));
        String firstAccount = (String) first.get("/v1/account").jsonObject().get("id");

        var taken = second.post("/v1/lines", Map.of("phone", phone, "type", "long_code"));
        assertThat(taken.status()).isEqualTo(409);
        assertThat(taken.errorCode()).isEqualTo("conflict");
        assertThat(taken.body()).doesNotContain(firstAccount).doesNotContain("First Owner");
        // the same number in another spelling, or under another type, is the same number
        String national = phone.substring(2);
        assertThat(second.post("/v1/lines", Map.of("phone", national, "country", "US", "type", "toll_free")).status())
                .isEqualTo(409);
        assertThat(first.post("/v1/lines", Map.of("phone", phone, "type", "long_code")).status()).isEqualTo(409);
        assertThat(items(second.get("/v1/lines"))).isEmpty();
        assertThat(items(first.get("/v1/lines"))).hasSize(1);

        String shortCode = newShortCode();
        createLine(first, Map.of("phone", shortCode, "type", "short_code"));
        assertThat(second.post("/v1/lines", Map.of("phone", shortCode, "type", "short_code")).status()).isEqualTo(409);
    }

    @Test
    void membersReadLinesButOnlyOwnersAndAdminsChangeThem(ApiClient api) {
        ApiClient owner = api.forNewAccount("Line Roles Co");
        ApiClient admin = owner.withKey((String) owner.post("/v1/api-keys", Map.of("name", "a", "role", "admin")).jsonObject().get("key"));
        ApiClient member = owner.withKey((String) owner.post("/v1/api-keys", Map.of("name", "m", "role", "member")).jsonObject().get("key"));

        var denied = member.post("/v1/lines", Map.of("phone", newLongCode(), "type", "long_code"));
        assertThat(denied.status()).isEqualTo(403);
        assertThat(denied.errorCode()).isEqualTo("forbidden");
        String id = (String) createLine(admin, Map.of("phone", newLongCode(), "type", "long_code")).get("id");
        assertThat(member.patch("/v1/lines/" + id, Map.of("mps", 2)).status()).isEqualTo(403);
        assertThat(member.get("/v1/lines/" + id).status()).isEqualTo(200);
        assertThat(items(member.get("/v1/lines"))).hasSize(1);
        assertThat(admin.patch("/v1/lines/" + id, Map.of("mps", 2)).status()).isEqualTo(200);
        assertThat(api.withoutKey().get("/v1/lines").status()).isEqualTo(401);
    }

    @Test
    void anotherAccountsLineIsNotFound(ApiClient api) {
        ApiClient mine = api.forNewAccount("Mine Co");
        ApiClient theirs = api.forNewAccount("Theirs Co");
        String id = createGroupLine(theirs);
        for (String path : List.of("/v1/lines/" + id, "/v1/lines/line_01JD0000000000000000000000", "/v1/lines/grp_x")) {
            var get = mine.get(path);
            assertThat(get.status()).as(path).isEqualTo(404);
            assertThat(get.errorCode()).isEqualTo("not_found");
            assertThat(mine.patch(path, Map.of("mps", 9)).status()).as(path).isEqualTo(404);
        }
        assertThat(items(mine.get("/v1/lines"))).isEmpty();
        assertThat(theirs.get("/v1/lines/" + id).jsonObject()).containsEntry("mps", 1);
    }

    /**
     * The account's lines and its opt-outs are listed from strongly consistent reads, as its keys and groups are: a
     * line just created, an opt-out just recorded, must be listed right after. DynamoDB Local is always consistent, so
     * the requests themselves are looked at.
     */
    @Test
    void theLinesAndTheOptOutsAreListedFromConsistentReads(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Consistent Lists Co");
        String lineId = MessagesE2eTest.createLine(a, MessagesE2eTest.linePhone(), 10);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550188")).status()).isEqualTo(201);
        var queries = new java.util.concurrent.CopyOnWriteArrayList<software.amazon.awssdk.services.dynamodb.model.QueryRequest>();
        var wiring = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q) queries.add(q);
            }
        });
        var lines = IdempotentRetriesE2eTest.call(new groupmsg.accounts.AdminApiHandler(wiring), a, "GET /v1/lines",
                "/v1/lines", Map.of(), null, "consistent-lines");
        assertThat(lines.getStatusCode()).as(lines.getBody()).isEqualTo(200);
        assertThat(lines.getBody()).contains(lineId);
        var optOuts = IdempotentRetriesE2eTest.call(new groupmsg.inbound.InboundApiHandler(wiring), a, "GET /v1/opt-outs",
                "/v1/opt-outs", Map.of(), null, "consistent-opt-outs");
        assertThat(optOuts.getStatusCode()).as(optOuts.getBody()).isEqualTo(200);
        assertThat(optOuts.getBody()).contains("+14155550188");
        assertThat(queries).as("the lists' reads").hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(q -> assertThat(q.consistentRead()).as("strongly consistent: %s", q).isTrue());
    }

    @Test
    void createIsIdempotent(ApiClient api) {
        ApiClient a = api.forNewAccount("Idem Lines Co");
        Map<String, Object> body = Map.of("phone", newLongCode(), "type", "long_code", "groupMessaging", true);
        ApiClient keyed = a.withHeader("Idempotency-Key", "line-1");
        var first = keyed.post("/v1/lines", body);
        var replay = keyed.post("/v1/lines", body);
        assertThat(first.status()).isEqualTo(201);
        assertThat(replay.status()).isEqualTo(201);
        assertThat(replay.jsonObject()).isEqualTo(first.jsonObject());
        assertThat(replay.header("idempotent-replayed")).isEqualTo("true");
        var changed = keyed.post("/v1/lines", Map.of("phone", newLongCode(), "type", "long_code"));
        assertThat(changed.status()).isEqualTo(409);
        assertThat(items(a.get("/v1/lines"))).hasSize(1);
        // without a key, a retry finds the number taken
        assertThat(a.post("/v1/lines", body).status()).isEqualTo(409);
    }
}
