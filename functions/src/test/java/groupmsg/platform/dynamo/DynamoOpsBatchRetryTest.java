package groupmsg.platform.dynamo;

import groupmsg.platform.RetriesSpent;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * DynamoOps' batches: what DynamoDB leaves unprocessed is retried within the time a transaction has, then a
 * {@link RetriesSpent} (an API's 503): 30 tries of up to a second each took about 18 s, past an API function's 10 s.
 */
class DynamoOpsBatchRetryTest {
    private final AtomicInteger calls = new AtomicInteger();

    /** A client that leaves every key and item unprocessed, or, after {@code leavesFor} calls, none. */
    @SuppressWarnings("unchecked")
    private DynamoDbClient throttledFor(int leavesFor) {
        return (DynamoDbClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{DynamoDbClient.class},
                (proxy, method, args) -> {
                    boolean leaves = calls.incrementAndGet() <= leavesFor;
                    switch (method.getName()) {
                        case "batchGetItem" -> {
                            var request = BatchGetItemRequest.builder().applyMutation((Consumer<BatchGetItemRequest.Builder>) args[0]).build();
                            return leaves ? BatchGetItemResponse.builder().unprocessedKeys(request.requestItems()).build()
                                    : BatchGetItemResponse.builder().responses(Map.of("t", List.of(Map.of("pk", AttributeValue.fromS("a"))))).build();
                        }
                        case "batchWriteItem" -> {
                            var request = BatchWriteItemRequest.builder().applyMutation((Consumer<BatchWriteItemRequest.Builder>) args[0]).build();
                            return leaves ? BatchWriteItemResponse.builder().unprocessedItems(request.requestItems()).build()
                                    : BatchWriteItemResponse.builder().build();
                        }
                        default -> throw new UnsupportedOperationException(method.getName());
                    }
                });
    }

    private static final List<Map<String, AttributeValue>> KEYS = List.of(Map.of("pk", AttributeValue.fromS("a")));
    private static final List<WriteRequest> WRITES = List.of(WriteRequest.builder()
            .putRequest(PutRequest.builder().item(Map.of("pk", AttributeValue.fromS("a"))).build()).build());

    @Test
    void unprocessedKeysAndItemsAreRetriedUntilTaken() {
        var ops = new DynamoOps(throttledFor(3), Duration.ofSeconds(6));
        assertThat(ops.batchGet("t", KEYS)).hasSize(1);
        assertThat(calls).hasValue(4);
        calls.set(0);
        ops.batchWrite("t", WRITES);
        assertThat(calls).hasValue(4);
    }

    @Test
    void retriesStopAtTheTimeBudgetAsATransientFailure() {
        var time = new TestWaits();
        var ops = new DynamoOps(throttledFor(Integer.MAX_VALUE), Duration.ofMillis(400), time);
        assertThatThrownBy(() -> ops.batchGet("t", KEYS)).isInstanceOf(RetriesSpent.class)
                .hasMessageContaining("BatchGetItem on t");
        assertThat(time.millis()).as("within its budget").isLessThanOrEqualTo(400);
        int getTries = calls.get();
        long writeFrom = time.millis();
        assertThatThrownBy(() -> ops.batchWrite("t", WRITES)).isInstanceOf(RetriesSpent.class)
                .hasMessageContaining("BatchWriteItem on t");
        assertThat(time.millis() - writeFrom).as("within its own budget").isLessThanOrEqualTo(400);
        // pauses of 10-20, 20-40, 40-80, 80-160 ms fit in 400 ms: 5 tries at least, each
        assertThat(getTries).as("retried, not given up at once").isGreaterThanOrEqualTo(5);
        assertThat(calls.get() - getTries).isGreaterThanOrEqualTo(5);
    }

    /**
     * The budget is the call's, over all its chunks: ten chunks each throttled for three tries (up to 140 ms of pauses
     * each, well inside the budget alone) spend it together.
     */
    @Test
    @SuppressWarnings("unchecked")
    void theBudgetIsTheWholeCallsNotEachChunks() {
        var triesByChunk = new java.util.concurrent.ConcurrentHashMap<String, AtomicInteger>();
        var client = (DynamoDbClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{DynamoDbClient.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("batchGetItem")) throw new UnsupportedOperationException(method.getName());
                    var request = BatchGetItemRequest.builder().applyMutation((Consumer<BatchGetItemRequest.Builder>) args[0]).build();
                    String chunk = request.requestItems().get("t").keys().getFirst().get("pk").s();
                    return triesByChunk.computeIfAbsent(chunk, k -> new AtomicInteger()).incrementAndGet() <= 3
                            ? BatchGetItemResponse.builder().unprocessedKeys(request.requestItems()).build()
                            : BatchGetItemResponse.builder().build();
                });
        List<Map<String, AttributeValue>> keys = java.util.stream.IntStream.range(0, 1_000)
                .mapToObj(i -> Map.of("pk", AttributeValue.fromS("k" + i))).toList();
        assertThat(new DynamoOps(client, Duration.ofSeconds(6)).batchGet("t", keys)).as("within its budget: all read").isEmpty();
        assertThat(triesByChunk).hasSize(10);
        triesByChunk.clear();
        var time = new TestWaits();
        assertThatThrownBy(() -> new DynamoOps(client, Duration.ofMillis(300), time).batchGet("t", keys)).isInstanceOf(RetriesSpent.class);
        assertThat(triesByChunk.size()).as("spent before the last chunk").isLessThan(10);
        assertThat(time.millis()).isLessThanOrEqualTo(300);
    }
}
