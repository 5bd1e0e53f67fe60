package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.NotSentYet;
import groupmsg.messages.OrderedDelivery;
import groupmsg.messages.RelayWorkerHandler;
import groupmsg.conversations.ConversationService;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.Role;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static groupmsg.e2e.ConversationsE2eTest.bodiesTo;
import static groupmsg.e2e.ConversationsE2eTest.create;
import static groupmsg.e2e.ConversationsE2eTest.groupLine;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Twilio fails, as a loop (14107), the messages between two numbers past 30 in a chain of ones under 30 s apart: a
 * lively conversation's relays make such chains. The relays count them per line and number, and a message to a
 * number whose chain is near the most waits until it has ended.
 */
@ExtendWith(LocalRuntimeExtension.class)
class RelayLoopLimitE2eTest {
    private static final int HELD_AT = 27; // PairChains.HELD_AT

    @Test
    void aConversationMessageToANumberAtTheEndOfItsChainWaitsUntilTheChainHasEnded(ApiClient api, LocalRuntime runtime)
            throws Exception {
        String ana = "+14155557801", ben = "+14155557802";
        Chat chat = chat(api, "Lively Chat Co", 100, ana, ben);
        ApiClient a = chat.api();
        String line = chat.line(), lineId = chat.lineId(), id = chat.id();
        // each relay counted in its number's chain
        await(() -> chainLength(runtime, lineId, ben), n -> n == 1, 5_000);
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(1);

        // Ana's chain is at the holding length, its last message 24 s ago: the next message waits 8 s more, for its end
        long lastSentAt = System.currentTimeMillis() - 24_000;
        putChain(runtime, lineId, ana, HELD_AT, lastSentAt);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Quick one")).status()).isEqualTo(202);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "And another")).status()).isEqualTo(202);
        // the relay worker's job is back when the chain has ended (its visibility), and goes to both, once, in order
        var got = await(() -> List.of(bodiesTo(a, line, ana), bodiesTo(a, line, ben)), l -> l.stream().allMatch(b -> b.size() == 3), 30_000);
        assertThat(got).allSatisfy(b -> assertThat(b).containsExactly("Welcome", "Quick one", "And another"));
        var quickOne = MessagesE2eTest.carrierMessages(a, line).stream().filter(m -> "Quick one".equals(m.get("body")))
                .mapToLong(m -> java.time.Instant.parse((String) m.get("createdAt")).toEpochMilli()).min().orElseThrow();
        assertThat(quickOne).as("not before the chain's end and its margin").isGreaterThanOrEqualTo(lastSentAt + 32_000);
        // Ana's chain began again with it; Ben's, whose messages were never 30 s apart, went on: once each
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(2);
        assertThat(chainLength(runtime, lineId, ben)).isEqualTo(3);
    }

    /**
     * A dispatcher in 32 crews' conversations, created one after another: 32 first messages to one number within
     * seconds, through the relay worker and the carrier emulator. 27 go at once; the other five wait for the chain to
     * end, and none is failed as a loop (all went within seconds before, and the carrier failed the last two).
     */
    @Test
    void aDispatcherIn32NewConversationsGetsEveryFirstMessageAndNoneFailsAsALoop(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Dispatch Crews Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 1000);
        String dispatcher = "+14155557840";
        for (int i = 1; i <= 32; i++) create(a, lineId, List.of(dispatcher, String.format("+1617559%04d", i)), "Crew " + i);
        await(() -> runtime.carrierEmulator().messages(dispatcher, line), l -> l.size() == 32, 60_000);
        var toDispatcher = runtime.carrierEmulator().messages(dispatcher, line);
        assertThat(toDispatcher).allSatisfy(m -> assertThat(m.failure()).as(m.body()).isNull());
        List<Long> at = toDispatcher.stream().map(m -> m.createdAt().toEpochMilli()).sorted().toList();
        assertThat(at.get(HELD_AT) - at.get(HELD_AT - 1)).as("a pause after the 27th").isGreaterThanOrEqualTo(30_000);
        assertThat(at.get(HELD_AT - 1) - at.getFirst()).as("the 27 at once").isLessThan(30_000);
    }

    /**
     * A job past its 7th receive goes all the same (each hold is a receive of the relays queue, which gives a job ten,
     * then its dead-letter queue), counted: the carrier's chain goes on with it, and the next message waits its end.
     */
    @Test
    void aJobHeldItsMostGoesAllTheSame(ApiClient api, LocalRuntime runtime) throws Exception {
        String ana = "+14155557831", ben = "+14155557832";
        Chat chat = chat(api, "Busy Chat Co", 100, ana, ben);
        ApiClient a = chat.api();
        putChain(runtime, chat.lineId(), ana, HELD_AT, System.currentTimeMillis());
        var posted = a.post("/v1/conversations/" + chat.id() + "/messages", Map.of("body", "Quick one"));
        assertThat(posted.status()).isEqualTo(202);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        // the thread's id (cmsg_) names the message that carries it to the participants (cout_)
        String messageId = "cout_" + ((String) posted.jsonObject().get("id")).substring("cmsg_".length());
        var worker = new RelayWorkerHandler(runtime.wiring());
        assertThat(worker.handleRequest(relayJob(accountId, messageId, 7), null).getBatchItemFailures()).as("held on its 7th").hasSize(1);
        assertThat(bodiesTo(a, chat.line(), ben)).as("held: nobody got it").containsExactly("Welcome");
        assertThat(worker.handleRequest(relayJob(accountId, messageId, 8), null).getBatchItemFailures()).as("its 8th goes").isEmpty();
        assertThat(List.of(bodiesTo(a, chat.line(), ana), bodiesTo(a, chat.line(), ben))).allSatisfy(b ->
                assertThat(b).containsExactly("Welcome", "Quick one"));
        assertThat(List.of(chainLength(runtime, chat.lineId(), ana), chainLength(runtime, chat.lineId(), ben))).as("counted")
                .containsExactly((long) HELD_AT + 1, 2L);
    }

    /** The places a run took and did not use (out of its time) are given back: a later run takes them again. */
    @Test
    void aRunOutOfTimeGivesBackThePlacesItDidNotUse(ApiClient api, LocalRuntime runtime) throws Exception {
        String ana = "+14155557851", ben = "+14155557852";
        Chat chat = chat(api, "Out Of Time Chat Co", 100, ana, ben);
        await(() -> chainLength(runtime, chat.lineId(), ben), n -> n == 1, 5_000);
        String accountId = (String) chat.api().get("/v1/account").jsonObject().get("id");
        // the business's next message, its relay job kept from the runtime's worker
        List<QueueMessage> relays = new CopyOnWriteArrayList<>();
        new ConversationService(runtime.wiring(), (queue, messages) -> relays.addAll(messages))
                .send(new Caller(accountId, "key_test", Role.OWNER), chat.id(), "Late one", List.of());
        String messageId = (String) Json.parseObject(relays.getFirst().body()).get("messageId");
        long past = System.currentTimeMillis() - 1;
        assertThatThrownBy(() -> new OrderedDelivery(runtime.wiring()).deliver(accountId, messageId,
                new DeliveryService.Deadline(past, past))).isInstanceOf(NotSentYet.class);
        assertThat(bodiesTo(chat.api(), chat.line(), ana)).containsExactly("Welcome");
        assertThat(List.of(chainLength(runtime, chat.lineId(), ana), chainLength(runtime, chat.lineId(), ben))).as("given back")
                .containsExactly(1L, 1L);
        new OrderedDelivery(runtime.wiring()).deliver(accountId, messageId, DeliveryService.Deadline.NONE);
        assertThat(List.of(chainLength(runtime, chat.lineId(), ana), chainLength(runtime, chat.lineId(), ben))).containsExactly(2L, 2L);
    }

    /** A run that sent some of a message's copies is retried: those sent are not counted again, the others are. */
    @Test
    void aRetryCountsOnlyTheCopiesNotSentBefore(ApiClient api, LocalRuntime runtime) throws Exception {
        String ana = "+14155557861", ben = "+14155557862";
        Chat chat = chat(api, "Partly Sent Chat Co", 1, ana, ben);
        String accountId = (String) chat.api().get("/v1/account").jsonObject().get("id");
        List<QueueMessage> relays = new CopyOnWriteArrayList<>();
        new ConversationService(runtime.wiring(), (queue, messages) -> relays.addAll(messages))
                .send(new Caller(accountId, "key_test", Role.OWNER), chat.id(), "Half now", List.of());
        String messageId = (String) Json.parseObject(relays.getFirst().body()).get("messageId");
        Thread.sleep(1_100); // the line's next second free
        // time for the first copy only (1 mps: the second is a second later)
        long until = System.currentTimeMillis() + 900;
        assertThatThrownBy(() -> new OrderedDelivery(runtime.wiring()).deliver(accountId, messageId,
                new DeliveryService.Deadline(until, until))).isInstanceOf(NotSentYet.class);
        List<String> got = java.util.stream.Stream.of(ana, ben)
                .filter(p -> bodiesTo(chat.api(), chat.line(), p).contains("Half now")).toList();
        assertThat(got).hasSize(1);
        new OrderedDelivery(runtime.wiring()).deliver(accountId, messageId, DeliveryService.Deadline.NONE);
        assertThat(List.of(chainLength(runtime, chat.lineId(), ana), chainLength(runtime, chat.lineId(), ben)))
                .as("each counted once for it").containsExactly(2L, 2L);
    }

    private static SQSEvent relayJob(String accountId, String messageId, int receiveCount) {
        var message = new SQSEvent.SQSMessage();
        message.setMessageId("test-" + messageId + "-" + receiveCount);
        message.setReceiptHandle("test-receipt");
        message.setBody(Json.write(Map.of("accountId", accountId, "messageId", messageId)));
        message.setAttributes(Map.of("MessageGroupId", "test-" + messageId, "ApproximateReceiveCount", Integer.toString(receiveCount)));
        var event = new SQSEvent();
        event.setRecords(new java.util.ArrayList<>(List.of(message)));
        return event;
    }

    /**
     * An opted-out participant is sent nothing (a message goes to those not opted out when it is accepted): their
     * chain is not counted, and holds nobody's messages back.
     */
    @Test
    void anOptedOutParticipantsChainHoldsNothing(ApiClient api, LocalRuntime runtime) throws Exception {
        String ana = "+14155557811", ben = "+14155557812", cat = "+14155557813";
        Chat chat = chat(api, "Quiet Member Chat Co", 100, ana, ben, cat);
        ApiClient a = chat.api();
        String line = chat.line(), lineId = chat.lineId(), id = chat.id();
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", cat)).status()).isEqualTo(201);
        putChain(runtime, lineId, cat, HELD_AT, System.currentTimeMillis());

        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Quick one")).status()).isEqualTo(202);
        assertThat(await(() -> List.of(bodiesTo(a, line, ana), bodiesTo(a, line, ben)),
                l -> l.stream().allMatch(b -> b.size() == 2), 10_000)).as("not held").allSatisfy(b -> assertThat(b).hasSize(2));
        assertThat(chainLength(runtime, lineId, cat)).as("not counted").isEqualTo(HELD_AT);
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(2);
    }

    /**
     * On a slow line a message's copies go seconds apart: each chain's last message is when the message was done, not
     * when it took its places, or the pause counted from then would be seconds short at the carrier.
     */
    @Test
    void aMessageDoneSecondsAfterItsPlacesWereTakenCountsItsChainsFromThen(ApiClient api, LocalRuntime runtime) throws Exception {
        List<String> people = List.of("+14155557821", "+14155557822", "+14155557823");
        Chat chat = chat(api, "Slow Chat Co", 1, people.toArray(String[]::new)); // 3 s at 1 mps
        var sent = MessagesE2eTest.carrierMessages(chat.api(), chat.line());
        String lineId = chat.lineId();
        long lastSend = sent.stream().mapToLong(m -> java.time.Instant.parse((String) m.get("createdAt")).toEpochMilli()).max().orElseThrow();
        await(() -> lastSentAt(runtime, lineId, people.getFirst()), at -> at >= lastSend, 5_000);
        for (String p : people) assertThat(lastSentAt(runtime, lineId, p)).as(p).isGreaterThanOrEqualTo(lastSend);
    }

    /** A new account's conversation of {@code phones} on a line of {@code mps}, its "Welcome" received by each. */
    private record Chat(ApiClient api, String line, String lineId, String id) {}

    private static Chat chat(ApiClient api, String accountName, int mps, String... phones) throws InterruptedException {
        ApiClient a = api.forNewAccount(accountName);
        String line = linePhone();
        String lineId = groupLine(a, line, mps);
        String id = (String) create(a, lineId, List.of((Object[]) phones), "Welcome").get("id");
        await(() -> java.util.Arrays.stream(phones).map(p -> bodiesTo(a, line, p)).toList(),
                l -> l.stream().allMatch(b -> b.size() == 1), 15_000);
        return new Chat(a, line, lineId, id);
    }

    private static long lastSentAt(LocalRuntime runtime, String lineId, String phone) {
        return chainAttribute(runtime, lineId, phone, "lastSentAt");
    }

    private static Map<String, AttributeValue> chainKey(String lineId, String phone) {
        return Map.of("pk", AttributeValue.fromS("PAIR#" + lineId), "sk", AttributeValue.fromS(phone));
    }

    private static long chainLength(LocalRuntime runtime, String lineId, String phone) {
        return chainAttribute(runtime, lineId, phone, "length");
    }

    private static long chainAttribute(LocalRuntime runtime, String lineId, String phone, String name) {
        var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(chainKey(lineId, phone)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? 0 : Long.parseLong(item.get(name).n());
    }

    private static void putChain(LocalRuntime runtime, String lineId, String phone, int length, long lastSentAt) {
        var item = new java.util.HashMap<>(chainKey(lineId, phone));
        item.put("length", AttributeValue.fromN(Integer.toString(length)));
        item.put("lastSentAt", AttributeValue.fromN(Long.toString(lastSentAt)));
        runtime.wiring().dynamo().putItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).item(item));
    }
}
