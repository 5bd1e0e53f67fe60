package groupmsg.messages;

import groupmsg.platform.queue.ExpectedRetry;

/**
 * A job stopped because the carrier turned its sends away (429/20429, 503) or could not be reached, on every try, or
 * left {@link DeliveryService#UNCLEAR_RUN} answers in a row unclear: the recipients it did not try were given back to
 * queued, nothing of them sent (those with an unclear answer stay in sending, never resent), and the job is to be
 * tried again in a while.
 */
public final class CarrierUnavailable extends IllegalStateException implements ExpectedRetry {
    /**
     * The wait before such a job is tried again, times its receives so far (10 s, 20 s, ...: about 5 minutes over the
     * deliveries queue's 8 receives; turned away on the last, it goes on as a fresh job 5 minutes on).
     */
    static final long RETRY_MILLIS = 10_000;

    public CarrierUnavailable(String message) {
        super(message);
    }

    /**
     * When a job the carrier did not take comes back: {@link #RETRY_MILLIS} times its receives, and up to half as much
     * again at random, so jobs turned away together do not come back together and be turned away again.
     */
    static long retryAfterMillis(int receiveCount) {
        long wait = RETRY_MILLIS * receiveCount;
        return wait + java.util.concurrent.ThreadLocalRandom.current().nextLong(wait / 2 + 1);
    }
}
