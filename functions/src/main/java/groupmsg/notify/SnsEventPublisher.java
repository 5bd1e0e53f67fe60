package groupmsg.notify;

import groupmsg.platform.Log;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sns.model.MessageAttributeValue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Publishes events to SNS topics (one Publish per event) with {@code accountId} and {@code type} message
 * attributes for subscription filter policies. A topic without a configured ARN is logged instead, so a stack
 * without, say, an integrations subscriber still works.
 */
public final class SnsEventPublisher implements EventPublisher {
    private final Supplier<SnsClient> sns;
    private final AppConfig config;

    /** @param sns asked for the client at the first publish (a function that never publishes never builds one) */
    public SnsEventPublisher(Supplier<SnsClient> sns, AppConfig config) {
        this.sns = sns;
        this.config = config;
    }

    public SnsEventPublisher(SnsClient sns, AppConfig config) {
        this(() -> sns, config);
    }

    @Override
    public void publish(Topic topic, String accountId, String type, Map<String, Object> event) {
        String message = Json.write(envelope(accountId, type, event));
        var arn = config.topicArn(topic);
        if (arn.isEmpty()) {
            Log.info("event_not_published", Map.of("topic", topic.wireName(), "type", type, "reason", "no topic configured"));
            return;
        }
        sns.get().publish(b -> b.topicArn(arn.get()).message(message).messageAttributes(Map.of(
                "accountId", MessageAttributeValue.builder().dataType("String").stringValue(accountId).build(),
                "type", MessageAttributeValue.builder().dataType("String").stringValue(type).build())));
    }

    /**
     * Builds the client and makes one request that cannot succeed (a topic in no account): it runs the SDK's
     * request, signing and error paths without publishing anything.
     */
    @Override
    public void prime() {
        try {
            sns.get().getTopicAttributes(b -> b.topicArn("arn:aws:sns:" + config.region() + ":000000000000:groupmsg-priming"));
        } catch (RuntimeException expected) {
            // NotFound or AuthorizationError: the point was the path, not the answer.
        }
    }

    /** The published JSON: {@code type}, {@code accountId}, then the event's own fields. */
    public static Map<String, Object> envelope(String accountId, String type, Map<String, Object> event) {
        var body = new LinkedHashMap<String, Object>();
        body.put("type", type);
        body.put("accountId", accountId);
        body.putAll(event);
        return body;
    }
}
