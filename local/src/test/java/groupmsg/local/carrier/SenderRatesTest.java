package groupmsg.local.carrier;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class SenderRatesTest {
    @Test
    void aCachedRateIsLookedUpOncePerSenderAndTtlAndAChangeAppliesAfterIt() {
        Map<String, Double> table = new HashMap<>(Map.of("+12125550100", 20.0, "+12125550101", 100.0));
        AtomicInteger lookups = new AtomicInteger();
        AtomicLong nanos = new AtomicLong(5_000_000_000L);
        SenderRates rates = SenderRates.cached(from -> {
            lookups.incrementAndGet();
            return table.getOrDefault(from, SenderRates.DEFAULT_MPS);
        }, Duration.ofSeconds(1), nanos::get, Runnable::run);

        for (int i = 0; i < 50; i++) assertThat(rates.mps("+12125550100")).isEqualTo(20.0);
        assertThat(rates.mps("+12125550101")).isEqualTo(100.0);
        assertThat(rates.mps("+19995550000")).isEqualTo(SenderRates.DEFAULT_MPS);
        assertThat(lookups).hasValue(3);

        table.put("+12125550100", 5.0);
        nanos.addAndGet(999_000_000L);
        assertThat(rates.mps("+12125550100")).as("still within the ttl").isEqualTo(20.0);
        nanos.addAndGet(1_000_000L);
        assertThat(rates.mps("+12125550100")).as("the ttl is over: this send is not held up by the lookup").isEqualTo(20.0);
        assertThat(lookups).hasValue(4);
        assertThat(rates.mps("+12125550100")).as("the next one has its result").isEqualTo(5.0);
        assertThat(lookups).hasValue(4);
    }

    @Test
    void anExpiredRateIsAnsweredAtOnceWhileOneLookupRunsAndAFailedLookupKeepsIt() throws Exception {
        AtomicLong nanos = new AtomicLong();
        AtomicInteger lookups = new AtomicInteger();
        var slowLookup = new CountDownLatch(1);
        var answers = new ArrayBlockingQueue<Object>(4);
        answers.add(100.0);
        SenderRates rates = SenderRates.cached(from -> {
            lookups.incrementAndGet();
            Object answer = answers.remove();
            if (answer instanceof RuntimeException e) throw e;
            return (Double) answer;
        }, Duration.ofSeconds(1), nanos::get, refresh -> Thread.ofVirtual().start(() -> {
            try {
                slowLookup.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            refresh.run();
        }));
        assertThat(rates.mps("+12125550100")).as("the first lookup is made in the send").isEqualTo(100.0);

        nanos.addAndGet(2_000_000_000L);
        answers.add(new IllegalStateException("table unreachable"));
        for (int i = 0; i < 20; i++) assertThat(rates.mps("+12125550100")).isEqualTo(100.0);
        assertThat(lookups).as("one lookup at a time per sender, made off the sends").hasValue(1);
        answers.add(20.0);
        slowLookup.countDown();
        long deadline = System.nanoTime() + 5_000_000_000L;
        double seen;
        while ((seen = rates.mps("+12125550100")) != 20.0 && System.nanoTime() < deadline) {
            assertThat(seen).as("the failed lookup kept the known rate").isEqualTo(100.0);
            Thread.sleep(5);
        }
        assertThat(seen).as("the lookup after the failed one applies").isEqualTo(20.0);
        assertThat(lookups).hasValue(3);
    }

    @Test
    void aLookupThatCouldNotBeStartedIsTriedAgainByTheNextSend() {
        AtomicLong nanos = new AtomicLong();
        AtomicInteger lookups = new AtomicInteger();
        AtomicInteger starts = new AtomicInteger();
        SenderRates rates = SenderRates.cached(from -> lookups.incrementAndGet() == 1 ? 100.0 : 20.0,
                Duration.ofSeconds(1), nanos::get, refresh -> {
                    if (starts.incrementAndGet() == 1) throw new java.util.concurrent.RejectedExecutionException("shutting down");
                    refresh.run();
                });
        assertThat(rates.mps("+12125550100")).isEqualTo(100.0);
        nanos.addAndGet(2_000_000_000L);
        assertThat(rates.mps("+12125550100")).as("not started: the known rate").isEqualTo(100.0);
        assertThat(rates.mps("+12125550100")).as("this send starts it again").isEqualTo(100.0);
        assertThat(rates.mps("+12125550100")).isEqualTo(20.0);
        assertThat(starts).hasValue(2);
        assertThat(lookups).hasValue(2);
    }

    @Test
    void aFailedLookupGivesTheDefaultForThatSendOnly() {
        AtomicInteger lookups = new AtomicInteger();
        SenderRates rates = SenderRates.cached(from -> {
            if (lookups.incrementAndGet() == 1) throw new IllegalStateException("table unreachable");
            return 100.0;
        }, Duration.ofSeconds(1), () -> 0L, Runnable::run);
        assertThat(rates.mps("+12125550100")).isEqualTo(SenderRates.DEFAULT_MPS);
        assertThat(rates.mps("+12125550100")).as("not remembered: read again").isEqualTo(100.0);
        assertThat(rates.mps("+12125550100")).isEqualTo(100.0);
        assertThat(lookups).hasValue(2);
    }
}
