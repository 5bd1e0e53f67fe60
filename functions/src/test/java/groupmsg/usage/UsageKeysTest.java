package groupmsg.usage;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ErrorCode;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.YearMonth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UsageKeysTest {

    @Test
    void theMonthIsTheUtcMonthOfTheInstant() {
        assertThat(UsageStore.monthOf(Instant.parse("2026-11-30T23:59:59.999Z").toEpochMilli())).isEqualTo("2026-11");
        assertThat(UsageStore.monthOf(Instant.parse("2026-12-01T00:00:00Z").toEpochMilli())).isEqualTo("2026-12");
        assertThat(UsageStore.monthOf(Instant.parse("2027-01-01T00:30:00Z").toEpochMilli())).isEqualTo("2027-01");
    }

    @Test
    void keysArePerAccountMonthAndLine() {
        var key = UsageStore.key("acct_1", "2026-11", "line_9");
        assertThat(key.get("pk").s()).isEqualTo("ACCT#acct_1#USAGE#2026-11");
        assertThat(key.get("sk").s()).isEqualTo("LINE#line_9");
    }

    @Test
    void monthsAreParsedStrictly() {
        assertThat(UsageService.parseMonth("2026-02")).isEqualTo(YearMonth.of(2026, 2));
        assertThat(UsageService.parseMonth(" 2026-12 ")).isEqualTo(YearMonth.of(2026, 12));
        for (String bad : new String[]{"2026-13", "2026-00", "2026-1", "26-01", "2026/01", "2026-01-05", "", "abcd-ef",
                "+2026-01", "２０２６-01"}) {
            assertThatThrownBy(() -> UsageService.parseMonth(bad)).as(bad)
                    .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
        }
    }

    @Test
    void negativeCountsAreRefused() {
        var store = new UsageStore(null, "core");
        assertThatThrownBy(() -> store.recordAction("a", "line_1", "group", 0, -1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        // a kind is a plain name: one with the separator of its attributes' names would read back as another
        assertThatThrownBy(() -> store.recordAction("a", "line_1", "a:b", 0, 1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        var action = store.recordAction("a", "line_1", "group", Instant.parse("2026-11-23T10:00:00Z").toEpochMilli(), 1, 2, 0);
        assertThat(action.update().key().get("pk").s()).isEqualTo("ACCT#a#USAGE#2026-11");
        assertThat(action.update().updateExpression()).startsWith("ADD ");
        assertThat(action.update().expressionAttributeNames()).containsEntry("#kindMessages", "messages:group")
                .containsEntry("#kindSegments", "segments:group").containsEntry("#kindMms", "mms:group");
    }
}
