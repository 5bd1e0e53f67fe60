package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.ConversationsE2eTest.ANN;
import static groupmsg.e2e.ConversationsE2eTest.BOB;
import static groupmsg.e2e.ConversationsE2eTest.bodiesTo;
import static groupmsg.e2e.ConversationsE2eTest.create;
import static groupmsg.e2e.ConversationsE2eTest.groupLine;
import static groupmsg.e2e.ConversationsE2eTest.thread;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/** Answering one person: POST /v1/inbound/{id}/replies sends to the sender of an inbound message alone. */
@ExtendWith(LocalRuntimeExtension.class)
class DirectRepliesE2eTest {
    static final String KIM = "+14155550901";

    /** The id of the one inbound message from {@code from} on the line, once it is stored. */
    static String inboundFrom(ApiClient a, String lineId, String from) throws InterruptedException {
        var items = await(() -> inbound(a, "?lineId=" + lineId + "&from=" + from.replace("+", "%2B")), l -> !l.isEmpty(), 15_000);
        assertThat(items).as("inbound from " + from).isNotEmpty();
        return (String) items.getFirst().get("id");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> replies(ApiClient a, String inboundId) {
        var r = a.get("/v1/inbound/" + inboundId + "/replies");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    @Test
    void aReplyGoesToTheSenderAloneOnceInOrderAndShowsItsDelivery(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Direct Reply Co");
        String line = linePhone();
        String lineId = createLine(a, line, 20);
        text(a, KIM, line, "Can I bring a friend?");
        String inboundId = inboundFrom(a, lineId, KIM);

        var first = a.withHeader("Idempotency-Key", "reply-1").post("/v1/inbound/" + inboundId + "/replies", Map.of("body", "Sure!"));
        assertThat(first.status()).as(first.body()).isEqualTo(202);
        assertThat(first.jsonObject()).containsEntry("inboundId", inboundId).containsEntry("lineId", lineId)
                .containsEntry("to", KIM).containsEntry("body", "Sure!").containsEntry("encoding", "GSM-7")
                .containsEntry("segments", 1);
        String id = (String) first.jsonObject().get("id");
        assertThat(id).startsWith("drp_" + inboundId + "_");
        // the retry is the first answer, and sends nothing more
        var retry = a.withHeader("Idempotency-Key", "reply-1").post("/v1/inbound/" + inboundId + "/replies", Map.of("body", "Sure!"));
        assertThat(retry.jsonObject()).containsEntry("id", id);
        var second = a.post("/v1/inbound/" + inboundId + "/replies", Map.of("body", "Bring two if you like"));
        assertThat(second.status()).isEqualTo(202);

        assertThat(await(() -> bodiesTo(a, line, KIM), l -> l.size() == 2, 15_000))
                .containsExactly("Sure!", "Bring two if you like");
        var listed = await(() -> replies(a, inboundId), l -> l.stream().allMatch(r -> "delivered".equals(r.get("status"))), 15_000);
        assertThat(listed).extracting(r -> r.get("body")).containsExactly("Sure!", "Bring two if you like");
        assertThat(listed).allSatisfy(r -> assertThat(r).containsEntry("status", "delivered").containsEntry("error", null)
                .extractingByKey("carrierMessageId").isNotNull());
        // a second "Sure!" from the retry would have gone before "Bring two ..." (one FIFO group per line and number)
        assertThat(bodiesTo(a, line, KIM)).hasSize(2);
        // billed as any message: one SMS segment each
        @SuppressWarnings("unchecked")
        var byLine = (List<Map<String, Object>>) usageOfTheTest(a).get("byLine");
        assertThat(byLine).filteredOn(l -> lineId.equals(l.get("lineId"))).singleElement()
                .satisfies(l -> assertThat(((Number) l.get("segments")).intValue()).isGreaterThanOrEqualTo(2))
                .satisfies(l -> assertThat((List<Map<String, Object>>) l.get("byKind")).contains(
                        Map.of("kind", "direct_reply", "messages", 2, "segments", 2, "mms", 0)));
    }

    @Test
    void aReplyIsRefusedToAnOptedOutNumberAndBadRequestsChangeNothing(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Direct Reply Rules Co");
        String line = linePhone();
        String lineId = createLine(a, line, 20);
        text(a, KIM, line, "What time?");
        String inboundId = inboundFrom(a, lineId, KIM);

        for (Object bad : List.of(Map.of("body", ""), Map.of(), Map.of("body", "x", "mediaUrls", List.of("http://insecure")),
                Map.of("body", "x", "to", "+14155550999"), Map.of("body", "x".repeat(1601)))) {
            var r = a.post("/v1/inbound/" + inboundId + "/replies", bad);
            assertThat(r.status()).as(bad.toString()).isEqualTo(400);
        }
        assertThat(a.post("/v1/inbound/inb_nope/replies", Map.of("body", "x")).status()).isEqualTo(404);
        assertThat(a.get("/v1/inbound/inb_nope/replies").status()).isEqualTo(404);
        // another account's inbound message is not there for this one
        ApiClient other = api.forNewAccount("Other Reply Co");
        assertThat(other.post("/v1/inbound/" + inboundId + "/replies", Map.of("body", "x")).status()).isEqualTo(404);
        assertThat(other.get("/v1/inbound/" + inboundId + "/replies").status()).isEqualTo(404);

        // STOP: a reply is a 409 until START
        text(a, KIM, line, "STOP");
        await(() -> a.get("/v1/opt-outs?lineId=" + lineId).body(), b -> b.contains(KIM), 15_000);
        var refused = a.post("/v1/inbound/" + inboundId + "/replies", Map.of("body", "Noon"));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.body()).contains("has opted out of this line");
        assertThat(replies(a, inboundId)).isEmpty();
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, KIM)).noneMatch(b -> b.contains("Noon"));
        // a sender name's or a short code's text came from no number a reply can go to: 409, nothing sent
        for (String sender : List.of("AMAZON", "22395")) {
            assertThat(InboundE2eTest.postInbound(a, runtime, InboundE2eTest.twilioInbound(InboundE2eTest.sid(), sender, line,
                    "Your code is 1234"), null).status()).isEqualTo(200);
            String fromSender = (String) await(() -> inbound(a, "?lineId=" + lineId),
                    l -> l.stream().anyMatch(i -> sender.equals(i.get("from"))), 15_000)
                    .stream().filter(i -> sender.equals(i.get("from"))).findFirst().orElseThrow().get("id");
            var notANumber = a.post("/v1/inbound/" + fromSender + "/replies", Map.of("body", "Thanks"));
            assertThat(notANumber.status()).as(sender).isEqualTo(409);
            assertThat(notANumber.body()).contains("not a phone number");
            assertThat(replies(a, fromSender)).isEmpty();
        }
    }

    @Test
    void aReplyToAConversationMessageGoesToItsAuthorOnlyAndNotIntoTheThread(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Private Answer Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 20);
        String conversation = (String) create(a, lineId, List.of(ANN, BOB), "Dinner at 8").get("id");
        text(a, ANN, line, "Can we make it 9?");
        await(() -> bodiesTo(a, line, BOB), l -> l.size() == 2, 15_000);
        String inboundId = inboundFrom(a, lineId, ANN);

        assertThat(a.post("/v1/inbound/" + inboundId + "/replies", Map.of("body", "Let me check, Ann")).status()).isEqualTo(202);
        assertThat(await(() -> bodiesTo(a, line, ANN), l -> l.contains("Let me check, Ann"), 15_000)).contains("Let me check, Ann");
        runtime.awaitIdle();
        assertThat(bodiesTo(a, line, BOB)).doesNotContain("Let me check, Ann");
        assertThat(thread(a, conversation)).extracting(m -> m.get("body")).doesNotContain("Let me check, Ann");
    }

    /**
     * A private answer that failed to be stored leaves no private mark: the person's next text goes to the
     * conversation. Before, the mark was written before the answer, and their texts were kept from the conversation
     * (as answers to a message they never got) until its next activity.
     */
    @Test
    void aPrivateAnswerThatFailedToBeStoredDoesNotKeepTheNextTextFromTheConversation(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Unmarked Answer Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 20);
        create(a, lineId, List.of(ANN, BOB), "Dinner at 8");
        text(a, ANN, line, "Can we make it 9?");
        await(() -> bodiesTo(a, line, BOB), l -> l.size() == 2, 15_000);
        String inboundId = inboundFrom(a, lineId, ANN);

        var failing = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest t
                        && t.toString().contains("drp_" + inboundId)) {
                    throw new IllegalStateException("the answer's write failed");
                }
            }
        });
        var queue = new groupmsg.platform.queue.SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.inbound.ReplyService(failing, queue)
                        .reply(accountId, inboundId, "Let me check, Ann", List.of(), new groupmsg.platform.config.Ids().next("")))
                .hasMessageContaining("the answer's write failed");
        var mark = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                .key(groupmsg.platform.dynamo.Attr.key("PRIVATE#" + lineId + "#" + ANN, "PRIVATE")).consistentRead(true)).item();
        assertThat(mark).as("no mark for an answer never stored").isNullOrEmpty();

        text(a, ANN, line, "9 works for me then");
        assertThat(await(() -> bodiesTo(a, line, BOB), l -> l.stream().anyMatch(b -> b.endsWith("9 works for me then")), 15_000))
                .anyMatch(b -> b.endsWith("9 works for me then"));
    }

    /** The business's own message to one number from a line: nothing to answer, the same pipeline as an answer. */
    @Test
    @SuppressWarnings("unchecked")
    void aLineSendsOneNumberAMessageOfItsOwnOnceAndListsIt(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("One To One Co");
        String line = linePhone();
        String lineId = createLine(a, line, 20);
        String lee = "+14155550902";

        var sent = a.withHeader("Idempotency-Key", "dm-1").post("/v1/lines/" + lineId + "/messages",
                Map.of("to", "(415) 555-0902", "country", "US", "body", "Your order is ready"));
        assertThat(sent.status()).as(sent.body()).isEqualTo(202);
        assertThat(sent.jsonObject()).containsEntry("lineId", lineId).containsEntry("to", lee)
                .containsEntry("body", "Your order is ready").containsEntry("segments", 1).doesNotContainKey("inboundId");
        String id = (String) sent.jsonObject().get("id");
        assertThat(id).startsWith("dmg_" + lineId + "_");
        var retry = a.withHeader("Idempotency-Key", "dm-1").post("/v1/lines/" + lineId + "/messages",
                Map.of("to", "(415) 555-0902", "country", "US", "body", "Your order is ready"));
        assertThat(retry.jsonObject()).containsEntry("id", id);
        assertThat(await(() -> bodiesTo(a, line, lee), l -> !l.isEmpty(), 15_000)).containsExactly("Your order is ready");
        var delivered = await(() -> a.get("/v1/lines/" + lineId + "/messages/" + id).jsonObject(),
                m -> "delivered".equals(m.get("status")), 15_000);
        assertThat(delivered).containsEntry("status", "delivered").containsEntry("id", id);
        assertThat((String) delivered.get("carrierMessageId")).startsWith("SM");

        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", lee, "body", "And a receipt")).status()).isEqualTo(202);
        var listed = (List<Map<String, Object>>) a.get("/v1/lines/" + lineId + "/messages").jsonObject().get("items");
        assertThat(listed).extracting(m -> m.get("body")).containsExactly("Your order is ready", "And a receipt");
        assertThat(await(() -> bodiesTo(a, line, lee), l -> l.size() == 2, 15_000)).containsExactly("Your order is ready", "And a receipt");
        // a second "Your order is ready" from the retry would have gone before "And a receipt" (one FIFO group)
        assertThat(bodiesTo(a, line, lee)).as("once each").hasSize(2);
        // billed as its own kind
        var kinds = await(() -> (List<Map<String, Object>>) usageOfTheTest(a).get("byKind"),
                l -> l.stream().anyMatch(k -> "direct_message".equals(k.get("kind"))), 15_000);
        assertThat(kinds).extracting(k -> k.get("kind")).contains("direct_message");

        // refused: opted out, not a number, the line's own, no such line, another account's line
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", lee)).status()).isEqualTo(201);
        var optedOut = a.post("/v1/lines/" + lineId + "/messages", Map.of("to", lee, "body", "More?"));
        assertThat(optedOut.status()).isEqualTo(409);
        assertThat(optedOut.body()).contains("opted out");
        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", "12", "body", "x")).status()).isEqualTo(400);
        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", line, "body", "x")).status()).isEqualTo(400);
        assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", lee)).status()).isEqualTo(400);
        assertThat(a.post("/v1/lines/line_01JZZZZZZZZZZZZZZZZZZZZZZZ/messages", Map.of("to", lee, "body", "x")).status()).isEqualTo(404);
        ApiClient other = api.forNewAccount("Not Their Line Co");
        assertThat(other.post("/v1/lines/" + lineId + "/messages", Map.of("to", lee, "body", "x")).status()).isEqualTo(404);
        assertThat(other.get("/v1/lines/" + lineId + "/messages/" + id).status()).isEqualTo(404);
        assertThat(a.get("/v1/lines/" + lineId + "/messages/msg_01JZZZZZZZZZZZZZZZZZZZZZZZ").status()).isEqualTo(404);
        assertThat((List<?>) a.get("/v1/lines/" + lineId + "/messages").jsonObject().get("items")).hasSize(2);
    }

    /** A line's messages to one number (an extension, as Twilio's list by To): in order, paged, national or E.164. */
    @Test
    @SuppressWarnings("unchecked")
    void aLinesMessagesAreListedByTheNumberTheyWentTo(ApiClient api) {
        ApiClient a = api.forNewAccount("One Number Co");
        String lineId = createLine(a, linePhone(), 50);
        String ann = "+14155550911";
        String bob = "+14155550912";
        for (String[] m : new String[][]{{ann, "a1"}, {bob, "b1"}, {ann, "a2"}, {bob, "b2"}, {ann, "a3"}}) {
            assertThat(a.post("/v1/lines/" + lineId + "/messages", Map.of("to", m[0], "body", m[1])).status()).isEqualTo(202);
        }
        var first = a.get("/v1/lines/" + lineId + "/messages?to=%2B14155550911&limit=2").jsonObject();
        assertThat((List<Map<String, Object>>) first.get("items")).extracting(m -> m.get("body")).containsExactly("a1", "a2");
        assertThat((List<Map<String, Object>>) first.get("items")).allSatisfy(m -> assertThat(m).containsEntry("to", ann));
        var second = a.get("/v1/lines/" + lineId + "/messages?to=%2B14155550911&limit=2&cursor=" + first.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) second.get("items")).extracting(m -> m.get("body")).containsExactly("a3");
        assertThat(second.get("nextCursor")).isNull();
        var national = a.get("/v1/lines/" + lineId + "/messages?to=(415)%20555-0912&country=US").jsonObject();
        assertThat((List<Map<String, Object>>) national.get("items")).extracting(m -> m.get("body")).containsExactly("b1", "b2");
        assertThat((List<?>) a.get("/v1/lines/" + lineId + "/messages?to=%2B14155550913").jsonObject().get("items")).isEmpty();
        assertThat((List<?>) a.get("/v1/lines/" + lineId + "/messages").jsonObject().get("items")).hasSize(5);
        assertThat(a.get("/v1/lines/" + lineId + "/messages?to=12").status()).isEqualTo(400);
    }
}
