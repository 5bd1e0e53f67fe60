package groupmsg.messages;

import groupmsg.platform.api.Timestamps;

import java.util.LinkedHashMap;
import java.util.Map;

/** The contract's JSON shapes of messages and deliveries. */
final class MessagesJson {
    private MessagesJson() {}

    static Map<String, Object> counts(GroupMessage m, Map<String, Long> counts) {
        var json = new LinkedHashMap<String, Object>();
        json.put("queued", Completion.queued(m, counts) + counts.get(Delivery.SENDING));
        json.put("sent", counts.get(Delivery.SENT));
        json.put("delivered", counts.get(Delivery.DELIVERED));
        json.put("failed", counts.get(Delivery.FAILED));
        json.put("optedOut", counts.get(Delivery.OPTED_OUT));
        return json;
    }

    static Map<String, Object> message(GroupMessage m, Map<String, Long> counts) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", m.id());
        json.put("groupId", m.groupId());
        json.put("groupName", m.groupName()); // as it was named when the message was sent (null before it was kept)
        json.put("lineId", m.lineId());
        json.put("sender", m.sender());
        json.put("title", m.title());
        json.put("body", m.body());
        json.put("text", m.text()); // what each recipient receives: "<sender>: <body>", the name shortened if need be
        json.put("mediaUrls", m.mediaUrls());
        json.put("status", m.status());
        json.put("recipients", m.recipients());
        json.put("encoding", m.encoding().wire());
        json.put("segments", m.segments());
        if (counts != null) json.put("counts", counts(m, counts));
        json.put("createdAt", Timestamps.format(m.acceptedAt()));
        json.put("completedAt", m.completedAt() == null ? null : Timestamps.format(m.completedAt()));
        json.put("sentBy", m.sentByKeyId() == null ? null : Map.of("apiKeyId", m.sentByKeyId()));
        json.put("replies", m.replies()); // texts from its recipients linked to it as answers (GET .../replies)
        json.put("optOuts", m.optOuts()); // numbers that opted out in answer to it (GET .../opt-outs)
        return json;
    }

    static Map<String, Object> delivery(Delivery d) {
        var json = new LinkedHashMap<String, Object>();
        json.put("phone", d.phone());
        json.put("name", d.name());
        // "sending" is internal (claimed, carrier call in flight): to the contract it is still queued.
        json.put("status", Delivery.SENDING.equals(d.status()) ? Delivery.QUEUED : d.status());
        json.put("carrierMessageId", d.carrierMessageId());
        json.put("error", d.error());
        json.put("updatedAt", Timestamps.format(d.updatedAt()));
        return json;
    }
}
