package groupmsg.platform.api;

import groupmsg.platform.Sha256;
import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Records of {@code Idempotency-Key} requests (core table, expiring after 24 h through TTL).
 * A record is claimed with a conditional put before the work runs, so two concurrent retries cannot both run it.
 */
public final class IdempotencyStore {
    static final Duration RETENTION = Duration.ofHours(24);
    /** Scopes up to this many bytes are the record's key as they are; longer ones are hashed. */
    static final int MAX_PLAIN_SCOPE_BYTES = 512;
    /** A claim older than this whose request never finished (the process died) may be taken over. */
    static final Duration ABANDONED_AFTER = Duration.ofSeconds(60);

    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;

    public IdempotencyStore(DynamoDbClient dynamo, String table, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.clock = clock;
    }

    public sealed interface Claim permits Claimed, Replay, InProgress, Mismatch {}

    public record Claimed(long claimedAt) implements Claim {}

    public record Replay(int status, String body) implements Claim {}

    public record InProgress() implements Claim {}

    public record Mismatch() implements Claim {}

    public Claim claim(String accountId, String scope, String requestHash) {
        return claim(accountId, scope, requestHash, requestHash);
    }

    /**
     * @param sameRequestHash another hash that also names this request: the one an earlier version computed, so a
     *                        retry that straddles a deploy still replays (records live {@link #RETENTION})
     */
    public Claim claim(String accountId, String scope, String requestHash, String sameRequestHash) {
        long now = clock.millis();
        var item = new HashMap<String, AttributeValue>(key(accountId, scope));
        item.put("requestHash", s(requestHash));
        item.put("state", s("pending"));
        item.put("claimedAt", n(now));
        item.put("expiresAt", n((now + RETENTION.toMillis()) / 1000));
        try {
            dynamo.putItem(b -> b.tableName(table).item(item)
                    .conditionExpression("attribute_not_exists(pk) OR (#state = :pending AND claimedAt < :stale)")
                    .expressionAttributeNames(Map.of("#state", "state"))
                    .expressionAttributeValues(Map.of(":pending", s("pending"),
                            ":stale", n(now - ABANDONED_AFTER.toMillis()))));
            return new Claimed(now);
        } catch (ConditionalCheckFailedException e) {
            Map<String, AttributeValue> existing = dynamo.getItem(b -> b.tableName(table)
                    .key(key(accountId, scope)).consistentRead(true)).item();
            if (existing == null || existing.isEmpty()) return claim(accountId, scope, requestHash, sameRequestHash);
            String stored = Attr.str(existing, "requestHash");
            if (!requestHash.equals(stored) && !sameRequestHash.equals(stored)) return new Mismatch();
            if ("done".equals(Attr.str(existing, "state"))) {
                return new Replay((int) Attr.num(existing, "status", 200), Optional.ofNullable(Attr.str(existing, "body")).orElse(""));
            }
            return new InProgress();
        }
    }

    public void complete(String accountId, String scope, int status, String body) {
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, scope))
                .updateExpression("SET #state = :done, #status = :status, #body = :body")
                .expressionAttributeNames(Map.of("#state", "state", "#status", "status", "#body", "body"))
                .expressionAttributeValues(Map.of(":done", s("done"), ":status", n(status), ":body", s(body))));
    }

    /** Forgets a claim whose request failed on our side, so the client's retry runs it again. */
    public void release(String accountId, String scope) {
        dynamo.deleteItem(b -> b.tableName(table).key(key(accountId, scope)));
    }

    /**
     * The record's key: the scope itself (route, raw path, key), or its SHA-256 when the scope is too long for a
     * DynamoDB sort key (1,024 bytes: a 255-character key of 4-byte characters, a percent-encoded path); short scopes
     * keep the form records already written have.
     */
    private static Map<String, AttributeValue> key(String accountId, String scope) {
        byte[] bytes = scope.getBytes(StandardCharsets.UTF_8);
        String sortKey = bytes.length <= MAX_PLAIN_SCOPE_BYTES ? scope : "sha256:" + Sha256.hex(bytes);
        return Attr.key(Attr.accountPk(accountId) + "#IDEM", sortKey);
    }
}
