package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.dynamo.DynamoOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static org.assertj.core.api.Assertions.assertThat;

/** Group messages end to end: API -> fan-out -> deliveries -> production Twilio adapter -> carrier emulator -> callbacks. */
@ExtendWith(LocalRuntimeExtension.class)
class MessagesE2eTest {
    private static final AtomicInteger LINE_NUMBERS = new AtomicInteger(100);

    static String linePhone() {
        return String.format("+1212555%04d", LINE_NUMBERS.incrementAndGet());
    }

    static String createLine(ApiClient api, String phone, int mps) {
        var r = api.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "groupMessaging", false, "mps", mps));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return (String) r.jsonObject().get("id");
    }

    static List<String> addMembers(ApiClient api, String groupId, int from, int count) {
        List<Map<String, Object>> members = new ArrayList<>();
        List<String> phones = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String p = String.format("+1617555%04d", i);
            phones.add(p);
            members.add(Map.of("phone", p, "name", "M" + i));
        }
        for (int i = 0; i < members.size(); i += 1000) {
            var r = api.post("/v1/groups/" + groupId + "/members", Map.of("members", members.subList(i, Math.min(members.size(), i + 1000))));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
        }
        return phones;
    }

    static Map<String, Object> send(ApiClient api, String groupId, String lineId, String body) {
        var r = api.post("/v1/groups/" + groupId + "/messages", Map.of("lineId", lineId, "sender", "Food Bank",
                "title", "test " + body, "body", body));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        return r.jsonObject();
    }

    static Map<String, Object> awaitSent(ApiClient api, String messageId, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        Map<String, Object> m;
        do {
            Thread.sleep(200);
            m = api.get("/v1/messages/" + messageId).jsonObject();
        } while (!"sent".equals(m.get("status")) && System.currentTimeMillis() < deadline);
        assertThat(m.get("status")).as("message %s sent within %d ms: %s", messageId, timeoutMillis, m).isEqualTo("sent");
        return m;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> carrierMessages(ApiClient api, String from) {
        return (List<Map<String, Object>>) api.withoutKey().get("/local/carrier/messages?from=" + from.replace("+", "%2B"))
                .jsonObject().get("items");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> allDeliveries(ApiClient api, String messageId) {
        List<Map<String, Object>> all = new ArrayList<>();
        String cursor = null;
        do {
            var r = api.get("/v1/messages/" + messageId + "/deliveries?limit=100" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            all.addAll((List<Map<String, Object>>) r.jsonObject().get("items"));
            cursor = (String) r.jsonObject().get("nextCursor");
        } while (cursor != null);
        return all;
    }

    @SuppressWarnings("unchecked")
    private static List<String> listedIds(ApiClient a, String query) {
        List<String> ids = new ArrayList<>();
        String cursor = null;
        do {
            var r = a.get("/v1/messages?limit=1&" + query + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            var items = (List<Map<String, Object>>) r.jsonObject().get("items");
            assertThat(items).hasSizeLessThanOrEqualTo(1);
            items.forEach(m -> ids.add((String) m.get("id")));
            cursor = (String) r.jsonObject().get("nextCursor");
            assertThat(cursor == null || !items.isEmpty()).as("a cursor only after a page that holds something").isTrue();
        } while (cursor != null);
        return ids;
    }

    private static String sendTitled(ApiClient a, String groupId, String lineId, String title) {
        var r = a.post("/v1/groups/" + groupId + "/messages", Map.of("lineId", lineId, "sender", "Food Bank",
                "title", title, "body", "About: " + title));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        return (String) r.jsonObject().get("id");
    }

    /**
     * A message of several segments takes as many of its line's places per send, as the carrier counts a line's
     * throughput in segments: 3 segments on a 2 mps line go 1.65 s apart, not 0.55 s (before, such a broadcast went at
     * three times the line's rate, and the carrier queued the excess for hours, then refused it).
     */
    @Test
    void aMessageOfSeveralSegmentsTakesAsManyOfItsLinesRate(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Long Texts Co");
        String line = linePhone();
        String lineId = createLine(a, line, 2);
        String g = createGroup(a, "Long texts");
        addMembers(a, g, 7300, 5);
        var r = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", "Long",
                "body", "x".repeat(400)));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.jsonObject()).containsEntry("segments", 3);
        var sent = InboundE2eTest.await(() -> carrierMessages(a, line), l -> l.size() >= 5, 30_000);
        assertThat(sent).hasSize(5);
        List<Instant> at = sent.stream().map(m -> Instant.parse((String) m.get("createdAt"))).sorted().toList();
        for (int i = 1; i < at.size(); i++) {
            assertThat(java.time.Duration.between(at.get(i - 1), at.get(i)).toMillis()).as("send " + i)
                    .isGreaterThanOrEqualTo(1_500);
        }
        // the emulator counts the line's rate in segments too: a send paced by messages would be refused (429)
        assertThat(runtime.carrierEmulator().rejections(null, line)).as("the carrier refused none").isEmpty();
    }

    /** A page of messages reads all their counters in one BatchGetItem (a page of 100 made 100 calls one after another). */
    @Test
    @SuppressWarnings("unchecked")
    void aPageOfMessagesReadsAllTheirCountersInOneCall(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Counted List Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), 1000);
        String g = createGroup(a, "Counted");
        addMembers(a, g, 7100, 3);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) ids.add((String) send(a, g, lineId, "counted " + i).get("id"));
        for (String id : ids) assertThat(awaitSent(a, id, 15_000)).containsEntry("status", "sent");

        var batchGets = new AtomicInteger();
        var counted = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest) batchGets.incrementAndGet();
            }
        });
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var service = new groupmsg.messages.MessageService(counted, new groupmsg.groups.GroupService(counted, queue), queue);
        var page = service.list(accountId, new groupmsg.messages.MessageService.ListFilter(null, null, null, null, null, null, null),
                100, null);
        assertThat(page.messages()).hasSize(6);
        assertThat(batchGets).as("six messages' counters: one call").hasValue(1);
        for (var view : page.messages()) {
            assertThat(view.counts().get("sent") + view.counts().get("delivered")).as(view.message().id()).isEqualTo(3);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theMessageListNarrowsByLineTitleStatusAndTimeAndKeepsTheGroupNameAndTheSendingKey(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("History Co");
        String line1 = createLine(a, linePhone(), 50);
        String line2 = createLine(a, linePhone(), 50);
        String volunteers = createGroup(a, "Volunteers");
        String donors = createGroup(a, "Donors");
        addMembers(a, volunteers, 7000, 2);
        addMembers(a, donors, 7010, 1);

        String pantry = sendTitled(a, volunteers, line1, "Pantry hours");
        String coats = sendTitled(a, volunteers, line2, "Coat drive");
        Thread.sleep(20);
        long between = System.currentTimeMillis();
        Thread.sleep(20);
        String cafe = sendTitled(a, donors, line1, "Café night");
        for (String id : List.of(pantry, coats, cafe)) assertThat(awaitSent(a, id, 20_000)).containsEntry("status", "sent");
        ApiClient other = api.forNewAccount("Other History Co");
        String otherLine = createLine(other, linePhone(), 50);
        String otherGroup = createGroup(other, "Volunteers");
        addMembers(other, otherGroup, 7000, 1);
        String theirs = sendTitled(other, otherGroup, otherLine, "Pantry hours too");
        assertThat(awaitSent(other, theirs, 20_000)).containsEntry("status", "sent");

        // the name the group had when the message was sent, after a rename and after the group is gone
        assertThat(a.patch("/v1/groups/" + volunteers, Map.of("name", "Helpers")).status()).isEqualTo(200);
        assertThat(a.delete("/v1/groups/" + donors).status()).isEqualTo(204);
        String keyId = (String) ((List<Map<String, Object>>) a.get("/v1/api-keys").jsonObject().get("items")).getFirst().get("id");
        var shown = a.get("/v1/messages/" + pantry).jsonObject();
        assertThat(shown).containsEntry("groupId", volunteers).containsEntry("groupName", "Volunteers")
                .containsEntry("sentBy", Map.of("apiKeyId", keyId));
        assertThat(a.get("/v1/messages/" + cafe).jsonObject()).containsEntry("groupName", "Donors");

        assertThat(listedIds(a, "")).containsExactly(cafe, coats, pantry);
        assertThat(listedIds(a, "lineId=" + line1)).containsExactly(cafe, pantry);
        assertThat(listedIds(a, "lineId=" + line2 + "&groupId=" + volunteers)).containsExactly(coats);
        assertThat(listedIds(a, "search=CAFE")).as("title, ignoring case and accents").containsExactly(cafe);
        assertThat(listedIds(a, "search=%20pantry%20")).containsExactly(pantry);
        assertThat(listedIds(a, "search=night&groupId=" + volunteers)).isEmpty();
        assertThat(listedIds(a, "search=%CC%81")).as("folds to nothing: in no title").isEmpty();
        assertThat(listedIds(a, "status=sent")).containsExactly(cafe, coats, pantry);
        assertThat(listedIds(a, "status=sending")).isEmpty();
        String at = Instant.ofEpochMilli(between).toString();
        assertThat(listedIds(a, "since=" + at)).containsExactly(cafe);
        assertThat(listedIds(a, "until=" + at)).containsExactly(coats, pantry);
        assertThat(listedIds(a, "until=" + at + "&groupId=" + volunteers + "&lineId=" + line1)).containsExactly(pantry);
        assertThat(listedIds(a, "since=" + Instant.ofEpochMilli(between).atOffset(java.time.ZoneOffset.ofHours(2)).toString()
                .replace("+", "%2B"))).as("any zone offset").containsExactly(cafe);
        assertThat(listedIds(a, "since=" + Instant.ofEpochMilli(between).atOffset(java.time.ZoneOffset.ofHours(2)).toString()))
                .as("the offset's '+' not encoded: it arrives as a space").containsExactly(cafe);
        assertThat(listedIds(a, "since=" + Instant.now().plusSeconds(60))).isEmpty();
        // times at the ends of what a time can be (epoch milliseconds in a long) are times all the same
        String latest = "%2B292278994-08-17T07:10:00Z", earliest = "-292275055-05-16T16:50:00Z";
        assertThat(listedIds(a, "since=" + latest)).isEmpty();
        assertThat(listedIds(a, "since=" + latest + "&until=" + latest)).isEmpty();
        assertThat(listedIds(a, "until=" + latest + "&groupId=" + volunteers)).containsExactly(coats, pantry);
        assertThat(listedIds(a, "since=" + earliest)).containsExactly(cafe, coats, pantry);
        assertThat(listedIds(a, "since=" + earliest + "&until=" + earliest)).isEmpty();
        assertThat(listedIds(a, "since=1900-01-01T00:00:00Z&until=1969-12-31T23:59:59.999Z")).isEmpty();

        // the messages one number was sent, each with its delivery to that number; one added later got none before
        addMembers(a, volunteers, 7010, 1);
        assertThat(listedIds(a, "phone=%2B16175557000")).containsExactly(coats, pantry);
        assertThat(listedIds(a, "phone=%2B16175557010")).containsExactly(cafe);
        assertThat(listedIds(a, "phone=(617)%20555-7001&country=US&lineId=" + line1)).containsExactly(pantry);
        assertThat(listedIds(a, "phone=%2B16175557099")).isEmpty();
        assertThat(listedIds(other, "phone=%2B16175557000")).as("another account's messages only").containsExactly(theirs);
        // a line that is none of the account's is a 404, not an empty list (a mistyped id is no "nothing sent")
        for (String unknown : List.of("line_01JDNOSUCHLINE000000000000", line1)) {
            var r = other.get("/v1/messages?lineId=" + unknown);
            assertThat(r.status()).as(unknown + ": " + r.body()).isEqualTo(404);
            assertThat(r.errorCode()).isEqualTo("not_found");
        }
        // so is a group that is none of the account's; a deleted group's messages still list, a quiet group's none
        for (String unknown : List.of("grp_01JDNOSUCHGROUP00000000000", volunteers, "nogroup")) {
            var r = other.get("/v1/messages?groupId=" + unknown);
            assertThat(r.status()).as(unknown + ": " + r.body()).isEqualTo(404);
            assertThat(r.errorCode()).isEqualTo("not_found");
            assertThat(other.get("/v1/messages?search=pantry&groupId=" + unknown).status()).as("narrowed too").isEqualTo(404);
        }
        assertThat(listedIds(a, "groupId=" + donors)).as("deleted").containsExactly(cafe);
        assertThat(listedIds(a, "groupId=" + donors + "&search=pantry")).as("deleted, none matching").isEmpty();
        assertThat(listedIds(a, "groupId=" + createGroup(a, "Quiet"))).isEmpty();
        var withDelivery = (List<Map<String, Object>>) a.get("/v1/messages?phone=%2B16175557000").jsonObject().get("items");
        assertThat(withDelivery).allSatisfy(m -> assertThat((Map<String, Object>) m.get("delivery"))
                .containsEntry("phone", "+16175557000").containsKeys("status", "carrierMessageId", "updatedAt"));
        assertThat((Map<String, Object>) withDelivery.getFirst().get("delivery")).extractingByKey("status").isIn("sent", "delivered");
        assertThat((List<Map<String, Object>>) a.get("/v1/messages").jsonObject().get("items")).allSatisfy(m ->
                assertThat(m).doesNotContainKey("delivery"));

        for (String bad : List.of("phone=12", "status=queued", "since=yesterday", "until=2026-12-01", "since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z",
                "search=" + "x".repeat(201), "lineId=" + "l".repeat(300), "groupid=" + volunteers, "group_id=" + volunteers)) {
            var r = a.get("/v1/messages?" + bad);
            assertThat(r.status()).as(bad + ": " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGroupMessageReachesEveryMemberOnceWithStatusCountsUsageAndOneNotification(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Broadcast Co");
        String line = linePhone();
        String lineId = createLine(a, line, 50);
        String g = createGroup(a, "Everyone");
        List<String> phones = addMembers(a, g, 0, 120);

        var accepted = send(a, g, lineId, "Pantry opens at 9");
        assertThat(accepted).containsEntry("status", "sending").containsEntry("recipients", 120)
                .containsEntry("encoding", "GSM-7").containsEntry("segments", 1).containsEntry("groupId", g);
        String id = (String) accepted.get("id");
        assertThat(id).startsWith("msg_");

        var done = awaitSent(a, id, 60_000);
        assertThat(done).containsEntry("status", "sent").containsEntry("recipients", 120);
        var counts = (Map<String, Object>) done.get("counts");
        assertThat(((Number) counts.get("sent")).intValue() + ((Number) counts.get("delivered")).intValue()).isEqualTo(120);
        assertThat(counts).containsEntry("queued", 0).containsEntry("failed", 0).containsEntry("optedOut", 0);

        var sentByCarrier = carrierMessages(a, line);
        assertThat(sentByCarrier).hasSize(120);
        assertThat(sentByCarrier).extracting(m -> m.get("to")).containsExactlyInAnyOrderElementsOf(phones);
        assertThat(sentByCarrier).allSatisfy(m -> assertThat(m.get("body")).isEqualTo("Food Bank: Pantry opens at 9"));
        assertThat(done).containsEntry("text", "Food Bank: Pantry opens at 9");

        var deliveries = allDeliveries(a, id);
        assertThat(deliveries).hasSize(120);
        assertThat(deliveries).allSatisfy(d -> {
            assertThat(d.get("status")).isIn("sent", "delivered");
            assertThat((String) d.get("carrierMessageId")).startsWith("SM");
        });
        assertThat(new HashSet<>(deliveries.stream().map(d -> d.get("phone")).toList())).hasSize(120);
        // an edited cursor (a "phone" no row could have: DynamoDB would refuse it as a key) is the caller's 400
        for (String phone : List.of("+1" + "5".repeat(2000), "+abc", "")) {
            String edited = Base64.getUrlEncoder().withoutPadding().encodeToString(
                    ("{\"s\":0,\"p\":\"" + phone + "\"}").getBytes(StandardCharsets.UTF_8));
            assertThat(a.get("/v1/messages/" + id + "/deliveries?cursor=" + edited).status()).as(phone.length() + " characters").isEqualTo(400);
        }
        // a status filter pages through exactly the rows of that status, a few at a time (once every receipt is in,
        // so no row changes status between the pages)
        long waitUntil = System.currentTimeMillis() + 30_000;
        while (((Number) ((Map<String, Object>) a.get("/v1/messages/" + id).jsonObject().get("counts")).get("delivered")).intValue() < 120) {
            assertThat(System.currentTimeMillis()).as("every receipt in within 30 s").isLessThan(waitUntil);
            Thread.sleep(200);
        }
        var settled = allDeliveries(a, id);
        for (String status : List.of("sent", "delivered")) {
            List<Object> filtered = new ArrayList<>();
            String cursor = null;
            do {
                var page = a.get("/v1/messages/" + id + "/deliveries?status=" + status + "&limit=7" + (cursor == null ? "" : "&cursor=" + cursor)).jsonObject();
                var items = (List<Map<String, Object>>) page.get("items");
                assertThat(items).hasSizeLessThanOrEqualTo(7).allSatisfy(d -> assertThat(d).containsEntry("status", status));
                items.forEach(d -> filtered.add(d.get("phone")));
                cursor = (String) page.get("nextCursor");
            } while (cursor != null);
            assertThat(filtered).containsExactlyInAnyOrderElementsOf(settled.stream()
                    .filter(d -> status.equals(d.get("status"))).map(d -> d.get("phone")).toList());
        }

        var usage = usageOfTheTest(a);
        assertThat(usage).containsEntry("messages", 120).containsEntry("segments", 120).containsEntry("mms", 0)
                .containsEntry("byKind", List.of(Map.of("kind", "group", "messages", 120, "segments", 120, "mms", 0)));

        var events = (List<Map<String, Object>>) a.withoutKey().get("/local/events?topic=notifications").jsonObject().get("items");
        // as its fan-out starts, what an in-app, push or email copy needs; once every text has gone, with the counts
        var mine = events.stream().filter(e -> id.equals(e.get("messageId"))).toList();
        assertThat(mine).extracting(e -> e.get("type")).containsExactly("group_message.accepted", "group_message.sent");
        assertThat(mine.getFirst()).containsEntry("sender", "Food Bank").containsEntry("body", "Pantry opens at 9")
                .containsEntry("mediaUrls", List.of()).containsEntry("recipients", 120).containsKey("createdAt")
                .doesNotContainKeys("counts", "completedAt");
        assertThat(mine.getLast()).containsEntry("sender", "Food Bank").containsEntry("body", "Pantry opens at 9")
                .containsEntry("mediaUrls", List.of()).containsEntry("recipients", 120)
                .containsKeys("createdAt", "completedAt", "counts");
        var integrations = (List<Map<String, Object>>) a.withoutKey().get("/local/events?topic=integrations").jsonObject().get("items");
        assertThat(integrations.stream().filter(e -> id.equals(e.get("messageId"))).toList()).isEmpty();

        var cancel = a.delete("/v1/messages/" + id);
        assertThat(cancel.status()).isEqualTo(405);
        assertThat(cancel.errorCode()).isEqualTo("not_cancellable");
        assertThat(cancel.header("allow")).as("a 405 names what is allowed").isEqualTo("GET");
        assertThat((List<?>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items")).hasSize(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aSendDuringAMemberAddGoesToExactlyTheMembersItCountedAtAcceptance(ApiClient api) throws Exception {
        // Members added in one request are written in transactions of 98 over a while; a message accepted in the
        // middle must count exactly those it will send to: the ones the fan-out finds present at its acceptance.
        ApiClient a = api.forNewAccount("Racing Co");
        String lineId = createLine(a, linePhone(), 1000);
        String g = createGroup(a, "Growing");
        addMembers(a, g, 0, 100);
        Map<String, Object> accepted;
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(1)) {
            var adding = pool.submit(() -> addMembers(a, g, 1000, 1000));
            Thread.sleep(150);
            accepted = send(a, g, lineId, "Mid-add");
            adding.get();
        }
        String id = (String) accepted.get("id");
        long counted = ((Number) accepted.get("recipients")).longValue();
        var done = awaitSent(a, id, 60_000);
        assertThat(done).containsEntry("status", "sent");
        assertThat(((Number) done.get("recipients")).longValue()).as("the count at acceptance is the count sent to").isEqualTo(counted);
        var delivered = allDeliveries(a, id).stream().filter(d -> List.of("sent", "delivered").contains(d.get("status")))
                .map(d -> (String) d.get("phone")).collect(java.util.stream.Collectors.toSet());
        assertThat((long) delivered.size()).isEqualTo(counted);
        // and those are exactly the members added at or before the message's acceptance
        Instant acceptedAt = Instant.parse((String) accepted.get("createdAt"));
        List<Map<String, Object>> members = new ArrayList<>();
        String cursor = null;
        do {
            var page = a.get("/v1/groups/" + g + "/members?limit=100" + (cursor == null ? "" : "&cursor=" + cursor)).jsonObject();
            members.addAll((List<Map<String, Object>>) page.get("items"));
            cursor = (String) page.get("nextCursor");
        } while (cursor != null);
        assertThat(members).hasSize(1100);
        for (var m : members) {
            boolean before = !Instant.parse((String) m.get("addedAt")).isAfter(acceptedAt);
            assertThat(delivered.contains((String) m.get("phone"))).as(m.get("phone") + " added " + m.get("addedAt")
                    + ", message accepted " + acceptedAt).isEqualTo(before);
        }
    }

    @Test
    void recipientsAreTheMembersAtAcceptanceAndOptedOutNumbersAreSkipped(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Snapshot Co");
        String line = linePhone();
        String lineId = createLine(a, line, 5);
        String g = createGroup(a, "Snap");
        List<String> phones = addMembers(a, g, 200, 12);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        new OptOutStore(new DynamoOps(runtime.wiring().dynamo()), "core")
                .recordManual(accountId, lineId, phones.get(0), System.currentTimeMillis(), null);

        String id = (String) send(a, g, lineId, "Snapshot").get("id");
        // after acceptance: one member removed (still receives), one added (never receives)
        assertThat(a.delete("/v1/groups/" + g + "/members/" + phones.get(1).replace("+", "%2B")).status()).isEqualTo(204);
        String late = addMembers(a, g, 900, 1).get(0);

        var done = awaitSent(a, id, 60_000);
        assertThat(done).containsEntry("status", "sent").containsEntry("recipients", 12);
        var to = carrierMessages(a, line).stream().map(m -> m.get("to")).toList();
        assertThat(to).hasSize(11).contains(phones.get(1)).doesNotContain(late, phones.get(0));
        var optedOut = allDeliveries(a, id).stream().filter(d -> phones.get(0).equals(d.get("phone"))).findFirst().orElseThrow();
        assertThat(optedOut).containsEntry("status", "opted_out").containsEntry("carrierMessageId", null);
        var usage = usageOfTheTest(a);
        assertThat(usage).containsEntry("messages", 11);
    }

    @Test
    void theLinesRateIsNeverExceededAndIsUsed(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Pacing Co");
        String line = linePhone();
        String lineId = createLine(a, line, 20);
        String g = createGroup(a, "Paced");
        addMembers(a, g, 300, 100);
        long start = System.currentTimeMillis();
        String id = (String) send(a, g, lineId, "Paced").get("id");
        var done = awaitSent(a, id, 60_000);
        long took = System.currentTimeMillis() - start;
        assertThat(done).containsEntry("status", "sent");
        var sent = carrierMessages(a, line);
        assertThat(sent).hasSize(100);
        List<Long> times = sent.stream().map(m -> Instant.parse((String) m.get("createdAt")).toEpochMilli()).sorted().toList();
        int busiest = 0;
        for (int i = 0, j = 0; i < times.size(); i++) {
            while (times.get(i) - times.get(j) >= 1000) j++;
            busiest = Math.max(busiest, i - j + 1);
        }
        assertThat(busiest).as("busiest 1-second window").isLessThanOrEqualTo(20);
        // 100 at 20 per 1.1 s is 5.4 s from the first send to the last at the carrier: never faster, and the rate is
        // used, not wasted (9 s is 60% of it); the whole send, start-up and completion included, is a sanity bound
        assertThat(times.getLast() - times.getFirst()).as("first to last send, ms").isBetween(5_000L, 9_000L);
        assertThat(took).isBetween(5_000L, 30_000L);
        assertThat(allDeliveries(a, id)).allSatisfy(d -> assertThat(d.get("status")).isIn("sent", "delivered"));
    }

    /**
     * API.md's mps is a number: a line granted 30 a minute is given 0.5 a second, and never goes faster than the
     * carrier counts it (the emulator: one in any 2 s; a whole 1 mps would be refused), nor much slower.
     */
    @Test
    void aFractionalRateIsNeverExceededAndIsUsed(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Per Minute Co");
        String line = linePhone();
        var created = a.post("/v1/lines", Map.of("phone", line, "type", "long_code", "groupMessaging", false, "mps", 0.5));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.jsonObject()).containsEntry("mps", 0.5);
        String g = createGroup(a, "Per minute");
        addMembers(a, g, 420, 4);
        String id = (String) send(a, g, (String) created.jsonObject().get("id"), "Paced by the minute").get("id");
        assertThat(awaitSent(a, id, 60_000)).containsEntry("status", "sent");

        var sent = carrierMessages(a, line);
        assertThat(sent).hasSize(4);
        assertThat(runtime.carrierEmulator().rejections(null, line)).as("the carrier refused none").isEmpty();
        List<Long> times = sent.stream().map(m -> Instant.parse((String) m.get("createdAt")).toEpochMilli()).sorted().toList();
        for (int i = 1; i < times.size(); i++) {
            assertThat(times.get(i) - times.get(i - 1)).as("gap before send %d, ms", i).isGreaterThanOrEqualTo(2_000L);
        }
        // 3 gaps of 2.2 s (1.1 s / 0.5) is 6.6 s: used, not wasted
        assertThat(times.getLast() - times.getFirst()).as("first to last send, ms").isBetween(6_000L, 12_000L);
    }

    @Test
    void aDeliveryBatchDeliveredTwiceSendsNothingTwice(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Duplicate Co");
        String line = linePhone();
        String lineId = createLine(a, line, 50);
        String g = createGroup(a, "Dups");
        List<String> phones = addMembers(a, g, 500, 10);
        String id = (String) send(a, g, lineId, "Once").get("id");
        assertThat(awaitSent(a, id, 60_000)).containsEntry("status", "sent");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        StringBuilder list = new StringBuilder();
        for (String p : phones) list.append(list.isEmpty() ? "" : ",").append('"').append(p).append('"');
        String body = "{\"accountId\":\"" + accountId + "\",\"messageId\":\"" + id + "\",\"shard\":0,\"phones\":[" + list + "]}";
        // the same batch twice more, as SQS may hand it over again: run by the worker here, so that each run is over
        // when the carrier is asked
        var worker = runtime.functions().get("delivery-worker");
        for (int i = 0; i < 2; i++) {
            assertThat(worker.invoke(InboundFaultsTest.sqsEvent("deliveries",
                    new groupmsg.platform.queue.QueueMessage(body, null, null, 0)))).isEqualTo("{\"batchItemFailures\":[]}");
        }
        assertThat(carrierMessages(a, line)).hasSize(10);
    }

    @Test
    void badSendsAre4xxAndCreateNothing(ApiClient api) {
        ApiClient a = api.forNewAccount("Bad Send Co");
        ApiClient other = api.forNewAccount("Other Co");
        String lineId = createLine(a, linePhone(), 1);
        String otherLine = createLine(other, linePhone(), 1);
        String g = createGroup(a, "G");
        String path = "/v1/groups/" + g + "/messages";
        assertThat(a.post(path, Map.of("lineId", otherLine, "sender", "x", "title", "t", "body", "b")).status()).isEqualTo(400);
        assertThat(a.post(path, Map.of("lineId", lineId, "sender", "x", "title", "t", "body", "b".repeat(1601))).status()).isEqualTo(400);
        assertThat(a.post(path, Map.of("lineId", lineId, "sender", "x", "title", "t", "body", "")).status()).isEqualTo(400);
        for (String media : List.of("http://insecure.example/a.jpg", "https://media.example:99999/a.jpg",
                "https://user:secret@media.example/a.jpg", "https:///a.jpg")) {
            var refused = a.post(path, Map.of("lineId", lineId, "sender", "x", "title", "t", "body", "b", "mediaUrls", List.of(media)));
            assertThat(refused.status()).as(media).isEqualTo(400);
            assertThat(refused.body()).as(media).contains("mediaUrls[0]").doesNotContain("secret");
        }
        assertThat(a.post(path, Map.of("lineId", lineId, "title", "t", "body", "b")).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/grp_missing/messages", Map.of("lineId", lineId, "sender", "x", "title", "t", "body", "b")).status()).isEqualTo(404);
        assertThat(other.get("/v1/messages").jsonObject().get("items")).asList().isEmpty();
        assertThat(a.get("/v1/messages").jsonObject().get("items")).asList().isEmpty();
        assertThat(a.get("/v1/messages/msg_nope").status()).isEqualTo(404);
    }

    @Test
    void encodingAndSegmentsDescribeTheTextWithItsSenderPrefix(ApiClient api) {
        ApiClient a = api.forNewAccount("Encoding Co");
        String lineId = createLine(a, linePhone(), 1);
        String g = createGroup(a, "Enc");
        // "Food Bank: " is 11 characters: 149 more make 160 (one GSM-7 segment), 150 make two
        assertThat(send(a, g, lineId, "x".repeat(149))).containsEntry("encoding", "GSM-7").containsEntry("segments", 1);
        assertThat(send(a, g, lineId, "x".repeat(150))).containsEntry("encoding", "GSM-7").containsEntry("segments", 2);
        assertThat(send(a, g, lineId, "✓".repeat(59))).containsEntry("encoding", "UCS-2").containsEntry("segments", 1);
        assertThat(send(a, g, lineId, "✓".repeat(60))).containsEntry("encoding", "UCS-2").containsEntry("segments", 2);
        // "é" typed as "e" and a combining accent is the same text, and goes as GSM-7 (composed) at GSM-7's price
        // (kept composed, as it is sent)
        assertThat(send(a, g, lineId, "Cafe\u0301 opens at 9")).containsEntry("body", "Caf\u00e9 opens at 9")
                .containsEntry("text", "Food Bank: Caf\u00e9 opens at 9").containsEntry("encoding", "GSM-7").containsEntry("segments", 1);
        // ... and counted composed: 1,000 "é" typed decomposed (2,000 code points) are 1,000 characters, within 1,600,
        // and leave room for the whole name (before, the name was cut to make room for the decomposed length)
        var decomposed = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Acme Store",
                "title", "decomposed", "body", "x".repeat(1580) + "e\u0301".repeat(5)));
        assertThat(decomposed.status()).as(decomposed.body()).isEqualTo(202);
        assertThat((String) decomposed.jsonObject().get("text")).startsWith("Acme Store: xxx").endsWith("\u00e9".repeat(5));
        var thousand = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Acme",
                "title", "thousand", "body", "e\u0301".repeat(1000)));
        assertThat(thousand.status()).as(thousand.body()).isEqualTo(202);
        assertThat((String) thousand.jsonObject().get("text")).startsWith("Acme: \u00e9");
        // an invisible character at the end of the sender's name does not make the whole text UCS-2
        for (String sender : List.of("Food Bank\u00a0", "\u200bFood Bank", "Food Bank\ufeff")) {
            var r = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", sender, "title", "t",
                    "body", "x".repeat(149)));
            assertThat(r.jsonObject()).as(r.body()).containsEntry("sender", "Food Bank").containsEntry("encoding", "GSM-7")
                    .containsEntry("segments", 1);
        }
        // a body (or title) of only Unicode white space is blank
        for (String blank : List.of("\u00a0", "\u00a0\u2007\u202f", "\u200b")) {
            var r = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", "t", "body", blank));
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            assertThat(r.body()).contains("must not be blank");
            var title = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", blank, "body", "b"));
            assertThat(title.status()).as(title.body()).isEqualTo(400);
        }
        // the longest body that goes with this sender's whole name: 1,600 characters with the prefix, 11 segments
        var longest = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", "long",
                "body", "x".repeat(1589)));
        assertThat(longest.status()).as(longest.body()).isEqualTo(202);
        assertThat(longest.jsonObject()).containsEntry("encoding", "GSM-7").containsEntry("segments", 11);
    }

    @Test
    void aBodyUpTo1600CharactersArrivesWholeInOneCarrierMessageAndTheSendersNameGivesWay(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Long Body Co");
        String line = linePhone();
        String lineId = createLine(a, line, 50);
        String g = createGroup(a, "Long");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550444")))).status()).isEqualTo(200);
        // "Food Bank: " and 1,597 characters would make 1,608, over a carrier message's 1,600 (Twilio refuses 21617)
        String body = "x".repeat(1597);
        var r = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", "long", "body", body));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.jsonObject()).containsEntry("body", body).containsEntry("sender", "Food Bank").containsEntry("text", "F: " + body)
                .containsEntry("encoding", "GSM-7").containsEntry("segments", 11);
        var done = awaitSent(a, (String) r.jsonObject().get("id"), 15_000);
        assertThat(done).containsEntry("status", "sent");
        @SuppressWarnings("unchecked") var counts = (Map<String, Object>) done.get("counts");
        assertThat(counts).containsEntry("failed", 0).containsEntry("queued", 0);
        assertThat(carrierMessages(a, line)).extracting(m -> m.get("body")).containsExactly("F: " + body);

        // a body within 1,600 characters but over 1,600 UTF-16 units (900 emoji) could go in no carrier message: a 400
        var emoji = a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", "emoji",
                "body", "\uD83D\uDE00".repeat(900)));
        assertThat(emoji.status()).isEqualTo(400);
        assertThat(emoji.body()).contains("counts as 2");
        assertThat(a.post("/v1/groups/" + g + "/messages", Map.of("lineId", lineId, "sender", "Food Bank", "title", "emoji",
                "body", "\uD83D\uDE00".repeat(800))).status()).isEqualTo(202);
    }

    /**
     * A preview says what a send with the same body would be now (the text as each member gets it, its encoding and
     * segments, the members it would go to, what it would bill at most) and sends, stores and bills nothing.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aPreviewSaysWhatTheSendWouldBeAndSendsNothing(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Preview Co");
        String line = linePhone();
        String lineId = createLine(a, line, 100);
        String g = createGroup(a, "Preview");
        addMembers(a, g, 900, 3);
        var r = a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Hello"));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.jsonObject()).containsEntry("groupId", g).containsEntry("groupName", "Preview").containsEntry("lineId", lineId)
                .containsEntry("text", "Ops: Hello").containsEntry("encoding", "GSM-7").containsEntry("segments", 1)
                .containsEntry("recipients", 3)
                .containsEntry("estimate", Map.of("messages", 3, "segments", 3, "mms", 0));
        // an invisible character pasted at an end (a byte-order mark, a zero-width space) is not sent: it made the whole
        // text UCS-2, and a 150-character text 3 parts, not 1; one inside stays as typed
        var pasted = a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId, "sender", "Ops", "title", "t",
                "body", "\uFEFF" + "x".repeat(150) + "\u200B")).jsonObject();
        assertThat(pasted).containsEntry("text", "Ops: " + "x".repeat(150)).containsEntry("encoding", "GSM-7").containsEntry("segments", 1);
        assertThat(a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId, "sender", "Ops", "title", "t",
                "body", "a\u200Bb")).jsonObject()).containsEntry("text", "Ops: a\u200Bb").containsEntry("encoding", "UCS-2");
        // as the send counts it: an emoji makes it UCS-2, 70 characters a part, 67 once split
        var long2 = a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId, "sender", "Food Bank", "title", "t",
                "body", "\uD83D\uDE00" + "x".repeat(70))).jsonObject();
        assertThat(long2).containsEntry("encoding", "UCS-2").containsEntry("segments", 2)
                .containsEntry("estimate", Map.of("messages", 3, "segments", 6, "mms", 0));
        var sent = send(a, g, lineId, "\uD83D\uDE00" + "x".repeat(70)); // sent by "Food Bank"
        assertThat(sent).containsEntry("encoding", long2.get("encoding")).containsEntry("segments", long2.get("segments"))
                .containsEntry("text", long2.get("text")).containsEntry("recipients", long2.get("recipients"));
        // another account's group is none of the caller's
        assertThat(api.forNewAccount("Other Preview Co").post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId,
                "sender", "Ops", "title", "t", "body", "x")).status()).isEqualTo(404);
        var mms = a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId, "sender", "Ops", "title", "t",
                "body", "Look", "mediaUrls", List.of("https://example.com/a.jpg"))).jsonObject();
        assertThat(mms).containsEntry("segments", 1).containsEntry("estimate", Map.of("messages", 3, "segments", 0, "mms", 3));

        // checked as a send is; nothing else was sent or stored than the one message sent above
        assertThat(a.post("/v1/groups/grp_nope/messages/preview", Map.of("lineId", lineId, "sender", "Ops", "title", "t",
                "body", "x")).status()).isEqualTo(404);
        assertThat(a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", "line_nope", "sender", "Ops", "title", "t",
                "body", "x")).status()).isEqualTo(400);
        assertThat(a.post("/v1/groups/" + g + "/messages/preview", Map.of("lineId", lineId, "sender", "Ops", "title", "t"))
                .status()).isEqualTo(400);
        assertThat((List<Object>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items")).hasSize(1);
    }
}
