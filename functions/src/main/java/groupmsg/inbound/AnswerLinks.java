package groupmsg.inbound;

import groupmsg.conversations.PrivateMessages;
import groupmsg.groups.MemberNames;
import groupmsg.messages.BroadcastReplies;
import groupmsg.platform.Log;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Links a text to the group message it answers ({@link BroadcastReplies}): a direct reply (the inbound worker), counted
 * in the message's {@code replies}, and a STOP (the opt-out worker), counted in its {@code optOuts} once per number.
 * Each link is made once, in one transaction with its row and count, so a retried job changes nothing.
 */
public final class AnswerLinks {
    private final InboundStore store;
    private final BroadcastReplies broadcasts;
    private final MemberNames names;
    private final PrivateMessages privately;

    public AnswerLinks(Wiring wiring) {
        this.store = new InboundStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.broadcasts = new BroadcastReplies(wiring);
        this.names = new MemberNames(wiring.dynamo(), wiring.config().table(Tables.MEMBERS));
        this.privately = new PrivateMessages(wiring);
    }

    /**
     * The reply, linked to the group message it answers if there is one (as linked before, on a retry), its sender
     * named as that message's group names them.
     */
    InboundMessage linkReply(InboundMessage m) {
        // linked already: by an earlier try of this job, or by a person's review of it as an opt-out before this job
        // ran (that link counted it among the opt-outs only); its answer row is written once either way
        return linkOrCount(m, InboundStore::answerRow, broadcasts::countReply);
    }

    /**
     * The group message a STOP answers, or null (none, or the STOP came from a conversation's participant, whose texts
     * answer the conversation): linked as a reply is, and the number counted once among the message's opt-outs (a
     * second STOP of the number in answer to it, after a START, is linked but not counted: its row is there).
     */
    public BroadcastReplies.Answered linkOptOut(InboundMessage m) {
        if (leavesItsConversation(m)) return null;
        return link(m, InboundStore::optOutRow, broadcasts::countOptOut).inReplyTo();
    }

    /** A participant's opt-out is taken as leaving the conversation, as a reply there answers it: it answers no message. */
    private static boolean leavesItsConversation(InboundMessage m) {
        return m.inReplyTo() == null && m.conversationId() != null;
    }

    /**
     * The group message a text a person took as an opt-out answers, or null: as {@link #linkOptOut}, and when the text
     * was linked already (as a reply), its number is counted among that message's opt-outs too (once per number).
     */
    public BroadcastReplies.Answered linkReviewedOptOut(InboundMessage m) {
        if (leavesItsConversation(m)) return null;
        return linkOrCount(m, InboundStore::optOutRow, broadcasts::countOptOut).inReplyTo();
    }

    /**
     * {@link #link}, or for a text linked already its row and count, once (the row's condition): a failure is logged,
     * as a link's is.
     */
    private InboundMessage linkOrCount(InboundMessage m, BiFunction<InboundMessage, String, Map<String, AttributeValue>> row,
                                       BiFunction<String, String, TransactWriteItem> count) {
        if (m.inReplyTo() == null) return link(m, row, count);
        String messageId = m.inReplyTo().messageId();
        try {
            store.addRow(row.apply(m, messageId), count.apply(m.accountId(), messageId));
        } catch (RuntimeException e) {
            Log.error("answer_not_linked", Map.of("inboundId", m.id(), "metric", "AnswerNotLinked"), e);
        }
        return m;
    }

    /**
     * Links {@code m} once (see {@link InboundStore#link}) with its row in the message's answers or opt-outs and that
     * count, and names its sender as the message's group does (one GetItem); the message as stored, unchanged when it
     * answers nothing. A link only adds to what is known: one that cannot be made (DynamoDB failing) is logged, and the
     * text goes on unlinked rather than holding up its event or a STOP's confirmation.
     */
    private InboundMessage link(InboundMessage m, BiFunction<InboundMessage, String, Map<String, AttributeValue>> row,
                                BiFunction<String, String, TransactWriteItem> count) {
        if (m.inReplyTo() != null) return m;
        try {
            var answered = broadcasts.answeredBy(m.accountId(), m.lineId(), m.from(), m.createdAt()).orElse(null);
            if (answered == null) return m;
            // a private message from the line (its own message, a reply) reached the number after the group message
            // did: the text answers that
            if (privately.lastReachedAt(m.accountId(), m.lineId(), m.from(), m.createdAt()) > answered.reachedAt()) return m;
            String name = m.fromName() != null ? null : names.nameOf(m.accountId(), answered.groupId(), m.from()).orElse(null);
            return switch (store.link(m, answered, name, row.apply(m, answered.messageId()), count.apply(m.accountId(), answered.messageId()))) {
                case LINKED -> m.withInReplyTo(answered, name);
                case ALREADY_LINKED -> store.get(m.accountId(), m.id()).orElse(m.withInReplyTo(answered, name));
                case ROW_EXISTS -> {
                    store.linkAlone(m, answered, name);
                    yield m.withInReplyTo(answered, name);
                }
            };
        } catch (RuntimeException e) {
            Log.error("answer_not_linked", Map.of("inboundId", m.id(), "metric", "AnswerNotLinked"), e);
            return m;
        }
    }

    /** A link as events and the API show it: {messageId, groupId, title, sentAt}, or null. */
    public static Map<String, Object> json(BroadcastReplies.Answered answered) {
        if (answered == null) return null;
        var json = new LinkedHashMap<String, Object>();
        json.put("messageId", answered.messageId());
        json.put("groupId", answered.groupId());
        json.put("title", answered.title());
        json.put("sentAt", Timestamps.format(answered.sentAt()));
        return json;
    }
}
