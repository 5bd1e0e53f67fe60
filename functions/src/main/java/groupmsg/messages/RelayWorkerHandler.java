package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;

import java.util.Map;

/** Consumes the relays FIFO queue: conversation messages, delivered one at a time per conversation ({@link OrderedDelivery}). */
public final class RelayWorkerHandler implements QueueFunction {
    private final OrderedDelivery delivery;

    private final Priming priming;

    public RelayWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public RelayWorkerHandler(Wiring wiring) {
        this.delivery = new OrderedDelivery(wiring);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        return FifoBatch.process(event, "relay_failed", message -> {
            Map<String, Object> job = Json.parseObject(message.getBody());
            try {
                delivery.deliver(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "messageId"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while delivering", e);
            }
        });
    }
}
