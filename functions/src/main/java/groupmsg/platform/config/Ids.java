package groupmsg.platform.config;

import com.github.f4b6a3.ulid.Ulid;
import com.github.f4b6a3.ulid.UlidCreator;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Opaque ids with a type prefix ({@code grp_01JD...}). ULIDs sort by creation time, so listing a partition
 * by id lists it oldest first.
 */
public class Ids {
    public String next(String prefix) {
        return prefix + UlidCreator.getMonotonicUlid().toString();
    }

    /** The last id {@link #nextAt} made: the next one of the same millisecond comes after it. */
    private final AtomicReference<Ulid> lastAt = new AtomicReference<>();

    /**
     * An id of the moment {@code epochMillis} (of the wiring's clock; not of now): for what must sort by when it
     * happened, not by when it was stored (a text handed on and stored seconds later, whose opt-in or opt-out is
     * ordered against the number's other texts by id). Ids of one millisecond made here sort in the order made.
     */
    public String nextAt(String prefix, long epochMillis) {
        Ulid made = lastAt.updateAndGet(last -> last != null && last.getTime() == epochMillis
                ? last.increment() : UlidCreator.getUlid(epochMillis));
        return prefix + made;
    }

    /** The lowest ULID of the millisecond {@code epochMillis}: every id made then or later sorts at or after it. */
    public static String lowestAt(long epochMillis) {
        return Ulid.min(epochMillis).toString();
    }

    /** When a ULID (without its prefix) was made, in epoch milliseconds. */
    public static long timeOf(String ulid) {
        return Ulid.from(ulid).getTime();
    }
}
