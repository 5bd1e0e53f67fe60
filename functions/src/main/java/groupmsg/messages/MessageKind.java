package groupmsg.messages;

/**
 * What an outbound message is. All kinds go through the same pipeline (fan-out, paced delivery, status, usage);
 * they differ in where the recipients come from, whether opt-outs stop them, and what is announced when done.
 */
public enum MessageKind {
    /** A broadcast to a group's members at acceptance; announced as {@code group_message.accepted}, then {@code group_message.sent}. */
    GROUP("group", false),
    /**
     * The line's answer to STOP or HELP: sent even to an opted-out number (the confirmation of an opt-out and the
     * answer to HELP are the messages carriers still allow).
     */
    KEYWORD_REPLY("keyword_reply", true),
    /**
     * The line's answer to START (or another opt-in keyword). Unlike the others it is stopped by an opt-out: a STOP
     * that came after the START (recorded as it arrives) must not be followed by "you are subscribed again".
     */
    OPT_IN_REPLY("opt_in_reply", false),
    /**
     * The line's answer to one of its own keywords (a JOIN: see {@code LineKeywordService}). Stopped by an opt-out: only
     * the carriers' keywords are answered to an opted-out number.
     */
    LINE_KEYWORD_REPLY("line_keyword_reply", false),
    /** A message in a reply-all conversation (a relayed reply or the business's own); in order per conversation. */
    CONVERSATION("conversation", false),
    /**
     * The business's answer to one inbound message, to its sender alone; in order per line and number. Stopped by an
     * opt-out, as everything but the keyword replies.
     */
    DIRECT_REPLY("direct_reply", false),
    /**
     * The business's own message to one number from a line, answering nothing ({@code POST /v1/lines/{id}/messages});
     * in order per line and number with the answers. Stopped by an opt-out.
     */
    DIRECT_MESSAGE("direct_message", false);

    private final String wireName;
    private final boolean ignoresOptOut;

    MessageKind(String wireName, boolean ignoresOptOut) {
        this.wireName = wireName;
        this.ignoresOptOut = ignoresOptOut;
    }

    public String wireName() {
        return wireName;
    }

    public boolean ignoresOptOut() {
        return ignoresOptOut;
    }

    /** Items written before kinds existed have none: they are group messages. */
    public static MessageKind fromWire(String value) {
        if (value == null) return GROUP;
        for (MessageKind kind : values()) if (kind.wireName.equals(value)) return kind;
        throw new IllegalArgumentException("unknown message kind " + value);
    }
}
