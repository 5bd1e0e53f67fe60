package groupmsg.e2e;

import groupmsg.inbound.AnswerLinks;
import groupmsg.inbound.InboundMessage;
import groupmsg.inbound.InboundRouter;
import groupmsg.inbound.Keywords;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.messages.BroadcastReplies;
import groupmsg.platform.queue.SqsQueueSender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.ConversationsE2eTest.create;
import static groupmsg.e2e.ConversationsE2eTest.groupLine;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.integrationEvents;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A text from a group message's recipient is linked to the group message it answers: the latest one the line sent
 * the number within a week. Its inbound item, its reply.received event and the message's answers list show it.
 */
@ExtendWith(LocalRuntimeExtension.class)
class BroadcastRepliesE2eTest {

    /** The one inbound message from {@code from} on the line with this body. */
    static Map<String, Object> received(ApiClient a, String lineId, String from, String body) throws InterruptedException {
        var items = await(() -> inbound(a, "?lineId=" + lineId + "&from=" + from.replace("+", "%2B")).stream()
                .filter(m -> body.equals(m.get("body"))).toList(), l -> !l.isEmpty(), 15_000);
        assertThat(items).as(from + ": " + body).hasSize(1);
        return items.getFirst();
    }

    /** The account's reply.received events, once there are {@code count} (the inbound worker links before it publishes). */
    private static List<Map<String, Object>> published(ApiClient a, String accountId, int count) throws InterruptedException {
        var events = await(() -> integrationEvents(a, accountId), l -> l.size() >= count, 15_000);
        assertThat(events).hasSize(count);
        return events;
    }

    @SuppressWarnings("unchecked")
    private static String inReplyTo(Map<String, Object> inboundOrEvent) {
        var link = (Map<String, Object>) inboundOrEvent.get("inReplyTo");
        return link == null ? null : (String) link.get("messageId");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> answers(ApiClient a, String messageId) {
        List<Map<String, Object>> all = new ArrayList<>();
        String cursor = null;
        do {
            var r = a.get("/v1/messages/" + messageId + "/replies?limit=1" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            var items = (List<Map<String, Object>>) r.jsonObject().get("items");
            assertThat(items).hasSizeLessThanOrEqualTo(1);
            all.addAll(items);
            cursor = (String) r.jsonObject().get("nextCursor");
        } while (cursor != null);
        return all;
    }

    private static long replyCount(ApiClient a, String messageId) {
        return ((Number) a.get("/v1/messages/" + messageId).jsonObject().get("replies")).longValue();
    }

    @Test
    @SuppressWarnings("unchecked")
    void aDirectReplyIsLinkedToTheLatestGroupMessageTheNumberGotOnThatLineOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Answers Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line1Phone = linePhone();
        String line1 = groupLine(a, line1Phone, 50);
        String line2Phone = linePhone();
        String line2 = createLine(a, line2Phone, 50);
        String picnic = createGroup(a, "Picnic");
        List<String> everyone = addMembers(a, picnic, 7001, 3);
        String ann = everyone.get(0), bob = everyone.get(1), cat = everyone.get(2);
        String board = createGroup(a, "Board");
        // Bob alone, named as the board knows him
        assertThat(a.post("/v1/groups/" + board + "/members", Map.of("members", List.of(Map.of("phone", bob, "name", "Robert"))))
                .status()).isEqualTo(200);
        var optOut = a.post("/v1/opt-outs", Map.of("lineId", line1, "phone", cat));
        assertThat(optOut.status()).as(optOut.body()).isEqualTo(201);

        String m1 = (String) send(a, picnic, line1, "Picnic on Saturday, reply if you come").get("id");
        assertThat(awaitSent(a, m1, 15_000)).containsEntry("status", "sent");
        String m2 = (String) send(a, board, line1, "Board meets Monday").get("id");
        assertThat(awaitSent(a, m2, 15_000)).containsEntry("status", "sent");
        assertThat(replyCount(a, m1)).isZero();

        text(a, ann, line1Phone, "Count me in");
        text(a, bob, line1Phone, "I will be there Monday");
        text(a, cat, line1Phone, "What is this?"); // opted out before m1: got nothing to answer
        text(a, ann, line2Phone, "Wrong line");     // line 2 sent Ann nothing
        text(a, ann, line1Phone, "HELP");           // a keyword answers nothing

        // published once linked: read after the events are out
        var events = published(a, accountId, 4);
        var annsAnswer = received(a, line1, ann, "Count me in");
        assertThat(inReplyTo(annsAnswer)).as("Ann got m1 only").isEqualTo(m1);
        var link = (Map<String, Object>) annsAnswer.get("inReplyTo");
        assertThat(link).containsEntry("title", "test Picnic on Saturday, reply if you come");
        assertThat(Instant.parse((String) link.get("sentAt")))
                .isEqualTo(Instant.parse((String) a.get("/v1/messages/" + m1).jsonObject().get("createdAt")));
        assertThat(inReplyTo(received(a, line1, bob, "I will be there Monday"))).as("Bob's latest is m2").isEqualTo(m2);
        assertThat(link).containsEntry("groupId", picnic);
        // who wrote, as the answered message's group names them
        assertThat(annsAnswer).containsEntry("fromName", "M7001");
        assertThat(received(a, line1, bob, "I will be there Monday")).as("the board's name for him").containsEntry("fromName", "Robert");
        assertThat(received(a, line1, cat, "What is this?")).containsEntry("fromName", null);
        assertThat(events).filteredOn(e -> "Count me in".equals(e.get("body"))).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("fromName", "M7001"));
        assertThat(events).filteredOn(e -> "What is this?".equals(e.get("body"))).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("fromName", null));
        assertThat(inReplyTo(received(a, line1, cat, "What is this?"))).isNull();
        assertThat(inReplyTo(received(a, line2, ann, "Wrong line"))).isNull();
        assertThat(inReplyTo(received(a, line1, ann, "HELP"))).isNull();

        // the events say what each answers, as the inbound list does
        Map<String, String> answeredByBody = new java.util.HashMap<>();
        events.forEach(e -> answeredByBody.put((String) e.get("body"), String.valueOf(inReplyTo(e))));
        assertThat(answeredByBody).containsEntry("Count me in", m1).containsEntry("I will be there Monday", m2)
                .containsEntry("What is this?", "null").containsEntry("Wrong line", "null");

        text(a, ann, line1Phone, "Bringing salad");
        published(a, accountId, 5);
        assertThat(inReplyTo(received(a, line1, ann, "Bringing salad"))).isEqualTo(m1);
        assertThat(replyCount(a, m1)).isEqualTo(2);
        assertThat(replyCount(a, m2)).isEqualTo(1);
        var listed = answers(a, m1);
        assertThat(listed).extracting(m -> m.get("body")).containsExactly("Count me in", "Bringing salad");
        assertThat(listed).extracting(m -> m.get("from")).containsOnly(ann);
        assertThat(answers(a, m2)).extracting(m -> m.get("body")).containsExactly("I will be there Monday");
        // the message lists show the count too
        var history = (List<Map<String, Object>>) a.get("/v1/messages?lineId=" + line1).jsonObject().get("items");
        assertThat(history).extracting(m -> m.get("replies")).containsExactly(1, 2);

        // the inbound worker run again for Ann's answer (SQS delivers at least once) links and counts nothing more
        var router = new InboundRouter(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        router.route(accountId, (String) annsAnswer.get("id"));
        assertThat(replyCount(a, m1)).isEqualTo(2);
        assertThat(answers(a, m1)).hasSize(2);
        assertThat(integrationEvents(a, accountId)).hasSize(5);

        // a reply in a conversation answers the conversation, not a group message
        create(a, line1, List.of(ann, "+14155550977"), "Carpool to the picnic?");
        text(a, ann, line1Phone, "I can drive");
        published(a, accountId, 6);
        var inChat = received(a, line1, ann, "I can drive");
        assertThat(inChat.get("conversationId")).isNotNull();
        assertThat(inReplyTo(inChat)).isNull();
        assertThat(replyCount(a, m1)).isEqualTo(2);
        // and so does a participant's STOP: it leaves the conversation, it is not counted against the group message
        text(a, ann, line1Phone, "STOP");
        var annsOptOut = await(() -> integrationEvents(a, accountId, "opt_out.changed").stream()
                .filter(e -> ann.equals(e.get("phone"))).toList(), l -> !l.isEmpty(), 15_000);
        assertThat(annsOptOut).hasSize(1);
        assertThat(annsOptOut.getFirst()).containsEntry("phone", ann).containsEntry("inReplyTo", null);
        assertThat(a.get("/v1/messages/" + m1).jsonObject()).containsEntry("optOuts", 0);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStopIsLinkedToTheGroupMessageItAnswersAndEachNumberCountsOnceAmongItsOptOuts(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Unsubscribes Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, 50);
        String group = createGroup(a, "Newsletter");
        List<String> readers = addMembers(a, group, 7301, 3);
        String eve = readers.get(0), fay = readers.get(1);
        String m = (String) send(a, group, lineId, "Weekly news").get("id");
        assertThat(awaitSent(a, m, 15_000)).containsEntry("status", "sent");

        text(a, eve, line, "STOP");
        var events = await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() >= 1, 15_000);
        assertThat(events).hasSize(1);
        assertThat(inReplyTo(events.getFirst())).isEqualTo(m);
        var eveStop = received(a, lineId, eve, "STOP");
        assertThat(inReplyTo(eveStop)).isEqualTo(m);
        assertThat(a.get("/v1/messages/" + m).jsonObject()).containsEntry("optOuts", 1).containsEntry("replies", 0);

        // Eve comes back and leaves again: her second STOP answers the same message but she counts once
        text(a, eve, line, "START");
        await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() >= 2, 15_000);
        text(a, eve, line, "stop");
        text(a, fay, line, "Unsubscribe");
        text(a, "+16175557399", line, "STOP"); // got nothing from the line
        events = await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() >= 5, 15_000);
        assertThat(events).hasSize(5);
        Map<String, List<String>> answeredByPhone = new java.util.HashMap<>();
        events.stream().filter(e -> Boolean.TRUE.equals(e.get("optedOut")))
                .forEach(e -> answeredByPhone.computeIfAbsent((String) e.get("phone"), k -> new ArrayList<>()).add(String.valueOf(inReplyTo(e))));
        assertThat(answeredByPhone).containsEntry(eve, List.of(m, m)).containsEntry(fay, List.of(m))
                .containsEntry("+16175557399", List.of("null"));
        assertThat(inReplyTo(received(a, lineId, eve, "stop"))).isEqualTo(m);
        assertThat(a.get("/v1/messages/" + m).jsonObject()).containsEntry("optOuts", 2);

        var r = a.get("/v1/messages/" + m + "/opt-outs?limit=1");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        var first = (List<Map<String, Object>>) r.jsonObject().get("items");
        assertThat(first).hasSize(1);
        assertThat(first.getFirst()).containsEntry("phone", eve).containsEntry("lineId", lineId)
                .containsEntry("inboundId", eveStop.get("id"));
        var second = a.get("/v1/messages/" + m + "/opt-outs?limit=1&cursor=" + r.jsonObject().get("nextCursor"));
        assertThat((List<Map<String, Object>>) second.jsonObject().get("items")).extracting(o -> o.get("phone")).containsExactly(fay);
        assertThat(second.jsonObject().get("nextCursor")).isNull();

        // the opt-out worker run again for Eve's first STOP counts nothing more
        new groupmsg.optout.OptOutService(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()))
                .handleKeyword(accountId, (String) eveStop.get("id"));
        assertThat(a.get("/v1/messages/" + m).jsonObject()).containsEntry("optOuts", 2);
        assertThat(a.get("/v1/messages/msg_01NOPE/opt-outs").status()).isEqualTo(404);
    }

    @Test
    void aGroupMessageOlderThanAWeekOrSentAfterTheTextIsNotWhatItAnswers(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Answer Window Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), 50);
        String group = createGroup(a, "Neighbours");
        String dan = addMembers(a, group, 7101, 1).getFirst();
        String m = (String) send(a, group, lineId, "Street party").get("id");
        assertThat(awaitSent(a, m, 15_000)).containsEntry("status", "sent");
        long sentAt = Instant.parse((String) a.get("/v1/messages/" + m).jsonObject().get("createdAt")).toEpochMilli();

        var broadcasts = new BroadcastReplies(runtime.wiring());
        assertThat(broadcasts.answeredBy(accountId, lineId, dan, sentAt + Duration.ofDays(6).toMillis()))
                .map(BroadcastReplies.Answered::messageId).contains(m);
        assertThat(broadcasts.answeredBy(accountId, lineId, dan, sentAt + Duration.ofDays(7).toMillis() + 1)).isEmpty();
        assertThat(broadcasts.answeredBy(accountId, lineId, dan, sentAt - 1)).isEmpty();
        assertThat(broadcasts.answeredBy(accountId, lineId, "+16175559999", sentAt + 1000)).as("not a recipient").isEmpty();

        // accepted before the text but sent to the number after it (a large group's message on a slow line): not it
        var row = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.DELIVERIES))
                .key(Map.of("pk", AttributeValue.fromS("MSG#" + m + "#0"), "sk", AttributeValue.fromS(dan)))).item();
        long claimedAt = Long.parseLong(row.get("claimedAt").n());
        assertThat(claimedAt).isGreaterThanOrEqualTo(sentAt);
        assertThat(broadcasts.answeredBy(accountId, lineId, dan, claimedAt)).map(BroadcastReplies.Answered::messageId).contains(m);
        assertThat(broadcasts.answeredBy(accountId, lineId, dan, claimedAt - 1)).isEmpty();

        // a link that cannot be made (DynamoDB failing) leaves the STOP unlinked rather than holding up its confirmation
        var stop = new InboundMessage("inb_01JDNOTSTORED000000000000", accountId, lineId, "+12125550000", dan, "STOP",
                List.of(), Keywords.Keyword.OPT_OUT, false, false, null, "SMx", claimedAt + 1000, null, true, null, null, null, null);
        var failingReads = IdempotentRetriesE2eTest.failing(runtime, r -> r instanceof BatchGetItemRequest, Integer.MAX_VALUE,
                () -> SdkClientException.create("injected fault (test)"));
        assertThat(new AnswerLinks(failingReads).linkOptOut(stop)).isNull();
        assertThat(new AnswerLinks(runtime.wiring()).linkOptOut(stop)).as("what a healthy read finds")
                .extracting(BroadcastReplies.Answered::messageId).isEqualTo(m);
    }

    /**
     * A text after the line wrote to the number privately (its own message, or a reply) answers that, not the group
     * message before it: not linked, not counted among its replies or opt-outs.
     */
    @Test
    void aTextAfterAPrivateMessageIsNotAnAnswerToTheGroupMessageBefore(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Private After Co");
        String line = linePhone();
        String lineId = createLine(a, line, 50);
        String group = createGroup(a, "Customers");
        String eve = addMembers(a, group, 7102, 1).getFirst();
        String m = (String) send(a, group, lineId, "Sale on Friday").get("id");
        assertThat(awaitSent(a, m, 15_000)).containsEntry("status", "sent");
        var shipped = a.post("/v1/lines/" + lineId + "/messages", Map.of("to", eve, "body", "Your order #123 shipped"));
        assertThat(shipped.status()).isEqualTo(202);
        // it reached her before her text (one still on its way is not what she answers)
        assertThat(InboundE2eTest.await(() -> a.get("/v1/lines/" + lineId + "/messages/" + shipped.jsonObject().get("id"))
                .jsonObject().get("status"), st -> List.of("sent", "delivered").contains(st), 15_000)).isIn("sent", "delivered");
        text(a, eve, line, "Where is it?");
        var stored = InboundE2eTest.await(() -> InboundE2eTest.inbound(a, "?lineId=" + lineId), l -> !l.isEmpty(), 15_000);
        runtime.awaitIdle();
        assertThat(InboundE2eTest.inbound(a, "?lineId=" + lineId)).singleElement()
                .satisfies(i -> assertThat(i).containsEntry("body", "Where is it?").containsEntry("inReplyTo", null));
        assertThat(stored).hasSize(1);
        assertThat(a.get("/v1/messages/" + m).jsonObject()).containsEntry("replies", 0);
    }

    /**
     * On a line that carries both, a member's text after a group message goes to their conversation by API.md's rule
     * (relayed); an account with {@code groupMessageAnswers: direct} has it answer the group message that reached the
     * member after the conversation's latest message: a direct reply linked to it (a STOP counted among its opt-outs),
     * never relayed; once the conversation has spoken since, the member's text is the conversation's again.
     */
    @Test
    void aTextAfterAGroupMessageGoesToTheConversationUnlessTheAccountHasItAnswerTheGroupMessage(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Both On One Line Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String linePhone = linePhone();
        String line = groupLine(a, linePhone, 50);
        String group = createGroup(a, "Patients");
        List<String> members = addMembers(a, group, 7301, 2);
        String ann = members.get(0), cat = members.get(1), bob = "+16175557399";
        String chat = (String) create(a, line, List.of(ann, bob, cat), "Volunteers meet Monday at 9").get("id");
        await(() -> ConversationsE2eTest.bodiesTo(a, linePhone, cat), l -> !l.isEmpty(), 15_000);

        // API.md's rule, the default (an account stored before the setting was has none): the conversation
        runtime.wiring().dynamo().updateItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("ACCT#" + accountId), "sk", AttributeValue.fromS("ACCOUNT")))
                .updateExpression("REMOVE groupMessageAnswers").conditionExpression("attribute_exists(groupMessageAnswers)"));
        assertThat(a.get("/v1/account").jsonObject().get("settings")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("groupMessageAnswers", "conversation");
        String m1 = (String) send(a, group, line, "Clinic closed on Friday").get("id");
        assertThat(awaitSent(a, m1, 15_000)).containsEntry("status", "sent");
        text(a, ann, linePhone, "Running late Monday");
        await(() -> ConversationsE2eTest.bodiesTo(a, linePhone, bob), l -> l.stream().anyMatch(b -> b.endsWith(": Running late Monday")), 15_000);
        published(a, accountId, 1);
        assertThat(received(a, line, ann, "Running late Monday")).containsEntry("conversationId", chat).containsEntry("inReplyTo", null);
        assertThat(replyCount(a, m1)).isZero();

        // the account's choice: the group message
        var bad = a.patch("/v1/account", Map.of("settings", Map.of("groupMessageAnswers", "broadcast")));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("groupMessageAnswers");
        var patched = a.patch("/v1/account", Map.of("settings", Map.of("groupMessageAnswers", "direct")));
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        assertThat(a.get("/v1/account").jsonObject().get("settings")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("groupMessageAnswers", "direct").containsEntry("conversationOptOutPolicy", "exclude_participant");
        String m = (String) send(a, group, line, "Reply 1 to confirm Wed 3pm, 2 to reschedule").get("id");
        assertThat(awaitSent(a, m, 15_000)).containsEntry("status", "sent");

        text(a, ann, linePhone, "2, waiting on my test results");
        published(a, accountId, 2);
        var answer = received(a, line, ann, "2, waiting on my test results");
        assertThat(answer).containsEntry("conversationId", null);
        assertThat(inReplyTo(answer)).isEqualTo(m);
        assertThat(replyCount(a, m)).isEqualTo(1);
        text(a, cat, linePhone, "STOP");
        var catsOptOut = await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> !l.isEmpty(), 15_000);
        assertThat(catsOptOut).singleElement().satisfies(e -> assertThat(inReplyTo(e)).isEqualTo(m));
        assertThat(a.get("/v1/messages/" + m).jsonObject()).containsEntry("optOuts", 1);

        // Bob, whom the group message did not reach, writes to the conversation; Ann's next text answers him
        text(a, bob, linePhone, "See you Monday");
        await(() -> ConversationsE2eTest.bodiesTo(a, linePhone, ann), l -> l.stream().anyMatch(b -> b.endsWith(": See you Monday")), 15_000);
        text(a, ann, linePhone, "Thanks Bob");
        await(() -> ConversationsE2eTest.bodiesTo(a, linePhone, bob), l -> l.stream().anyMatch(b -> b.endsWith(": Thanks Bob")), 15_000);
        runtime.awaitIdle();
        assertThat(received(a, line, ann, "Thanks Bob")).containsEntry("conversationId", chat).containsEntry("inReplyTo", null);
        assertThat(ConversationsE2eTest.bodiesTo(a, linePhone, bob)).as("the answer to the group message stays with the business")
                .noneMatch(b -> b.contains("test results")).anyMatch(b -> b.endsWith(": Thanks Bob"));
        assertThat(ConversationsE2eTest.bodiesTo(a, linePhone, cat)).noneMatch(b -> b.contains("test results"));
        assertThat(ConversationsE2eTest.thread(a, chat)).extracting(t -> t.get("body"))
                .doesNotContain("2, waiting on my test results").contains("Running late Monday", "See you Monday", "Thanks Bob");
        assertThat(replyCount(a, m)).isEqualTo(1);
    }

    @Test
    void theAnswersOfAMessageNotTheAccountsGroupMessageAreA404(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Answers Owner Co");
        ApiClient other = api.forNewAccount("Answers Other Co");
        String lineId = createLine(a, linePhone(), 50);
        String group = createGroup(a, "Club");
        addMembers(a, group, 7201, 1);
        String m = (String) send(a, group, lineId, "Club night").get("id");
        assertThat(a.get("/v1/messages/" + m + "/replies").status()).isEqualTo(200);
        for (String path : List.of("/v1/messages/msg_01NOPE/replies", "/v1/messages/rpl_inb_1/replies")) {
            var r = a.get(path);
            assertThat(r.status()).as(path + ": " + r.body()).isEqualTo(404);
            assertThat(r.errorCode()).isEqualTo("not_found");
        }
        assertThat(other.get("/v1/messages/" + m + "/replies").status()).as("another account's").isEqualTo(404);
        var bad = a.get("/v1/messages/" + m + "/replies?cursor=bm9wZQ");
        assertThat(bad.status()).as(bad.body()).isEqualTo(400);
    }
}
