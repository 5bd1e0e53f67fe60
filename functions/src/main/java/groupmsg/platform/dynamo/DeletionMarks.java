package groupmsg.platform.dynamo;

import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Marks of an account's deleted things of one kind ({@code ACCT#a / <prefix><id>}, e.g. {@code KEY-REVOKED#key_...}),
 * written in the deletion's transaction and kept {@link #KEPT}: the retry of the request that created one (an
 * Idempotency-Key's, which keeps the id while the thing or its mark is there) checks the mark in its create and makes
 * nothing again, however late within the key's life, which each later run renews by a day.
 */
public record DeletionMarks(DynamoDbClient dynamo, String table, String prefix) {
    /** How long a mark is kept (DynamoDB's TTL, {@code expiresAt}). */
    public static final Duration KEPT = Duration.ofDays(30);

    private Map<String, AttributeValue> key(String accountId, String id) {
        return Attr.key(Attr.accountPk(accountId), prefix + id);
    }

    /** The mark, to put in the deletion's transaction. */
    public TransactWriteItem put(String accountId, String id, long nowMillis) {
        var item = new HashMap<>(key(accountId, id));
        item.put("expiresAt", Attr.n(nowMillis / 1000 + KEPT.toSeconds()));
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(item)).build();
    }

    /** The condition, for a create's transaction, that {@code id} was never deleted (within {@link #KEPT}). */
    public TransactWriteItem absent(String accountId, String id) {
        return TransactWriteItem.builder().conditionCheck(c -> c.tableName(table).key(key(accountId, id))
                .conditionExpression("attribute_not_exists(pk)")).build();
    }

    /** Whether {@code id} was deleted within {@link #KEPT} (a consistent read). */
    public boolean marked(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)).item();
        return item != null && !item.isEmpty();
    }
}
