package groupmsg.inbound;

import groupmsg.conversations.PrivateMessages;
import groupmsg.groups.E164;
import groupmsg.groups.PhoneNumbers;
import groupmsg.lines.Line;
import groupmsg.lines.LineService;
import groupmsg.messages.DirectReplies;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * Answering one person: the business replies to an inbound message, and the reply goes to its sender alone, from
 * the line it came to (a private answer, also to a message that was part of a conversation).
 */
public final class ReplyService {
    private final InboundStore inbound;
    private final LineService lines;
    private final OptOutStore optOuts;
    private final DirectReplies replies;
    private final PrivateMessages privately;
    private final Clock clock;

    public ReplyService(Wiring wiring, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.inbound = new InboundStore(ops, wiring.config().table(Tables.CORE));
        this.lines = new LineService(wiring);
        this.optOuts = new OptOutStore(ops, wiring.config().table(Tables.CORE));
        this.replies = new DirectReplies(wiring, queue);
        this.privately = new PrivateMessages(wiring);
        this.clock = wiring.clock();
    }

    /**
     * Accepts a reply to the sender of {@code inboundId}: 404 for no such inbound message, 409 when its line is gone
     * or the sender has opted out of it (nothing may be sent to them from it until they text START). A run after one
     * that stored the reply (same {@code ulid}) answers it whatever changed since, and sends it once.
     */
    public DirectReplies.Reply reply(String accountId, String inboundId, String body, List<String> mediaUrls, String ulid) {
        InboundMessage m = find(accountId, inboundId);
        boolean earlier = replies.stored(accountId, m.id(), ulid);
        Line line = lines.find(accountId, m.lineId()).orElse(null);
        if (earlier && line == null) return replies.get(accountId, m.id(), ulid);
        if (line == null) throw ApiException.conflict("the line this message came to is gone");
        // a short code's or a sender name's text ("AMAZON") came from no number a message can be sent to
        if (!earlier && !E164.looksLike(m.from())) {
            throw ApiException.conflict(m.from() + " is not a phone number: a reply cannot be sent to it");
        }
        if (!earlier && optOuts.get(line.id(), m.from()).isPresent()) {
            throw ApiException.conflict(m.from() + " has opted out of this line: nothing can be sent to it from the line"
                    + " until it texts START");
        }
        // stored with it, before it is sent: the person's answer to it must find it (see PrivateMessages)
        return replies.send(accountId, line, m.id(), m.from(), body, mediaUrls, ulid, earlier ? List.of()
                : List.of(privately.markItem(accountId, line.id(), m.from(), clock.millis(), DirectReplies.idFor(m.id(), ulid))));
    }

    /**
     * Accepts the business's own message to one number from a line (an extension: nothing to answer): 404 for no such
     * line, 400 for a number that is not one or is the line's own, 409 when the number has opted out of the line. A
     * run after one that stored it (same {@code ulid}) answers it whatever changed since, and sends it once.
     */
    public DirectReplies.Reply sendFromLine(String accountId, String lineId, String toInput, String country, String body,
                                            List<String> mediaUrls, String ulid) {
        Line line = lines.findKept(accountId, lineId).orElseThrow(() -> ApiException.notFound("line"));
        boolean earlier = replies.storedFromLine(accountId, line.id(), ulid);
        // a rerun of a request whose message was stored answers it, also once the line is deleted
        if (earlier && line.deleted()) {
            String id = DirectReplies.lineMessageId(line.id(), ulid);
            return replies.findFromLine(accountId, line.id(), id).orElseThrow(() -> new IllegalStateException(id + " not stored"));
        }
        if (line.deleted()) throw ApiException.notFound("line");
        String to = PhoneNumbers.e164FromBody("to", toInput, country);
        if (to.equals(line.phone())) throw ApiException.invalid("to: is the line's own number");
        if (!earlier && optOuts.get(line.id(), to).isPresent()) {
            throw ApiException.conflict(to + " has opted out of this line: nothing can be sent to it from the line"
                    + " until it texts START");
        }
        return replies.sendFromLine(accountId, line, to, body, mediaUrls, ulid, earlier ? List.of() // its mark as a reply's
                : List.of(privately.markItem(accountId, line.id(), to, clock.millis(), DirectReplies.lineMessageId(line.id(), ulid))));
    }

    /** Whether a run of a request stored the line's message under {@code ulid}. */
    public boolean storedFromLine(String accountId, String lineId, String ulid) {
        return replies.storedFromLine(accountId, lineId, ulid);
    }

    public DirectReplies.Reply getFromLine(String accountId, String lineId, String id) {
        requireLine(accountId, lineId);
        return replies.findFromLine(accountId, lineId, id).orElseThrow(() -> ApiException.notFound("message"));
    }

    /** The line's own messages, oldest first; with {@code to} (E.164), only those to that number. */
    public DirectReplies.ReplyPage listFromLine(String accountId, String lineId, String to, int limit, Map<String, AttributeValue> start) {
        requireLine(accountId, lineId);
        return replies.listFromLine(accountId, lineId, to, limit, start);
    }

    /** The line's history is read also once it is deleted. */
    private void requireLine(String accountId, String lineId) {
        if (lines.findKept(accountId, lineId).isEmpty()) throw ApiException.notFound("line");
    }

    /** Whether a run of a request stored its reply under {@code ulid} (an Idempotency-Key's rerun keeps its ids). */
    public boolean stored(String accountId, String inboundId, String ulid) {
        return replies.stored(accountId, inboundId, ulid);
    }

    public DirectReplies.ReplyPage list(String accountId, String inboundId, int limit, Map<String, AttributeValue> start) {
        return replies.list(accountId, find(accountId, inboundId).id(), limit, start);
    }

    private InboundMessage find(String accountId, String inboundId) {
        if (inboundId == null || !inboundId.startsWith(InboundMessage.ID_PREFIX)) throw ApiException.notFound("inbound message");
        return inbound.get(accountId, inboundId).orElseThrow(() -> ApiException.notFound("inbound message"));
    }
}
