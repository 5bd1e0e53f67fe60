package groupmsg.platform.dynamo;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A list page that a filter decides in the function (what no key or filter expression can say): the list is read
 * a step at a time and each step's matches kept, until the page is full and one more match is found (so a key is
 * given only when another follows: it is the last kept item's) or {@code steps} steps were read (then the key goes on
 * after the last item read, and the page may hold fewer than {@code limit}).
 *
 * @param lastKey null on the last page
 */
public record FilteredPage<T>(List<T> items, Map<String, AttributeValue> lastKey) {

    /** One step of the underlying list: the items of it that match, and where the list goes on (null: it ended). */
    public record Step<T>(List<T> matches, Map<String, AttributeValue> lastKey) {}

    /**
     * @param read  one step of the list from a key (null: its start)
     * @param keyOf an item's key as the list's query takes it back (a cursor after it)
     */
    public static <T> FilteredPage<T> fill(int limit, int steps, Map<String, AttributeValue> start,
                                           Function<Map<String, AttributeValue>, Step<T>> read,
                                           Function<T, Map<String, AttributeValue>> keyOf) {
        List<T> found = new ArrayList<>();
        Map<String, AttributeValue> next = start;
        for (int step = 0; step < steps; step++) {
            Step<T> page = read.apply(next);
            for (T item : page.matches()) {
                if (found.size() == limit) {
                    // one more follows: the page ends at the last one it holds
                    return new FilteredPage<>(found, keyOf.apply(found.getLast()));
                }
                found.add(item);
            }
            next = page.lastKey();
            if (next == null) break;
        }
        return new FilteredPage<>(found, next);
    }
}
