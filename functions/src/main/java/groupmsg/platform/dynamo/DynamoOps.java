package groupmsg.platform.dynamo;

import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The DynamoDB calls that need retry loops: batch reads and writes (which may leave keys or items unprocessed)
 * and transactions (which may be cancelled by a conflicting concurrent transaction).
 */
public final class DynamoOps {
    private static final int BATCH_GET_MAX = 100;
    private static final int BATCH_WRITE_MAX = 25;
    private static final int MAX_ATTEMPTS = 10;

    private final DynamoDbClient dynamo;

    public DynamoOps(DynamoDbClient dynamo) {
        this.dynamo = dynamo;
    }

    public DynamoDbClient client() {
        return dynamo;
    }

    /** Reads every key (any number), strongly consistent, retrying unprocessed keys with backoff. */
    public List<Map<String, AttributeValue>> batchGet(String table, List<Map<String, AttributeValue>> keys) {
        List<Map<String, AttributeValue>> found = new ArrayList<>(keys.size());
        for (int from = 0; from < keys.size(); from += BATCH_GET_MAX) {
            List<Map<String, AttributeValue>> chunk = keys.subList(from, Math.min(keys.size(), from + BATCH_GET_MAX));
            Map<String, KeysAndAttributes> request =
                    Map.of(table, KeysAndAttributes.builder().keys(chunk).consistentRead(true).build());
            for (int attempt = 0; !request.isEmpty(); attempt++) {
                if (attempt > 0) backoff(attempt, "BatchGetItem on " + table);
                Map<String, KeysAndAttributes> current = request;
                BatchGetItemResponse response = dynamo.batchGetItem(b -> b.requestItems(current));
                found.addAll(response.responses().getOrDefault(table, List.of()));
                request = response.hasUnprocessedKeys() ? response.unprocessedKeys() : Map.of();
            }
        }
        return found;
    }

    /** Writes every request (any number) in batches of 25, retrying UnprocessedItems with backoff. */
    public void batchWrite(String table, List<WriteRequest> writes) {
        for (int from = 0; from < writes.size(); from += BATCH_WRITE_MAX) {
            List<WriteRequest> chunk = writes.subList(from, Math.min(writes.size(), from + BATCH_WRITE_MAX));
            Map<String, List<WriteRequest>> request = Map.of(table, chunk);
            for (int attempt = 0; !request.isEmpty(); attempt++) {
                if (attempt > 0) backoff(attempt, "BatchWriteItem on " + table);
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

    public record Cancelled(List<String> reasonCodes) implements TransactOutcome {
        public boolean conditionFailed(int index) {
            return index < reasonCodes.size() && "ConditionalCheckFailed".equals(reasonCodes.get(index));
        }
    }

    /**
     * Runs a transaction, retrying when it was cancelled only by conflicts with other transactions (the normal
     * result of concurrent writers on one counter item). Condition failures are returned to the caller, who
     * knows what they mean.
     */
    public TransactOutcome transact(List<TransactWriteItem> items) {
        for (int attempt = 0; ; attempt++) {
            if (attempt > 0) backoff(attempt, "TransactWriteItems");
            try {
                dynamo.transactWriteItems(b -> b.transactItems(items));
                return new Committed();
            } catch (TransactionCanceledException e) {
                List<String> codes = e.hasCancellationReasons()
                        ? e.cancellationReasons().stream().map(CancellationReason::code).toList()
                        : List.of();
                boolean onlyConflicts = !codes.isEmpty() && codes.stream()
                        .allMatch(c -> c == null || "None".equals(c) || "TransactionConflict".equals(c)
                                || "ThrottlingError".equals(c));
                if (!onlyConflicts) return new Cancelled(codes);
                if (attempt + 1 >= MAX_ATTEMPTS * 3) throw e;
            } catch (software.amazon.awssdk.services.dynamodb.model.TransactionInProgressException e) {
                if (attempt + 1 >= MAX_ATTEMPTS * 3) throw e;
            }
        }
    }

    private static void backoff(int attempt, String what) {
        if (attempt >= MAX_ATTEMPTS * 3) throw new IllegalStateException(what + " still unprocessed after retries");
        long capped = Math.min(1000, 10L << Math.min(attempt, 7));
        long sleep = ThreadLocalRandom.current().nextLong(capped / 2, capped + 1);
        try {
            Thread.sleep(sleep);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while retrying " + what, e);
        }
    }
}
