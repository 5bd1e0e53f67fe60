package groupmsg.messages;

import groupmsg.platform.queue.QueueMessage;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A delivery job on the queue: its place survives the trip, and decides how long it stays out of sight. */
class DeliveryJobTest {
    private static final long NOW = 1_800_000_000_000L;

    @Test
    void aJobWithAPlaceComesBackWithItShortlyBefore() {
        var job = new DeliveryJob("acct_1", "msg_1", 2, List.of("+15550001", "+15550002"), (NOW + 20_500) * 1000);
        QueueMessage message = job.message(NOW);
        // 20.5 s ahead, arriving 3 s early, in whole seconds rounded down: never late
        assertThat(job.arriveAt()).isEqualTo(NOW + 17_500);
        assertThat(message.delaySeconds()).isEqualTo(17);
        assertThat(DeliveryJob.parse(message.body())).isEqualTo(job);
    }

    @Test
    void aJobWithoutAPlaceArrivesAtOnceAndReadsAsTheFanOutWroteIt() {
        var job = DeliveryJob.fresh("acct_1", "msg_1", 0, List.of("+15550001"));
        assertThat(job.arriveAt()).isZero();
        assertThat(job.delaySeconds(NOW)).isZero();
        assertThat(DeliveryJob.parse("{\"accountId\":\"acct_1\",\"messageId\":\"msg_1\",\"shard\":0,\"phones\":[\"+15550001\"]}"))
                .isEqualTo(job);
    }

    @Test
    void theMembersToSkipSurviveTheTripAndAJobWithoutThemWritesNone() {
        var job = DeliveryJob.fresh("acct_1", "msg_1", 1, List.of("+15550001", "+15550002"),
                Map.of("+15550002", "carrier 30006"));
        String body = job.message(NOW).body();
        assertThat(DeliveryJob.parse(body)).isEqualTo(job);
        assertThat(DeliveryJob.parse(body).skip()).containsExactly(Map.entry("+15550002", "carrier 30006"));
        assertThat(DeliveryJob.fresh("acct_1", "msg_1", 1, List.of("+15550001")).message(NOW).body()).doesNotContain("skip");
    }

    @Test
    void delaysAreHeldToWhatSqsAllowsAndLongWaitsHopInWholeQuarterHoursBeforeThePlace() {
        // arriving an hour on: first the odd part, then whole 15 minutes, so jobs placed together stay spread
        var farAhead = new DeliveryJob("a", "m", 0, List.of("+15550001"), (NOW + 3_600_000 + 3_000 + 125_000) * 1000);
        assertThat(farAhead.delaySeconds(NOW)).isEqualTo(125);
        assertThat(farAhead.delaySeconds(NOW + 125_000)).isEqualTo(QueueMessage.MAX_DELAY_SECONDS);
        assertThat(farAhead.delaySeconds(NOW + 125_000 + 3 * 900_000)).isEqualTo(QueueMessage.MAX_DELAY_SECONDS);
        assertThat(farAhead.delaySeconds(NOW + 125_000 + 4 * 900_000)).isZero();
        // an odd part under a minute is folded into a shorter first hop, never over 15 minutes
        var odd = new DeliveryJob("a", "m", 0, List.of("+15550001"), (NOW + 1_800_000 + 3_000 + 20_000) * 1000);
        assertThat(odd.delaySeconds(NOW)).isEqualTo(20 + 900 - DeliveryJob.MIN_HOP_SECONDS);
        assertThat(odd.delaySeconds(NOW + (20 + 900 - DeliveryJob.MIN_HOP_SECONDS) * 1000L)).isEqualTo(DeliveryJob.MIN_HOP_SECONDS);
        for (long ahead = 0; ahead < 10_000_000; ahead += 7_919) {
            assertThat(new DeliveryJob("a", "m", 0, List.of("+1"), (NOW + ahead) * 1000).delaySeconds(NOW))
                    .isBetween(0, QueueMessage.MAX_DELAY_SECONDS);
        }
        var past = new DeliveryJob("a", "m", 0, List.of("+15550001"), (NOW - 5_000) * 1000);
        assertThat(past.delaySeconds(NOW)).isZero();
        assertThatThrownBy(() -> new QueueMessage("{}", null, null, 901)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new QueueMessage("{}", null, null, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
