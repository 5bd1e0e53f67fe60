package groupmsg.conversations;

import groupmsg.accounts.AccountSettings;
import groupmsg.messages.BroadcastReplies;
import groupmsg.messages.ConversationCopies;
import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.util.List;
import java.util.Map;

/**
 * Which conversation a text from a number to a line belongs to: the most recently active one on that line that
 * includes the sender, unless what the line sent the number since (a private message, or a group message when the
 * account's {@code groupMessageAnswers} is {@code direct}) is what it answers, or none (a direct reply to the line). Apart from {@link ConversationService}, which the
 * carrier webhook (it routes each text as it arrives) has no other use for.
 */
public final class ConversationRouter {
    private final ConversationStore store;
    private final PrivateMessages privately;
    private final BroadcastReplies broadcasts;
    private final ConversationCopies copies;
    private final Lazy<ConversationBlocks> blocks;
    private final java.time.Clock clock;

    public ConversationRouter(Wiring wiring) {
        this.store = new ConversationStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.privately = new PrivateMessages(wiring);
        this.broadcasts = new BroadcastReplies(wiring);
        this.copies = new ConversationCopies(wiring);
        this.blocks = new Lazy<>(() -> new ConversationBlocks(wiring));
        this.clock = wiring.clock();
    }

    /**
     * How long routing as a text arrives (the carrier webhook, before the text is stored) may read conversations,
     * checked at each conversation not marked blocked, before its policy check: a number in hundreds of conversations
     * on a line, the latest of them blocked by the policy but not marked so, took a read or two each, and past the
     * webhook's 10 s nothing was stored (a STOP lost). Past it the text is stored unrouted, and the inbound worker
     * routes it (in the queue's group of the number, not of a conversation: a later text routed in time may be placed
     * before it). Half the webhook's time: an ordinary route takes milliseconds.
     */
    public static final long ON_ARRIVAL_MILLIS = 5_000;

    /** Routing ran out of its time: the text goes on unrouted, for the inbound worker. */
    public static final class OutOfTime extends RuntimeException {
        OutOfTime() {
            super("routing ran out of its time on arrival");
        }
    }

    /**
     * How long after the conversation's latest message a text is checked against what reached its sender: a text
     * that came later found that message (and any before it) sent, as relays on a working line are within minutes.
     */
    static final long UNSEEN_WINDOW_MILLIS = 10 * 60_000;

    /**
     * How long before the conversation's latest message a group message accepted may still be what a text answers
     * (under {@code groupMessageAnswers: direct}): one that reached the sender after that message (a large group's
     * send takes hours on a slow line), or shortly before it with the conversation's relay still on its way. Older
     * ones are not read.
     */
    static final long BROADCAST_LOOKBACK_MILLIS = java.time.Duration.ofDays(1).toMillis();

    /** The thread's messages after a private one that are looked at (one query, one BatchGetItem). */
    static final int SINCE_PRIVATE_LIMIT = 20;

    /** A text's conversation, and the name its sender has there (null: none, the number shows). */
    public record Routed(String conversationId, String senderName) {}

    /**
     * The conversation of a text that arrived at {@code receivedAt}, or null when the sender is in none on the line,
     * or a private message from the line (or, under the account's {@code groupMessageAnswers: direct}, a group
     * message: then a direct reply its worker links to it) reached them before the text and none of the
     * conversation's messages since did (it answers the private message: relayed, a private answer reached everyone; one of the latest two private messages still on its
     * way, or failed, is not what it answers). The conversation's activity alone
     * does not say: a reply placed after the private message may still wait for its relay to this number (a busy
     * line), and the person answering the private message had not seen it.
     */
    public Routed route(String accountId, String lineId, String from, long receivedAt) {
        return route(accountId, lineId, from, receivedAt, Long.MAX_VALUE);
    }

    /** {@link #route(String, String, String, long)} that throws {@link OutOfTime} once it reads past {@code readUntil}. */
    public Routed route(String accountId, String lineId, String from, long receivedAt, long readUntil) {
        return route(accountId, lineId, from, receivedAt, readUntil, true);
    }

    /**
     * The conversation a keyword came from (its worker's, after the text's opt-out was recorded): as
     * {@link #route(String, String, String, long, long)}, but a conversation is passed over only when marked blocked,
     * not for an opt-out its policy would block it by: a STOP's own, recorded as it came, would pass over every one
     * of the number's (each read) and show the latest blocked one rather than the one it came from.
     */
    public Routed routeKeyword(String accountId, String lineId, String from, long receivedAt, long readUntil) {
        return route(accountId, lineId, from, receivedAt, readUntil, false);
    }

    private Routed route(String accountId, String lineId, String from, long receivedAt, long readUntil, boolean judgeOptOutBlocks) {
        // blocked as the relay judges it, not only as marked: a reply routed to a conversation the policy blocks is kept
        // there unrelayed (its author told it ended) while the number's conversation that goes on misses it
        // read once, and only when needed: for a candidate not marked blocked, or a group message's answer
        var settings = new Lazy<>(() -> blocks.get().settings(accountId));
        var found = store.mostRecentlyActive(accountId, lineId, from, receivedAt, c -> {
            if (clock.millis() > readUntil) throw new OutOfTime();
            return judgeOptOutBlocks && blocks.get().blockedNow(c, settings.get().conversationOptOutPolicy());
        });
        if (found.isEmpty()) return null;
        Conversation c = found.get();
        long answeredAt = privately.lastReachedAt(accountId, lineId, from, receivedAt);
        if (answeredAt <= c.lastActivityAt() && answersDirect(settings, accountId)) {
            // the account's choice (API.md's rule is the conversation): a group message from the line that reached
            // the sender is answered as a private one is, "2 to reschedule" after Tuesday's broadcast no reply to
            // Monday's group chat (relayed to its others); one still sending reached them 3 s into its send
            long broadcastAt = broadcasts.latestReach(accountId, lineId, from, receivedAt,
                    c.lastActivityAt() - BROADCAST_LOOKBACK_MILLIS, ConversationCopies.SENDING_SEEN_AFTER_MILLIS, () -> {
                        if (clock.millis() > readUntil) throw new OutOfTime();
                    });
            answeredAt = Math.max(answeredAt, broadcastAt);
        }
        if (answeredAt > 0) {
            if (answeredAt > c.lastActivityAt()) return null;
            // (a text routed later by the inbound worker may find messages placed after it: they are checked too)
            if (receivedAt - c.lastActivityAt() < UNSEEN_WINDOW_MILLIS && !reachedSince(accountId, c.id(), from, answeredAt, receivedAt)) {
                return null;
            }
        }
        return new Routed(c.id(), c.participants().stream().filter(p -> p.phone().equals(from)).findFirst()
                .map(Conversation.Participant::name).filter(n -> !n.isBlank()).orElse(null));
    }

    /**
     * Whether the account has a text after a group message answer it ({@code groupMessageAnswers: direct}); false, as
     * API.md has it, when its settings cannot be read: a keyword's routing, which needs no other account read, goes on.
     */
    private static boolean answersDirect(Lazy<AccountSettings> settings, String accountId) {
        try {
            return AccountSettings.ANSWERS_DIRECT.equals(settings.get().groupMessageAnswers());
        } catch (RuntimeException e) {
            Log.warn("routing_settings_unread", Map.of("accountId", accountId, "error", e.getClass().getSimpleName()));
            return false;
        }
    }

    /** Whether a message placed in the thread since {@code since}, by others, began its send to {@code phone} by {@code by}. */
    private boolean reachedSince(String accountId, String conversationId, String phone, long since, long by) {
        List<String> sent = store.messagesSince(accountId, conversationId, since, SINCE_PRIVATE_LIMIT).stream()
                .filter(m -> !phone.equals(m.authorPhone())).map(ConversationService::deliveredAs).toList();
        return copies.anyBeganBy(sent, phone, by);
    }
}
