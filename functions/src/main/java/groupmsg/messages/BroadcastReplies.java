package groupmsg.messages;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiPredicate;

/**
 * Which group message a text answers: the latest one the line sent to that number (the carrier took it, and its
 * send began before the text came) within {@link #WINDOW} before the text came. Seed 000: "If the customer replies to the Group Message the response will,
 * however, be sent to these systems", so an integration is told which message it answers, and the message counts
 * its answers. Group messages only: a conversation's reply answers its conversation, and a keyword reply, a
 * conversation's or a direct answer sent later is not taken as what the text answers.
 */
public final class BroadcastReplies {
    /** How far back a text may answer a group message: a week covers "reply by Friday"; older answers are rare. */
    public static final Duration WINDOW = Duration.ofDays(7);
    /** Group messages read per step, and the steps one lookup may take (500 of the account's, all lines). */
    static final int STEP = 100;
    static final int STEPS = 5;
    /** Deliveries the number got: the carrier took the message (or is taking it); not failed, opted out or queued. */
    private static final Set<String> RECEIVED = Set.of(Delivery.SENDING, Delivery.SENT, Delivery.DELIVERED);

    /**
     * The group message a text answers, as the text keeps it ({@code groupId} null in links kept before it was);
     * {@code reachedAt}, not kept: when its send to the number began (its delivery's claim; else its acceptance).
     */
    public record Answered(String messageId, String groupId, String title, long sentAt, long reachedAt) {
        public Answered(String messageId, String groupId, String title, long sentAt) {
            this(messageId, groupId, title, sentAt, sentAt);
        }
    }

    private final MessageStore messages;
    private final DeliveryStore deliveries;

    public BroadcastReplies(Wiring wiring) {
        var ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
    }

    /**
     * The group message a text from {@code phone} to the line, received at {@code receivedAt}, answers; empty when the
     * line sent the number none in the window. Reads the account's group messages of that week newest first, 100 a
     * step (ids are ULIDs, so only that stretch), and each step's messages on the line in one BatchGetItem of the
     * number's delivery rows; at most {@link #STEPS} steps, so an account sending from many lines at once may miss an
     * answer to a message that many messages back.
     */
    public Optional<Answered> answeredBy(String accountId, String lineId, String phone, long receivedAt) {
        var found = new AtomicReference<Answered>();
        walk(accountId, lineId, phone, receivedAt - WINDOW.toMillis(), receivedAt, () -> { }, (m, d) -> {
            // claimed after the text came: sent after it too, so not what it answers (a large group's message may
            // reach a number long after its acceptance)
            if (!reachedBy(d, receivedAt, 0)) return false;
            found.set(new Answered(m.id(), m.groupId(), m.title(), m.acceptedAt(), reachedAt(m, d)));
            return true; // newest first: the first is it
        });
        return Optional.ofNullable(found.get());
    }

    /**
     * When the latest of the line's group messages accepted from {@code notBefore} (within the window) reached
     * {@code phone} by {@code receivedAt}, or 0 for none: its delivery's claim, the carrier having taken it, or, still
     * sending, claimed {@code sendingSeenAfterMillis} before (a send just begun is not on the phone yet). The latest to
     * reach, not the latest accepted: an older message's copy turned away and sent later reached the phone last. The
     * same steps as {@link #answeredBy}, all of them; {@code beforeEachStep} runs before each step's reads (a caller's
     * time check, which throws to stop).
     */
    public long latestReach(String accountId, String lineId, String phone, long receivedAt, long notBefore,
                            long sendingSeenAfterMillis, Runnable beforeEachStep) {
        long[] latest = {0};
        walk(accountId, lineId, phone, Math.max(notBefore, receivedAt - WINDOW.toMillis()), receivedAt, beforeEachStep, (m, d) -> {
            if (reachedBy(d, receivedAt, sendingSeenAfterMillis)) latest[0] = Math.max(latest[0], reachedAt(m, d));
            return false;
        });
        return latest[0];
    }

    /**
     * Visits the line's group messages accepted from {@code since} to {@code receivedAt}, newest first, each with the
     * number's delivery row (null: none), until {@code visit} answers true: the account's messages of that stretch 100
     * a step (ids are ULIDs, so only that stretch), each step's messages on the line in one BatchGetItem of the
     * number's rows, at most {@link #STEPS} steps; {@code beforeEachStep} runs before each step's reads.
     */
    private void walk(String accountId, String lineId, String phone, long since, long receivedAt, Runnable beforeEachStep,
                      BiPredicate<GroupMessage, Delivery> visit) {
        Map<String, AttributeValue> from = null;
        for (int step = 0; step < STEPS; step++) {
            beforeEachStep.run();
            var page = messages.list(accountId, null, since, receivedAt, STEP, from);
            var onLine = page.messages().stream()
                    .filter(m -> lineId.equals(m.lineId()) && m.acceptedAt() >= since && m.acceptedAt() <= receivedAt)
                    .toList();
            if (!onLine.isEmpty()) {
                var rows = deliveries.rowsOf(phone, onLine);
                for (GroupMessage m : onLine) {
                    if (visit.test(m, rows.get(m.id()))) return;
                }
            }
            from = page.lastKey();
            if (from == null) return;
        }
    }

    /** Whether delivery row {@code d} had reached its number by {@code at}: see {@link #latestReach}. */
    private static boolean reachedBy(Delivery d, long at, long sendingSeenAfterMillis) {
        if (d == null || !RECEIVED.contains(d.status())) return false;
        if (d.claimedAt() == null) return true;
        long by = Delivery.SENDING.equals(d.status()) ? at - sendingSeenAfterMillis : at;
        return d.claimedAt() <= by;
    }

    /** When {@code m}'s send to the number of row {@code d} began: its claim, else the message's acceptance. */
    private static long reachedAt(GroupMessage m, Delivery d) {
        return d.claimedAt() == null ? m.acceptedAt() : d.claimedAt();
    }

    /** Whether the account has this group message (another account's, or another kind's id, is none). */
    public boolean isGroupMessage(String accountId, String messageId) {
        return messageId.startsWith(MessageStore.GROUP_ID_PREFIX) && messages.get(accountId, messageId).isPresent();
    }

    /** The write that counts one more reply on the message, for the transaction that links it. */
    public TransactWriteItem countReply(String accountId, String messageId) {
        return messages.countAnswer(accountId, messageId, "replies");
    }

    /** The write that counts one more number that opted out in answer to the message, for the transaction that links it. */
    public TransactWriteItem countOptOut(String accountId, String messageId) {
        return messages.countAnswer(accountId, messageId, "optOuts");
    }

    /** Keeps a text's link in its item: a map {messageId, groupId, title, sentAt}. */
    public static AttributeValue toAttribute(Answered a) {
        var map = new java.util.HashMap<String, AttributeValue>();
        map.put("messageId", Attr.s(a.messageId()));
        if (a.groupId() != null) map.put("groupId", Attr.s(a.groupId()));
        if (a.title() != null) map.put("title", Attr.s(a.title()));
        map.put("sentAt", Attr.n(a.sentAt()));
        return AttributeValue.fromM(map);
    }

    /** The link kept by {@link #toAttribute}, or null. */
    public static Answered fromAttribute(AttributeValue value) {
        if (value == null || !value.hasM()) return null;
        var m = value.m();
        return new Answered(Attr.str(m, "messageId"), Attr.str(m, "groupId"), Attr.str(m, "title"), Attr.num(m, "sentAt", 0));
    }
}
