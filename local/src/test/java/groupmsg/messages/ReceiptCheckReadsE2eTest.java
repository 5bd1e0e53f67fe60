package groupmsg.messages;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Overdue-receipt checks whose messages have no row {@code sent} any more (every receipt came: nearly all) are ended a
 * page at a time, one read of their counters and one batch of deletes; the others still get their turns. One at a
 * time, each took three requests in a row, and a sweep's time held fewer checks than a busy hour's messages made.
 */
@ExtendWith(LocalRuntimeExtension.class)
class ReceiptCheckReadsE2eTest {
    /** Before every check of the other tests (due in this century): a sweep at this time sees only this test's. */
    private static final long DUE = 5_000_000L;

    @Test
    void checksOfMessagesWithNothingSentAreEndedAPageAtATime(LocalRuntime runtime) {
        List<String> requests = new CopyOnWriteArrayList<>();
        var counted = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                requests.add(context.request().getClass().getSimpleName());
            }
        }).withClock(Clock.fixed(Instant.ofEpochMilli(DUE + 60_000), ZoneOffset.UTC));
        var deliveries = new DeliveryStore(new DynamoOps(counted.dynamo()), counted.config().table(Tables.DELIVERIES));
        String run = UUID.randomUUID().toString().substring(0, 8);
        int quiet = 60;
        for (int i = 0; i < quiet; i++) {
            String id = "msg_quiet_" + run + "_" + i;
            String phone = String.format("+1617558%04d", i);
            deliveries.insertQueued("acct_receipts", id, 1, List.of(phone), 1_000L);
            deliveries.apply(id, 0, List.of(new DeliveryStore.Transition(phone, Delivery.QUEUED, Delivery.DELIVERED, "SMq" + i, null, 2_000L)));
            putCheck(counted, id, 1, DUE + i);
        }
        // one whose row is still sent: it gets its turn (no id to ask the carrier by) and its next round
        String stillSent = "msg_sent_" + run;
        deliveries.insertQueued("acct_receipts", stillSent, 1, List.of("+16175589999"), 1_000L);
        deliveries.apply(stillSent, 0, List.of(new DeliveryStore.Transition("+16175589999", Delivery.QUEUED, Delivery.SENT, null, null, 2_000L)));
        putCheck(counted, stillSent, 1, DUE + 30);
        requests.clear();

        var summary = new OverdueReceipts(counted).sweep();

        assertThat(summary).containsEntry("receiptChecksDone", quiet + 1).containsEntry("receiptsLookedUp", 1);
        assertThat(checksOf(counted, "msg_quiet_" + run)).isEmpty();
        assertThat(checksOf(counted, stillSent)).singleElement().satisfies(c -> assertThat(c.get("round").n()).isEqualTo("2"));
        // 3 pages of 25: a query, one read of counters and one batch of deletes each (61 checks, 183 requests before),
        // and the still-sent check's own few
        assertThat(requests).as("requests: %s", requests).hasSizeLessThanOrEqualTo(20);
    }

    private static void putCheck(groupmsg.platform.config.Wiring wiring, String messageId, int round, long dueAt) {
        wiring.dynamo().putItem(b -> b.tableName(wiring.config().table(Tables.CORE)).item(Map.of(
                "pk", AttributeValue.fromS("JOBS#receipts"), "sk", AttributeValue.fromS("%013d#acct_receipts#%s".formatted(dueAt, messageId)),
                "accountId", AttributeValue.fromS("acct_receipts"), "messageId", AttributeValue.fromS(messageId),
                "shards", AttributeValue.fromN("1"), "completedAt", AttributeValue.fromN(Long.toString(dueAt - 3_600_000)),
                "round", AttributeValue.fromN(Integer.toString(round)), "dueAt", AttributeValue.fromN(Long.toString(dueAt)),
                "shard", AttributeValue.fromN("0"), "failures", AttributeValue.fromN("0"))));
    }

    private static List<Map<String, AttributeValue>> checksOf(groupmsg.platform.config.Wiring wiring, String messageIdPrefix) {
        return wiring.dynamo().query(b -> b.tableName(wiring.config().table(Tables.CORE)).consistentRead(true)
                .keyConditionExpression("pk = :pk").filterExpression("begins_with(messageId, :m)")
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("JOBS#receipts"), ":m", AttributeValue.fromS(messageIdPrefix))))
                .items();
    }
}
