package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.OrderedDelivery;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

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
        ApiClient a = api.forNewAccount("Lively Chat Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 100);
        String ana = "+14155557801", ben = "+14155557802";
        String id = (String) create(a, lineId, List.of(ana, ben), "Welcome").get("id");
        await(() -> List.of(bodiesTo(a, line, ana), bodiesTo(a, line, ben)), l -> l.stream().allMatch(b -> b.size() == 1), 15_000);
        // each relay counted in its number's chain
        await(() -> chainLength(runtime, lineId, ben), n -> n == 1, 5_000);
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(1);

        // Ana's chain is at the holding length, its last message a moment ago: the next message waits for its end
        long lastSentAt = System.currentTimeMillis();
        putChain(runtime, lineId, ana, HELD_AT, lastSentAt);
        var posted = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Quick one"));
        assertThat(posted.status()).as(posted.body()).isEqualTo(202);
        // the thread's id (cmsg_) names the message that carries it to the participants (cout_)
        String messageId = "cout_" + ((String) posted.jsonObject().get("id")).substring("cmsg_".length());
        Thread.sleep(3_000);
        assertThat(List.of(bodiesTo(a, line, ana), bodiesTo(a, line, ben))).as("held for everyone, in the thread's order")
                .allSatisfy(b -> assertThat(b).noneMatch(body -> body.contains("Quick one")));
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThatThrownBy(() -> new OrderedDelivery(runtime.wiring()).deliver(accountId, messageId, DeliveryService.Deadline.NONE))
                .as("the relay's own run: back once the chain has ended").hasMessageContaining("30 s pause");

        // 32 s on (the run the relay worker comes back for), it goes to both, once; Ana's chain starts again
        var ended = runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMillis(lastSentAt + 32_000
                - System.currentTimeMillis())));
        new OrderedDelivery(ended).deliver(accountId, messageId, DeliveryService.Deadline.NONE);
        assertThat(List.of(bodiesTo(a, line, ana), bodiesTo(a, line, ben))).allSatisfy(b ->
                assertThat(b).filteredOn(body -> body.contains("Quick one")).hasSize(1));
        // the pause ended every participant's chain
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(1);
        assertThat(chainLength(runtime, lineId, ben)).isEqualTo(1);

        // the next message, under 30 s after them, goes on with both chains (sent at once: the worker's runs of it
        // wait behind the held one in the conversation's order, and find both sent)
        var next = a.post("/v1/conversations/" + id + "/messages", Map.of("body", "And another"));
        assertThat(next.status()).as(next.body()).isEqualTo(202);
        new OrderedDelivery(ended).deliver(accountId, "cout_" + ((String) next.jsonObject().get("id")).substring("cmsg_".length()),
                DeliveryService.Deadline.NONE);
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(2);
        assertThat(chainLength(runtime, lineId, ben)).isEqualTo(2);
    }

    /** An opted-out participant is sent nothing: their chain is not counted, and holds nobody's messages back. */
    @Test
    void anOptedOutParticipantsChainHoldsNothing(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Quiet Member Chat Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 100);
        String ana = "+14155557811", ben = "+14155557812", cat = "+14155557813";
        String id = (String) create(a, lineId, List.of(ana, ben, cat), "Welcome").get("id");
        await(() -> bodiesTo(a, line, cat), b -> b.size() == 1, 15_000);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", cat)).status()).isEqualTo(201);
        putChain(runtime, lineId, cat, HELD_AT, System.currentTimeMillis());

        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "Quick one")).status()).isEqualTo(202);
        assertThat(await(() -> List.of(bodiesTo(a, line, ana), bodiesTo(a, line, ben)),
                l -> l.stream().allMatch(b -> b.size() == 2), 10_000)).as("not held").allSatisfy(b -> assertThat(b).hasSize(2));
        assertThat(chainLength(runtime, lineId, cat)).as("not counted").isEqualTo(HELD_AT);
        assertThat(chainLength(runtime, lineId, ana)).isEqualTo(2);
    }

    private static Map<String, AttributeValue> chainKey(String lineId, String phone) {
        return Map.of("pk", AttributeValue.fromS("PAIR#" + lineId), "sk", AttributeValue.fromS(phone));
    }

    private static long chainLength(LocalRuntime runtime, String lineId, String phone) {
        var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(chainKey(lineId, phone)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? 0 : Long.parseLong(item.get("length").n());
    }

    private static void putChain(LocalRuntime runtime, String lineId, String phone, int length, long lastSentAt) {
        var item = new java.util.HashMap<>(chainKey(lineId, phone));
        item.put("length", AttributeValue.fromN(Integer.toString(length)));
        item.put("lastSentAt", AttributeValue.fromN(Long.toString(lastSentAt)));
        runtime.wiring().dynamo().putItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).item(item));
    }
}
