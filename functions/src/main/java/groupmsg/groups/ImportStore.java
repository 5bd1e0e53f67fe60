package groupmsg.groups;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import groupmsg.platform.schema.Queues;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Imports in the core table: the import {@code ACCT#a / IMPORT#i} with its counters and the ids of the units
 * already applied ({@code doneUnits}, then {@code doneParts}), and one row per invalid CSV line {@code ACCT#a#IMP#i / ERR#000000042}.
 * Both expire after {@link #RETENTION}. {@code JOBS#import-enqueue / a#i} marks an import in flight: its parts are
 * being enqueued (no {@code enqueuedAt} yet), or they are and it has not ended; maintenance fails an import that
 * was never fully enqueued, or that stopped making progress, and forgets the marker of one that ended.
 */
final class ImportStore {
    static final Duration RETENTION = Duration.ofDays(30);
    static final Duration ENQUEUE_DEADLINE = Duration.ofMinutes(5);
    /**
     * How long an enqueued import may go without applying a unit before maintenance fails it: a part that keeps
     * failing reaches the imports queue's DLQ after its receives (5 x 12 minutes), so nothing will come after that
     * but the group's later parts; the hour more covers an import waiting behind another large one of its group.
     */
    static Duration stallDeadline() {
        // a method, not a constant: only the sweep reads the imports queue's settings (a class initialiser would
        // count as the import worker's use of the queue)
        return Duration.ofSeconds((long) Queues.IMPORTS.maxReceiveCount() * Queues.IMPORTS.visibilityTimeoutSeconds())
                .plusHours(1);
    }
    static final String ENQUEUE_JOBS_PK = "JOBS#import-enqueue";
    /** Marker rows read per sweep at most. */
    private static final int MAX_MARKERS_READ = 1_000;

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    ImportStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static final String IMPORT_PREFIX = "IMPORT#";

    static Map<String, AttributeValue> importKey(String accountId, String importId) {
        return Attr.key(Attr.accountPk(accountId), IMPORT_PREFIX + importId);
    }

    static String errorsPk(String accountId, String importId) {
        return Attr.accountPk(accountId) + "#IMP#" + importId;
    }

    /**
     * Stores a new import with its marker; returns it as stored: an earlier run's when a run of the same request
     * (same id) stored it first.
     */
    ImportJob create(String accountId, ImportJob job) {
        var item = new HashMap<String, AttributeValue>(importKey(accountId, job.id()));
        item.put("importId", s(job.id()));
        item.put("groupId", s(job.groupId()));
        item.put("status", s(ImportJob.RUNNING));
        item.put("total", n(job.total()));
        item.put("processed", n(0));
        item.put("added", n(0));
        item.put("alreadyMembers", n(0));
        item.put("invalidCount", n(0));
        item.put("createdAt", n(job.createdAt()));
        item.put("expiresAt", n(expiry(job.createdAt())));
        var pending = new HashMap<String, AttributeValue>(Attr.key(ENQUEUE_JOBS_PK, accountId + "#" + job.id()));
        pending.put("accountId", s(accountId));
        pending.put("importId", s(job.id()));
        pending.put("createdAt", n(job.createdAt()));
        var outcome = ops.transact(List.of(
                TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                        .conditionExpression("attribute_not_exists(pk)")).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(pending)).build()));
        if (outcome instanceof DynamoOps.Cancelled c) {
            var earlier = get(accountId, job.id()).filter(e -> e.groupId().equals(job.groupId()));
            return earlier.orElseThrow(() -> new IllegalStateException("import create cancelled: " + c));
        }
        return job;
    }

    /**
     * Records that every part was handed to the queue, on the import and its marker (which stays until the import
     * ended: see {@link #markersBefore}). Until then maintenance fails imports whose marker outlives
     * {@link #ENQUEUE_DEADLINE} (the API died mid-way). A marker already gone (maintenance failed the import) is not
     * written again: the transaction then changes nothing.
     */
    void markEnqueued(String accountId, String importId, long now) {
        ops.transact(List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(importKey(accountId, importId))
                        .updateExpression("SET enqueuedAt = :now")
                        .expressionAttributeValues(Map.of(":now", n(now)))).build(),
                TransactWriteItem.builder().update(u -> u.tableName(table)
                        .key(Attr.key(ENQUEUE_JOBS_PK, accountId + "#" + importId))
                        .updateExpression("SET enqueuedAt = :now").conditionExpression("attribute_exists(pk)")
                        .expressionAttributeValues(Map.of(":now", n(now)))).build()));
    }

    /** An import in flight, by its marker; {@code enqueuedAt} 0 while its parts are not all enqueued. */
    record Marker(String accountId, String importId, long enqueuedAt) {}

    /** Markers of imports started before {@code olderThan} (ms); every page of the (small) partition, up to a bound. */
    List<Marker> markersBefore(long olderThan) {
        List<Marker> markers = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        int read = 0;
        do {
            Map<String, AttributeValue> from = start;
            QueryResponse page = dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk")
                    .filterExpression("createdAt < :t").exclusiveStartKey(from)
                    .expressionAttributeValues(Map.of(":pk", s(ENQUEUE_JOBS_PK), ":t", n(olderThan))).limit(100));
            page.items().forEach(i -> markers.add(new Marker(Attr.str(i, "accountId"), Attr.str(i, "importId"),
                    Attr.num(i, "enqueuedAt", 0))));
            read += page.scannedCount() == null ? page.items().size() : page.scannedCount();
            start = page.hasLastEvaluatedKey() ? page.lastEvaluatedKey() : null;
        } while (start != null && read < MAX_MARKERS_READ);
        return markers;
    }

    /** Fails an import that was never fully enqueued (unless it ended: whether it failed it) and forgets its marker. */
    boolean failUnqueued(Marker job, String reason) {
        boolean failed = fail(job.accountId(), job.importId(), reason);
        forget(job);
        return failed;
    }

    /**
     * Fails an import that applied nothing since {@code before} (ms; its progress or, without any, its enqueueing),
     * unless it ended meanwhile; false when it did not fail it.
     */
    boolean failStalled(Marker job, long before, String reason) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(importKey(job.accountId(), job.importId()))
                    .updateExpression("SET #status = :failed, #error = :reason")
                    .conditionExpression("#status = :running AND #processed < #total"
                            + " AND (attribute_not_exists(progressAt) OR progressAt < :before)")
                    .expressionAttributeNames(Map.of("#status", "status", "#error", "error",
                            "#processed", "processed", "#total", "total"))
                    .expressionAttributeValues(Map.of(":failed", s(ImportJob.FAILED), ":reason", s(reason),
                            ":running", s(ImportJob.RUNNING), ":before", n(before))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /** Deletes an import's marker (it ended, or was failed). */
    void forget(Marker job) {
        dynamo.deleteItem(b -> b.tableName(table).key(Attr.key(ENQUEUE_JOBS_PK, job.accountId() + "#" + job.importId())));
    }

    record JobPage(List<ImportJob> jobs, Map<String, AttributeValue> lastKey) {}

    /** A page of the account's imports (kept 30 days), newest first: ids are ULIDs. Consistent, so a new one is there. */
    JobPage list(String accountId, int limit, Map<String, AttributeValue> start) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                .expressionAttributeValues(Map.of(":pk", s(Attr.accountPk(accountId)), ":prefix", s(IMPORT_PREFIX)))
                .scanIndexForward(false).consistentRead(true).exclusiveStartKey(start));
        return new JobPage(page.items().stream().map(ImportStore::toJob).toList(), page.lastKey());
    }

    Optional<ImportJob> get(String accountId, String importId) {
        var item = item(accountId, importId);
        return item == null ? Optional.empty() : Optional.of(toJob(item));
    }

    /** The import's item (a consistent read); null when there is none. */
    private Map<String, AttributeValue> item(String accountId, String importId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(importKey(accountId, importId)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? null : item;
    }

    /**
     * Whether nothing more of the part {@code partId} is to be applied: the import is gone or no longer running, or the
     * part's last unit was applied ({@code doneParts}). A part delivered again after it was done stops at its first
     * unit, rather than trying each (a cancelled transaction, and a read, per unit).
     */
    boolean partOver(String accountId, String importId, String partId) {
        var item = item(accountId, importId);
        if (item == null || !ImportJob.RUNNING.equals(toJob(item).status())) return true;
        var parts = item.get("doneParts");
        return parts != null && parts.hasSs() && parts.ss().contains(partId);
    }

    /**
     * The progress update of one unit of rows, committed in the same transaction as the unit's member writes;
     * its condition makes a redelivered unit a no-op, and one of an import failed meanwhile (maintenance failed it
     * while its part ran, or its group was deleted) too: a failed import says "start it again", so it must stop
     * applying rows rather than go on adding members and counting under "failed". A unit is recorded in
     * {@code doneUnits} until its part's last unit, which records the part in {@code doneParts} instead and takes
     * the part's earlier units ({@code partUnitsBefore}, null for a unit that is not its part's last) out of
     * {@code doneUnits}: every unit's transaction rewrites the import's item, which held every unit of the import
     * (5,000 at 500,000 rows, an item of about 35 KB written for each unit of 98).
     */
    TransactWriteItem progress(String accountId, String importId, String unitId, String partId, List<String> partUnitsBefore,
                               long processed, long added, long alreadyMembers, long updated, long invalid, long now) {
        boolean lastOfPart = partUnitsBefore != null;
        var values = new HashMap<String, AttributeValue>(Map.of(":p", n(processed), ":a", n(added),
                ":m", n(alreadyMembers), ":n", n(updated), ":i", n(invalid), ":id", s(unitId), ":part", s(partId),
                ":now", n(now), ":running", s(ImportJob.RUNNING)));
        String update = "ADD #processed :p, #added :a, #already :m, #updated :n, #invalid :i, ";
        if (!lastOfPart) {
            update += "#done :u SET progressAt = :now";
            values.put(":u", AttributeValue.fromSs(List.of(unitId)));
        } else {
            update += "#parts :parts SET progressAt = :now";
            values.put(":parts", AttributeValue.fromSs(List.of(partId)));
            if (!partUnitsBefore.isEmpty()) {
                update += " DELETE #done :before";
                values.put(":before", AttributeValue.fromSs(partUnitsBefore));
            }
        }
        String expression = update;
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(importKey(accountId, importId))
                .updateExpression(expression)
                .conditionExpression("attribute_exists(pk) AND NOT contains(#done, :id) AND NOT contains(#parts, :part)"
                        + " AND #status = :running")
                // Names throughout: several (e.g. "processed") are DynamoDB reserved words.
                .expressionAttributeNames(Map.of("#processed", "processed", "#added", "added",
                        "#already", "alreadyMembers", "#updated", "updated", "#invalid", "invalidCount",
                        "#done", "doneUnits", "#parts", "doneParts", "#status", "status"))
                .expressionAttributeValues(values)).build();
    }

    /** Fails a running import; one that ended (done: all processed, or failed already) stays as it ended (false). */
    boolean fail(String accountId, String importId, String reason) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(importKey(accountId, importId))
                    .updateExpression("SET #status = :failed, #error = :reason")
                    .conditionExpression("#status = :running AND #processed < #total")
                    .expressionAttributeNames(Map.of("#status", "status", "#error", "error", "#processed", "processed",
                            "#total", "total"))
                    .expressionAttributeValues(Map.of(":failed", s(ImportJob.FAILED), ":reason", s(reason),
                            ":running", s(ImportJob.RUNNING))));
            return true;
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException ended) {
            // a part delivered again after the import ended (its group deleted since): the import stands as it ended
            return false;
        }
    }

    record InvalidRow(int line, String phone, String reason) {}

    /** Idempotent: one row per line number. */
    void putInvalidRows(String accountId, String importId, List<InvalidRow> rows, long now) {
        if (rows.isEmpty()) return;
        List<WriteRequest> writes = new ArrayList<>(rows.size());
        for (InvalidRow row : rows) {
            var item = new HashMap<String, AttributeValue>(Attr.key(errorsPk(accountId, importId),
                    "ERR#" + String.format("%09d", row.line())));
            item.put("line", n(row.line()));
            item.put("phone", s(row.phone() == null ? "" : row.phone()));
            item.put("reason", s(row.reason()));
            item.put("expiresAt", n(expiry(now)));
            writes.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item).build()).build());
        }
        ops.batchWrite(table, writes);
    }

    record InvalidPage(List<InvalidRow> rows, Map<String, AttributeValue> lastKey) {}

    InvalidPage invalidRows(String accountId, String importId, int limit, Map<String, AttributeValue> start) {
        // consistent, as the import item is read: a GET that says done with k invalid lines lists all k
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", s(errorsPk(accountId, importId))))
                .consistentRead(true).exclusiveStartKey(start));
        List<InvalidRow> rows = page.items().stream().map(i -> new InvalidRow((int) Attr.num(i, "line", 0),
                Attr.str(i, "phone"), Attr.str(i, "reason"))).toList();
        return new InvalidPage(rows, page.lastKey());
    }


    private static long expiry(long now) {
        return (now + RETENTION.toMillis()) / 1000;
    }

    private static ImportJob toJob(Map<String, AttributeValue> item) {
        long total = Attr.num(item, "total", 0);
        long processed = Attr.num(item, "processed", 0);
        String status = Attr.str(item, "status");
        if (ImportJob.RUNNING.equals(status) && processed >= total) status = ImportJob.DONE;
        return new ImportJob(Attr.str(item, "importId"), Attr.str(item, "groupId"), status, total, processed,
                Attr.num(item, "added", 0), Attr.num(item, "alreadyMembers", 0), Attr.num(item, "updated", 0),
                Attr.num(item, "invalidCount", 0), Attr.str(item, "error"), Attr.num(item, "createdAt", 0));
    }
}
