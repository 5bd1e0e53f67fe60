package groupmsg.optout;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

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
    private DynamoOps ops;
    private String lineId;
    private LocalRuntime runtime;

    @BeforeEach
    void setUp(LocalRuntime runtime) {
        this.runtime = runtime;
        ops = new DynamoOps(runtime.wiring().dynamo());
        store = new OptOutStore(ops, runtime.wiring().config().table(Tables.CORE));
        lineId = "line_optout_" + UUID.randomUUID();
    }

    @Test
    void theStopThatOptsANumberOutIsConfirmedItsRetryAgainALaterStopNever() {
        String phone = "+14155550601";
        arrive(phone, inb(1), 1_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 1_000)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 1_500)).as("a retry of the same STOP").isTrue();
        arrive(phone, inb(2), 2_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(2), 2_000)).as("a second STOP").isFalse();
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 2_500)).as("the first one's retry, later").isTrue();
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 1_000));
    }

    /** A "Yes" from a number not opted out is confirmed once a day: a retry of that one again, a later one the next day. */
    @Test
    void anEverydayYesIsConfirmedOnceADay() {
        String phone = "+14155550609";
        long day = 24 * 3_600_000L;
        long t = 1_796_083_200_000L;
        assertThat(store.claimEverydayOptInReply(lineId, phone, inb(1), t)).isTrue();
        assertThat(store.claimEverydayOptInReply(lineId, phone, inb(1), t)).as("a retry of its job").isTrue();
        assertThat(store.claimEverydayOptInReply(lineId, phone, inb(2), t + 3_600_000)).as("another an hour on").isFalse();
        assertThat(store.claimEverydayOptInReply(lineId, phone, inb(3), t + day - 1)).isFalse();
        assertThat(store.claimEverydayOptInReply("other_" + lineId, phone, inb(4), t + 1)).as("another line's").isTrue();
        assertThat(store.claimEverydayOptInReply(lineId, phone, inb(5), t + day)).as("a day on").isTrue();
        assertThat(store.claimEverydayOptInReply(lineId, phone, inb(2), t + day + 1)).as("the refused one's retry").isFalse();
    }

    @Test
    void aNumberOptedOutByHandGetsTheConfirmationForItsFirstStopOnly() {
        String phone = "+14155550602";
        assertThat(store.recordManual(ACCOUNT, lineId, phone, 1_000, null).created()).isTrue();
        arrive(phone, inb(1), 2_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 2_000)).isTrue();
        // it is the keyword's now, still dated from when the number first opted out
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 1_000));
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 2_100)).as("a retry of that STOP").isTrue();
        arrive(phone, inb(2), 3_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(2), 3_000)).as("a second STOP").isFalse();
        var again = store.recordManual(ACCOUNT, lineId, phone, 4_000, null);
        assertThat(again.created()).isFalse();
        assertThat(again.optOut().source()).isEqualTo(OptOutStore.SOURCE_KEYWORD);
        arrive(phone, inb(3), 5_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(3), 5_000)).isFalse();
    }

    @Test
    void aNumberOptedOutByACarrierErrorGetsTheConfirmationForItsFirstStopOnly() {
        String phone = "+14155550603";
        store.recordCarrierRefusal(ACCOUNT, lineId, phone, 1_000, null);
        arrive(phone, inb(1), 2_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 2_000)).isTrue();
        arrive(phone, inb(2), 3_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(2), 3_000)).isFalse();
        // a later carrier error keeps the keyword's record
        store.recordCarrierRefusal(ACCOUNT, lineId, phone, 4_000, null);
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 1_000));
        arrive(phone, inb(3), 5_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(3), 5_000)).isFalse();
    }

    @Test
    void afterAnOptInTheNextStopIsConfirmedAgain() {
        String phone = "+14155550604";
        arrive(phone, inb(1), 1_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(1), 1_000)).isTrue();
        // a removal that saw another last STOP (none, or an earlier one) removes nothing: this STOP came since
        assertThat(store.remove(lineId, phone, null, null)).isFalse();
        assertThat(store.remove(lineId, phone, inb(0), null)).isFalse();
        assertThat(store.remove(lineId, phone, inb(1), null)).isTrue();
        assertThat(store.remove(lineId, phone, inb(1), null)).isFalse(); // none left
        arrive(phone, inb(2), 2_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, phone, inb(2), 2_000)).isTrue();
        assertThat(store.get(lineId, phone)).hasValue(new OptOut(lineId, phone, OptOutStore.SOURCE_KEYWORD, 2_000));
    }

    /** The webhook's write (committed with the STOP itself), then the worker's decision: the same answers as without it. */
    private void arrive(String phone, String inboundId, long at) {
        arrive(phone, inboundId, at, true);
    }

    private void arrive(String phone, String inboundId, long at, boolean networkWord) {
        ops.transact(java.util.List.of(store.recordOnArrival(ACCOUNT, lineId, phone, inboundId, at, networkWord)));
    }

    /** A toll-free network blocks a number that texted its own word (STOP) only; once one did, it stays blocked. */
    @Test
    void anOptOutIsTheNetworksOnlyAfterAStopInTheNetworksOwnWordOrACarriersRefusal() {
        String ours = "+14155550631";
        arrive(ours, inb(1), 1_000, false); // "REMOVE"
        assertThat(store.recordKeyword(ACCOUNT, lineId, ours, inb(1), 1_100)).isTrue();
        assertThat(store.fromTheNetworksSide(lineId, ours)).isFalse();
        arrive(ours, inb(2), 2_000, true); // then "STOP"
        assertThat(store.fromTheNetworksSide(lineId, ours)).isTrue();
        arrive(ours, inb(3), 3_000, false); // and "UNSUBSCRIBE": still blocked by the network
        assertThat(store.fromTheNetworksSide(lineId, ours)).isTrue();
        // lifted, the next opt-out starts afresh
        assertThat(store.remove(lineId, ours, inb(3), null)).isTrue();
        arrive(ours, inb(4), 4_000, false);
        assertThat(store.fromTheNetworksSide(lineId, ours)).isFalse();

        String refused = "+14155550632";
        store.recordCarrierRefusal(ACCOUNT, lineId, refused, 1_000, null);
        assertThat(store.fromTheNetworksSide(lineId, refused)).isTrue();
        arrive(refused, inb(5), 2_000, false);
        assertThat(store.fromTheNetworksSide(lineId, refused)).as("the carrier's refusal stands").isTrue();

        String byHand = "+14155550633";
        store.recordManual(ACCOUNT, lineId, byHand, 500, null);
        assertThat(store.fromTheNetworksSide(lineId, byHand)).isFalse();
        assertThat(store.fromTheNetworksSide(lineId, "+14155550634")).as("not opted out").isFalse();
        arrive(byHand, inb(6), 1_000, false);
        assertThat(store.fromTheNetworksSide(lineId, byHand)).as("by hand, then another word").isFalse();

        // a row from before networkStop, whose STOP's word is not known, stays the network's, also after another word
        String before = "+14155550635";
        arrive(before, inb(7), 1_000, true);
        runtime.wiring().dynamo().updateItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).key(java.util.Map.of(
                        "pk", AttributeValue.fromS("OPTOUT#" + lineId), "sk", AttributeValue.fromS(before)))
                .updateExpression("REMOVE networkStop"));
        assertThat(store.fromTheNetworksSide(lineId, before)).isTrue();
        arrive(before, inb(8), 2_000, false);
        assertThat(store.fromTheNetworksSide(lineId, before)).isTrue();
    }

    @Test
    void aStopRecordedOnArrivalIsAnOptOutAtOnceAndTheWorkerStillConfirmsTheRightStopOnce() {
        String fresh = "+14155550611";
        arrive(fresh, inb(1), 1_000);
        assertThat(store.optedOut(lineId, java.util.List.of(fresh))).containsExactly(fresh);
        assertThat(store.recordKeyword(ACCOUNT, lineId, fresh, inb(1), 1_200)).as("its worker confirms it").isTrue();
        arrive(fresh, inb(2), 2_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, fresh, inb(2), 2_100)).as("a second STOP").isFalse();
        assertThat(store.get(lineId, fresh)).hasValue(new OptOut(lineId, fresh, OptOutStore.SOURCE_KEYWORD, 1_000));

        // two STOPs arriving before either worker ran: the first is the one confirmed
        String quick = "+14155550612";
        arrive(quick, inb(3), 1_000);
        arrive(quick, inb(4), 1_001);
        assertThat(store.recordKeyword(ACCOUNT, lineId, quick, inb(3), 1_100)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, quick, inb(4), 1_200)).isFalse();

        // opted out by hand: the arrival keeps the row's source and time, and its worker confirms once
        String byHand = "+14155550613";
        store.recordManual(ACCOUNT, lineId, byHand, 500, null);
        arrive(byHand, inb(5), 1_000);
        assertThat(store.get(lineId, byHand)).hasValue(new OptOut(lineId, byHand, OptOutStore.SOURCE_MANUAL, 500));
        assertThat(store.recordKeyword(ACCOUNT, lineId, byHand, inb(5), 1_100)).isTrue();
        assertThat(store.get(lineId, byHand)).hasValue(new OptOut(lineId, byHand, OptOutStore.SOURCE_KEYWORD, 500));

        // lifted between a STOP's arrival and its worker (removed by hand, or a START handled while the STOP's job was
        // held back): the worker neither makes it again nor confirms it. Before, it undid the removal.
        String back = "+14155550614";
        arrive(back, inb(6), 1_000);
        assertThat(store.remove(lineId, back, inb(6), null)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, back, inb(6), 1_300)).isFalse();
        assertThat(store.optedOut(lineId, java.util.List.of(back))).isEmpty();
    }

    @Test
    void aStartHandledAfterALaterStopArrivedLeavesThatStopsOptOut() {
        // START (inb_2) arrived before STOP (inb_3), but its worker runs after the STOP's arrival was recorded
        String phone = "+14155550621";
        arrive(phone, inb(3), 3_000);
        assertThat(store.removeForOptIn(lineId, phone, inb(2))).as("lifted nothing").isFalse();
        assertThat(store.optedOut(lineId, java.util.List.of(phone))).as("the later STOP stands").containsExactly(phone);
        assertThat(store.removeForOptIn(lineId, phone, inb(4))).isTrue();
        assertThat(store.optedOut(lineId, java.util.List.of(phone))).as("a START after it lifts it").isEmpty();

        // STOP (confirmed), then START and STOP side by side: the START does not lift the second STOP's opt-out
        String again = "+14155550622";
        arrive(again, inb(1), 1_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, again, inb(1), 1_100)).isTrue();
        arrive(again, inb(3), 3_000);
        assertThat(store.removeForOptIn(lineId, again, inb(2))).isFalse();
        assertThat(store.optedOut(lineId, java.util.List.of(again))).containsExactly(again);
        // the START resubscribed the number, so that second STOP opts it out anew: its worker confirms it
        assertThat(store.recordKeyword(ACCOUNT, lineId, again, inb(3), 3_100)).isTrue();
        assertThat(store.recordKeyword(ACCOUNT, lineId, again, inb(4), 4_000)).as("a STOP after that one").isFalse();

        // an opt-out by hand, or one written before lastStopId, is lifted by a START as before
        String byHand = "+14155550623";
        store.recordManual(ACCOUNT, lineId, byHand, 500, null);
        assertThat(store.removeForOptIn(lineId, byHand, inb(9))).isTrue();
        assertThat(store.optedOut(lineId, java.util.List.of(byHand))).isEmpty();
        String older = "+14155550624";
        runtime.wiring().dynamo().putItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).item(java.util.Map.of(
                "pk", AttributeValue.fromS("OPTOUT#" + lineId), "sk", AttributeValue.fromS(older),
                "accountId", AttributeValue.fromS(ACCOUNT), "lineId", AttributeValue.fromS(lineId),
                "phone", AttributeValue.fromS(older), "source", AttributeValue.fromS(OptOutStore.SOURCE_KEYWORD),
                "optedOutAt", AttributeValue.fromN("1000"))));
        assertThat(store.removeForOptIn(lineId, older, inb(2))).isTrue();
        assertThat(store.optedOut(lineId, java.util.List.of(older))).isEmpty();
        // a number never opted out: nothing lifted, nothing to tell
        assertThat(store.removeForOptIn(lineId, "+14155550625", inb(9))).isFalse();

        // a START that came at 2 s but was stored at 5 s (slowed by the SDK's retries), after a STOP that came and was
        // stored at 3 s: it stands where it came, and lifts nothing; that STOP is its later cause
        String handedOn = "+14155550626";
        arrive(handedOn, inb(1), 1_000);
        assertThat(store.recordKeyword(ACCOUNT, lineId, handedOn, inb(1), 1_100)).isTrue();
        arrive(handedOn, inb(3), 3_000);
        assertThat(store.removeForOptIn(lineId, handedOn, inb(5), 2_000, false, null)).as("lifted nothing").isFalse();
        assertThat(store.optedOut(lineId, java.util.List.of(handedOn))).containsExactly(handedOn);
        assertThat(store.laterStopCause(lineId, handedOn, inb(5), 2_000, false)).contains(inb(3));
        // one that came at 4 s, after that STOP, lifts it
        assertThat(store.removeForOptIn(lineId, handedOn, inb(5), 4_000, false, null)).isTrue();

        // a START stored at once, in the millisecond of a STOP stored just before it: after it, by its id
        String sameMoment = "+14155550627";
        arrive(sameMoment, inb(3), 3_000);
        String start = "inb_" + new com.github.f4b6a3.ulid.Ulid(3_000L, new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        assertThat(store.removeForOptIn(lineId, sameMoment, start, 3_000, false, null)).as("lifted").isTrue();

        // a START its webhook handed on, stored by the inbound worker 300 ms after it came, after a STOP that came 100 ms
        // after it and was stored at once: it stands where it came, however soon it was stored (before, within 500 ms
        // it kept its own id, after the STOP's, and lifted the number's last word)
        String soonHandedOn = "+14155550628";
        arrive(soonHandedOn, inbAt(10_100), 10_100);
        assertThat(store.removeForOptIn(lineId, soonHandedOn, inbAt(10_300), 10_000, true, null)).as("lifted nothing").isFalse();
        assertThat(store.optedOut(lineId, java.util.List.of(soonHandedOn))).containsExactly(soonHandedOn);
        assertThat(store.laterStopCause(lineId, soonHandedOn, inbAt(10_300), 10_000, true)).contains(inbAt(10_100));
        // stored so by its webhook (300 ms: no hand-on) it is after the STOP, by its id
        String soonStored = "+14155550629";
        arrive(soonStored, inbAt(10_100), 10_100);
        assertThat(store.laterStopCause(lineId, soonStored, inbAt(10_300), 10_000, false)).isEmpty();
        assertThat(store.removeForOptIn(lineId, soonStored, inbAt(10_300), 10_000, false, null)).as("lifted").isTrue();
    }

    /** The id of an inbound message that arrived {@code n} seconds into the epoch: ULIDs, ordered by arrival. */
    private static String inb(int n) {
        return inbAt(n * 1_000L);
    }

    /** The id of an inbound message stored {@code millis} into the epoch. */
    private static String inbAt(long millis) {
        return "inb_" + new com.github.f4b6a3.ulid.Ulid(millis, new byte[10]);
    }
}
