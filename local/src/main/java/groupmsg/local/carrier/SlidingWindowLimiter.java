package groupmsg.local.carrier;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A carrier's per-sender throughput, counted in segments as the carrier counts MPS (an MMS is one): at most
 * {@code mps} segments in any sliding one-second window (for a rate below one, one segment per {@code 1/mps}
 * seconds). A message's segments leave one after another, {@code 1/mps} apart (a 3-segment text takes a 1 mps line
 * 3 s), so one that comes while the segments before it still leave, or whose segments would crowd a second, is
 * refused. A sender pacing by messages rather than segments is caught so. Only accepted messages use up the window.
 */
final class SlidingWindowLimiter {
    private static final long SECOND_NANOS = 1_000_000_000L;

    private final LongSupplier nanoTime;
    /** Per sender, the times its accepted segments leave, oldest first. */
    private final Map<String, ArrayDeque<Long>> segmentTimes = new ConcurrentHashMap<>();

    SlidingWindowLimiter(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Whether one more message of {@code segments} from {@code key} fits; if so its segments are counted. */
    boolean tryAcquire(String key, double mps, int segments) {
        int capacity = (int) Math.max(1, Math.floor(mps));
        long window = (long) (SECOND_NANOS * (capacity / mps));
        long apart = window / capacity;
        int count = Math.max(1, segments);
        ArrayDeque<Long> times = segmentTimes.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (times) {
            long now = nanoTime.getAsLong();
            if (!times.isEmpty() && times.peekLast() > now) return false; // the message before is still leaving
            while (!times.isEmpty() && now - times.peekFirst() >= window) times.pollFirst();
            // each segment's second: the earlier segments still in it, and this message's own before it
            Iterator<Long> earlier = times.iterator();
            Long oldest = earlier.hasNext() ? earlier.next() : null;
            int inWindow = times.size();
            for (int k = 0; k < count; k++) {
                long at = now + k * apart;
                while (oldest != null && at - oldest >= window) {
                    inWindow--;
                    oldest = earlier.hasNext() ? earlier.next() : null;
                }
                if (inWindow + Math.min(k + 1, capacity) > capacity) return false;
            }
            for (int k = 0; k < count; k++) times.addLast(now + k * apart);
            return true;
        }
    }
}
