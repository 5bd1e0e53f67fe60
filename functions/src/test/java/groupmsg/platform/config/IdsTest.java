package groupmsg.platform.config;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class IdsTest {

    @Test
    void anIdOfAMomentCarriesThatMomentAndThoseOfOneMillisecondSortAsMade() {
        var ids = new Ids();
        long now = System.currentTimeMillis();
        long earlier = now - 30_000;
        List<String> sameMillisecond = new ArrayList<>();
        for (int i = 0; i < 50; i++) sameMillisecond.add(ids.nextAt("inb_", now));
        assertThat(sameMillisecond).allSatisfy(id -> assertThat(Ids.timeOf(id.substring(4))).isEqualTo(now))
                .doesNotHaveDuplicates().isSorted();
        // a moment before the last one's (a text handed on, stored seconds later): of its own time, before them
        String handedOn = ids.nextAt("inb_", earlier);
        assertThat(Ids.timeOf(handedOn.substring(4))).isEqualTo(earlier);
        assertThat(handedOn).isLessThan(sameMillisecond.getFirst());
        String later = ids.nextAt("inb_", now + 1);
        assertThat(Ids.timeOf(later.substring(4))).isEqualTo(now + 1);
        assertThat(later).isGreaterThan(sameMillisecond.getLast());
    }
}
