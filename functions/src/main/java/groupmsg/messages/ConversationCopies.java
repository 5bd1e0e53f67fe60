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
     * How long before a text a send still in progress (not yet taken by the carrier) must have begun to count as seen:
     * the phone gets it seconds after its claim.
     */
    static final long SENDING_SEEN_AFTER_MILLIS = 3_000;

    /**
     * Whether any of {@code messageIds} had reached {@code phone} by {@code before} (epoch ms), as far as its send
     * says: taken by the carrier (sent or delivered) and claimed by then, or still sending and claimed a few seconds
     * before it (a row of before claims were timed counts by its last change). One BatchGetItem.
     */
    public boolean anyBeganBy(List<String> messageIds, String phone, long before) {
        if (messageIds.isEmpty()) return false;
        for (Delivery d : deliveries.rowsOfOneShard(phone, messageIds).values()) {
            long began = d.claimedAt() != null ? d.claimedAt() : d.updatedAt();
            boolean taken = Delivery.SENT.equals(d.status()) || Delivery.DELIVERED.equals(d.status());
            if (taken ? began <= before : Delivery.SENDING.equals(d.status()) && began <= before - SENDING_SEEN_AFTER_MILLIS) {
                return true;
            }
        }
        return false;
    }
}
