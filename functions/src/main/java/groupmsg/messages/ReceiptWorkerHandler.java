package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.carrier.CarrierErrors;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.Log;
import groupmsg.platform.SideBySide;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;

import java.time.Clock;
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

    /** How long after its callback came a receipt whose sid was not found is looked for again. */
    static final long SID_RELOOK_MILLIS = 5_000;

    private final StatusCallbacks receipts;
    private final Clock clock;
    private final Priming priming;

    public ReceiptWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public ReceiptWorkerHandler(Wiring wiring) {
        this.receipts = new StatusCallbacks(wiring);
        this.clock = wiring.clock();
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
        List<Queued> bySid = new ArrayList<>();
        for (SQSEvent.SQSMessage message : event.getRecords()) {
            StatusCallbacks.Receipt receipt;
            try {
                receipt = StatusCallbacks.Receipt.fromJson(message.getBody());
            } catch (RuntimeException e) {
                Log.jobFailed("receipt_unreadable", Map.of("sqsMessageId", message.getMessageId()), e);
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
                continue;
            }
            if (!receipt.routed()) {
                bySid.add(new Queued(message.getMessageId(), receipt));
                continue;
            }
            byShard.computeIfAbsent(receipt.key(), k -> new ArrayList<>()).add(new Queued(message.getMessageId(), receipt));
        }
        reportSendersStopped(java.util.stream.Stream.concat(byShard.values().stream().flatMap(List::stream), bySid.stream())
                .map(Queued::receipt).toList());
        List<Queued> missing = locateAll(bySid, byShard, failures);
        // the batch's receipts that are found are applied first: a sid not found yet waits for its second look
        // (seconds) alone, not with up to 500 others behind it
        applyByShard(byShard, failures);
        if (!missing.isEmpty()) {
            Map<StatusCallbacks.Receipt.Key, List<Queued>> foundLate = new LinkedHashMap<>();
            lookAgain(missing, foundLate, failures);
            applyByShard(foundLate, failures);
        }
        return new SQSBatchResponse(failures);
    }

    /**
     * Receipts failed for the sender's reason (CarrierErrors#senderStoppedAfterSend: the line not registered to send,
     * the carrier account suspended or at its daily limit, the line's queue overflowing): one line per message and
     * code in the batch, with the metric that pages as a refusal of the sender at the send does. Each recipient still
     * fails as the carrier said; every later message from the line would too, until a person mends it.
     */
    static void reportSendersStopped(List<StatusCallbacks.Receipt> receipts) {
        record MessageCode(String messageId, String code) {}
        Map<MessageCode, Integer> counts = new LinkedHashMap<>();
        receipts.forEach(r -> CarrierErrors.codeOf(r.error()).filter(CarrierErrors::senderStoppedAfterSend).ifPresent(code ->
                        // a receipt by sid alone names no message until its row is found
                        counts.merge(new MessageCode(r.messageId() == null ? "(a receipt by sid)" : r.messageId(), code), 1, Integer::sum)));
        counts.forEach((key, count) -> Log.error("carrier_refused_sender_after_send", Map.of("messageId", key.messageId(),
                "errorCode", key.code(), "receipts", count, "metric", HandledFailures.CARRIER_REFUSED_SENDER), null));
    }

    /** Applies the receipts of each shard, shards side by side; a shard that fails has its receipts come again. */
    private void applyByShard(Map<StatusCallbacks.Receipt.Key, List<Queued>> byShard, List<SQSBatchResponse.BatchItemFailure> failures) {
        List<StatusCallbacks.Receipt.Key> shards = List.copyOf(byShard.keySet());
        var outcomes = SideBySide.run(shards, "/shard-", key -> {
            receipts.apply(key, byShard.get(key).stream().map(Queued::receipt).toList());
            return null;
        });
        for (int i = 0; i < shards.size(); i++) {
            var key = shards.get(i);
            if (outcomes.get(i) instanceof SideBySide.Done) continue;
            if (outcomes.get(i) instanceof SideBySide.Failed<?> f) {
                Log.jobFailed("receipts_failed", Map.of("messageId", key.messageId(), "shard", key.shard(),
                        "receipts", byShard.get(key).size()), f.cause());
            }
            byShard.get(key).forEach(q -> failures.add(new SQSBatchResponse.BatchItemFailure(q.recordId())));
        }
    }

    /**
     * Looks for the rows of receipts whose sid was not found once more, {@link #SID_RELOOK_MILLIS} after the latest
     * of them came (one wait per batch, none when that is past), and files those found under their shards: a
     * callback may have beaten the worker's record of the sid, or the index. Still not found, it is dropped: a row
     * that is one of ours is asked about by maintenance once its receipt is overdue (OverdueReceipts), and a message
     * another system sent from the same carrier account has none.
     */
    private void lookAgain(List<Queued> missing, Map<StatusCallbacks.Receipt.Key, List<Queued>> byShard,
                           List<SQSBatchResponse.BatchItemFailure> failures) {
        long latest = missing.stream().mapToLong(q -> q.receipt().receivedAt()).max().orElseThrow();
        long wait = Math.min(SID_RELOOK_MILLIS, latest + SID_RELOOK_MILLIS - clock.millis());
        if (wait > 0) {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                missing.forEach(q -> failures.add(new SQSBatchResponse.BatchItemFailure(q.recordId()))); // they come again
                return;
            }
            missing = locateAll(missing, byShard, failures);
        }
        for (Queued q : missing) Log.info("status_callback_sid_unknown", Map.of("sqsMessageId", q.recordId()));
    }

    /** Files each receipt by sid under its row's shard; returns those whose sid no row has. */
    private List<Queued> locateAll(List<Queued> bySid, Map<StatusCallbacks.Receipt.Key, List<Queued>> byShard,
                                   List<SQSBatchResponse.BatchItemFailure> failures) {
        List<Queued> missing = new ArrayList<>();
        for (Queued q : bySid) if (!locateInto(q, byShard, failures)) missing.add(q);
        return missing;
    }

    /** Files a receipt by sid under its row's shard; false when no row has the sid. */
    private boolean locateInto(Queued q, Map<StatusCallbacks.Receipt.Key, List<Queued>> byShard,
                               List<SQSBatchResponse.BatchItemFailure> failures) {
        Optional<StatusCallbacks.Receipt> located;
        try {
            located = receipts.locate(q.receipt());
        } catch (RuntimeException e) {
            Log.jobFailed("receipt_locate_failed", Map.of("sqsMessageId", q.recordId()), e);
            failures.add(new SQSBatchResponse.BatchItemFailure(q.recordId()));
            return true; // not missing: it comes again
        }
        if (located.isEmpty()) return false;
        byShard.computeIfAbsent(located.get().key(), k -> new ArrayList<>()).add(new Queued(q.recordId(), located.get()));
        return true;
    }
}
