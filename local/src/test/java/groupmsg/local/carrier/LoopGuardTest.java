package groupmsg.local.carrier;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The emulator's copy of Twilio's loop guard (14107): what a chain of quick messages between two numbers costs. */
class LoopGuardTest {
    private static final String LINE = "+12125550100", ANA = "+14155550100", BEN = "+14155550101";

    @Test
    void theMessageThatTakesAChainPastThirtyAndThoseOfTheNextThirtySecondsFail() {
        var guard = new LoopGuard();
        long at = 1_000_000;
        for (int i = 1; i <= LoopGuard.MOST; i++) {
            assertThat(guard.failureOf(LINE, ANA, at += 29_000)).as("message %d", i).isNull();
        }
        assertThat(guard.failureOf(LINE, BEN, at)).as("another pair's chain is its own").isNull();
        assertThat(guard.failureOf(LINE, ANA, at += 29_000)).isEqualTo(LoopGuard.LOOP);
        assertThat(LoopGuard.LOOP.errorCode()).isEqualTo("14107");
        assertThat(guard.failureOf(LINE, ANA, at + 29_999)).as("within its 30 s").isEqualTo(LoopGuard.LOOP);
        assertThat(guard.failureOf(LINE, ANA, at + 30_000)).as("then a chain starts again").isNull();
        assertThat(guard.failureOf(ANA, LINE, at)).as("the other way round is a pair of its own").isNull();
    }

    @Test
    void aPauseOfThirtySecondsEndsAChain() {
        var guard = new LoopGuard();
        long at = 0;
        for (int i = 1; i <= LoopGuard.MOST; i++) assertThat(guard.failureOf(LINE, ANA, at += 1_000)).isNull();
        assertThat(guard.failureOf(LINE, ANA, at + 30_000)).isNull();
        for (int i = 2; i <= LoopGuard.MOST; i++) assertThat(guard.failureOf(LINE, ANA, at += 30_000 + 1_000)).isNull();
    }

    @Test
    void chainsThatEndedAreForgottenWithoutLosingOnesGoingOn() {
        var guard = new LoopGuard();
        for (int i = 1; i <= LoopGuard.MOST; i++) assertThat(guard.failureOf(LINE, ANA, i)).isNull();
        // Ben's chain is on (29 messages) while a group message's 5,000 recipients come, each a pair of one message:
        // the map passes its first size and is pruned meanwhile
        for (int i = 1; i < LoopGuard.MOST; i++) assertThat(guard.failureOf(LINE, BEN, 60_000 + i)).isNull();
        for (int i = 0; i < 5_000; i++) assertThat(guard.failureOf(LINE, String.format("+1617555%04d", i), 60_100 + i)).isNull();
        assertThat(guard.pairsKept()).as("Ana's chain, over, forgotten").isEqualTo(5_001);
        assertThat(guard.failureOf(LINE, BEN, 66_000)).as("Ben's kept: his 30th").isNull();
        assertThat(guard.failureOf(LINE, BEN, 66_001)).as("and the 31st fails").isEqualTo(LoopGuard.LOOP);
        // another group message minutes on: the first one's pairs go
        for (int i = 0; i < 12_000; i++) guard.failureOf(LINE, String.format("+1415556%04d", i), 300_000 + i);
        assertThat(guard.pairsKept()).isLessThan(20_000);
    }
}
