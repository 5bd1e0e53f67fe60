package groupmsg.messages;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import groupmsg.local.bench.RequestCounter;
import groupmsg.platform.config.Wiring;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rate limiter against DynamoDB Local with several workers (each its own limiter, as separate Lambda
 * instances are) reserving one line's slots at once: no send time is handed out twice, no second gets more than mps,
 * no slot is handed out after its time has passed, and every slot asked for is granted.
 */
@ExtendWith(LocalRuntimeExtension.class)
class RateLimiterE2eTest {
    /**
     * A send longer than the lookahead (3 segments at 0.25 mps: 13.2 s) is booked right behind the one before it, at
     * once: before, it could not be booked behind another, and slept until the cursor had passed (the line idle for
     * the difference, the sleep past the caller's deadline).
     */
    @Test
    void aSendLongerThanTheLookaheadIsBookedRightBehindTheOneBefore(LocalRuntime runtime) throws Exception {
        String line = "line_long_" + UUID.randomUUID();
        RateLimiter limiter = limiter(runtime.wiring());
        long spacing = RateLimiter.spacingMicros(0.25) * 3;
        assertThat(spacing).isGreaterThan(RateLimiter.LOOKAHEAD_MICROS);
        var first = limiter.acquire(line, 0.25, 3, 2, Long.MAX_VALUE, Long.MAX_VALUE).orElseThrow();
        assertThat(first.spacingMicros()).isEqualTo(spacing);
        long started = System.nanoTime();
        var second = limiter.acquire(line, 0.25, 3, 1, Long.MAX_VALUE, Long.MAX_VALUE).orElseThrow();
        assertThat((System.nanoTime() - started) / 1_000_000).as("booked without a sleep").isLessThan(2_000);
        assertThat(second.firstMicros()).as("right behind the first").isEqualTo(first.endMicros());
        // a deadline before the line's next free moment: nothing, at once
        long before = System.nanoTime();
        assertThat(limiter.acquire(line, 0.25, 3, 1, System.currentTimeMillis() + 5_000, Long.MAX_VALUE)).isEmpty();
        assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(2_000);
    }

    @Test
    void concurrentWorkersShareOneLinesSlotsWithoutOverlapOrExcess(LocalRuntime runtime) throws Exception {
        String line = "line_rate_" + UUID.randomUUID();
        int mps = 100;
        int workers = 4;
        int threadsPerWorker = 6;
        int blocksPerThread = 5;
        int wanted = 7;
        List<RateLimiter> limiters = new ArrayList<>();
        for (int i = 0; i < workers; i++) limiters.add(limiter(runtime.wiring()));

        var granted = new ConcurrentLinkedQueue<RateLimiter.Slots>();
        var late = new ConcurrentLinkedQueue<Long>();
        List<Future<?>> running = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(workers * threadsPerWorker)) {
            for (RateLimiter limiter : limiters) {
                for (int t = 0; t < threadsPerWorker; t++) {
                    running.add(pool.submit(() -> {
                        for (int b = 0; b < blocksPerThread; b++) {
                            int left = wanted;
                            while (left > 0) {
                                long asked = System.currentTimeMillis();
                                var slots = limiter.acquire(line, mps, left, Long.MAX_VALUE).orElseThrow();
                                // a slot may be due now (it is sent at once) but never in the past: the limiter allows
                                // 25 ms from the moment it decides, which is no earlier than the moment it was asked
                                // (that, not a clock read after its return, which a preemption makes late on a busy CPU)
                                if (slots.sendAtMillis(0) < asked - 26) late.add(asked - slots.sendAtMillis(0));
                                granted.add(slots);
                                left -= slots.count();
                            }
                        }
                        return null;
                    }));
                }
            }
            for (var f : running) f.get();
        }

        int total = granted.stream().mapToInt(RateLimiter.Slots::count).sum();
        assertThat(total).isEqualTo(workers * threadsPerWorker * blocksPerThread * wanted);
        Set<Long> slots = new HashSet<>();
        List<Long> times = new ArrayList<>();
        for (var s : granted) {
            assertThat(s.count()).isPositive();
            for (int i = 0; i < s.count(); i++) {
                assertThat(slots.add(s.sendAtMicros(i))).as("send time %d handed out once", s.sendAtMicros(i)).isTrue();
                times.add(s.sendAtMillis(i));
            }
        }
        // Runs never overlap: consecutive sends, whoever booked them, are at least the rate's spacing apart.
        List<Long> micros = granted.stream().flatMap(s -> java.util.stream.IntStream.range(0, s.count())
                .mapToObj(s::sendAtMicros)).sorted().toList();
        for (int i = 1; i < micros.size(); i++) {
            assertThat(micros.get(i) - micros.get(i - 1)).as("µs between sends %d and %d", i - 1, i)
                    .isGreaterThanOrEqualTo(RateLimiter.spacingMicros(mps));
        }
        // The sends' times: never more than mps in any 1-second window (the carrier's rule), with the margin.
        List<Long> sorted = times.stream().sorted().toList();
        int busiest = 0;
        for (int i = 0, j = 0; i < sorted.size(); i++) {
            while (sorted.get(i) - sorted.get(j) >= 1000) j++;
            busiest = Math.max(busiest, i - j + 1);
        }
        assertThat(busiest).as("most slots in any 1 s").isLessThanOrEqualTo(mps);
        assertThat(late).as("slots handed out after their time (ms late)").isEmpty();
    }

    /**
     * Three workers, each delivering five 98-recipient blocks side by side, as fast as the line allows (1,000 mps):
     * about one conditional write per block.
     */
    @Test
    void blocksReservedSideBySideCostAboutOneWriteEach(LocalRuntime runtime) throws Exception {
        var writes = new RequestCounter();
        Wiring w = countingRequests(runtime, writes);
        String line = "line_probe_" + UUID.randomUUID();
        AtomicInteger acquires = new AtomicInteger();
        AtomicInteger blocks = new AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(15)) {
            for (int wkr = 0; wkr < 3; wkr++) {
                var limiter = limiter(w);
                for (int t = 0; t < 5; t++) {
                    fs.add(pool.submit(() -> {
                        for (int b = 0; b < 6; b++) {
                            int left = 98;
                            long last = 0;
                            while (left > 0) {
                                var s = limiter.acquire(line, 1000, left, Long.MAX_VALUE).orElseThrow();
                                acquires.incrementAndGet();
                                left -= s.count();
                                last = s.sendAtMillis(s.count() - 1);
                            }
                            blocks.incrementAndGet();
                            long wait = last - System.currentTimeMillis() + 300; // the sends and the record
                            if (wait > 0) Thread.sleep(wait);
                        }
                        return null;
                    }));
                }
            }
            for (var f : fs) f.get();
        }
        // Measured: 1.1 (99 writes for 90 blocks); it was 2.9 with per-period counters, where blocks reserved side
        // by side kept hitting full periods. Other workers' reservations still cost a failed write now and then.
        assertThat(blocks).hasValue(90);
        assertThat(total(writes)).as("reservation writes for 90 blocks").isLessThanOrEqualTo(180);
    }

    /**
     * Blocks that book the line past the lookahead wait for time to pass without writing meanwhile (a waiting
     * reservation used to wake every 10 ms and fail a write: ~4 writes per recipient on a 20 mps line).
     */
    @Test
    void reservationsBeyondTheLookaheadWaitWithoutWriting(LocalRuntime runtime) throws Exception {
        var writes = new RequestCounter();
        Wiring w = countingRequests(runtime, writes);
        String line = "line_wait_" + UUID.randomUUID();
        int mps = 100; // lookahead 1,000 slots: 12 blocks of 98 run past it by 176 slots, about 2 s
        long start = System.currentTimeMillis();
        List<Future<?>> fs = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(6)) {
            for (int worker = 0; worker < 2; worker++) {
                var limiter = limiter(w);
                for (int t = 0; t < 3; t++) {
                    fs.add(pool.submit(() -> {
                        for (int b = 0; b < 2; b++) {
                            int left = 98;
                            while (left > 0) left -= limiter.acquire(line, mps, left, Long.MAX_VALUE).orElseThrow().count();
                        }
                        return null;
                    }));
                }
            }
            for (var f : fs) f.get();
        }
        assertThat(System.currentTimeMillis() - start).as("the last blocks waited for the lookahead").isGreaterThan(1000);
        assertThat(total(writes)).as("reservation writes for 12 blocks").isLessThanOrEqualTo(60);
    }

    /**
     * A reservation with a deadline never waits past it for the lookahead, and never hands out a slot after it: a
     * line booked beyond the deadline answers "none" at once, one booked up to just before it gives a shorter run.
     */
    @Test
    void aDeadlineCutsTheWaitAndTheRunShort(LocalRuntime runtime) throws Exception {
        String line = "line_deadline_" + UUID.randomUUID();
        int mps = 10; // lookahead 100 slots, 11 s
        var busy = limiter(runtime.wiring());
        var late = limiter(runtime.wiring());

        var first = busy.acquire(line, mps, 20, Long.MAX_VALUE).orElseThrow(); // 2.2 s of the line
        long firstEnd = first.sendAtMillis(first.count() - 1);
        // 10 more slots (1.1 s) fit before this deadline, not 20
        long deadline = firstEnd + 1_150;
        var cut = late.acquire(line, mps, 20, deadline).orElseThrow();
        assertThat(cut.firstMicros()).as("right after the first run").isEqualTo(first.endMicros());
        assertThat(cut.count()).isBetween(9, 11);
        assertThat(cut.sendAtMillis(cut.count() - 1)).isLessThanOrEqualTo(deadline);

        // the line is now booked past the deadline: none, at once and without a slot taken
        long asked = System.currentTimeMillis();
        assertThat(late.acquire(line, mps, 5, deadline)).isEmpty();
        assertThat(System.currentTimeMillis() - asked).as("ms waited (the alternative: seconds)").isLessThan(2_000);
        // half a lookahead more (the most one run books) by another worker, the line now booked about 9 s ahead: a
        // deadline short of that is not waited for
        assertThat(busy.acquire(line, mps, 90, Long.MAX_VALUE).orElseThrow().count()).isEqualTo(50);
        asked = System.currentTimeMillis();
        assertThat(late.acquire(line, mps, 5, asked + 5_000)).isEmpty();
        assertThat(System.currentTimeMillis() - asked).as("ms waited (the alternative: seconds)").isLessThan(2_000);

        // no deadline: the next run starts where the booked ones end (nothing was reserved by the refused tries)
        var next = late.acquire(line, mps, 5, Long.MAX_VALUE).orElseThrow();
        assertThat(next.firstMicros()).isEqualTo(cut.endMicros() + 50 * RateLimiter.spacingMicros(mps));

        // a deadline already past: none, without a write
        assertThat(late.acquire("line_past_" + UUID.randomUUID(), mps, 5, System.currentTimeMillis() - 1)).isEmpty();
    }

    /**
     * A caller with nothing of its own sending (a fresh job's first block) does not sleep long for the lookahead: a
     * line booked so far ahead that its run would wait more than the cap answers "none" at once, reserving nothing;
     * a shorter wait is waited out.
     */
    @Test
    void aCapOnTheSleepGivesUpAtOnceWhenTheLineIsBookedFarAhead(LocalRuntime runtime) throws Exception {
        String line = "line_capped_" + UUID.randomUUID();
        int mps = 10; // lookahead 100 slots, 11 s
        var busy = limiter(runtime.wiring());
        var fresh = limiter(runtime.wiring());
        busy.acquire(line, mps, 50, Long.MAX_VALUE).orElseThrow();
        var booked = busy.acquire(line, mps, 50, Long.MAX_VALUE).orElseThrow(); // the line booked about 11 s ahead

        // 40 slots (4.4 s) fit in the lookahead only about 4.4 s from now: more than the 1 s cap
        long asked = System.currentTimeMillis();
        assertThat(fresh.acquire(line, mps, 40, Long.MAX_VALUE, 1_000)).isEmpty();
        assertThat(System.currentTimeMillis() - asked).as("ms waited (the alternative: seconds)").isLessThan(2_000);
        // 5 slots (0.55 s) fit about 0.55 s from now: waited for, and they start where the booked runs end
        asked = System.currentTimeMillis();
        var waited = fresh.acquire(line, mps, 5, Long.MAX_VALUE, 1_000).orElseThrow();
        assertThat(System.currentTimeMillis() - asked).as("ms waited").isLessThan(2_000);
        assertThat(waited.firstMicros()).as("nothing was reserved by the refused try").isEqualTo(booked.endMicros());
    }

    /**
     * The line's rate lowered while a message sends: a worker that read the old rate and one that read the new one book
     * the same cursor, so their runs follow each other instead of overlapping (with a cursor per rate they ran side
     * by side, the two rates adding up for as long as the older job ran).
     */
    @Test
    void workersOnTheOldAndTheNewRateOfALineBookOneAfterTheOther(LocalRuntime runtime) throws Exception {
        String line = "line_change_" + UUID.randomUUID();
        var before = limiter(runtime.wiring());
        var after = limiter(runtime.wiring());

        var fast = before.acquire(line, 100, 200, Long.MAX_VALUE).orElseThrow(); // 2.2 s of the line at 100 mps
        var slow = after.acquire(line, 10, 5, Long.MAX_VALUE).orElseThrow();
        assertThat(slow.firstMicros()).as("the new rate's run starts where the old one's ends").isEqualTo(fast.endMicros());
        assertThat(slow.spacingMicros()).isEqualTo(RateLimiter.spacingMicros(10));
        // and back: a job still on the old rate books after the new rate's run
        var again = before.acquire(line, 100, 10, Long.MAX_VALUE).orElseThrow();
        assertThat(again.firstMicros()).isEqualTo(slow.endMicros());
        long gap = again.sendAtMillis(0) - slow.sendAtMillis(slow.count() - 1);
        assertThat(gap).as("ms from the slow run's last send to the next").isGreaterThanOrEqualTo(110);
    }

    /**
     * A job on a line's new, slower rate gets a run while jobs on the old, faster one keep booking a block ahead: a run
     * books at most half the lookahead, so it fits behind them (a 98-send run at 10 mps, 10.8 s of the 11 s
     * lookahead, fitted only once the line was idle).
     */
    @Test
    void aSlowerRatesRunFitsBehindAFasterRatesJobsStillBooking(LocalRuntime runtime) throws Exception {
        String line = "line_behind_" + UUID.randomUUID();
        var fast = limiter(runtime.wiring());
        var slow = limiter(runtime.wiring());
        long fastUntil = System.currentTimeMillis() + 4_000;
        try (var pool = Executors.newFixedThreadPool(1)) {
            Future<Long> fastJobs = pool.submit(() -> {
                long lastEnd = 0;
                // blocks of 98 at 100 mps, each booked 1.5 s before the previous one's sends end
                while (System.currentTimeMillis() < fastUntil) {
                    var run = fast.acquire(line, 100, 98, Long.MAX_VALUE).orElseThrow();
                    lastEnd = run.endMicros();
                    Thread.sleep(Math.max(0, run.sendAtMillis(run.count() - 1) - 1_500 - System.currentTimeMillis()));
                }
                return lastEnd;
            });
            Thread.sleep(1_500);
            long askedAt = System.currentTimeMillis();
            var run = slow.acquire(line, 10, 98, Long.MAX_VALUE).orElseThrow();
            long bookedAt = System.currentTimeMillis();
            assertThat(bookedAt).as("booked while the faster jobs were still booking").isLessThan(fastUntil);
            // behind the fast jobs' bookings (they keep the line booked about 1.5-2.6 s ahead), not on an idle line,
            // where a run starts at most the limiter's greatest lead (0.5 s) ahead of the clock
            assertThat(run.firstMicros() / 1000 - askedAt).as("ms ahead of the clock")
                    .isGreaterThan(RateLimiter.MAX_LEAD_MILLIS);
            assertThat(run.count()).as("half the lookahead at 10 mps").isEqualTo(50);
            assertThat(fastJobs.get()).as("the fast jobs went on after it").isGreaterThan(run.firstMicros());
        }
    }

    /**
     * Places in a busy line's waiting line, given by several workers at once while others reserve: none overlaps
     * another, each starts at or after the line's reservations as they stood, and taking one reserves nothing. A
     * worker that gave one knows the line has a waiting line, and one that reserved learns it.
     */
    @Test
    void placesInTheWaitingLineNeverOverlapAndReserveNothing(LocalRuntime runtime) throws Exception {
        String line = "line_wait_" + UUID.randomUUID();
        int mps = 20;
        int perJob = 100; // 5.5 s each
        long span = perJob * RateLimiter.spacingMicros(mps);
        List<RateLimiter> limiters = List.of(limiter(runtime.wiring()), limiter(runtime.wiring()), limiter(runtime.wiring()));
        var granted = new ConcurrentLinkedQueue<RateLimiter.Slots>();
        granted.add(limiters.getFirst().acquire(line, mps, perJob, Long.MAX_VALUE).orElseThrow()); // a busy line
        var places = new ConcurrentLinkedQueue<Long>();
        List<Future<?>> running = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(9)) {
            for (RateLimiter limiter : limiters) {
                for (int t = 0; t < 3; t++) {
                    boolean reserves = t == 0;
                    running.add(pool.submit(() -> {
                        for (int b = 0; b < 5; b++) {
                            if (reserves) limiter.acquire(line, mps, 10, System.currentTimeMillis() + 3_000).ifPresent(granted::add);
                            else places.add(limiter.ticket(line, mps, perJob));
                        }
                        return null;
                    }));
                }
            }
            for (var f : running) f.get();
        }
        assertThat(places).hasSize(30);
        List<Long> sorted = places.stream().sorted().toList();
        for (int i = 1; i < sorted.size(); i++) {
            assertThat(sorted.get(i) - sorted.get(i - 1)).as("place %d after place %d", i, i - 1).isGreaterThanOrEqualTo(span);
        }
        long firstReservationEnd = granted.stream().mapToLong(RateLimiter.Slots::endMicros).min().orElseThrow();
        assertThat(sorted.getFirst()).as("after the reservations").isGreaterThanOrEqualTo(firstReservationEnd);
        long reservedEnd = granted.stream().mapToLong(RateLimiter.Slots::endMicros).max().orElseThrow();
        var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("RATE#" + line), "sk", AttributeValue.fromS("cursor")))
                .consistentRead(true)).item();
        assertThat(Long.parseLong(item.get("nextAt").n())).as("places reserve nothing").isEqualTo(reservedEnd);
        assertThat(Long.parseLong(item.get("waitAt").n())).isEqualTo(sorted.getLast() + span);
        for (RateLimiter limiter : limiters) assertThat(limiter.knownWaitingLine(line, mps)).isTrue();
        // a job at a higher rate (the carrier raised the line's) does not join a waiting line laid at the old one
        assertThat(limiters.getFirst().knownWaitingLine(line, 2 * mps)).isFalse();
        // a worker that gave no place learns of the waiting line from its first reservation's answer
        RateLimiter other = limiter(runtime.wiring());
        assertThat(other.knownWaitingLine(line, mps)).isFalse();
        other.acquire(line, mps, 1, System.currentTimeMillis() + 1_000);
        assertThat(other.knownWaitingLine(line, mps)).isTrue();
    }

    /**
     * A place at a raised rate (the carrier granted the line more throughput) starts a waiting line of its own at the
     * cursor, not after the places given at the old rate: after them, a new message on a line raised from 1 to 50 mps
     * waited as long as the old message's backlog at 1 mps. A lowered rate still queues behind.
     */
    @Test
    void aPlaceAtARaisedRateIsNotQueuedBehindPlacesGivenAtTheOldRate(LocalRuntime runtime) {
        String line = "line_raised_" + UUID.randomUUID();
        RateLimiter limiter = limiter(runtime.wiring());
        long now = System.currentTimeMillis() * 1000;
        long first = limiter.ticket(line, 1, 100); // 100 s of places at 1 mps (110 s with the spacing margin)
        assertThat(first).isBetween(now - 1_000_000, now + 2_000_000);
        long behind = limiter.ticket(line, 1, 10);
        assertThat(behind).as("the same rate queues behind").isGreaterThanOrEqualTo(first + 100 * RateLimiter.spacingMicros(1));

        long raised = limiter.ticket(line, 50, 1000); // 22 s of places: the checks below are made well within them

        assertThat(raised).as("not after the 1 mps places (%d)", behind).isLessThan(now + 5_000_000);
        // the worker knows the new waiting line, so its fresh jobs at 50 mps queue in it instead of going ahead of it
        assertThat(limiter.knownWaitingLine(line, 50)).isTrue();
        long next = limiter.ticket(line, 50, 10);
        assertThat(next).as("the new waiting line goes on at 50 mps").isEqualTo(raised + 1000 * RateLimiter.spacingMicros(50));
        long lowered = limiter.ticket(line, 20, 10);
        assertThat(lowered).as("a lower rate queues behind").isGreaterThanOrEqualTo(next + 10 * RateLimiter.spacingMicros(50));
    }

    /** A worker's own limiter (as a Lambda instance has) on the core table of {@code wiring}. */
    private static RateLimiter limiter(Wiring wiring) {
        return new RateLimiter(wiring.dynamo(), wiring.config().table(Tables.CORE), Clock.systemUTC());
    }

    /** The runtime's configuration with SDK clients whose requests {@code requests} counts. */
    private static Wiring countingRequests(LocalRuntime runtime, RequestCounter requests) {
        return runtime.wiringWith(requests);
    }

    private static long total(RequestCounter requests) {
        return requests.snapshot().values().stream().mapToLong(Long::longValue).sum();
    }
}
