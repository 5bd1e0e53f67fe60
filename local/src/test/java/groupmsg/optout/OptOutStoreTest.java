package groupmsg.optout;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which STOP gets the line's confirmation ({@link OptOutStore#recordKeyword} true), against DynamoDB Local: the one
 * that opted the number out, or the first one from a number opted out otherwise (by hand, by a carrier error), which
 * never had it; a retry of that same STOP again (its reply's id makes it one message); never a later STOP.
 */
@ExtendWith(LocalRuntimeExtension.class)
class OptOutStoreTest {
    private static final String ACCOUNT = "acct_optout_store";
    private OptOutStore store;
    private String lineId;

    @BeforeEach
    void setUp(LocalRuntime runtime) {
        store = new OptOutStore(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.CORE));
        lineId = "line_optout_" + UUID.randomUUID();
    }

    @Test
    void theStopThatOptsANumberOutIsConfirmedItsRetryAgainALaterStopNever() {
        String phone = "+14155550601";
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 1_000)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 1_500)).as("a retry of the same STOP").isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_2", 2_000)).as("a second STOP").isFalse();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 2_500)).as("the first one's retry, later").isTrue();
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 1_000));
    }

    @Test
    void aNumberOptedOutByHandGetsTheConfirmationForItsFirstStopOnly() {
        String phone = "+14155550602";
        assertThat(store.recordManual(ACCOUNT, lineId, phone, 1_000).created()).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 2_000)).isTrue();
        // it is the keyword's now, still dated from when the number first opted out
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 1_000));
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 2_100)).as("a retry of that STOP").isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_2", 3_000)).as("a second STOP").isFalse();
        var again = store.recordManual(ACCOUNT, lineId, phone, 4_000);
        assertThat(again.created()).isFalse();
        assertThat(again.optOut().source()).isEqualTo(OptOutStore.SOURCE_KEYWORD);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_3", 5_000)).isFalse();
    }

    @Test
    void aNumberOptedOutByACarrierErrorGetsTheConfirmationForItsFirstStopOnly() {
        String phone = "+14155550603";
        store.record(ACCOUNT, lineId, phone, OptOutStore.SOURCE_CARRIER_ERROR, 1_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 2_000)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_2", 3_000)).isFalse();
        // a later carrier error keeps the keyword's record
        store.record(ACCOUNT, lineId, phone, OptOutStore.SOURCE_CARRIER_ERROR, 4_000);
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 1_000));
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_3", 5_000)).isFalse();
    }

    @Test
    void afterAnOptInTheNextStopIsConfirmedAgain() {
        String phone = "+14155550604";
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_1", 1_000)).isTrue();
        assertThat(store.remove(lineId, phone)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, "inb_2", 2_000)).isTrue();
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 2_000));
    }
}
