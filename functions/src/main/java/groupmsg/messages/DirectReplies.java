package groupmsg.messages;

import groupmsg.lines.Line;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.FilteredPage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The business's answers to the sender of one inbound message: each a {@link MessageKind#DIRECT_REPLY} message to
 * that number alone, through the pipeline every message takes (paced on the line, claimed once, status, usage), in
 * order with the line's other answers to the number (FIFO relays queue, message group line#number). Its id names the
 * inbound message ({@code drp_<inboundId>_<ULID>}), so an inbound message's replies are one range of the account's
 * messages, and a rerun of one request (same ULID) finds what the first run stored.
 */
public final class DirectReplies {
    static final String ID_PREFIX = "drp_";

    private final DirectMessages direct;
    private final MessageStore messages;
    private final DeliveryStore deliveries;

    public DirectReplies(Wiring wiring, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.direct = new DirectMessages(wiring, queue);
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
    }

    /** A reply and its one delivery row (null until its fan-out wrote it). */
    public record Reply(GroupMessage message, Delivery delivery) {}

    public record ReplyPage(List<Reply> replies, Map<String, AttributeValue> lastKey) {}

    public static String idFor(String inboundId, String ulid) {
        return ID_PREFIX + inboundId + "_" + ulid;
    }

    /**
     * The business's own messages to one number from a line ({@link MessageKind#DIRECT_MESSAGE}): {@code
     * dmg_<lineId>_<ULID>}, so a line's are one range of the account's messages, oldest first.
     */
    static final String LINE_MESSAGE_PREFIX = "dmg_";

    public static String lineMessageId(String lineId, String ulid) {
        return LINE_MESSAGE_PREFIX + lineId + "_" + ulid;
    }

    /**
     * Accepts a message from the line to one number (once: a second call with the same ids sends nothing more),
     * stored in one transaction with {@code with} (its private mark).
     */
    public Reply sendFromLine(String accountId, Line line, String to, String body, List<String> mediaUrls, String ulid,
                              List<TransactWriteItem> with) {
        String id = lineMessageId(line.id(), ulid);
        direct.accept(id, accountId, line, MessageKind.DIRECT_MESSAGE, List.of(to), body, mediaUrls,
                DirectMessages.orderToNumber(line, to), with);
        return find(accountId, id).orElseThrow(() -> new IllegalStateException("message " + id + " not stored"));
    }

    /** One of the line's own messages to one number (another kind's id, or another line's, is none). */
    public java.util.Optional<Reply> findFromLine(String accountId, String lineId, String id) {
        if (!id.startsWith(LINE_MESSAGE_PREFIX + lineId + "_")) return java.util.Optional.empty();
        return find(accountId, id);
    }

    /** Whether a run of a request stored the line's message under {@code ulid} (one GetItem, as {@link #stored}). */
    public boolean storedFromLine(String accountId, String lineId, String ulid) {
        return messages.get(accountId, lineMessageId(lineId, ulid)).isPresent();
    }

    /** The line's own messages to single numbers, oldest first; with {@code to}, only those to that number. */
    public ReplyPage listFromLine(String accountId, String lineId, String to, int limit, Map<String, AttributeValue> start) {
        String idPrefix = LINE_MESSAGE_PREFIX + lineId + "_";
        if (to == null) return listWithIdPrefix(accountId, idPrefix, limit, start);
        // the number is matched in the function: read 100 at a time, up to 1,000 a page (then the cursor goes on)
        var page = FilteredPage.fill(limit, TO_STEPS, start, from -> {
            var step = messages.listWithIdPrefix(accountId, idPrefix, TO_STEP, from);
            return new FilteredPage.Step<>(step.messages().stream().filter(m -> m.recipientList().contains(to)).toList(),
                    step.lastKey());
        }, m -> Attr.key(Attr.accountPk(accountId), "MSG#" + m.id()));
        return new ReplyPage(page.items().stream().map(this::withDelivery).toList(), page.lastKey());
    }

    /** Messages read per step of a list by number, and the steps one page may take. */
    static final int TO_STEP = 100;
    static final int TO_STEPS = 10;

    private java.util.Optional<Reply> find(String accountId, String id) {
        return messages.get(accountId, id).map(this::withDelivery);
    }

    /** Messages whose ids start so, oldest first, each with its one delivery row. */
    private ReplyPage listWithIdPrefix(String accountId, String idPrefix, int limit, Map<String, AttributeValue> start) {
        var page = messages.listWithIdPrefix(accountId, idPrefix, limit, start);
        return new ReplyPage(page.messages().stream().map(this::withDelivery).toList(), page.lastKey());
    }

    /** Whether a run of a request stored its reply under {@code ulid} (one GetItem: its delivery is not read). */
    public boolean stored(String accountId, String inboundId, String ulid) {
        return messages.get(accountId, idFor(inboundId, ulid)).isPresent();
    }

    /** Accepts the reply (once: a second call with the same ids creates nothing and sends nothing more). */
    public Reply send(String accountId, Line line, String inboundId, String to, String body, List<String> mediaUrls,
                      String ulid, List<TransactWriteItem> with) {
        direct.accept(idFor(inboundId, ulid), accountId, line, MessageKind.DIRECT_REPLY, List.of(to), body, mediaUrls,
                DirectMessages.orderToNumber(line, to), with);
        return get(accountId, inboundId, ulid);
    }

    /** The reply stored under {@code ulid}, with its delivery row (it must have been stored). */
    public Reply get(String accountId, String inboundId, String ulid) {
        String id = idFor(inboundId, ulid);
        return find(accountId, id).orElseThrow(() -> new IllegalStateException("reply " + id + " not stored"));
    }

    /** An inbound message's replies, oldest first. */
    public ReplyPage list(String accountId, String inboundId, int limit, Map<String, AttributeValue> start) {
        return listWithIdPrefix(accountId, ID_PREFIX + inboundId + "_", limit, start);
    }

    private Reply withDelivery(GroupMessage m) {
        var rows = deliveries.list(m.id(), m.shards(), DeliveryStore.Position.START, 1, null, Long.MAX_VALUE).deliveries();
        return new Reply(m, rows.isEmpty() ? null : rows.getFirst());
    }

    public static Map<String, Object> json(Reply r, String inboundId) {
        GroupMessage m = r.message();
        var json = new LinkedHashMap<String, Object>();
        json.put("id", m.id());
        if (inboundId != null) json.put("inboundId", inboundId); // an answer's; a line's own message answers nothing
        json.put("lineId", m.lineId());
        json.put("to", m.recipientList().isEmpty() ? null : m.recipientList().getFirst());
        json.put("body", m.body());
        json.put("mediaUrls", m.mediaUrls());
        json.put("encoding", m.encoding().wire());
        json.put("segments", m.segments());
        // the one recipient's row as a group message's deliveries show it; queued until the fan-out wrote it
        json.put("status", r.delivery() == null ? Delivery.QUEUED : MessagesJson.delivery(r.delivery()).get("status"));
        json.put("carrierMessageId", r.delivery() == null ? null : r.delivery().carrierMessageId());
        json.put("error", r.delivery() == null ? null : r.delivery().error());
        json.put("createdAt", Timestamps.format(m.acceptedAt()));
        return json;
    }
}
