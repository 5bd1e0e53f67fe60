package groupmsg.inbound;

import groupmsg.messages.BroadcastReplies;
import groupmsg.platform.Log;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Links a text to the group message it answers ({@link BroadcastReplies}): a direct reply (the inbound worker), counted
 * in the message's {@code replies}, and a STOP (the opt-out worker), counted in its {@code optOuts} once per number.
 * Each link is made once, in one transaction with its row and count, so a retried job changes nothing.
 */
public final class AnswerLinks {
    private final InboundStore store;
    private final BroadcastReplies broadcasts;

    public AnswerLinks(Wiring wiring) {
        this.store = new InboundStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.broadcasts = new BroadcastReplies(wiring);
    }

    /**
     * The reply, linked to the group message it answers if there is one (as linked before, on a retry). The link only
     * adds to what is known: if it cannot be made (DynamoDB failing), the reply goes on unlinked, logged.
     */
    InboundMessage linkReply(InboundMessage m) {
        if (m.inReplyTo() != null) return m;
        try {
            return linkReplyOrFail(m);
        } catch (RuntimeException e) {
            Log.error("answer_not_linked", Map.of("inboundId", m.id(), "metric", "AnswerNotLinked"), e);
            return m;
        }
    }

    private InboundMessage linkReplyOrFail(InboundMessage m) {
        var answered = broadcasts.answeredBy(m.accountId(), m.lineId(), m.from(), m.createdAt()).orElse(null);
        if (answered == null) return m;
        var outcome = store.link(m, answered, InboundStore.answerRow(m, answered.messageId()),
                broadcasts.countReply(m.accountId(), answered.messageId()));
        if (outcome == InboundStore.LinkOutcome.ALREADY_LINKED) return store.get(m.accountId(), m.id()).orElse(m);
        return new InboundMessage(m.id(), m.accountId(), m.lineId(), m.linePhone(), m.from(), m.body(), m.mediaUrls(),
                m.keyword(), m.possibleOptOut(), m.alsoAReply(), m.conversationId(), m.carrierMessageId(), m.createdAt(),
                m.threadUlid(), m.routedOnArrival(), answered);
    }

    /**
     * The group message a STOP answers, or null (none, or the STOP came from a conversation's participant, whose texts
     * answer the conversation): linked as a reply is, and the number counted once among the
     * message's opt-outs (a second STOP of the number in answer to it, after a START, is linked but not counted).
     */
    public BroadcastReplies.Answered linkOptOut(InboundMessage m) {
        if (m.inReplyTo() != null) return m.inReplyTo();
        if (m.conversationId() != null) return null; // a participant's STOP is taken as leaving the conversation, as a reply there answers it
        // the STOP's confirmation and event must not wait on what only adds to them
        try {
            return linkOptOutOrFail(m);
        } catch (RuntimeException e) {
            Log.error("answer_not_linked", Map.of("inboundId", m.id(), "metric", "AnswerNotLinked"), e);
            return null;
        }
    }

    private BroadcastReplies.Answered linkOptOutOrFail(InboundMessage m) {
        var answered = broadcasts.answeredBy(m.accountId(), m.lineId(), m.from(), m.createdAt()).orElse(null);
        if (answered == null) return null;
        switch (store.link(m, answered, InboundStore.optOutRow(m, answered.messageId()),
                broadcasts.countOptOut(m.accountId(), answered.messageId()))) {
            case LINKED -> { }
            case ALREADY_LINKED -> {
                return store.get(m.accountId(), m.id()).map(InboundMessage::inReplyTo).orElse(answered);
            }
            case ROW_EXISTS -> store.linkAlone(m, answered);
        }
        return answered;
    }

    /** A link as events and the API show it: {messageId, title, sentAt}, or null. */
    public static Map<String, Object> json(BroadcastReplies.Answered answered) {
        if (answered == null) return null;
        var json = new LinkedHashMap<String, Object>();
        json.put("messageId", answered.messageId());
        json.put("title", answered.title());
        json.put("sentAt", Timestamps.format(answered.sentAt()));
        return json;
    }
}
