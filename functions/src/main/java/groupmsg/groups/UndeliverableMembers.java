package groupmsg.groups;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;

/**
 * Marks a group's member undeliverable after a delivery of the group's message failed for good (see
 * {@link groupmsg.carrier.CarrierErrors#numberCannotReceive}), as mailing-list tools mark an address that bounced
 * hard: per group, like their per-list "cleaned". One conditional UpdateItem of the membership row, made only for
 * such failures (rare), by the delivery worker (a refusal at the send) and by whoever applies receipts (a failure the
 * carrier reports later).
 */
public final class UndeliverableMembers {
    private final DynamoOps ops;
    private final DynamoDbClient dynamo;
    private final String table;

    public UndeliverableMembers(DynamoDbClient dynamo, String table) {
        this.ops = new DynamoOps(dynamo);
        this.dynamo = dynamo;
        this.table = table;
    }

    /**
     * Which of {@code phones} are marked in the group, with {@link Undeliverable#brief} of their mark: for delivery
     * jobs made again from rows left queued (maintenance), which the fan-out's skip list does not reach. One
     * BatchGetItem per 100 numbers.
     */
    public Map<String, String> marked(String accountId, String groupId, List<String> phones) {
        String pk = MemberStore.groupPk(accountId, groupId);
        Map<String, String> marked = new HashMap<>();
        for (var row : ops.batchGet(table, phones.stream().map(p -> Attr.key(pk, p)).toList())) {
            Undeliverable mark = Undeliverable.of(row);
            if (mark != null) marked.put(Attr.str(row, "sk"), mark.brief());
        }
        return marked;
    }

    /**
     * Marks the member, unless it is marked already (the first failure is kept), is no longer a member, became one
     * again after the message was accepted (another membership), or a person cleared the mark after the message
     * was accepted (a late receipt of an older message must not undo that). True when this marked it.
     */
    public boolean mark(String accountId, String groupId, String phone, long acceptedAt, String messageId,
                        String error, long at) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(MemberStore.groupPk(accountId, groupId), phone))
                    .updateExpression("SET #u = :u")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(removedAt) AND addedAt <= :accepted"
                            + " AND attribute_not_exists(#u) AND (attribute_not_exists(#c) OR #c < :accepted)")
                    .expressionAttributeNames(Map.of("#u", Undeliverable.ATTRIBUTE, "#c", Undeliverable.CLEARED_AT))
                    .expressionAttributeValues(Map.of(":u", new Undeliverable(error, messageId, at).toAttribute(),
                            ":accepted", Attr.n(acceptedAt))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }
}
