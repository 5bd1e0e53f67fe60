package groupmsg.conversations;

import java.util.List;

/**
 * One message of a conversation's thread: a participant's reply ({@code inbound}, author phone) or the
 * business's message ({@code outbound}, author API key).
 *
 * @param createdAt  its place in the thread: for a reply, when it was routed and relayed
 * @param inboundId  a reply's inbound message (null for the business's, and for replies relayed before it was kept)
 * @param receivedAt when a reply reached the line (null as {@code inboundId})
 */
public record ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                           String body, List<String> mediaUrls, long createdAt, String inboundId, Long receivedAt) {
    public static final String ID_PREFIX = "cmsg_";
    public static final String INBOUND = "inbound";
    public static final String OUTBOUND = "outbound";

    /** A message with no inbound message behind it (the business's). */
    public ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                         String body, List<String> mediaUrls, long createdAt) {
        this(id, conversationId, direction, authorPhone, authorKeyId, body, mediaUrls, createdAt, null, null);
    }
}
