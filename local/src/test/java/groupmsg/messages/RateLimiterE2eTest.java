package groupmsg.messages;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
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
 * instances are) reserving one line's slots at once: no slot is handed out twice, no period gets more than mps,
 * no slot is handed out after its time has passed, and every slot asked for is granted.
 */
@ExtendWith(LocalRuntimeExtension.class)
class RateLimiterE2eTest {
    @Test
    void concurrentWorkersShareOneLinesSlotsWithoutOverlapOrExcess(LocalRuntime runtime) throws Exception {
        String table = runtime.wiring().config().table(Tables.CORE);
        String line = "line_rate_" + UUID.randomUUID();
        int mps = 100;
        int workers = 4;
        int threadsPerWorker = 6;
        int blocksPerThread = 5;
        int wanted = 7;
        List<RateLimiter> limiters = new ArrayList<>();
        for (int i = 0; i < workers; i++) limiters.add(new RateLimiter(runtime.wiring().dynamo(), table, Clock.systemUTC()));

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
                                var slots = limiter.acquire(line, mps, left);
                                long now = System.currentTimeMillis();
                                // a slot may be due now (it is sent at once) but never well in the past
                                if (slots.sendAtMillis(0) < now - 50) late.add(now - slots.sendAtMillis(0));
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
        Map<Long, Set<Integer>> byPeriod = new HashMap<>();
        for (var s : granted) {
            assertThat(s.count()).isPositive();
            for (int i = 0; i < s.count(); i++) {
                int slot = s.first() + i;
                assertThat(slot).as("slot index within the period").isBetween(0, mps - 1);
                assertThat(byPeriod.computeIfAbsent(s.period(), p -> new HashSet<>()).add(slot))
                        .as("slot %d of period %d handed out once", slot, s.period()).isTrue();
            }
        }
        assertThat(byPeriod.values()).allSatisfy(slots -> assertThat(slots.size()).isLessThanOrEqualTo(mps));
        assertThat(late).as("slots handed out after their time (ms late)").isEmpty();
    }
}
