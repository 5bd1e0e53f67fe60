package groupmsg.carrier;

import java.util.List;

/**
 * One message for one recipient.
 *
 * @param statusCallbackUrl where the carrier reports delivery status (null: no callbacks)
 */
public record OutboundMessage(String from, String to, String body, List<String> mediaUrls, String statusCallbackUrl) {
    public OutboundMessage {
        mediaUrls = mediaUrls == null ? List.of() : List.copyOf(mediaUrls);
    }
}
