package groupmsg.messages;

import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static groupmsg.platform.dynamo.Attr.n;


/**
 * A line's carrier rate shared by every worker: each period of each line has a counter item
 * ({@code RATE#<lineId> / <period index>}, expiring after a minute). A worker reserves a block of that period's
 * {@code mps} slots with one conditional {@code ADD}, and sends slot {@code i} at {@code start + i * period/mps}, so
 * sends of all workers together are evenly spaced and never exceed {@code mps}. The period is
 * {@link #PERIOD_MILLIS}, a little over a second: a carrier counts a sliding second as the requests arrive, and a
 * send that leaves a few milliseconds late must not let the next one land inside the previous one's second. The
 * margin (10%, measured: 5% still drew 429s from the emulator's strict sliding second at 1 and 20 mps) absorbs
 * that jitter: any {@code mps + 1} consecutive slots span at least 1.1 s, so at most 91% of the mps is used.
 */
final class RateLimiter {
    static final long PERIOD_MILLIS = 1100;

    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;
    /** Per line, whether the last reservation started an idle period (which write to try first; a hint only). */
    private final Map<String, Boolean> startedLast = new ConcurrentHashMap<>();

    RateLimiter(DynamoDbClient dynamo, String table, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.clock = clock;
    }

    /** Slots {@code [first, first + count)} of period {@code period}. */
    record Slots(long period, int first, int count, int mps) {
        long sendAtMillis(int index) {
            return period * PERIOD_MILLIS + (long) (first + index) * PERIOD_MILLIS / mps;
        }
    }

    /** How many periods ahead a reservation looks before waiting for time to pass. */
    static final int LOOKAHEAD_PERIODS = 10;

    /**
     * Reserves up to {@code wanted} slots (at least one) in the first period from now with room, looking a few
     * periods ahead; the caller sends each slot at its time (and should start those sends before asking for more,
     * since this may wait when the line is booked that far ahead). Slots whose time has passed are never handed
     * out (they would all go at once, a burst): a request in a period that started earlier skips past them.
     */
    Slots acquire(String lineId, int mps, int wanted) throws InterruptedException {
        while (true) {
            long current = clock.millis() / PERIOD_MILLIS;
            for (long period = current; period < current + LOOKAHEAD_PERIODS; period++) {
                int ask = wanted;
                while (ask > 0) {
                    // The clock is read again for every attempt: under contention the attempts take a while, and
                    // slots computed as future before them may be past by now (measured: up to 0.7 s late).
                    long elapsed = Math.max(0, clock.millis() + LEAD_MILLIS - period * PERIOD_MILLIS);
                    if (elapsed >= PERIOD_MILLIS) break;
                    int firstFuture = (int) Math.min(mps, (elapsed * mps + PERIOD_MILLIS - 1) / PERIOD_MILLIS);
                    ask = Math.min(ask, mps - firstFuture);
                    if (ask <= 0) break;
                    var outcome = reserve(lineId, mps, period, firstFuture, ask);
                    if (outcome instanceof Slots slots) {
                        Slots timely = withoutPast(slots);
                        if (timely != null) return timely;
                        continue; // the whole block went by while the write was under way: reserve again
                    }
                    ask = Math.min(ask - 1, ((Room) outcome).free());
                }
            }
            Thread.sleep(PERIOD_MILLIS);
        }
    }

    /**
     * The reserved slots that are still to come (or at most {@link #LATE_TOLERANCE_MILLIS} past), null if none.
     * A slow write (DynamoDB Local under contention: measured up to 0.5 s) can return slots whose time went by
     * meanwhile; sending those at once would be a burst the carrier counts in one second, so they are left unused.
     */
    private Slots withoutPast(Slots slots) {
        long now = clock.millis();
        int skip = 0;
        while (skip < slots.count() && slots.sendAtMillis(skip) < now - LATE_TOLERANCE_MILLIS) skip++;
        if (skip == slots.count()) return null;
        return skip == 0 ? slots : new Slots(slots.period(), slots.first() + skip, slots.count() - skip, slots.mps());
    }

    /** How late a slot may be handed out and still be sent (about a DynamoDB round trip). */
    static final long LATE_TOLERANCE_MILLIS = 25;
    /**
     * Reservations start this far ahead of the clock, so the slots are still to come when the reservation returns
     * (at 1,000 mps a slot lasts 1.1 ms: starting at "now" and trimming what went by wasted slots and writes).
     */
    static final long LEAD_MILLIS = 50;

    /** Not reserved: this many slots of the period were still free (0 when it is full). */
    private record Room(int free) {}

    /**
     * {@code k} slots of the period from {@code firstFuture} on, or how much room there was. Two conditional writes
     * cover the two states a period can be in: already used up to at least the first future slot (ADD), or new or
     * idle past some slots (SET to just after ours). A line sending below its rate finds most periods in the second
     * state, a busy line in the first, so the write that worked last time for the line is tried first (measured on
     * an unthrottled line: 3.6 UpdateItems per block when always trying ADD first).
     */
    private Object reserve(String lineId, int mps, long period, int firstFuture, int k) {
        var key = Attr.key("RATE#" + lineId, Long.toString(period));
        var ttl = n(period * PERIOD_MILLIS / 1000 + 60);
        boolean idleFirst = Boolean.TRUE.equals(startedLast.get(lineId));
        if (idleFirst) {
            Slots started = tryStart(key, ttl, period, firstFuture, k, mps);
            if (started != null) return started;
        }
        Object added = tryAdd(key, ttl, period, firstFuture, k, mps);
        if (added instanceof Slots slots) {
            startedLast.put(lineId, false);
            return slots;
        }
        if (added instanceof Room room) return room;
        if (!idleFirst) {
            Slots started = tryStart(key, ttl, period, firstFuture, k, mps);
            if (started != null) {
                startedLast.put(lineId, true);
                return started;
            }
        }
        return new Room(k - 1); // another worker moved the counter between our two writes: ask again, for less
    }

    /** The usual case of a busy line: the counter is already past the slots that have gone by. */
    private Object tryAdd(Map<String, AttributeValue> key, AttributeValue ttl, long period, int firstFuture, int k, int mps) {
        try {
            var result = dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("ADD used :k SET expiresAt = :ttl")
                    .conditionExpression("used >= :first AND used <= :max")
                    .expressionAttributeValues(Map.of(":k", n(k), ":first", n(firstFuture), ":max", n(mps - k), ":ttl", ttl))
                    .returnValues(ReturnValue.UPDATED_NEW)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
            int now = Integer.parseInt(result.attributes().get("used").n());
            return new Slots(period, now - k, k, mps);
        } catch (ConditionalCheckFailedException e) {
            Integer used = e.hasItem() && e.item().containsKey("used") ? Integer.valueOf(e.item().get("used").n()) : null;
            if (used != null && used >= firstFuture) return new Room(Math.max(0, mps - used));
            return null; // new or idle period: starting it is the other write
        }
    }

    /** First use of this period, or it stood idle past some slots: start at the first future one. */
    private Slots tryStart(Map<String, AttributeValue> key, AttributeValue ttl, long period, int firstFuture, int k, int mps) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("SET used = :next, expiresAt = :ttl")
                    .conditionExpression("attribute_not_exists(used) OR used < :first")
                    .expressionAttributeValues(Map.of(":next", n(firstFuture + k), ":first", n(firstFuture), ":ttl", ttl)));
            return new Slots(period, firstFuture, k, mps);
        } catch (ConditionalCheckFailedException busy) {
            return null;
        }
    }
}
