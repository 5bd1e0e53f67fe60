package groupmsg.notify;

import groupmsg.platform.config.AppConfig;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sns.model.MessageAttributeValue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Publishes events to SNS topics (one Publish per event) with {@code accountId} and {@code type} message
 * attributes for subscription filter policies. The stack makes every topic and gives each function the ARNs of those
 * it publishes to, so a topic without one is a deployment's fault: it fails the publish (the job is retried, its
 * failure logged and alarmed) rather than the event being dropped and its caller marking it published.
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
        String arn = config.topicArn(topic).orElseThrow(() -> new IllegalStateException("no ARN for the "
                + topic.wireName() + " topic (" + topic.envVar() + " is not set): " + type + " not published"));
        String message = Json.write(envelope(accountId, type, event));
        sns.get().publish(b -> b.topicArn(arn).message(message).messageAttributes(Map.of(
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
