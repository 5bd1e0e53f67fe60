package groupmsg.messages;

import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;

import java.time.Clock;
import java.util.Map;

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
            long now = clock.millis();
            long current = now / PERIOD_MILLIS;
            for (long period = current; period < current + LOOKAHEAD_PERIODS; period++) {
                long elapsed = Math.max(0, now - period * PERIOD_MILLIS);
                int firstFuture = (int) Math.min(mps, (elapsed * mps + PERIOD_MILLIS - 1) / PERIOD_MILLIS);
                int ask = Math.min(wanted, mps - firstFuture);
                while (ask > 0) {
                    var outcome = reserve(lineId, mps, period, firstFuture, ask);
                    if (outcome instanceof Slots slots) return slots;
                    ask = Math.min(ask - 1, ((Room) outcome).free());
                }
            }
            Thread.sleep(PERIOD_MILLIS);
        }
    }

    /** Not reserved: this many slots of the period were still free (0 when it is full). */
    private record Room(int free) {}

    /** {@code k} slots of the period from {@code firstFuture} on, or how much room there was. */
    private Object reserve(String lineId, int mps, long period, int firstFuture, int k) {
        var key = Attr.key("RATE#" + lineId, Long.toString(period));
        var ttl = n(period * PERIOD_MILLIS / 1000 + 60);
        Integer used;
        try {
            // The usual case: the counter is already past the slots that have gone by.
            var result = dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("ADD used :k SET expiresAt = :ttl")
                    .conditionExpression("used >= :first AND used <= :max")
                    .expressionAttributeValues(Map.of(":k", n(k), ":first", n(firstFuture), ":max", n(mps - k), ":ttl", ttl))
                    .returnValues(ReturnValue.UPDATED_NEW)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
            int now = Integer.parseInt(result.attributes().get("used").n());
            return new Slots(period, now - k, k, mps);
        } catch (ConditionalCheckFailedException e) {
            used = e.hasItem() && e.item().containsKey("used") ? Integer.valueOf(e.item().get("used").n()) : null;
            if (used != null && used >= firstFuture) return new Room(Math.max(0, mps - used));
        }
        try {
            // First use of this period, or it stood idle past some slots: start at the first future one.
            dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("SET used = :next, expiresAt = :ttl")
                    .conditionExpression("attribute_not_exists(used) OR used < :first")
                    .expressionAttributeValues(Map.of(":next", n(firstFuture + k), ":first", n(firstFuture), ":ttl", ttl)));
            return new Slots(period, firstFuture, k, mps);
        } catch (ConditionalCheckFailedException raced) {
            return new Room(k - 1); // someone else started it meanwhile: ask again, for less
        }
    }
}
