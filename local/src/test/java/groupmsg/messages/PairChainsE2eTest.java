package groupmsg.messages;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** The relays' count of Twilio's chains (14107) on DynamoDB Local: places taken one conditional write each. */
@ExtendWith(LocalRuntimeExtension.class)
class PairChainsE2eTest {

    private static PairChains chains(LocalRuntime runtime) {
        return new PairChains(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.CORE));
    }

    /**
     * Messages of 40 conversations to one number at the same moment (a dispatcher in every crew's): 27 take a place
     * and go, the others wait for the chain to end. Read first and counted after the send, all 40 saw room.
     */
    @Test
    void messagesToOneNumberAtOnceEachTakeTheirOwnPlace(LocalRuntime runtime) throws Exception {
        String lineId = "line_chain_" + UUID.randomUUID();
        String dispatcher = "+14155550800";
        long now = System.currentTimeMillis();
        List<Future<PairChains.Places>> taken = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 40; i++) {
                String crew = String.format("+1617558%04d", i);
                taken.add(pool.submit((Callable<PairChains.Places>) () -> chains(runtime).takePlaces(lineId, List.of(crew, dispatcher), now)));
            }
        }
        List<PairChains.Places> answers = new ArrayList<>();
        for (var f : taken) answers.add(f.get());
        assertThat(answers).filteredOn(p -> p.mayGoAt() == now).hasSize(PairChains.HELD_AT)
                .allSatisfy(p -> assertThat(p.taken()).hasSize(2));
        assertThat(answers).filteredOn(p -> p.mayGoAt() != now).hasSize(40 - PairChains.HELD_AT)
                .allSatisfy(p -> assertThat(p.mayGoAt()).isEqualTo(now + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS));
        // a message that waits gives back what it took: its crew member's place, if it took it before it found the
        // dispatcher's chain full (one that read it full first took none)
        assertThat(answers).filteredOn(p -> p.mayGoAt() != now).allSatisfy(p -> assertThat(p.taken()).hasSizeLessThanOrEqualTo(1));
        answers.stream().filter(p -> p.mayGoAt() != now).forEach(p -> chains(runtime).giveBack(lineId, p.taken(), now));
        List<Long> crewLengths = new ArrayList<>();
        for (int i = 0; i < 40; i++) crewLengths.add(length(runtime, lineId, String.format("+1617558%04d", i)));
        assertThat(crewLengths).filteredOn(n -> n == 1).hasSize(PairChains.HELD_AT);
        assertThat(crewLengths).filteredOn(n -> n == 0).hasSize(40 - PairChains.HELD_AT);
        assertThat(length(runtime, lineId, dispatcher)).isEqualTo(PairChains.HELD_AT);

        // done 5 s later (a slow line): the pause is counted from then
        chains(runtime).sentBy(lineId, List.of(dispatcher), now + 5_000);
        assertThat(chains(runtime).takePlaces(lineId, List.of(dispatcher), now + 33_000).mayGoAt()).as("a pause from the start only")
                .isEqualTo(now + 5_000 + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS);
        long ended = now + 5_000 + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS;
        assertThat(chains(runtime).takePlaces(lineId, List.of(dispatcher), ended).mayGoAt()).as("30 s and the margin after the last: a new chain")
                .isEqualTo(ended);
        assertThat(length(runtime, lineId, dispatcher)).isEqualTo(1);
        chains(runtime).sentBy(lineId, List.of(dispatcher), now); // earlier than the last: no change
        assertThat(lastSentAt(runtime, lineId, dispatcher)).isEqualTo(ended);
        assertThat(chains(runtime).takePlaces(lineId, List.of(dispatcher), ended + 1).mayGoAt()).as("the new chain goes on").isEqualTo(ended + 1);
        assertThat(lastSentAt(runtime, lineId, dispatcher)).isEqualTo(ended + 1);
        assertThat(length(runtime, lineId, dispatcher)).isEqualTo(2);
        chains(runtime).giveBack(lineId, List.of(dispatcher), ended); // taken at another moment: not this one's
        assertThat(length(runtime, lineId, dispatcher)).isEqualTo(2);
        chains(runtime).giveBack(lineId, List.of(dispatcher), ended + 1);
        assertThat(length(runtime, lineId, dispatcher)).isEqualTo(1);
    }

    private static long length(LocalRuntime runtime, String lineId, String phone) {
        var item = item(runtime, lineId, phone);
        return item == null || item.isEmpty() ? 0 : Long.parseLong(item.get("length").n());
    }

    private static long lastSentAt(LocalRuntime runtime, String lineId, String phone) {
        return Long.parseLong(item(runtime, lineId, phone).get("lastSentAt").n());
    }

    private static java.util.Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> item(LocalRuntime runtime,
                                                                                                      String lineId, String phone) {
        return runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).consistentRead(true)
                .key(java.util.Map.of("pk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("PAIR#" + lineId),
                        "sk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS(phone)))).item();
    }
}
