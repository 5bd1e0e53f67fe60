package groupmsg.notify;

import java.util.Map;

/** The event publisher port. */
public interface EventPublisher {
    /**
     * Publishes one event: the JSON of {@code event} plus {@code type} and {@code accountId}, with SNS message
     * attributes {@code accountId} and {@code type} so subscriptions can filter.
     */
    void publish(Topic topic, String accountId, String type, Map<String, Object> event);

    /** Builds and exercises what the first publish would, publishing nothing (SnapStart priming). */
    default void prime() {}
}
