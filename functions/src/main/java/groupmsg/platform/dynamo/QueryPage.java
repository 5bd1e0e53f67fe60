package groupmsg.platform.dynamo;

import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One page of a list query (a list route's page), with a next key only when something follows. DynamoDB returns a
 * LastEvaluatedKey whenever a query stops at its limit, even with nothing after it, so a list whose size is a
 * multiple of the page size ended with a cursor to an empty page. The query reads one item more than the page; when
 * it comes, the page ends at the one before and the key is that one's (what Cursor.decode takes back: the table's
 * key, and the index's when the query reads one).
 *
 * @param lastKey null on the last page
 */
public record QueryPage(List<Map<String, AttributeValue>> items, Map<String, AttributeValue> lastKey) {

    /** @param query the query without its limit (this sets it) */
    public static QueryPage of(DynamoDbClient dynamo, int limit, Consumer<QueryRequest.Builder> query) {
        QueryRequest request = QueryRequest.builder().applyMutation(query).limit(limit + 1).build();
        QueryResponse response = dynamo.query(request);
        List<Map<String, AttributeValue>> items = response.items();
        if (items.size() > limit) {
            List<Map<String, AttributeValue>> page = items.subList(0, limit);
            return new QueryPage(page, keyOf(page.getLast(), request.indexName()));
        }
        // Fewer than asked for with a key: DynamoDB stopped at its 1 MB per query, and more may follow.
        boolean more = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty();
        return new QueryPage(items, more ? response.lastEvaluatedKey() : null);
    }

    /** The attributes of a LastEvaluatedKey: pk and sk, and a query's index's own pair (gsi1 -> gsi1pk, gsi1sk). */
    static List<String> keyAttributes(String index) {
        return index == null ? List.of("pk", "sk") : List.of("pk", "sk", index + "pk", index + "sk");
    }

    /** An item's key as a LastEvaluatedKey holds it ({@link #keyAttributes}). */
    public static Map<String, AttributeValue> keyOf(Map<String, AttributeValue> item, String index) {
        Map<String, AttributeValue> key = new HashMap<>();
        for (String attribute : keyAttributes(index)) {
            AttributeValue value = item.get(attribute);
            if (value == null) throw new IllegalStateException("a listed item has no " + attribute);
            key.put(attribute, value);
        }
        return key;
    }
}
