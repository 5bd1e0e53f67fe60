package groupmsg.platform.dynamo;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** DynamoOps.transact: which cancellations it retries, and for how long. */
class DynamoOpsTransactTest {

    private static final TransactionCanceledException COMMIT = cancelled();
    private final AtomicInteger calls = new AtomicInteger();

    /** A client whose TransactWriteItems answers with the scripted outcomes (null: it commits) in turn, then with the last one forever. */
    private DynamoDbClient answering(TransactionCanceledException... outcomes) {
        Deque<TransactionCanceledException> script = new ArrayDeque<>();
        for (var outcome : outcomes) script.add(outcome == null ? COMMIT : outcome);
        return (DynamoDbClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{DynamoDbClient.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("transactWriteItems")) throw new UnsupportedOperationException(method.getName());
                    calls.incrementAndGet();
                    TransactionCanceledException next = script.size() > 1 ? script.poll() : script.peek();
                    if (next == COMMIT) return TransactWriteItemsResponse.builder().build();
                    throw next;
                });
    }

    private static TransactionCanceledException cancelled(String... codes) {
        return TransactionCanceledException.builder().statusCode(400).message("cancelled")
                .cancellationReasons(java.util.Arrays.stream(codes).map(c -> CancellationReason.builder().code(c).build()).toList())
                .build();
    }

    @Test
    void conflictsAreRetriedUntilTheTransactionCommits() {
        var ops = new DynamoOps(answering(cancelled("TransactionConflict", "None"), cancelled("None", "ThrottlingError"), null));
        assertThat(ops.transact(List.of())).isInstanceOf(DynamoOps.Committed.class);
        assertThat(calls).hasValue(3);
    }

    @Test
    void aFailedConditionIsTheCallersAtOnce() {
        var ops = new DynamoOps(answering(cancelled("TransactionConflict", "ConditionalCheckFailed")));
        assertThat(ops.transact(List.of())).isEqualTo(new DynamoOps.Cancelled(List.of("TransactionConflict", "ConditionalCheckFailed")));
        assertThat(calls).hasValue(1);
    }

    @Test
    void conflictsThatOutlastTheBudgetAreThrownWithinIt() {
        var ops = new DynamoOps(answering(cancelled("TransactionConflict")), Duration.ofMillis(400));
        long start = System.nanoTime();
        assertThatThrownBy(() -> ops.transact(List.of())).isInstanceOf(TransactionCanceledException.class);
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        // pauses of 10-20, 20-40, 40-80, 80-160, 160-320 ms: 4 to 6 tries fit in 400 ms, and no pause crosses it
        assertThat(calls.get()).isBetween(4, 6);
        assertThat(tookMillis).isLessThan(400 + 100);
    }

    @Test
    void theDefaultBudgetFitsTheShortestApiFunction() {
        assertThat(DynamoOps.TRANSACT_RETRY_BUDGET).isLessThan(Duration.ofSeconds(
                groupmsg.platform.schema.Handlers.MESSAGES_API.timeoutSeconds() - 3));
    }
}
