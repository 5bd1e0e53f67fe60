package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.inbound.InboundService;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.integrationEvents;
import static groupmsg.e2e.InboundE2eTest.postInbound;
import static groupmsg.e2e.InboundE2eTest.sentTo;
import static groupmsg.e2e.InboundE2eTest.sid;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.InboundE2eTest.twilioInbound;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/** Reply-all conversations end to end: API -> relays queue -> carrier emulator; emulator inbound -> relays to the others. */
@ExtendWith(LocalRuntimeExtension.class)
class ConversationsE2eTest {
    static final String ANN = "+14155550701", BOB = "+14155550702", CAT = "+14155550703", DAN = "+14155550704";

    static String groupLine(ApiClient api, String phone, Number mps) {
        var r = api.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "groupMessaging", true, "mps", mps));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return (String) r.jsonObject().get("id");
    }

    static Map<String, Object> create(ApiClient api, String lineId, List<Object> participants, String body) {
        var request = new LinkedHashMap<String, Object>();
        request.put("lineId", lineId);
        request.put("name", "Saturday crew");
        request.put("participants", participants);
        request.put("body", body);
        var r = api.post("/v1/conversations", request);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.jsonObject();
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> thread(ApiClient api, String id) {
        var r = api.get("/v1/conversations/" + id + "/messages?limit=100");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    static List<String> bodiesTo(ApiClient api, String line, String to) {
        return carrierMessages(api, line).stream().filter(m -> to.equals(m.get("to"))).map(m -> (String) m.get("body")).toList();
    }

    /**
     * Under block_conversation, a business message accepted before a participant's STOP but not sent yet (waiting
     * behind the conversation's earlier message on a slow line) goes to nobody once the STOP blocks the
     * conversation: API.md's "blocks all further messages in that conversation". Its copies are failed, never billed.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aMessageWaitingToGoWhenAnOptOutBlocksTheConversationGoesToNobody(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Blocked In Flight Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 1);
        List<Object> people = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) people.add(String.format("+1415555%04d", 7710 + i));
        String id = (String) create(a, lineId, people, "First of two").get("id"); // ~6 s of sending at 1 mps
        InboundE2eTest.await(() -> carrierMessages(a, line), l -> !l.isEmpty(), 15_000); // it has begun
        var second = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Second of two"));
        assertThat(second.status()).as(second.body()).isEqualTo(202);
        String quitter = (String) people.get(5);
        InboundE2eTest.text(a, quitter, line, "STOP");

        String secondId = (String) thread(a, id).getLast().get("id");
        var copies = InboundE2eTest.await(() -> (List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages/"
                + secondId + "/deliveries").jsonObject().get("items"),
                l -> l.size() == 6 && l.stream().noneMatch(d -> "queued".equals(d.get("status"))), 30_000);
        assertThat(copies).hasSize(6).allSatisfy(d -> assertThat(d.get("status")).isIn("failed", "opted_out"));
        assertThat(copies).filteredOn(d -> "failed".equals(d.get("status")))
                .allSatisfy(d -> assertThat(d).containsEntry("error", "not sent: the conversation was blocked by an opt-out"));
        // the first message's copies sent before the STOP went (those after it did not: see the test below)
        assertThat(people).anySatisfy(p -> assertThat(bodiesTo(a, line, (String) p)).anyMatch(b -> b.contains("First of two")));
        for (Object p : people) assertThat(bodiesTo(a, line, (String) p)).noneMatch(b -> b.contains("Second of two"));
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "blocked");
    }

    /**
     * Under block_conversation, a message whose copies are going out on a slow line when a participant texts STOP
     * sends no copy after the block: the rest fail as blocked, never billed. Before, the block was looked at only as
     * the message's delivery began, and every copy after it still went (90 s of them on a 0.1 mps line).
     */
    @Test
    @SuppressWarnings("unchecked")
    void aMessageBeingSentWhenAnOptOutBlocksItsConversationSendsNoCopyAfterTheBlock(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Blocked Mid-send Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 0.5);
        List<Object> people = new java.util.ArrayList<>();
        for (int i = 0; i < 9; i++) people.add(String.format("+1415555%04d", 7740 + i));
        String id = (String) create(a, lineId, people, "Going out now").get("id"); // ~18 s of sending at 0.5 mps
        InboundE2eTest.await(() -> carrierMessages(a, line), l -> l.size() >= 2, 15_000);
        // one who has it already leaves
        String quitter = (String) carrierMessages(a, line).getFirst().get("to");
        InboundE2eTest.text(a, quitter, line, "STOP");
        InboundE2eTest.await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> "blocked".equals(c.get("status")), 30_000);
        long blockedBy = System.currentTimeMillis();

        String firstId = (String) thread(a, id).getFirst().get("id");
        var copies = InboundE2eTest.await(() -> (List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages/"
                + firstId + "/deliveries").jsonObject().get("items"),
                l -> l.size() == 9 && l.stream().noneMatch(d -> "queued".equals(d.get("status")) || "sending".equals(d.get("status"))),
                30_000);
        var sent = carrierMessages(a, line).stream().filter(m -> "Going out now".equals(m.get("body"))).toList();
        assertThat(sent).as("some went before the STOP").hasSizeGreaterThanOrEqualTo(2).hasSizeLessThan(9);
        // sent after the block: only within the second a block's look may be old (and a send under way then)
        assertThat(sent).allSatisfy(m -> assertThat(java.time.Instant.parse((String) m.get("createdAt")).toEpochMilli())
                .isLessThan(blockedBy + 1_500));
        assertThat(copies).filteredOn(d -> "failed".equals(d.get("status"))).hasSize(9 - sent.size())
                .allSatisfy(d -> assertThat(d).containsEntry("error", "not sent: the conversation was blocked by an opt-out"));
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "blocked");
    }

    /**
     * Copies waiting to try again (the carrier turned them away) when an opt-out blocks their conversation: none goes
     * out after the block; a number that opted out shows opted_out (looked up when the block is found, or by its own
     * try after), the others fail as blocked.
     */
    @Test
    void copiesRetriedAfterAnOptOutBlocksTheConversationAreNotSent(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Blocked Retries Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String linePhone = linePhone();
        String lineId = groupLine(a, linePhone, 100);
        String sent = "+14155557760", quitter = "+14155557761", alsoQuits = "+14155557762", stays = "+14155557763";
        List<String> people = List.of(sent, quitter, alsoQuits, stays);
        String id = (String) create(a, lineId, new ArrayList<>(people), "Hi").get("id");

        var carrier = new DeliveryFaultsTest.ScriptedCarrier();
        var turnedAway = new groupmsg.carrier.SendResult.Rejected(429, "20429", "Too Many Requests", true, false);
        var blocked = new java.util.concurrent.CountDownLatch(1);
        for (String p : List.of(quitter, alsoQuits, stays)) {
            carrier.script.put(p, List.of(turnedAway, new groupmsg.carrier.SendResult.Accepted("SM" + p.substring(1), "queued")));
            // each first try is answered once the block is in place, and more than a second after the block's
            // opt-out lookup, so that each retry looks again first
            carrier.duringSend.put(p, () -> {
                try {
                    if (!p.equals(quitter)) {
                        assertThat(blocked.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
                        return;
                    }
                    text(a, quitter, linePhone, "STOP");
                    text(a, alsoQuits, linePhone, "STOP");
                    await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> "blocked".equals(c.get("status")), 15_000);
                    await(() -> a.get("/v1/opt-outs?lineId=" + lineId).jsonObject().get("items"), l -> ((List<?>) l).size() == 2, 15_000);
                    Thread.sleep(1_200);
                    blocked.countDown();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        var wiring = runtime.wiring().withCarrier(carrier);
        var line = new groupmsg.lines.LineService(runtime.wiring()).find(accountId, lineId).orElseThrow();
        String messageId = "cout_" + new groupmsg.platform.config.Ids().next("");
        new groupmsg.messages.DirectMessages(runtime.wiring(), (queue, jobs) -> { }).send(messageId, accountId, line,
                groupmsg.messages.MessageKind.CONVERSATION, people, "Second", List.of(), id);

        new groupmsg.messages.OrderedDelivery(wiring).deliver(accountId, messageId,
                groupmsg.messages.DeliveryService.Deadline.ofInvocation(System.currentTimeMillis() + 60_000));

        for (String p : people) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        // the rows as stored (the message has no thread entry: it was sent here, not through the API)
        Map<String, Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue>> rows = new LinkedHashMap<>();
        wiring.dynamo().query(b -> b.tableName(wiring.config().table(groupmsg.platform.schema.Tables.DELIVERIES))
                        .consistentRead(true).keyConditionExpression("pk = :pk").expressionAttributeValues(Map.of(":pk",
                                software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("MSG#" + messageId + "#0"))))
                .items().forEach(row -> rows.put(row.get("sk").s(), row));
        assertThat(rows.get(sent).get("status").s()).isEqualTo("sent");
        assertThat(rows.get(quitter).get("status").s()).isEqualTo("opted_out");
        assertThat(rows.get(alsoQuits).get("status").s()).isEqualTo("opted_out");
        assertThat(rows.get(stays).get("status").s()).isEqualTo("failed");
        assertThat(rows.get(stays).get("error").s()).isEqualTo("not sent: the conversation was blocked by an opt-out");
    }

    /**
     * A message accepted before its conversation was closed, or before its line's group messaging was switched off,
     * but still waiting to go (behind the conversation's earlier message on a slow line) goes to nobody: closed,
     * "nothing more is sent"; switched off, the line sends no group text.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aMessageWaitingToGoWhenItsConversationClosesOrItsLineStopsGroupTextsGoesToNobody(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Stopped In Flight Co");
        for (String how : List.of("closed", "switched off")) {
            String line = linePhone();
            String lineId = groupLine(a, line, 1);
            List<Object> people = new java.util.ArrayList<>();
            int base = how.equals("closed") ? 7720 : 7730;
            for (int i = 0; i < 6; i++) people.add(String.format("+1415555%04d", base + i));
            String id = (String) create(a, lineId, people, "First of two").get("id"); // ~6 s of sending at 1 mps
            InboundE2eTest.await(() -> carrierMessages(a, line), l -> !l.isEmpty(), 15_000); // it has begun
            var second = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Second of two"));
            assertThat(second.status()).as(second.body()).isEqualTo(202);
            var stop = how.equals("closed") ? a.patch("/v1/conversations/" + id, Map.of("status", "closed"))
                    : a.patch("/v1/lines/" + lineId, Map.of("groupMessaging", false));
            assertThat(stop.status()).as(stop.body()).isEqualTo(200);

            String secondId = (String) thread(a, id).getLast().get("id");
            var copies = InboundE2eTest.await(() -> (List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages/"
                    + secondId + "/deliveries").jsonObject().get("items"),
                    l -> l.size() == 6 && l.stream().noneMatch(d -> "queued".equals(d.get("status"))), 30_000);
            String reason = how.equals("closed") ? "not sent: the conversation was closed"
                    : "not sent: the line's group messaging was switched off";
            assertThat(copies).as(how).hasSize(6).allSatisfy(d -> assertThat(d).containsEntry("status", "failed")
                    .containsEntry("error", reason));
            // the first message's copies sent before went, those after it not (as after a block)
            assertThat(people).as(how).anySatisfy(p -> assertThat(bodiesTo(a, line, (String) p)).anyMatch(b -> b.contains("First of two")));
            for (Object p : people) assertThat(bodiesTo(a, line, (String) p)).as(how).noneMatch(b -> b.contains("Second of two"));
        }
    }

    /** The conversation and the list show the thread's latest message in brief, as a chat list does under its name. */
    @Test
    @SuppressWarnings("unchecked")
    void aConversationShowsItsLatestMessageInBrief(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Preview Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        var created = create(a, lineId, List.of(Map.of("phone", ANN, "name", "Ann"), BOB), "Who can drive?");
        String id = (String) created.get("id");
        var first = (Map<String, Object>) created.get("lastMessage");
        assertThat(first).containsEntry("direction", "outbound").containsEntry("preview", "Who can drive?")
                .containsEntry("mediaCount", 0).containsEntry("authorName", null);
        assertThat((Map<String, Object>) first.get("author")).containsKey("apiKeyId");
        assertThat(first.get("id")).isEqualTo(thread(a, id).getFirst().get("id"));

        String longReply = "I can drive, ".repeat(20).strip(); // 259 characters
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, longReply), null).status()).isEqualTo(200);
        var afterReply = await(() -> a.get("/v1/conversations/" + id).jsonObject(),
                c -> "inbound".equals(((Map<String, Object>) c.get("lastMessage")).get("direction")), 15_000);
        var reply = (Map<String, Object>) afterReply.get("lastMessage");
        assertThat(reply).containsEntry("authorName", "Ann").containsEntry("author", Map.of("phone", ANN))
                .containsEntry("preview", longReply.substring(0, 97) + "...");
        assertThat(reply.get("id")).isEqualTo(thread(a, id).getLast().get("id"));
        // the text is listed, and published, with the name she has in the conversation
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement().satisfies(m -> assertThat(m).containsEntry("fromName", "Ann"));
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(await(() -> integrationEvents(a, accountId), l -> !l.isEmpty(), 15_000)).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("fromName", "Ann").containsEntry("conversationId", id));
        assertThat(reply.get("createdAt")).isEqualTo(thread(a, id).getLast().get("createdAt"));

        var signed = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Thanks Ann", "sender", "Front desk",
                "mediaUrls", List.of("https://example.com/map.png")));
        assertThat(signed.status()).as(signed.body()).isEqualTo(202);
        var listed = (List<Map<String, Object>>) a.get("/v1/conversations?order=activity").jsonObject().get("items");
        assertThat(listed).singleElement().satisfies(c -> assertThat((Map<String, Object>) c.get("lastMessage"))
                .containsEntry("id", signed.jsonObject().get("id")).containsEntry("preview", "Thanks Ann")
                .containsEntry("authorName", "Front desk").containsEntry("mediaCount", 1));
    }

    /**
     * The business sends a picture alone (an extension: with mediaUrls the body may be left out) into a thread, signed
     * "<sender>:" when a sender is given, as a participant's is relayed, and from a line to one number; without media
     * a body is still required. Before, every such request was a 400.
     */
    @Test
    void theBusinessSendsAPictureAlone(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Picture Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB), "Flyer coming").get("id");
        List<String> flyer = List.of("https://media.example/flyer.png");
        var alone = a.post("/v1/conversations/" + id + "/messages", Map.of("mediaUrls", flyer));
        assertThat(alone.status()).as(alone.body()).isEqualTo(202);
        assertThat(alone.jsonObject()).containsEntry("body", "").containsEntry("mediaUrls", flyer);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "\u00a0 ", "sender", "Front desk",
                "mediaUrls", flyer)).status()).as("a blank body with media is none").isEqualTo(202);
        var toAnn = await(() -> carrierMessages(a, line).stream().filter(m -> ANN.equals(m.get("to"))).toList(),
                l -> l.size() == 3, 15_000);
        assertThat(toAnn.get(1)).containsEntry("body", "").containsEntry("mediaUrls", flyer);
        assertThat(toAnn.get(2)).containsEntry("body", "Front desk:").containsEntry("mediaUrls", flyer);
        assertThat(thread(a, id).get(1)).containsEntry("body", "").containsEntry("mediaUrls", flyer);

        var fromLine = a.post("/v1/lines/" + lineId + "/messages", Map.of("to", CAT, "mediaUrls", flyer));
        assertThat(fromLine.status()).as(fromLine.body()).isEqualTo(202);
        assertThat(await(() -> carrierMessages(a, line).stream().filter(m -> CAT.equals(m.get("to"))).toList(),
                l -> !l.isEmpty(), 15_000)).singleElement().satisfies(m -> assertThat(m)
                .containsEntry("body", "").containsEntry("mediaUrls", flyer));

        for (Map<String, Object> bad : List.<Map<String, Object>>of(Map.of(), Map.of("body", ""), Map.of("sender", "Front desk"),
                Map.of("mediaUrls", List.of()))) {
            var r = a.post("/v1/conversations/" + id + "/messages", bad);
            assertThat(r.status()).as(bad + ": " + r.body()).isEqualTo(400);
        }
        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", CAT)).status()).isEqualTo(400);
        assertThat(thread(a, id)).hasSize(3);

        // and in answer to a person's text
        assertThat(postInbound(a, runtime, twilioInbound(sid(), DAN, line, "Can I see it?"), null).status()).isEqualTo(200);
        String text = (String) await(() -> inbound(a, "?lineId=" + lineId + "&from=%2B14155550704"), l -> !l.isEmpty(), 10_000)
                .getFirst().get("id");
        var answer = a.post("/v1/inbound/" + text + "/replies", Map.of("mediaUrls", flyer));
        assertThat(answer.status()).as(answer.body()).isEqualTo(202);
        assertThat(await(() -> carrierMessages(a, line).stream().filter(m -> DAN.equals(m.get("to"))).toList(),
                l -> !l.isEmpty(), 15_000)).singleElement().satisfies(m -> assertThat(m)
                .containsEntry("body", "").containsEntry("mediaUrls", flyer));
        assertThat(a.post("/v1/inbound/" + text + "/replies", Map.of()).status()).isEqualTo(400);
    }

    /**
     * The thread from its latest message (order=newest, as a chat opens), and from after a given message in either
     * order (what came since a client's last poll; newest first, what came before the oldest shown): extensions of
     * API.md's oldest-first list, which stays the default.
     */
    @Test
    @SuppressWarnings("unchecked")
    void theThreadListsFromItsLatestMessageOrAfterAGivenOne(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Latest First Co");
        String lineId = groupLine(a, linePhone(), 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB), "m0").get("id");
        for (int i = 1; i <= 4; i++) {
            assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "m" + i)).status()).isEqualTo(202);
        }
        List<Map<String, Object>> all = await(() -> thread(a, id), l -> l.size() == 5, 10_000);
        assertThat(all).extracting(m -> m.get("body")).containsExactly("m0", "m1", "m2", "m3", "m4");
        java.util.function.Function<String, Map<String, Object>> page = query -> {
            var r = a.get("/v1/conversations/" + id + "/messages" + query);
            assertThat(r.status()).as(query + ": " + r.body()).isEqualTo(200);
            return r.jsonObject();
        };
        java.util.function.Function<Map<String, Object>, List<Object>> bodies = p ->
                ((List<Map<String, Object>>) p.get("items")).stream().map(m -> m.get("body")).toList();

        var latest = page.apply("?order=newest&limit=2");
        assertThat(bodies.apply(latest)).containsExactly("m4", "m3");
        var before = page.apply("?order=newest&limit=2&cursor=" + latest.get("nextCursor"));
        assertThat(bodies.apply(before)).containsExactly("m2", "m1");
        assertThat(bodies.apply(page.apply("?order=oldest&limit=2"))).containsExactly("m0", "m1");

        String m2 = (String) all.get(2).get("id");
        assertThat(bodies.apply(page.apply("?after=" + m2))).containsExactly("m3", "m4");
        assertThat(bodies.apply(page.apply("?order=newest&after=" + m2))).containsExactly("m1", "m0");
        var last = page.apply("?after=" + all.get(4).get("id"));
        assertThat(bodies.apply(last)).as("nothing since").isEmpty();
        assertThat(last.get("nextCursor")).isNull();

        for (String bad : List.of("?order=latest", "?after=msg_01ABC", "?after=" + m2 + "&cursor=" + latest.get("nextCursor"))) {
            var r = a.get("/v1/conversations/" + id + "/messages" + bad);
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.body()).contains("invalid_request");
        }
        assertThat(api.forNewAccount("Someone Else").get("/v1/conversations/" + id + "/messages?order=newest").status())
                .isEqualTo(404);
    }

    /**
     * A reply still on its way through the inbound queue when the business writes: the business's message reaches
     * the phones first, and the thread lists it first too (before, the thread listed the reply first, by when it
     * was received: an order nobody's phone showed).
     */
    @Test
    void theThreadListsMessagesInTheOrderThePhonesGotThem(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Order Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(Map.of("phone", ANN, "name", "Ann"), BOB, CAT), "Lunch?").get("id");
        for (String p : List.of(ANN, BOB, CAT)) assertThat(await(() -> bodiesTo(a, line, p), l -> !l.isEmpty(), 15_000)).hasSize(1);

        // Ann's reply is received (stored), but its job waits in the inbound queue
        var held = new InboundFaultsTest.DownQueue();
        var reply = (InboundService.Stored) new InboundService(runtime.wiring(), held)
                .receive(new InboundService.InboundSms(sid(), ANN, line, "Yes please", List.of()));
        assertThat(held.attempted).containsExactly("inbound");

        // meanwhile the business writes, and everyone gets it
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Pizza at 1")).status()).isEqualTo(202);
        for (String p : List.of(BOB, CAT)) assertThat(await(() -> bodiesTo(a, line, p), l -> l.size() == 2, 15_000)).hasSize(2);

        // then the reply goes through: Bob and Cat get it after the business's message, and the thread says so
        var job = new QueueMessage(Json.write(Map.of("accountId", accountId, "inboundId", reply.message().id())),
                lineId + "#" + ANN, reply.message().id());
        assertThat(runtime.functions().get("inbound-worker").invoke(InboundFaultsTest.sqsEvent("inbound.fifo", job)))
                .contains("\"batchItemFailures\":[]");
        for (String p : List.of(BOB, CAT)) {
            assertThat(await(() -> bodiesTo(a, line, p), l -> l.size() == 3, 15_000)).as(p)
                    .containsExactly("Lunch?", "Pizza at 1", "Ann: Yes please");
        }
        var thread = thread(a, id);
        assertThat(thread).extracting(m -> m.get("body")).containsExactly("Lunch?", "Pizza at 1", "Yes please");
        // oldest first, as API.md lists a thread: the reply's time is when it joined the thread, after the business
        // wrote (it was received before: the inbound list says so)
        assertThat((String) thread.get(2).get("createdAt")).isGreaterThan((String) thread.get(1).get("createdAt"));
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement()
                .satisfies(i -> assertThat((String) i.get("createdAt")).isLessThan((String) thread.get(1).get("createdAt")));
        // its copies are listed under its thread message, and a second run of its job changes nothing
        String replyId = (String) thread.get(2).get("id");
        assertThat(await(() -> deliveries(a, id, replyId), l -> l.size() == 2, 10_000)).extracting(d -> d.get("phone"))
                .containsExactlyInAnyOrder(BOB, CAT);
        assertThat(runtime.functions().get("inbound-worker").invoke(InboundFaultsTest.sqsEvent("inbound.fifo", job)))
                .contains("\"batchItemFailures\":[]");
        runtime.awaitIdle();
        assertThat(thread(a, id)).hasSize(3);
        assertThat(bodiesTo(a, line, BOB)).hasSize(3);
    }

    /**
     * Three participants reply at once, four texts each, through the emulator (webhooks in parallel): every phone gets
     * the others' replies in the thread's order. Before, each sender's texts went through the inbound queue in their
     * own message group, took their places in the thread in parallel workers and were queued for relaying in another
     * order than their places.
     */
    @Test
    void repliesOfSeveralParticipantsAtOnceAreListedInTheOrderEveryPhoneGotThem(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Burst Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 100);
        List<String> talkers = List.of(ANN, BOB, CAT);
        String id = (String) create(a, lineId, List.of(ANN, BOB, CAT, DAN), "Go").get("id");
        for (String p : List.of(ANN, BOB, CAT, DAN)) assertThat(await(() -> bodiesTo(a, line, p), l -> !l.isEmpty(), 15_000)).hasSize(1);
        // each in the conversation already: routing finds it on arrival
        assertThat(inbound(a, "?lineId=" + lineId)).isEmpty();

        int each = 4;
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(talkers.size())) {
            var sent = new ArrayList<java.util.concurrent.Future<Integer>>();
            for (String from : talkers) {
                sent.add(pool.submit(() -> {
                    for (int i = 1; i <= each; i++) {
                        var r = a.withoutKey().post("/local/carrier/inbound", Map.of("from", from, "to", line, "body", from.substring(9) + "-" + i));
                        if (r.status() != 202) return r.status();
                    }
                    return 202;
                }));
            }
            for (var f : sent) assertThat(f.get()).isEqualTo(202);
        }
        int replies = talkers.size() * each;
        var thread = await(() -> thread(a, id), l -> l.size() == 1 + replies, 30_000);
        assertThat(thread).hasSize(1 + replies);
        List<Map<String, Object>> inThread = thread.subList(1, thread.size());
        for (String phone : List.of(ANN, BOB, CAT, DAN)) {
            // what the phone should get: the others' replies in the thread's order, each with its author's number
            List<String> expected = inThread.stream().filter(m -> !phone.equals(((Map<?, ?>) m.get("author")).get("phone")))
                    .map(m -> ((Map<?, ?>) m.get("author")).get("phone") + ": " + m.get("body")).toList();
            var got = await(() -> bodiesTo(a, line, phone), l -> l.size() == 1 + expected.size(), 30_000);
            assertThat(got.subList(1, got.size())).as(phone + " got the thread's order").containsExactlyElementsOf(expected);
        }
        // (one sender's own texts may be listed in another order than sent: the emulator, like a carrier, posts their
        // webhooks in parallel, and the thread keeps the order they reached the inbound queue in)
        // and the inbound list named the conversation from the start
        assertThat(inbound(a, "?lineId=" + lineId)).hasSize(replies).allSatisfy(m -> assertThat(m).containsEntry("conversationId", id));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> deliveries(ApiClient api, String conversationId, String messageId) {
        var r = api.get("/v1/conversations/" + conversationId + "/messages/" + messageId + "/deliveries");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    /** A conversations API whose first read of a group's members does {@code once} first (another request, say). */
    static groupmsg.conversations.ConversationsApiHandler onFirstMemberRead(LocalRuntime runtime, Runnable once) {
        var done = new java.util.concurrent.atomic.AtomicBoolean();
        String members = runtime.wiring().config().table(groupmsg.platform.schema.Tables.MEMBERS);
        return new groupmsg.conversations.ConversationsApiHandler(runtime.wiringWith(
                new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
                    @Override
                    public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                                software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                        if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q
                                && members.equals(q.tableName()) && done.compareAndSet(false, true)) {
                            once.run();
                        }
                    }
                }));
    }

    /**
     * A group deleted while its members were read for a conversation is the 400 of an unknown group, not a 409 "changed"
     * or a 404 (the group is named in the body).
     */
    @Test
    void aGroupDeletedWhileItsMembersAreReadIsNoSuchGroup(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Vanishing Crew Co");
        String lineId = groupLine(a, linePhone(), 50);
        String crew = GroupsE2eTest.createGroup(a, "Vanishing crew");
        assertThat(a.post("/v1/groups/" + crew + "/members", Map.of("members", List.of(Map.of("phone", ANN),
                Map.of("phone", BOB)))).status()).isEqualTo(200);
        var deleted = new java.util.concurrent.atomic.AtomicBoolean();
        var handler = onFirstMemberRead(runtime, () -> {
            deleted.set(true);
            assertThat(a.delete("/v1/groups/" + crew).status()).isEqualTo(204);
        });
        var r = IdempotentRetriesE2eTest.call(handler, a, "POST /v1/conversations", "/v1/conversations", Map.of(),
                Map.of("lineId", lineId, "groupId", crew, "body", "Anyone?"), "vanishing-crew");
        assertThat(deleted).isTrue();
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(400);
        assertThat(r.getBody()).contains("no such group");
    }

    @Test
    @SuppressWarnings("unchecked")
    void aConversationCanBeStartedWithASmallGroupsMembersUnderTheirNames(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Crew Chat Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String crew = GroupsE2eTest.createGroup(a, "Saturday crew");
        assertThat(a.post("/v1/groups/" + crew + "/members", Map.of("members", List.of(Map.of("phone", ANN, "name", "Ann"),
                Map.of("phone", BOB), Map.of("phone", CAT, "name", "Cat")))).status()).isEqualTo(200);
        assertThat(a.delete("/v1/groups/" + crew + "/members/" + CAT.replace("+", "%2B")).status()).isEqualTo(204);

        var created = a.post("/v1/conversations", Map.of("lineId", lineId, "groupId", crew, "body", "Who drives?"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat((List<Map<String, Object>>) created.jsonObject().get("participants"))
                .extracting(p -> p.get("phone") + " " + p.get("name")).as("the members now, under their names")
                .containsExactlyInAnyOrder(ANN + " Ann", BOB + " null");
        for (String p : List.of(ANN, BOB)) {
            assertThat(await(() -> bodiesTo(a, line, p), l -> !l.isEmpty(), 15_000)).containsExactly("Who drives?");
        }
        assertThat(bodiesTo(a, line, CAT)).isEmpty();
        // a later change to the group leaves the conversation as it began (participants are fixed)
        assertThat(a.post("/v1/groups/" + crew + "/members", Map.of("members", List.of(Map.of("phone", DAN)))).status()).isEqualTo(200);
        assertThat((List<?>) a.get("/v1/conversations/" + created.jsonObject().get("id")).jsonObject().get("participants")).hasSize(2);

        String big = GroupsE2eTest.createGroup(a, "Everyone");
        List<Object> eleven = new ArrayList<>();
        for (String p : phones(11)) eleven.add(Map.of("phone", p));
        assertThat(a.post("/v1/groups/" + big + "/members", Map.of("members", eleven)).status()).isEqualTo(200);
        String lonely = GroupsE2eTest.createGroup(a, "Just one");
        assertThat(a.post("/v1/groups/" + lonely + "/members", Map.of("members", List.of(Map.of("phone", ANN)))).status()).isEqualTo(200);
        for (Map<String, Object> bad : List.of(Map.<String, Object>of("lineId", lineId, "groupId", big, "body", "x"),
                Map.<String, Object>of("lineId", lineId, "groupId", lonely, "body", "x"),
                Map.<String, Object>of("lineId", lineId, "groupId", "grp_01JDNOSUCHGROUP000000000000", "body", "x"),
                Map.<String, Object>of("lineId", lineId, "groupId", crew, "participants", List.of(ANN, BOB), "body", "x"))) {
            var r = a.post("/v1/conversations", bad);
            assertThat(r.status()).as(bad + ": " + r.body()).isEqualTo(400);
        }
        ApiClient other = api.forNewAccount("Other Crew Co");
        var foreign = other.post("/v1/conversations", Map.of("lineId", groupLine(other, linePhone(), 50), "groupId", crew, "body", "x"));
        assertThat(foreign.status()).as("another account's group is no group of this one").isEqualTo(400);
        assertThat(foreign.body()).contains("groupId");
    }

    @Test
    void theBusinessCanSignItsMessagesWithASenderNameAsAGroupMessageIs(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Signed Chat Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        var request = new LinkedHashMap<String, Object>(Map.of("lineId", lineId, "participants", List.of(ANN, BOB),
                "sender", "Front Desk", "body", "Your table is ready"));
        var created = a.post("/v1/conversations", request);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = (String) created.jsonObject().get("id");
        // signed and unsigned messages; a signed one retried under its Idempotency-Key is one message, signed once
        var signed = a.withHeader("Idempotency-Key", "sign-1").post("/v1/conversations/" + id + "/messages",
                Map.of("sender", "Chef Léa", "body", "Dessert is on us"));
        assertThat(signed.status()).as(signed.body()).isEqualTo(202);
        assertThat(signed.jsonObject()).containsEntry("authorName", "Chef Léa").containsEntry("body", "Dessert is on us");
        var retried = a.withHeader("Idempotency-Key", "sign-1").post("/v1/conversations/" + id + "/messages",
                Map.of("sender", "Chef Léa", "body", "Dessert is on us"));
        assertThat(retried.jsonObject().get("id")).isEqualTo(signed.jsonObject().get("id"));
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Thank you!")).status()).isEqualTo(202);

        List<String> expected = List.of("Front Desk: Your table is ready", "Chef Léa: Dessert is on us", "Thank you!");
        for (String p : List.of(ANN, BOB)) {
            assertThat(await(() -> bodiesTo(a, line, p), l -> l.size() >= 3, 15_000)).as(p).containsExactlyElementsOf(expected);
        }
        var thread = thread(a, id);
        assertThat(thread).extracting(m -> m.get("authorName")).containsExactly("Front Desk", "Chef Léa", null);
        assertThat(thread).extracting(m -> m.get("body")).containsExactly("Your table is ready", "Dessert is on us", "Thank you!");

        for (Object bad : List.of("", "x".repeat(51), "Line\nbreak", 7)) {
            var r = a.post("/v1/conversations/" + id + "/messages", Map.of("sender", bad, "body", "Hi"));
            assertThat(r.status()).as(bad + ": " + r.body()).isEqualTo(400);
            assertThat(r.body()).contains("sender");
        }
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).as("a refused message sends nothing").hasSize(3);
    }

    @Test
    @SuppressWarnings("unchecked")
    void repliesAreStoredAndRelayedToEveryOtherParticipantInOrderAndPublished(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Chat Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);

        var created = create(a, lineId, List.of(Map.of("phone", ANN, "name", "Ann"), BOB, CAT), "Who can help Saturday?");
        String id = (String) created.get("id");
        assertThat(id).startsWith("cnv_");
        assertThat(created).containsEntry("status", "active").containsEntry("lineId", lineId).containsEntry("name", "Saturday crew");
        assertThat((List<Map<String, Object>>) created.get("participants")).extracting(p -> p.get("phone"), p -> p.get("name"), p -> p.get("optedOut"))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(ANN, "Ann", false), org.assertj.core.groups.Tuple.tuple(BOB, null, false),
                        org.assertj.core.groups.Tuple.tuple(CAT, null, false));
        for (String p : List.of(ANN, BOB, CAT)) {
            assertThat(await(() -> bodiesTo(a, line, p), l -> !l.isEmpty(), 15_000)).containsExactly("Who can help Saturday?");
        }

        // Ann replies five times in a row: Bob and Cat get each, in order, prefixed with her name; Ann gets none back.
        for (int i = 1; i <= 5; i++) {
            assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "I can, reply " + i), null).status()).isEqualTo(200);
        }
        List<String> expected = new ArrayList<>(List.of("Who can help Saturday?"));
        for (int i = 1; i <= 5; i++) expected.add("Ann: I can, reply " + i);
        for (String p : List.of(BOB, CAT)) {
            assertThat(await(() -> bodiesTo(a, line, p), l -> l.size() >= 6, 20_000)).as(p).containsExactlyElementsOf(expected);
        }
        assertThat(bodiesTo(a, line, ANN)).containsExactly("Who can help Saturday?");

        // Bob (no name) is shown by his number; media is relayed.
        var withMedia = twilioInbound(sid().replaceFirst("SM", "MM"), BOB, line, "Map attached");
        withMedia.put("NumMedia", "1");
        withMedia.put("MediaUrl0", "https://media.example/map.png");
        assertThat(postInbound(a, runtime, withMedia, null).status()).isEqualTo(200);
        var toAnn = await(() -> carrierMessages(a, line).stream().filter(m -> ANN.equals(m.get("to"))).toList(), l -> l.size() >= 2, 15_000);
        assertThat(toAnn.get(toAnn.size() - 1)).containsEntry("body", BOB + ": Map attached")
                .containsEntry("mediaUrls", List.of("https://media.example/map.png"));

        // The thread, oldest first; the inbound list and integrations know the conversation.
        var thread = await(() -> thread(a, id), l -> l.size() == 7, 10_000);
        assertThat(thread).extracting(m -> m.get("direction")).containsExactly("outbound", "inbound", "inbound", "inbound",
                "inbound", "inbound", "inbound");
        assertThat((String) ((Map<String, Object>) thread.get(0).get("author")).get("apiKeyId")).startsWith("key_");
        assertThat(thread.get(1)).containsEntry("author", Map.of("phone", ANN)).containsEntry("authorName", "Ann")
                .containsEntry("body", "I can, reply 1");
        assertThat(thread.get(6)).containsEntry("author", Map.of("phone", BOB)).containsEntry("authorName", null);
        assertThat(thread.get(0)).containsEntry("authorName", null).containsEntry("inboundId", null).containsEntry("receivedAt", null);
        // a reply names its inbound message and when it reached the line, at or before it joined the thread
        var firstReply = inbound(a, "?lineId=" + lineId).getLast();
        assertThat(thread.get(1)).containsEntry("inboundId", firstReply.get("id")).containsEntry("receivedAt", firstReply.get("createdAt"));
        assertThat(java.time.Instant.parse((String) thread.get(1).get("receivedAt")))
                .isBeforeOrEqualTo(java.time.Instant.parse((String) thread.get(1).get("createdAt")));
        assertThat(thread.get(6)).containsEntry("mediaUrls", List.of("https://media.example/map.png"));
        assertThat(inbound(a, "?lineId=" + lineId)).hasSize(6).allSatisfy(m -> assertThat(m).containsEntry("conversationId", id));
        // one thread message by its id (an extension of API.md), as the thread lists it
        for (int i : List.of(0, 1, 6)) {
            var one = a.get("/v1/conversations/" + id + "/messages/" + thread.get(i).get("id"));
            assertThat(one.status()).as(one.body()).isEqualTo(200);
            assertThat(one.jsonObject()).isEqualTo(thread.get(i));
        }
        assertThat(a.get("/v1/conversations/" + id + "/messages/cmsg_00000000000000000000000000").status()).isEqualTo(404);
        assertThat(a.get("/v1/conversations/" + id + "/messages/" + firstReply.get("id")).status()).isEqualTo(404);
        assertThat(api.forNewAccount("Nosy Chat Co").get("/v1/conversations/" + id + "/messages/" + thread.get(1).get("id")).status())
                .isEqualTo(404);
        var events = await(() -> integrationEvents(a, accountId), l -> l.size() == 6, 10_000);
        assertThat(events).hasSize(6).allSatisfy(e -> assertThat(e).containsEntry("conversationId", id));

        // The business writes to everyone.
        var sent = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Great, see you all at 9"));
        assertThat(sent.status()).as(sent.body()).isEqualTo(202);
        assertThat(sent.jsonObject()).containsEntry("direction", "outbound").containsEntry("body", "Great, see you all at 9");
        for (String p : List.of(ANN, BOB, CAT)) {
            assertThat(await(() -> bodiesTo(a, line, p), l -> l.contains("Great, see you all at 9"), 15_000)).contains("Great, see you all at 9");
        }

        // Every copy is billed per recipient: 3 first + 5x2 relays + 2 media relays (MMS) + 3 business.
        var usage = await(() -> usageOfTheTest(a), u -> ((Number) u.get("messages")).longValue() >= 18, 10_000);
        assertThat(((Number) usage.get("messages")).longValue()).isEqualTo(18);
        assertThat(((Number) usage.get("mms")).longValue()).isEqualTo(2);
        @SuppressWarnings("unchecked")
        var kinds = (List<Map<String, Object>>) usage.get("byKind");
        assertThat(kinds).singleElement().satisfies(k -> assertThat(k).containsEntry("kind", "conversation")
                .containsEntry("messages", 18).containsEntry("mms", 2));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyThreadMessageListsWhoItReachedAndHowFar(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Chat Receipts Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.<Object>of(Map.of("phone", ANN, "name", "Ann"), BOB, CAT), "Bring snacks?").get("id");
        assertThat(postInbound(a, runtime, twilioInbound(sid(), BOB, line, "Chips from me"), null).status()).isEqualTo(200);
        var thread = await(() -> thread(a, id), l -> l.size() == 2, 10_000);
        String first = (String) thread.get(0).get("id");
        String reply = (String) thread.get(1).get("id");

        // the business's message reached all three, Bob's reply the two others; each settles to delivered
        java.util.function.Function<String, List<Map<String, Object>>> rows = m -> (List<Map<String, Object>>)
                a.get("/v1/conversations/" + id + "/messages/" + m + "/deliveries").jsonObject().get("items");
        assertThat(await(() -> rows.apply(first), l -> l.size() == 3 && l.stream().allMatch(d -> "delivered".equals(d.get("status"))), 20_000))
                .extracting(d -> d.get("phone")).containsExactlyInAnyOrder(ANN, BOB, CAT);
        var relayed = await(() -> rows.apply(reply), l -> l.size() == 2 && l.stream().allMatch(d -> "delivered".equals(d.get("status"))), 20_000);
        assertThat(relayed).extracting(d -> d.get("phone")).containsExactlyInAnyOrder(ANN, CAT);
        assertThat(relayed).allSatisfy(d -> assertThat((String) d.get("carrierMessageId")).startsWith("SM"));
        // each row named as its participant is in the conversation (a participant without a name: null)
        assertThat(rows.apply(first)).extracting(d -> d.get("phone") + " " + d.get("name"))
                .containsExactlyInAnyOrder(ANN + " Ann", BOB + " null", CAT + " null");
        // paged and filtered like a group message's
        var page = a.get("/v1/conversations/" + id + "/messages/" + first + "/deliveries?limit=2&status=delivered").jsonObject();
        assertThat((List<?>) page.get("items")).hasSize(2);
        assertThat((List<?>) a.get("/v1/conversations/" + id + "/messages/" + first + "/deliveries?cursor=" + page.get("nextCursor"))
                .jsonObject().get("items")).hasSize(1);
        assertThat(a.get("/v1/conversations/" + id + "/messages/" + first + "/deliveries?status=sideways").status()).isEqualTo(400);

        // not a message of this conversation, or not this account's: 404; group message routes do not list them
        String other = (String) create(a, lineId, List.of(ANN, DAN), "Other thread").get("id");
        assertThat(a.get("/v1/conversations/" + other + "/messages/" + first + "/deliveries").status()).isEqualTo(404);
        assertThat(a.get("/v1/conversations/" + id + "/messages/cmsg_nope/deliveries").status()).isEqualTo(404);
        assertThat(a.get("/v1/conversations/cnv_nope/messages/" + first + "/deliveries").status()).isEqualTo(404);
        assertThat(api.forNewAccount("Nosy Chat Co").get("/v1/conversations/" + id + "/messages/" + first + "/deliveries").status()).isEqualTo(404);
        assertThat(a.get("/v1/messages/cout_" + first.substring("cmsg_".length()) + "/deliveries").status()).isEqualTo(404);
    }

    @Test
    void aReplyTooLongToRelayWithItsAuthorsNameIsCutToOneCarrierMessageAndKeptWholeInTheThread(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Long Reply Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(Map.of("phone", ANN, "name", "Ann"), BOB), "Tell us everything").get("id");
        String reply = "z".repeat(1600); // the most a carrier hands over; "Ann: " makes it 1,605
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, reply), null).status()).isEqualTo(200);
        var toBob = await(() -> bodiesTo(a, line, BOB), l -> l.size() >= 2, 15_000);
        assertThat(toBob.get(1)).hasSize(1600).startsWith("Ann: zzz").endsWith("z...");
        var thread = await(() -> thread(a, id), l -> l.size() == 2, 10_000);
        assertThat(thread.get(1)).containsEntry("body", reply);

        // a picture with no text goes with its author's name alone
        var picture = twilioInbound(sid().replaceFirst("SM", "MM"), ANN, line, "");
        picture.put("NumMedia", "1");
        picture.put("MediaUrl0", "https://media.example/cake.jpg");
        assertThat(postInbound(a, runtime, picture, null).status()).isEqualTo(200);
        var lastToBob = await(() -> carrierMessages(a, line).stream().filter(m -> BOB.equals(m.get("to"))).toList(), l -> l.size() >= 3, 15_000);
        assertThat(lastToBob.get(2)).containsEntry("body", "Ann:").containsEntry("mediaUrls", List.of("https://media.example/cake.jpg"));

        // invisible characters at a reply's ends (a phone's no-break space, a pasted zero-width one) are not relayed:
        // each copy would go as UCS-2, twice the segments of its GSM-7 text; the thread keeps the text as sent
        String padded = "\u200b" + "Running late, start without me. ".repeat(4).strip() + "\u00a0\ufeff";
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, padded), null).status()).isEqualTo(200);
        var copies = await(() -> carrierMessages(a, line).stream().filter(m -> BOB.equals(m.get("to"))).toList(), l -> l.size() >= 4, 15_000);
        assertThat(copies.get(3)).containsEntry("body", "Ann: " + padded.substring(1, padded.length() - 2));
        assertThat(await(() -> thread(a, id), l -> l.size() == 4, 10_000).get(3)).containsEntry("body", padded);
        // a text UCS-2 anyway keeps them: a right-to-left mark places its punctuation
        String hebrew = "\u05e9\u05dc\u05d5\u05dd!\u200f";
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, hebrew + " \n"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() >= 5, 15_000).get(4)).as("white space gone all the same")
                .isEqualTo("Ann: " + hebrew);
        // and one of nothing else, with no picture, is not relayed at all: kept, shown so, and not the latest message
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "\u200b\u00a0"), null).status()).isEqualTo(200);
        assertThat(await(() -> thread(a, id), l -> l.size() == 6, 10_000).get(5)).containsEntry("body", "\u200b\u00a0")
                .containsEntry("relayed", false).containsEntry("notRelayedBecause", "empty");
        assertThat(a.get("/v1/conversations/" + id).jsonObject().get("lastMessage")).asString().contains("\u05e9\u05dc\u05d5\u05dd");
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "done"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() >= 6, 15_000)).hasSize(6).last().isEqualTo("Ann: done");
    }

    @Test
    void aReplyGoesToTheMostRecentlyActiveConversationOfItsSenderOrStaysADirectReply(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Routing Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String first = (String) create(a, lineId, List.of(ANN, BOB), "First thread").get("id");
        Thread.sleep(5);
        String second = (String) create(a, lineId, List.of(ANN, CAT), "Second thread").get("id");

        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "to the newest"), null).status()).isEqualTo(200);
        assertThat(await(() -> thread(a, second), l -> l.size() == 2, 10_000)).hasSize(2);
        assertThat(await(() -> bodiesTo(a, line, CAT), l -> l.size() == 2, 10_000)).containsExactly("Second thread", ANN + ": to the newest");

        // The business writes in the first one: now it is the most recently active.
        assertThat(a.post("/v1/conversations/" + first + "/messages", Map.of("body", "Bump")).status()).isEqualTo(202);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "back in the first"), null).status()).isEqualTo(200);
        assertThat(await(() -> thread(a, first), l -> l.size() == 3, 10_000)).extracting(m -> m.get("body"))
                .containsExactly("First thread", "Bump", "back in the first");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 3, 10_000)).containsExactly("First thread", "Bump", ANN + ": back in the first");

        // Someone in no conversation on this line: a direct reply.
        assertThat(postInbound(a, runtime, twilioInbound(sid(), DAN, line, "who is this?"), null).status()).isEqualTo(200);
        var direct = await(() -> inbound(a, "?from=%2B14155550704"), l -> !l.isEmpty(), 10_000);
        assertThat(direct).singleElement().satisfies(m -> assertThat(m).containsEntry("conversationId", null));
        assertThat(thread(a, first)).hasSize(3);
        assertThat(thread(a, second)).hasSize(2);
    }

    /**
     * A dispatcher in more conversations on one line than the routing query's single page used to hold (the oldest
     * 100): the reply goes to the newest conversation and reaches its other participant only, not the 100th crew's.
     * The first 100 are stored without their first messages' relays: 101 of them to the dispatcher at once would
     * be Twilio's loop (14107), which the relays pace at 27 a 32 s (RelayLoopLimitE2eTest), two minutes here.
     */
    @Test
    void aNumberInOverAHundredConversationsOnALineRepliesIntoTheMostRecentlyActive(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Dispatch Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 1000);
        String dispatcher = "+14155550800";
        List<String> conversations = new ArrayList<>();
        List<String> crew = new ArrayList<>();
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var storedOnly = new groupmsg.conversations.ConversationService(runtime.wiring(), (queue, messages) -> { });
        for (int i = 1; i <= 101; i++) {
            String member = String.format("+1617557%04d", i);
            crew.add(member);
            if (i == 101) {
                conversations.add((String) create(a, lineId, List.of(dispatcher, member), "Crew " + i).get("id"));
                continue;
            }
            conversations.add(storedOnly.create(new groupmsg.platform.api.Caller(accountId, "key_test", groupmsg.platform.api.Role.OWNER),
                    new groupmsg.conversations.ConversationService.NewConversation(lineId, null, List.of(
                            new groupmsg.conversations.Conversation.Participant(dispatcher, null),
                            new groupmsg.conversations.Conversation.Participant(member, null)), "Crew " + i, List.of(), null))
                    .conversation().id());
        }
        String newest = conversations.getLast();

        assertThat(postInbound(a, runtime, twilioInbound(sid(), dispatcher, line, "On my way, gate code 4312"), null).status())
                .isEqualTo(200);
        assertThat(await(() -> thread(a, newest), l -> l.size() == 2, 20_000)).extracting(m -> m.get("body"))
                .containsExactly("Crew 101", "On my way, gate code 4312");
        assertThat(await(() -> bodiesTo(a, line, crew.getLast()), l -> l.size() == 2, 20_000))
                .containsExactly("Crew 101", dispatcher + ": On my way, gate code 4312");
        assertThat(inbound(a, "?from=%2B14155550800")).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("conversationId", newest));
        assertThat(bodiesTo(a, line, crew.get(99))).as("the 100th crew: nothing (its first message was not relayed)").isEmpty();
        assertThat(thread(a, conversations.get(99))).extracting(m -> m.get("body")).containsExactly("Crew 100");

        // The business writes in an old one: now that is the most recently active, and the next reply goes there.
        String old = conversations.get(4);
        assertThat(a.post("/v1/conversations/" + old + "/messages", Map.of("body", "Crew 5: change of plan")).status()).isEqualTo(202);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), dispatcher, line, "Got it"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, crew.get(4)), l -> l.size() == 2, 20_000))
                .containsExactly("Crew 5: change of plan", dispatcher + ": Got it");
        assertThat(thread(a, newest)).hasSize(2);
    }

    /**
     * An opt-in only the carrier saw in a text (an account's own word at Twilio, {@code OptOutType=START}: "Si") from a
     * participant who is not opted out answers the others too, as "Yes" does: relayed, not kept from them.
     */
    @Test
    void anOptInOnlyTheCarrierSawIsRelayedAsAReply(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Carrier Yes Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB), "Lunch at 1?").get("id");
        await(() -> bodiesTo(a, line, BOB), l -> !l.isEmpty(), 15_000);
        var si = twilioInbound(sid(), ANN, line, "Si");
        si.put("OptOutType", "START");
        assertThat(postInbound(a, runtime, si, null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 2, 15_000)).containsExactly("Lunch at 1?", ANN + ": Si");
        assertThat(thread(a, id)).extracting(m -> m.get("body")).containsExactly("Lunch at 1?", "Si");
        assertThat(inbound(a, "?lineId=" + lineId)).extracting(m -> m.get("keyword")).containsExactly("opt_in");
    }

    /**
     * "Yes" from a participant who is not opted out is the opt-in API.md makes it (listed so, and answered with the
     * line's optInReply) and also answers the others: it is in the thread, relayed and published. From a number opted out on the
     * line it is an opt-in only: confirmed, the opt-out lifted, and nothing relayed.
     */
    @Test
    void aYesIsAnOptInAndARelayedReplyUnlessItsNumberOptedOut(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Yes Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB, CAT), "Saturday at 10?").get("id");
        await(() -> bodiesTo(a, line, CAT), l -> !l.isEmpty(), 15_000);

        // "Yes!" and, at once, another text: relayed in the order they were sent
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "Yes!"), null).status()).isEqualTo(200);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "I'll bring chips"), null).status()).isEqualTo(200);
        List<String> relayed = List.of("Saturday at 10?", ANN + ": Yes!", ANN + ": I'll bring chips");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 3, 15_000)).containsExactlyElementsOf(relayed);
        assertThat(await(() -> bodiesTo(a, line, CAT), l -> l.size() == 3, 15_000)).containsExactlyElementsOf(relayed);
        assertThat(thread(a, id)).extracting(m -> m.get("body")).containsExactly("Saturday at 10?", "Yes!", "I'll bring chips");
        assertThat(inbound(a, "?lineId=" + lineId)).extracting(m -> m.get("keyword"), m -> m.get("conversationId"))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(null, id), org.assertj.core.groups.Tuple.tuple("opt_in", id));
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.size() == 2, 15_000))
                .containsExactly("Saturday at 10?", "You are resubscribed. Reply STOP to unsubscribe.");
        // her next "Yes" that day is relayed, and not confirmed again: in a conversation "Yes" answers most questions
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "yes"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 4, 15_000)).last().isEqualTo(ANN + ": yes");
        String secondYes = (String) inbound(a, "?lineId=" + lineId).getFirst().get("id");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(await(() -> InboundFaultsTest.handled(runtime, accountId, secondYes), Boolean::booleanValue, 15_000)).isTrue();
        assertThat(bodiesTo(a, line, ANN)).filteredOn(b -> b.startsWith("You are resubscribed")).hasSize(1);
        relayed = List.of("Saturday at 10?", ANN + ": Yes!", ANN + ": I'll bring chips", ANN + ": yes");

        // Cat opts out; her "yes" is then an opt-in, not a reply.
        text(a, CAT, line, "STOP");
        await(() -> a.get("/v1/conversations/" + id).body(), b -> b.contains("\"optedOut\":true"), 15_000);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), CAT, line, "yes"), null).status()).isEqualTo(200);
        assertThat(await(() -> sentTo(a, line, CAT, "You are resubscribed. Reply STOP to unsubscribe."), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(a.get("/v1/opt-outs?lineId=" + lineId).jsonObject().get("items")).asList().isEmpty();
        assertThat(inbound(a, "?lineId=" + lineId + "&from=" + CAT.replace("+", "%2B")))
                .extracting(m -> m.get("keyword")).containsExactly("opt_in", "opt_out");
        runtime.awaitIdle(); // a wrong relay would have gone by now
        assertThat(bodiesTo(a, line, BOB)).containsExactlyElementsOf(relayed);
        assertThat(thread(a, id)).hasSize(4);
        assertThat(integrationEvents(a, accountId))
                .as("replies, and the Yeses the others saw, not Cat's opt-in").extracting(e -> e.get("body"))
                .containsExactlyInAnyOrder("Yes!", "I'll bring chips", "yes");
    }

    /**
     * A line whose groupMessaging is switched off after its conversations began sends no more group texts: a
     * business message is a 409, and a reply is kept in the thread but not relayed. Switched on again, both go on.
     */
    @Test
    void aLineSwitchedOffGroupMessagingStopsItsConversations(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Switched Off Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB), "Hello both").get("id");
        await(() -> bodiesTo(a, line, BOB), l -> !l.isEmpty(), 15_000);

        assertThat(a.patch("/v1/lines/" + lineId, Map.of("groupMessaging", false)).status()).isEqualTo(200);
        var refused = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Anyone?"));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.errorCode()).isEqualTo("conflict");
        assertThat(refused.body()).contains("groupMessaging");
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "Still there?"), null).status()).isEqualTo(200);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "Hello?"), null).status()).isEqualTo(200);
        // the second is handled after the first is done with (one sender's texts are in order): both kept, none relayed
        assertThat(await(() -> thread(a, id), l -> l.size() == 3, 15_000)).extracting(m -> m.get("body"))
                .containsExactly("Hello both", "Still there?", "Hello?");
        runtime.awaitIdle(); // a wrong relay would have gone by now
        assertThat(bodiesTo(a, line, BOB)).containsExactly("Hello both");
        // the thread says so (before, the kept replies looked like relayed ones)
        assertThat(thread(a, id)).extracting(m -> m.get("relayed"), m -> m.get("notRelayedBecause")).containsExactly(
                org.assertj.core.groups.Tuple.tuple(null, null), org.assertj.core.groups.Tuple.tuple(false, "line_off"),
                org.assertj.core.groups.Tuple.tuple(false, "line_off"));

        assertThat(a.patch("/v1/lines/" + lineId, Map.of("groupMessaging", true)).status()).isEqualTo(200);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Back on")).status()).isEqualTo(202);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 2, 15_000)).containsExactly("Hello both", "Back on");
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "Great"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 3, 15_000)).last().isEqualTo(ANN + ": Great");
        assertThat(thread(a, id).getLast()).containsEntry("body", "Great").containsEntry("relayed", true)
                .containsEntry("notRelayedBecause", null);
    }

    @Test
    void optOutPoliciesExcludeTheParticipantOrBlockTheConversation(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Policy Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB, CAT), "Hello all").get("id");
        await(() -> bodiesTo(a, line, CAT), l -> !l.isEmpty(), 15_000);

        // Cat texts STOP: she gets the one confirmation, and is shown as opted out.
        text(a, CAT, line, "STOP");
        await(() -> a.get("/v1/conversations/" + id).body(), b -> b.contains("\"optedOut\":true"), 15_000);
        @SuppressWarnings("unchecked")
        var participants = (List<Map<String, Object>>) a.get("/v1/conversations/" + id).jsonObject().get("participants");
        assertThat(participants).filteredOn(p -> CAT.equals(p.get("phone"))).singleElement().satisfies(p -> {
            assertThat(p).containsEntry("optedOut", true);
            // since when: her opt-out's time
            assertThat(java.time.Instant.parse((String) p.get("optedOutAt"))).isCloseTo(java.time.Instant.now(),
                    org.assertj.core.api.Assertions.within(2, java.time.temporal.ChronoUnit.MINUTES));
        });
        assertThat(participants).filteredOn(p -> !CAT.equals(p.get("phone")))
                .allSatisfy(p -> assertThat(p).containsEntry("optedOut", false).containsEntry("optedOutAt", null));
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "active");
        // her STOP is listed with the conversation it came from (and is not relayed)
        @SuppressWarnings("unchecked")
        var fromCat = (List<Map<String, Object>>) a.get("/v1/inbound?lineId=" + lineId + "&from=" + java.net.URLEncoder.encode(CAT,
                java.nio.charset.StandardCharsets.UTF_8)).jsonObject().get("items");
        assertThat(fromCat).singleElement().satisfies(m -> assertThat(m).containsEntry("keyword", "opt_out")
                .containsEntry("conversationId", id));

        // exclude_participant (default): the others go on without her.
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "Still on?"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 2, 15_000)).containsExactly("Hello all", ANN + ": Still on?");
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Yes")).status()).isEqualTo(202);
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.size() == 2, 15_000)).containsExactly("Hello all", "Yes");
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, CAT)).doesNotContain(ANN + ": Still on?", "Yes");

        // block_conversation: one opt-out stops everything; business sends are refused. Switched on an hour after
        // Cat's STOP (her opt-out's time set back so): it holds the conversation while she stays opted out
        optedOutAnHourAgo(runtime, lineId, CAT);
        var patched = a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")));
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "blocked");
        var refused = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Anyone?"));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.errorCode()).isEqualTo("conflict");
        assertThat(postInbound(a, runtime, twilioInbound(sid(), BOB, line, "blocked reply"), null).status()).isEqualTo(200);
        assertThat(await(() -> thread(a, id), l -> l.size() == 4, 10_000)).extracting(m -> m.get("body")).contains("blocked reply");
        // Bob is told, once, that his texts go no further; Cat, opted out, is not. The policy holds it while Cat stays
        // opted out (her START lets it go on): on hold, not ended
        String notice = "The group conversation \"Saturday crew\" is on hold, so your message was not passed on to the others.";
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.contains(notice), 15_000)).containsOnlyOnce(notice);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), BOB, line, "hello?"), null).status()).isEqualTo(200);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), CAT, line, "me too"), null).status()).isEqualTo(200);
        assertThat(await(() -> thread(a, id), l -> l.size() == 6, 10_000)).extracting(m -> m.get("body")).contains("hello?", "me too");
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).doesNotContain(BOB + ": blocked reply", BOB + ": hello?", CAT + ": me too");
        assertThat(bodiesTo(a, line, BOB)).containsOnlyOnce(notice);
        assertThat(bodiesTo(a, line, CAT)).doesNotContain(notice);
        // the notice answers the text it followed, as a business's direct reply would
        @SuppressWarnings("unchecked")
        var bobsTexts = (List<Map<String, Object>>) a.get("/v1/inbound?lineId=" + lineId + "&from=" + java.net.URLEncoder.encode(BOB,
                java.nio.charset.StandardCharsets.UTF_8)).jsonObject().get("items");
        Object blockedReplyId = bobsTexts.stream().filter(m -> "blocked reply".equals(m.get("body"))).findFirst().orElseThrow().get("id");
        @SuppressWarnings("unchecked")
        var answers = (List<Map<String, Object>>) a.get("/v1/inbound/" + blockedReplyId + "/replies").jsonObject().get("items");
        assertThat(answers).singleElement().satisfies(r -> assertThat(r).containsEntry("body", notice).containsEntry("to", BOB));
        // Cat's START lets it go on; her STOP then blocks it for good: Bob, told "on hold" before, is told it ended, once
        assertThat(postInbound(a, runtime, twilioInbound(sid(), CAT, line, "START"), null).status()).isEqualTo(200);
        assertThat(await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> "active".equals(c.get("status")), 15_000))
                .containsEntry("status", "active");
        assertThat(postInbound(a, runtime, twilioInbound(sid(), CAT, line, "STOP"), null).status()).isEqualTo(200);
        assertThat(await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> c.get("blockedAt") != null, 15_000))
                .containsEntry("status", "blocked");
        String ended = "The group conversation \"Saturday crew\" has ended, so your message was not passed on to the others.";
        for (String text : List.of("still there?", "anyone?")) {
            assertThat(postInbound(a, runtime, twilioInbound(sid(), BOB, line, text), null).status()).isEqualTo(200);
        }
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.contains(ended), 15_000)).containsOnlyOnce(ended);
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, BOB)).containsOnlyOnce(ended).containsOnlyOnce(notice);
        // ...and a new conversation with an opted-out number is refused under that policy.
        var request = new LinkedHashMap<String, Object>(Map.of("lineId", lineId, "participants", List.of(ANN, CAT), "body", "x"));
        assertThat(a.post("/v1/conversations", request).status()).isEqualTo(409);
    }

    /**
     * A reply that reaches a conversation a fresh opt-out blocks under block_conversation before the opt-out's job
     * marked it ({@code blockedAt} still null) is told "has ended", as the block for good is on its way: not "on hold",
     * which would have used up its one notice of that kind and promised a START could let it go on.
     */
    @Test
    void aReplyBeforeAFreshOptOutsBlockIsMarkedIsToldTheConversationEnded(ApiClient api, LocalRuntime runtime) throws Exception {
        var t = blockingConversationOfThree(api, "Pending Block Co");
        ApiClient a = t.api();
        String accountId = t.accountId(), line = t.line(), lineId = t.lineId(), id = t.id();
        // as the moment before the STOP's job marked it: no blockedAt on the conversation nor on its routing rows
        blockedByCatsStopThenUnmarked(runtime, t);
        for (String p : List.of(ANN, BOB, CAT)) {
            runtime.wiring().dynamo().updateItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                    .key(groupmsg.platform.dynamo.Attr.key("CNVP#" + lineId + "#" + p, id)).updateExpression("REMOVE blockedAt"));
        }
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "blocked").containsEntry("blockedAt", null);
        text(a, BOB, line, "are we still on?");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.contains("has ended")), 15_000))
                .noneMatch(b -> b.contains("on hold"));

        // Ann's reply, told it ended; its job retried 20 minutes on, the opt-out no longer fresh and the block still
        // not marked: no "on hold" after "has ended"
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        String ulid = new groupmsg.platform.config.Ids().next("");
        new groupmsg.conversations.ConversationService(runtime.wiring(), queue)
                .relay(accountId, id, ulid, "inb_" + ulid, System.currentTimeMillis(), ANN, "hello?", List.of());
        await(() -> bodiesTo(a, line, ANN), l -> l.stream().anyMatch(b -> b.contains("has ended")), 15_000);
        new groupmsg.conversations.ConversationService(runtime.wiring().withClock(java.time.Clock.offset(java.time.Clock.systemUTC(),
                java.time.Duration.ofMinutes(20))), queue)
                .relay(accountId, id, ulid, "inb_" + ulid, System.currentTimeMillis(), ANN, "hello?", List.of());
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).noneMatch(b -> b.contains("on hold"));
    }

    /**
     * A reply's job retried after the conversation it was told was "on hold" became blocked for good tells its author
     * it ended too: each kind of notice has its own id (one id for both, the retry's "has ended" was taken for the
     * "on hold" already sent, and its one notice of that kind used up with nothing sent).
     */
    @Test
    void aRetryThatFindsTheHoldTurnedIntoABlockForGoodTellsTheAuthorItEnded(ApiClient api, LocalRuntime runtime) throws Exception {
        var t = blockingConversationOfThree(api, "Hold Then Block Co");
        ApiClient a = t.api();
        String accountId = t.accountId(), line = t.line(), lineId = t.lineId(), id = t.id();
        // as a conversation the policy holds: no blockedAt, Cat's opt-out from an hour ago
        blockedByCatsStopThenUnmarked(runtime, t);
        optedOutAnHourAgo(runtime, lineId, CAT);
        var service = new groupmsg.conversations.ConversationService(runtime.wiring(),
                new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        String ulid = new groupmsg.platform.config.Ids().next("");
        service.relay(accountId, id, ulid, "inb_" + ulid, System.currentTimeMillis(), ANN, "anyone?", List.of());
        String onHold = "The group conversation \"Saturday crew\" is on hold, so your message was not passed on to the others.";
        await(() -> bodiesTo(a, line, ANN), l -> l.contains(onHold), 15_000);
        // blocked for good meanwhile; the reply's job runs again
        setBlockedAt(runtime, accountId, id, System.currentTimeMillis());
        service.relay(accountId, id, ulid, "inb_" + ulid, System.currentTimeMillis(), ANN, "anyone?", List.of());
        String ended = "The group conversation \"Saturday crew\" has ended, so your message was not passed on to the others.";
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.contains(ended), 15_000)).containsOnlyOnce(ended).containsOnlyOnce(onHold);
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, BOB)).noneMatch(b -> b.contains("anyone?"));
    }

    /**
     * Under block_conversation an opt-out blocks the number's conversations on the line for good ("you will need to
     * start a new chat"): neither its START, nor its opt-out removed by hand, nor the policy switched back reopens them.
     */
    @Test
    void anOptOutUnderBlockConversationBlocksItsConversationsForGood(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Blocked For Good Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String withCat = (String) create(a, lineId, List.of(ANN, BOB, CAT), "Hello all").get("id");
        String alsoWithCat = (String) create(a, lineId, List.of(CAT, DAN), "Just us").get("id");
        String withoutCat = (String) create(a, lineId, List.of(ANN, BOB), "No Cat").get("id");
        String otherLine = linePhone();
        String catElsewhere = (String) create(a, groupLine(a, otherLine, 50), List.of(ANN, CAT), "Other line").get("id");
        assertThat(a.get("/v1/conversations/" + withCat).jsonObject()).containsEntry("status", "active").containsEntry("blockedAt", null);
        await(() -> bodiesTo(a, line, CAT), l -> l.size() == 2, 15_000);

        text(a, CAT, line, "STOP");
        for (String id : List.of(withCat, alsoWithCat)) {
            assertThat(await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> c.get("blockedAt") != null, 15_000))
                    .containsEntry("status", "blocked");
        }
        assertThat(a.get("/v1/conversations/" + withoutCat).jsonObject()).containsEntry("status", "active").containsEntry("blockedAt", null);
        assertThat(a.get("/v1/conversations/" + catElsewhere).jsonObject()).containsEntry("status", "active");
        String blockedAt = (String) a.get("/v1/conversations/" + withCat).jsonObject().get("blockedAt");

        // START: Cat is subscribed again (and told so), but the conversations stay blocked
        text(a, CAT, line, "START");
        assertThat(await(() -> a.get("/v1/conversations/" + withCat).body(), b -> b.contains("\"optedOut\":false") && !b.contains("\"optedOut\":true"), 15_000))
                .as("Cat subscribed again").contains("\"optedOut\":false").doesNotContain("\"optedOut\":true");
        assertThat(await(() -> sentTo(a, line, CAT, "You are resubscribed. Reply STOP to unsubscribe."), l -> !l.isEmpty(), 15_000))
                .as("Cat told she is subscribed again").hasSize(1);
        var afterStart = a.get("/v1/conversations/" + withCat).jsonObject();
        assertThat(afterStart).containsEntry("status", "blocked").containsEntry("blockedAt", blockedAt);
        @SuppressWarnings("unchecked")
        var participantsAfterStart = (List<Map<String, Object>>) afterStart.get("participants");
        assertThat(participantsAfterStart).filteredOn(p -> CAT.equals(p.get("phone"))).singleElement()
                .satisfies(p -> assertThat(p).containsEntry("optedOut", false));
        assertThat(a.post("/v1/conversations/" + withCat + "/messages", Map.of("body", "Back?")).status()).isEqualTo(409);
        // and the policy switched back does not reopen them either
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "exclude_participant")))
                .status()).isEqualTo(200);
        assertThat(a.get("/v1/conversations/" + alsoWithCat).jsonObject()).containsEntry("status", "blocked");
        // Dan's reply is kept in the thread and goes no further: not to Cat, subscribed again as she is
        assertThat(postInbound(a, runtime, twilioInbound(sid(), DAN, line, "anyone?"), null).status()).isEqualTo(200);
        assertThat(await(() -> thread(a, alsoWithCat), l -> l.stream().anyMatch(m -> "anyone?".equals(m.get("body"))), 15_000))
                .extracting(m -> m.get("body")).contains("anyone?");
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, CAT)).noneMatch(b -> b.contains("anyone?"));

        // a manual opt-out under the policy blocks too, and removing it does not reopen
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", ANN)).status()).isEqualTo(201);
        assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + ANN.replace("+", "%2B")).status()).isEqualTo(204);
        var withoutCatNow = a.get("/v1/conversations/" + withoutCat).jsonObject();
        assertThat(withoutCatNow).containsEntry("status", "blocked").extractingByKey("blockedAt").isNotNull();
        // a retried or second opt-out keeps the first time
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", BOB)).status()).isEqualTo(201);
        assertThat(a.get("/v1/conversations/" + withCat).jsonObject()).containsEntry("blockedAt", blockedAt);
        // other lines' conversations were never touched
        assertThat(a.get("/v1/conversations/" + catElsewhere).jsonObject()).containsEntry("status", "active").containsEntry("blockedAt", null);
    }

    /**
     * A text answering the private message the line sent a participant last is no conversation's: relayed, a private
     * answer ("your date of birth to confirm") reached everyone in it. Once the conversation has moved on since, the
     * participant's texts are its again.
     */
    @Test
    void aTextAnsweringAPrivateMessageTheLineSentLastIsNotRelayed(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Private Answer Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB), "Hello all").get("id");
        await(() -> bodiesTo(a, line, BOB), l -> l.size() == 1, 15_000);

        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", ANN, "body", "Your results are ready: reply"
                + " with your date of birth to confirm")).status()).isEqualTo(202);
        await(() -> bodiesTo(a, line, ANN), l -> l.size() == 2, 15_000);
        text(a, ANN, line, "03/14/1980");
        assertThat(await(() -> inbound(a, "?lineId=" + lineId), l -> !l.isEmpty(), 15_000)).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("body", "03/14/1980").containsEntry("conversationId", null));
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, BOB)).noneMatch(b -> b.contains("03/14/1980"));

        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Meeting at 6")).status()).isEqualTo(202);
        await(() -> bodiesTo(a, line, ANN), l -> l.stream().anyMatch(b -> b.contains("Meeting at 6")), 15_000);
        awaitTakenFor(a, id, "Meeting at 6", ANN);
        text(a, ANN, line, "See you there");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.contains("See you there")), 15_000))
                .anyMatch(b -> b.contains("See you there"));
    }

    /**
     * Waits until the carrier took the thread message {@code body}'s copy to {@code phone} (sent or delivered): routing
     * counts a send still in progress as seen only seconds in.
     */
    @SuppressWarnings("unchecked")
    static void awaitTakenFor(ApiClient a, String conversationId, String body, String phone) throws InterruptedException {
        String messageId = (String) thread(a, conversationId).stream().filter(m -> body.equals(m.get("body"))).findFirst()
                .orElseThrow().get("id");
        java.util.function.Predicate<Map<String, Object>> taken = d -> phone.equals(d.get("phone"))
                && List.of("sent", "delivered").contains(d.get("status"));
        assertThat(await(() -> (List<Map<String, Object>>) a.get("/v1/conversations/" + conversationId + "/messages/" + messageId
                + "/deliveries").jsonObject().get("items"), l -> l.stream().anyMatch(taken), 15_000))
                .as(body + " taken for " + phone).anyMatch(taken);
    }

    /**
     * A private message from the line that had not reached the participant when they texted (still queued behind a
     * busy line, or failed) is not what the text answers: it goes to the conversation. Before, the private message's
     * acceptance alone kept every text of theirs from the conversation until someone else wrote in it. A text
     * answering the private message before one still on its way stays private.
     */
    @Test
    void aPrivateMessageThatHadNotReachedTheParticipantKeepsNoTextOfTheirsFromTheConversation(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Unreached Private Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String unreachable = "+15005550032"; // the emulator's: sent, then undelivered (30003)
        create(a, lineId, List.of(unreachable, BOB), "Hello all");
        await(() -> bodiesTo(a, line, BOB), l -> l.size() == 1, 15_000);
        String failed = (String) a.post("/v1/lines/" + lineId + "/messages", Map.of("to", unreachable, "body",
                "Your order is ready")).jsonObject().get("id");
        await(() -> a.get("/v1/lines/" + lineId + "/messages/" + failed).jsonObject(), m -> "undelivered".equals(m.get("status")), 15_000);
        text(a, unreachable, line, "Running late, start without me");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.contains("start without me")), 15_000))
                .as("the failed private message is not what the text answers").anyMatch(b -> b.contains("start without me"));

        // Ann got a private message, then another is still queued (held here) when she answers the first: private
        String other = linePhone();
        String otherId = groupLine(a, other, 50);
        create(a, otherId, List.of(ANN, BOB), "Hello again");
        await(() -> bodiesTo(a, other, ANN), l -> l.size() == 1, 15_000);
        assertThat(a.post("/v1/lines/" + otherId + "/messages", Map.of("to", ANN, "body", "Reply with your date of birth"))
                .status()).isEqualTo(202);
        await(() -> bodiesTo(a, other, ANN), l -> l.size() == 2, 15_000);
        groupmsg.platform.queue.QueueSender held = (queue, messages) -> { };
        new groupmsg.inbound.ReplyService(runtime.wiring(), held).sendFromLine(accountId, otherId, ANN, null,
                "And your postcode", List.of(), new groupmsg.platform.config.Ids().next(""));
        text(a, ANN, other, "03/14/1980");
        var fromAnn = await(() -> inbound(a, "?lineId=" + otherId), l -> !l.isEmpty(), 15_000);
        assertThat(fromAnn).singleElement().satisfies(m -> assertThat(m).containsEntry("body", "03/14/1980")
                .containsEntry("conversationId", null));
        runtime.awaitIdle();
        assertThat(bodiesTo(a, other, BOB)).noneMatch(b -> b.contains("03/14/1980"));
        // two on their way: her text may still answer the one before them (whose id the mark no longer keeps)
        new groupmsg.inbound.ReplyService(runtime.wiring(), held).sendFromLine(accountId, otherId, ANN, null,
                "And your street", List.of(), new groupmsg.platform.config.Ids().next(""));
        text(a, ANN, other, "94110");
        assertThat(await(() -> inbound(a, "?lineId=" + otherId), l -> l.size() == 2, 15_000)).first()
                .satisfies(m -> assertThat(m).containsEntry("body", "94110").containsEntry("conversationId", null));
        runtime.awaitIdle();
        assertThat(bodiesTo(a, other, BOB)).noneMatch(b -> b.contains("94110"));

        // a private message whose outcome nobody knows (maintenance failed it after an hour): it may well have reached
        // Dan, so his text stays private
        String third = linePhone();
        String thirdId = groupLine(a, third, 50);
        create(a, thirdId, List.of(DAN, BOB), "Hello once more");
        await(() -> bodiesTo(a, third, DAN), l -> l.size() == 1, 15_000);
        String unknown = (String) a.post("/v1/lines/" + thirdId + "/messages", Map.of("to", DAN, "body", "Your code is 4411"))
                .jsonObject().get("id");
        assertThat(await(() -> a.get("/v1/lines/" + thirdId + "/messages/" + unknown).jsonObject().get("status"),
                st -> "delivered".equals(st), 15_000)).isEqualTo("delivered");
        var w = runtime.wiring();
        w.dynamo().updateItem(u -> u.tableName(w.config().table(groupmsg.platform.schema.Tables.DELIVERIES))
                .key(groupmsg.platform.dynamo.Attr.key("MSG#" + unknown + "#0", DAN))
                .updateExpression("SET #s = :failed, #e = :unknown").expressionAttributeNames(Map.of("#s", "status", "#e", "error"))
                .expressionAttributeValues(Map.of(":failed", groupmsg.platform.dynamo.Attr.s("failed"),
                        ":unknown", groupmsg.platform.dynamo.Attr.s(groupmsg.messages.Delivery.OUTCOME_UNKNOWN))));
        text(a, DAN, third, "4411");
        assertThat(await(() -> inbound(a, "?lineId=" + thirdId), l -> !l.isEmpty(), 15_000)).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("body", "4411").containsEntry("conversationId", null));
        runtime.awaitIdle();
        assertThat(bodiesTo(a, third, BOB)).noneMatch(b -> b.contains("4411"));
    }

    /**
     * Routing as a text arrives (the carrier webhook, before the text is stored) stops at its time: the text is stored
     * unrouted, and the inbound worker routes and relays it. Before, a number in hundreds of conversations could keep
     * the webhook reading past its 10 s, and nothing was stored.
     */
    @Test
    void aTextWhoseRoutingRunsOutOfTimeOnArrivalIsStoredAndRoutedByTheWorker(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Slow Routing Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB), "Hello all").get("id");
        await(() -> bodiesTo(a, line, BOB), l -> l.size() == 1, 15_000);

        // every look at the clock 6 s on: past the routing's 5 s at its first conversation
        var slow = runtime.wiring().withClock(groupmsg.local.TestClocks.steppingBy(6_000));
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var stored = (InboundService.Stored) new InboundService(slow, queue)
                .receive(new InboundService.InboundSms(sid(), ANN, line, "On my way", List.of()));
        assertThat(stored.message().conversationId()).as("not routed on arrival").isNull();

        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.contains("On my way")), 15_000))
                .anyMatch(b -> b.contains("On my way"));
        assertThat(thread(a, id)).extracting(m -> m.get("body")).contains("On my way");
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement().satisfies(m -> assertThat(m).containsEntry("conversationId", id));
    }

    /**
     * A participant answering the line's private message is not relayed because the conversation moved in the
     * meantime: another's reply placed after the private message but not yet relayed to them (a busy line) was never
     * seen. Before, the thread's activity alone decided, and the private answer went to everyone. Once that reply
     * reached them, their texts are the conversation's again.
     */
    @Test
    void aPrivateAnswerIsNotRelayedWhenTheConversationsNewerMessageHadNotReachedItsAuthor(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Unseen Reply Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(Map.of("phone", ANN, "name", "Ann"), Map.of("phone", BOB, "name", "Bob")),
                "Hello all").get("id");
        await(() -> bodiesTo(a, line, ANN), l -> l.size() == 1, 15_000);
        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", ANN, "body", "Reply with your date of birth"))
                .status()).isEqualTo(202);
        await(() -> bodiesTo(a, line, ANN), l -> l.size() == 2, 15_000);
        // Bob's reply takes its place in the thread; its relay waits (held here, as a busy line would hold it)
        var relays = new java.util.concurrent.CopyOnWriteArrayList<QueueMessage>();
        groupmsg.platform.queue.QueueSender holding = (queue, messages) -> {
            if (queue == groupmsg.platform.schema.Queues.RELAYS) relays.addAll(messages);
        };
        var bobs = (InboundService.Stored) new InboundService(runtime.wiring(), holding)
                .receive(new InboundService.InboundSms(sid(), BOB, line, "Running late", List.of()));
        new groupmsg.inbound.InboundRouter(runtime.wiring(), holding).route(accountId, bobs.message().id());
        assertThat(thread(a, id)).extracting(m -> m.get("body")).contains("Running late");
        assertThat(relays).singleElement().satisfies(m -> assertThat(m.groupId()).isEqualTo(id));

        text(a, ANN, line, "03/14/1980");

        var fromAnn = await(() -> inbound(a, "?lineId=" + lineId + "&from=" + java.net.URLEncoder.encode(ANN,
                java.nio.charset.StandardCharsets.UTF_8)), l -> !l.isEmpty(), 15_000);
        assertThat(fromAnn).singleElement().satisfies(m -> assertThat(m).containsEntry("body", "03/14/1980")
                .containsEntry("conversationId", null));
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, BOB)).noneMatch(b -> b.contains("03/14/1980"));

        // Bob's relay goes and reaches Ann: her next text is the conversation's
        new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config())
                .send(groupmsg.platform.schema.Queues.RELAYS, relays);
        awaitTakenFor(a, id, "Running late", ANN);
        text(a, ANN, line, "No rush");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.contains("No rush")), 15_000))
                .anyMatch(b -> b.contains("No rush"));
    }

    /**
     * A toll-free line stored with groupMessaging on before the rule (PATCH can no longer set it) keeps the flag, not
     * the ability: no conversation starts on it. Before, only the flag was read, and group texts went out on it.
     */
    @Test
    void aTollFreeLineFlaggedForGroupMessagingBeforeTheRuleStartsNoConversation(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Legacy Toll Free Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = (String) a.post("/v1/lines", Map.of("phone", "+1888555" + String.format("%04d", (int) (Math.random() * 10_000)),
                "type", "toll_free", "groupMessaging", false, "mps", 3)).jsonObject().get("id");
        runtime.wiring().dynamo().updateItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                .key(Map.of("pk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("ACCT#" + accountId),
                        "sk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("LINE#" + lineId)))
                .updateExpression("SET groupMessaging = :t")
                .expressionAttributeValues(Map.of(":t", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromBool(true))));
        assertThat(a.get("/v1/lines/" + lineId).jsonObject()).as("what it can do").containsEntry("groupMessaging", false);
        assertThat(a.get("/v1/lines?groupMessaging=true").body()).doesNotContain(lineId);

        var refused = a.post("/v1/conversations", Map.of("lineId", lineId, "participants", List.of(ANN, BOB), "body", "Hi"));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.body()).contains("toll-free");
    }

    /** A new account under block_conversation, with a conversation of Ann, Bob and Cat on a line of its own, begun. */
    record ConversationOfThree(ApiClient api, String accountId, String line, String lineId, String id) {}

    /** Cat texts STOP, which blocks the conversation for good; then its {@code blockedAt} is taken off again. */
    private static void blockedByCatsStopThenUnmarked(LocalRuntime runtime, ConversationOfThree t) throws Exception {
        text(t.api(), CAT, t.line(), "STOP");
        await(() -> t.api().get("/v1/conversations/" + t.id()).jsonObject(), c -> c.get("blockedAt") != null, 15_000);
        runtime.awaitIdle();
        setBlockedAt(runtime, t.accountId(), t.id(), null);
    }

    /** Sets the number's opt-out on the line an hour back, as one recorded long before a policy switched since. */
    private static void optedOutAnHourAgo(LocalRuntime runtime, String lineId, String phone) {
        var w = runtime.wiring();
        w.dynamo().updateItem(b -> b.tableName(w.config().table(groupmsg.platform.schema.Tables.CORE))
                .key(groupmsg.platform.dynamo.Attr.key("OPTOUT#" + lineId, phone)).updateExpression("SET optedOutAt = :at")
                .expressionAttributeValues(Map.of(":at", software.amazon.awssdk.services.dynamodb.model.AttributeValue
                        .fromN(String.valueOf(System.currentTimeMillis() - 3_600_000)))));
    }

    /** Sets the conversation's {@code blockedAt} as stored (null: none, as before its block was marked). */
    private static void setBlockedAt(LocalRuntime runtime, String accountId, String id, Long at) {
        var w = runtime.wiring();
        var key = groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId), "CNV#" + id);
        String core = w.config().table(groupmsg.platform.schema.Tables.CORE);
        if (at == null) {
            w.dynamo().updateItem(b -> b.tableName(core).key(key).updateExpression("REMOVE blockedAt"));
        } else {
            w.dynamo().updateItem(b -> b.tableName(core).key(key).updateExpression("SET blockedAt = :at").expressionAttributeValues(
                    Map.of(":at", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN(String.valueOf(at)))));
        }
    }

    private static ConversationOfThree blockingConversationOfThree(ApiClient api, String accountName) throws Exception {
        ApiClient a = api.forNewAccount(accountName);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(ANN, BOB, CAT), "Hello all").get("id");
        await(() -> bodiesTo(a, line, CAT), l -> l.size() == 1, 15_000);
        return new ConversationOfThree(a, accountId, line, lineId, id);
    }

    /**
     * A reply's job that fails after its relay (publishing its event, say) runs again minutes later: the retry follows
     * the first run's decision. Before, it decided anew: a conversation blocked meanwhile told the author "has ended,
     * not passed on" for a reply the others had, and used up the one notice a reply really held back should get.
     */
    @Test
    void aReplysRetryFollowsTheFirstRunsDecisionWhateverChangedSince(ApiClient api, LocalRuntime runtime) throws Exception {
        var t = blockingConversationOfThree(api, "Retried Reply Co");
        ApiClient a = t.api();
        String accountId = t.accountId(), line = t.line(), id = t.id();

        var service = new groupmsg.conversations.ConversationService(runtime.wiring(),
                new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        String ulid = new groupmsg.platform.config.Ids().next("");
        String inboundId = "inb_" + ulid;
        service.relay(accountId, id, ulid, inboundId, System.currentTimeMillis(), ANN, "running late", List.of());
        await(() -> bodiesTo(a, line, CAT), l -> l.size() == 2, 15_000);

        text(a, CAT, line, "STOP");
        await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> c.get("blockedAt") != null, 15_000); // blocked for good: "has ended"
        service.relay(accountId, id, ulid, inboundId, System.currentTimeMillis(), ANN, "running late", List.of());
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).as("no notice for a reply the others had").noneMatch(b -> b.contains("has ended"));
        assertThat(bodiesTo(a, line, BOB)).filteredOn(b -> b.contains("running late")).hasSize(1);

        // the one notice is still there for a reply that is held back
        assertThat(postInbound(a, runtime, twilioInbound(sid(), ANN, line, "anyone?"), null).status()).isEqualTo(200);
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.stream().anyMatch(b -> b.contains("has ended")), 15_000))
                .filteredOn(b -> b.contains("has ended")).hasSize(1);
        assertThat(bodiesTo(a, line, BOB)).noneMatch(b -> b.contains("anyone?"));
    }

    /**
     * A conversation and its first message, and a later message, are stored in one transaction with the message that
     * sends them: a write that fails leaves no thread message that nobody got (before, the conversation and its
     * message were stored, the sending message's write failed, and without an Idempotency-Key nothing sent it). The
     * request's retry (the same ids, as under an Idempotency-Key) stores and sends each once.
     */
    @Test
    void aConversationOrMessageWhoseSendingFailsToBeStoredIsNotStored(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Atomic Thread Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var caller = new groupmsg.platform.api.Caller(accountId, "key_test", groupmsg.platform.api.Role.OWNER);
        var ids = new groupmsg.platform.config.Ids();
        String createUlid = ids.next(""), sendUlid = ids.next("");
        var sendingWriteFails = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                String request = context.request().toString();
                if (request.contains("cout_" + createUlid) || request.contains("cout_" + sendUlid)) {
                    throw new IllegalStateException("the sending message's write failed");
                }
            }
        });
        var input = new groupmsg.conversations.ConversationService.NewConversation(lineId, "Atomic",
                List.of(new groupmsg.conversations.Conversation.Participant(ANN, null),
                        new groupmsg.conversations.Conversation.Participant(BOB, null)), "first one", List.of(), null);
        var failing = new groupmsg.conversations.ConversationService(sendingWriteFails, queue);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> failing.create(caller, input, createUlid))
                .hasMessageContaining("the sending message's write failed");
        String id = "cnv_" + createUlid;
        assertThat(a.get("/v1/conversations/" + id).status()).as("no conversation without its first message's sending").isEqualTo(404);

        var service = new groupmsg.conversations.ConversationService(runtime.wiring(), queue);
        service.create(caller, input, createUlid); // the retry
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.contains("first one")), 15_000))
                .filteredOn(b -> b.contains("first one")).hasSize(1);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> failing.send(caller, id, null, "second one", List.of(), sendUlid))
                .hasMessageContaining("the sending message's write failed");
        assertThat(thread(a, id)).as("no thread message nobody got").noneMatch(m -> "second one".equals(m.get("body")));
        service.send(caller, id, null, "second one", List.of(), sendUlid); // the retry
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.stream().anyMatch(b -> b.contains("second one")), 15_000))
                .filteredOn(b -> b.contains("second one")).hasSize(1);
        runtime.awaitIdle();
        assertThat(thread(a, id)).filteredOn(m -> "second one".equals(m.get("body"))).hasSize(1);
        assertThat(bodiesTo(a, line, ANN)).filteredOn(b -> b.contains("first one")).hasSize(1);
        assertThat(bodiesTo(a, line, BOB)).filteredOn(b -> b.contains("second one")).hasSize(1);
    }

    /**
     * A retry (the same ids) that read nothing, and whose write then meets what the first run committed late (its
     * answer lost), answers the conversation as the first run made it, sent once: it was a 500.
     */
    @Test
    void aRetryThatMeetsTheFirstRunsLateWriteAnswersItsConversation(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Late First Run Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var caller = new groupmsg.platform.api.Caller(accountId, "key_test", groupmsg.platform.api.Role.OWNER);
        String ulid = new groupmsg.platform.config.Ids().next("");
        var input = new groupmsg.conversations.ConversationService.NewConversation(lineId, "Late",
                List.of(new groupmsg.conversations.Conversation.Participant(ANN, null),
                        new groupmsg.conversations.Conversation.Participant(BOB, null)), "only once", List.of(), null);
        var firstRun = new groupmsg.conversations.ConversationService(runtime.wiring(), queue);
        var firstCommitsMeanwhile = runtime.wiringWith(groupmsg.local.JustBefore.transaction(
                tx -> tx.toString().contains("cout_" + ulid), () -> firstRun.create(caller, input, ulid)));
        var view = new groupmsg.conversations.ConversationService(firstCommitsMeanwhile, queue).create(caller, input, ulid);
        assertThat(view.conversation().id()).isEqualTo("cnv_" + ulid);
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).filteredOn(b -> b.contains("only once")).hasSize(1);
        assertThat(bodiesTo(a, line, BOB)).filteredOn(b -> b.contains("only once")).hasSize(1);
    }

    /**
     * A first run that decided to relay a reply but failed before its relay was made, then the conversation blocked:
     * nobody has the reply, so the retry goes by the conversation as it is, and tells its author.
     */
    @Test
    void aReplyWhoseFirstRunMadeNoRelayGoesAsTheConversationIsNow(ApiClient api, LocalRuntime runtime) throws Exception {
        var t = blockingConversationOfThree(api, "Unrelayed Reply Co");
        ApiClient a = t.api();
        String accountId = t.accountId(), line = t.line(), id = t.id();

        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        String ulid = new groupmsg.platform.config.Ids().next("");
        var relayWriteFails = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request().toString().contains("crly_" + ulid)) throw new IllegalStateException("the relay's write failed");
            }
        });
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.conversations.ConversationService(relayWriteFails, queue)
                .relay(accountId, id, ulid, "inb_" + ulid, System.currentTimeMillis(), ANN, "on my way", List.of()))
                .hasMessageContaining("the relay's write failed");

        text(a, CAT, line, "STOP");
        await(() -> a.get("/v1/conversations/" + id).jsonObject(), c -> c.get("blockedAt") != null, 15_000); // blocked for good: "has ended"
        new groupmsg.conversations.ConversationService(runtime.wiring(), queue)
                .relay(accountId, id, ulid, "inb_" + ulid, System.currentTimeMillis(), ANN, "on my way", List.of());
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.stream().anyMatch(b -> b.contains("has ended")), 15_000))
                .filteredOn(b -> b.contains("has ended")).hasSize(1);
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, BOB)).noneMatch(b -> b.contains("on my way"));
        // and the thread says it was not passed on (its first run had recorded it to be)
        assertThat(thread(a, id)).filteredOn(m -> "on my way".equals(m.get("body"))).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("relayed", false).containsEntry("notRelayedBecause", "blocked"));
    }

    /**
     * Under block_conversation, a reply goes to the number's conversation that goes on, not to a blocked one more
     * recently active, and a text kept in a blocked conversation does not make it the most recently active: before,
     * the blocked one drew every participant's replies, kept there unrelayed, and its "ended" notice.
     */
    @Test
    void aReplyGoesToTheConversationThatGoesOnNotToABlockedOne(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Blocked Routing Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String without = (String) create(a, lineId, List.of(ANN, BOB), "Just the two").get("id");
        String with = (String) create(a, lineId, List.of(ANN, BOB, CAT), "All three").get("id");
        assertThat(a.post("/v1/conversations/" + with + "/messages", Map.of("body", "latest here")).status()).isEqualTo(202);
        text(a, CAT, line, "STOP");
        assertThat(await(() -> a.get("/v1/conversations/" + with).jsonObject(), c -> c.get("blockedAt") != null, 15_000))
                .as("blocked by Cat's STOP").extractingByKey("blockedAt").isNotNull();
        text(a, CAT, line, "why?"); // kept in the blocked thread
        assertThat(await(() -> thread(a, with), l -> l.stream().anyMatch(m -> "why?".equals(m.get("body"))), 15_000))
                .as("kept in the blocked thread").filteredOn(m -> "why?".equals(m.get("body"))).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("relayed", false).containsEntry("notRelayedBecause", "blocked"));
        // the block is on every participant's routing row too: routing passes over it without reading it
        for (String p : List.of(ANN, BOB, CAT)) {
            var row = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                    .key(groupmsg.platform.dynamo.Attr.key("CNVP#" + lineId + "#" + p, with)).consistentRead(true)).item();
            assertThat(row).as(p).containsKey("blockedAt");
        }

        text(a, ANN, line, "see you at 5");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.endsWith("see you at 5")), 15_000))
                .anyMatch(b -> b.endsWith(": see you at 5"));
        assertThat(thread(a, without)).anyMatch(m -> "see you at 5".equals(m.get("body")));
        assertThat(thread(a, with)).noneMatch(m -> "see you at 5".equals(m.get("body")));
        assertThat(bodiesTo(a, line, ANN)).noneMatch(b -> b.contains("has ended"));
    }

    /**
     * Under block_conversation, a participant's opt-out recorded while the conversation is created (after the
     * create read the opt-outs, its own block before the conversation was there) blocks it for good, as one recorded
     * a moment later would: before, it stood unmarked, and the number's opt-out removed (or its START) reopened it.
     * A run that fails right after its commit leaves it to the request's retry, which marks it.
     */
    @Test
    void anOptOutDuringTheCreateBlocksTheConversationForGood(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Create Race Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        var caller = new groupmsg.platform.api.Caller(accountId, "key_test", groupmsg.platform.api.Role.OWNER);
        java.util.function.Function<String, groupmsg.conversations.ConversationService.NewConversation> input = body ->
                new groupmsg.conversations.ConversationService.NewConversation(lineId, null,
                        List.of(new groupmsg.conversations.Conversation.Participant(ANN, null),
                                new groupmsg.conversations.Conversation.Participant(CAT, null)), body, List.of(), null);
        java.util.function.Function<groupmsg.platform.config.Wiring, groupmsg.conversations.ConversationService> service = w ->
                new groupmsg.conversations.ConversationService(w, new groupmsg.platform.queue.SqsQueueSender(w.sqsClient(), w.config()));
        java.util.function.Predicate<software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest> storesAConversation =
                tx -> tx.transactItems().stream().anyMatch(i -> i.put() != null && i.put().item().get("sk").s().startsWith("CNV#"));

        var view = service.apply(runtime.wiringWith(groupmsg.local.JustBefore.transaction(storesAConversation,
                () -> assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", CAT)).status()).isEqualTo(201))))
                .create(caller, input.apply("Hello both"));
        String id = view.conversation().id();
        assertThat(view.status()).isEqualTo("blocked");
        var blocked = a.get("/v1/conversations/" + id).jsonObject();
        assertThat(blocked).containsEntry("status", "blocked").extractingByKey("blockedAt").isNotNull();
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).as("its first message went to nobody").noneMatch(b -> b.contains("Hello both"));
        // the opt-out lifted: still blocked, and a message to it refused
        assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + CAT.replace("+", "%2B")).status()).isEqualTo(204);
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "blocked")
                .containsEntry("blockedAt", blocked.get("blockedAt"));
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Back?")).status()).isEqualTo(409);

        // the same race, the run failing at its look after the commit (a read refused): its retry (the same ids, as
        // an Idempotency-Key's) finds the conversation and marks it
        var committed = new java.util.concurrent.atomic.AtomicBoolean();
        var failOnce = new java.util.concurrent.atomic.AtomicBoolean();
        var failTheLookAfterTheCommit = new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void afterExecution(software.amazon.awssdk.core.interceptor.Context.AfterExecution context,
                                       software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest tx
                        && storesAConversation.test(tx)) committed.set(true);
            }

            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (committed.get() && context.request() instanceof software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest
                        && failOnce.compareAndSet(false, true)) {
                    throw software.amazon.awssdk.core.exception.SdkClientException.create("refused for the test");
                }
            }
        };
        String ulid = runtime.wiring().ids().next("");
        var failing = runtime.wiringWith(groupmsg.local.JustBefore.transaction(storesAConversation,
                () -> assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", CAT)).status()).isEqualTo(201)),
                failTheLookAfterTheCommit);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.apply(failing).create(caller, input.apply("Again"), ulid))
                .isInstanceOf(software.amazon.awssdk.core.exception.SdkClientException.class);
        assertThat(a.get("/v1/conversations/cnv_" + ulid).jsonObject()).as("committed, not marked yet")
                .containsEntry("blockedAt", null);
        var retried = service.apply(runtime.wiring()).create(caller, input.apply("Again"), ulid);
        assertThat(retried.conversation().blockedAt()).isNotNull();
        assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + CAT.replace("+", "%2B")).status()).isEqualTo(204);
        assertThat(a.get("/v1/conversations/cnv_" + ulid).jsonObject()).containsEntry("status", "blocked");
    }

    /**
     * A conversation the policy blocks that no opt-out marked (block_conversation switched on after a participant's
     * STOP; or a STOP whose worker has not got to it yet) is passed over as a marked one is: before, it drew the
     * reply, kept it unrelayed and told its author it had ended, while the conversation that goes on missed it.
     */
    @Test
    void aReplyPassesOverAConversationThePolicyBlocksBeforeAnyOptOutMarkedIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Policy Routing Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String without = (String) create(a, lineId, List.of(ANN, BOB), "Just the two").get("id");
        String with = (String) create(a, lineId, List.of(ANN, BOB, CAT), "All three").get("id");
        assertThat(a.post("/v1/conversations/" + with + "/messages", Map.of("body", "latest here")).status()).isEqualTo(202);
        text(a, CAT, line, "STOP"); // under exclude_participant: Cat leaves, the conversation goes on
        runtime.awaitIdle();
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        assertThat(a.get("/v1/conversations/" + with).jsonObject()).containsEntry("status", "blocked").containsEntry("blockedAt", null);

        text(a, ANN, line, "see you at 5");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.endsWith("see you at 5")), 15_000))
                .anyMatch(b -> b.endsWith(": see you at 5"));
        runtime.awaitIdle();
        assertThat(thread(a, without)).anyMatch(m -> "see you at 5".equals(m.get("body")));
        assertThat(thread(a, with)).noneMatch(m -> "see you at 5".equals(m.get("body")));
        assertThat(bodiesTo(a, line, ANN)).noneMatch(b -> b.contains("has ended"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theListIsNarrowedToALineANumberOrAStatusPageByPage(ApiClient api) {
        ApiClient a = api.forNewAccount("Conversation Filters Co");
        String first = groupLine(a, linePhone(), 50);
        String second = groupLine(a, linePhone(), 50);
        String c1 = (String) create(a, first, List.of(ANN, BOB), "1").get("id");
        String c2 = (String) create(a, first, List.of(BOB, CAT), "2").get("id");
        String c3 = (String) create(a, second, List.of(ANN, CAT), "3").get("id");
        String c4 = (String) create(a, first, List.of(ANN, DAN), "4").get("id");
        java.util.function.Function<String, List<Map<String, Object>>> list = query -> {
            var r = a.get("/v1/conversations?" + query);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            return (List<Map<String, Object>>) r.jsonObject().get("items");
        };
        assertThat(list.apply("lineId=" + first)).extracting(c -> c.get("id")).containsExactly(c4, c2, c1);
        assertThat(list.apply("participant=%2B14155550701")).extracting(c -> c.get("id")).containsExactly(c4, c3, c1);
        assertThat(list.apply("participant=415-555-0701&country=US")).extracting(c -> c.get("id")).containsExactly(c4, c3, c1);
        assertThat(list.apply("lineId=" + first + "&participant=%2B14155550702")).extracting(c -> c.get("id")).containsExactly(c2, c1);
        // a line that is none of the account's is a 404, not an empty list (a mistyped id is no "no conversations")
        var unknownLine = a.get("/v1/conversations?lineId=line_nope");
        assertThat(unknownLine.status()).as(unknownLine.body()).isEqualTo(404);
        assertThat(unknownLine.errorCode()).isEqualTo("not_found");
        assertThat(api.forNewAccount("Someone Else Co").get("/v1/conversations?lineId=" + first).status())
                .as("another account's line").isEqualTo(404);

        // Cat opts out of the first line under block_conversation: the conversation she is in there is blocked
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", first, "phone", CAT)).status()).isEqualTo(201);
        var blocked = list.apply("status=blocked");
        assertThat(blocked).extracting(c -> c.get("id")).containsExactly(c2);
        assertThat((List<Map<String, Object>>) blocked.getFirst().get("participants"))
                .extracting(p -> p.get("phone") + "=" + p.get("optedOut")).containsExactly(BOB + "=false", CAT + "=true");
        var active = list.apply("status=active");
        assertThat(active).extracting(c -> c.get("id")).containsExactly(c4, c3, c1);
        // on the second line Cat is not opted out
        assertThat((List<Map<String, Object>>) active.get(1).get("participants")).allSatisfy(p -> assertThat(p).containsEntry("optedOut", false));
        // the unfiltered list shows the same per participant
        assertThat(list.apply("limit=10")).filteredOn(c -> c2.equals(c.get("id"))).singleElement()
                .satisfies(c -> assertThat(c).containsEntry("status", "blocked"));

        // a page at a time, the cursor given only when another follows
        var page1 = a.get("/v1/conversations?lineId=" + first + "&limit=2").jsonObject();
        assertThat((List<Map<String, Object>>) page1.get("items")).extracting(c -> c.get("id")).containsExactly(c4, c2);
        var page2 = a.get("/v1/conversations?lineId=" + first + "&limit=2&cursor=" + page1.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) page2.get("items")).extracting(c -> c.get("id")).containsExactly(c1);
        assertThat(page2.get("nextCursor")).isNull();

        // by name, or a participant's, ignoring case and accents
        assertThat(a.patch("/v1/conversations/" + c3, Map.of("name", "Choir Café")).status()).isEqualTo(200);
        String c5 = (String) create(a, second, List.of(Map.of("phone", "+14155550705", "name", "José Ortiz"), ANN), "5")
                .get("id");
        assertThat(list.apply("search=cafe")).extracting(c -> c.get("id")).containsExactly(c3);
        assertThat(list.apply("search=CHOIR%20CAF%C3%89")).extracting(c -> c.get("id")).containsExactly(c3);
        assertThat(list.apply("search=jose")).extracting(c -> c.get("id")).containsExactly(c5);
        assertThat(list.apply("search=saturday&lineId=" + second)).extracting(c -> c.get("id")).containsExactly(c5);
        assertThat(list.apply("search=nobody")).isEmpty();
        // or a participant's number, as digits of it or written as people write numbers (a group's member search does)
        assertThat(list.apply("search=0705")).extracting(c -> c.get("id")).containsExactly(c5);
        assertThat(list.apply("search=(415)%20555-0705")).extracting(c -> c.get("id")).containsExactly(c5);
        assertThat(list.apply("search=%2B1%20415%20555%200705")).extracting(c -> c.get("id")).containsExactly(c5);
        assertThat(list.apply("search=4155550799")).isEmpty();
        assertThat(a.get("/v1/conversations?search=" + "x".repeat(101)).status()).isEqualTo(400);

        var badStatus = a.get("/v1/conversations?status=archived");
        assertThat(badStatus.status()).isEqualTo(400);
        assertThat(badStatus.body()).contains("status must be active, blocked or closed");
        var badPhone = a.get("/v1/conversations?participant=12");
        assertThat(badPhone.status()).isEqualTo(400);
        assertThat(badPhone.body()).contains("participant: ");
        // another account sees none of these
        assertThat((List<?>) api.forNewAccount("Other Filters Co").get("/v1/conversations?participant=%2B14155550701")
                .jsonObject().get("items")).isEmpty();
    }

    /** Closed by the business: nothing more is sent in it, and its participants' replies go to another or to the line. */
    @Test
    @SuppressWarnings("unchecked")
    void aClosedConversationSendsNothingMoreAndItsRepliesGoElsewhere(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Closing Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String old = (String) create(a, lineId, List.of(ANN, BOB), "Old thread").get("id");
        String newer = (String) create(a, lineId, List.of(ANN, CAT), "Newer thread").get("id");
        await(() -> bodiesTo(a, line, ANN), l -> l.size() == 2, 15_000);
        await(() -> bodiesTo(a, line, CAT), l -> l.size() == 1, 15_000);

        var closed = a.patch("/v1/conversations/" + newer, Map.of("status", "closed"));
        assertThat(closed.status()).as(closed.body()).isEqualTo(200);
        assertThat(closed.jsonObject()).containsEntry("status", "closed").containsEntry("name", "Saturday crew");
        String closedAt = (String) closed.jsonObject().get("closedAt");
        assertThat(closedAt).isNotNull();
        // closing again changes nothing; there is no reopening
        assertThat(a.patch("/v1/conversations/" + newer, Map.of("status", "closed")).jsonObject()).containsEntry("closedAt", closedAt);
        var reopen = a.patch("/v1/conversations/" + newer, Map.of("status", "active"));
        assertThat(reopen.status()).isEqualTo(400);
        assertThat(reopen.body()).contains("can only be set to \\\"closed\\\"");
        var write = a.post("/v1/conversations/" + newer + "/messages", Map.of("body", "Still there?"));
        assertThat(write.status()).isEqualTo(409);
        assertThat(write.body()).contains("the conversation is closed");

        // Ann's reply goes to her other (open) conversation on the line, Cat's to the line as a direct reply
        text(a, ANN, line, "Which thread?");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.contains(ANN + ": Which thread?"), 15_000)).contains(ANN + ": Which thread?");
        text(a, CAT, line, "Hello?");
        String catEncoded = CAT.replace("+", "%2B");
        var fromCat = await(() -> inbound(a, "?lineId=" + lineId + "&from=" + catEncoded), l -> !l.isEmpty(), 15_000);
        assertThat(fromCat).singleElement().satisfies(m -> assertThat(m).containsEntry("conversationId", null));
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, ANN)).containsExactly("Old thread", "Newer thread");
        assertThat(thread(a, newer)).extracting(m -> m.get("body")).containsExactly("Newer thread");

        // listed as closed; both at once: renamed and closed
        assertThat((List<Map<String, Object>>) a.get("/v1/conversations?status=closed").jsonObject().get("items"))
                .extracting(c -> c.get("id")).containsExactly(newer);
        var both = a.patch("/v1/conversations/" + old, Map.of("name", "Done", "status", "closed"));
        assertThat(both.jsonObject()).containsEntry("name", "Done").containsEntry("status", "closed");
        assertThat((List<Map<String, Object>>) a.get("/v1/conversations?status=active").jsonObject().get("items")).isEmpty();
        // nothing to change is still a 400 asking for the name
        assertThat(a.patch("/v1/conversations/" + old, Map.of()).status()).isEqualTo(400);
    }

    /** A participant's name can be corrected: their later replies reach the others under it; who takes part stays fixed. */
    @Test
    @SuppressWarnings("unchecked")
    void aParticipantsNameCanBeCorrectedAndTheirRepliesGoUnderIt(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Participant Names Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String id = (String) create(a, lineId, List.of(Map.of("phone", ANN, "name", "Anne"), BOB), "Hi both").get("id");
        String annPath = "/v1/conversations/" + id + "/participants/%2B14155550701";

        var renamed = a.patch(annPath, Map.of("name", "  Ann  "));
        assertThat(renamed.status()).as(renamed.body()).isEqualTo(200);
        assertThat((List<Map<String, Object>>) renamed.jsonObject().get("participants"))
                .extracting(p -> p.get("phone") + "=" + p.get("name")).containsExactly(ANN + "=Ann", BOB + "=null");
        text(a, ANN, line, "On my way");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 2, 15_000)).containsExactly("Hi both", "Ann: On my way");

        // null: no name, the number shows
        assertThat(a.send("PATCH", annPath, "application/json", "{\"name\":null}").status()).isEqualTo(200);
        text(a, ANN, line, "Parked");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.size() == 3, 15_000)).last().isEqualTo(ANN + ": Parked");
        assertThat(thread(a, id)).filteredOn(m -> "Parked".equals(m.get("body"))).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("authorName", null));

        // not a participant: 404; not a number, a blank or two-line name, another field: 400; still fixed: 409
        assertThat(a.patch("/v1/conversations/" + id + "/participants/%2B14155550703", Map.of("name", "Cat")).status()).isEqualTo(404);
        assertThat(a.patch("/v1/conversations/" + id + "/participants/abc", Map.of("name", "Cat")).status()).isEqualTo(400);
        for (Object bad : List.of(Map.of("name", "   "), Map.of("name", "Ann\nSmith"), Map.of("name", "Ann", "phone", BOB), Map.of(),
                Map.of("name", "x".repeat(101)))) {
            assertThat(a.patch(annPath, bad).status()).as(bad.toString()).isEqualTo(400);
        }
        assertThat(a.delete(annPath).status()).isEqualTo(409);
        assertThat(api.forNewAccount("Other Names Co").patch(annPath, Map.of("name", "Eve")).status()).isEqualTo(404);
        assertThat((List<Map<String, Object>>) a.get("/v1/conversations/" + id).jsonObject().get("participants"))
                .extracting(p -> p.get("phone") + "=" + p.get("name")).containsExactly(ANN + "=null", BOB + "=null");
    }

    /** order=activity lists the most recently active first: a reply or a message moves a conversation up. */
    @Test
    @SuppressWarnings("unchecked")
    void theListCanBeOrderedByLatestActivity(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Activity Order Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String c1 = (String) create(a, lineId, List.of(ANN, BOB), "one").get("id");
        String c2 = (String) create(a, lineId, List.of(BOB, CAT), "two").get("id");
        String c3 = (String) create(a, lineId, List.of(CAT, DAN), "three").get("id");
        java.util.function.Function<String, List<Object>> ids = query -> {
            var r = a.get("/v1/conversations?" + query);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            return ((List<Map<String, Object>>) r.jsonObject().get("items")).stream().map(c -> c.get("id")).toList();
        };
        assertThat(ids.apply("order=activity")).containsExactly(c3, c2, c1);
        // Ann replies in the oldest one (her only one), then the business writes in the second
        text(a, ANN, line, "still on?");
        await(() -> ids.apply("order=activity"), l -> l.getFirst().equals(c1), 15_000);
        assertThat(a.post("/v1/conversations/" + c2 + "/messages", Map.of("body", "yes")).status()).isEqualTo(202);
        assertThat(await(() -> ids.apply("order=activity"), l -> l.getFirst().equals(c2), 15_000)).containsExactly(c2, c1, c3);
        assertThat(ids.apply("")).containsExactly(c3, c2, c1); // created order is unchanged
        assertThat(ids.apply("order=created")).containsExactly(c3, c2, c1);

        // a page at a time; with a filter too
        var page1 = a.get("/v1/conversations?order=activity&limit=2").jsonObject();
        assertThat((List<Map<String, Object>>) page1.get("items")).extracting(c -> c.get("id")).containsExactly(c2, c1);
        var page2 = a.get("/v1/conversations?order=activity&limit=2&cursor=" + page1.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) page2.get("items")).extracting(c -> c.get("id")).containsExactly(c3);
        assertThat(page2.get("nextCursor")).isNull();
        var filtered1 = a.get("/v1/conversations?order=activity&participant=%2B14155550703&limit=1").jsonObject();
        assertThat((List<Map<String, Object>>) filtered1.get("items")).extracting(c -> c.get("id")).containsExactly(c2);
        var filtered2 = a.get("/v1/conversations?order=activity&participant=%2B14155550703&limit=1&cursor="
                + filtered1.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) filtered2.get("items")).extracting(c -> c.get("id")).containsExactly(c3);
        assertThat(ids.apply("order=activity&lineId=" + lineId)).containsExactly(c2, c1, c3);

        // a bad order, or the other order's cursor, is a 400
        assertThat(a.get("/v1/conversations?order=newest").status()).isEqualTo(400);
        String createdCursor = (String) a.get("/v1/conversations?limit=1").jsonObject().get("nextCursor");
        assertThat(a.get("/v1/conversations?order=activity&cursor=" + createdCursor).status()).isEqualTo(400);
        assertThat((List<?>) api.forNewAccount("Other Activity Co").get("/v1/conversations?order=activity").jsonObject().get("items")).isEmpty();
    }

    @Test
    void validationRolesFixedParticipantsRenameAndTenancy(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Rules Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 10);
        var plain = a.post("/v1/lines", Map.of("phone", linePhone(), "type", "long_code", "groupMessaging", false));
        String plainLine = (String) plain.jsonObject().get("id");

        List<Map<String, Object>> bad = List.of(
                Map.of("lineId", plainLine, "participants", List.of(ANN, BOB), "body", "x"),
                Map.of("lineId", "line_nope", "participants", List.of(ANN, BOB), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, ANN), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, "12"), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, line), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, BOB), "body", ""),
                Map.of("lineId", lineId, "participants", List.of(ANN, Map.of("phone", BOB, "nick", "b")), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, Map.of("phone", "(415) 555-0190", "country", 1)), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, Map.of("phone", "(415) 555-0190")), "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, Map.of("phone", BOB, "name", "Bob\u0000")), "body", "x"),
                Map.of("lineId", lineId, "name", "\u001b[31mcrew", "participants", List.of(ANN, BOB), "body", "x"),
                Map.of("lineId", lineId, "participants", "not a list", "body", "x"),
                Map.of("lineId", lineId, "participants", List.of(ANN, BOB), "body", "x", "mediaUrls", List.of("http://insecure")),
                Map.of("lineId", lineId, "participants", phones(10), "body", "x"));
        for (var body : bad) {
            var r = a.post("/v1/conversations", body);
            assertThat(r.status()).as(body.toString()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        // a number given twice is named, however it was spelled
        var twice = a.post("/v1/conversations", Map.of("lineId", lineId, "participants",
                List.of(ANN, BOB, Map.of("phone", "(415) 555-0701", "country", "US")), "body", "x"));
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.body()).contains("+14155550701 is given twice");
        // A toll-free line is refused for what it is (switching its flag on would not help either).
        var tollFree = a.post("/v1/lines", Map.of("phone", LinesE2eTest.newTollFree(), "type", "toll_free", "groupMessaging", false));
        assertThat(tollFree.status()).as(tollFree.body()).isEqualTo(201);
        var onTollFree = a.post("/v1/conversations", Map.of("lineId", tollFree.jsonObject().get("id"), "participants", List.of(ANN, BOB), "body", "x"));
        assertThat(onTollFree.status()).isEqualTo(400);
        assertThat(onTollFree.body()).contains("group messaging is not available on toll-free numbers");
        assertThat(a.post("/v1/conversations", Map.of("lineId", plainLine, "participants", List.of(ANN, BOB), "body", "x")).body())
                .contains("the line does not have groupMessaging enabled");
        // Nobody to reach: every participant opted out of the line (the default policy, exclude_participant).
        for (String phone : List.of(ANN, BOB)) {
            assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", phone)).status()).isIn(200, 201);
        }
        var nobody = a.post("/v1/conversations", Map.of("lineId", lineId, "participants", List.of(ANN, BOB), "body", "x"));
        assertThat(nobody.status()).as(nobody.body()).isEqualTo(409);
        assertThat(nobody.body()).contains("every participant has opted out of this line");
        assertThat(a.get("/v1/conversations").jsonObject().get("items")).asList().isEmpty();
        for (String phone : List.of(ANN, BOB)) {
            String encoded = java.net.URLEncoder.encode(phone, java.nio.charset.StandardCharsets.UTF_8);
            assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + encoded).status()).isEqualTo(204);
        }
        // another of the account's lines cannot be a participant: its texts are the business's own, never taken
        String otherLine = linePhone();
        groupLine(a, otherLine, 5);
        var withLine = a.post("/v1/conversations", Map.of("lineId", lineId, "participants", List.of(ANN, otherLine), "body", "x"));
        assertThat(withLine.status()).as(withLine.body()).isEqualTo(400);
        assertThat(withLine.body()).contains("another of this account's lines");
        // A count outside 2..the account's maximum is said the same way however far outside it is.
        String range = "must be 2..9 distinct numbers (the account's maxConversationParticipants), got ";
        for (int count : List.of(1, 10, 11, 1000)) {
            var r = a.post("/v1/conversations", Map.of("lineId", lineId, "participants", Collections.nCopies(count, ANN), "body", "x"));
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            @SuppressWarnings("unchecked") var error = (Map<String, Object>) r.jsonObject().get("error");
            assertThat(error).containsEntry("message", "participants " + range + count)
                    .containsEntry("details", List.of(Map.of("field", "participants", "message", range + count)));
        }
        var blankName = a.post("/v1/conversations", Map.of("lineId", lineId, "participants",
                List.of(ANN, Map.of("phone", BOB, "name", "  ")), "body", "x"));
        assertThat(blankName.status()).isEqualTo(400);
        assertThat(blankName.body()).contains("\"participants[1].name must not be blank\"");
        // 9 is the default maximum; the account can allow 10, or fewer.
        assertThat(a.post("/v1/conversations", Map.of("lineId", lineId, "participants", phones(9), "body", "x")).status()).isEqualTo(201);
        // National numbers with their country: per participant, or for all of them in the request's "country".
        var national = a.post("/v1/conversations", Map.of("lineId", lineId, "country", "US", "body", "x", "participants",
                // a name is kept as every name is: NFC, without invisible characters at its ends (a no-break space
                // and a zero-width one here, which String.strip keeps)
                List.of(Map.of("phone", "(415) 555-0190", "name", "De\u0301e\u00a0\u200b"), Map.of("phone", "020 7946 0019", "country", "GB"), "415 555 0191")));
        assertThat(national.status()).as(national.body()).isEqualTo(201);
        @SuppressWarnings("unchecked") var nationalParticipants = (List<Map<String, Object>>) national.jsonObject().get("participants");
        assertThat(nationalParticipants).extracting(p -> p.get("phone")).containsExactly("+14155550190", "+442079460019", "+14155550191");
        assertThat(nationalParticipants.get(0)).containsEntry("name", "D\u00e9e");
        // a made-up field's name comes back cut, as a body's unknown fields do
        var longKey = a.post("/v1/conversations", Map.of("lineId", lineId, "body", "x", "participants",
                List.of(ANN, Map.of("phone", BOB, "k".repeat(10_000), 1))));
        assertThat(longKey.status()).isEqualTo(400);
        assertThat(longKey.body()).contains("participants[1].kkkk").doesNotContain("k".repeat(200));
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("maxConversationParticipants", 10))).status()).isEqualTo(200);
        assertThat(a.post("/v1/conversations", Map.of("lineId", lineId, "participants", phones(10), "body", "x")).status()).isEqualTo(201);
        var eleven = a.post("/v1/conversations", Map.of("lineId", lineId, "participants", phones(11), "body", "x"));
        assertThat(eleven.status()).isEqualTo(400);
        assertThat(eleven.body()).contains("participants must be 2..10 distinct numbers (the account's maxConversationParticipants), got 11");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("maxConversationParticipants", 2))).status()).isEqualTo(200);
        var three = a.post("/v1/conversations", Map.of("lineId", lineId, "participants", phones(3), "body", "x"));
        assertThat(three.status()).isEqualTo(400);
        assertThat(three.body()).contains("participants must be 2..2 distinct numbers (the account's maxConversationParticipants), got 3");
        assertThat(a.post("/v1/conversations", Map.of("lineId", lineId, "participants", phones(1000), "body", "x")).body())
                .contains("participants must be 2..2 distinct numbers (the account's maxConversationParticipants), got 1000");

        String id = (String) create(a, lineId, List.of(ANN, BOB), "Rules").get("id");
        assertThat(a.post("/v1/conversations/" + id + "/participants", Map.of("phone", CAT)).status()).isEqualTo(409);
        assertThat(a.delete("/v1/conversations/" + id + "/participants/%2B14155550701").status()).isEqualTo(409);
        assertThat(a.post("/v1/conversations/cnv_nope/participants", Map.of("phone", CAT)).status()).isEqualTo(404);
        var renamed = a.patch("/v1/conversations/" + id, Map.of("name", "Sunday crew"));
        assertThat(renamed.status()).as(renamed.body()).isEqualTo(200);
        assertThat(renamed.jsonObject()).containsEntry("name", "Sunday crew");
        assertThat(a.patch("/v1/conversations/" + id, Map.of("name", "")).status()).isEqualTo(400);
        assertThat(a.patch("/v1/conversations/" + id, Map.of("participants", List.of())).status()).isEqualTo(400);
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("name", "Sunday crew");
        assertThat(a.patch("/v1/conversations/" + id, Map.of()).status()).isEqualTo(400);
        // null clears the name, as a conversation created without one has none
        var cleared = a.send("PATCH", "/v1/conversations/" + id, "application/json", "{\"name\": null}");
        assertThat(cleared.status()).as(cleared.body()).isEqualTo(200);
        assertThat(cleared.jsonObject()).containsEntry("name", null);
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("name", null);
        assertThat(a.patch("/v1/conversations/" + id, Map.of("name", "Sunday crew")).status()).isEqualTo(200);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "")).status()).isEqualTo(400);

        // groupChatRoles: only the listed roles may create or write; everyone reads.
        String adminKey = (String) a.post("/v1/api-keys", Map.of("name", "adm", "role", "admin")).jsonObject().get("key");
        String memberKey = (String) a.post("/v1/api-keys", Map.of("name", "mem", "role", "member")).jsonObject().get("key");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of("owner")))).status()).isEqualTo(200);
        for (String key : List.of(adminKey, memberKey)) {
            ApiClient c = a.withKey(key);
            assertThat(c.post("/v1/conversations", Map.of("lineId", lineId, "participants", List.of(ANN, BOB), "body", "x")).status()).isEqualTo(403);
            // from a group, before the group is read: not its "no such group" 400
            var fromGroup = c.post("/v1/conversations", Map.of("lineId", lineId, "groupId", "grp_nosuch", "body", "x"));
            assertThat(fromGroup.status()).as(fromGroup.body()).isEqualTo(403);
            assertThat(c.post("/v1/conversations/" + id + "/messages", Map.of("body", "x")).status()).isEqualTo(403);
            assertThat(c.patch("/v1/conversations/" + id, Map.of("name", "x")).status()).isEqualTo(403);
            assertThat(c.get("/v1/conversations/" + id).status()).isEqualTo(200);
            assertThat(c.get("/v1/conversations/" + id + "/messages").status()).isEqualTo(200);
        }
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of("owner", "member")))).status()).isEqualTo(200);
        assertThat(a.withKey(memberKey).post("/v1/conversations/" + id + "/messages", Map.of("body", "member writes")).status()).isEqualTo(202);
        // the owner may do everything: an empty list leaves conversations to owner keys, it does not lock them out
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of()))).status()).isEqualTo(200);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "owner writes")).status()).isEqualTo(202);
        assertThat(a.withKey(adminKey).post("/v1/conversations/" + id + "/messages", Map.of("body", "x")).status()).isEqualTo(403);
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of("owner", "admin", "member")))).status()).isEqualTo(200);

        // Lists, paging, tenancy.
        @SuppressWarnings("unchecked")
        var page = (List<Map<String, Object>>) a.get("/v1/conversations?limit=2").jsonObject().get("items");
        assertThat(page).hasSize(2);
        assertThat(page.get(0)).containsEntry("id", id);
        ApiClient other = api.forNewAccount("Other Chat Co");
        assertThat(other.get("/v1/conversations/" + id).status()).isEqualTo(404);
        assertThat(other.get("/v1/conversations/" + id + "/messages").status()).isEqualTo(404);
        assertThat(other.post("/v1/conversations/" + id + "/messages", Map.of("body", "x")).status()).isEqualTo(404);
        assertThat(other.post("/v1/conversations", Map.of("lineId", lineId, "participants", List.of(ANN, BOB), "body", "x")).status()).isEqualTo(400);
        @SuppressWarnings("unchecked")
        var theirs = (List<Object>) other.get("/v1/conversations").jsonObject().get("items");
        assertThat(theirs).isEmpty();
    }

    static List<String> phones(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(String.format("+1415555%04d", 800 + i));
        return out;
    }
}
