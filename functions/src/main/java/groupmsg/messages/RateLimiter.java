package groupmsg.messages;

import groupmsg.lines.LineRules;
import groupmsg.lines.LineService;
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
 * A line's carrier rate shared by every worker. One cursor item per line ({@code RATE#<lineId> / cursor}, attribute
 * {@code nextAt}) holds the first moment, in epoch microseconds, nobody has booked. A worker books a run of sends
 * with one conditional write, each {@link #spacingMicros} of the rate apart ({@link #PERIOD_MILLIS}{@code / mps}),
 * and sends each at its time, so the sends of all workers together are evenly spaced and never faster than
 * {@code mps}. The cursor is a time, not a slot count of one rate: workers that read the line's rate before and after
 * it changed book on the same cursor, one run after the other, so while both run the line goes no faster than the
 * higher of the two rates (with a cursor per rate, before, the two added up for up to a job's length).
 * <p>
 * {@link #PERIOD_MILLIS} is a little over a second: a carrier counts a sliding second as the requests arrive, and a
 * send that leaves a few milliseconds late must not let the next one land inside the previous one's second. The
 * margin (10%) absorbs that jitter: any {@code mps + 1} consecutive sends of one rate span at least 1.1 s, so at most
 * 91% of the mps is used. Measured with the emulator's strict sliding second (pacing benchmark, two runs each): 1.05 s
 * used 95% / 94% / 62-68% of a 1 / 20 / 100 mps line (20 mps: 3-4 refusals; 100 mps: 55-69), 1.08 s 93% / 93% /
 * 76-77%, 1.1 s 91% / 91% / 64-86% (0-1 and 15-91 refusals): under a saturated CPU late sends bunch, and each refusal
 * costs a backoff and a fresh booking.
 *
 * <p>Before the cursor, slots were counted per 1.1 s period; a run could not cross a period's end, and blocks
 * reserved side by side hit full periods: about 4 writes per 98-recipient block in the 100,000-recipient benchmark,
 * against about one now.
 */
final class RateLimiter {
    static final long PERIOD_MILLIS = 1100;
    /** How far ahead of the clock (in periods) the cursor may run before a reservation waits for time to pass. */
    static final int LOOKAHEAD_PERIODS = 10;
    static final long LOOKAHEAD_MICROS = LOOKAHEAD_PERIODS * PERIOD_MILLIS * 1000;
    /** How late a send time may be handed out and still be sent (about a DynamoDB round trip). */
    static final long LATE_TOLERANCE_MILLIS = 25;
    /**
     * Reservations start at least this far ahead of the clock, so the send times are still to come when the write
     * returns (at 1,000 mps sends are 1.1 ms apart); more when writes have been slower (see {@link #lead}).
     */
    static final long LEAD_MILLIS = 50;
    /** The most a reservation starts ahead of the clock, however slow the writes. */
    static final long MAX_LEAD_MILLIS = 500;
    /** "No deadline" in microseconds: far beyond any real one, with room for run arithmetic above it. */
    static final long NO_DEADLINE_MICROS = Long.MAX_VALUE / 4;

    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;
    /**
     * Per line, the cursor as this limiter last left it: which of the two writes to try first (a hint only; other
     * workers' reservations are not seen here, and a wrong guess costs one more write).
     */
    private final Map<String, Long> lastCursor = new ConcurrentHashMap<>();
    /** Per line, where its waiting line ends as this limiter last saw it, and its rate (a hint, as {@link #lastCursor}). */
    private final Map<String, WaitingLine> waitingLines = new ConcurrentHashMap<>();

    /** The end of a line's waiting line (epoch µs) and the rate its last place was given at. */
    private record WaitingLine(long endMicros, double mps) {
        /**
         * What is known now of the line's waiting line, {@code other} seen after this: the later end at one rate; at
         * another rate the one seen last (a raised rate starts a new waiting line that ends sooner: kept by its end,
         * the old one at the old rate stayed known for hours, and fresh jobs at the new rate went ahead of its places).
         */
        WaitingLine later(WaitingLine other) {
            if (other.mps != mps) return other;
            return other.endMicros > endMicros ? other : this;
        }
    }
    /**
     * One reservation per line at a time from this worker: the blocks it delivers side by side would otherwise
     * race for the same send times and each pay a failed write; serialised, each knows where the last one ended.
     */
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    /**
     * How long reservation writes have been taking (a moving average, in ms). Under load a write can outlast the
     * lead: the times it returns are past, are dropped, and their block needs another write (measured: ~3 writes per
     * block at 10,000 recipients on a busy DynamoDB Local).
     */
    private volatile long writeMillis;

    RateLimiter(DynamoDbClient dynamo, String table, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.clock = clock;
    }

    /** {@code count} send times from {@code firstMicros} (epoch microseconds), {@code spacingMicros} apart. */
    record Slots(long firstMicros, int count, long spacingMicros) {
        long sendAtMicros(int index) {
            return firstMicros + index * spacingMicros;
        }

        /** Rounded up: a send never leaves before its booked time. */
        long sendAtMillis(int index) {
            return ceilDiv(sendAtMicros(index), 1000);
        }

        /** Where the run's booking ends: the next run on the line starts here at the earliest. */
        long endMicros() {
            return firstMicros + count * spacingMicros;
        }
    }

    /**
     * How far apart sends of {@code segments} segments each are at a rate: each takes that many of the rate's places,
     * as the carrier counts a line's throughput in segments (an MMS is one).
     */
    static long spacingMicros(double mps, int segments) {
        return spacingMicros(mps) * Math.max(1, segments);
    }

    /** How far apart a rate's sends are, rounded up (never faster than the rate). */
    static long spacingMicros(double mps) {
        // whole rates in integers, as ever (exact); a fraction (a per-minute grant) rounded up all the same
        return mps == Math.rint(mps) ? ceilDiv(PERIOD_MILLIS * 1000, Math.max(1, (long) mps))
                : (long) Math.ceil(PERIOD_MILLIS * 1000 / Math.max(LineRules.MIN_MPS, mps));
    }

    /** A deadline in epoch ms as epoch microseconds; {@link #NO_DEADLINE_MICROS} for one too far ahead to matter. */
    static long deadlineMicros(long millis) {
        return millis >= NO_DEADLINE_MICROS / 1000 ? NO_DEADLINE_MICROS : millis * 1000;
    }

    /** Not reserved: the cursor is this far ahead of the clock (more than the lookahead allows). */
    private record TooFarAhead(long cursor) {}

    /**
     * Reserves up to {@code wanted} consecutive sends (at least one, at most half a lookahead's worth) from the first
     * moment still to come, or after the runs others already booked; waits while the line is booked more than
     * {@link #LOOKAHEAD_PERIODS} ahead. The caller sends each at its time. Times that have passed are never handed
     * out (they would all go at once, a burst), nor times after {@code latestSendAt}: a worker's time is limited, and
     * on a line shared by many workers the wait for the lookahead has no bound of its own (others can book every
     * moment that frees up).
     *
     * @return the send times, or empty when none at or before {@code latestSendAt} can be had (the line is booked past
     *         it, or it has come): nothing was reserved
     */
    Optional<Slots> acquire(String lineId, double mps, int wanted, long latestSendAt) throws InterruptedException {
        return acquire(lineId, mps, wanted, latestSendAt, Long.MAX_VALUE);
    }

    /**
     * As {@link #acquire(String, int, int, long)}, but gives up (empty, nothing reserved) rather than sleep more than
     * {@code maxSleepMillis} at once for the lookahead: for a caller with nothing of its own sending meanwhile, whose
     * wait would only keep a worker from other lines.
     */
    Optional<Slots> acquire(String lineId, double mps, int wanted, long latestSendAt, long maxSleepMillis)
            throws InterruptedException {
        return acquire(lineId, mps, 1, wanted, latestSendAt, maxSleepMillis);
    }

    /**
     * As {@link #acquire(String, double, int, long, long)}, for sends of {@code segments} segments each: each takes
     * that many of the rate's places on the line's one cursor, as the carrier counts a long code's (a toll-free's, a
     * short code's) throughput in segments: a 3-segment text at 1 mps goes every 3.3 s, not every 1.1 s.
     */
    Optional<Slots> acquire(String lineId, double mps, int segments, int wanted, long latestSendAt, long maxSleepMillis)
            throws InterruptedException {
        long spacing = spacingMicros(mps, segments);
        // at least two sends: one of many segments on a slow line (3 at 0.25 mps: 13.2 s) is longer than the
        // lookahead, and could then neither be booked behind another nor wait for its turn within its deadline
        long lookahead = Math.max(LOOKAHEAD_MICROS, 2 * spacing);
        long lastAt = deadlineMicros(latestSendAt);
        // At most half the lookahead per run: with the cursor shared by jobs on a line's old and new rate, a run of
        // the slower one that needed the whole lookahead would only fit once the faster jobs (which keep the cursor a
        // block or two ahead) were done. Several workers pipelining on the faster rate can still keep it further
        // ahead than that; the slower job then waits for them (under a minute) or hands its rows on at its last send
        // time. Fewer than wanted once the deadline cuts the run short (then the rest of the caller's block is not
        // sent).
        long fit = Math.max(1, Math.min(wanted, lookahead / 2 / spacing));
        ReentrantLock lock = locks.computeIfAbsent(lineId, l -> new ReentrantLock());
        while (true) {
            long span;
            Object outcome;
            lock.lock();
            try {
                // The clock is read for every attempt, once this worker's turn has come: attempts wait for each
                // other and take a while under contention, and times computed as future before that may be past by
                // now (measured: up to 0.7 s late with DynamoDB Local saturated); booked, they would be lost.
                long started = clock.millis();
                long firstFuture = (started + lead()) * 1000;
                if (firstFuture > lastAt) return Optional.empty();
                int k = (int) Math.min(fit, (lastAt - firstFuture) / spacing + 1);
                span = k * spacing;
                // The run must end within the lookahead, and its last send be no later than the deadline.
                long latestStart = Math.min(firstFuture + lookahead - span, lastAt - span + spacing);
                outcome = reserve(lineId, spacing, firstFuture, latestStart, k);
                writeMillis = (3 * writeMillis + clock.millis() - started) / 4;
            } finally {
                lock.unlock();
            }
            if (outcome instanceof Slots slots) {
                Slots timely = withoutPast(slots);
                if (timely != null) return Optional.of(timely);
            } else if (outcome instanceof TooFarAhead ahead) {
                // The cursor only grows: booked past the deadline now means for good.
                if (ahead.cursor() > lastAt) return Optional.empty();
                if (ahead.cursor() + span - spacing > lastAt) {
                    fit = (lastAt - ahead.cursor()) / spacing + 1; // only a shorter run still ends in time: ask at once
                    continue;
                }
                // Sleep until the first future moment is where our run fits within the lookahead (measured: waking
                // earlier, every wait ended in another failed write, ~4 writes per recipient on a 20 mps line).
                long fitsFrom = ahead.cursor() + span - lookahead;
                if (fitsFrom > lastAt) return Optional.empty(); // never a sleep past the deadline
                long wait = ceilDiv(fitsFrom, 1000) - lead() - clock.millis();
                if (wait > maxSleepMillis) return Optional.empty();
                Thread.sleep(Math.max(1, wait));
            }
            // null: another worker moved the cursor between our two writes; try again
        }
    }

    /**
     * A place in the line's waiting line ({@code waitAt}, a second time on the cursor item): where a run of
     * {@code count} sends is expected to start, after what is reserved and the places given before. Nothing is
     * reserved: a job with a place comes back shortly before it and reserves then ({@link #acquire}). The places are
     * what spaces those returns: without them every job waiting for a busy line came back at the same moment, one
     * reserved, and the others went back, again and again. A place that is not used (a lost job, fewer rows left to
     * send than placed) idles the line for what of it the next job's early return (3 s) does not cover. Usually two
     * writes (more only while other workers give places or reserve at the same moment).
     *
     * @return where the place starts, in epoch microseconds
     */
    long ticket(String lineId, double mps, int count) {
        return ticket(lineId, mps, 1, count);
    }

    /** As {@link #ticket(String, double, int)}, for sends of {@code segments} segments each (see {@link #acquire}). */
    long ticket(String lineId, double mps, int segments, int count) {
        long span = count * spacingMicros(mps, segments);
        var key = LineService.rateCursorKey(lineId);
        while (true) {
            long now = clock.millis() * 1000;
            try {
                // places are being given (they end after the cursor) at this rate or a higher one: take the next
                var result = dynamo.updateItem(b -> b.tableName(table).key(key)
                        .updateExpression("ADD waitAt :span SET waitMps = :mps")
                        .conditionExpression("waitAt >= :now AND (waitAt >= nextAt OR attribute_not_exists(nextAt))"
                                + " AND (attribute_not_exists(waitMps) OR waitMps >= :mps)")
                        .expressionAttributeValues(Map.of(":span", n(span), ":now", n(now), ":mps", n(mps)))
                        .returnValues(ReturnValue.UPDATED_NEW)
                        .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
                return rememberPlace(lineId, Long.parseLong(result.attributes().get("waitAt").n()) - span, span, mps);
            } catch (ConditionalCheckFailedException e) {
                // None given since the cursor passed the last: the first place starts at the cursor (or now). Or
                // they were given at a lower rate (the carrier raised the line's throughput since): a new waiting
                // line starts at the cursor, at the new spacing; after those places, a new message on a line raised
                // from 1 to 20 mps waited hours. The old places' jobs go when they come back (DeliveryService
                // #beforeItsPlace), each reserving its slots as any job does, so the line still never exceeds its rate.
                Long cursor = e.hasItem() && e.item().containsKey("nextAt") ? Long.valueOf(e.item().get("nextAt").n()) : null;
                long base = Math.max(now, cursor == null ? 0 : cursor);
                try {
                    dynamo.updateItem(b -> b.tableName(table).key(key)
                            .updateExpression("SET waitAt = :end, waitMps = :mps, expiresAt = if_not_exists(expiresAt, :ttl)")
                            .conditionExpression("(attribute_not_exists(waitAt) OR waitAt < :base OR waitMps < :mps)"
                                    + " AND (attribute_not_exists(nextAt) OR nextAt <= :base)")
                            .expressionAttributeValues(Map.of(":end", n(base + span), ":base", n(base), ":mps", n(mps),
                                    ":ttl", ttl(base + span))));
                    return rememberPlace(lineId, base, span, mps);
                } catch (ConditionalCheckFailedException moved) {
                    // another worker gave a place or reserved meanwhile: look again
                }
            }
        }
    }

    private long rememberPlace(String lineId, long start, long span, double mps) {
        waitingLines.merge(lineId, new WaitingLine(start + span, mps), WaitingLine::later);
        return start;
    }

    /** Notes where the line's waiting line ends, from a cursor item a reservation read anyway (no extra request). */
    private void learnWaitingLine(String lineId, Map<String, AttributeValue> item) {
        AttributeValue waitAt = item.get("waitAt");
        if (waitAt == null) return;
        AttributeValue mps = item.get("waitMps");
        var seen = new WaitingLine(Long.parseLong(waitAt.n()), mps == null ? Double.MAX_VALUE : Double.parseDouble(mps.n()));
        waitingLines.merge(lineId, seen, WaitingLine::later);
    }

    /**
     * Whether this worker knows of places on the line still to come (its own, or seen on the cursor item by its
     * reservations): a fresh job then takes a place too (after the jobs waiting) instead of reserving ahead of them.
     * A worker that has not looked at the line lately does not know (its fresh job claims, finds no slot in time
     * or jumps the line, and learns). Nor does a job at a higher rate than the waiting line was given at (the
     * carrier raised the line's throughput): its place starts a new waiting line at the new spacing ({@link #ticket}),
     * and the jobs placed at the old rate go as they come back.
     */
    boolean knownWaitingLine(String lineId, double mps) {
        WaitingLine line = waitingLines.get(lineId);
        return line != null && line.endMicros() > clock.millis() * 1000 && mps <= line.mps();
    }

    /**
     * Whether this worker has seen the line booked past {@code millis} (epoch ms). The cursor only grows, so a yes
     * is certain; a no may be wrong (other workers' bookings are not seen here) and costs the caller a failed
     * reservation.
     */
    boolean knownBookedPast(String lineId, long millis) {
        return lastCursor.getOrDefault(lineId, Long.MIN_VALUE) > deadlineMicros(millis);
    }

    /**
     * Until when (epoch ms) this worker has seen the line booked, 0 when it has seen no booking: a hint (bookings of
     * other workers are not seen here), as {@link #knownBookedPast}.
     */
    long knownBookedUntil(String lineId) {
        long cursor = lastCursor.getOrDefault(lineId, Long.MIN_VALUE);
        return cursor == Long.MIN_VALUE ? 0 : cursor / 1000;
    }

    /**
     * Two conditional writes cover the cursor's two states: ahead of the clock (a busy line: ADD our run after it)
     * or behind it (idle: SET it to just after our run, which starts at the first future moment). The one the last
     * reservation here suggests is tried first.
     */
    private Object reserve(String lineId, long spacing, long firstFuture, long latestStart, int k) {
        var key = LineService.rateCursorKey(lineId);
        long known = lastCursor.getOrDefault(lineId, Long.MIN_VALUE);
        // The cursor only grows, so one seen here too far ahead still is: wait without a write (the blocks this
        // worker delivers side by side would otherwise each pay a failed write per wake-up).
        if (known > latestStart) return new TooFarAhead(known);
        boolean busy = known > firstFuture;
        if (!busy) {
            Slots started = tryStart(key, firstFuture, k, spacing);
            if (started != null) return remember(lineId, started);
        }
        Object added = tryAdd(lineId, key, firstFuture, latestStart, k, spacing);
        if (added instanceof Slots slots) return remember(lineId, slots);
        if (added instanceof TooFarAhead ahead) {
            lastCursor.merge(lineId, ahead.cursor(), Math::max);
            return ahead;
        }
        if (busy) {
            Slots started = tryStart(key, firstFuture, k, spacing);
            if (started != null) return remember(lineId, started);
        }
        return null;
    }

    /** Twice the recent write time, at least {@link #LEAD_MILLIS}, at most {@link #MAX_LEAD_MILLIS}. */
    private long lead() {
        return Math.clamp(2 * writeMillis, LEAD_MILLIS, MAX_LEAD_MILLIS);
    }

    private Slots remember(String lineId, Slots slots) {
        lastCursor.merge(lineId, slots.endMicros(), Math::max);
        return slots;
    }

    /**
     * A busy line: the cursor is at or past the first future moment, and no later than {@code latestStart} (our run
     * must end within the lookahead and the deadline).
     */
    private Object tryAdd(String lineId, Map<String, AttributeValue> key, long firstFuture, long latestStart, int k,
                          long spacing) {
        long span = k * spacing;
        try {
            var result = dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("ADD nextAt :span SET expiresAt = :ttl")
                    .conditionExpression("nextAt >= :first AND nextAt <= :limit")
                    .expressionAttributeValues(Map.of(":span", n(span), ":first", n(firstFuture),
                            ":limit", n(latestStart), ":ttl", ttl(latestStart + span)))
                    .returnValues(ReturnValue.ALL_NEW)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
            learnWaitingLine(lineId, result.attributes());
            long end = Long.parseLong(result.attributes().get("nextAt").n());
            return new Slots(end - span, k, spacing);
        } catch (ConditionalCheckFailedException e) {
            if (e.hasItem()) learnWaitingLine(lineId, e.item());
            Long cursor = e.hasItem() && e.item().containsKey("nextAt") ? Long.valueOf(e.item().get("nextAt").n()) : null;
            if (cursor != null && cursor >= firstFuture) return new TooFarAhead(cursor);
            return null; // no cursor yet, or behind the clock: starting it is the other write
        }
    }

    /** First use of the line, or it stood idle: start at the first future moment. */
    private Slots tryStart(Map<String, AttributeValue> key, long firstFuture, int k, long spacing) {
        long end = firstFuture + k * spacing;
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("SET nextAt = :next, expiresAt = :ttl")
                    .conditionExpression("attribute_not_exists(nextAt) OR nextAt < :first")
                    .expressionAttributeValues(Map.of(":next", n(end), ":first", n(firstFuture), ":ttl", ttl(end))));
            return new Slots(firstFuture, k, spacing);
        } catch (ConditionalCheckFailedException busy) {
            return null;
        }
    }

    /** The cursor item expires a minute after its last booking (an idle line's cursor is worthless). */
    private static AttributeValue ttl(long endMicros) {
        return n(endMicros / 1_000_000 + 60);
    }

    /**
     * The reserved sends still to come (or at most {@link #LATE_TOLERANCE_MILLIS} past), null if none. A slow write
     * can return times that went by meanwhile; sending those at once would be a burst the carrier counts in one
     * second, so they are left unused.
     */
    private Slots withoutPast(Slots slots) {
        long now = clock.millis();
        int skip = 0;
        while (skip < slots.count() && slots.sendAtMillis(skip) < now - LATE_TOLERANCE_MILLIS) skip++;
        if (skip == slots.count()) return null;
        return skip == 0 ? slots : new Slots(slots.sendAtMicros(skip), slots.count() - skip, slots.spacingMicros());
    }

    private static long ceilDiv(long a, long b) {
        return Math.floorDiv(a + b - 1, b);
    }
}
