package groupmsg.groups;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The snapshot rule: who was a member at a message's acceptance time. */
class MembershipRulesTest {
    private static Map<String, AttributeValue> row(long added, Long removed, String... history) {
        var row = new HashMap<String, AttributeValue>();
        row.put("addedAt", AttributeValue.fromN(Long.toString(added)));
        if (removed != null) row.put("removedAt", AttributeValue.fromN(Long.toString(removed)));
        if (history.length > 0) row.put("history", AttributeValue.fromL(
                java.util.Arrays.stream(history).map(AttributeValue::fromS).toList()));
        return row;
    }

    /**
     * A number removed and added back many times keeps its latest 10 intervals, and every one that ended within a day
     * (a message accepted in one may still be fanning out); never more than 1,000. Before, only the
     * latest 10: an 11th re-add within minutes lost the first interval, and its message's recipient.
     */
    @Test
    void reAddsKeepEveryIntervalOfTheLastDayAndTheLatestTenOfTheOlder() {
        long now = 10 * 86_400_000L;
        long hour = 3_600_000L;
        java.util.List<String> recent = new java.util.ArrayList<>();
        for (int i = 0; i < 30; i++) recent.add((now - hour + i * 1000) + ":" + (now - hour + i * 1000 + 500));
        assertThat(MemberStore.keptHistory(recent, now)).isEqualTo(recent);

        java.util.List<String> mixed = new java.util.ArrayList<>();
        for (int i = 0; i < 15; i++) mixed.add((i * 1000) + ":" + (i * 1000 + 500)); // days ago
        mixed.addAll(recent.subList(0, 3));
        assertThat(MemberStore.keptHistory(mixed, now)).isEqualTo(mixed.subList(8, 18)); // the latest 10
        java.util.List<String> olderThenMany = new java.util.ArrayList<>(mixed.subList(0, 15));
        olderThenMany.addAll(recent);
        assertThat(MemberStore.keptHistory(olderThenMany, now)).isEqualTo(recent);

        java.util.List<String> churn = new java.util.ArrayList<>();
        for (int i = 0; i < 1_005; i++) churn.add((now - hour + i) + ":" + (now - hour + i + 1));
        assertThat(MemberStore.keptHistory(churn, now)).hasSize(1_000).isEqualTo(churn.subList(5, 1_005));
        // a message accepted in the first interval of a busy hour still finds the number present
        var row = row(now, null, MemberStore.keptHistory(recent, now).toArray(String[]::new));
        assertThat(MemberStore.presentAt(row, now - hour + 100)).isTrue();
    }

    @Test
    void addedAfterAcceptanceIsNotARecipient() {
        assertThat(MemberStore.presentAt(row(1000, null), 999)).isFalse();
        assertThat(MemberStore.presentAt(row(1000, null), 1000)).isTrue();
    }

    @Test
    void removedAfterAcceptanceStillIsARecipient() {
        assertThat(MemberStore.presentAt(row(1000, 2000L), 1999)).isTrue();
        assertThat(MemberStore.presentAt(row(1000, 2000L), 2000)).isFalse();
    }

    @Test
    void removedAndReaddedAfterAcceptanceCountsThroughHistory() {
        // present 100..500, removed, re-added at 900: a message accepted at 300 still reaches the number
        var readded = row(900, null, "100:500");
        assertThat(MemberStore.presentAt(readded, 300)).isTrue();
        assertThat(MemberStore.presentAt(readded, 600)).isFalse();
        assertThat(MemberStore.presentAt(readded, 950)).isTrue();
    }

    @Property
    void presentExactlyInsideSomeInterval(@ForAll @LongRange(min = 0, max = 10_000) long a,
                                          @ForAll @LongRange(min = 1, max = 10_000) long len,
                                          @ForAll @LongRange(min = 0, max = 25_000) long t) {
        var r = row(a, a + len);
        assertThat(MemberStore.presentAt(r, t)).isEqualTo(t >= a && t < a + len);
    }

    @Test
    void phonesInPathsAreDecodedButLiteralPlusIsKept() {
        assertThat(PhoneNumbers.decodePath("%2B14155550123")).isEqualTo("+14155550123");
        assertThat(PhoneNumbers.decodePath("+14155550123")).isEqualTo("+14155550123");
        assertThat(PhoneNumbers.decodePath("%2b1%20415")).isEqualTo("+1 415");
    }

    @Test
    void aPercentThatStartsNoEscapeIsKeptAsText() {
        // the gateway decoded "%25" to "%": decoding again threw (a 500); kept, the phone is refused as no number (400)
        assertThat(PhoneNumbers.decodePath("%")).isEqualTo("%");
        assertThat(PhoneNumbers.decodePath("50%")).isEqualTo("50%");
        assertThat(PhoneNumbers.decodePath("%zz")).isEqualTo("%zz");
        assertThat(PhoneNumbers.decodePath("%2")).isEqualTo("%2");
        assertThat(PhoneNumbers.decodePath("%%2B1")).isEqualTo("%+1");
        assertThat(PhoneNumbers.decodePath("%FF")).isEqualTo("\uFFFD");
        assertThat(PhoneNumbers.normalize(PhoneNumbers.decodePath("%"), null)).isInstanceOf(PhoneNumbers.Invalid.class);
    }
}
