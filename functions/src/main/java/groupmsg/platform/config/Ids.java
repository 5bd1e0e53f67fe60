package groupmsg.platform.config;

import com.github.f4b6a3.ulid.Ulid;
import com.github.f4b6a3.ulid.UlidCreator;

/**
 * Opaque ids with a type prefix ({@code grp_01JD...}). ULIDs sort by creation time, so listing a partition
 * by id lists it oldest first.
 */
public class Ids {
    public String next(String prefix) {
        return prefix + UlidCreator.getMonotonicUlid().toString();
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
