package groupmsg.messages;

import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * Applies carrier delivery receipts to delivery rows, forward only: a late or replayed callback never moves a
 * row back, and a callback for a message or number we do not know is a no-op.
 */
public final class StatusCallbacks {
    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final Completion completion;
    private final Clock clock;

    public StatusCallbacks(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.completion = new Completion(wiring, messages, deliveries);
        this.clock = wiring.clock();
    }

    /** Our status for a carrier status, or null for statuses that say nothing new (queued, accepted, sending). */
    static String statusOf(String carrierStatus) {
        if (carrierStatus == null) return null;
        return switch (carrierStatus) {
            case "sent" -> Delivery.SENT;
            case "delivered", "read" -> Delivery.DELIVERED;
            case "undelivered", "failed" -> Delivery.FAILED;
            default -> null;
        };
    }

    /** Returns whether a row changed. */
    public boolean apply(String accountId, String messageId, String shardParam, String phone, String sid,
                         String carrierStatus, String errorCode) {
        String target = statusOf(carrierStatus);
        if (target == null || accountId == null || messageId == null || shardParam == null || phone == null) return false;
        GroupMessage m = messages.get(accountId, messageId).orElse(null);
        int shard;
        try {
            shard = Integer.parseInt(shardParam);
        } catch (NumberFormatException e) {
            return false;
        }
        if (m == null || shard < 0 || shard >= m.shards()) {
            Log.info("status_callback_unknown", Map.of("messageId", messageId));
            return false;
        }
        for (int attempt = 0; attempt < 3; attempt++) {
            var row = deliveries.rows(m.id(), shard, List.of(phone)).get(phone);
            if (row == null) return false;
            String current = row.get("status").s();
            if (Delivery.rank(target) <= Delivery.rank(current) || Delivery.QUEUED.equals(current)) return false;
            String error = Delivery.FAILED.equals(target) ? "carrier " + (errorCode == null ? "error" : errorCode) : null;
            String newSid = row.containsKey("carrierMessageId") ? null : sid;
            var applied = deliveries.apply(m.id(), shard, List.of(
                    new DeliveryStore.Transition(phone, current, target, newSid, error, clock.millis())));
            if (!applied.isEmpty()) {
                if (Delivery.SENDING.equals(current)) completion.tryComplete(accountId, messageId);
                return true;
            }
        }
        return false;
    }
}
