package groupmsg.platform.queue;

/**
 * A message to enqueue. {@code groupId} and {@code deduplicationId} are used by FIFO queues (ordering scope and
 * 5-minute de-duplication) and ignored by standard ones. {@code delaySeconds} (0..900) keeps a standard queue's
 * message out of sight for that long; FIFO queues take no per-message delay.
 */
public record QueueMessage(String body, String groupId, String deduplicationId, int delaySeconds) {
    /** SQS's longest message delay. */
    public static final int MAX_DELAY_SECONDS = 900;

    public QueueMessage {
        if (delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
            throw new IllegalArgumentException("delay must be 0.." + MAX_DELAY_SECONDS + " s, not " + delaySeconds);
        }
    }

    /** A message visible at once. */
    public QueueMessage(String body, String groupId, String deduplicationId) {
        this(body, groupId, deduplicationId, 0);
    }
}
