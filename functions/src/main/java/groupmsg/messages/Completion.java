package groupmsg.messages;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Wiring;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Finishes a message once fan-out is done and no delivery is queued or sending: status {@code sent}, then the
 * {@code group_message.sent} notification (published once: only the caller whose conditional update wins
 * publishes). Group messages never go to the integrations topic.
 */
final class Completion {
    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final EventPublisher events;
    private final Clock clock;

    Completion(Wiring wiring, MessageStore messages, DeliveryStore deliveries) {
        this.messages = messages;
        this.deliveries = deliveries;
        this.events = wiring.events();
        this.clock = wiring.clock();
    }

    /** Returns true when this call completed the message. */
    boolean tryComplete(String accountId, String messageId) {
        GroupMessage m = messages.get(accountId, messageId).orElse(null);
        if (m == null || !m.fanoutDone() || GroupMessage.SENT.equals(m.status())) return false;
        Map<String, Long> counts = deliveries.counts(m.id(), m.shards());
        if (queued(m, counts) > 0 || counts.get(Delivery.SENDING) > 0) return false;
        long now = clock.millis();
        if (!messages.complete(accountId, messageId, now)) return false;
        if (m.kind() != MessageKind.GROUP) return true;
        var event = new LinkedHashMap<String, Object>();
        event.put("messageId", m.id());
        event.put("groupId", m.groupId());
        event.put("lineId", m.lineId());
        event.put("sender", m.sender());
        event.put("title", m.title());
        event.put("recipients", m.recipients());
        event.put("counts", MessagesJson.counts(m, counts));
        event.put("completedAt", Timestamps.format(now));
        events.publish(Topic.NOTIFICATIONS, accountId, "group_message.sent", event);
        return true;
    }

    static long queued(GroupMessage m, Map<String, Long> counts) {
        long settled = counts.values().stream().mapToLong(Long::longValue).sum();
        return Math.max(0, m.recipients() - settled);
    }
}
