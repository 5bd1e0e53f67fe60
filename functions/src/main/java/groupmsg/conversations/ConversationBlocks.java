package groupmsg.conversations;

import groupmsg.accounts.AccountService;
import groupmsg.accounts.AccountSettings;
import groupmsg.lines.Line;
import groupmsg.lines.LineService;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.util.Map;

/**
 * What an opt-out does to conversations under {@code block_conversation}: every conversation on the line that
 * includes the number is blocked for good (the number's START later, or the policy switched back, does not reopen
 * it: a new conversation is how the business goes on with the others).
 */
public final class ConversationBlocks {
    private final ConversationStore store;
    private final AccountService accounts;
    private final OptOutStore optOuts;
    private final LineService lines;

    public ConversationBlocks(Wiring wiring) {
        var ops = new DynamoOps(wiring.dynamo());
        this.store = new ConversationStore(ops, wiring.config().table(Tables.CORE));
        this.accounts = new AccountService(wiring);
        this.optOuts = new OptOutStore(ops, wiring.config().table(Tables.CORE));
        this.lines = new LineService(wiring);
    }

    public static final String BLOCKED_REASON = "not sent: the conversation was blocked by an opt-out";
    public static final String CLOSED_REASON = "not sent: the conversation was closed";
    public static final String LINE_OFF_REASON = "not sent: the line's group messaging was switched off";

    /**
     * Why a conversation message accepted earlier, not sent yet, goes to nobody now (its copies fail with it, never
     * billed), or null when it goes: the conversation was blocked or closed since, or its line's group messaging
     * switched off (each refuses new messages; this stops those already on their way, as a block's does). A
     * conversation or line not found is left to the delivery's own checks.
     */
    public String whyNothingMoreIsSent(String accountId, String conversationId) {
        Conversation c = store.get(accountId, conversationId).orElse(null);
        if (c == null) return null;
        if (c.closedAt() != null) return CLOSED_REASON;
        if (blockedNow(accountId, c)) return BLOCKED_REASON;
        Line line = lines.find(accountId, c.lineId()).orElse(null);
        if (line != null && !line.groupMessagingAllowed()) return LINE_OFF_REASON;
        return null;
    }

    /**
     * Whether the conversation is blocked, so that nothing more of it goes out (API.md: under block_conversation one
     * opt-out blocks all further messages in that conversation): blocked for good already, or one of its
     * participants is opted out of its line under block_conversation (the block itself is recorded a moment after
     * the STOP, by the opt-out worker).
     */
    private boolean blockedNow(String accountId, Conversation c) {
        return blockedNow(c, c.blockedAt() != null ? null : policy(accountId));
    }

    /** {@link #blockedNow(String, Conversation)} under the account's {@code policy}, read once by the caller. */
    boolean blockedNow(Conversation c, String policy) {
        if (c.blockedAt() != null) return true;
        if (!AccountSettings.BLOCK_CONVERSATION.equals(policy)) return false;
        return isBlocked(c, !optOuts.optedOut(c.lineId(), c.participants().stream().map(Conversation.Participant::phone).toList()).isEmpty(), policy);
    }

    /** The account's conversationOptOutPolicy (the default for an account not found: none of its conversations is). */
    String policy(String accountId) {
        return settings(accountId).conversationOptOutPolicy();
    }

    /** The account's settings (the defaults for an account not found). */
    AccountSettings settings(String accountId) {
        try {
            return accounts.account(accountId).settings();
        } catch (groupmsg.platform.api.ApiException e) {
            if (e.code() != groupmsg.platform.api.ErrorCode.NOT_FOUND) throw e;
            return AccountSettings.defaults();
        }
    }

    /**
     * The rule: blocked for good by an opt-out under block_conversation ({@code blockedAt}), or now, when someone in
     * it is opted out of its line and the account's policy blocks (the block itself is recorded a moment later).
     */
    static boolean isBlocked(Conversation c, boolean anyoneOptedOut, String policy) {
        return c.blockedAt() != null || anyoneOptedOut && AccountSettings.BLOCK_CONVERSATION.equals(policy);
    }

    /**
     * Blocks the conversations {@code phone} is in on the line, as of {@code at} (the opt-out's time), when the
     * account's policy is {@code block_conversation}; returns how many were blocked now. Idempotent: a retry, or a
     * second opt-out, blocks nothing more and keeps the first time.
     */
    public int afterOptOut(String accountId, String lineId, String phone, long at) {
        var policy = accounts.account(accountId).settings().conversationOptOutPolicy();
        if (!AccountSettings.BLOCK_CONVERSATION.equals(policy)) return 0;
        int blocked = 0;
        for (String id : store.openConversationIdsWith(accountId, lineId, phone)) {
            if (store.markBlocked(accountId, id, at, phone)) blocked++;
        }
        if (blocked > 0) Log.info("conversations_blocked", Map.of("lineId", lineId, "count", blocked));
        return blocked;
    }
}
