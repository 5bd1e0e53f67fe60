package groupmsg.platform.dynamo;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Opaque list cursors: a query's LastEvaluatedKey (string attributes only) as base64url JSON. On the way back
 * the partition key is checked against the one the caller's own query uses, so a cursor cannot be pointed at
 * another account's partition, and anything malformed is a 400.
 */
public final class Cursor {
    private Cursor() {}

    public static String encode(Map<String, AttributeValue> lastEvaluatedKey) {
        if (lastEvaluatedKey == null || lastEvaluatedKey.isEmpty()) return null;
        Map<String, String> plain = new TreeMap<>();
        lastEvaluatedKey.forEach((k, v) -> plain.put(k, v.s()));
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Json.write(plain).getBytes(StandardCharsets.UTF_8));
    }

    /** Decodes a cursor; null/empty -> null (first page). */
    public static Map<String, AttributeValue> decode(String cursor, String partitionAttribute, String expectedPartition) {
        if (cursor == null || cursor.isEmpty()) return null;
        Map<String, Object> plain;
        try {
            plain = Json.parseObject(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            throw ApiException.invalid("cursor is not valid");
        }
        Map<String, AttributeValue> key = new HashMap<>();
        for (var entry : plain.entrySet()) {
            if (!(entry.getValue() instanceof String s)) throw ApiException.invalid("cursor is not valid");
            key.put(entry.getKey(), AttributeValue.fromS(s));
        }
        AttributeValue partition = key.get(partitionAttribute);
        if (partition == null || !expectedPartition.equals(partition.s()) || !key.containsKey("sk")) {
            throw ApiException.invalid("cursor is not valid for this list");
        }
        return key;
    }
}
