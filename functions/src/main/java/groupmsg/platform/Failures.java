package groupmsg.platform;

/** Work that goes on after a failure (the next item, the next step) and fails after it all, with every cause. */
public final class Failures {
    private Failures() {}

    /**
     * The failure to throw once the work is done: {@code first} (null: none yet) with {@code next} attached to it as
     * suppressed, or {@code next} when it is the first.
     */
    public static RuntimeException keepFirst(RuntimeException first, RuntimeException next) {
        if (first == null) return next;
        first.addSuppressed(next);
        return first;
    }
}
