package groupmsg.local.carrier;

import java.util.HashMap;
import java.util.Map;

/**
 * Twilio's guard against message loops (error 14107), as its error page words it: between two numbers, a message
 * less than 30 s after the one before it continues a chain; the message that takes a chain past 30, and every one
 * between the two numbers for 30 s after it, fails (never sent, not billed); then a chain starts again. Thread-safe.
 */
final class LoopGuard {
    static final int MOST = 30;
    static final long GAP_MILLIS = 30_000;
    static final CarrierEmulator.Failure LOOP = new CarrierEmulator.Failure("failed", "14107");

    /** A pair's chain: its length, its last message, and until when its messages fail. */
    private static final class Chain {
        int length;
        long lastAt;
        long failingUntil;
    }

    private final Map<String, Chain> chains = new HashMap<>();
    /** Chains are forgotten once over (a group message makes one per recipient), when the map has doubled. */
    private int pruneAt = 1024;

    /** How a message from {@code from} to {@code to} at {@code now} (epoch ms) fails as a loop, or null. */
    synchronized CarrierEmulator.Failure failureOf(String from, String to, long now) {
        Chain chain = chains.computeIfAbsent(from + ">" + to, k -> new Chain());
        if (now < chain.failingUntil) return LOOP;
        chain.length = chain.length > 0 && now - chain.lastAt < GAP_MILLIS ? chain.length + 1 : 1;
        chain.lastAt = now;
        if (chain.length > MOST) {
            chain.failingUntil = now + GAP_MILLIS;
            chain.length = 0;
        }
        if (chains.size() >= pruneAt) {
            chains.values().removeIf(c -> now - c.lastAt >= GAP_MILLIS && now >= c.failingUntil);
            pruneAt = Math.max(1024, 2 * chains.size());
        }
        return chain.length == 0 ? LOOP : null;
    }

    /** How many pairs' chains are kept. */
    synchronized int pairsKept() {
        return chains.size();
    }
}
