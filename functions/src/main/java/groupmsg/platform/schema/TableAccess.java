package groupmsg.platform.schema;

import java.util.List;

/**
 * A handler's access to one of its tables when read and write on the whole table would be far more than it needs:
 * only these DynamoDB actions, and only on items whose partition key starts with one of these prefixes (IAM's
 * {@code dynamodb:LeadingKeys}). The stack grants exactly this instead of read/write; a test on DynamoDB Local
 * runs the handler (priming included) against an emulation of this policy, so code that outgrows it fails there,
 * not in AWS.
 *
 * @param table                 the logical table name (one the handler's {@link HandlerDef} lists)
 * @param actions               IAM actions, e.g. {@code dynamodb:GetItem}; a transaction's Put, Update and Delete are
 *                              authorized as PutItem, UpdateItem and DeleteItem
 * @param partitionKeyPrefixes  every item the handler reads or writes has a partition key starting with one of these
 */
public record TableAccess(String table, List<String> actions, List<String> partitionKeyPrefixes) {

    public TableAccess {
        actions = List.copyOf(actions);
        partitionKeyPrefixes = List.copyOf(partitionKeyPrefixes);
        if (actions.isEmpty() || partitionKeyPrefixes.isEmpty()) {
            throw new IllegalArgumentException("table access needs at least one action and one key prefix");
        }
        for (String action : actions) {
            if (!action.startsWith("dynamodb:") || action.contains("*")) {
                throw new IllegalArgumentException("not a single DynamoDB action: " + action);
            }
        }
        for (String prefix : partitionKeyPrefixes) {
            // A prefix is matched with StringLike: "*" and "?" would be wildcards, and an empty one matches every key.
            if (prefix.isEmpty() || prefix.contains("*") || prefix.contains("?")) {
                throw new IllegalArgumentException("not a literal key prefix: '" + prefix + "'");
            }
        }
    }

    /** Whether a request of {@code action} on an item with partition key {@code partitionKey} is allowed. */
    public boolean allows(String action, String partitionKey) {
        return actions.contains(action) && partitionKey != null
                && partitionKeyPrefixes.stream().anyMatch(partitionKey::startsWith);
    }
}
