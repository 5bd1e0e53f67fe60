package groupmsg.groups;

import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import java.util.Optional;

/**
 * The name a number has in a group, for a text that answers the group's message: who wrote, as the business knows
 * them. The membership row's name, also when the number left the group since (it was a member when the message went).
 */
public final class MemberNames {
    private final DynamoDbClient dynamo;
    private final String table;

    public MemberNames(DynamoDbClient dynamo, String table) {
        this.dynamo = dynamo;
        this.table = table;
    }

    /** One GetItem of the membership row's name; empty when the number has none there (or never was a member). */
    public Optional<String> nameOf(String accountId, String groupId, String phone) {
        var row = dynamo.getItem(b -> b.tableName(table).key(Attr.key(MemberStore.groupPk(accountId, groupId), phone))
                .projectionExpression("#n").expressionAttributeNames(java.util.Map.of("#n", "name"))).item();
        return Optional.ofNullable(row == null ? null : Attr.str(row, "name")).filter(n -> !n.isBlank());
    }
}
