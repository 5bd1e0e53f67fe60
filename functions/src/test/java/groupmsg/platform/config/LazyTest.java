package groupmsg.platform.config;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class LazyTest {
    @Test
    void buildsOnFirstUseOnlyAndOnceUnderConcurrency() throws Exception {
        AtomicInteger builds = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        var lazy = new Lazy<>(() -> {
            builds.incrementAndGet();
            return new Object();
        });
        assertThat(lazy.built()).isFalse();
        assertThat(builds).hasValue(0);

        List<Future<Object>> gets = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 32; i++) gets.add(pool.submit(() -> {
                start.await();
                return lazy.get();
            }));
            start.countDown();
        }
        Object first = gets.getFirst().get();
        for (var g : gets) assertThat(g.get()).isSameAs(first);
        assertThat(builds).hasValue(1);
        assertThat(lazy.built()).isTrue();
    }
}
