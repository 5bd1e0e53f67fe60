package groupmsg.messages;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** The deadline arithmetic of {@link RateLimiter}: the last slot at or before a time. */
class RateLimiterSlotsTest {
    @Test
    void theLastSlotOfARealDeadlineIsFiniteAndNotAfterIt() {
        // far past 2036, where a bound of Long.MAX_VALUE / 4 / 1100 / mps would have read every deadline as "none"
        for (String when : new String[] {"2026-12-02T03:00:00Z", "2040-01-01T00:00:00Z", "2999-12-31T23:59:59Z"}) {
            long millis = Instant.parse(when).toEpochMilli();
            for (int mps : new int[] {1, 20, 100, 1000}) {
                long slot = RateLimiter.lastSlotAtOrBefore(millis, mps);
                assertThat(slot).as("%s at %d mps", when, mps).isLessThan(RateLimiter.NO_LAST_SLOT);
                var slots = new RateLimiter.Slots(slot, 3, mps);
                assertThat(slots.sendAtMillis(0)).as("the slot's time").isLessThanOrEqualTo(millis);
                // slot times are whole milliseconds: the next one may round down onto the deadline, not the one after
                assertThat(slots.sendAtMillis(2)).as("two slots on").isGreaterThan(millis);
            }
        }
    }

    @Test
    void noDeadlineHasNoLastSlot() {
        assertThat(RateLimiter.lastSlotAtOrBefore(Long.MAX_VALUE, 1000)).isEqualTo(RateLimiter.NO_LAST_SLOT);
        assertThat(RateLimiter.lastSlotAtOrBefore(Long.MAX_VALUE, 1)).isEqualTo(RateLimiter.NO_LAST_SLOT);
    }
}
