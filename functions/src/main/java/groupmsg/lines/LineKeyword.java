package groupmsg.lines;

import java.util.Optional;

/**
 * A keyword of the line's own (an extension of API.md): a text that is this word alone, to the line, joins its sender
 * to a group, or takes them out of it ("Text JOIN to 555-0100"), and is answered with {@code reply}.
 *
 * @param keyword as matched: upper case, widths and accents on Latin and Greek letters folded
 *                ({@code groupmsg.inbound.Keywords#lineKeyword})
 * @param reply   the answer; null for the default ({@link #defaultReply})
 */
public record LineKeyword(String lineId, String keyword, Action action, String groupId, String reply, long createdAt,
                          long updatedAt) {
    /** What a text of the keyword does to its sender's membership of the group. */
    public enum Action {
        JOIN("join"), LEAVE("leave");

        private final String wireName;

        Action(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        public static Optional<Action> fromWire(String value) {
            for (Action a : values()) if (a.wireName.equals(value)) return Optional.of(a);
            return Optional.empty();
        }
    }

    /** How many keywords of its own a line may have. */
    public static final int MAX_PER_LINE = 20;

    /**
     * The answer a keyword without a reply of its own gets, naming the group as it is called when the text comes. A
     * join's says how to stop the messages: carriers want an opt-in's confirmation to.
     */
    public static String defaultReply(Action action, String groupName) {
        return switch (action) {
            case JOIN -> "You joined " + groupName + ". Reply STOP to opt out.";
            case LEAVE -> "You left " + groupName + ".";
        };
    }

    /** The answer to a text of it, in a group called {@code groupName} now. */
    public String replyFor(String groupName) {
        return reply != null ? reply : defaultReply(action, groupName);
    }
}
