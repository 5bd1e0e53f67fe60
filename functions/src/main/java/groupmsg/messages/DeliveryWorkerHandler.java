package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;

import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Consumes the deliveries queue: one batch of recipients per message (see {@link DeliveryService}). A failed
 * batch comes back after the visibility timeout; rows it already claimed are not sent again.
 */
public final class DeliveryWorkerHandler implements QueueFunction {
    /**
     * Time kept back when starting a block: its reservation may wait for the lookahead (11 s), its slots take up to
     * about 5.5 s (a block is at most about 5 s of the line's rate), and it and the block before are recorded.
     */
    static final long BLOCK_RESERVE_MILLIS = 20_000;
    /**
     * Time kept back after the last send starts: the carrier's answer (its request timeout, 10 s), the record of the
     * block and the job handed on with what is left.
     */
    static final long SEND_RESERVE_MILLIS = 13_000;

    private final DeliveryService deliveries;
    private final QueueSender queue;
    private final Clock clock;

    private final Priming priming;

    public DeliveryWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public DeliveryWorkerHandler(Wiring wiring) {
        this.deliveries = new DeliveryService(wiring);
        this.queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.clock = wiring.clock();
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    /**
     * The batch's records (up to the queue's batch size, each one message's recipients of one shard) are delivered
     * side by side: each waits mostly for its line's rate slots and the carrier, so the invocation lasts about as
     * long as its slowest record, not their sum.
     */
    @Override
    @SuppressWarnings("unchecked")
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        List<Future<Map.Entry<String, String>>> running = new ArrayList<>();
        // Lambda's own deadline: jobs on a line shared with many others can take longer than this invocation has.
        DeliveryService.Deadline deadline = context == null ? DeliveryService.Deadline.NONE
                : deadline(clock.millis() + context.getRemainingTimeInMillis());
        try (ExecutorService pool = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name(Thread.currentThread().getName() + "/batch-", 0).factory())) {
            for (SQSEvent.SQSMessage message : event.getRecords()) {
                running.add(pool.submit(() -> {
                    Map<String, Object> job = Json.parseObject(message.getBody());
                    String accountId = (String) job.get("accountId");
                    String messageId = (String) job.get("messageId");
                    int shard = ((Number) job.get("shard")).intValue();
                    List<String> left = deliveries.deliverOnly(accountId, messageId, shard,
                            (List<String>) job.get("phones"), deadline);
                    // Not sent in time: a fresh job for the rest (if this send fails, the record fails and comes
                    // back whole; its started rows are no longer queued and are skipped).
                    if (!left.isEmpty()) queue.send(Queues.DELIVERIES, List.of(job(accountId, messageId, shard, left)));
                    return Map.entry(accountId, messageId);
                }));
            }
        }
        // One completion check per group message of the batch, after all of its jobs (usually all five are one
        // message's) rather than one per job: each check reads the message and, once fanned out, its counters.
        Set<Map.Entry<String, String>> delivered = new LinkedHashSet<>();
        for (int i = 0; i < running.size(); i++) {
            String id = event.getRecords().get(i).getMessageId();
            try {
                delivered.add(running.get(i).get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failures.add(new SQSBatchResponse.BatchItemFailure(id));
            } catch (ExecutionException e) {
                Log.error("delivery_batch_failed", Map.of("messageId", id), e.getCause());
                failures.add(new SQSBatchResponse.BatchItemFailure(id));
            }
        }
        for (var message : delivered) {
            try {
                deliveries.complete(message.getKey(), message.getValue());
            } catch (RuntimeException e) {
                // The rows are recorded; maintenance completes a message whose check failed within a minute.
                Log.error("delivery_completion_failed", Map.of("messageId", message.getValue()), e);
            }
        }
        return new SQSBatchResponse(failures);
    }

    static DeliveryService.Deadline deadline(long invocationEndsAt) {
        return new DeliveryService.Deadline(invocationEndsAt - BLOCK_RESERVE_MILLIS, invocationEndsAt - SEND_RESERVE_MILLIS);
    }

    /** A delivery job: one message's recipients of one shard (what the fan-out enqueues). */
    static QueueMessage job(String accountId, String messageId, int shard, List<String> phones) {
        var body = new LinkedHashMap<String, Object>();
        body.put("accountId", accountId);
        body.put("messageId", messageId);
        body.put("shard", shard);
        body.put("phones", phones);
        return new QueueMessage(Json.write(body), null, null);
    }
}
