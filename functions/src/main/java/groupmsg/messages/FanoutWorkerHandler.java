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
import groupmsg.platform.schema.Queues;
import groupmsg.platform.queue.QueueSender;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Consumes the fanout queue: expands messages into delivery rows and batches (see {@link FanoutService}). */
public final class FanoutWorkerHandler implements QueueFunction {
    private final FanoutService fanout;
    private final QueueSender queue;

    private final Priming priming;

    public FanoutWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public FanoutWorkerHandler(Wiring wiring) {
        this(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()));
    }

    public FanoutWorkerHandler(Wiring wiring, QueueSender queue) {
        this.queue = queue;
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
            Map<String, Object> job = null;
            try {
                job = Json.parseObject(message.getBody());
                fanout.run((String) job.get("accountId"), (String) job.get("messageId"),
                        job.get("retries") instanceof Number n && n.intValue() > 0);
            } catch (RuntimeException e) {
                Log.jobFailed("fanout_failed", Map.of("messageId", message.getMessageId()), e);
                if (job == null || !retriedSoon(job)) failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
            }
        }
        return new SQSBatchResponse(failures);
    }

    /**
     * Enqueues a failed fan-out again, seconds from now, a few times: SQS would bring the job back only when its
     * visibility timeout ends (six times the function's, 12 minutes), and a group message goes at once. The failed
     * run gave its page's lease back, so the retry takes the page over at once. After the quick tries, or when this
     * enqueue fails too, SQS's own retries and then its dead-letter queue take over.
     */
    private boolean retriedSoon(Map<String, Object> job) {
        int retries = job.get("retries") instanceof Number n ? n.intValue() : 0;
        if (retries >= FanoutService.QUICK_RETRIES) return false;
        try {
            queue.send(Queues.FANOUT, List.of(FanoutService.retryJob((String) job.get("accountId"), (String) job.get("messageId"),
                    retries + 1)));
            return true;
        } catch (RuntimeException e) {
            Log.error("fanout_retry_not_queued", Map.of("retries", retries), e);
            return false;
        }
    }
}
