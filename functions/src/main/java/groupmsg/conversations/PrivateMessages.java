package groupmsg.conversations;

import groupmsg.messages.ConversationCopies;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * When a line last wrote to a number privately (the business's reply to one person, or its own message from the
 * line): a text the number sends after that message reached it, with no conversation activity since, answers the
 * private message, so it is no conversation's (ConversationRouter). A relayed conversation and a private answer reach
 * the phone from the same number; what the line sent it last is what its text answers. A private message that had not
 * reached the phone (still queued behind a busy line, or failed) is not what the text answers, as far as the mark
 * tells (one of the latest two, and not one whose outcome nobody knows): the mark keeps the
 * latest two messages' ids, so a text answering the one before a message still on its way is private too, and the
 * time of the one before those (taken as reached: with both later ones not reached, a text may answer it). Kept
 * {@link #KEPT} after the last one.
 */
public final class PrivateMessages {
    static final Duration KEPT = Duration.ofDays(90);

    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;
    private final ConversationCopies copies;

    public PrivateMessages(Wiring wiring) {
        this.dynamo = wiring.dynamo();
        this.table = wiring.config().table(Tables.CORE);
        this.clock = wiring.clock();
        this.copies = new ConversationCopies(wiring);
    }

    private static Map<String, AttributeValue> key(String lineId, String phone) {
        return Attr.key("PRIVATE#" + lineId + "#" + phone, "PRIVATE");
    }

    /**
     * Records that the line writes message {@code messageId} to {@code phone} privately at {@code at}, keeping the
     * previous one's as {@code prevAt}/{@code prevMessageId}, and the time of the one before as {@code prev2At}: a write of the transaction that stores the private
     * message (before it is sent), so that a message that failed to be stored leaves no mark (its person's next text
     * was kept from the conversation for nothing). Unconditional, as a transaction cannot skip one write: of two private
     * messages to one number in the same moment, the older mark may be the latest.
     */
    public TransactWriteItem markItem(String accountId, String lineId, String phone, long at, String messageId) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(key(lineId, phone))
                // the right-hand sides read the item as it was before this update
                .updateExpression("SET accountId = :a, prev2At = if_not_exists(prevAt, :zero), prevAt = if_not_exists(lastAt, :zero),"
                        + " prevMessageId = if_not_exists(messageId, :none), lastAt = :at, messageId = :id, expiresAt = :exp")
                .expressionAttributeValues(Map.of(":a", s(accountId), ":at", n(at), ":id", s(messageId), ":zero", n(0),
                        ":none", s(""), ":exp", n((at + KEPT.toMillis()) / 1000))))
                .build();
    }

    /**
     * When the latest of the line's private messages to {@code phone} that had reached it by {@code by} (a text's
     * arrival) was written, or 0 for none. A message whose outcome nobody knows counts as reached, and so does the
     * third latest (its id is not kept), and a mark from before ids were kept: a private answer relayed to a
     * conversation cannot be taken back, a text kept from it only misses its relay.
     */
    public long lastReachedAt(String accountId, String lineId, String phone, long by) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(lineId, phone)).consistentRead(true)).item();
        if (item == null || item.isEmpty() || !accountId.equals(Attr.str(item, "accountId"))) return 0;
        long kept = clock.millis() - KEPT.toMillis(); // DynamoDB's TTL deletes an item some time after its expiresAt
        List<Written> written = new ArrayList<>();
        for (var w : List.of(new Written(Attr.num(item, "lastAt", 0), Attr.str(item, "messageId")),
                new Written(Attr.num(item, "prevAt", 0), Attr.str(item, "prevMessageId")),
                new Written(Attr.num(item, "prev2At", 0), null))) {
            if (w.at() > 0 && w.at() >= kept && w.at() <= by) written.add(w);
        }
        List<String> ids = written.stream().filter(Written::hasId).map(Written::messageId).toList();
        Set<String> reached = copies.beganBy(ids, phone, by, true);
        return written.stream().filter(w -> !w.hasId() || reached.contains(w.messageId())).mapToLong(Written::at).max().orElse(0);
    }

    /** A private message's time, and its id when the mark keeps one (an id-less one counts as reached). */
    private record Written(long at, String messageId) {
        boolean hasId() {
            return messageId != null && !messageId.isEmpty();
        }
    }
}
