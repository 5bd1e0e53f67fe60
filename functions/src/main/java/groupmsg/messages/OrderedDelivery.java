package groupmsg.messages;

import groupmsg.conversations.ConversationBlocks;
import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.Map;

/**
 * Delivers one direct message to its few recipients inside the current invocation (rows written, then each
 * recipient claimed and sent at the line's rate, as the delivery worker does), so that the next message of the
 * same FIFO message group starts only after this one went out. Every step is the idempotent one of the
 * unordered pipeline: a redelivered job finds the rows written and claimed, and sends nothing twice; a message
 * whose job is lost entirely is finished by maintenance (through the relays queue again).
 */
public final class OrderedDelivery {
    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final DeliveryService delivery;
    private final Clock clock;
    private final Lazy<ConversationBlocks> blocks;

    /** The error of a conversation message's recipient not sent to because an opt-out blocked the conversation first. */

    public OrderedDelivery(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.delivery = new DeliveryService(wiring);
        this.clock = wiring.clock();
        this.blocks = new Lazy<>(() -> new ConversationBlocks(wiring));
    }

    /** Delivers a conversation message to its recipients, sending nothing after the deadline (then it throws). */
    public void deliver(String accountId, String messageId, DeliveryService.Deadline deadline) throws InterruptedException {
        GroupMessage m = messages.get(accountId, messageId).orElse(null);
        if (m == null || m.kind() == MessageKind.GROUP) {
            Log.warn("relay_unknown_message", Map.of("messageId", messageId));
            return;
        }
        if (GroupMessage.SENT.equals(m.status())) return; // finished: a job sent again finds nothing to do
        if (!m.fanoutDone()) {
            deliveries.insertQueued(m.accountId(), m.id(), m.shards(), m.recipientList(), clock.millis());
            messages.advance(accountId, messageId, null, null, m.recipientList().size(), null);
        }
        String stopped = m.kind() == MessageKind.CONVERSATION && m.orderKey() != null
                ? blocks.get().whyNothingMoreIsSent(accountId, m.orderKey()) : null;
        if (stopped != null) {
            // accepted before the block, the close or the line's switch-off, not sent yet: it goes to nobody (never
            // billed); a block's own notices are direct replies, not conversation messages
            delivery.failQueued(m, m.recipientList(), stopped);
            delivery.complete(accountId, messageId);
            Log.info("relay_conversation_stopped", Map.of("messageId", messageId, "conversationId", m.orderKey(),
                    "reason", stopped));
            return;
        }
        delivery.deliver(accountId, messageId, 0, m.recipientList(), deadline);
    }
}
