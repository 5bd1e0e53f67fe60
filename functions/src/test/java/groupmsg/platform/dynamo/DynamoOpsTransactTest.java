package groupmsg.platform.dynamo;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** DynamoOps.transact: which cancellations it retries, and for how long. */
class DynamoOpsTransactTest {

    private static final TransactionCanceledException COMMIT = cancelled();
    private final AtomicInteger calls = new AtomicInteger();

    /** A try's time on the test's clock. */
    private static final long TRY_NANOS = 5_000_000;

    private final TestWaits time = new TestWaits();

    /** A client whose TransactWriteItems answers with the scripted outcomes (null: it commits) in turn, then with the last one forever. */
    private DynamoDbClient answering(TransactionCanceledException... outcomes) {
        Deque<TransactionCanceledException> script = new ArrayDeque<>();
        for (var outcome : outcomes) script.add(outcome == null ? COMMIT : outcome);
        return (DynamoDbClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{DynamoDbClient.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("transactWriteItems")) throw new UnsupportedOperationException(method.getName());
                    calls.incrementAndGet();
                    time.now += TRY_NANOS;
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
        var ops = new DynamoOps(answering(cancelled("TransactionConflict")), Duration.ofMillis(400), time);
        assertThatThrownBy(() -> ops.transact(List.of())).isInstanceOf(TransactionCanceledException.class);
        // pauses of 10-20, 20-40, 40-80, 80-160, 160-320 ms: 4 to 6 tries fit in 400 ms, and no pause crosses it
        assertThat(calls.get()).isBetween(4, 6);
        assertThat(time.pauses).hasSize(calls.get() - 1);
        for (int i = 0; i < time.pauses.size(); i++) {
            long capped = 10L << (i + 1);
            assertThat(time.pauses.get(i)).as("pause " + (i + 1)).isBetween(capped / 2, capped);
        }
        long spentMillis = time.millis();
        assertThat(spentMillis).as("the last try starts within the budget").isLessThanOrEqualTo(400 + TRY_NANOS / 1_000_000);
        assertThat(spentMillis + (10L << calls.get())).as("stopped only when the next pause could cross it").isGreaterThan(400);
    }

    /** The budget is of the time that passed, not of the pauses asked for: a pause that overslept counts whole. */
    @Test
    void pausesThatOversleepUseUpTheBudgetSooner() {
        var oversleeping = new TestWaits() {
            @Override
            public void sleep(long millis) {
                super.sleep(millis);
                now += 200_000_000; // a busy machine's late wake-up
            }
        };
        var ops = new DynamoOps(answering(cancelled("TransactionConflict")), Duration.ofMillis(400), oversleeping);
        assertThatThrownBy(() -> ops.transact(List.of())).isInstanceOf(TransactionCanceledException.class);
        assertThat(calls.get()).as("pauses of 10-20 and 20-40 ms, each 200 ms late: the third would cross").isEqualTo(3);
    }

    /**
     * A try answered "in progress" (the SDK's retry of a try whose answer was lost, while it still ran) is tried again
     * with its token, which answers as that try did; a try cancelled by a conflict is over, and the next is a request
     * of its own. With a new token each time, a transaction that had committed ran again and failed on its own writes.
     */
    @Test
    void aTryInProgressIsRetriedWithItsTokenAndOneCancelledWithANewOne() {
        List<String> tokens = new java.util.ArrayList<>();
        Deque<RuntimeException> script = new ArrayDeque<>(List.of(
                software.amazon.awssdk.services.dynamodb.model.TransactionInProgressException.builder().statusCode(400).message("in progress").build(),
                cancelled("TransactionConflict")));
        var client = (DynamoDbClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{DynamoDbClient.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("transactWriteItems")) throw new UnsupportedOperationException(method.getName());
                    var request = args[0] instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest r ? r
                            : software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest.builder()
                                    .applyMutation(b -> ((java.util.function.Consumer<software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest.Builder>) args[0]).accept(b))
                                    .build();
                    tokens.add(request.clientRequestToken());
                    if (!script.isEmpty()) throw script.poll();
                    return TransactWriteItemsResponse.builder().build();
                });

        assertThat(new DynamoOps(client).transact(List.of())).isInstanceOf(DynamoOps.Committed.class);

        assertThat(tokens).hasSize(3).doesNotContainNull();
        assertThat(tokens.get(1)).as("after in progress: the same token").isEqualTo(tokens.get(0));
        assertThat(tokens.get(2)).as("after a conflict: a new one").isNotEqualTo(tokens.get(1));
        var another = new ArrayList<String>(tokens);
        tokens.clear();
        new DynamoOps(client).transact(List.of());
        assertThat(tokens).singleElement().isNotIn(another);
    }

    @Test
    void theDefaultBudgetFitsTheShortestApiFunction() {
        assertThat(DynamoOps.TRANSACT_RETRY_BUDGET).isLessThan(Duration.ofSeconds(
                groupmsg.platform.schema.Handlers.MESSAGES_API.timeoutSeconds() - 3));
    }
}
