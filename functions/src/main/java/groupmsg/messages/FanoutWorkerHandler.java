package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.groups.GroupService;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.SqsQueueSender;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Consumes the fanout queue: expands messages into delivery rows and batches (see {@link FanoutService}). */
public final class FanoutWorkerHandler implements QueueFunction {
    private final FanoutService fanout;

    private final Priming priming;

    public FanoutWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public FanoutWorkerHandler(Wiring wiring) {
        var queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.fanout = new FanoutService(wiring, new GroupService(wiring, queue), queue);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        for (SQSEvent.SQSMessage message : event.getRecords()) {
            try {
                Map<String, Object> job = Json.parseObject(message.getBody());
                fanout.run((String) job.get("accountId"), (String) job.get("messageId"));
            } catch (RuntimeException e) {
                Log.error("fanout_failed", Map.of("messageId", message.getMessageId()), e);
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
            }
        }
        return new SQSBatchResponse(failures);
    }
}
