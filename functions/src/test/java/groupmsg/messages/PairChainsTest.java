package groupmsg.messages;

import groupmsg.messages.PairChains.Chain;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Twilio's chains of quick messages between two numbers (14107), as the relays count and wait for them. */
class PairChainsTest {

    @Test
    void aChainAtTheHoldingLengthHoldsTheNextMessageUntilThePauseHasEndedItWithItsMargin() {
        long last = 100_000;
        Chain held = new Chain(PairChains.HELD_AT, last);
        assertThat(held.mayGoAt(last + 1)).isEqualTo(last + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS);
        assertThat(held.mayGoAt(last + 40_000)).as("ended already").isEqualTo(last + 40_000);
        Chain shorter = new Chain(PairChains.HELD_AT - 1, last);
        assertThat(shorter.mayGoAt(last + 1)).as("one more may go").isEqualTo(last + 1);
        // the margin below Twilio's most, for sends not counted here
        assertThat(PairChains.HELD_AT).isLessThan(PairChains.TWILIO_MOST);
    }

    @Test
    void aMessageToSeveralWaitsForTheLongestHeldOfTheirChains() {
        long now = 200_000;
        var chains = Map.of("+14155550100", new Chain(PairChains.HELD_AT, now - 10_000),
                "+14155550101", new Chain(PairChains.HELD_AT + 2, now - 20_000),
                "+14155550102", new Chain(3, now - 1_000), "+14155550103", Chain.NONE);
        assertThat(PairChains.mayGoAt(chains, now)).isEqualTo(now - 10_000 + PairChains.GAP_MILLIS + PairChains.GAP_MARGIN_MILLIS);
        assertThat(PairChains.mayGoAt(Map.of("+14155550102", new Chain(3, now - 1_000)), now)).isEqualTo(now);
        assertThat(PairChains.mayGoAt(Map.of(), now)).isEqualTo(now);
    }
}
