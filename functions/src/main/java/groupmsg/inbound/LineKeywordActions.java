package groupmsg.inbound;

import groupmsg.groups.GroupService;
import groupmsg.lines.Line;
import groupmsg.lines.LineKeyword;
import groupmsg.lines.LineKeywordService;
import groupmsg.lines.LineService;
import groupmsg.messages.DirectMessages;
import groupmsg.messages.MessageKind;
import groupmsg.optout.OptOutService;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;

import java.util.List;
import java.util.Map;

/**
 * What a text that is one of its line's own keywords does (the inbound worker's, for a text to the line itself: in a
 * conversation a "join" is the participants' to read): its sender joins the keyword's group (or leaves it), and the
 * line answers. Each step once: the membership changes before the text records it ({@code keywordAction}), so a
 * retry finds it recorded and only answers, and the answer has the text's id ({@code rpl_<inboundId>}). An opted-out
 * number joins, but gets no answer (only the carriers' keywords are answered to it; START opts it in).
 */
final class LineKeywordActions {
    private final LineKeywordService keywords;
    private final GroupService groups;
    private final LineService lines;
    private final InboundStore store;
    private final DirectMessages direct;

    LineKeywordActions(Wiring wiring, QueueSender queue) {
        this.keywords = new LineKeywordService(wiring);
        this.groups = new GroupService(wiring);
        this.lines = new LineService(wiring);
        this.store = new InboundStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.direct = new DirectMessages(wiring, queue);
    }

    /**
     * Whether {@code m} may be a line keyword, read without the table: a text to the line itself (not in a
     * conversation, no carrier keyword) shaped as one, or one that acted as one already.
     */
    static boolean mayApply(InboundMessage m) {
        return m.conversationId() == null && m.keyword() == null
                && (m.keywordAction() != null || Keywords.asLineKeyword(m.body()) != null);
    }

    /** Does what {@code m} asks as a line keyword, if it is one: the message as it is then (with its action). */
    InboundMessage apply(InboundMessage m) {
        if (!mayApply(m)) return m;
        if (m.keywordAction() != null) {
            answer(m, LineKeyword.Action.fromWire(m.keywordAction().action()).orElseThrow());
            return m;
        }
        LineKeyword keyword = keywords.match(m.accountId(), m.lineId(), m.body()).orElse(null);
        if (keyword == null) return m;
        var member = List.of(new GroupService.MemberInput(m.from(), null, null));
        try {
            boolean changed = switch (keyword.action()) {
                case JOIN -> groups.addMembers(m.accountId(), keyword.groupId(), member).invalid().isEmpty();
                case LEAVE -> groups.removeMembers(m.accountId(), keyword.groupId(), member).invalid().isEmpty();
            };
            if (!changed) {
                // a sender that is no phone number (a short code, an alphanumeric id): no member to make
                Log.warn("line_keyword_sender_not_a_number", Map.of("lineId", m.lineId(), "inboundId", m.id()));
                return m;
            }
        } catch (ApiException e) {
            if (e.code() != ErrorCode.NOT_FOUND) throw e; // a busy group: the job's retry does it
            // deleted since the keyword was set up: an ordinary text, as it reads
            Log.warn("line_keyword_group_gone", Map.of("lineId", m.lineId(), "inboundId", m.id(), "groupId", keyword.groupId()));
            return m;
        }
        Log.info("line_keyword_applied", Map.of("lineId", m.lineId(), "inboundId", m.id(), "action", keyword.action().wireName(),
                "groupId", keyword.groupId()));
        var done = store.recordKeywordAction(m, new InboundMessage.KeywordAction(keyword.keyword(),
                keyword.action().wireName(), keyword.groupId()));
        answer(done, keyword.action());
        return done;
    }

    /**
     * The line's answer to {@code m}: the keyword's reply as it is set now (or the default, naming the group as it is
     * called now), through the relays queue in order with the line's other answers to the number. None from a line
     * deleted since, nor for a group deleted since (then the member has gone with it).
     */
    private void answer(InboundMessage m, LineKeyword.Action action) {
        Line line = lines.find(m.accountId(), m.lineId()).orElse(null);
        var group = keywords.group(m.accountId(), m.keywordAction().groupId()).orElse(null);
        if (line == null || group == null) {
            Log.info("line_keyword_not_answered", Map.of("inboundId", m.id(), "lineGone", line == null));
            return;
        }
        String reply = keywords.find(m.accountId(), m.lineId(), m.keywordAction().keyword())
                .filter(k -> k.action() == action && k.groupId().equals(group.id()))
                .map(k -> k.replyFor(group.name()))
                .orElse(LineKeyword.defaultReply(action, group.name()));
        direct.send(OptOutService.REPLY_ID_PREFIX + m.id(), m.accountId(), line, MessageKind.LINE_KEYWORD_REPLY,
                List.of(m.from()), reply, List.of(), DirectMessages.orderToNumber(line, m.from()));
    }
}
