package groupmsg.conversations;

import java.util.List;

/**
 * A reply-all SMS thread on one group-messaging line. Participants are fixed at creation. {@code blockedAt}: when an
 * opt-out of one of them blocked it for good (the account's policy being {@code block_conversation} then), or null;
 * {@code closedAt}: when the business closed it (for good: nothing more is sent or relayed, replies route elsewhere).
 */
public record Conversation(String id, String accountId, String name, String lineId, String linePhone,
                           List<Participant> participants, long createdAt, long updatedAt, long lastActivityAt,
                           Long blockedAt, Long closedAt) {
    public static final String ID_PREFIX = "cnv_";

    public record Participant(String phone, String name) {
        /** How the others see this participant's relayed replies: the name, else the number. */
        public String displayName() {
            return name == null || name.isBlank() ? phone : name;
        }
    }
}
