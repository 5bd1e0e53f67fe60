package groupmsg.platform.api;

import groupmsg.platform.Sha256;
import groupmsg.platform.config.Ids;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
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
    private final DynamoOps ops;
    private final String table;
    private final Clock clock;
    private final Ids ids;

    public IdempotencyStore(DynamoDbClient dynamo, String table, Clock clock) {
        this(dynamo, table, clock, new Ids());
    }

    public IdempotencyStore(DynamoDbClient dynamo, String table, Clock clock, Ids ids) {
        this.dynamo = dynamo;
        this.ops = new DynamoOps(dynamo);
        this.table = table;
        this.clock = clock;
        this.ids = ids;
    }

    public sealed interface Claim permits Claimed, Replay, InProgress, Mismatch {}

    /**
     * The request is this caller's to run.
     *
     * @param ulid  the time-ordered part of the ids of what the request creates, kept on the record: every run of the
     *              request (a retry after a 5xx, a take-over after a crash) gets the same one, so a run finds what an
     *              earlier one committed (the message, the conversation) instead of creating it a second time
     * @param rerun an earlier run of the request held the claim (and may have stored something under {@code ulid})
     *              long enough ago ({@link #WRITES_SETTLED_AFTER}) that none of its writes can still land: what is
     *              not stored under {@code ulid} by now never will be, and a fresh ulid may be taken instead
     * @param first the record was made by this claim: no earlier run of the request held it (a take-over, or the
     *              same request's claim after a 5xx, is not first, however soon)
     */
    public record Claimed(long claimedAt, String ulid, boolean rerun, boolean first) implements Claim {}

    /**
     * How long after a run began its writes may still land (an API function runs at most 10 s; a request sent just
     * before it ended is answered in seconds). A re-run sooner keeps the first run's ulid whatever it finds: it is
     * back-dated by seconds at most, and a write of the first run's that lands late meets the same id.
     */
    public static final Duration WRITES_SETTLED_AFTER = Duration.ofSeconds(60);

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
        String fresh = ids.next("");
        try {
            // A record left pending by a run that died (or failed on our side) is taken over only by the same
            // request: another body under the key is a mismatch, whatever became of the first.
            var claimed = dynamo.updateItem(b -> b.tableName(table).key(key(accountId, scope))
                    .updateExpression("SET requestHash = :hash, #state = :pending, claimedAt = :now, expiresAt = :expires,"
                            + " ulid = if_not_exists(ulid, :ulid), claimedBy = :ulid")
                    .conditionExpression("attribute_not_exists(pk) OR (#state = :pending AND claimedAt < :stale"
                            + " AND requestHash IN (:hash, :sameHash))")
                    .expressionAttributeNames(Map.of("#state", "state"))
                    .expressionAttributeValues(Map.of(":hash", s(requestHash), ":sameHash", s(sameRequestHash),
                            ":pending", s("pending"), ":now", n(now), ":expires", n((now + RETENTION.toMillis()) / 1000),
                            ":ulid", s(fresh), ":stale", n(now - ABANDONED_AFTER.toMillis())))
                    .returnValues(ReturnValue.ALL_NEW)).attributes();
            return claimed(now, fresh, Attr.str(claimed, "ulid"));
        } catch (ConditionalCheckFailedException e) {
            Map<String, AttributeValue> existing = dynamo.getItem(b -> b.tableName(table)
                    .key(key(accountId, scope)).consistentRead(true)).item();
            if (existing == null || existing.isEmpty()) return claim(accountId, scope, requestHash, sameRequestHash);
            if (expired(existing, now)) {
                // past its retention: the key is free again (DynamoDB's TTL deletes a while after, DynamoDB Local never)
                forgetExpired(accountId, scope, existing);
                return claim(accountId, scope, requestHash, sameRequestHash);
            }
            String stored = Attr.str(existing, "requestHash");
            if (!requestHash.equals(stored) && !sameRequestHash.equals(stored)) return new Mismatch();
            if ("pending".equals(Attr.str(existing, "state")) && fresh.equals(Attr.str(existing, "claimedBy"))) {
                // This claim's own write: it went through, its answer was lost, and the SDK's retry of it failed on
                // what it had written (before, a "still being processed" 409 for every retry for a minute).
                return claimed(now, fresh, Attr.str(existing, "ulid"));
            }
            if ("done".equals(Attr.str(existing, "state"))) {
                return new Replay((int) Attr.num(existing, "status", 200), Optional.ofNullable(Attr.str(existing, "body")).orElse(""));
            }
            return new InProgress();
        }
    }

    /**
     * The claim made at {@code now} with the fresh id {@code fresh}, the record keeping {@code ulid}: a re-run when
     * that is an earlier run's, old enough that its writes have all landed.
     */
    private static Claimed claimed(long now, String fresh, String ulid) {
        boolean settled = now - Ids.timeOf(ulid) >= WRITES_SETTLED_AFTER.toMillis();
        return new Claimed(now, ulid, !fresh.equals(ulid) && settled, fresh.equals(ulid));
    }

    private static boolean expired(Map<String, AttributeValue> record, long nowMillis) {
        return record.containsKey("expiresAt") && Attr.num(record, "expiresAt", Long.MAX_VALUE) * 1000 <= nowMillis;
    }

    /** Deletes an expired record, unless it was renewed meanwhile (then the next claim finds it as it is now). */
    private void forgetExpired(String accountId, String scope, Map<String, AttributeValue> record) {
        try {
            dynamo.deleteItem(b -> b.tableName(table).key(key(accountId, scope)).conditionExpression("expiresAt = :seen")
                    .expressionAttributeValues(Map.of(":seen", record.get("expiresAt"))));
        } catch (ConditionalCheckFailedException renewed) {
            // another request took the key meanwhile
        }
    }

    public void complete(String accountId, String scope, int status, String body) {
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, scope))
                .updateExpression("SET #state = :done, #status = :status, #body = :body")
                .expressionAttributeNames(Map.of("#state", "state", "#status", "status", "#body", "body"))
                .expressionAttributeValues(Map.of(":done", s("done"), ":status", n(status), ":body", s(body))));
    }

    /**
     * A fresh {@link Claimed#ulid} for a re-run that found nothing stored under the earlier run's: what it creates
     * then takes the time it is created (not that of a run minutes or hours before, which would list it among older
     * things and behind cursors already handed out), and a later run of the request finds it under the new one. Only
     * while the claim is still this run's.
     */
    public String renewUlid(String accountId, String scope, Claimed claim) {
        String fresh = ids.next("");
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, scope))
                .updateExpression("SET ulid = :fresh").conditionExpression("ulid = :old AND claimedAt = :claimedAt")
                .expressionAttributeValues(Map.of(":fresh", s(fresh), ":old", s(claim.ulid()), ":claimedAt", n(claim.claimedAt()))));
        return fresh;
    }

    /**
     * Forgets a claim whose request did nothing (it was answered 4xx), so the key is free for any request; only while
     * it is still this claim (a delete retried after its answer was lost must not delete another request's claim).
     */
    public void release(String accountId, String scope, Claimed claim) {
        try {
            dynamo.deleteItem(b -> b.tableName(table).key(key(accountId, scope)).conditionExpression("claimedAt = :claimedAt")
                    .expressionAttributeValues(Map.of(":claimedAt", n(claim.claimedAt()))));
        } catch (ConditionalCheckFailedException e) {
            // gone, or another request's claim now: nothing of this one is left
        }
    }

    /**
     * As {@link #release}, and lets the key's binding go with it, in one transaction: for a claim that was the key's
     * first use of all ({@link Binding#NOW} by this request, and {@link Claimed#first}), so nothing was ever done under
     * the key (a binding lasts as long as any record under it, and any run's work), and a key whose only request was
     * refused (a mistyped group id's 404) is free for the corrected request on any path, as with Stripe. Done while the
     * claim is still held, so a retry of the same request cannot claim in between and lose its binding. Not this
     * claim's any more (its delete's answer lost and retried after another took it): nothing; a binding not this
     * target's: the claim alone; conflicts are retried ({@link DynamoOps#transact}), any other refusal is thrown, for
     * the caller to log.
     */
    public void releaseAndUnbind(String accountId, String scope, Claimed claim, String key, String target) {
        var outcome = ops.transact(List.of(
                TransactWriteItem.builder().delete(d -> d.tableName(table).key(key(accountId, scope))
                        .conditionExpression("claimedAt = :claimedAt")
                        .expressionAttributeValues(Map.of(":claimedAt", n(claim.claimedAt())))).build(),
                TransactWriteItem.builder().delete(d -> d.tableName(table).key(key(accountId, BINDING_PREFIX + key))
                        .conditionExpression("target = :target")
                        .expressionAttributeValues(Map.of(":target", s(target)))).build()));
        if (outcome instanceof DynamoOps.Cancelled cancelled) {
            if (cancelled.conditionFailed(0)) return;
            if (cancelled.conditionFailed(1)) {
                release(accountId, scope, claim);
                return;
            }
            throw new IllegalStateException("releasing an Idempotency-Key claim was refused: " + cancelled.reasonCodes());
        }
    }

    /**
     * Gives up a claim whose request failed on our side (a 5xx) after it may have committed part of its work: the
     * same request retried takes it over at once and runs again with the same {@link Claimed#ulid}, so it finds
     * that work instead of doing it twice; another request under the key stays a mismatch.
     */
    public void abandon(String accountId, String scope, Claimed claim) {
        abandon(accountId, scope, claim, false);
    }

    /**
     * {@link #abandon}; {@code nothingDone}: of a run that did nothing (a 4xx whose release failed), so its ids go too
     * and the same request's next claim is {@link Claimed#first} again (its 4xx then lets the key go, as a release would have).
     */
    public void abandon(String accountId, String scope, Claimed claim, boolean nothingDone) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, scope))
                    .updateExpression("SET claimedAt = :never" + (nothingDone ? " REMOVE ulid" : ""))
                    .conditionExpression("#state = :pending AND claimedAt = :claimedAt")
                    .expressionAttributeNames(Map.of("#state", "state"))
                    .expressionAttributeValues(Map.of(":never", n(0), ":pending", s("pending"), ":claimedAt", n(claim.claimedAt()))));
        } catch (ConditionalCheckFailedException e) {
            // completed or gone meanwhile, or another request's claim now (this one's release was lost and
            // retried, say): nothing of this one left to give up
        }
    }

    /**
     * Binds {@code key} to the request {@code target} (route and path) it is first used for, for as long as its
     * records live: false when it is already bound to another. A request's record is scoped by its route and path
     * (the form records already written have), so without this one key could be used on two paths and run on both:
     * the same message sent to two groups. Stripe likewise refuses a key reused on another endpoint.
     */
    public boolean bind(String accountId, String key, String target) {
        return binding(accountId, key, target) != Binding.ELSEWHERE;
    }

    /** How a key came to be bound to a request's target: now, before (by an earlier request there), or to another. */
    public enum Binding { NOW, BEFORE, ELSEWHERE }

    /** As {@link #bind}, saying whether the key was bound to this target already. */
    public Binding binding(String accountId, String key, String target) {
        long now = clock.millis();
        try {
            // bound now, or again once past its retention (the records it scopes are free then too); its time runs
            // from that first use, and is renewed by a later claim under it (renewBinding), not by a replay
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, BINDING_PREFIX + key))
                    .updateExpression("SET target = :target, expiresAt = :expires")
                    .conditionExpression("attribute_not_exists(pk) OR expiresAt <= :nowSeconds")
                    .expressionAttributeValues(Map.of(":target", s(target),
                            ":expires", n((now + RETENTION.toMillis()) / 1000), ":nowSeconds", n(now / 1000))));
            return Binding.NOW;
        } catch (ConditionalCheckFailedException e) {
            var bound = dynamo.getItem(b -> b.tableName(table).key(key(accountId, BINDING_PREFIX + key)).consistentRead(true)).item();
            // gone meanwhile (expired and deleted): bind again; else bound to this request or to another
            if (bound == null || bound.isEmpty()) return binding(accountId, key, target);
            return target.equals(Attr.str(bound, "target")) ? Binding.BEFORE : Binding.ELSEWHERE;
        }
    }

    /**
     * Keeps a binding made before as long as the record a request claims under it now (24 hours from this claim):
     * from its first use only, a key first answered 4xx that ran within its day lost its binding before that run's
     * record, and could then run on another path too while the record still answered retries here. Not for a
     * replay. False when the key is bound to another target by now (it expired and was bound again meanwhile): the
     * claim must not run.
     */
    public boolean renewBinding(String accountId, String key, String target, long claimedAt) {
        long expires = (claimedAt + RETENTION.toMillis()) / 1000;
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, BINDING_PREFIX + key))
                    .updateExpression("SET expiresAt = :expires").conditionExpression("target = :target AND expiresAt < :expires")
                    .expressionAttributeValues(Map.of(":target", s(target), ":expires", n(expires))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            // lasts that long already, or bound elsewhere (or gone) since
            var bound = dynamo.getItem(b -> b.tableName(table).key(key(accountId, BINDING_PREFIX + key)).consistentRead(true)).item();
            return bound != null && target.equals(Attr.str(bound, "target"));
        }
    }

    /** A binding's scope; request scopes start with their route's method ("POST ..."), so none can look like one. */
    private static final String BINDING_PREFIX = "KEY ";

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
