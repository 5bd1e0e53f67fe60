package groupmsg.local.carrier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A carrier's per-sender throughput, counted in segments as the carrier counts MPS (an MMS is one): at most
 * {@code mps} segments in any sliding one-second window (for a rate below one, one segment per {@code 1/mps}
 * seconds). A message's segments leave one after another, {@code 1/mps} apart (a 3-segment text takes a 1 mps line
 * 3 s), and a message whose segments would crowd any second, its own or one of the segments still to leave, is
 * refused; one that comes a little early, while the segments before it still leave, is taken when they leave room.
 * A sender pacing by messages rather than segments is caught so. Every message past the rate check uses up the
 * window (one the emulator then fails to keep, a 503, too).
 */
final class SlidingWindowLimiter {
    private static final long SECOND_NANOS = 1_000_000_000L;

    private final LongSupplier nanoTime;
    /** Per sender, the times its accepted segments leave, in order: those of the last second and those to come. */
    private final Map<String, List<Long>> segmentTimes = new ConcurrentHashMap<>();

    SlidingWindowLimiter(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Whether one more message of {@code segments} from {@code key} fits; if so its segments are counted. */
    boolean tryAcquire(String key, double mps, int segments) {
        int capacity = (int) Math.max(1, Math.floor(mps));
        long window = (long) (SECOND_NANOS * (capacity / mps));
        long apart = window / capacity;
        int count = Math.max(1, segments);
        List<Long> times = segmentTimes.computeIfAbsent(key, k -> new ArrayList<>());
        synchronized (times) {
            long now = nanoTime.getAsLong();
            // what left a second or more ago counts for no window from now on
            int gone = 0;
            while (gone < times.size() && now - times.get(gone) >= window) gone++;
            times.subList(0, gone).clear();
            if (times.isEmpty() || times.getLast() - now <= 0) {
                // the usual case, nothing still to leave: each of its segments' windows holds what left within a
                // second before it (all of what is left, for the first) and its own segments before it
                int before = times.size();
                for (int k = 0, oldest = 0; k < count; k++) {
                    long at = now + k * apart;
                    while (oldest < times.size() && at - times.get(oldest) >= window) {
                        oldest++;
                        before--;
                    }
                    if (before + Math.min(k + 1, capacity) > capacity) return false;
                }
                for (int k = 0; k < count; k++) times.add(now + k * apart);
                return true;
            }
            List<Long> merged = new ArrayList<>(times.size() + count);
            int i = 0;
            for (int k = 0; k < count; k++) {
                long at = now + k * apart;
                while (i < times.size() && times.get(i) - at <= 0) merged.add(times.get(i++));
                merged.add(at);
            }
            while (i < times.size()) merged.add(times.get(i++));
            // every window ending at a segment holds at most the capacity
            for (int first = 0, last = 0; last < merged.size(); last++) {
                while (merged.get(last) - merged.get(first) >= window) first++;
                if (last - first + 1 > capacity) return false;
            }
            times.clear();
            times.addAll(merged);
            return true;
        }
    }
}
