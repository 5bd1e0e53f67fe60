package groupmsg.inbound;

import groupmsg.groups.GroupService;
import groupmsg.lines.Line;
import groupmsg.lines.LineKeyword;
import groupmsg.lines.LineKeywordService;
import groupmsg.lines.LineService;
import groupmsg.messages.DirectMessages;
import groupmsg.messages.MessageKind;
import groupmsg.groups.PhoneNumbers;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * What a text that is one of its line's own keywords does (the inbound worker's, for a text to the line itself: in a
 * conversation a "join" is the participants' to read): its sender joins the keyword's group (or leaves it), and the
 * line answers. Each step once: what it is to do is recorded on the text first ({@code keywordAction}), the membership
 * change marked done in its own transaction, and the answer has the text's id ({@code lkr_<inboundId>}). An opted-out
 * number joins, but gets no answer (only the carriers' keywords are answered to it; START opts it in).
 */
final class LineKeywordActions {
    private final LineKeywordService keywords;
    private final GroupService groups;
    private final LineService lines;
    private final InboundStore store;
    private final DirectMessages direct;
    private final Clock clock;

    LineKeywordActions(Wiring wiring, QueueSender queue) {
        this.clock = wiring.clock();
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

    /**
     * Does what {@code m} asks as a line keyword, if it is one: the message as it is then (with its action). What it is
     * to do is recorded first, once, and followed by every run (a retry after the keyword was changed or deleted does
     * what the text asked when it came); the membership change is marked done in its own transaction, so a retry does
     * not make it again (a member the business removed meanwhile stays removed).
     */
    InboundMessage apply(InboundMessage m) {
        if (!mayApply(m)) return m;
        LineKeyword keyword = null; // the keyword as this run read it: a retry follows the record alone
        if (m.keywordAction() == null) {
            keyword = keywords.match(m.accountId(), m.lineId(), m.body()).orElse(null);
            if (keyword == null) return m;
            if ((keyword.action() == LineKeyword.Action.JOIN ? PhoneNumbers.normalize(m.from(), null)
                    : PhoneNumbers.normalizeExisting(m.from(), null)) instanceof PhoneNumbers.Invalid) {
                // a sender that is no phone number (a short code, an alphanumeric id): no member to make; one to leave
                // only in E.164 (a member whose number the metadata no longer takes may still leave)
                Log.warn("line_keyword_sender_not_a_number", Map.of("lineId", m.lineId(), "inboundId", m.id()));
                return m;
            }
            // a group deleted since the keyword was set up is found gone by the change below, which takes this off
            m = store.recordKeywordAction(m, new InboundMessage.KeywordAction(keyword.keyword(), keyword.action().wireName(),
                    keyword.groupId(), null));
        }
        var done = m.keywordAction();
        var action = LineKeyword.Action.fromWire(done.action()).orElseThrow();
        if (done.appliedAt() == null) {
            boolean madeNow;
            try {
                // marked done in the change's own transaction: a retry never makes it again (a member the business
                // removed since stays removed), and one made is always marked
                madeNow = groups.changeMembershipOnce(m.accountId(), done.groupId(), m.from(), action == LineKeyword.Action.JOIN,
                        store.keywordActionApplied(m.accountId(), m.id(), clock.millis()));
            } catch (ApiException e) {
                if (e.code() != ErrorCode.NOT_FOUND) throw e; // a busy group: the job's retry does it
                // deleted (since the keyword was set up, or meanwhile): nobody joined or left it, nothing to answer,
                // and the text is an ordinary reply
                Log.warn("line_keyword_group_gone", Map.of("lineId", m.lineId(), "inboundId", m.id(), "groupId", done.groupId()));
                store.clearKeywordAction(m.accountId(), m.id());
                return m.withKeywordAction(null);
            }
            if (madeNow) {
                Log.info("line_keyword_applied", Map.of("lineId", m.lineId(), "inboundId", m.id(), "action", done.action(),
                        "groupId", done.groupId()));
            } else if (store.get(m.accountId(), m.id()).map(InboundMessage::keywordAction).isEmpty()) {
                // the mark's condition failed for its record taken off: another run of the job found the group gone
                return m.withKeywordAction(null);
            }
            // else made by an earlier run, whose answer may not have gone (sent below, once by its id)
        }
        answer(m, action, keyword);
        return m;
    }

    /**
     * The id of the line's answer to a keyword text is this and the text's id: one answer however often its job runs.
     * Not the carrier keywords' {@code rpl_}: a review of the text as an opt-out confirms it under that id.
     */
    static final String REPLY_ID_PREFIX = "lkr_";

    /**
     * The line's answer to {@code m}: the keyword's reply as it is set now (or the default, naming the group as it is
     * called now), through the relays queue in order with the line's other answers to the number. None from a line
     * deleted since, nor for a group deleted since (then the member has gone with it). {@code read}: the keyword as
     * this run read it, or null (a retry's: read now).
     */
    private void answer(InboundMessage m, LineKeyword.Action action, LineKeyword read) {
        Line line = lines.find(m.accountId(), m.lineId()).orElse(null);
        var group = keywords.group(m.accountId(), m.keywordAction().groupId()).orElse(null);
        if (line == null || group == null) {
            Log.info("line_keyword_not_answered", Map.of("inboundId", m.id(), "lineGone", line == null));
            return;
        }
        var current = read != null ? java.util.Optional.of(read)
                : keywords.find(m.accountId(), m.lineId(), m.keywordAction().keyword());
        String reply = current.filter(k -> k.action() == action && k.groupId().equals(group.id()))
                .map(k -> k.replyFor(group.name()))
                .orElse(LineKeyword.defaultReply(action, group.name()));
        // not rpl_<id>: a review of the text as an opt-out confirms it under that id, which this answer held (the
        // confirmation was then never sent)
        direct.send(REPLY_ID_PREFIX + m.id(), m.accountId(), line, MessageKind.LINE_KEYWORD_REPLY,
                List.of(m.from()), reply, List.of(), DirectMessages.orderToNumber(line, m.from()));
    }
}
