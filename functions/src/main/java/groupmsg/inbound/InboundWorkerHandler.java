package groupmsg.inbound;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;
import groupmsg.platform.queue.SqsQueueSender;

import java.util.Map;

/** Consumes the inbound FIFO queue, in order per line and sender (see {@link InboundRouter}). */
public final class InboundWorkerHandler implements RequestHandler<SQSEvent, SQSBatchResponse> {
    private final InboundRouter router;

    public InboundWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public InboundWorkerHandler(Wiring wiring) {
        this.router = new InboundRouter(wiring, new SqsQueueSender(wiring.sqs(), wiring.config()));
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        return FifoBatch.process(event, "inbound_failed", message -> {
            Map<String, Object> job = Json.parseObject(message.getBody());
            router.route(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "inboundId"));
        });
    }
}
