package groupmsg.conversations;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

/**
 * Which conversation a text from a number to a line belongs to: the most recently active one on that line that
 * includes the sender, or none (a direct reply to the line). Apart from {@link ConversationService}, which the
 * carrier webhook (it routes each text as it arrives) has no other use for.
 */
public final class ConversationRouter {
    private final ConversationStore store;
    private final PrivateMessages privately;

    public ConversationRouter(Wiring wiring) {
        this.store = new ConversationStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.privately = new PrivateMessages(wiring);
    }

    /** A text's conversation, and the name its sender has there (null: none, the number shows). */
    public record Routed(String conversationId, String senderName) {}

    /**
     * The conversation of a text that arrived at {@code receivedAt}, or null when the sender is in none on the line,
     * or the line wrote to them privately after the conversation's latest activity and before the text (it answers
     * that: relayed, a private answer reached everyone).
     */
    public Routed route(String accountId, String lineId, String from, long receivedAt) {
        var found = store.mostRecentlyActive(accountId, lineId, from);
        if (found.isEmpty() || privately.wroteBetween(accountId, lineId, from, found.get().lastActivityAt(), receivedAt)) return null;
        Conversation c = found.get();
        return new Routed(c.id(), c.participants().stream().filter(p -> p.phone().equals(from)).findFirst()
                .map(Conversation.Participant::name).filter(n -> !n.isBlank()).orElse(null));
    }
}
