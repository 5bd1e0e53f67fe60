package groupmsg.messages;

import groupmsg.carrier.CarrierErrors;
import groupmsg.groups.E164;
import groupmsg.optout.CarrierOptOuts;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Tables;
import groupmsg.usage.UsageStore;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Carrier delivery receipts: the webhook turns a status callback into a {@link Receipt} (or nothing, for statuses
 * we do not act on) and queues it; the receipt worker applies a batch of them to the delivery rows, forward only: a
 * late or replayed receipt never moves a row back, and one for a message or number we do not know is a no-op.
 */
public final class StatusCallbacks {
    /** How often a receipt whose row another writer moved meanwhile is tried again. */
    private static final int ATTEMPTS = 3;
    /**
     * The carrier status of a message it could not send and does not charge for (Twilio: queue overflow, account
     * suspended, media errors), or one it canceled before sending (only scheduled messages, which we never send, but a
     * maintenance lookup must not bill one); {@code undelivered}, which the handset's network reported, is charged.
     */
    static boolean uncharged(String carrierStatus) {
        return "failed".equals(carrierStatus) || "canceled".equals(carrierStatus);
    }

    private final DeliveryStore deliveries;
    private final MessageStore messages;
    private final UsageStore usage;
    private final UndeliverableRecipients undeliverable;
    private final CarrierOptOuts carrierOptOuts;
    private final Clock clock;

    public StatusCallbacks(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.usage = new UsageStore(wiring.dynamo(), wiring.config().table(Tables.CORE));
        this.undeliverable = UndeliverableRecipients.of(wiring);
        this.carrierOptOuts = new CarrierOptOuts(wiring);
        this.clock = wiring.clock();
    }

    /**
     * A final status for one recipient of one message shard. {@code status} is ours ({@link Delivery#DELIVERED} or
     * {@link Delivery#FAILED}); {@code receivedAt} is when the carrier's callback reached us (the row's updatedAt).
     */
    public record Receipt(String accountId, String messageId, int shard, String phone, String carrierMessageId,
                          String status, String error, long receivedAt, boolean uncharged) {

        public Receipt(String accountId, String messageId, int shard, String phone, String carrierMessageId,
                       String status, String error, long receivedAt) {
            this(accountId, messageId, shard, phone, carrierMessageId, status, error, receivedAt, false);
        }

        /** The rows of one message shard share a counter item: receipts are applied together per key. */
        public record Key(String accountId, String messageId, int shard) {}

        public Key key() {
            return new Key(accountId, messageId, shard);
        }

        /**
         * Whether it names its row (our callback URL's parameters); else it has only the carrier's id of the message
         * (and maybe its number), by which the receipt worker finds the row ({@link StatusCallbacks#locate}).
         */
        public boolean routed() {
            return messageId != null;
        }

        /**
         * The status the row takes: ours, but {@link Delivery#OPTED_OUT} for a failure the carrier gave as the
         * recipient's unsubscribing (21610, which Twilio reports in a callback for a message a Messaging Service
         * queued), as when it refuses the send so (not billed either way).
         */
        String rowStatus() {
            return StatusCallbacks.rowStatus(status, CarrierErrors.codeOf(error).orElse(null));
        }

        boolean unsubscribed() {
            return CarrierErrors.codeOf(error).filter(CarrierErrors::recipientUnsubscribed).isPresent();
        }

        Receipt routedTo(DeliveryStore.Located row) {
            return new Receipt(row.accountId(), row.messageId(), row.shard(), row.phone(), carrierMessageId, status, error,
                    receivedAt, uncharged);
        }

        public String toJson() {
            var body = new LinkedHashMap<String, Object>();
            if (routed()) {
                body.put("accountId", accountId);
                body.put("messageId", messageId);
                body.put("shard", shard);
            }
            if (phone != null) body.put("phone", phone);
            if (carrierMessageId != null) body.put("sid", carrierMessageId);
            body.put("status", status);
            if (error != null) body.put("error", error);
            body.put("receivedAt", receivedAt);
            if (uncharged) body.put("uncharged", true);
            return Json.write(body);
        }

        /** Parses a queued receipt; throws {@link IllegalArgumentException} for one this code did not write. */
        public static Receipt fromJson(String json) {
            Map<String, Object> m = Json.parseObject(json);
            String status = text(m, "status");
            if (!Delivery.DELIVERED.equals(status) && !Delivery.FAILED.equals(status)) {
                throw new IllegalArgumentException("receipt status must be delivered or failed");
            }
            if (!(m.get("receivedAt") instanceof Number at)) throw new IllegalArgumentException("receipt has no receivedAt");
            String sid = m.get("sid") instanceof String given ? given : null;
            String error = m.get("error") instanceof String given ? given : null;
            boolean uncharged = Boolean.TRUE.equals(m.get("uncharged"));
            if (!m.containsKey("messageId")) {
                if (sid == null) throw new IllegalArgumentException("receipt has neither its row nor a sid");
                return new Receipt(null, null, -1, m.get("phone") instanceof String p ? p : null, sid, status, error,
                        at.longValue(), uncharged);
            }
            if (!(m.get("shard") instanceof Number shard)) throw new IllegalArgumentException("receipt has no shard");
            return new Receipt(text(m, "accountId"), text(m, "messageId"), shard.intValue(), text(m, "phone"), sid, status,
                    error, at.longValue(), uncharged);
        }

        private static String text(Map<String, Object> m, String name) {
            if (m.get(name) instanceof String s && !s.isBlank()) return s;
            throw new IllegalArgumentException("receipt has no " + name);
        }
    }

    /**
     * Our status for a carrier status, or null for statuses that tell us nothing we act on: queued, accepted,
     * sending, and also {@code sent}, which the delivery worker already recorded from the carrier's answer to the
     * send (acting on it would cost a write per recipient and race the worker's own record).
     */
    static String statusOf(String carrierStatus) {
        if (carrierStatus == null) return null;
        return switch (carrierStatus) {
            // partially_delivered: some parts of a long message reached the handset, which Twilio reports as final
            case "delivered", "read", "partially_delivered" -> Delivery.DELIVERED;
            case "undelivered", "failed", "canceled" -> Delivery.FAILED;
            default -> null;
        };
    }

    /**
     * The status a row takes for our status of the carrier's ({@link #statusOf}) and its error code: opted_out for a
     * failure that says the recipient unsubscribed (21610), as at the send.
     */
    static String rowStatus(String status, String errorCode) {
        return Delivery.FAILED.equals(status) && CarrierErrors.recipientUnsubscribed(errorCode) ? Delivery.OPTED_OUT : status;
    }

    /**
     * The receipt a status callback carries, or empty when there is nothing to apply: a status we do not act on,
     * or routing parameters (our callback URL's {@code a}, {@code m}, {@code s}) partly given or out of range. A
     * callback with none of them (one posted to the bare URL: a Messaging Service's own status callback, or anyone
     * holding the token) is a receipt by its {@code MessageSid}, whose row the receipt worker looks up.
     */
    public static Optional<Receipt> receipt(String accountId, String messageId, String shardParam, String phone,
                                            String sid, String carrierStatus, String errorCode, long receivedAt) {
        String status = statusOf(carrierStatus);
        if (status == null) return Optional.empty();
        String error = Delivery.FAILED.equals(status)
                ? "carrier " + (errorCode != null ? errorCode : "canceled".equals(carrierStatus) ? carrierStatus : "error") : null;
        // an unsubscribed recipient's message is not billed (a row opted out never is), however the carrier says it
        boolean uncharged = uncharged(carrierStatus) || Delivery.FAILED.equals(status) && CarrierErrors.recipientUnsubscribed(errorCode);
        if (blank(accountId) && blank(messageId) && blank(shardParam)) {
            if (blank(sid)) return Optional.empty();
            String number = E164.looksLike(phone) ? phone : null;
            return Optional.of(new Receipt(null, null, -1, number, sid, status, error, receivedAt, uncharged));
        }
        if (blank(accountId) || blank(messageId) || blank(shardParam)) return Optional.empty();
        // The row's key: an E.164 number (anything else cannot be one of ours, and could fail its shard's batch).
        if (!E164.looksLike(phone)) return Optional.empty();
        int shard;
        try {
            shard = Integer.parseInt(shardParam);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        // Bounded by the most shards any version used (100), not today's maximum: receipts of messages sent before
        // an upgrade keep arriving for days.
        if (shard < 0 || shard >= 100) return Optional.empty();
        return Optional.of(new Receipt(accountId, messageId, shard, phone, blank(sid) ? null : sid, status, error, receivedAt,
                uncharged));
    }

    /**
     * The receipt with its row, found by the carrier's message id: empty when no row has that id (yet: the index
     * is eventually consistent, and a callback can come before the worker records the id; or never: a message
     * another system sent from the same carrier account), or when the row is another number's than the callback's.
     */
    public Optional<Receipt> locate(Receipt receipt) {
        if (receipt.routed()) return Optional.of(receipt);
        var row = deliveries.findBySid(receipt.carrierMessageId());
        if (row.isEmpty()) return Optional.empty();
        if (receipt.phone() != null && !receipt.phone().equals(row.get().phone())) {
            Log.warn("status_callback_other_number", Map.of("messageId", row.get().messageId()));
            return Optional.empty();
        }
        return Optional.of(receipt.routedTo(row.get()));
    }

    /**
     * Applies receipts of one message shard. The usual case costs one conditional
     * transaction per {@value DeliveryStore#MAX_TRANSITIONS} receipts (sent -> delivered/failed, with the shard's counter) and no read.
     * Only the rows whose condition failed are read (one BatchGetItem): a receipt that beat the worker's record,
     * or whose worker died after the carrier accepted, finds its row in sending and settles it, billed in the same
     * transaction (the worker's later record then finds it moved on and bills nothing). Rows the worker recorded
     * meanwhile take the usual path again; a row maintenance failed as "outcome unknown" is settled too, billed;
     * rows otherwise final, still queued or unknown are left alone. No
     * completion check: the worker checks after its record, and maintenance completes a message within a minute.
     */
    public void apply(Receipt.Key key, List<Receipt> receipts) {
        // One action per row and transaction: the first receipt of a phone wins (a row only moves forward, so a
        // second final status of the same send could never apply anyway). Another send's to the same number (the row
        // sent again after maintenance's lookup found no carrier message) gets a round of its own after this one:
        // only one of them is the row's, and the first may be the one dropped.
        Map<String, Receipt> pending = new LinkedHashMap<>();
        Map<String, Receipt> otherSends = new LinkedHashMap<>();
        for (Receipt r : receipts) {
            if (!r.key().equals(key)) throw new IllegalArgumentException("receipt of another message shard");
            Receipt first = pending.putIfAbsent(r.phone(), r);
            if (first != null && !java.util.Objects.equals(first.carrierMessageId(), r.carrierMessageId())) {
                otherSends.putIfAbsent(r.phone() + " " + r.carrierMessageId(), r);
            }
        }
        List<Receipt> cannotReceive = pending.values().stream()
                .filter(r -> UndeliverableRecipients.cannotReceive(r.error())).toList();
        List<Receipt> unsubscribed = pending.values().stream().filter(Receipt::unsubscribed).toList();
        Set<String> applied = new HashSet<>();
        // when each row moved by an uncharged receipt was sent, as its row said (an unsubscribed one's opt-out time)
        Map<String, Long> sentAt = new HashMap<>();
        Map<String, Receipt> uncharged = new LinkedHashMap<>();
        for (var it = pending.values().iterator(); it.hasNext(); ) {
            Receipt r = it.next();
            if (!r.uncharged()) continue;
            uncharged.put(r.phone(), r);
            it.remove();
        }
        try {
            applyUncharged(key, uncharged, applied, sentAt);
            applyCharged(key, pending, applied);
        } catch (RuntimeException e) {
            // the rows that moved are marked all the same: the redelivery finds them failed already, and would not
            try {
                markCannotReceive(key, cannotReceive, applied);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            recordOptOuts(key, unsubscribed, applied, sentAt);
            throw e;
        }
        markCannotReceive(key, cannotReceive, applied);
        recordOptOuts(key, unsubscribed, applied, sentAt);
        if (!otherSends.isEmpty()) apply(key, List.copyOf(otherSends.values()));
    }

    /**
     * Records the carrier's "unsubscribed" (21610) of the recipients whose rows a receipt moved to opted_out, as the
     * delivery worker does for a send refused so: later messages of the line skip the number, its conversations are
     * blocked under block_conversation, integrations are told; at the time the row was sent, and not when the number
     * texted START since ({@link CarrierOptOuts#recordReported}). Only where the receipt moved the row (a replay of it
     * records nothing); one that fails is logged, not retried: the next message to the number is refused the same,
     * and records it then.
     */
    private void recordOptOuts(Receipt.Key key, List<Receipt> unsubscribed, Set<String> applied, Map<String, Long> sentAt) {
        List<Receipt> moved = unsubscribed.stream().filter(r -> applied.contains(r.phone())).toList();
        if (moved.isEmpty()) return;
        GroupMessage message;
        try {
            message = messages.get(key.accountId(), key.messageId()).orElse(null);
        } catch (RuntimeException e) {
            Log.error("receipt_optout_not_recorded", Map.of("messageId", key.messageId(), "receipts", moved.size()), e);
            return;
        }
        if (message == null) return;
        for (Receipt r : moved) {
            try {
                carrierOptOuts.recordReported(message.accountId(), message.lineId(), r.phone(),
                        sentAt.getOrDefault(r.phone(), r.receivedAt()));
            } catch (RuntimeException e) {
                Log.error("receipt_optout_not_recorded", Map.of("messageId", key.messageId(), "receipts", 1), e);
            }
        }
    }

    /** Applies receipts the carrier charges for (see {@link #apply}); adds the phones whose rows moved to {@code applied}. */
    private void applyCharged(Receipt.Key key, Map<String, Receipt> pending, Set<String> applied) {
        GroupMessage message = null;
        for (int attempt = 0; attempt < ATTEMPTS && !pending.isEmpty(); attempt++) {
            List<DeliveryStore.Transition> fromSent = new ArrayList<>();
            for (Receipt r : pending.values()) {
                fromSent.add(new DeliveryStore.Transition(r.phone(), Delivery.SENT, r.rowStatus(), null, r.error(), r.receivedAt())
                        .ofSend(r.carrierMessageId()));
            }
            for (var done : applyInChunks(key, fromSent, null)) {
                pending.remove(done.phone());
                applied.add(done.phone());
            }
            if (pending.isEmpty()) break;

            Map<String, Map<String, AttributeValue>> rows = deliveries.rows(key.messageId(), key.shard(), List.copyOf(pending.keySet()));
            List<DeliveryStore.Transition> fromSending = new ArrayList<>();
            for (Receipt r : List.copyOf(pending.values())) {
                var row = rows.get(r.phone());
                String current = row == null ? null : Attr.str(row, "status");
                if (anotherSends(row, r)) {
                    pending.remove(r.phone());
                    continue;
                }
                if (Delivery.SENT.equals(current)) continue; // the worker recorded it meanwhile: the usual path again
                // a row maintenance failed for want of the carrier's word, which has come: settled and billed like one
                // in sending (the carrier took it), however late
                if (!awaitsTheCarriersWord(current, row)) {
                    if (row == null) Log.info("status_callback_unknown", Map.of("messageId", key.messageId()));
                    pending.remove(r.phone()); // queued (not sent by us yet), already final, or not ours
                    continue;
                }
                fromSending.add(new DeliveryStore.Transition(r.phone(), current, r.rowStatus(), sidToRecord(row, r), r.error(),
                        r.receivedAt()));
            }
            if (fromSending.isEmpty()) continue;
            if (message == null) message = messages.get(key.accountId(), key.messageId()).orElse(null);
            if (message == null) {
                // rows without their message: nothing to bill them to (messages are never deleted)
                Log.warn("receipts_message_missing", Map.of("messageId", key.messageId(), "receipts", fromSending.size()));
                return;
            }
            for (var done : applyInChunks(key, fromSending, message)) {
                pending.remove(done.phone());
                applied.add(done.phone());
            }
        }
        // Still moving under us after every attempt: fail the batch's records for this shard, so they come back
        // (applying them again is a no-op for the rows that did move) rather than being dropped.
        if (!pending.isEmpty()) throw new IllegalStateException(pending.size() + " receipts not applied after " + ATTEMPTS + " attempts");
    }

    /**
     * Marks the members a receipt said cannot receive (30005/30006), only where the receipt failed the row: not for a
     * row final already, still queued, or not ours. One GetItem of the message and one conditional UpdateItem each.
     */
    private void markCannotReceive(Receipt.Key key, List<Receipt> cannotReceive, Set<String> applied) {
        List<Receipt> moved = cannotReceive.stream().filter(r -> applied.contains(r.phone())).toList();
        if (moved.isEmpty()) return;
        GroupMessage message = messages.get(key.accountId(), key.messageId()).orElse(null);
        if (message == null) return;
        for (Receipt r : moved) undeliverable.markIfCannotReceive(message, r.phone(), r.error(), r.receivedAt());
    }

    /**
     * Applies receipts of the carrier's {@code failed}, which it does not charge: a row billed when the carrier took
     * it ({@code sent}) gets that bill back, in the month it was billed (its {@code updatedAt}, the record's time), in
     * the transaction that fails it; a row still in {@code sending}, or failed as outcome unknown, is failed without a
     * bill. Such receipts are rare, so their rows are read first (one BatchGetItem) and each move is conditioned on
     * the row as read (status and {@code updatedAt}): a refund can only go with the move from the billed row.
     */
    private void applyUncharged(Receipt.Key key, Map<String, Receipt> pending, Set<String> applied, Map<String, Long> sentAt) {
        GroupMessage message = null;
        for (int attempt = 0; attempt < ATTEMPTS && !pending.isEmpty(); attempt++) {
            var rows = deliveries.rows(key.messageId(), key.shard(), List.copyOf(pending.keySet()));
            Map<String, List<DeliveryStore.Transition>> billedByMonth = new TreeMap<>();
            List<DeliveryStore.Transition> unbilled = new ArrayList<>();
            for (Receipt r : List.copyOf(pending.values())) {
                var row = rows.get(r.phone());
                String current = row == null ? null : Attr.str(row, "status");
                long seen = row == null ? 0 : Attr.num(row, "updatedAt", 0);
                // the claim, just before the send (a row failed as outcome unknown was written again an hour on)
                if (row != null) sentAt.put(r.phone(), Attr.num(row, "claimedAt", seen));
                if (anotherSends(row, r)) {
                    pending.remove(r.phone());
                } else if (Delivery.SENT.equals(current)) {
                    billedByMonth.computeIfAbsent(UsageStore.monthOf(seen), k -> new ArrayList<>()).add(
                            new DeliveryStore.Transition(r.phone(), Delivery.SENT, r.rowStatus(), null, r.error(), r.receivedAt(), seen));
                } else if (awaitsTheCarriersWord(current, row)) {
                    unbilled.add(new DeliveryStore.Transition(r.phone(), current, r.rowStatus(), sidToRecord(row, r), r.error(),
                            r.receivedAt(), seen));
                } else {
                    pending.remove(r.phone()); // queued (not sent by us yet), already final, or not ours
                }
            }
            if (!billedByMonth.isEmpty() && message == null) message = messages.get(key.accountId(), key.messageId()).orElse(null);
            if (!billedByMonth.isEmpty() && message == null) {
                Log.warn("receipts_message_missing", Map.of("messageId", key.messageId(), "receipts", pending.size()));
                return;
            }
            GroupMessage billed = message;
            for (var sameMonth : billedByMonth.values()) {
                long billedAt = sameMonth.getFirst().seenAt();
                for (var done : deliveries.applyInChunks(key.messageId(), key.shard(), sameMonth, moved -> moved.isEmpty()
                        ? List.of() : List.of(Billing.carrierRefunded(usage, billed, billedAt, moved.size())))) {
                    pending.remove(done.phone());
                    applied.add(done.phone());
                }
            }
            for (var done : deliveries.applyInChunks(key.messageId(), key.shard(), unbilled, moved -> List.of())) {
                pending.remove(done.phone());
                applied.add(done.phone());
            }
        }
        if (!pending.isEmpty()) throw new IllegalStateException(pending.size() + " receipts not applied after " + ATTEMPTS + " attempts");
    }

    /**
     * Whether the row records another send of the carrier's than the receipt's: the row was sent again after the
     * first send's answer was lost and a lookup did not find it (so the number got it twice, and the first send's
     * receipt says nothing of the second). Logged and dropped.
     */
    private static boolean anotherSends(Map<String, AttributeValue> row, Receipt r) {
        if (row == null || r.carrierMessageId() == null) return false;
        String recorded = Attr.str(row, "carrierMessageId");
        if (recorded == null || recorded.equals(r.carrierMessageId())) return false;
        Log.warn("status_callback_other_send", Map.of("messageId", r.messageId(), "sid", r.carrierMessageId(), "recordedSid", recorded));
        return true;
    }

    /** Whether a row (with status {@code current}) awaits the carrier's word: in sending, or failed as outcome unknown. */
    private static boolean awaitsTheCarriersWord(String current, Map<String, AttributeValue> row) {
        return Delivery.SENDING.equals(current)
                || Delivery.FAILED.equals(current) && Delivery.OUTCOME_UNKNOWN.equals(Attr.str(row, "error"));
    }

    /**
     * The carrier's id to record as a receipt settles a row: the receipt's, unless the row has one already. (A row
     * in sending for a second send, after a lookup missed its first, is settled by the first send's receipt too:
     * nothing tells the two apart until the second send's answer is recorded, which then finds the row moved on.)
     */
    private static String sidToRecord(Map<String, AttributeValue> row, Receipt r) {
        return row.containsKey("carrierMessageId") ? null : r.carrierMessageId();
    }

    /** Applies transitions {@value DeliveryStore#MAX_TRANSITIONS} at a time; with a message, bills those that leave sending (the carrier took them). */
    private List<DeliveryStore.Transition> applyInChunks(Receipt.Key key, List<DeliveryStore.Transition> transitions, GroupMessage billed) {
        return deliveries.applyInChunks(key.messageId(), key.shard(), transitions, done -> billed == null || done.isEmpty()
                ? List.of() : List.of(Billing.carrierTook(usage, billed, clock.millis(), done.size())));
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
