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
import java.util.List;
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
        List<Future<?>> running = new ArrayList<>();
        try (ExecutorService pool = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name(Thread.currentThread().getName() + "/batch-", 0).factory())) {
            for (SQSEvent.SQSMessage message : event.getRecords()) {
                running.add(pool.submit(() -> {
                    Map<String, Object> job = Json.parseObject(message.getBody());
                    deliveries.deliver((String) job.get("accountId"), (String) job.get("messageId"),
                            ((Number) job.get("shard")).intValue(), (List<String>) job.get("phones"));
                    return null;
                }));
            }
        }
        for (int i = 0; i < running.size(); i++) {
            String id = event.getRecords().get(i).getMessageId();
            try {
                running.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failures.add(new SQSBatchResponse.BatchItemFailure(id));
            } catch (ExecutionException e) {
                Log.error("delivery_batch_failed", Map.of("messageId", id), e.getCause());
                failures.add(new SQSBatchResponse.BatchItemFailure(id));
            }
        }
        return new SQSBatchResponse(failures);
    }
}
