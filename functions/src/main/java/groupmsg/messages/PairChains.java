package groupmsg.messages;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.platform.dynamo.Attr.n;

/**
 * Twilio's guard against message loops (error 14107): between two numbers, a message sent less than 30 s after the
 * one before it continues a chain, and past 30 in a chain every further one fails for 30 s (never sent, not billed).
 * A lively conversation reaches it: each text to ten people is relayed to the nine others, and the chain of each
 * goes on for as long as nobody pauses 30 s. Kept per line and number in the core table ({@code PAIR#<lineId> /
 * <phone>}: the chain's length and its last send, an hour's TTL) for the messages of the relays queue (a
 * conversation's copies, a line's answers to one number): one whose recipient's chain is {@link #HELD_AT} long waits
 * until the chain has ended, and so does what comes after it in its order. Sends not counted here (a group message,
 * another system on the same carrier account) are what the margin below Twilio's 30 is for.
 */
final class PairChains {
    /** Twilio's most in a chain: the next one fails. */
    static final int TWILIO_MOST = 30;
    /** A chain this long holds the next message to its number until it has ended. */
    static final int HELD_AT = TWILIO_MOST - 3;
    /** A send this long after the chain's last ends it (Twilio's). */
    static final long GAP_MILLIS = 30_000;
    /** Waited past the gap: the carrier's clock is not ours, and a send takes time to reach it. */
    static final long GAP_MARGIN_MILLIS = 2_000;

    /**
     * A message done within this of taking its places keeps them as of then ({@link #sentBy} is not needed): the
     * margin past the gap covers it, with a second left for the carrier's clock.
     */
    static final long DONE_LATE_MILLIS = GAP_MARGIN_MILLIS - 1_000;

    private static final String PREFIX = "PAIR#";

    /** A chain of sends from a line to one number: how many, and when the last went (epoch ms). */
    record Chain(int length, long lastSentAt) {
        static final Chain NONE = new Chain(0, 0);

        /** When a message may go without failing as a loop: now, or once the chain has ended. */
        long mayGoAt(long now) {
            long ended = lastSentAt + GAP_MILLIS + GAP_MARGIN_MILLIS;
            return length >= HELD_AT && ended > now ? ended : now;
        }
    }

    private final DynamoOps ops;
    private final String table;

    PairChains(DynamoOps ops, String table) {
        this.ops = ops;
        this.table = table;
    }

    private static Map<String, AttributeValue> key(String lineId, String phone) {
        return Attr.key(PREFIX + lineId, phone);
    }

    /** The chains from {@code lineId} to {@code phones} (one BatchGetItem for a conversation's ten). */
    private Map<String, Chain> read(String lineId, Collection<String> phones) {
        var chains = new HashMap<String, Chain>();
        for (String phone : phones) chains.put(phone, Chain.NONE);
        var items = ops.batchGet(table, phones.stream().distinct().map(p -> key(lineId, p)).toList());
        for (var item : items) chains.put(Attr.str(item, "sk"), chain(item));
        return chains;
    }

    /** When a message to all of {@code chains}' numbers may go: now, or once the longest-held chain has ended. */
    static long mayGoAt(Map<String, Chain> chains, long now) {
        return chains.values().stream().mapToLong(c -> c.mayGoAt(now)).max().orElse(now);
    }

    /**
     * The last receive of a job on which it may be held: a hold is a receive, and so is each of its other retries (out
     * of time, a fault), and the relays queue gives a job 10 before its dead-letter queue. Past it, the job goes all
     * the same, counted ({@link #takePlacesAnyway}).
     */
    static final int LAST_HOLDING_RECEIVE = 7;

    /** The places a message took ({@link #takePlaces}), and when it may go: now, or once a held chain has ended. */
    record Places(long mayGoAt, List<String> taken) {}

    /**
     * Takes a message's place in the chain of each of {@code phones}, before it goes: {@code mayGoAt} is {@code now}
     * when it has every place, else when it may go (a chain on at {@link #HELD_AT}): then it waits, and the places it
     * took are to be given back ({@link #giveBack}). Each place is one conditional UpdateItem, so messages of several
     * conversations to one number at once (a dispatcher in a hundred crews') each count: read, then counted after
     * the send, they all saw room and all went. A place is taken as of now; {@link #sentBy} moves it to when the
     * message was done, which on a slow line is seconds later.
     */
    Places takePlaces(String lineId, Collection<String> phones, long now) {
        List<String> taken = new ArrayList<>();
        if (phones.isEmpty()) return new Places(now, taken);
        long mayGoAt = mayGoAt(read(lineId, phones), now); // none taken for a message that must wait anyway
        if (mayGoAt > now) return new Places(mayGoAt, taken);
        try {
            for (String phone : phones.stream().distinct().toList()) {
                long at = takePlace(lineId, phone, now, false);
                if (at > now) return new Places(at, taken);
                taken.add(phone);
            }
        } catch (RuntimeException e) {
            giveBack(lineId, taken, now); // a fault part way (a throttle): the job's retry takes them again
            throw e;
        }
        return new Places(now, taken);
    }

    /**
     * A place in the chain of each of {@code phones} for a message that goes though a chain is full (held its most):
     * counted all the same, so the chain goes on as the carrier's does, and the messages after it wait for its end.
     */
    Places takePlacesAnyway(String lineId, Collection<String> phones, long now) {
        List<String> taken = new ArrayList<>();
        for (String phone : phones.stream().distinct().toList()) {
            takePlace(lineId, phone, now, true);
            taken.add(phone);
        }
        return new Places(now, taken);
    }

    /**
     * Gives back the places taken at {@code takenAt} in the chains of {@code phones}, not used (the message waits, or
     * was not sent to them in this run): unless a later message took one since (then it stays counted, once too often).
     */
    void giveBack(String lineId, Collection<String> phones, long takenAt) {
        for (String phone : phones.stream().distinct().toList()) {
            ops.updateIf(b -> b.tableName(table).key(key(lineId, phone))
                    .updateExpression("SET #length = #length - :one").conditionExpression("lastSentAt = :takenAt AND #length > :zero")
                    .expressionAttributeNames(Map.of("#length", "length"))
                    .expressionAttributeValues(Map.of(":one", n(1), ":zero", n(0), ":takenAt", n(takenAt))));
        }
    }

    /** Takes one place (or, {@code anyway}, also in a full chain); {@code now}, or when a full chain ends. */
    private long takePlace(String lineId, String phone, long now, boolean anyway) {
        var values = Map.of(":now", n(now), ":gapStart", n(now - GAP_MILLIS), ":expires", n(now / 1000 + 3600), ":one", n(1));
        var onValues = new HashMap<>(values);
        if (!anyway) onValues.put(":held", n(HELD_AT));
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                // on in its chain: one more, while it has room
                ops.client().updateItem(b -> b.tableName(table).key(key(lineId, phone))
                        .updateExpression("SET #length = #length + :one, lastSentAt = :now, expiresAt = :expires")
                        .conditionExpression(anyway ? "lastSentAt > :gapStart" : "lastSentAt > :gapStart AND #length < :held")
                        .expressionAttributeNames(Map.of("#length", "length")).expressionAttributeValues(onValues)
                        .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
                return now;
            } catch (ConditionalCheckFailedException e) {
                // on and full (a full chain's mayGoAt is later than now): held; else it ended, or moved meanwhile
                Chain old = e.hasItem() && !e.item().isEmpty() ? chain(e.item()) : Chain.NONE;
                long oldMayGoAt = old.mayGoAt(now);
                if (old.lastSentAt() > now - GAP_MILLIS && oldMayGoAt > now) return oldMayGoAt;
            }
            // none, or ended: a new chain, unless another message started one meanwhile
            if (ops.updateIf(b -> b.tableName(table).key(key(lineId, phone))
                    .updateExpression("SET #length = :one, lastSentAt = :now, expiresAt = :expires")
                    .conditionExpression("attribute_not_exists(pk) OR lastSentAt <= :gapStart")
                    .expressionAttributeNames(Map.of("#length", "length")).expressionAttributeValues(values))) {
                return now;
            }
        }
        return now; // contended three times over: it goes, within the margin
    }

    /**
     * The message whose places {@link #takePlaces} took at {@code takenAt} was done at {@code doneAt}: each chain's last
     * send is then, unless a later one is there already (the gap that ends a chain counts from the last send).
     */
    void sentBy(String lineId, Collection<String> phones, long doneAt) {
        for (String phone : phones.stream().distinct().toList()) {
            ops.updateIf(b -> b.tableName(table).key(key(lineId, phone))
                    .updateExpression("SET lastSentAt = :done, expiresAt = :expires").conditionExpression("lastSentAt < :done")
                    .expressionAttributeValues(Map.of(":done", n(doneAt), ":expires", n(doneAt / 1000 + 3600))));
        }
    }

    private static Chain chain(Map<String, AttributeValue> item) {
        return new Chain((int) Attr.num(item, "length", 0), Attr.num(item, "lastSentAt", 0));
    }
}
