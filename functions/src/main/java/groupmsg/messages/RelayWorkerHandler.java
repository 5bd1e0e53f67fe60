package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;

import java.time.Clock;
import java.util.Map;

/** Consumes the relays FIFO queue: conversation messages, delivered one at a time per conversation ({@link OrderedDelivery}). */
public final class RelayWorkerHandler implements QueueFunction {
    private final OrderedDelivery delivery;
    private final Clock clock;

    private final Priming priming;

    public RelayWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public RelayWorkerHandler(Wiring wiring) {
        this.delivery = new OrderedDelivery(wiring);
        this.clock = wiring.clock();
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        // Cut off by the invocation's end, a relay would leave its claimed rows in sending (never sent); stopped at
        // its deadline, it gives them back and fails, and its FIFO retry keeps its place in the conversation.
        var deadline = DeliveryWorkerHandler.deadline(context, clock);
        return FifoBatch.process(event, "relay_failed", message -> {
            Map<String, Object> job = Json.parseObject(message.getBody());
            try {
                delivery.deliver(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "messageId"), deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while delivering", e);
            }
        });
    }
}
