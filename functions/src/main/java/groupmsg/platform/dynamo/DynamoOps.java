package groupmsg.platform.dynamo;

import groupmsg.platform.RetriesSpent;
import groupmsg.platform.SideBySide;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.TransactionInProgressException;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The DynamoDB calls that need retry loops: batch reads and writes (which may leave keys or items unprocessed)
 * and transactions (which may be cancelled by a conflicting concurrent transaction).
 */
public final class DynamoOps {
    private static final int BATCH_GET_MAX = 100;
    private static final int BATCH_WRITE_MAX = 25;
    private static final int MAX_ATTEMPTS = 10;

    /**
     * How long a transaction may go on losing to conflicting writers, or a batch retrying what DynamoDB left
     * unprocessed, before its caller hears of it: short enough that
     * an API function (10 s timeout, the shortest) still answers with its 503 rather than being cut off; a worker's
     * message goes back to its queue instead. DynamoDB settles a conflict in milliseconds: 6 s of losing (about ten
     * tries) is contention that waiting longer here would not cure.
     */
    public static final Duration TRANSACT_RETRY_BUDGET = Duration.ofSeconds(6);

    private final DynamoDbClient dynamo;
    private final long transactRetryBudgetNanos;
    private final Waits waits;

    /** The time the retries' budget is measured in and their pauses: the JVM's, or a test's own. */
    interface Waits {
        long nanoTime();

        void sleep(long millis) throws InterruptedException;
    }

    private static final Waits REAL_TIME = new Waits() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void sleep(long millis) throws InterruptedException {
            Thread.sleep(millis);
        }
    };

    public DynamoOps(DynamoDbClient dynamo) {
        this(dynamo, TRANSACT_RETRY_BUDGET);
    }

    DynamoOps(DynamoDbClient dynamo, Duration transactRetryBudget) {
        this(dynamo, transactRetryBudget, REAL_TIME);
    }

    /** With a retry budget of its own for transactions (a request that must answer in less time than the default's). */
    public static DynamoOps withTransactRetryBudget(DynamoDbClient dynamo, Duration transactRetryBudget) {
        return new DynamoOps(dynamo, transactRetryBudget);
    }

    DynamoOps(DynamoDbClient dynamo, Duration transactRetryBudget, Waits waits) {
        this.dynamo = dynamo;
        this.transactRetryBudgetNanos = transactRetryBudget.toNanos();
        this.waits = waits;
    }

    public DynamoDbClient client() {
        return dynamo;
    }

    /**
     * A conditional UpdateItem whose failed condition is an answer, not an error (a mark on a row that may be gone, a
     * claim given back that may have been taken again): false when the condition failed.
     */
    public boolean updateIf(Consumer<UpdateItemRequest.Builder> request) {
        return unlessConditionFails(() -> dynamo.updateItem(request));
    }

    /** {@link #updateIf} for a conditional PutItem (a row created once): false when the condition failed. */
    public boolean putIf(Consumer<PutItemRequest.Builder> request) {
        return unlessConditionFails(() -> dynamo.putItem(request));
    }

    /** {@link #updateIf} for a conditional DeleteItem (a row that may be gone): false when the condition failed. */
    public boolean deleteIf(Consumer<DeleteItemRequest.Builder> request) {
        return unlessConditionFails(() -> dynamo.deleteItem(request));
    }

    private static boolean unlessConditionFails(Runnable write) {
        try {
            write.run();
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * Every item of partition {@code pk} whose sort key starts with {@code skPrefix}, strongly consistent, page after
     * page (for a handful of items a decision is taken on, such as an account's keys or webhooks).
     */
    public List<Map<String, AttributeValue>> queryAll(String table, String pk, String skPrefix) {
        return queryAll(table, "pk = :pk AND begins_with(sk, :prefix)",
                Map.of(":pk", AttributeValue.fromS(pk), ":prefix", AttributeValue.fromS(skPrefix)));
    }

    /** Every item of partition {@code pk}, strongly consistent, page after page (a partition of a few items). */
    public List<Map<String, AttributeValue>> queryAll(String table, String pk) {
        return queryAll(table, "pk = :pk", Map.of(":pk", AttributeValue.fromS(pk)));
    }

    private List<Map<String, AttributeValue>> queryAll(String table, String keyCondition, Map<String, AttributeValue> values) {
        List<Map<String, AttributeValue>> all = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = dynamo.query(b -> b.tableName(table).keyConditionExpression(keyCondition)
                    .expressionAttributeValues(values).exclusiveStartKey(from).consistentRead(true));
            all.addAll(page.items());
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return all;
    }

    /** Reads every key (any number), strongly consistent, retrying unprocessed keys with backoff. */
    public List<Map<String, AttributeValue>> batchGet(String table, List<Map<String, AttributeValue>> keys) {
        List<Map<String, AttributeValue>> found = new ArrayList<>(keys.size());
        var retries = new RetryClock();
        for (int from = 0; from < keys.size(); from += BATCH_GET_MAX) {
            List<Map<String, AttributeValue>> chunk = keys.subList(from, Math.min(keys.size(), from + BATCH_GET_MAX));
            Map<String, KeysAndAttributes> request =
                    Map.of(table, KeysAndAttributes.builder().keys(chunk).consistentRead(true).build());
            for (int attempt = 0; !request.isEmpty(); attempt++) {
                if (attempt > 0) backoff(attempt, retries, "BatchGetItem on " + table);
                Map<String, KeysAndAttributes> current = request;
                BatchGetItemResponse response = dynamo.batchGetItem(b -> b.requestItems(current));
                found.addAll(response.responses().getOrDefault(table, List.of()));
                request = response.hasUnprocessedKeys() ? response.unprocessedKeys() : Map.of();
            }
        }
        return found;
    }

    /**
     * {@link #batchWrite(String, List)} in up to {@code lanes} calls side by side, each lane whole batches of 25 one
     * after another: where the writes need no order among them and one after another is too slow (a deleted group's
     * clean-up). Fails with the first lane's failure, once every lane has ended.
     */
    public void batchWrite(String table, List<WriteRequest> writes, int lanes) {
        int perLane = Math.ceilDiv(Math.ceilDiv(writes.size(), lanes), BATCH_WRITE_MAX) * BATCH_WRITE_MAX;
        List<List<WriteRequest>> split = new ArrayList<>();
        for (int from = 0; from < writes.size(); from += perLane) {
            split.add(writes.subList(from, Math.min(writes.size(), from + perLane)));
        }
        for (var outcome : SideBySide.run(split, "/batch-write-", lane -> {
            batchWrite(table, lane);
            return null;
        })) {
            SideBySide.valueOrThrow(outcome);
        }
    }

    /** Writes every request (any number) in batches of 25, retrying UnprocessedItems with backoff. */
    public void batchWrite(String table, List<WriteRequest> writes) {
        var retries = new RetryClock();
        for (int from = 0; from < writes.size(); from += BATCH_WRITE_MAX) {
            List<WriteRequest> chunk = writes.subList(from, Math.min(writes.size(), from + BATCH_WRITE_MAX));
            Map<String, List<WriteRequest>> request = Map.of(table, chunk);
            for (int attempt = 0; !request.isEmpty(); attempt++) {
                if (attempt > 0) backoff(attempt, retries, "BatchWriteItem on " + table);
                Map<String, List<WriteRequest>> current = request;
                BatchWriteItemResponse response = dynamo.batchWriteItem(b -> b.requestItems(current));
                request = response.hasUnprocessedItems() ? new HashMap<>(response.unprocessedItems()) : Map.of();
                request.values().removeIf(List::isEmpty);
            }
        }
    }

    /** Outcome of a transaction: committed, or cancelled with one reason code per action (null = none). */
    public sealed interface TransactOutcome permits Committed, Cancelled {}

    public record Committed() implements TransactOutcome {}

    /**
     * @param items per action, the item as it was when its condition failed, where the action asked for it
     *              ({@code ReturnValuesOnConditionCheckFailure.ALL_OLD}); an empty map otherwise
     */
    public record Cancelled(List<String> reasonCodes, List<Map<String, AttributeValue>> items) implements TransactOutcome {
        public Cancelled(List<String> reasonCodes) {
            this(reasonCodes, reasonCodes.stream().map(c -> Map.<String, AttributeValue>of()).toList());
        }

        public boolean conditionFailed(int index) {
            return index < reasonCodes.size() && "ConditionalCheckFailed".equals(reasonCodes.get(index));
        }

        /** The item action {@code index} found, as its failed condition returned it (empty when none was asked for). */
        public Map<String, AttributeValue> item(int index) {
            return index < items.size() ? items.get(index) : Map.of();
        }
    }

    /**
     * Runs a transaction, retrying when it was cancelled only by conflicts with other transactions (the normal
     * result of concurrent writers on one counter item). Condition failures are returned to the caller, who
     * knows what they mean. Conflicts that outlast {@link #TRANSACT_RETRY_BUDGET} (or 30 tries) are thrown.
     */
    public TransactOutcome transact(List<TransactWriteItem> items) {
        long start = waits.nanoTime();
        String token = UUID.randomUUID().toString();
        for (int attempt = 0; ; attempt++) {
            String attemptToken = token;
            try {
                dynamo.transactWriteItems(b -> b.transactItems(items).clientRequestToken(attemptToken));
                return new Committed();
            } catch (TransactionCanceledException e) {
                if (!onlyConflicts(e)) return new Cancelled(reasonCodes(e), e.hasCancellationReasons()
                        ? e.cancellationReasons().stream().map(r -> r.hasItem() ? r.item() : Map.<String, AttributeValue>of()).toList()
                        : List.of());
                if (!pauseBeforeRetry(attempt + 1, start)) throw e;
                token = UUID.randomUUID().toString(); // that one is over: the next try is a request of its own
            } catch (TransactionInProgressException e) {
                // The SDK's own retry of a try whose answer was lost, while that try still ran: tried again with the
                // same token, the answer is that try's once it ends. A new token ran the transaction a second time,
                // where its conditions failed on its own writes, and its caller took a write made for one not made.
                if (!pauseBeforeRetry(attempt + 1, start)) throw e;
            }
        }
    }

    /** Sleeps before retry {@code attempt}, or answers false if the tries or the time budget would run out. */
    private boolean pauseBeforeRetry(int attempt, long start) {
        if (attempt >= MAX_ATTEMPTS * 3) return false;
        long pause = pauseMillis(attempt);
        if (waits.nanoTime() - start + pause * 1_000_000 > transactRetryBudgetNanos) return false;
        sleep(pause, "TransactWriteItems");
        return true;
    }

    /**
     * Whether a transaction was cancelled only because other writers held its items or the table was throttled:
     * nothing about the request itself was wrong, so the same request later may well commit.
     */
    public static boolean onlyConflicts(TransactionCanceledException e) {
        List<String> codes = reasonCodes(e);
        return !codes.isEmpty() && codes.stream().allMatch(c -> c == null || "None".equals(c)
                || "TransactionConflict".equals(c) || "ThrottlingError".equals(c));
    }

    private static List<String> reasonCodes(TransactionCanceledException e) {
        return e.hasCancellationReasons()
                ? e.cancellationReasons().stream().map(CancellationReason::code).toList()
                : List.of();
    }

    /**
     * The time one batch call has spent retrying what DynamoDB left unprocessed, over all its chunks (a thousand
     * members' reads are ten): from its first retry, so a large batch that goes through unthrottled is not cut short.
     */
    private final class RetryClock {
        private long since = -1;

        long retryingNanos() {
            if (since < 0) since = waits.nanoTime();
            return waits.nanoTime() - since;
        }
    }

    /**
     * Sleeps before retry {@code attempt} of a batch's unprocessed part, within the tries and, over the whole call, the
     * same time budget a transaction has: 30 tries of up to a second each took about 18 s a chunk, past an API
     * function's 10 s, which then ended in API Gateway's own 503 body, or, given more time, in a 500.
     */
    private void backoff(int attempt, RetryClock retries, String what) {
        long pause = pauseMillis(attempt);
        if (attempt >= MAX_ATTEMPTS * 3 || retries.retryingNanos() + pause * 1_000_000 > transactRetryBudgetNanos) {
            throw new RetriesSpent(what + " still unprocessed after retries");
        }
        sleep(pause, what);
    }

    /** Exponential from 20 ms, capped at a second, with jitter (half to all of it). */
    private static long pauseMillis(int attempt) {
        long capped = Math.min(1000, 10L << Math.min(attempt, 7));
        return ThreadLocalRandom.current().nextLong(capped / 2, capped + 1);
    }

    private void sleep(long millis, String what) {
        try {
            waits.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while retrying " + what, e);
        }
    }
}
