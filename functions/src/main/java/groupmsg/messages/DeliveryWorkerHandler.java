package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;

import java.util.ArrayList;
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
    private final DeliveryService deliveries;

    private final Priming priming;

    public DeliveryWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public DeliveryWorkerHandler(Wiring wiring) {
        this.deliveries = new DeliveryService(wiring);
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
        try (ExecutorService pool = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name(Thread.currentThread().getName() + "/batch-", 0).factory())) {
            for (SQSEvent.SQSMessage message : event.getRecords()) {
                running.add(pool.submit(() -> {
                    Map<String, Object> job = Json.parseObject(message.getBody());
                    String accountId = (String) job.get("accountId");
                    String messageId = (String) job.get("messageId");
                    deliveries.deliverOnly(accountId, messageId, ((Number) job.get("shard")).intValue(),
                            (List<String>) job.get("phones"));
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
}
