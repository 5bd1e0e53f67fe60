package groupmsg.platform.queue;

/**
 * A message to enqueue. {@code groupId} and {@code deduplicationId} are used by FIFO queues (ordering scope and
 * 5-minute de-duplication) and ignored by standard ones.
 */
public record QueueMessage(String body, String groupId, String deduplicationId) {}
