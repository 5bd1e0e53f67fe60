package groupmsg.messages;

import com.github.f4b6a3.ulid.Ulid;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Group messages in the core table: {@code ACCT#a / MSG#m} (with {@code gsi1pk = ACCT#a#GRP#g#MSGS},
 * {@code gsi1sk = m} for listing a group's messages), the fan-out checkpoint on the message item, and
 * {@code JOBS#sending / a#m} for every message not yet complete (maintenance finishes them).
 */
final class MessageStore {
    static final String SENDING_JOBS_PK = "JOBS#sending";
    /** Group messages' ids start with this; other kinds use other prefixes, so listing the account's group
     * messages is one key range. */
    static final String GROUP_ID_PREFIX = "msg_";

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    MessageStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static Map<String, AttributeValue> key(String accountId, String messageId) {
        return Attr.key(Attr.accountPk(accountId), "MSG#" + messageId);
    }

    static String groupIndexPk(String accountId, String groupId) {
        return Attr.accountPk(accountId) + "#GRP#" + groupId + "#MSGS";
    }

    /**
     * Creates a group message together with its acceptance on the group ({@code fence}, see
     * {@link groupmsg.groups.GroupService#acceptFence}) and the outbox row of its fan-out job. Returns the message as
     * stored (an earlier run's when one committed this id); null when the fence's condition failed: the membership
     * changed since the group was read, and nothing was written.
     */
    GroupMessage createAccepted(GroupMessage m, TransactWriteItem fence, TransactWriteItem outboxRow) {
        var outcome = putWithJob(m, List.of(fence, outboxRow));
        if (outcome instanceof DynamoOps.Cancelled c) {
            // an earlier try of this transaction, or an earlier run of the request, committed it (with its outbox row)
            var stored = get(m.accountId(), m.id());
            if (stored.isPresent()) return stored.get();
            if (c.conditionFailed(2)) return null;
            throw new IllegalStateException("message create cancelled: " + c);
        }
        return m;
    }

    /**
     * Creates the message (and its sending job), in one transaction with {@code also} (the outbox row of its first
     * job, what the message is part of); false when a message with this id exists already (and nothing is written).
     */
    boolean create(GroupMessage m, List<TransactWriteItem> also) {
        var outcome = putWithJob(m, also);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (get(m.accountId(), m.id()).isPresent()) return false;
            throw new IllegalStateException("message create cancelled: " + c);
        }
        return true;
    }

    /** One transaction: the message (if new), its sending job, and {@code also} (its third action on). */
    private DynamoOps.TransactOutcome putWithJob(GroupMessage m, List<TransactWriteItem> also) {
        List<TransactWriteItem> actions = new ArrayList<>(List.of(
                TransactWriteItem.builder().put(p -> p.tableName(table).item(item(m)).conditionExpression("attribute_not_exists(pk)")).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(sendingJobRow(m))).build()));
        actions.addAll(also);
        return ops.transact(actions);
    }

    private static Map<String, AttributeValue> item(GroupMessage m) {
        var item = new HashMap<String, AttributeValue>(key(m.accountId(), m.id()));
        if (m.groupId() != null) {
            item.put("gsi1pk", s(groupIndexPk(m.accountId(), m.groupId())));
            item.put("gsi1sk", s(m.id()));
            item.put("groupId", s(m.groupId()));
        }
        item.put("messageId", s(m.id()));
        item.put("accountId", s(m.accountId()));
        item.put("kind", s(m.kind().wireName()));
        if (!m.recipientList().isEmpty()) {
            item.put("recipientList", AttributeValue.fromL(m.recipientList().stream().map(Attr::s).toList()));
        }
        item.put("lineId", s(m.lineId()));
        item.put("linePhone", s(m.linePhone()));
        item.put("lineMps", n(m.lineMps()));
        if (m.sender() != null) item.put("sender", s(m.sender()));
        if (m.title() != null) item.put("title", s(m.title()));
        item.put("body", s(m.body()));
        if (!m.mediaUrls().isEmpty()) item.put("mediaUrls", AttributeValue.fromL(m.mediaUrls().stream().map(Attr::s).toList()));
        item.put("text", s(m.text()));
        item.put("encoding", s(m.encoding().name()));
        item.put("segments", n(m.segments()));
        item.put("recipients", n(m.recipients()));
        item.put("shards", n(m.shards()));
        item.put("acceptedAt", n(m.acceptedAt()));
        item.put("status", s(GroupMessage.SENDING));
        item.put("fannedOut", n(0));
        if (m.orderKey() != null) item.put("orderKey", s(m.orderKey()));
        if (m.groupName() != null) item.put("groupName", s(m.groupName()));
        if (m.sentByKeyId() != null) item.put("sentByKeyId", s(m.sentByKeyId()));
        return item;
    }

    Optional<GroupMessage> get(String accountId, String messageId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, messageId)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toMessage(item));
    }

    /**
     * The fan-out checkpoint: the members-query key to continue after (null = start), rows counted so far, and
     * whether a page was ever taken over (see {@link #markPageTakenOver}).
     */
    record Checkpoint(String cursor, long fannedOut, boolean done, boolean pageTakenOver) {}

    Checkpoint checkpoint(String accountId, String messageId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, messageId)).consistentRead(true)).item();
        return new Checkpoint(Attr.str(item, "fanoutCursor"), Attr.num(item, "fannedOut", 0), Attr.flag(item, "fanoutDone"),
                Attr.flag(item, "fanoutPageTakenOver"));
    }

    /**
     * Notes for good that a page of this fan-out was taken over. A page ends at its thousandth membership row, and
     * rows added since the dead run read it (numbers that joined after the acceptance count as rows) end the
     * taken-over page earlier: the dead run's rows past that end fall in the next page, which is no longer one nobody
     * wrote. Every later page is then written checking for rows first (a blind write would put a sent row back to
     * queued and send it again).
     */
    void markPageTakenOver(String accountId, String messageId) {
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId))
                .updateExpression("SET fanoutPageTakenOver = :true").expressionAttributeValues(Map.of(":true", Attr.bool(true))));
    }

    /** What a fan-out run may do with the page after the checkpoint. */
    enum PageClaim {
        /** Nobody wrote this page before: its rows cannot exist. */
        FRESH,
        /** A run that wrote (part of) this page died: its rows may exist and some may be claimed already. */
        TAKEN_OVER,
        /** Another live run is writing it, or the checkpoint moved on: stop. */
        BUSY
    }

    /**
     * Claims the page after {@code cursor} for this run with a lease ({@code fanoutPage}, {@code fanoutPageAt}) that
     * outlives any run (the fan-out worker's timeout plus a margin), so two copies of one fan-out job never write
     * the same page at once, and a page left half written by a dead run is taken over with its rows checked.
     * {@code lease} is the claim's own id ({@code fanoutLease}): a claim whose write went through but whose answer was
     * lost fails its SDK retry on what it wrote, and knows it for its own (taken as a take-over: its rows are checked).
     */
    PageClaim claimPage(String accountId, String messageId, String cursor, long now, long leaseMillis, String lease) {
        String token = cursor == null ? "^" : cursor;
        var values = new HashMap<String, AttributeValue>(Map.of(":token", s(token), ":now", n(now),
                ":expired", n(now - leaseMillis), ":lease", s(lease)));
        String condition = "(attribute_not_exists(fanoutPage) OR fanoutPage <> :token OR fanoutPageAt < :expired)"
                + " AND attribute_not_exists(fanoutDone) AND ";
        if (cursor == null) {
            condition += "attribute_not_exists(fanoutCursor)";
        } else {
            condition += "fanoutCursor = :cursor";
            values.put(":cursor", s(cursor));
        }
        String finalCondition = condition;
        try {
            var old = dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId))
                    .updateExpression("SET fanoutPage = :token, fanoutPageAt = :now, fanoutLease = :lease")
                    .conditionExpression(finalCondition).expressionAttributeValues(values)
                    .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.UPDATED_OLD)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)).attributes();
            return token.equals(Attr.str(old, "fanoutPage")) ? PageClaim.TAKEN_OVER : PageClaim.FRESH;
        } catch (ConditionalCheckFailedException e) {
            return ownLease(e, lease) && token.equals(Attr.str(e.item(), "fanoutPage")) ? PageClaim.TAKEN_OVER : PageClaim.BUSY;
        }
    }

    /** Whether a write refused on its condition found the fan-out under {@code lease}: its own earlier try's. */
    private static boolean ownLease(ConditionalCheckFailedException e, String lease) {
        return lease != null && e.hasItem() && lease.equals(Attr.str(e.item(), "fanoutLease"));
    }

    /**
     * Claims the sending of a lost fan-out's job again: true (and {@code fanoutRedrivenAt} set to {@code now}) when the
     * fan-out is not done, no job was sent again since {@code since}, and no page was leased since then either (a
     * fan-out still going is not lost). Sweeps overlapping, or a minute apart, send one job, not one each.
     */
    boolean claimRefan(String accountId, String messageId, long now, long since) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId))
                    .updateExpression("SET fanoutRedrivenAt = :now")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(fanoutDone)"
                            + " AND (attribute_not_exists(fanoutRedrivenAt) OR fanoutRedrivenAt < :since)"
                            + " AND (attribute_not_exists(fanoutPageAt) OR fanoutPageAt < :since)")
                    .expressionAttributeValues(Map.of(":now", n(now), ":since", n(since))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /** Gives back a {@link #claimRefan} made at {@code at} whose job could not be sent: the next sweep tries again. */
    void unclaimRefan(String accountId, String messageId, long at) {
        // a failed condition: claimed again since, not this claim's to give back
        ops.updateIf(b -> b.tableName(table).key(key(accountId, messageId))
                .updateExpression("REMOVE fanoutRedrivenAt").conditionExpression("fanoutRedrivenAt = :at")
                .expressionAttributeValues(Map.of(":at", n(at))));
    }

    /**
     * Ends the lease on a fan-out page taken before {@code before} (epoch ms) by a run that is known to be gone (the
     * local runtime's previous process): the next run takes the page over at once instead of waiting out the lease
     * and returning "busy", which left the message unsent until maintenance ten minutes on.
     */
    void expirePageLease(String accountId, String messageId, long before) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId))
                    .updateExpression("SET fanoutPageAt = :never")
                    .conditionExpression("fanoutPageAt < :before AND attribute_not_exists(fanoutDone)")
                    .expressionAttributeValues(Map.of(":never", n(0), ":before", n(before))));
        } catch (ConditionalCheckFailedException e) {
            // no page leased before then, or the fan-out is done
        }
    }

    /**
     * Ends this run's lease on a page ({@code token}, claimed at {@code claimedAt}) after it failed part way, so the
     * retry takes the page over at once (checking the rows it finds) instead of finding it leased and stopping.
     */
    void releasePage(String accountId, String messageId, String cursor, long claimedAt) {
        String token = cursor == null ? "^" : cursor;
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId))
                    .updateExpression("SET fanoutPageAt = :never")
                    .conditionExpression("fanoutPage = :token AND fanoutPageAt = :at")
                    .expressionAttributeValues(Map.of(":never", n(0), ":token", s(token), ":at", n(claimedAt))));
        } catch (ConditionalCheckFailedException e) {
            // taken over meanwhile, or moved on: not ours to end
        }
    }

    /**
     * Moves the checkpoint past one page, only if nobody moved it meanwhile (a duplicate fan-out run stops).
     * When {@code nextCursor} is null the fan-out is complete and {@code recipients} becomes the exact count. A write
     * whose answer was lost and whose SDK retry then fails on it is seen by {@code lease} (the page's claim, null for
     * none): still under that claim, the checkpoint where this write put it.
     */
    boolean advance(String accountId, String messageId, String expectedCursor, String nextCursor, long pageRecipients,
                    String lease) {
        var values = new HashMap<String, AttributeValue>(Map.of(":n", n(pageRecipients)));
        String condition = expectedCursor == null ? "attribute_not_exists(fanoutCursor)" : "fanoutCursor = :expected";
        if (expectedCursor != null) values.put(":expected", s(expectedCursor));
        condition += " AND attribute_not_exists(fanoutDone)";
        String update;
        if (nextCursor == null) {
            update = "SET fanoutDone = :true, recipients = fannedOut + :n, fannedOut = fannedOut + :n REMOVE fanoutCursor";
            values.put(":true", Attr.bool(true));
        } else {
            update = "SET fanoutCursor = :next ADD fannedOut :n";
            values.put(":next", s(nextCursor));
        }
        String finalCondition = condition;
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId)).updateExpression(update)
                    .conditionExpression(finalCondition).expressionAttributeValues(values)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
            return true;
        } catch (ConditionalCheckFailedException e) {
            if (!ownLease(e, lease)) return false;
            return nextCursor == null ? e.item().containsKey("fanoutDone") : nextCursor.equals(Attr.str(e.item(), "fanoutCursor"));
        }
    }

    /** Forgets {@link #markWaitingUntil}: the jobs that waited are gone (a restart lost them with its queues). */
    void clearWaitingUntil(String accountId, String messageId) {
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId)).updateExpression("REMOVE waitingUntil"));
    }

    /**
     * Notes that some of the message's jobs wait in the queue for places up to {@code untilMillis} (kept at the
     * latest such time): maintenance leaves its queued rows alone until then.
     */
    void markWaitingUntil(String accountId, String messageId, long untilMillis) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, messageId))
                    .updateExpression("SET waitingUntil = :t")
                    .conditionExpression("attribute_exists(pk) AND (attribute_not_exists(waitingUntil) OR waitingUntil < :t)")
                    .expressionAttributeValues(Map.of(":t", n(untilMillis))));
        } catch (ConditionalCheckFailedException later) {
            // a later time is noted already (or the message is gone)
        }
    }

    /**
     * Marks the message sent once; false when it was already (so the event is published once). When an event is to
     * follow, the message's {@code JOBS#sending} row stays, marked completed, until {@link #finishJob} after the
     * publish: a publish that fails (or a worker that dies first) leaves it for maintenance to publish again. A
     * {@code receiptCheck}, when given, is written in the same transaction (rows are still waiting for their final
     * receipt).
     */
    boolean complete(GroupMessage m, long now, boolean eventFollows, ReceiptCheck receiptCheck) {
        TransactWriteItem job;
        if (eventFollows) {
            // an update, not a put: the row keeps acceptedEventAt (whether the acceptance event is out)
            job = TransactWriteItem.builder().update(u -> u.tableName(table).key(sendingJobKey(m.accountId(), m.id()))
                    .updateExpression("SET accountId = :a, messageId = :m, acceptedAt = :acc, completedAt = :now")
                    .expressionAttributeValues(Map.of(":a", s(m.accountId()), ":m", s(m.id()), ":acc", n(m.acceptedAt()),
                            ":now", n(now)))).build();
        } else {
            job = TransactWriteItem.builder().delete(d -> d.tableName(table).key(sendingJobKey(m.accountId(), m.id()))).build();
        }
        List<TransactWriteItem> actions = new ArrayList<>(List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(key(m.accountId(), m.id()))
                        .updateExpression("SET #status = :sent, completedAt = :now")
                        .conditionExpression("#status = :sending AND fanoutDone = :true")
                        .expressionAttributeNames(Map.of("#status", "status"))
                        .expressionAttributeValues(Map.of(":sent", s(GroupMessage.SENT), ":sending", s(GroupMessage.SENDING),
                                ":now", n(now), ":true", Attr.bool(true)))).build(),
                job));
        if (receiptCheck != null) {
            actions.add(TransactWriteItem.builder().put(p -> p.tableName(table).item(receiptCheckRow(receiptCheck))).build());
        }
        try {
            return ops.transact(actions) instanceof DynamoOps.Committed;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * Claims the late publish of a completed message's event ({@code eventClaimedAt} on its job row), for
     * {@code claimMillis}: false when the row is gone (published and finished) or another sweep claimed it within that
     * time, so two sweeps that overlap publish it once. A claim older than that is taken over (its sweep died).
     */
    boolean claimLateEvent(String accountId, String messageId, long now, long claimMillis) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(sendingJobKey(accountId, messageId))
                    .updateExpression("SET eventClaimedAt = :now")
                    .conditionExpression("attribute_exists(pk) AND (attribute_not_exists(eventClaimedAt) OR eventClaimedAt < :stale)")
                    .expressionAttributeValues(Map.of(":now", n(now), ":stale", n(now - claimMillis))));
            return true;
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            return false;
        }
    }

    /** Lets go of a claim of {@link #claimLateEvent} made at {@code claimedAt} (its publish failed: the next sweep tries). */
    void releaseLateEvent(String accountId, String messageId, long claimedAt) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(sendingJobKey(accountId, messageId))
                    .updateExpression("REMOVE eventClaimedAt")
                    .conditionExpression("eventClaimedAt = :at")
                    .expressionAttributeValues(Map.of(":at", n(claimedAt))));
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            // gone, or taken over since
        }
    }

    /** Removes a completed message's job row once its event is out. */
    void finishJob(String accountId, String messageId) {
        dynamo.deleteItem(b -> b.tableName(table).key(sendingJobKey(accountId, messageId)));
    }

    /** A message's {@code JOBS#sending} row as accept writes it (completion may add {@code completedAt}). */
    private static HashMap<String, AttributeValue> sendingJobRow(GroupMessage m) {
        var row = new HashMap<String, AttributeValue>(sendingJobKey(m.accountId(), m.id()));
        row.put("accountId", s(m.accountId()));
        row.put("messageId", s(m.id()));
        row.put("acceptedAt", n(m.acceptedAt()));
        // only a group message announces its acceptance: the others' rows say theirs is out, so no sweep looks
        if (m.kind() != MessageKind.GROUP) row.put("acceptedEventAt", n(m.acceptedAt()));
        return row;
    }

    private static Map<String, AttributeValue> sendingJobKey(String accountId, String messageId) {
        return sendingJobKey(sendingJobSk(accountId, messageId));
    }

    /**
     * A message still in {@code JOBS#sending}; {@code completedAt} > 0 when only its event is still to go out;
     * {@code acceptedEventAt} > 0 once its {@code group_message.accepted} event is out (or it has none).
     */
    record SendingJob(String accountId, String messageId, long acceptedAt, long completedAt, long acceptedEventAt) {
        String sk() {
            return sendingJobSk(accountId, messageId);
        }
    }

    /** The sort key of a message's {@code JOBS#sending} row: {@code <accountId>#<messageId>}. */
    static String sendingJobSk(String accountId, String messageId) {
        return accountId + "#" + messageId;
    }

    record SendingJobs(List<SendingJob> jobs, Map<String, AttributeValue> lastKey) {}

    /**
     * One page of {@code JOBS#sending}, after {@code start} (null: from the first), up to and including the job
     * {@code through} (null: to the last).
     */
    SendingJobs sendingJobs(int limit, Map<String, AttributeValue> start, String through) {
        var values = new HashMap<String, AttributeValue>(Map.of(":pk", s(SENDING_JOBS_PK)));
        if (through != null) values.put(":through", s(through));
        QueryResponse page = dynamo.query(b -> b.tableName(table)
                .keyConditionExpression(through == null ? "pk = :pk" : "pk = :pk AND sk <= :through")
                .expressionAttributeValues(values).limit(limit).exclusiveStartKey(start));
        var jobs = page.items().stream().map(MessageStore::sendingJob).toList();
        return new SendingJobs(jobs, page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null);
    }

    private static SendingJob sendingJob(Map<String, AttributeValue> row) {
        return new SendingJob(Attr.str(row, "accountId"), Attr.str(row, "messageId"), Attr.num(row, "acceptedAt", 0),
                Attr.num(row, "completedAt", 0), Attr.num(row, "acceptedEventAt", 0));
    }

    /** A message's {@code JOBS#sending} row, read consistently (none once the message is complete and announced). */
    Optional<SendingJob> sendingJob(String accountId, String messageId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(sendingJobKey(accountId, messageId)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(sendingJob(item));
    }

    /**
     * Claims the publish of the message's acceptance event ({@code acceptedClaimedAt}, by {@code claimant}, on its job row) for
     * {@code claimMillis}: false when the row is gone, says the event is out, or another caller claimed it within
     * that time (a fan-out job delivered twice at once, or a sweep beside a late first fan-out run), so it goes out once.
     */
    boolean claimAcceptedEvent(String accountId, String messageId, long now, long claimMillis, String claimant) {
        // its own claim counts as won: one whose write went through but whose answer was lost, met on the SDK's retry
        return ops.updateIf(b -> b.tableName(table).key(sendingJobKey(accountId, messageId))
                .updateExpression("SET acceptedClaimedAt = :now, acceptedClaimedBy = :me")
                .conditionExpression("attribute_exists(pk) AND attribute_not_exists(acceptedEventAt)"
                        + " AND (attribute_not_exists(acceptedClaimedAt) OR acceptedClaimedAt < :stale OR acceptedClaimedBy = :me)")
                .expressionAttributeValues(Map.of(":now", n(now), ":stale", n(now - claimMillis), ":me", s(claimant))));
    }

    /** Lets go of {@code claimant}'s claim of {@link #claimAcceptedEvent} (its publish failed). */
    void releaseAcceptedEvent(String accountId, String messageId, String claimant) {
        ops.updateIf(b -> b.tableName(table).key(sendingJobKey(accountId, messageId))
                .updateExpression("REMOVE acceptedClaimedAt, acceptedClaimedBy").conditionExpression("acceptedClaimedBy = :me")
                .expressionAttributeValues(Map.of(":me", s(claimant))));
    }

    /** Records that the message's acceptance event is out (on its job row, while there is one). */
    void markAcceptedEvent(String accountId, String messageId, long at) {
        // a failed condition: finished meanwhile, the row gone and with it the need to remember
        ops.updateIf(b -> b.tableName(table).key(sendingJobKey(accountId, messageId))
                .updateExpression("SET acceptedEventAt = :at").conditionExpression("attribute_exists(pk)")
                .expressionAttributeValues(Map.of(":at", n(at))));
    }

    /** The key of a job's {@code JOBS#sending} row, to start a page after it. */
    static Map<String, AttributeValue> sendingJobKey(String jobSk) {
        return Attr.key(SENDING_JOBS_PK, jobSk);
    }

    static final String RECEIPT_CHECKS_PK = "JOBS#receipts";
    /** A check row expires this long after it was due (TTL, a backstop: checks end or are given up long before). */
    static final long RECEIPT_CHECK_TTL_SECONDS = java.time.Duration.ofDays(7).toSeconds();

    /**
     * A message whose rows still {@code sent} are to be checked against the carrier at {@code dueAt} (check
     * {@code round}, 1 first), by {@link OverdueReceipts}: {@code JOBS#receipts / <dueAt>#<a>#<m>}, so the checks due
     * are one key range. {@code shard} and {@code afterPhone} say where a check cut short goes on; {@code failures}
     * counts its turns in a row the carrier could not answer.
     */
    record ReceiptCheck(String accountId, String messageId, int shards, long completedAt, int round, long dueAt,
                        int shard, String afterPhone, int failures) {
        String sk() {
            return "%013d#%s#%s".formatted(dueAt, accountId, messageId);
        }

        /**
         * The same check (round), due at {@code dueAgain}, to go on after {@code phone} of {@code shard}, with
         * {@code failures} failed turns in a row.
         */
        ReceiptCheck goOnAfter(long dueAgain, int shard, String phone, int failures) {
            return new ReceiptCheck(accountId, messageId, shards, completedAt, round, dueAgain, shard, phone, failures);
        }

        /** The next round's check, due at {@code dueAt}, from the start. */
        ReceiptCheck nextRound(long dueAt) {
            return new ReceiptCheck(accountId, messageId, shards, completedAt, round + 1, dueAt, 0, null, 0);
        }
    }

    private static HashMap<String, AttributeValue> receiptCheckRow(ReceiptCheck c) {
        var row = new HashMap<String, AttributeValue>(Attr.key(RECEIPT_CHECKS_PK, c.sk()));
        row.put("accountId", s(c.accountId()));
        row.put("messageId", s(c.messageId()));
        row.put("shards", n(c.shards()));
        row.put("completedAt", n(c.completedAt()));
        row.put("round", n(c.round()));
        row.put("dueAt", n(c.dueAt()));
        row.put("shard", n(c.shard()));
        if (c.afterPhone() != null) row.put("afterPhone", s(c.afterPhone()));
        row.put("failures", n(c.failures()));
        row.put("expiresAt", n(c.dueAt() / 1000 + RECEIPT_CHECK_TTL_SECONDS));
        return row;
    }

    record ReceiptChecks(List<ReceiptCheck> checks, Map<String, AttributeValue> lastKey) {}

    /** A page of up to {@code limit} receipt checks due by {@code dueBy}, the longest due first, after {@code start}. */
    ReceiptChecks dueReceiptChecks(long dueBy, int limit, Map<String, AttributeValue> start) {
        QueryResponse page = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk AND sk < :after")
                .expressionAttributeValues(Map.of(":pk", s(RECEIPT_CHECKS_PK), ":after", s("%013d$".formatted(dueBy))))
                .limit(limit).exclusiveStartKey(start));
        var checks = page.items().stream().map(i -> new ReceiptCheck(Attr.str(i, "accountId"), Attr.str(i, "messageId"),
                (int) Attr.num(i, "shards", 1), Attr.num(i, "completedAt", 0), (int) Attr.num(i, "round", 1),
                Attr.num(i, "dueAt", 0), (int) Attr.num(i, "shard", 0), Attr.str(i, "afterPhone"),
                (int) Attr.num(i, "failures", 0))).toList();
        return new ReceiptChecks(checks, page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null);
    }

    /** Writes a check as it is (a new one: a start after a kill gives every message still sending one). */
    void putReceiptCheck(ReceiptCheck c) {
        dynamo.putItem(b -> b.tableName(table).item(receiptCheckRow(c)));
    }

    /**
     * Ends a check: deletes it and, when given, puts the one that replaces it (the next round, or itself due later);
     * false when an overlapping sweep ended it first (then nothing is written).
     */
    boolean endReceiptCheck(ReceiptCheck done, ReceiptCheck next) {
        List<TransactWriteItem> actions = new ArrayList<>();
        actions.add(TransactWriteItem.builder().delete(d -> d.tableName(table).key(Attr.key(RECEIPT_CHECKS_PK, done.sk()))
                .conditionExpression("attribute_exists(pk)")).build());
        if (next != null) actions.add(TransactWriteItem.builder().put(p -> p.tableName(table).item(receiptCheckRow(next))).build());
        return ops.transact(actions) instanceof DynamoOps.Committed;
    }

    /** Deletes checks (as read) in batches of 25: each one's delete is the same whoever ends it. */
    void endReceiptChecks(List<ReceiptCheck> done) {
        ops.batchWrite(table, done.stream().map(c -> WriteRequest.builder()
                .deleteRequest(d -> d.key(Attr.key(RECEIPT_CHECKS_PK, c.sk()))).build()).toList());
    }

    private static final Map<String, AttributeValue> MAINTENANCE_RESUME_KEY = Attr.key("MAINT#messages", "resume");

    /** The job a sweep that ran out of time stopped at ({@code <accountId>#<messageId>}), if one did. */
    Optional<String> maintenanceResumesAfter() {
        var item = dynamo.getItem(b -> b.tableName(table).key(MAINTENANCE_RESUME_KEY)).item();
        return Optional.ofNullable(item == null ? null : Attr.str(item, "afterJob"));
    }

    /** Where the next sweep starts: after {@code jobSk}, or (null) from the first job. */
    void resumeMaintenanceAfter(String jobSk) {
        if (jobSk == null) {
            dynamo.deleteItem(b -> b.tableName(table).key(MAINTENANCE_RESUME_KEY));
            return;
        }
        var item = new HashMap<String, AttributeValue>(MAINTENANCE_RESUME_KEY);
        item.put("afterJob", s(jobSk));
        dynamo.putItem(b -> b.tableName(table).item(item));
    }

    /** One more answer of a kind ({@code counter}) linked to the message ({@link BroadcastReplies}); fails the transaction if it is gone. */
    TransactWriteItem countAnswer(String accountId, String messageId, String counter) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(key(accountId, messageId))
                .updateExpression("ADD " + counter + " :one").conditionExpression("attribute_exists(pk)")
                .expressionAttributeValues(Map.of(":one", Attr.n(1)))).build();
    }

    record MessagePage(List<GroupMessage> messages, Map<String, AttributeValue> lastKey) {}

    /** Newest first; by group through gsi1, else the account's partition. */
    MessagePage list(String accountId, String groupId, int limit, Map<String, AttributeValue> start) {
        return list(accountId, groupId, null, null, limit, start);
    }

    /**
     * How far a message's acceptance time can be from its id's time: a retry under an Idempotency-Key within a
     * minute keeps the first run's id, and the acceptance waits for the group's latest stamp.
     */
    static final long ID_TIME_MARGIN_MS = 5 * 60_000;

    /**
     * Newest first, by group through gsi1, else the account's partition; with {@code since} or {@code until} (epoch
     * ms) only ids made within {@link #ID_TIME_MARGIN_MS} of that range are read (ULIDs sort by time): the caller
     * keeps those accepted within it.
     */
    MessagePage list(String accountId, String groupId, Long since, Long until, int limit, Map<String, AttributeValue> start) {
        // within the times an id can hold, without overflow: a time at the end of a long's range plus the margin
        // wrapped to before 1970, the range's ends crossed, and DynamoDB refused the query (a 500 for a valid time)
        String low = GROUP_ID_PREFIX + (since == null ? "" : Ulid.min(idTime(since, -ID_TIME_MARGIN_MS)));
        String high = GROUP_ID_PREFIX + (until == null ? "~" : Ulid.max(idTime(until, ID_TIME_MARGIN_MS)));
        QueryPage page;
        if (groupId != null) {
            page = QueryPage.of(dynamo, limit, b -> b.tableName(table).indexName("gsi1")
                    .keyConditionExpression("gsi1pk = :pk AND gsi1sk BETWEEN :low AND :high")
                    .expressionAttributeValues(Map.of(":pk", s(groupIndexPk(accountId, groupId)), ":low", s(low), ":high", s(high)))
                    .scanIndexForward(false).exclusiveStartKey(start));
        } else {
            // consistent, as the message's own GET is: a message just accepted is listed, one just completed
            // listed sent (an index, the group's list, cannot read so)
            page = QueryPage.of(dynamo, limit, b -> b.tableName(table).consistentRead(true)
                    .keyConditionExpression("pk = :pk AND sk BETWEEN :low AND :high")
                    .expressionAttributeValues(Map.of(":pk", s(Attr.accountPk(accountId)), ":low", s("MSG#" + low),
                            ":high", s("MSG#" + high)))
                    .scanIndexForward(false).exclusiveStartKey(start));
        }
        return new MessagePage(page.items().stream().map(MessageStore::toMessage).toList(), page.lastKey());
    }

    /** The latest time a ULID holds (48 bits of milliseconds). */
    private static final long MAX_ULID_TIME = (1L << 48) - 1;

    /** {@code at + margin} (epoch ms) within the times a ULID holds, 0 to {@link #MAX_ULID_TIME}. */
    static long idTime(long at, long margin) {
        long clamped = Math.clamp(at, -ID_TIME_MARGIN_MS, MAX_ULID_TIME + ID_TIME_MARGIN_MS);
        return Math.clamp(clamped + margin, 0, MAX_ULID_TIME);
    }

    /** A group message's key as its list's query takes it back ({@link #list}: gsi1's pair too when by group). */
    static Map<String, AttributeValue> listKey(GroupMessage m, boolean byGroup) {
        var key = new HashMap<String, AttributeValue>(key(m.accountId(), m.id()));
        if (byGroup) {
            key.put("gsi1pk", s(groupIndexPk(m.accountId(), m.groupId())));
            key.put("gsi1sk", s(m.id()));
        }
        return key;
    }

    /** Oldest first: the account's messages whose ids start with {@code idPrefix}. */
    MessagePage listWithIdPrefix(String accountId, String idPrefix, int limit, Map<String, AttributeValue> start) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                .expressionAttributeValues(Map.of(":pk", s(Attr.accountPk(accountId)), ":prefix", s("MSG#" + idPrefix)))
                .exclusiveStartKey(start));
        return new MessagePage(page.items().stream().map(MessageStore::toMessage).toList(), page.lastKey());
    }

    static GroupMessage toMessage(Map<String, AttributeValue> item) {
        List<String> media = item.containsKey("mediaUrls") ? item.get("mediaUrls").l().stream().map(AttributeValue::s).toList() : List.of();
        return new GroupMessage(Attr.str(item, "messageId"), Attr.str(item, "accountId"), Attr.str(item, "groupId"),
                Attr.str(item, "lineId"), Attr.str(item, "linePhone"), Attr.decimal(item, "lineMps", 1),
                Attr.str(item, "sender"), Attr.str(item, "title"), Attr.str(item, "body"), media, Attr.str(item, "text"),
                SmsText.Encoding.valueOf(Attr.str(item, "encoding")), (int) Attr.num(item, "segments", 1),
                Attr.num(item, "recipients", 0), (int) Attr.num(item, "shards", 1), Attr.num(item, "acceptedAt", 0),
                Attr.flag(item, "fanoutDone"), Attr.str(item, "status"), Attr.numOrNull(item, "completedAt"),
                MessageKind.fromWire(Attr.str(item, "kind")),
                item.containsKey("recipientList") ? item.get("recipientList").l().stream().map(AttributeValue::s).toList() : List.of(),
                Attr.num(item, "waitingUntil", 0), Attr.str(item, "orderKey"),
                Attr.str(item, "groupName"), Attr.str(item, "sentByKeyId"), Attr.num(item, "replies", 0),
                Attr.num(item, "optOuts", 0));
    }
}
