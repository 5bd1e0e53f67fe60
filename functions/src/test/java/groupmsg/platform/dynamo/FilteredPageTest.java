package groupmsg.platform.dynamo;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** FilteredPage.fill over a list of 0..49 read 10 at a time, keeping the even numbers. */
class FilteredPageTest {

    private static Map<String, AttributeValue> key(int n) {
        return Map.of("sk", AttributeValue.fromN(Integer.toString(n)));
    }

    private static FilteredPage.Step<Integer> evens(Map<String, AttributeValue> from) {
        int first = from == null ? 0 : Integer.parseInt(from.get("sk").n()) + 1;
        int end = Math.min(50, first + 10);
        var matches = IntStream.range(first, end).filter(n -> n % 2 == 0).boxed().toList();
        return new FilteredPage.Step<>(matches, end == 50 ? null : key(end - 1));
    }

    @Test
    void aFullPageEndsAtItsLastItemOnlyWhenAnotherMatchFollows() {
        var page = FilteredPage.fill(3, 10, null, FilteredPageTest::evens, FilteredPageTest::key);
        assertThat(page.items()).containsExactly(0, 2, 4);
        assertThat(page.lastKey()).isEqualTo(key(4));
        var next = FilteredPage.fill(3, 10, page.lastKey(), FilteredPageTest::evens, FilteredPageTest::key);
        assertThat(next.items()).containsExactly(6, 8, 10);
        // the last matches exactly fill the page: no key to an empty page
        var last = FilteredPage.fill(3, 10, key(41), FilteredPageTest::evens, FilteredPageTest::key);
        assertThat(last.items()).containsExactly(42, 44, 46);
        assertThat(FilteredPage.fill(4, 10, key(41), FilteredPageTest::evens, FilteredPageTest::key).lastKey()).isNull();
        assertThat(FilteredPage.fill(4, 10, key(41), FilteredPageTest::evens, FilteredPageTest::key).items())
                .containsExactly(42, 44, 46, 48);
    }

    @Test
    void outOfStepsThePageIsShortAndGoesOnAfterTheLastItemRead() {
        var page = FilteredPage.fill(100, 2, null, FilteredPageTest::evens, FilteredPageTest::key);
        assertThat(page.items()).containsExactly(0, 2, 4, 6, 8, 10, 12, 14, 16, 18);
        assertThat(page.lastKey()).isEqualTo(key(19));
        assertThat(FilteredPage.fill(3, 10, null, from -> new FilteredPage.Step<Integer>(List.of(), null), FilteredPageTest::key))
                .isEqualTo(new FilteredPage<Integer>(List.of(), null));
    }
}
