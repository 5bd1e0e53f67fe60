package groupmsg.accounts;

import groupmsg.platform.api.Role;

import java.util.List;
import java.util.Set;

/**
 * Account-wide settings (API.md, "Account and keys"), and an extension: {@code groupMessageAnswers}, where a
 * conversation participant's text goes when a group message the business sent from the line reached them after the
 * conversation's latest message: {@link #ANSWERS_TO_CONVERSATION} (API.md's rule, the default) or
 * {@link #ANSWERS_DIRECT} (a direct reply linked to that group message, relayed to nobody).
 */
public record AccountSettings(Set<Role> groupChatRoles, int maxConversationParticipants, String conversationOptOutPolicy,
                              String groupMessageAnswers) {
    public static final String EXCLUDE_PARTICIPANT = "exclude_participant";
    public static final String BLOCK_CONVERSATION = "block_conversation";
    public static final List<String> OPT_OUT_POLICIES = List.of(EXCLUDE_PARTICIPANT, BLOCK_CONVERSATION);
    public static final String ANSWERS_TO_CONVERSATION = "conversation";
    public static final String ANSWERS_DIRECT = "direct";
    public static final List<String> GROUP_MESSAGE_ANSWERS = List.of(ANSWERS_TO_CONVERSATION, ANSWERS_DIRECT);
    public static final int MIN_PARTICIPANTS = 2;
    public static final int MAX_PARTICIPANTS = 10;

    public static AccountSettings defaults() {
        return new AccountSettings(Set.of(Role.OWNER, Role.ADMIN, Role.MEMBER), 9, EXCLUDE_PARTICIPANT, ANSWERS_TO_CONVERSATION);
    }

    /**
     * The settings a PATCH names (null: not given, left as they are): only these are written, so two PATCHes of
     * different settings at once both stand.
     */
    public record Change(Set<Role> groupChatRoles, Integer maxConversationParticipants, String conversationOptOutPolicy,
                         String groupMessageAnswers) {
        public boolean isEmpty() {
            return groupChatRoles == null && maxConversationParticipants == null && conversationOptOutPolicy == null
                    && groupMessageAnswers == null;
        }
    }
}
