package groupmsg.messages;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whether messages of one shard each (a conversation's: 10 recipients at most; a line's private message: one) reached
 * a recipient, by their sends.
 */
public final class ConversationCopies {
    private final DeliveryStore deliveries;

    public ConversationCopies(Wiring wiring) {
        this.deliveries = new DeliveryStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.DELIVERIES));
    }

    /**
     * How long before a text a send still in progress (not yet taken by the carrier) must have begun to count as seen:
     * the phone gets it seconds after its claim.
     */
    public static final long SENDING_SEEN_AFTER_MILLIS = 3_000;

    /**
     * Whether any of {@code messageIds} had reached {@code phone} by {@code before} (epoch ms), as far as its send
     * says: taken by the carrier (sent or delivered) and claimed by then, or still sending and claimed a few seconds
     * before it (a row of before claims were timed counts by its last change). One BatchGetItem.
     */
    public boolean anyBeganBy(List<String> messageIds, String phone, long before) {
        return !beganBy(messageIds, phone, before, false).isEmpty();
    }

    /**
     * Which of {@code messageIds} had reached {@code phone} by {@code before}, as {@link #anyBeganBy} judges; with
     * {@code unknownAsTaken}, a row failed because nobody knows whether the carrier took it ({@link Delivery#OUTCOME_UNKNOWN}:
     * it may well have) counts as taken, by its claim.
     */
    public Set<String> beganBy(List<String> messageIds, String phone, long before, boolean unknownAsTaken) {
        if (messageIds.isEmpty()) return Set.of();
        Set<String> began = new HashSet<>();
        for (var row : deliveries.rowsOfOneShard(phone, messageIds).entrySet()) {
            Delivery d = row.getValue();
            long claimed = d.claimedAt() != null ? d.claimedAt() : d.updatedAt();
            boolean taken = Delivery.SENT.equals(d.status()) || Delivery.DELIVERED.equals(d.status())
                    || unknownAsTaken && Delivery.FAILED.equals(d.status()) && Delivery.OUTCOME_UNKNOWN.equals(d.error());
            if (taken ? claimed <= before : Delivery.SENDING.equals(d.status()) && claimed <= before - SENDING_SEEN_AFTER_MILLIS) {
                began.add(row.getKey());
            }
        }
        return began;
    }
}
