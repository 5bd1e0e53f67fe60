package groupmsg.conversations;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * When a line last wrote to a number privately (the business's reply to one person, or its own message from the
 * line): a text the number sends after that, with no conversation activity since, answers the private message, so it
 * is no conversation's (ConversationRouter). A relayed conversation and a private answer reach the phone from the same
 * number; what the line sent it last is what its text answers. Kept {@link #KEPT} after the last one.
 */
public final class PrivateMessages {
    static final Duration KEPT = Duration.ofDays(90);

    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;

    public PrivateMessages(Wiring wiring) {
        this.dynamo = wiring.dynamo();
        this.table = wiring.config().table(Tables.CORE);
        this.clock = wiring.clock();
    }

    private static Map<String, AttributeValue> key(String lineId, String phone) {
        return Attr.key("PRIVATE#" + lineId + "#" + phone, "PRIVATE");
    }

    /**
     * Records that the line writes to {@code phone} privately at {@code at}: a write of the transaction that stores the
     * private message (before it is sent), so that a message that failed to be stored leaves no mark (its person's
     * next text was kept from the conversation for nothing). Unconditional, as a transaction cannot skip one write: of
     * two private messages to one number in the same moment, the older mark may be the one kept.
     */
    public TransactWriteItem markItem(String accountId, String lineId, String phone, long at) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(key(lineId, phone))
                .updateExpression("SET accountId = :a, lastAt = :at, expiresAt = :exp")
                .expressionAttributeValues(Map.of(":a", s(accountId), ":at", n(at), ":exp", n((at + KEPT.toMillis()) / 1000))))
                .build();
    }

    /**
     * Whether the line's latest private message to {@code phone} went after {@code after} and not after
     * {@code upTo} (a text's arrival: one written after the text is not what the text answers).
     */
    public boolean wroteBetween(String accountId, String lineId, String phone, long after, long upTo) {
        long at = lastAt(accountId, lineId, phone);
        return at > after && at <= upTo;
    }

    /** When the line last wrote to {@code phone} privately (0: never, or over {@link #KEPT} ago), of the account's line only. */
    long lastAt(String accountId, String lineId, String phone) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(lineId, phone)).consistentRead(true)).item();
        if (item == null || item.isEmpty() || !accountId.equals(Attr.str(item, "accountId"))) return 0;
        // expired: DynamoDB's TTL deletes an item some time after its expiresAt
        long lastAt = Attr.num(item, "lastAt", 0);
        return lastAt + KEPT.toMillis() < clock.millis() ? 0 : lastAt;
    }
}
