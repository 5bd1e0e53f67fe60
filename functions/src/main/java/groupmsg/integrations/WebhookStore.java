package groupmsg.integrations;

import groupmsg.accounts.CallerKey;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DeletionMarks;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Webhooks in the core table: {@code ACCT#a / WEBHOOK#<id>}, their count {@code ACCT#a / WEBHOOKS} (kept with every
 * create and delete in one transaction, so an account never has more than the most allowed), and what was delivered
 * to each: {@code ACCT#a#WHDONE / <event key>#<webhook id>} (for 25 days), so a retried event goes to no endpoint again.
 */
final class WebhookStore {
    private static final String PREFIX = "WEBHOOK#";
    private static final String COUNT_SK = "WEBHOOKS";
    /**
     * Longer than an event's passes can last after a redrive from its dead-letter queue: its passes take about 3.4
     * days, then the worker sends it there, where it is kept 14 days, and a redrive's passes take 3.4 more (about 21
     * days in all), with room to spare: a redrive finds what was delivered.
     */
    static final Duration DONE_KEPT = Duration.ofDays(25);

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;
    /** Deleted webhooks' marks: the retry of the request that made one cannot make it again. */
    private final DeletionMarks deleted;

    WebhookStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
        this.deleted = new DeletionMarks(dynamo, table, "WEBHOOK-DELETED#");
    }

    /**
     * Stores the webhook unless the account has {@code max} already (false then), and unless the caller's key was
     * revoked meanwhile ({@link CallerKey}).
     */
    boolean create(Caller caller, Webhook w, int max) {
        String accountId = caller.accountId();
        var item = new HashMap<String, AttributeValue>(Attr.key(Attr.accountPk(accountId), PREFIX + w.id()));
        item.put("webhookId", s(w.id()));
        item.put("url", s(w.url()));
        item.put("events", AttributeValue.fromL(w.events().stream().map(Attr::s).toList()));
        if (w.description() != null) item.put("description", s(w.description()));
        item.put("secret", s(w.secret()));
        item.put("createdAt", n(w.createdAt()));
        var outcome = CallerKey.transact(ops, table, List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(Attr.accountPk(accountId), COUNT_SK))
                        .updateExpression("ADD webhooks :one")
                        .conditionExpression("attribute_not_exists(webhooks) OR webhooks < :max")
                        .expressionAttributeValues(Map.of(":one", n(1), ":max", n(max)))).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                        .conditionExpression("attribute_not_exists(pk)")).build(),
                deleted.absent(accountId, w.id())), caller, null);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (get(accountId, w.id()).isPresent()) return true; // a retry of this create: stored already
            if (c.conditionFailed(2)) {
                // the retry of a request whose first run made it, deleted since: not made again
                throw ApiException.conflict("the webhook this request created (" + w.id() + ") has been deleted since; "
                        + "create another with a new Idempotency-Key");
            }
            if (c.conditionFailed(0)) return false;
            throw new IllegalStateException("webhook create cancelled: " + c);
        }
        return true;
    }

    /** Why a webhook the account turned off is disabled. */
    static final String DISABLED_BY_ACCOUNT = "disabled by the account";

    /**
     * Sets the given fields (null: leave; an empty description removes it; {@code enabled} false disables it, true
     * enables it again with its failure clock reset); false when there is no such webhook. Nothing changes when the
     * caller's key was revoked meanwhile ({@link CallerKey}): a leaked key's request under way cannot point the
     * account's events elsewhere.
     */
    boolean update(Caller caller, String id, String url, List<String> events, String description, Boolean enabled,
                   long now) {
        String accountId = caller.accountId();
        List<String> sets = new ArrayList<>();
        List<String> removes = new ArrayList<>();
        var values = new HashMap<String, AttributeValue>();
        // every name through #: url is one of DynamoDB's reserved words
        var names = new HashMap<String, String>();
        if (url != null) {
            sets.add("#url = :url");
            names.put("#url", "url");
            values.put(":url", s(url));
            // a new address starts with a clean slate: the old one's failures neither pause it nor count toward
            // disabling it (fixed on the third day, it was disabled at its first 503)
            removes.addAll(List.of("lastFailedAt", "lastFailure", "deliveryFailedAt", "failingSince"));
        }
        if (events != null) {
            sets.add("#events = :events");
            names.put("#events", "events");
            values.put(":events", AttributeValue.fromL(events.stream().map(Attr::s).toList()));
        }
        if (description != null) names.put("#description", "description");
        if (description != null && description.isEmpty()) removes.add("#description");
        if (description != null && !description.isEmpty()) {
            sets.add("#description = :description");
            values.put(":description", s(description));
        }
        if (Boolean.TRUE.equals(enabled)) {
            // events published while it was disabled are not kept for it, also those still being retried
            sets.add("enabledAt = :now");
            values.put(":now", n(now));
            removes.addAll(List.of("disabledAt", "disabledReason", "disabledUntold", "tellingAt"));
            if (!removes.contains("failingSince")) removes.add("failingSince");
        }
        if (Boolean.FALSE.equals(enabled)) {
            sets.add("disabledAt = if_not_exists(disabledAt, :now), disabledReason = if_not_exists(disabledReason, :why)");
            values.put(":now", n(now));
            values.put(":why", s(DISABLED_BY_ACCOUNT));
        }
        String update = (sets.isEmpty() ? "" : "SET " + String.join(", ", sets)) + (removes.isEmpty() ? "" : " REMOVE " + String.join(", ", removes));
        var outcome = CallerKey.transact(ops, table, List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                        .updateExpression(update.strip()).conditionExpression("attribute_exists(pk)")
                        .expressionAttributeNames(names.isEmpty() ? null : names)
                        .expressionAttributeValues(values.isEmpty() ? null : values)).build()), caller, null);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (c.conditionFailed(0)) return false;
            throw new IllegalStateException("webhook update cancelled: " + c);
        }
        return true;
    }

    /**
     * Removes a previous secret that expired at {@code expiredAt} (a later rotation's is left alone): nothing signs
     * with it any more, so it is not kept.
     */
    void dropPreviousSecret(String accountId, String id, long expiredAt) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                    .updateExpression("REMOVE previousSecret, previousSecretExpiresAt").conditionExpression("previousSecretExpiresAt = :expired")
                    .expressionAttributeValues(Map.of(":expired", n(expiredAt))));
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            // rotated again, or gone: nothing of this one to remove
        }
    }

    /** What came of a rotation. */
    enum Rotation { ROTATED, DONE_BEFORE, RACED }

    /**
     * Replaces the secret, keeping the one it replaces as {@code previousSecret} until {@code previousExpiresAt} (null:
     * dropped at once), on condition the secret is still {@code current}, and records {@code rotation} (the request's
     * id) on it. DONE_BEFORE when {@code rotation} is the one recorded (an earlier run of the same request rotated it:
     * rotating again would drop the secret the receivers still hold); RACED when the secret is no longer
     * {@code current} (rotated meanwhile) or the webhook is gone.
     */
    Rotation rotate(Caller caller, String id, String current, String next, Long previousExpiresAt, String rotation) {
        String accountId = caller.accountId();
        var values = new HashMap<String, AttributeValue>(Map.of(":current", s(current), ":next", s(next), ":rotation", s(rotation)));
        String update;
        if (previousExpiresAt == null) {
            update = "SET secret = :next, rotation = :rotation REMOVE previousSecret, previousSecretExpiresAt";
        } else {
            update = "SET secret = :next, previousSecret = :current, previousSecretExpiresAt = :until, rotation = :rotation";
            values.put(":until", n(previousExpiresAt));
        }
        // with the caller check (CallerKey): a leaked key's rotation under way when it was revoked hands it no secret
        var outcome = CallerKey.transact(ops, table, List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                        .updateExpression(update)
                        .conditionExpression("attribute_exists(pk) AND secret = :current AND (attribute_not_exists(rotation) OR rotation <> :rotation)")
                        .expressionAttributeValues(values)
                        // as it was when the condition failed: read afterwards, another rotation could hide this one's
                        .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)).build()), caller, null);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (c.conditionFailed(0)) {
                return rotation.equals(Attr.str(c.item(0), "rotation")) ? Rotation.DONE_BEFORE : Rotation.RACED;
            }
            throw new IllegalStateException("webhook secret rotation cancelled: " + c);
        }
        return Rotation.ROTATED;
    }

    /** Whether the latest rotation of the webhook's secret was {@code rotation}'s (see {@link #rotate}). */
    boolean rotatedUnder(String accountId, String id, String rotation) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                .consistentRead(true).projectionExpression("rotation")).item();
        return item != null && rotation.equals(Attr.str(item, "rotation"));
    }

    /**
     * Counts a test sent for the account in the minute {@code epochMinute} ({@code ACCT#a / WEBHOOK-TESTS#<minute>},
     * gone an hour after by its TTL), unless {@code max} were sent in it already (false then).
     */
    boolean countTest(String accountId, long epochMinute, int max) {
        long expiresAt = (epochMinute + 61) * 60; // epoch seconds, as the table's TTL reads them
        return ops.updateIf(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), "WEBHOOK-TESTS#" + epochMinute))
                .updateExpression("ADD tests :one SET expiresAt = :expires")
                .conditionExpression("attribute_not_exists(tests) OR tests < :max")
                .expressionAttributeValues(Map.of(":one", n(1), ":max", n(max), ":expires", n(expiresAt))));
    }

    /**
     * Deletes it and counts it out, leaving its mark (see {@link #deleted}); false when there is none. Nothing is
     * deleted when the caller's key was revoked meanwhile ({@link CallerKey}).
     */
    boolean delete(Caller caller, String id, long nowMillis) {
        String accountId = caller.accountId();
        var outcome = CallerKey.transact(ops, table, List.of(
                TransactWriteItem.builder().delete(d -> d.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                        .conditionExpression("attribute_exists(pk)")).build(),
                TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(Attr.accountPk(accountId), COUNT_SK))
                        .updateExpression("ADD webhooks :minus").expressionAttributeValues(Map.of(":minus", n(-1)))).build(),
                deleted.put(accountId, id, nowMillis)), caller, null);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (c.conditionFailed(0)) return false;
            throw new IllegalStateException("webhook delete cancelled: " + c);
        }
        return true;
    }

    /** Whether the webhook {@code id} was deleted within its mark's {@link DeletionMarks#KEPT} (a consistent read). */
    boolean deleted(String accountId, String id) {
        return deleted.marked(accountId, id);
    }

    Optional<Webhook> get(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                .consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toWebhook(item));
    }

    /** Every webhook of the account, oldest first (ids are ULIDs); an account has a handful at most. */
    List<Webhook> list(String accountId) {
        return ops.queryAll(table, Attr.accountPk(accountId), PREFIX).stream().map(WebhookStore::toWebhook).toList();
    }

    /**
     * A test's outcome, shown on the webhook as a delivery's: a 2xx ends a failing stretch, as a delivery's does; a
     * failure is shown ({@code lastFailedAt}, {@code lastFailure}) but starts no stretch and keeps none going (tests of
     * a receiver being built must not count toward disabling it: a stretch goes on by {@code deliveryFailedAt}).
     */
    void recordTestOutcome(String accountId, String id, String failure, long at, long quietBefore, long deliveryFailedBefore,
                           String url) {
        if (failure == null) {
            recordOutcome(accountId, id, null, at, Long.MIN_VALUE, quietBefore, url);
            return;
        }
        // an item without deliveryFailedAt gets it (deliveryFailedBefore: 0 when no delivery's failure counts), so that
        // the test's lastFailedAt does not stand in for a delivery's, neither for a stretch nor for a pause
        var values = new HashMap<String, AttributeValue>(Map.of(":at", n(at), ":failure", s(failure)));
        values.put(":before", n(deliveryFailedBefore));
        String expression = "SET lastFailedAt = :at, lastFailure = :failure, deliveryFailedAt = if_not_exists(deliveryFailedAt, :before)";
        try {
            values.put(":url", s(url));
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                    .updateExpression(expression)
                    .conditionExpression(AT_URL).expressionAttributeNames(URL_NAME)
                    .expressionAttributeValues(values));
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            // deleted while it was tried, or given another url (whose slate is clean): left so
        }
    }

    /** The webhook is there, still at the url tried: an outcome at an old url is not the new one's. */
    private static final String AT_URL = "attribute_exists(pk) AND #url = :url";
    private static final Map<String, String> URL_NAME = Map.of("#url", "url");

    /**
     * What the latest delivery to the webhook at {@code url} came to (shown on it): {@code failure} null for a
     * delivered one, which ends its failing stretch; a failure starts one, or goes on with it when the one before came
     * after {@code quietBefore} (a failure after a quiet spell with no deliveries at all starts a new stretch: the
     * endpoint may have been fixed meanwhile, and one failure must not disable it). A webhook that has been failing
     * since {@code disableBefore} or earlier is disabled: returned as it is then, once. A webhook deleted meanwhile is
     * left deleted, and one given another url meanwhile as it is.
     */
    Optional<Webhook> recordOutcome(String accountId, String id, String failure, long at, long disableBefore, long quietBefore,
                                    String url) {
        var values = new HashMap<String, AttributeValue>(Map.of(":at", n(at), ":url", s(url)));
        String update;
        String condition = AT_URL;
        if (failure == null) {
            update = "SET lastDeliveredAt = :at REMOVE failingSince";
        } else {
            // deliveryFailedAt: a delivery's failure alone (a test's sets lastFailedAt too, and must not keep a
            // stretch going); an item from before it was kept goes by lastFailedAt
            update = "SET lastFailedAt = :at, deliveryFailedAt = :at, lastFailure = :failure,"
                    + " failingSince = if_not_exists(failingSince, :at)";
            condition += " AND (attribute_not_exists(failingSince) OR deliveryFailedAt >= :quiet"
                    + " OR (attribute_not_exists(deliveryFailedAt) AND lastFailedAt >= :quiet))";
            values.put(":failure", s(failure));
            values.put(":quiet", n(quietBefore));
        }
        var key = Attr.key(Attr.accountPk(accountId), PREFIX + id);
        Map<String, AttributeValue> after;
        try {
            String goesOn = condition;
            after = dynamo.updateItem(b -> b.tableName(table).key(key).updateExpression(update)
                    .conditionExpression(goesOn).expressionAttributeNames(URL_NAME).expressionAttributeValues(values)
                    .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.ALL_NEW)).attributes();
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            if (failure == null) return Optional.empty(); // deleted while its delivery was under way
            try {
                // failing before a quiet spell: a new stretch begins with this failure
                values.remove(":quiet");
                after = dynamo.updateItem(b -> b.tableName(table).key(key)
                        .updateExpression("SET lastFailedAt = :at, deliveryFailedAt = :at, lastFailure = :failure, failingSince = :at")
                        .conditionExpression(AT_URL).expressionAttributeNames(URL_NAME).expressionAttributeValues(values)
                        .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.ALL_NEW)).attributes();
            } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException gone) {
                return Optional.empty();
            }
        }
        Long since = Attr.numOrNull(after, "failingSince");
        if (failure == null || since == null || since > disableBefore || after.containsKey("disabledAt")) return Optional.empty();
        try {
            return Optional.of(toWebhook(dynamo.updateItem(b -> b.tableName(table).key(key)
                    .updateExpression("SET disabledAt = :at, disabledReason = :why, disabledUntold = :untold")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(disabledAt) AND failingSince = :since")
                    .expressionAttributeValues(Map.of(":at", n(at), ":since", n(since), ":untold", AttributeValue.fromBool(true),
                            ":why", s("every delivery failed since " + groupmsg.platform.api.Timestamps.format(since)
                                    + " (last: " + failure + ")")))
                    .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.ALL_NEW)).attributes()));
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException meanwhile) {
            return Optional.empty(); // disabled, delivered to, or enabled again meanwhile
        }
    }

    /**
     * Claims telling the account that the webhook was disabled ({@code disabledUntold}, set with the disable) until
     * {@code staleBefore} passes ({@code tellingAt}): true for the one run that takes it, which publishes the event
     * and then removes the mark ({@link #told}). A run that dies between the claim and the publish leaves the claim
     * to go stale, and a later event tells it: twice at worst, never not at all.
     */
    boolean claimTellingDisabled(String accountId, String id, long now, long staleBefore) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                    .updateExpression("SET tellingAt = :now")
                    .conditionExpression("attribute_exists(disabledUntold) AND attribute_exists(disabledAt)"
                            + " AND (attribute_not_exists(tellingAt) OR tellingAt < :stale)")
                    .expressionAttributeValues(Map.of(":now", n(now), ":stale", n(staleBefore))));
            return true;
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            return false; // being told, told, enabled again, or deleted
        }
    }

    /** The account was told, under the claim made at {@code claimedAt}: the mark and the claim go. */
    void told(String accountId, String id, long claimedAt) {
        removeUnderClaim(accountId, id, "REMOVE disabledUntold, tellingAt", claimedAt);
    }

    /** Gives back the claim made at {@code claimedAt}, whose publish failed: the account's next event tells it. */
    void giveBackTellingClaim(String accountId, String id, long claimedAt) {
        removeUnderClaim(accountId, id, "REMOVE tellingAt", claimedAt);
    }

    /**
     * An update of the webhook while it is there and the claim is still this run's (an update alone would make a bare
     * item of one deleted meanwhile, and a run that stalled past its claim must not clear a newer run's).
     */
    private void removeUnderClaim(String accountId, String id, String update, long claimedAt) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(Attr.accountPk(accountId), PREFIX + id))
                    .updateExpression(update).conditionExpression("attribute_exists(pk) AND tellingAt = :claimed")
                    .expressionAttributeValues(Map.of(":claimed", n(claimedAt))));
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            // deleted, enabled again, or claimed by a newer run meanwhile: theirs to finish
        }
    }

    private static String donePk(String accountId) {
        return Attr.accountPk(accountId) + "#WHDONE";
    }

    /** Of these webhooks, those {@code eventKey} was delivered to already. */
    Set<String> deliveredTo(String accountId, String eventKey, List<String> webhookIds) {
        Set<String> done = new HashSet<>();
        if (webhookIds.isEmpty()) return done;
        var keys = webhookIds.stream().map(id -> Attr.key(donePk(accountId), eventKey + "#" + id)).toList();
        for (var row : ops.batchGet(table, keys)) done.add(Attr.str(row, "webhookId"));
        return done;
    }

    /** Remembers that this webhook is done with {@code eventKey} (it took it, or it was given up). */
    void markDelivered(String accountId, String eventKey, String webhookId, long at) {
        var item = new HashMap<String, AttributeValue>(Attr.key(donePk(accountId), eventKey + "#" + webhookId));
        item.put("webhookId", s(webhookId));
        item.put("deliveredAt", n(at));
        item.put("expiresAt", n((at + DONE_KEPT.toMillis()) / 1000));
        dynamo.putItem(b -> b.tableName(table).item(item));
    }

    private static Webhook toWebhook(Map<String, AttributeValue> item) {
        return new Webhook(Attr.str(item, "webhookId"), Attr.str(item, "url"),
                item.get("events").l().stream().map(AttributeValue::s).toList(), Attr.str(item, "description"),
                Attr.str(item, "secret"), Attr.num(item, "createdAt", 0), Attr.numOrNull(item, "lastDeliveredAt"),
                Attr.numOrNull(item, "lastFailedAt"), Attr.str(item, "lastFailure"), Attr.str(item, "previousSecret"),
                Attr.numOrNull(item, "previousSecretExpiresAt"), Attr.numOrNull(item, "failingSince"),
                Attr.numOrNull(item, "disabledAt"), Attr.str(item, "disabledReason"), Attr.numOrNull(item, "enabledAt"),
                item.containsKey("disabledUntold"), Attr.numOrNull(item, "deliveryFailedAt"));
    }
}
