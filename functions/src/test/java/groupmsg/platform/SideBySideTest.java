package groupmsg.platform;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A batch's tasks side by side: each outcome in its item's order, whatever order they end in. */
class SideBySideTest {

    @Test
    void everyTaskRunsAtOnceAndItsOutcomeKeepsItsItemsPlace() {
        // each task waits for the other three to have started: one after the other, the first would wait alone
        var started = new java.util.concurrent.CountDownLatch(4);
        var outcomes = SideBySide.run(List.of(300, 100, 200, -1), "/t-", millis -> {
            started.countDown();
            boolean together = started.await(10, java.util.concurrent.TimeUnit.SECONDS);
            if (millis < 0) throw new IllegalStateException("no such wait");
            Thread.sleep(millis);
            if (!together) return "alone";
            return Thread.currentThread().getName().contains("/t-") ? "waited " + millis : "unnamed";
        });
        assertThat(outcomes).hasSize(4);
        assertThat(outcomes.subList(0, 3)).containsExactly(new SideBySide.Done<>("waited 300"),
                new SideBySide.Done<>("waited 100"), new SideBySide.Done<>("waited 200"));
        assertThat(outcomes.get(3)).isInstanceOfSatisfying(SideBySide.Failed.class,
                f -> assertThat(f.cause()).isInstanceOf(IllegalStateException.class).hasMessage("no such wait"));
    }

    @Test
    void aWaitingThreadInterruptedSaysSoAndKeepsItsFlag() {
        Thread.currentThread().interrupt();
        var outcomes = SideBySide.run(List.of(1), "/t-", x -> {
            Thread.sleep(5_000);
            return x;
        });
        assertThat(Thread.interrupted()).as("the flag set again (and cleared here)").isTrue();
        assertThat(outcomes.getFirst()).isNotInstanceOf(SideBySide.Done.class);
    }
}
