package groupmsg.messages;

import groupmsg.conversations.ConversationBlocks;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
    private final PairChains chains;
    private final OptOutStore optOuts;

    /** The error of a conversation message's recipient not sent to because an opt-out blocked the conversation first. */

    public OrderedDelivery(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.delivery = new DeliveryService(wiring);
        this.clock = wiring.clock();
        this.blocks = new Lazy<>(() -> new ConversationBlocks(wiring));
        this.chains = new PairChains(ops, wiring.config().table(Tables.CORE));
        this.optOuts = new OptOutStore(ops, wiring.config().table(Tables.CORE));
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
        // a recipient at the end of Twilio's chain of quick messages (14107) waits for it to end, and with it what
        // comes after in this order (the whole conversation's: which the pause ends for everyone's chain alike)
        long now = clock.millis();
        // counted for those it goes to: an opted-out participant's chain, never sent to, would hold everyone's
        Set<String> optedOut = optOuts.optedOut(m.lineId(), m.recipientList());
        List<String> counted = m.recipientList().stream().filter(p -> !optedOut.contains(p)).toList();
        long mayGoAt = chains.takePlaces(m.lineId(), counted, now);
        if (mayGoAt > now) {
            Log.info("relay_held_for_carrier_loop_limit", Map.of("messageId", messageId, "waitMillis", mayGoAt - now));
            throw new NotSentYet("a recipient had " + PairChains.HELD_AT + " messages from the line with no 30 s pause:"
                    + " the carrier fails the next ones as a loop", mayGoAt - now);
        }
        try {
            delivery.deliver(accountId, messageId, 0, m.recipientList(), deadline);
        } finally {
            try {
                long doneAt = clock.millis();
                if (doneAt - now > PairChains.DONE_LATE_MILLIS) chains.sentBy(m.lineId(), counted, doneAt);
            } catch (RuntimeException e) {
                // its places are taken as of its start: a send seconds later may leave a pause short of 30 s
                Log.error("relay_chain_not_recorded", Map.of("messageId", messageId), e);
            }
        }
    }
}
