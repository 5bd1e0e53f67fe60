package groupmsg.messages;

import groupmsg.lines.Line;
import groupmsg.platform.api.Text;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * Sends a message to a few named numbers (a keyword reply, later a conversation's relay) through the same
 * pipeline as group messages: stored message, fan-out, paced and claimed deliveries, status, usage.
 * Idempotent by the caller's id: a repeated call with the same id creates nothing new, and re-enqueues the
 * fan-out job, whose checkpoint makes a second run a no-op.
 */
public final class DirectMessages {
    /** At most this many recipients (a conversation holds up to 10 people). */
    public static final int MAX_RECIPIENTS = 10;

    private final MessageStore messages;
    private final QueueSender queue;
    private final Outbox outbox;
    private final Clock clock;

    public DirectMessages(Wiring wiring, QueueSender queue) {
        this.messages = new MessageStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.queue = queue;
        this.outbox = new Outbox(wiring.dynamo(), wiring.config().table(Tables.CORE), queue, wiring.clock());
        this.clock = wiring.clock();
    }

    /**
     * @param id a deterministic id chosen by the caller (derived from what caused the message), never starting
     *           with the group messages' {@code msg_}
     * @return true when this call created the message, false when it existed already
     */
    public boolean send(String id, String accountId, Line line, MessageKind kind, List<String> to, String text,
                        List<String> mediaUrls) {
        return send(id, accountId, line, kind, to, text, mediaUrls, null);
    }

    /**
     * @param orderKey null, or a key (a conversation id, a line and number) whose messages must reach their recipients in the order
     *                 they were sent: they go through the FIFO relays queue, one at a time per key, instead of
     *                 the (unordered) fan-out and deliveries queues
     */
    public boolean send(String id, String accountId, Line line, MessageKind kind, List<String> to, String text,
                        List<String> mediaUrls, String orderKey) {
        return send(id, accountId, line, kind, to, text, mediaUrls, orderKey, false, List.of());
    }

    /**
     * {@link #send(String, String, Line, MessageKind, List, String, List, String)} for an API request: the first job
     * is staged in the outbox with the message, so once the message exists it is sent and the request succeeds,
     * even when SQS fails right after (the outbox's redrive sends the job). A worker uses {@code send} instead: an
     * enqueue failure fails its job, whose retry (in its FIFO order) sends the job.
     */
    public boolean accept(String id, String accountId, Line line, MessageKind kind, List<String> to, String text,
                          List<String> mediaUrls, String orderKey) {
        return send(id, accountId, line, kind, to, text, mediaUrls, orderKey, true, List.of());
    }

    /**
     * {@link #accept} in one transaction with {@code with} (a conversation's thread message, or a private answer's
     * mark, which must never be stored without the message that carries it): all are written or, when this message
     * exists already (false), none of {@code with}.
     */
    public boolean accept(String id, String accountId, Line line, MessageKind kind, List<String> to, String text,
                          List<String> mediaUrls, String orderKey, List<TransactWriteItem> with) {
        return send(id, accountId, line, kind, to, text, mediaUrls, orderKey, true, with);
    }

    /** Whether the account has a message of this id (made by a {@code send} or {@code accept} before). */
    public boolean exists(String accountId, String id) {
        return messages.get(accountId, id).isPresent();
    }

    /**
     * The job that sends an ordered message ({@code orderKey} set) through the FIFO relays queue: fan-out and delivery
     * of all its recipients, in its key's order. {@code deduplicationId} is the message's id for its first job; a
     * job sent again later (maintenance) gets another, since FIFO queues drop a repeated one for 5 minutes.
     */
    static QueueMessage relayJob(GroupMessage m, String deduplicationId) {
        return new QueueMessage(FanoutService.job(m.accountId(), m.id()).body(), m.orderKey(), deduplicationId);
    }

    /**
     * The order key of a line's answers to one number (keyword replies, direct replies, its own messages to it, a
     * blocked conversation's notice): one FIFO message group, so they reach the phone in the order they were accepted.
     */
    public static String orderToNumber(Line line, String phone) {
        return line.id() + "#" + phone;
    }

    private boolean send(String id, String accountId, Line line, MessageKind kind, List<String> to, String typed,
                         List<String> mediaUrls, String orderKey, boolean staged, List<TransactWriteItem> with) {
        String text = Text.composed(typed); // as it is sent, and counted so (see Text#composed)
        if (kind == MessageKind.GROUP) throw new IllegalArgumentException("group messages go through MessageService");
        if (id.startsWith(MessageStore.GROUP_ID_PREFIX)) throw new IllegalArgumentException("id prefix is reserved: " + id);
        if (to.isEmpty() || to.size() > MAX_RECIPIENTS) throw new IllegalArgumentException("1.." + MAX_RECIPIENTS + " recipients");
        SmsText sms = SmsText.of(text);
        var message = new GroupMessage(id, accountId, null, line.id(), line.phone(), line.mps(), null, null, text,
                mediaUrls, text, sms.encoding(), mediaUrls.isEmpty() ? sms.segments() : 1, to.size(), 1,
                clock.millis(), false, GroupMessage.SENDING, null, kind, List.copyOf(to), 0, orderKey, null, null, 0, 0);
        var entry = orderKey == null ? outbox.entry(id, Queues.FANOUT, FanoutService.job(accountId, id))
                : outbox.entry(id, Queues.RELAYS, relayJob(message, id));
        var also = new ArrayList<TransactWriteItem>();
        if (staged) also.add(outbox.stage(entry));
        also.addAll(with);
        boolean created = messages.create(message, also);
        if (!created) {
            // a rerun: its job goes where its first run's went (a message stored unordered before keyword replies
            // were ordered must not be fanned out and relayed at once, each writing its rows)
            var stored = messages.get(accountId, id).orElse(null);
            if (stored != null && !java.util.Objects.equals(stored.orderKey(), orderKey)) {
                entry = stored.orderKey() == null ? outbox.entry(id, Queues.FANOUT, FanoutService.job(accountId, id))
                        : outbox.entry(id, Queues.RELAYS, relayJob(stored, id));
            }
        }
        if (created && staged) {
            outbox.dispatchOrLeave(entry);
        } else {
            queue.send(entry.queue(), List.of(entry.message())); // a repeated call sends the job again
        }
        return created;
    }
}
