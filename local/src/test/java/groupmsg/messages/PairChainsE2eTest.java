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
        List<Future<Long>> taken = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 40; i++) {
                String crew = String.format("+1617558%04d", i);
                taken.add(pool.submit((Callable<Long>) () -> chains(runtime).takePlaces(lineId, List.of(dispatcher, crew), now)));
            }
        }
        List<Long> answers = new ArrayList<>();
        for (var f : taken) answers.add(f.get());
        assertThat(answers).filteredOn(at -> at == 0).hasSize(PairChains.HELD_AT);
        assertThat(answers).filteredOn(at -> at != 0).hasSize(40 - PairChains.HELD_AT)
                .allSatisfy(at -> assertThat(at).isEqualTo(now + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS));

        // done 5 s later (a slow line): the pause is counted from then
        chains(runtime).sentBy(lineId, List.of(dispatcher), now + 5_000);
        assertThat(chains(runtime).takePlaces(lineId, List.of(dispatcher), now + 33_000)).as("a pause from the start only")
                .isEqualTo(now + 5_000 + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS);
        long ended = now + 5_000 + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS;
        assertThat(chains(runtime).takePlaces(lineId, List.of(dispatcher), ended)).as("30 s and the margin after the last: a new chain")
                .isZero();
        chains(runtime).sentBy(lineId, List.of(dispatcher), now); // earlier than the last: no change
        assertThat(chains(runtime).takePlaces(lineId, List.of(dispatcher), ended + 1)).as("the new chain goes on").isZero();
    }
}
