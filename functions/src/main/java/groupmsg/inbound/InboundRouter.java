package groupmsg.inbound;

import groupmsg.conversations.ConversationRouter;
import groupmsg.conversations.ConversationService;
import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.Log;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the inbound worker does with a reply that is not a keyword: put it in the conversation it was routed to on
 * arrival (stored in the thread, relayed to the other participants), else keep it as a direct reply, linked to the
 * group message it answers ({@link AnswerLinks}); then publish it to the integrations topic ({@code reply.received}).
 * The conversation is recorded on the message before relaying, so a retry relays into the same one (and the
 * relay itself is idempotent). Published at least once: a crash between publishing and marking it published
 * publishes it again, so the event carries the message id for consumers to de-duplicate on.
 */
public final class InboundRouter {
    public static final String EVENT_TYPE = "reply.received";

    private final InboundStore store;
    private final ConversationService conversations;
    private final ConversationRouter router;
    private final AnswerLinks answers;
    private final EventPublisher events;
    private final Clock clock;
    private final Ids ids;
    private final QueueSender queue;
    /** Built at the first reply that may be a line's own keyword ("JOIN"): most replies are read for none. */
    private final Lazy<LineKeywordActions> keywordActions;

    public InboundRouter(Wiring wiring, QueueSender queue) {
        this.queue = queue;
        this.keywordActions = new Lazy<>(() -> new LineKeywordActions(wiring, queue));
        this.store = new InboundStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.conversations = new ConversationService(wiring, queue);
        this.router = new ConversationRouter(wiring);
        this.answers = new AnswerLinks(wiring);
        this.events = wiring.events();
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    /**
     * Routes, relays and publishes one reply.
     *
     * @return whether it is also a keyword, for the caller to handle as one: an opt-in that is also an everyday
     *         answer ({@link InboundMessage#alsoAReply}, "Yes" from a number that was not opted out), relayed here in
     *         order with its sender's other texts and published like them (an integration following a conversation
     *         missed the "Yes" its participants all saw)
     */
    public boolean route(String accountId, String inboundId) {
        InboundMessage m = store.get(accountId, inboundId).orElse(null);
        if (m == null) {
            Log.warn("inbound_unknown_message", Map.of("inboundId", inboundId));
            return false;
        }
        if (m.keyword() != null && !m.alsoAReply()) return false; // the opt-out worker's, and never go to integrations
        m = routeAndRelay(m);
        if (LineKeywordActions.mayApply(m)) m = keywordActions.get().apply(m);
        try {
            publishOnce(m);
        } catch (RuntimeException e) {
            // Published by a job of its own (its own message group), not by failing this one: the texts behind it in
            // its group (the conversation's other replies, its sender's next ones) waited for its retries, minutes
            // each, while the topic refused (an outage, a throttle, a permission), and each then failed the same way.
            try {
                queue.send(Queues.INBOUND, List.of(publishJob(m)));
            } catch (RuntimeException notQueued) {
                notQueued.addSuppressed(e); // the job fails (and is retried) for both
                throw notQueued;
            }
            Log.warn("reply_publish_deferred", Map.of("inboundId", inboundId, "error", e.getClass().getSimpleName()));
        }
        return m.keyword() != null;
    }

    /** Publishes the reply {@code inboundId} if it is not yet: the job {@link #publishJob} made. */
    public void publishOnce(String accountId, String inboundId) {
        InboundMessage m = store.get(accountId, inboundId).orElse(null);
        if (m == null) {
            Log.warn("inbound_unknown_message", Map.of("inboundId", inboundId));
            return;
        }
        publishOnce(m);
    }

    private void publishOnce(InboundMessage m) {
        if (store.published(m.accountId(), m.id())) return;
        if (m.fromLine()) {
            // another account's line: done, not published (two accounts' bots answering each other's would never stop)
            Log.info("reply_from_line_not_published", Map.of("inboundId", m.id()));
            store.markPublished(m.accountId(), m.id(), clock.millis());
            return;
        }
        // before publishing, so the event says what it answers (a retry after the publish keeps what it said)
        if (m.conversationId() == null) m = answers.linkReply(m);
        events.publish(Topic.INTEGRATIONS, m.accountId(), EVENT_TYPE, event(m));
        store.markPublished(m.accountId(), m.id(), clock.millis());
    }

    /** The job field of a job that only publishes its reply ({@link #publishOnce(String, String)}). */
    public static final String PUBLISH_ONLY = "publishOnly";

    /** A job that publishes {@code m} alone, in a message group of its own, so a failure holds nothing else back. */
    static QueueMessage publishJob(InboundMessage m) {
        String id = "publish#" + m.id();
        return new QueueMessage(Json.write(Map.of("accountId", m.accountId(), "inboundId", m.id(), PUBLISH_ONLY, true)), id, id);
    }

    /**
     * Gives {@code m} its place in its conversation's thread (once) and relays it there; the message with its
     * conversation. Its conversation was found when it arrived, and the inbound queue's message group is that
     * conversation, so replies of several participants take their places one after another in the order their relays
     * are queued: the thread lists them in the order the phones get them. A message stored before routing on arrival
     * is routed here, as it was then.
     */
    private InboundMessage routeAndRelay(InboundMessage m) {
        String accountId = m.accountId();
        String inboundId = m.id();
        String conversationId = m.conversationId();
        String threadUlid = m.threadUlid();
        String senderName = null;
        if (threadUlid == null) {
            String into = m.routed() ? conversationId : null;
            if (!m.routed() && conversationId == null) {
                // routed here, not on arrival (stored before that, or its routing failed then): named as in the
                // conversation found, as on arrival
                var routed = router.route(accountId, m.lineId(), m.from(), m.createdAt());
                if (routed != null) {
                    into = routed.conversationId();
                    senderName = routed.senderName();
                }
            }
            if (into != null) {
                // Its place in the thread is now, when it is relayed, not when it was received: the business's
                // messages go to the relays queue directly, and one written while this reply was on its way through
                // the inbound queue reaches the phones first. Listed by when it was received, the thread showed an
                // order nobody's phone did.
                var routing = store.assignConversation(accountId, inboundId, into, ids.next(""), senderName);
                conversationId = routing.conversationId();
                threadUlid = routing.threadUlid();
                // a first run's conversation, not the one this run found: its name there is not known here
                if (!conversationId.equals(into)) senderName = null;
            }
        }
        if (conversationId != null) {
            if (threadUlid == null) threadUlid = inboundId.substring(InboundMessage.ID_PREFIX.length()); // routed before
            conversations.relay(accountId, conversationId, threadUlid, inboundId, m.createdAt(), m.from(), m.body(), m.mediaUrls());
            return m.withConversation(conversationId, threadUlid, senderName);
        }
        return m;
    }

    /** What a line keyword did, as the API and the events show it: {@code {keyword, action, groupId}}, or null. */
    public static Map<String, Object> keywordActionJson(InboundMessage.KeywordAction done) {
        if (done == null) return null;
        var json = new LinkedHashMap<String, Object>();
        json.put("keyword", done.keyword());
        json.put("action", done.action());
        json.put("groupId", done.groupId());
        return json;
    }

    static Map<String, Object> event(InboundMessage m) {
        var event = new LinkedHashMap<String, Object>();
        event.put("inboundId", m.id());
        event.put("lineId", m.lineId());
        event.put("linePhone", m.linePhone());
        event.put("from", m.from());
        event.put("fromName", m.fromName());
        event.put("body", m.body());
        event.put("mediaUrls", m.mediaUrls());
        event.put("possibleOptOut", m.possibleOptOut());
        event.put("conversationId", m.conversationId());
        event.put("inReplyTo", AnswerLinks.json(m.inReplyTo()));
        event.put("keywordAction", keywordActionJson(m.keywordAction()));
        event.put("receivedAt", Timestamps.format(m.createdAt()));
        return event;
    }
}
