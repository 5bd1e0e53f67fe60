package groupmsg.local;

import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * A runtime queue's messages as SQS counts them: waiting to be received, and in flight (received, neither deleted nor
 * visible again). Delayed messages are in neither. Tests wait on them for what a worker has taken.
 */
public record QueueCounts(int waiting, int inFlight) {

    /** The counts of the runtime's queue {@code name} ("receipts", "deliveries", ...) now. */
    public static QueueCounts of(LocalRuntime runtime, String name) {
        String url = runtime.queues().get(name).url();
        var attributes = runtime.wiring().sqs().getQueueAttributes(r -> r.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE))
                .attributes();
        return new QueueCounts(Integer.parseInt(attributes.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)),
                Integer.parseInt(attributes.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)));
    }

    /** None waiting and none in flight. */
    public boolean empty() {
        return waiting == 0 && inFlight == 0;
    }
}
