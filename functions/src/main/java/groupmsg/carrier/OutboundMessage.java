package groupmsg.carrier;

import java.util.List;

/**
 * One message for one recipient.
 *
 * @param statusCallbackUrl where the carrier reports delivery status (null: no callbacks)
 */
public record OutboundMessage(String from, String to, String body, List<String> mediaUrls, String statusCallbackUrl) {
    /**
     * The most a carrier takes in one message body, in UTF-16 units (Twilio refuses a longer one with 21617;
     * the local emulator counts the same way).
     */
    public static final int MAX_BODY_CHARS = 1600;

    /** The most media URLs one message takes (Twilio's limit for an MMS). */
    public static final int MAX_MEDIA_URLS = 10;

    /**
     * {@code prefix + body}, with the body's end cut (and "..." put in its place) where the whole would not fit in
     * one message. For text the sender cannot be asked to shorten, like a participant's reply being relayed. The
     * marker is plain dots: an ellipsis character is not in the GSM-7 alphabet and would turn the whole text into
     * UCS-2, doubling its segments.
     */
    public static String fitted(String prefix, String body) {
        if (prefix.length() + body.length() <= MAX_BODY_CHARS) return prefix + body;
        return prefix + cut(body, MAX_BODY_CHARS - prefix.length() - CUT_MARK.length()) + CUT_MARK;
    }

    /**
     * {@code "<author>: <body>"} where it fits in one message; else the body whole after as much of the author's name
     * as fits, or alone. For a text whose body must arrive whole, like a group message, where the author is the
     * business whose line sends it.
     */
    public static String authored(String author, String body) {
        int room = MAX_BODY_CHARS - body.length() - AUTHOR_SEPARATOR.length();
        if (author.length() <= room) return author + AUTHOR_SEPARATOR + body;
        String shortened = cut(author, room).strip();
        return shortened.isEmpty() ? body : shortened + AUTHOR_SEPARATOR + body;
    }

    /**
     * Why {@code body} cannot go in one carrier message, or null when it can. API bodies are limited in characters
     * (code points); the carrier counts UTF-16 units, in which an emoji or another character beyond the Basic
     * Multilingual Plane is 2, so a body within the character limit can still be too long to send.
     */
    public static String tooLongToSend(String body) {
        if (body == null || body.length() <= MAX_BODY_CHARS) return null;
        return "is too long for one carrier message: " + body.length() + " units where at most " + MAX_BODY_CHARS
                + " go (an emoji or another character beyond the Basic Multilingual Plane counts as 2)";
    }

    private static final String CUT_MARK = "...";
    private static final String AUTHOR_SEPARATOR = ": ";

    /** At most {@code units} UTF-16 units of {@code text}, never splitting a surrogate pair. */
    private static String cut(String text, int units) {
        int keep = Math.max(0, Math.min(units, text.length()));
        if (keep > 0 && Character.isHighSurrogate(text.charAt(keep - 1))) keep--;
        return text.substring(0, keep);
    }

    public OutboundMessage {
        mediaUrls = mediaUrls == null ? List.of() : List.copyOf(mediaUrls);
    }
}
