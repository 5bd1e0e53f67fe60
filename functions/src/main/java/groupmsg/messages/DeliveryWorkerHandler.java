package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Consumes the deliveries queue: one batch of recipients per message (see {@link DeliveryService}). A failed
 * batch comes back after the visibility timeout; rows it already claimed are not sent again.
 */
public final class DeliveryWorkerHandler implements RequestHandler<SQSEvent, SQSBatchResponse> {
    private final DeliveryService deliveries;

    public DeliveryWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public DeliveryWorkerHandler(Wiring wiring) {
        this.deliveries = new DeliveryService(wiring);
    }

    @Override
    @SuppressWarnings("unchecked")
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        for (SQSEvent.SQSMessage message : event.getRecords()) {
            try {
                Map<String, Object> job = Json.parseObject(message.getBody());
                deliveries.deliver((String) job.get("accountId"), (String) job.get("messageId"),
                        ((Number) job.get("shard")).intValue(), (List<String>) job.get("phones"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
            } catch (RuntimeException e) {
                Log.error("delivery_batch_failed", Map.of("messageId", message.getMessageId()), e);
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
            }
        }
        return new SQSBatchResponse(failures);
    }
}
