package groupmsg.local.carrier;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
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
        }, Duration.ofSeconds(1), nanos::get);

        for (int i = 0; i < 50; i++) assertThat(rates.mps("+12125550100")).isEqualTo(20.0);
        assertThat(rates.mps("+12125550101")).isEqualTo(100.0);
        assertThat(rates.mps("+19995550000")).isEqualTo(SenderRates.DEFAULT_MPS);
        assertThat(lookups).hasValue(3);

        table.put("+12125550100", 5.0);
        nanos.addAndGet(999_000_000L);
        assertThat(rates.mps("+12125550100")).as("still within the ttl").isEqualTo(20.0);
        nanos.addAndGet(1_000_000L);
        assertThat(rates.mps("+12125550100")).as("read again once the ttl is over").isEqualTo(5.0);
        assertThat(lookups).hasValue(4);
    }

    @Test
    void aFailedLookupGivesTheDefaultForThatSendOnly() {
        AtomicInteger lookups = new AtomicInteger();
        SenderRates rates = SenderRates.cached(from -> {
            if (lookups.incrementAndGet() == 1) throw new IllegalStateException("table unreachable");
            return 100.0;
        }, Duration.ofSeconds(1), () -> 0L);
        assertThat(rates.mps("+12125550100")).isEqualTo(SenderRates.DEFAULT_MPS);
        assertThat(rates.mps("+12125550100")).as("not remembered: read again").isEqualTo(100.0);
        assertThat(rates.mps("+12125550100")).isEqualTo(100.0);
        assertThat(lookups).hasValue(2);
    }
}
