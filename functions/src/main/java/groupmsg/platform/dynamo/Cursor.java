package groupmsg.platform.dynamo;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Opaque list cursors: a query's LastEvaluatedKey (string attributes only) as base64url JSON. On the way back
 * the partition key is checked against the one the caller's own query uses, so a cursor cannot be pointed at
 * another account's partition, and anything malformed is a 400.
 */
public final class Cursor {
    /** DynamoDB's limit for a sort key value (a partition key's is 2,048): no cursor of ours comes near it. */
    private static final int MAX_KEY_VALUE_BYTES = 1024;

    private Cursor() {}

    public static String encode(Map<String, AttributeValue> lastEvaluatedKey) {
        if (lastEvaluatedKey == null || lastEvaluatedKey.isEmpty()) return null;
        Map<String, String> plain = new TreeMap<>();
        lastEvaluatedKey.forEach((k, v) -> plain.put(k, v.s()));
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Json.write(plain).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Decodes a cursor; null/empty -> null (first page). It must be a key of the list's own table or index, whole:
     * {@code pk} and {@code sk}, plus for an index its own pair ({@code gsi1pk}, {@code gsi1sk}), every value a
     * non-empty string within DynamoDB's key sizes. Anything else (another list's cursor, an edited one) would be
     * refused by DynamoDB as a starting key, which must be the caller's 400, not a 500.
     */
    public static Map<String, AttributeValue> decode(String cursor, String partitionAttribute, String expectedPartition) {
        return decode(cursor, partitionAttribute, expectedPartition::equals);
    }

    /** As {@link #decode(String, String, String)}, for a list over several partitions: one {@code allowed} accepts. */
    public static Map<String, AttributeValue> decode(String cursor, String partitionAttribute,
                                                     java.util.function.Predicate<String> allowed) {
        if (cursor == null || cursor.isEmpty()) return null;
        Map<String, Object> plain;
        try {
            plain = Json.parseObject(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            throw ApiException.invalid("cursor is not valid");
        }
        Map<String, AttributeValue> key = new HashMap<>();
        for (var entry : plain.entrySet()) {
            if (!(entry.getValue() instanceof String s) || s.isEmpty()
                    || s.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_VALUE_BYTES) {
                throw ApiException.invalid("cursor is not valid");
            }
            key.put(entry.getKey(), AttributeValue.fromS(s));
        }
        AttributeValue partition = key.get(partitionAttribute);
        if (partition == null || !allowed.test(partition.s())
                || !key.keySet().equals(Set.copyOf(QueryPage.keyAttributes(indexOf(partitionAttribute))))) {
            throw ApiException.invalid("cursor is not valid for this list");
        }
        return key;
    }

    /** The index a list's partition attribute belongs to (gsi1pk -> gsi1), null for the table's (pk). */
    private static String indexOf(String partitionAttribute) {
        if (partitionAttribute.equals("pk")) return null;
        if (!partitionAttribute.endsWith("pk")) throw new IllegalArgumentException("not a partition key: " + partitionAttribute);
        return partitionAttribute.substring(0, partitionAttribute.length() - 2);
    }
}
