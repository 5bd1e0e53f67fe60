package groupmsg.messages;

import groupmsg.platform.queue.ExpectedRetry;

/**
 * A job some of whose recipients were given back to queued (no rate slot before its deadline, or a retry's slot
 * reservation failed): it fails so that its queue brings it back, at the earliest after {@code retryAfterMillis}
 * (when the line, as this worker last saw it, has room again).
 */
public final class NotSentYet extends IllegalStateException implements ExpectedRetry {
    private final long retryAfterMillis;

    public NotSentYet(String message, long retryAfterMillis) {
        super(message);
        this.retryAfterMillis = retryAfterMillis;
    }

    public long retryAfterMillis() {
        return retryAfterMillis;
    }
}
