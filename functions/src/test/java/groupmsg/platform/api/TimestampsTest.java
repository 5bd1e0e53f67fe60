package groupmsg.platform.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimestampsTest {
    @Test
    void aQueryTimeIsAnInstantWithAnyZoneOffset() {
        long midnight = 1_796_083_200_000L; // 2026-12-01T00:00:00Z
        assertThat(Timestamps.parseQuery("since", "2026-12-01T00:00:00Z")).isEqualTo(midnight);
        assertThat(Timestamps.parseQuery("since", " 2026-12-01T00:00:00.250Z ")).isEqualTo(midnight + 250);
        assertThat(Timestamps.parseQuery("since", "2026-12-01T02:00:00+02:00")).isEqualTo(midnight);
        // a '+' sent unencoded arrives as a space: still the offset it was
        assertThat(Timestamps.parseQuery("since", "2026-12-01T02:00:00 02:00")).isEqualTo(midnight);
        assertThat(Timestamps.parseQuery("since", "2026-12-01T02:00:00.000 02:00")).isEqualTo(midnight);
        assertThat(Timestamps.parseQuery("since", "2026-11-30T22:00:00-02:00")).isEqualTo(midnight);
        assertThat(Timestamps.format(Timestamps.parseQuery("until", Timestamps.format(midnight + 7)))).isEqualTo("2026-12-01T00:00:00.007Z");
    }

    @Test
    void anythingElseIsA400NamingTheParameter() {
        for (String bad : List.of("2026-12-01", "2026-12-01T00:00:00", "yesterday", "1796083200000", "2026-13-01T00:00:00Z",
                "2026-12-01 02:00", "2026-12-01T02:00:00 Z")) {
            assertThatThrownBy(() -> Timestamps.parseQuery("until", bad)).as(bad).isInstanceOfSatisfying(ApiException.class,
                    e -> assertThat(e.getMessage()).startsWith("until must be an ISO-8601 time"));
        }
    }
}
