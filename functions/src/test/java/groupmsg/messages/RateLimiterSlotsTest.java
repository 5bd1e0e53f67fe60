package groupmsg.messages;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The time arithmetic of {@link RateLimiter}: send times of a run, and deadlines. */
class RateLimiterSlotsTest {
    @Test
    void aRunNeverPutsMoreThanTheRateInAnySecond() {
        long start = Instant.parse("2026-12-02T04:00:00Z").toEpochMilli() * 1000 + 123_777;
        for (int mps : new int[] {1, 3, 7, 20, 100, 333, 1000}) {
            long spacing = RateLimiter.spacingMicros(mps);
            assertThat(spacing * mps).as("%d mps: a period's sends span at least 1.1 s", mps).isGreaterThanOrEqualTo(1_100_000);
            var run = new RateLimiter.Slots(start, 3 * mps + 1, spacing);
            assertThat(run.sendAtMillis(0) * 1000).as("never before the booked time").isGreaterThanOrEqualTo(start);
            int busiest = 0;
            for (int i = 0, j = 0; i < run.count(); i++) {
                while (run.sendAtMillis(i) - run.sendAtMillis(j) >= 1000) j++;
                busiest = Math.max(busiest, i - j + 1);
            }
            assertThat(busiest).as("%d mps: most sends in any 1 s", mps).isLessThanOrEqualTo(mps);
            assertThat(run.endMicros()).isEqualTo(run.sendAtMicros(run.count() - 1) + spacing);
        }
    }

    /**
     * A rate with a fraction (a carrier's grant per minute): never more than it allows in any minute (75 at 1.25, 15
     * at 0.25, 6 at 0.1), nor in the sliding window a carrier counts a rate over (as the emulator: its whole part, at
     * least one, in that many seconds of the rate: one in 4 s at 0.25, one in 0.8 s at 1.25, 2 in 0.8 s at 2.5);
     * whole rates are spaced exactly as before.
     */
    @Test
    void aFractionalRateIsNeverExceededInAnyWindow() {
        assertThat(RateLimiter.spacingMicros(1.25)).isEqualTo(880_000);
        assertThat(RateLimiter.spacingMicros(0.25)).isEqualTo(4_400_000);
        assertThat(RateLimiter.spacingMicros(0.1)).isEqualTo(11_000_000);
        assertThat(RateLimiter.spacingMicros(1.0)).isEqualTo(1_100_000);
        assertThat(RateLimiter.spacingMicros(3.0)).isEqualTo(366_667);
        long start = Instant.parse("2026-12-04T04:00:00Z").toEpochMilli() * 1000 + 777;
        for (double mps : new double[] {0.1, 0.25, 0.5, 1.25, 2.5, 7.125}) {
            long spacing = RateLimiter.spacingMicros(mps);
            var run = new RateLimiter.Slots(start, 200, spacing);
            double capacity = Math.max(1, Math.floor(mps));
            for (double[] window : new double[][] {{60_000, Math.floor(60 * mps)}, {1000 * capacity / mps, capacity}}) {
                int busiest = 0;
                for (int i = 0, j = 0; i < run.count(); i++) {
                    while (run.sendAtMillis(i) - run.sendAtMillis(j) >= window[0]) j++;
                    busiest = Math.max(busiest, i - j + 1);
                }
                assertThat((double) busiest).as("%s mps, %s ms window", mps, window[0]).isLessThanOrEqualTo(window[1]);
            }
        }
    }

    /** Runs of two rates booked one after the other (a rate changed while jobs ran): never above the higher rate. */
    @Test
    void runsOfTwoRatesBackToBackStayWithinTheHigherRate() {
        long at = Instant.parse("2026-12-02T04:00:00Z").toEpochMilli() * 1000 + 333;
        List<Long> times = new ArrayList<>();
        for (int[] run : new int[][] {{100, 150}, {10, 20}, {100, 150}, {20, 30}, {100, 150}}) {
            var slots = new RateLimiter.Slots(at, run[1], RateLimiter.spacingMicros(run[0]));
            for (int i = 0; i < slots.count(); i++) times.add(slots.sendAtMillis(i));
            at = slots.endMicros();
        }
        int busiest = 0;
        for (int i = 0, j = 0; i < times.size(); i++) {
            assertThat(i == 0 || times.get(i) > times.get(i - 1)).as("send %d after the one before", i).isTrue();
            while (times.get(i) - times.get(j) >= 1000) j++;
            busiest = Math.max(busiest, i - j + 1);
        }
        assertThat(busiest).as("most sends in any 1 s").isLessThanOrEqualTo(100);
    }

    @Test
    void aRealDeadlineIsKeptAndNoDeadlineLeavesRoomForArithmetic() {
        // far past 2036, where an earlier bound would have read every deadline as "none"
        for (String when : new String[] {"2026-12-02T03:00:00Z", "2040-01-01T00:00:00Z", "2999-12-31T23:59:59Z"}) {
            long millis = Instant.parse(when).toEpochMilli();
            assertThat(RateLimiter.deadlineMicros(millis)).as(when).isEqualTo(millis * 1000)
                    .isLessThan(RateLimiter.NO_DEADLINE_MICROS);
        }
        assertThat(RateLimiter.deadlineMicros(Long.MAX_VALUE)).isEqualTo(RateLimiter.NO_DEADLINE_MICROS);
        assertThat(RateLimiter.NO_DEADLINE_MICROS + RateLimiter.LOOKAHEAD_MICROS).isPositive();
    }
}
