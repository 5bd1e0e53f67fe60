package groupmsg.conversations;

import groupmsg.accounts.AccountService;
import groupmsg.accounts.AccountSettings;
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

    public ConversationBlocks(Wiring wiring) {
        this.store = new ConversationStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.accounts = new AccountService(wiring);
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
        for (String id : store.conversationIdsWith(accountId, lineId, phone)) {
            if (store.markBlocked(accountId, id, at)) blocked++;
        }
        if (blocked > 0) Log.info("conversations_blocked", Map.of("lineId", lineId, "count", blocked));
        return blocked;
    }
}
