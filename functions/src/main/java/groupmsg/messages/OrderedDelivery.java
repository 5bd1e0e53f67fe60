package groupmsg.messages;

import groupmsg.conversations.ConversationBlocks;
import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.List;
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
    private final PairChains chains;

    /** The error of a conversation message's recipient not sent to because an opt-out blocked the conversation first. */

    public OrderedDelivery(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.delivery = new DeliveryService(wiring);
        this.clock = wiring.clock();
        this.blocks = new Lazy<>(() -> new ConversationBlocks(wiring));
        this.chains = new PairChains(ops, wiring.config().table(Tables.CORE));
    }

    /** {@link #deliver(String, String, DeliveryService.Deadline, boolean)}, held as long as Twilio's loop guard asks. */
    public void deliver(String accountId, String messageId, DeliveryService.Deadline deadline) throws InterruptedException {
        deliver(accountId, messageId, deadline, true);
    }

    /**
     * Delivers a conversation message to its recipients, sending nothing after the deadline (then it throws).
     *
     * @param mayHold whether a recipient at the end of Twilio's chain of quick messages holds it ({@link PairChains});
     *                false for a job past its {@link PairChains#LAST_HOLDING_RECEIVE}th receive, which goes, counted
     *                (the relays queue gives a job 10 receives, and a hold is one)
     */
    public void deliver(String accountId, String messageId, DeliveryService.Deadline deadline, boolean mayHold)
            throws InterruptedException {
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
        // A recipient at the end of Twilio's chain of quick messages (14107) holds the message until the chain has
        // ended, and with it what comes after in this order (the conversation's: the pause ends everyone's chain).
        // Counted: the recipients this run sends to, not those a run before did (a retry, maintenance's resend). A
        // message goes to those not opted out when it was accepted (one opted out since is sent nothing, its place
        // kept: the margin's).
        long now = clock.millis();
        List<String> toSend = stillToSend(m);
        var places = chains.takePlaces(m.lineId(), toSend, now);
        if (places.mayGoAt() > now) {
            giveBackQuietly(m, places.taken(), now);
            if (mayHold) {
                Log.info("relay_held_for_carrier_loop_limit", Map.of("messageId", messageId, "waitMillis", places.mayGoAt() - now));
                throw new NotSentYet("a recipient had " + PairChains.HELD_AT + " messages from the line with no 30 s pause:"
                        + " the carrier fails the next ones as a loop", places.mayGoAt() - now);
            }
            // counted all the same: the carrier's chain goes on with it, and the messages after it must wait its end
            Log.warn("relay_sent_past_carrier_loop_limit", Map.of("messageId", messageId));
            places = chains.takePlacesAnyway(m.lineId(), toSend, now);
        }
        try {
            delivery.deliver(accountId, messageId, 0, m.recipientList(), deadline);
        } finally {
            recordSends(m, places.taken(), now);
        }
    }

    /** The recipients whose rows are still to be sent (queued, or none yet). */
    private List<String> stillToSend(GroupMessage m) {
        return unsent(m, m.recipientList());
    }

    /** Of {@code phones}, those whose rows of {@code m} are queued, or not written yet (one BatchGetItem). */
    private List<String> unsent(GroupMessage m, List<String> phones) {
        var rows = deliveries.rows(m.id(), 0, phones);
        return phones.stream().filter(p -> !rows.containsKey(p) || Delivery.QUEUED.equals(Attr.str(rows.get(p), "status"))).toList();
    }

    /**
     * After a run: the places of recipients it did not send to (given back for a later run, out of time) go back,
     * and those it sent to have their chains' last message when it was done, if that was over a second after the
     * places were taken (a slow line). Skipped when the run was interrupted (a local runtime's stop): the places
     * stay as of the run's start, the margin's to cover.
     */
    private void recordSends(GroupMessage m, List<String> taken, long takenAt) {
        if (taken.isEmpty() || Thread.currentThread().isInterrupted()) return;
        try {
            List<String> unsent = unsent(m, taken);
            chains.giveBack(m.lineId(), unsent, takenAt);
            long doneAt = clock.millis();
            if (doneAt - takenAt > PairChains.DONE_LATE_MILLIS) {
                chains.sentBy(m.lineId(), taken.stream().filter(p -> !unsent.contains(p)).toList(), doneAt);
            }
        } catch (RuntimeException e) {
            // its places stay as taken: at worst a pause a little longer, or a send seconds after its place, short
            Log.error("relay_chain_not_recorded", Map.of("messageId", m.id()), e);
        }
    }

    private void giveBackQuietly(GroupMessage m, List<String> taken, long takenAt) {
        try {
            chains.giveBack(m.lineId(), taken, takenAt);
        } catch (RuntimeException e) {
            Log.error("relay_chain_not_recorded", Map.of("messageId", m.id()), e); // counted once too often
        }
    }
}
