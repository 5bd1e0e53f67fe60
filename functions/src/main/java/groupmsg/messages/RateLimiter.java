package groupmsg.messages;

import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;

import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import static groupmsg.platform.dynamo.Attr.n;

/**
 * A line's carrier rate shared by every worker. Time is cut into slots {@link #PERIOD_MILLIS}{@code / mps} apart
 * (slot {@code s} is at epoch millisecond {@code s * PERIOD_MILLIS / mps}); one cursor item per line and rate
 * ({@code RATE#<lineId>#<mps> / cursor}, attribute {@code nextSlot}) holds the first slot nobody has taken. A worker takes a run of slots with
 * one conditional write and sends slot {@code i} at its time, so the sends of all workers together are evenly
 * spaced and never faster than {@code mps}. {@link #PERIOD_MILLIS} is a little over a second: a carrier counts a
 * sliding second as the requests arrive, and a send that leaves a few milliseconds late must not let the next one
 * land inside the previous one's second. The margin (10%) absorbs that jitter: any {@code mps + 1} consecutive slots
 * span at least 1.1 s, so at most 91% of the mps is used. Measured with the emulator's strict sliding second (pacing
 * benchmark, two runs each): 1.05 s used 95% / 94% / 62-68% of a 1 / 20 / 100 mps line (20 mps: 3-4 refusals;
 * 100 mps: 55-69), 1.08 s 93% / 93% / 76-77%, 1.1 s 91% / 91% / 64-86% (0-1 and 15-91 refusals): under a
 * saturated CPU late sends bunch, and each refusal costs a backoff and a fresh slot.
 *
 * <p>Before the cursor, slots were counted per 1.1 s period; a run of slots could not cross a period's end, and
 * blocks reserved side by side hit full periods: about 4 writes per 98-recipient block in the 100,000-recipient
 * benchmark, against about one now.
 */
final class RateLimiter {
    static final long PERIOD_MILLIS = 1100;
    /** How far ahead (in periods of slots) the cursor may run before a reservation waits for time to pass. */
    static final int LOOKAHEAD_PERIODS = 10;
    /** How late a slot may be handed out and still be sent (about a DynamoDB round trip). */
    static final long LATE_TOLERANCE_MILLIS = 25;
    /**
     * Reservations start at least this far ahead of the clock, so the slots are still to come when the write returns
     * (at 1,000 mps a slot lasts 1.1 ms); more when writes have been slower (see {@link #lead}).
     */
    static final long LEAD_MILLIS = 50;
    /** The most a reservation starts ahead of the clock, however slow the writes. */
    static final long MAX_LEAD_MILLIS = 500;

    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;
    /**
     * Per line, the cursor as this limiter last left it: which of the two writes to try first (a hint only; other
     * workers' reservations are not seen here, and a wrong guess costs one more write).
     */
    private final Map<String, Long> lastCursor = new ConcurrentHashMap<>();
    /**
     * One reservation per line at a time from this worker: the blocks it delivers side by side would otherwise
     * race for the same slots and each pay a failed write; serialised, each knows where the last one ended.
     */
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    /**
     * How long reservation writes have been taking (a moving average, in ms). Under load a write can outlast the
     * lead: the slots it returns are past, are dropped, and their block needs another write (measured: ~3 writes per
     * block at 10,000 recipients on a busy DynamoDB Local).
     */
    private volatile long writeMillis;

    RateLimiter(DynamoDbClient dynamo, String table, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.clock = clock;
    }

    /** Slots {@code [first, first + count)} of a line sending at {@code mps}. */
    record Slots(long first, int count, int mps) {
        long sendAtMillis(int index) {
            return (first + index) * PERIOD_MILLIS / mps;
        }
    }

    /** Not reserved: the cursor is this far ahead of the clock (more than the lookahead allows). */
    private record TooFarAhead(long cursor) {}

    /**
     * Reserves up to {@code wanted} consecutive slots (at least one, at most the lookahead) from the first one still to
     * come, or after the slots others already took; waits while the line is booked more than {@link #LOOKAHEAD_PERIODS}
     * ahead. The caller sends each slot at its time. Slots whose time has passed are never handed out (they would all
     * go at once, a burst), nor slots after {@code latestSendAt}: a worker's time is limited, and on a line shared by
     * many workers the wait for the lookahead has no bound of its own (others can take every slot that frees up).
     *
     * @return the slots, or empty when none at or before {@code latestSendAt} can be had (the line is booked past it,
     *         or it has come): nothing was reserved
     */
    Optional<Slots> acquire(String lineId, int mps, int wanted, long latestSendAt) throws InterruptedException {
        long horizon = (long) LOOKAHEAD_PERIODS * mps;
        long lastSlot = lastSlotAtOrBefore(latestSendAt, mps);
        // Fewer than wanted once the deadline cuts the run short (then the rest of the caller's block is not sent).
        long fit = Math.max(1, Math.min(wanted, horizon));
        String cursor = lineId + "#" + mps;
        ReentrantLock lock = locks.computeIfAbsent(cursor, l -> new ReentrantLock());
        while (true) {
            // The clock is read for every attempt: under contention attempts take a while, and slots computed as
            // future before them may be past by now (measured: up to 0.7 s late with DynamoDB Local saturated).
            long firstFuture = ceilDiv((clock.millis() + lead()) * mps, PERIOD_MILLIS);
            if (firstFuture > lastSlot) return Optional.empty();
            int k = (int) Math.min(fit, lastSlot - firstFuture + 1);
            long latestStart = Math.min(firstFuture + horizon, lastSlot + 1) - k;
            Object outcome;
            lock.lock();
            long started = clock.millis();
            try {
                outcome = reserve(cursor, mps, firstFuture, latestStart, k);
            } finally {
                lock.unlock();
            }
            long took = clock.millis() - started;
            writeMillis = (3 * writeMillis + took) / 4;
            if (outcome instanceof Slots slots) {
                Slots timely = withoutPast(slots);
                if (timely != null) return Optional.of(timely);
            } else if (outcome instanceof TooFarAhead ahead) {
                // The cursor only grows: booked past the deadline now means for good.
                if (ahead.cursor() > lastSlot) return Optional.empty();
                if (ahead.cursor() + k - 1 > lastSlot) {
                    fit = lastSlot - ahead.cursor() + 1; // only a shorter run still ends in time: ask for that at once
                    continue;
                }
                // Sleep until the first future slot is where our run fits within the lookahead (measured: waking
                // earlier, every wait ended in another failed write, ~4 writes per recipient on a 20 mps line).
                long fitsFrom = ahead.cursor() + k - horizon;
                long wait = ceilDiv(fitsFrom * PERIOD_MILLIS, mps) - lead() - clock.millis();
                Thread.sleep(Math.max(1, wait));
            }
            // null: another worker moved the cursor between our two writes; try again
        }
    }

    /**
     * The last slot whose time is at or before {@code millis}; {@link #NO_LAST_SLOT} for a time so far ahead that its
     * slot would overflow (as {@code Long.MAX_VALUE}, no deadline), which leaves room for slot arithmetic beyond it.
     */
    static long lastSlotAtOrBefore(long millis, int mps) {
        if (millis > NO_LAST_SLOT / Math.max(1, mps)) return NO_LAST_SLOT;
        return Math.floorDiv(millis * mps, PERIOD_MILLIS);
    }

    static final long NO_LAST_SLOT = Long.MAX_VALUE / 4;

    /**
     * Two conditional writes cover the cursor's two states: ahead of the clock (a busy line: ADD our run after it)
     * or behind it (idle: SET it to just after our run, which starts at the first future slot). The one the last
     * reservation here suggests is tried first.
     */
    private Object reserve(String cursorKey, int mps, long firstFuture, long latestStart, int k) {
        var key = Attr.key("RATE#" + cursorKey, "cursor");
        long known = lastCursor.getOrDefault(cursorKey, Long.MIN_VALUE);
        // The cursor only grows, so one seen here too far ahead still is: wait without a write (the blocks this
        // worker delivers side by side would otherwise each pay a failed write per wake-up).
        if (known > latestStart) return new TooFarAhead(known);
        boolean busy = known > firstFuture;
        if (!busy) {
            Slots started = tryStart(key, firstFuture, k, mps);
            if (started != null) return remember(cursorKey, started);
        }
        Object added = tryAdd(key, firstFuture, latestStart, k, mps);
        if (added instanceof Slots slots) return remember(cursorKey, slots);
        if (added instanceof TooFarAhead ahead) {
            lastCursor.merge(cursorKey, ahead.cursor(), Math::max);
            return ahead;
        }
        if (busy) {
            Slots started = tryStart(key, firstFuture, k, mps);
            if (started != null) return remember(cursorKey, started);
        }
        return null;
    }

    /** Twice the recent write time, at least {@link #LEAD_MILLIS}, at most {@link #MAX_LEAD_MILLIS}. */
    private long lead() {
        return Math.clamp(2 * writeMillis, LEAD_MILLIS, MAX_LEAD_MILLIS);
    }

    private Slots remember(String cursorKey, Slots slots) {
        lastCursor.merge(cursorKey, slots.first() + slots.count(), Math::max);
        return slots;
    }

    /**
     * A busy line: the cursor is at or past the first future slot, and no later than {@code latestStart} (our run
     * must end within the lookahead).
     */
    private Object tryAdd(Map<String, AttributeValue> key, long firstFuture, long latestStart, int k, int mps) {
        try {
            var result = dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("ADD nextSlot :k SET expiresAt = :ttl")
                    .conditionExpression("nextSlot >= :first AND nextSlot <= :limit")
                    .expressionAttributeValues(Map.of(":k", n(k), ":first", n(firstFuture), ":limit", n(latestStart),
                            ":ttl", ttl(latestStart + k, mps)))
                    .returnValues(ReturnValue.UPDATED_NEW)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
            long end = Long.parseLong(result.attributes().get("nextSlot").n());
            return new Slots(end - k, k, mps);
        } catch (ConditionalCheckFailedException e) {
            Long cursor = e.hasItem() && e.item().containsKey("nextSlot") ? Long.valueOf(e.item().get("nextSlot").n()) : null;
            if (cursor != null && cursor >= firstFuture) return new TooFarAhead(cursor);
            return null; // no cursor yet, or behind the clock: starting it is the other write
        }
    }

    /** First use of the line at this rate, or it stood idle: start at the first future slot. */
    private Slots tryStart(Map<String, AttributeValue> key, long firstFuture, int k, int mps) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("SET nextSlot = :next, expiresAt = :ttl")
                    .conditionExpression("attribute_not_exists(nextSlot) OR nextSlot < :first")
                    .expressionAttributeValues(Map.of(":next", n(firstFuture + k), ":first", n(firstFuture),
                            ":ttl", ttl(firstFuture + k, mps))));
            return new Slots(firstFuture, k, mps);
        } catch (ConditionalCheckFailedException busy) {
            return null;
        }
    }

    /** The cursor item expires a minute after its last slot (an idle line's cursor is worthless). */
    private static AttributeValue ttl(long slot, int mps) {
        return n(slot * PERIOD_MILLIS / mps / 1000 + 60);
    }

    /**
     * The reserved slots still to come (or at most {@link #LATE_TOLERANCE_MILLIS} past), null if none. A slow
     * write can return slots whose time went by meanwhile; sending those at once would be a burst the carrier
     * counts in one second, so they are left unused.
     */
    private Slots withoutPast(Slots slots) {
        long now = clock.millis();
        int skip = 0;
        while (skip < slots.count() && slots.sendAtMillis(skip) < now - LATE_TOLERANCE_MILLIS) skip++;
        if (skip == slots.count()) return null;
        return skip == 0 ? slots : new Slots(slots.first() + skip, slots.count() - skip, slots.mps());
    }

    private static long ceilDiv(long a, long b) {
        return Math.floorDiv(a + b - 1, b);
    }
}
