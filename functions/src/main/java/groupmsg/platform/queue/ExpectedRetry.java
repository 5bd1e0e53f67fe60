package groupmsg.platform.queue;

import software.amazon.awssdk.core.exception.AbortedException;

/**
 * A job's failure that is part of the normal flow, not a fault: the job waits for its line's room, or for a
 * carrier whose trouble was logged where it happened. Its queue brings it back all the same, but it is not logged as
 * a failed job ({@link groupmsg.platform.Log#jobFailed}), whose alarm is for faults.
 */
public interface ExpectedRetry {

    /**
     * Whether {@code e} is such a failure, or the invocation being stopped (an interrupt, or the SDK call it aborted:
     * the local runtime winding down), which gives back what it did not do and comes again: neither is a fault.
     */
    static boolean expected(Throwable e) {
        return e instanceof ExpectedRetry || causedByInterrupt(e);
    }

    /** Whether {@code e} comes of an interrupt (an InterruptedException, or an SDK call aborted by one). */
    static boolean causedByInterrupt(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InterruptedException || t instanceof AbortedException) return true;
        }
        return false;
    }
}
