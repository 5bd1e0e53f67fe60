package groupmsg.notify;

import groupmsg.platform.Log;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sns.model.MessageAttributeValue;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Publishes events to SNS topics (one Publish per event) with {@code accountId} and {@code type} message
 * attributes for subscription filter policies. A topic without a configured ARN is logged instead, so a stack
 * without, say, an integrations subscriber still works.
 */
public final class SnsEventPublisher implements EventPublisher {
    private final SnsClient sns;
    private final AppConfig config;

    public SnsEventPublisher(SnsClient sns, AppConfig config) {
        this.sns = sns;
        this.config = config;
    }

    @Override
    public void publish(Topic topic, String accountId, String type, Map<String, Object> event) {
        String message = Json.write(envelope(accountId, type, event));
        var arn = config.topicArn(topic);
        if (arn.isEmpty()) {
            Log.info("event_not_published", Map.of("topic", topic.wireName(), "type", type, "reason", "no topic configured"));
            return;
        }
        sns.publish(b -> b.topicArn(arn.get()).message(message).messageAttributes(Map.of(
                "accountId", MessageAttributeValue.builder().dataType("String").stringValue(accountId).build(),
                "type", MessageAttributeValue.builder().dataType("String").stringValue(type).build())));
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
