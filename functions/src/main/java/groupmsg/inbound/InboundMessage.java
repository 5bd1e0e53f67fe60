package groupmsg.inbound;

import groupmsg.messages.BroadcastReplies;

import java.util.List;

/**
 * A message a phone sent to one of the business's lines.
 *
 * @param keyword        null unless the whole message is a carrier keyword
 * @param alsoAReply     an opt-in keyword that is also an everyday answer ("Yes") from a number that was not opted
 *                       out on the line when it arrived: handled as the opt-in it is, and relayed as a reply too
 * @param conversationId the reply-all conversation it belongs to (a keyword: the one it came from), or null for a
 *                       direct reply to the line (a keyword: none, or not routed yet)
 * @param threadUlid     the time-ordered part of its thread message's id, given when the inbound worker takes it
 *                       up (so its place in the thread is where it was relayed, see {@code InboundRouter}); null
 *                       before that, and for replies routed before threads were ordered so (their own id's)
 * @param routed         whether its conversation was looked for: a reply's when it arrived (the webhook), unless that
 *                       failed (the inbound worker's then, as for texts stored before replies were routed so); a
 *                       keyword's by its worker ({@code InboundService.routeKeyword}; before, on arrival too)
 * @param inReplyTo      the group message a direct reply (a "Yes" that is also one too) or a STOP answers (see
 *                       {@link BroadcastReplies}), linked by the inbound or opt-out worker; null for other keywords,
 *                       a conversation's texts, or none found
 * @param review         what a person decided the text was (an opt-out or not), or null until someone reviews it
 * @param fromName       who sent it, as the business knows them: their name in the conversation it was routed to,
 *                       else in the group of the group message it answers (set with the link); null for a number
 *                       without one there, or none
 * @param keywordAction  what it did as one of its line's own keywords (JOIN), or null
 * @param fromLine       sent by another account's line (a business, not a person): a direct reply never routed into
 *                       a conversation nor published to integrations (two accounts' bots or conversations answered
 *                       each other for ever)
 * @param handedOn       stored by the inbound worker from the job its webhook handed it on in (its store failed or
 *                       was slow): its id is of when it was stored, which may be after texts that came after it (a
 *                       START's place among the number's STOPs is where it came, see {@code OptOutStore.position})
 */
public record InboundMessage(String id, String accountId, String lineId, String linePhone, String from, String body,
                             List<String> mediaUrls, Keywords.Keyword keyword, boolean possibleOptOut,
                             boolean alsoAReply, String conversationId, String carrierMessageId, long createdAt,
                             String threadUlid, boolean routed, BroadcastReplies.Answered inReplyTo,
                             Review review, String fromName, KeywordAction keywordAction, boolean fromLine,
                             boolean handedOn) {
    public static final String ID_PREFIX = "inb_";

    /** A message stored as it came (not {@link #handedOn}). */
    public InboundMessage(String id, String accountId, String lineId, String linePhone, String from, String body,
                          List<String> mediaUrls, Keywords.Keyword keyword, boolean possibleOptOut, boolean alsoAReply,
                          String conversationId, String carrierMessageId, long createdAt, String threadUlid,
                          boolean routed, BroadcastReplies.Answered inReplyTo, Review review, String fromName,
                          KeywordAction keywordAction, boolean fromLine) {
        this(id, accountId, lineId, linePhone, from, body, mediaUrls, keyword, possibleOptOut, alsoAReply, conversationId,
                carrierMessageId, createdAt, threadUlid, routed, inReplyTo, review, fromName, keywordAction, fromLine, false);
    }

    /** A message from a phone (not another account's line). */
    public InboundMessage(String id, String accountId, String lineId, String linePhone, String from, String body,
                          List<String> mediaUrls, Keywords.Keyword keyword, boolean possibleOptOut, boolean alsoAReply,
                          String conversationId, String carrierMessageId, long createdAt, String threadUlid,
                          boolean routed, BroadcastReplies.Answered inReplyTo, Review review, String fromName,
                          KeywordAction keywordAction) {
        this(id, accountId, lineId, linePhone, from, body, mediaUrls, keyword, possibleOptOut, alsoAReply, conversationId,
                carrierMessageId, createdAt, threadUlid, routed, inReplyTo, review, fromName, keywordAction, false, false);
    }

    /**
     * What a text that is one of its line's own keywords does (see {@code LineKeywordService}): its sender joins or
     * leaves the group. Recorded before the membership changes (a retry follows it, whatever the keyword says since);
     * {@code appliedAt} once it changed (null before).
     */
    public record KeywordAction(String keyword, String action, String groupId, Long appliedAt) {}

    /** The same message, with what its line keyword did. */
    public InboundMessage withKeywordAction(KeywordAction done) {
        return new InboundMessage(id, accountId, lineId, linePhone, from, body, mediaUrls, keyword, possibleOptOut,
                alsoAReply, conversationId, carrierMessageId, createdAt, threadUlid, routed, inReplyTo, review, fromName, done,
                fromLine, handedOn);
    }

    /**
     * A person's reading of a text ({@code POST /v1/inbound/{id}/review}), such as "stop texting me", which no keyword
     * matched: whether it asked for no more messages.
     *
     * @param optOut     true when it did (the number was opted out of the line), false when it did not
     * @param reviewedBy the id of the API key that reviewed it
     */
    public record Review(boolean optOut, long reviewedAt, String reviewedBy) {
        public String decision() {
            return optOut ? "opt_out" : "not_opt_out";
        }
    }

    /** The same message, in its conversation's thread, its sender named as there when it had no name ({@code name}). */
    public InboundMessage withConversation(String conversationId, String threadUlid, String name) {
        return new InboundMessage(id, accountId, lineId, linePhone, from, body, mediaUrls, keyword, possibleOptOut,
                alsoAReply, conversationId, carrierMessageId, createdAt, threadUlid, routed, inReplyTo, review,
                fromName != null ? fromName : name, keywordAction, fromLine, handedOn);
    }

    /**
     * The same keyword, its routing on arrival recorded: the conversation it came from (null: none), its sender named
     * as that conversation names them (when not named already).
     */
    public InboundMessage routedTo(String conversationId, String name) {
        return new InboundMessage(id, accountId, lineId, linePhone, from, body, mediaUrls, keyword, possibleOptOut,
                alsoAReply, conversationId, carrierMessageId, createdAt, threadUlid, true, inReplyTo, review,
                fromName != null ? fromName : name, keywordAction, fromLine, handedOn);
    }

    /** The same message, linked to the group message it answers, its sender named as that group names them. */
    public InboundMessage withInReplyTo(BroadcastReplies.Answered answered, String memberName) {
        return new InboundMessage(id, accountId, lineId, linePhone, from, body, mediaUrls, keyword, possibleOptOut,
                alsoAReply, conversationId, carrierMessageId, createdAt, threadUlid, routed, answered, review,
                fromName != null ? fromName : memberName, keywordAction, fromLine, handedOn);
    }
}
