package groupmsg.conversations;

import java.util.List;

/**
 * A reply-all SMS thread on one group-messaging line. Participants are fixed at creation. {@code blockedAt}: when an
 * opt-out of one of them blocked it for good (the account's policy being {@code block_conversation} then), or null;
 * {@code closedAt}: when the business closed it (for good: nothing more is sent or relayed, replies route elsewhere);
 * {@code lastMessage}: its thread's latest message, as a conversation list shows it (null for a conversation stored
 * before it was kept, until its next message); {@code openedAt}: when its create stored it, after what it read (a
 * group's members, for seconds): a text that came before then goes into no conversation created so, where
 * {@code createdAt}, the time of its id, is from before those reads.
 */
public record Conversation(String id, String accountId, String name, String lineId, String linePhone,
                           List<Participant> participants, long createdAt, long updatedAt, long lastActivityAt,
                           Long blockedAt, Long closedAt, LastMessage lastMessage, long openedAt) {
    public static final String ID_PREFIX = "cnv_";
    /** How much of the latest message's body a conversation keeps to show, in code points. */
    public static final int PREVIEW_CHARS = 100;

    /** One whose {@code openedAt} is its {@code createdAt}. */
    public Conversation(String id, String accountId, String name, String lineId, String linePhone,
                        List<Participant> participants, long createdAt, long updatedAt, long lastActivityAt,
                        Long blockedAt, Long closedAt, LastMessage lastMessage) {
        this(id, accountId, name, lineId, linePhone, participants, createdAt, updatedAt, lastActivityAt, blockedAt,
                closedAt, lastMessage, createdAt);
    }

    public Conversation withLastMessage(ThreadMessage latest) {
        return new Conversation(id, accountId, name, lineId, linePhone, participants, createdAt, updatedAt,
                lastActivityAt, blockedAt, closedAt, LastMessage.of(latest), openedAt);
    }

    /**
     * The thread's latest message in brief: its body's first {@link #PREVIEW_CHARS} characters ("..." when cut) and
     * how many media it has.
     */
    public record LastMessage(String id, String direction, String authorPhone, String authorKeyId, String authorName,
                              String preview, int mediaCount, long createdAt) {
        public static LastMessage of(ThreadMessage m) {
            String body = m.body() == null ? "" : m.body();
            String preview = body.codePointCount(0, body.length()) <= PREVIEW_CHARS ? body
                    : body.substring(0, body.offsetByCodePoints(0, PREVIEW_CHARS - 3)) + "...";
            return new LastMessage(m.id(), m.direction(), m.authorPhone(), m.authorKeyId(), m.authorName(), preview,
                    m.mediaUrls() == null ? 0 : m.mediaUrls().size(), m.createdAt());
        }
    }

    /**
     * How the others see {@code phone}'s relayed replies: the participant's name, with the last four digits of the
     * number when another participant goes by the same name (two Johns from a group would otherwise be one "John" to
     * everyone), else the number.
     */
    public String authorLabel(String phone) {
        Participant author = participants.stream().filter(p -> p.phone().equals(phone)).findFirst().orElse(null);
        if (author == null) return phone;
        String name = author.displayName();
        if (name.equals(phone)) return name;
        boolean shared = participants.stream().anyMatch(p -> !p.phone().equals(phone)
                && p.displayName().strip().equalsIgnoreCase(name.strip()));
        return shared ? name.strip() + " (" + phone.substring(Math.max(0, phone.length() - 4)) + ")" : name;
    }

    public record Participant(String phone, String name) {
        /** How the others see this participant's relayed replies: the name, else the number. */
        public String displayName() {
            return name == null || name.isBlank() ? phone : name;
        }
    }
}
