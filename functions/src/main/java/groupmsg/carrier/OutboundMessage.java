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

    /**
     * {@code prefix + body}, with the body's end cut (and an ellipsis put in its place) where the whole would not fit
     * in one message. For text the sender cannot be asked to shorten, like a participant's reply being relayed.
     */
    public static String fitted(String prefix, String body) {
        if (prefix.length() + body.length() <= MAX_BODY_CHARS) return prefix + body;
        int keep = Math.max(0, MAX_BODY_CHARS - prefix.length() - 1);
        // never split a surrogate pair
        if (keep > 0 && Character.isHighSurrogate(body.charAt(keep - 1))) keep--;
        return prefix + body.substring(0, keep) + "\u2026";
    }

    public OutboundMessage {
        mediaUrls = mediaUrls == null ? List.of() : List.copyOf(mediaUrls);
    }
}
