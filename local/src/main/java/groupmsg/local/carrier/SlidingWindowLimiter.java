package groupmsg.local.carrier;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A carrier's per-sender throughput: at most {@code mps} accepted messages in any sliding one-second window
 * (for a rate below one, one message per {@code 1/mps} seconds). Only accepted messages use up the window.
 */
final class SlidingWindowLimiter {
    private static final long SECOND_NANOS = 1_000_000_000L;

    private final LongSupplier nanoTime;
    private final Map<String, ArrayDeque<Long>> accepted = new ConcurrentHashMap<>();

    SlidingWindowLimiter(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Whether one more message from {@code key} fits; if so it is counted. */
    boolean tryAcquire(String key, double mps) {
        int capacity = (int) Math.max(1, Math.floor(mps));
        long window = (long) (SECOND_NANOS * (capacity / mps));
        ArrayDeque<Long> times = accepted.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (times) {
            long now = nanoTime.getAsLong();
            while (!times.isEmpty() && now - times.peekFirst() >= window) times.pollFirst();
            if (times.size() >= capacity) return false;
            times.addLast(now);
            return true;
        }
    }
}
