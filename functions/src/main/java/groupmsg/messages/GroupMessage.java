package groupmsg.messages;

import java.util.List;

/**
 * An accepted outbound message. For a group message ({@link MessageKind#GROUP}) {@code acceptedAt} is the
 * snapshot instant: the recipients are the group's members present at that millisecond, and {@code recipients}
 * is the group's member count at acceptance until fan-out finishes, then the exact number of delivery rows.
 * Other kinds name their few recipients in {@code recipientList} (and have no group). {@code waitingUntil} (epoch
 * ms, 0 for never) is until when some of its delivery jobs wait in the queue for places in the line's waiting line.
 * {@code orderKey} (a conversation's id, or null) is the key whose messages reach their recipients in order: such a
 * message is sent, and sent again, only through the FIFO relays queue under that key. {@code groupName} is the
 * group's name when a group message was accepted (its history keeps it after a rename or the group's deletion) and
 * {@code sentByKeyId} the API key that sent it (both null on other kinds and on messages from before they were kept).
 * {@code replies} counts the texts linked to a group message as answers to it, {@code optOuts} the numbers that
 * opted out in answer to it (see {@link BroadcastReplies}).
 */
public record GroupMessage(String id, String accountId, String groupId, String lineId, String linePhone, double lineMps,
                           String sender, String title, String body, List<String> mediaUrls, String text,
                           SmsText.Encoding encoding, int segments, long recipients, int shards,
                           long acceptedAt, boolean fanoutDone, String status, Long completedAt,
                           MessageKind kind, List<String> recipientList, long waitingUntil, String orderKey,
                           String groupName, String sentByKeyId, long replies, long optOuts) {
    public static final String SENDING = "sending";
    public static final String SENT = "sent";

    public boolean mms() {
        return !mediaUrls.isEmpty();
    }

    /**
     * What one send of it takes of its line's rate: its segments (an MMS is one), as the carrier counts throughput in
     * segments per second.
     */
    public int segmentsPerSend() {
        return Math.max(1, segments);
    }

    /** How many of its sends its line's rate takes a second (the line's mps over {@link #segmentsPerSend}). */
    public double sendsPerSecond() {
        return lineMps / segmentsPerSend();
    }

    /** The same message at another line rate. */
    public GroupMessage withLineMps(double mps) {
        return new GroupMessage(id, accountId, groupId, lineId, linePhone, mps, sender, title, body, mediaUrls, text,
                encoding, segments, recipients, shards, acceptedAt, fanoutDone, status, completedAt, kind, recipientList,
                waitingUntil, orderKey, groupName, sentByKeyId, replies, optOuts);
    }
}
