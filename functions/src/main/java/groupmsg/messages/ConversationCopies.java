package groupmsg.messages;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.util.List;

/** Whether a conversation's messages (one shard each: 10 recipients at most) reached a participant, by their sends. */
public final class ConversationCopies {
    private final DeliveryStore deliveries;

    public ConversationCopies(Wiring wiring) {
        this.deliveries = new DeliveryStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.DELIVERIES));
    }

    /**
     * Whether the send of any of {@code messageIds} to {@code phone} began at or before {@code before} (epoch ms) and
     * was not refused: its row sending, sent or delivered, claimed by then (a row of before claims were timed counts
     * by its last change). One BatchGetItem.
     */
    public boolean anyBeganBy(List<String> messageIds, String phone, long before) {
        if (messageIds.isEmpty()) return false;
        for (Delivery d : deliveries.rowsOfOneShard(phone, messageIds).values()) {
            if (!List.of(Delivery.SENDING, Delivery.SENT, Delivery.DELIVERED).contains(d.status())) continue;
            long began = d.claimedAt() != null ? d.claimedAt() : d.updatedAt();
            if (began <= before) return true;
        }
        return false;
    }
}
