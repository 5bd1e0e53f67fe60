package groupmsg.platform.queue;

import java.util.Map;

/**
 * A message to enqueue. {@code groupId} and {@code deduplicationId} are used by FIFO queues (ordering scope and
 * 5-minute de-duplication) and ignored by standard ones. {@code delaySeconds} (0..900) keeps a standard queue's
 * message out of sight for that long; FIFO queues take no per-message delay. {@code attributes} are its SQS message
 * attributes (strings), what its consumer is told besides the body.
 */
public record QueueMessage(String body, String groupId, String deduplicationId, int delaySeconds,
                           Map<String, String> attributes) {
    /** SQS's longest message delay. */
    public static final int MAX_DELAY_SECONDS = 900;

    public QueueMessage {
        if (delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
            throw new IllegalArgumentException("delay must be 0.." + MAX_DELAY_SECONDS + " s, not " + delaySeconds);
        }
        attributes = Map.copyOf(attributes);
    }

    /** Without message attributes. */
    public QueueMessage(String body, String groupId, String deduplicationId, int delaySeconds) {
        this(body, groupId, deduplicationId, delaySeconds, Map.of());
    }

    /** A message visible at once. */
    public QueueMessage(String body, String groupId, String deduplicationId) {
        this(body, groupId, deduplicationId, 0);
    }
}
