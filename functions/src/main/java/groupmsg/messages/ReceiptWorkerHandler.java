package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;
import groupmsg.platform.SideBySide;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Consumes the receipts queue: the carrier's delivery receipts, up to {@code Queues.RECEIPTS.batchSize()} at a time,
 * applied per message shard ({@link StatusCallbacks#apply}), the shards side by side; a receipt that names no row
 * (a callback to the bare URL) is first found by the carrier's message id ({@link StatusCallbacks#locate}). A shard whose transaction
 * fails reports its records as failed, so they come back (applying them again is a no-op for the rows that did
 * move); a record this code cannot read fails alone and ends in the dead-letter queue.
 */
public final class ReceiptWorkerHandler implements QueueFunction {
    /** A receipt and the SQS record it came in (reported back when its shard fails). */
    private record Queued(String recordId, StatusCallbacks.Receipt receipt) {}

    private final StatusCallbacks receipts;
    private final Priming priming;

    public ReceiptWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public ReceiptWorkerHandler(Wiring wiring) {
        this.receipts = new StatusCallbacks(wiring);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        Map<StatusCallbacks.Receipt.Key, List<Queued>> byShard = new LinkedHashMap<>();
        for (SQSEvent.SQSMessage message : event.getRecords()) {
            StatusCallbacks.Receipt receipt;
            try {
                receipt = StatusCallbacks.Receipt.fromJson(message.getBody());
            } catch (RuntimeException e) {
                Log.error("receipt_unreadable", Map.of("sqsMessageId", message.getMessageId()), e);
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
                continue;
            }
            if (!receipt.routed()) {
                // Found by the carrier's id, or dropped: a row not found (yet) is one maintenance asks the carrier
                // about once its receipt is overdue (OverdueReceipts), and a message of another system has no row.
                Optional<StatusCallbacks.Receipt> located;
                try {
                    located = receipts.locate(receipt);
                } catch (RuntimeException e) {
                    Log.error("receipt_locate_failed", Map.of("sqsMessageId", message.getMessageId()), e);
                    failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
                    continue;
                }
                if (located.isEmpty()) {
                    Log.info("status_callback_sid_unknown", Map.of("sqsMessageId", message.getMessageId()));
                    continue;
                }
                receipt = located.get();
            }
            byShard.computeIfAbsent(receipt.key(), k -> new ArrayList<>()).add(new Queued(message.getMessageId(), receipt));
        }
        List<StatusCallbacks.Receipt.Key> shards = List.copyOf(byShard.keySet());
        var outcomes = SideBySide.run(shards, "/shard-", key -> {
            receipts.apply(key, byShard.get(key).stream().map(Queued::receipt).toList());
            return null;
        });
        for (int i = 0; i < shards.size(); i++) {
            var key = shards.get(i);
            if (outcomes.get(i) instanceof SideBySide.Done) continue;
            if (outcomes.get(i) instanceof SideBySide.Failed<?> f) {
                Log.error("receipts_failed", Map.of("messageId", key.messageId(), "shard", key.shard(),
                        "receipts", byShard.get(key).size()), f.cause());
            }
            byShard.get(key).forEach(q -> failures.add(new SQSBatchResponse.BatchItemFailure(q.recordId())));
        }
        return new SQSBatchResponse(failures);
    }
}
