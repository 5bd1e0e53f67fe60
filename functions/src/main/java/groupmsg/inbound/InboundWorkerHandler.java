package groupmsg.inbound;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.optout.OptOutService;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;

import java.util.Map;

/** Consumes the inbound FIFO queue, in order per conversation, else per line and sender (see {@link InboundRouter}). */
public final class InboundWorkerHandler implements QueueFunction {
    private final InboundRouter router;
    private final OptOutService optOuts;
    private final SqsQueueSender queue;
    private final Lazy<InboundService> arrivals;

    private final Priming priming;

    public InboundWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public InboundWorkerHandler(Wiring wiring) {
        this.queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.arrivals = new Lazy<>(() -> new InboundService(wiring, queue)); // rare: only texts a webhook handed on
        this.router = new InboundRouter(wiring, queue);
        this.optOuts = new OptOutService(wiring, queue);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        return FifoBatch.process(event, "inbound_failed", message -> {
            Map<String, Object> job = Json.parseObject(message.getBody());
            InboundService.Arrived arrived = InboundService.arrived(job);
            String accountId = arrived != null ? null : FifoBatch.requireString(job, "accountId");
            String inboundId = arrived != null ? null : FifoBatch.requireString(job, "inboundId");
            try {
                if (arrived != null) {
                    // a text its webhook could not store (InboundService.receiveOrDefer): stored and queued now
                    arrivals.get().receiveHandedOn(arrived);
                } else if (Boolean.TRUE.equals(job.get(InboundRouter.PUBLISH_ONLY))) {
                    router.publishOnce(accountId, inboundId);
                } else if (router.route(accountId, inboundId)) {
                    // a "Yes" that also answers something: relayed first, then its opt-in (both idempotent on a retry)
                    optOuts.handleKeyword(accountId, inboundId);
                }
            } catch (RuntimeException e) {
                // A fault (a throttled table, a request timed out): tried again sooner than the queue's 3 minutes,
                // longer after each receive, since the texts behind it in its group (its conversation's, its
                // sender's) wait for it. (An invocation Lambda timed out never gets here: it waits the 3 minutes.)
                retrySoon(message, SqsQueueSender.faultRetryMillis(message));
                throw e;
            }
        });
    }

    private void retrySoon(SQSEvent.SQSMessage message, long afterMillis) {
        queue.retrySoon(Queues.INBOUND, message, afterMillis, "inbound_retry_not_hastened");
    }

}
