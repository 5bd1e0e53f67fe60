package groupmsg.messages;

import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import groupmsg.usage.UsageStore;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * Applies carrier delivery receipts to delivery rows, forward only: a late or replayed callback never moves a
 * row back, and a callback for a message or number we do not know is a no-op.
 */
public final class StatusCallbacks {
    private final DeliveryStore deliveries;
    private final MessageStore messages;
    private final UsageStore usage;
    private final Clock clock;

    public StatusCallbacks(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.usage = new UsageStore(wiring.dynamo(), wiring.config().table(Tables.CORE));
        this.clock = wiring.clock();
    }

    /**
     * Our status for a carrier status, or null for statuses that tell us nothing we act on: queued, accepted,
     * sending, and also {@code sent}, which the delivery worker already recorded from the carrier's answer to the
     * send (acting on it would cost a write per recipient and race the worker's own record).
     */
    static String statusOf(String carrierStatus) {
        if (carrierStatus == null) return null;
        return switch (carrierStatus) {
            case "delivered", "read" -> Delivery.DELIVERED;
            case "undelivered", "failed" -> Delivery.FAILED;
            default -> null;
        };
    }

    /**
     * Returns whether a row changed. The usual case costs one conditional transaction (sent -> delivered/failed,
     * with the shard's counter) and no read. Only when that condition fails is the row read: a receipt that beat
     * the worker's record, or whose worker died after the carrier accepted, finds the row in sending and settles
     * it (the worker's later record then only adds the carrier id).
     */
    public boolean apply(String accountId, String messageId, String shardParam, String phone, String sid,
                         String carrierStatus, String errorCode) {
        String target = statusOf(carrierStatus);
        if (target == null || accountId == null || messageId == null || shardParam == null || phone == null) return false;
        int shard;
        try {
            shard = Integer.parseInt(shardParam);
        } catch (NumberFormatException e) {
            return false;
        }
        // Bounded by the most shards any version used (100), not today's maximum: receipts of messages sent before
        // an upgrade keep arriving for days.
        if (shard < 0 || shard >= 100) return false;
        String error = Delivery.FAILED.equals(target) ? "carrier " + (errorCode == null ? "error" : errorCode) : null;
        for (int attempt = 0; attempt < 3; attempt++) {
            var fromSent = new DeliveryStore.Transition(phone, Delivery.SENT, target, null, error, clock.millis());
            if (!deliveries.apply(messageId, shard, List.of(fromSent)).isEmpty()) return true;
            var row = deliveries.row(messageId, shard, phone);
            if (row == null) {
                Log.info("status_callback_unknown", Map.of("messageId", messageId));
                return false;
            }
            String current = row.get("status").s();
            if (Delivery.SENT.equals(current)) continue; // the worker recorded it meanwhile: take the usual path
            if (!Delivery.SENDING.equals(current)) return false; // queued (not ours yet) or already final
            String newSid = row.containsKey("carrierMessageId") ? null : sid;
            // The carrier accepted it, so it is billed here, in the same transaction that takes it out of sending
            // (the worker's own record then finds it moved on and bills nothing). No completion check: the worker
            // checks right after its record, and if it died, maintenance completes the message within a minute.
            GroupMessage m = messages.get(accountId, messageId).orElse(null);
            if (m == null) return false;
            var transition = new DeliveryStore.Transition(phone, Delivery.SENDING, target, newSid, error, clock.millis());
            if (!deliveries.apply(messageId, shard, List.of(transition), applied -> applied.isEmpty() ? List.of()
                    : List.of(usage.recordAction(m.accountId(), m.lineId(), clock.millis(), 1, m.mms() ? 0 : m.segments(),
                    m.mms() ? 1 : 0))).isEmpty()) {
                return true;
            }
        }
        return false;
    }
}
