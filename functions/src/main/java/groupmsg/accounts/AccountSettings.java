package groupmsg.accounts;

import groupmsg.platform.api.Role;

import java.util.List;
import java.util.Set;

/** Account-wide settings (API.md, "Account and keys"). */
public record AccountSettings(Set<Role> groupChatRoles, int maxConversationParticipants, String conversationOptOutPolicy) {
    public static final String EXCLUDE_PARTICIPANT = "exclude_participant";
    public static final String BLOCK_CONVERSATION = "block_conversation";
    public static final List<String> OPT_OUT_POLICIES = List.of(EXCLUDE_PARTICIPANT, BLOCK_CONVERSATION);
    public static final int MIN_PARTICIPANTS = 2;
    public static final int MAX_PARTICIPANTS = 10;

    public static AccountSettings defaults() {
        return new AccountSettings(Set.of(Role.OWNER, Role.ADMIN, Role.MEMBER), 9, EXCLUDE_PARTICIPANT);
    }
}
