package groupmsg.conversations;

import groupmsg.carrier.OutboundMessage;

import java.util.List;

/**
 * One message of a conversation's thread: a participant's reply ({@code inbound}, author phone) or the
 * business's message ({@code outbound}, author API key).
 *
 * @param createdAt  its place in the thread: for a reply, when it was routed and relayed
 * @param inboundId  a reply's inbound message (null for the business's, and for replies relayed before it was kept)
 * @param receivedAt when a reply reached the line (null as {@code inboundId})
 * @param authorName the name the business's message was signed with ({@code sender}; null: unsigned, and on replies)
 * @param outcome    what became of a reply ({@code active}: relayed to the others; {@code blocked}, {@code closed},
 *                   {@code line_off}, {@code empty}: kept, not relayed); null for the business's, and for replies stored before it
 */
public record ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                           String body, List<String> mediaUrls, long createdAt, String inboundId, Long receivedAt,
                           String authorName, String outcome) {
    public static final String ID_PREFIX = "cmsg_";
    public static final String INBOUND = "inbound";
    public static final String OUTBOUND = "outbound";

    /** A message with no outcome recorded (the business's, or a reply before its outcome is decided). */
    public ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                         String body, List<String> mediaUrls, long createdAt, String inboundId, Long receivedAt,
                         String authorName) {
        this(id, conversationId, direction, authorPhone, authorKeyId, body, mediaUrls, createdAt, inboundId, receivedAt,
                authorName, null);
    }

    /** A message with no inbound message behind it (the business's). */
    public ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                         String body, List<String> mediaUrls, long createdAt) {
        this(id, conversationId, direction, authorPhone, authorKeyId, body, mediaUrls, createdAt, null, null, null);
    }

    /** A participant's reply, with its inbound message. */
    public ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                         String body, List<String> mediaUrls, long createdAt, String inboundId, Long receivedAt) {
        this(id, conversationId, direction, authorPhone, authorKeyId, body, mediaUrls, createdAt, inboundId, receivedAt, null);
    }

    /** The business's message signed by {@code authorName} (null: unsigned). */
    public static ThreadMessage outbound(String id, String conversationId, String keyId, String authorName, String body,
                                         List<String> mediaUrls, long createdAt) {
        return new ThreadMessage(id, conversationId, OUTBOUND, null, keyId, body, mediaUrls, createdAt, null, null, authorName);
    }

    /**
     * What the participants receive of the business's message: "<sender>: <body>" when signed, else the body; a
     * picture alone goes signed "<sender>:", as a participant's is relayed with its author's name.
     */
    public String textToSend() {
        if (authorName == null) return body;
        return body.isEmpty() ? authorName + ":" : OutboundMessage.authored(authorName, body);
    }
}
