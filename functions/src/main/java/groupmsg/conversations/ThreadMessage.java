package groupmsg.conversations;

import java.util.List;

/**
 * One message of a conversation's thread: a participant's reply ({@code inbound}, author phone) or the
 * business's message ({@code outbound}, author API key).
 */
public record ThreadMessage(String id, String conversationId, String direction, String authorPhone, String authorKeyId,
                           String body, List<String> mediaUrls, long createdAt) {
    public static final String ID_PREFIX = "cmsg_";
    public static final String INBOUND = "inbound";
    public static final String OUTBOUND = "outbound";
}
