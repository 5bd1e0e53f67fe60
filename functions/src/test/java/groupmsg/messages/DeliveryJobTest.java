package groupmsg.messages;

import groupmsg.platform.queue.QueueMessage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A delivery job on the queue: its booked send times survive the trip, and decide how long it stays out of sight. */
class DeliveryJobTest {
    private static final long NOW = 1_800_000_000_000L;

    @Test
    void aJobWithBookedTimesComesBackWithThemAndIsDelayedUntilShortlyBeforeTheFirst() {
        var booked = new RateLimiter.Slots((NOW + 20_500) * 1000, 2, 1_100_000);
        var job = new DeliveryJob("acct_1", "msg_1", 2, List.of("+15550001", "+15550002"), booked, 0);
        QueueMessage message = job.message(NOW);
        // 20.5 s ahead, arriving 3 s early, in whole seconds rounded down: never late
        assertThat(message.delaySeconds()).isEqualTo(17);
        assertThat(job.arriveAt()).isEqualTo(NOW + 17_500);
        assertThat(DeliveryJob.parse(message.body())).isEqualTo(job);
        assertThat(job.dueBy(NOW + 20_500 + 1_100)).isTrue();
        assertThat(job.dueBy(NOW + 20_500 + 1_099)).isFalse();
    }

    @Test
    void aJobWithoutBookingIsDueAtOnceAndAsTheFanOutWroteIt() {
        var job = DeliveryJob.fresh("acct_1", "msg_1", 0, List.of("+15550001"));
        assertThat(job.dueBy(0)).isTrue();
        assertThat(job.arriveAt()).isZero();
        assertThat(job.delaySeconds(NOW)).isZero();
        assertThat(DeliveryJob.parse("{\"accountId\":\"acct_1\",\"messageId\":\"msg_1\",\"shard\":0,\"phones\":[\"+15550001\"]}"))
                .isEqualTo(job);
    }

    @Test
    void delaysAreHeldToWhatSqsAllows() {
        var farAhead = new DeliveryJob("a", "m", 0, List.of("+15550001"), new RateLimiter.Slots((NOW + 3_600_000) * 1000, 1, 1000), 0);
        assertThat(farAhead.delaySeconds(NOW)).isEqualTo(QueueMessage.MAX_DELAY_SECONDS);
        var past = new DeliveryJob("a", "m", 0, List.of("+15550001"), new RateLimiter.Slots((NOW - 5_000) * 1000, 1, 1000), 0);
        assertThat(past.delaySeconds(NOW)).isZero();
        assertThatThrownBy(() -> new QueueMessage("{}", null, null, 901)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aBookingHasOneTimePerRecipientAndAJobABookingOrAPlaceNotBoth() {
        assertThatThrownBy(() -> new DeliveryJob("a", "m", 0, List.of("+15550001", "+15550002"),
                new RateLimiter.Slots(NOW * 1000, 1, 1000), 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DeliveryJob("a", "m", 0, List.of("+15550001"),
                new RateLimiter.Slots(NOW * 1000, 1, 1000), NOW * 1000)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aJobWithAPlaceComesBackWithItEightSecondsBefore() {
        var job = new DeliveryJob("acct_1", "msg_1", 1, List.of("+15550001"), null, (NOW + 60_000) * 1000);
        assertThat(job.arriveAt()).isEqualTo(NOW + 52_000);
        assertThat(job.delaySeconds(NOW)).isEqualTo(52);
        assertThat(DeliveryJob.parse(job.message(NOW).body())).isEqualTo(job);
        assertThat(job.dueBy(NOW)).as("nothing booked yet").isTrue();
    }

    @Test
    void aRunsPartsAreItsOwnTimes() {
        var run = new RateLimiter.Slots(1_000_000, 10, 50_000);
        var tail = run.part(4, 6);
        assertThat(tail.sendAtMicros(0)).isEqualTo(run.sendAtMicros(4));
        assertThat(tail.endMicros()).isEqualTo(run.endMicros());
        assertThat(run.part(0, 3).lastSendAtMillis()).isEqualTo(run.sendAtMillis(2));
        assertThatThrownBy(() -> run.part(8, 3)).isInstanceOf(IllegalArgumentException.class);
        assertThat(RateLimiter.stillToCome(run, run.sendAtMillis(3) + RateLimiter.LATE_TOLERANCE_MILLIS))
                .isEqualTo(run.part(3, 7));
        assertThat(RateLimiter.stillToCome(run, run.sendAtMillis(9) + RateLimiter.LATE_TOLERANCE_MILLIS + 1)).isNull();
    }
}
