package groupmsg.integrations;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.Log;
import groupmsg.platform.SideBySide;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;


/**
 * Consumes the webhooks queue, which the integrations topic alone delivers to (raw messages; the notifications topic's
 * group message events never go to webhooks): each
 * event to its account's webhooks ({@link WebhookDispatcher}). An event that did not reach them all goes back to the
 * queue (a batch item failure) and is tried again later, longer after each pass ({@link WebhookDispatcher#retryDelay}),
 * up to the queue's receive count, then its dead-letter queue.
 */
public final class WebhookWorkerHandler implements QueueFunction {
    private final WebhookDispatcher dispatcher;
    private final Priming priming;
    private final SqsQueueSender queue;

    public WebhookWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public WebhookWorkerHandler(Wiring wiring) {
        this.dispatcher = new WebhookDispatcher(wiring);
        this.queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    /**
     * The batch's events side by side (each endpoint's tries at most 20 s: see WebhookDispatcher), so a batch of slow
     * endpoints ends within the function's 30 s. Each event fails, and is retried, on its own.
     */
    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        var outcomes = SideBySide.run(event.getRecords(), "/event-", m -> {
            dispatcher.dispatch(m.getBody(), m.getMessageId(), SqsQueueSender.sentAt(m), lastPass(m));
            return null;
        });
        for (int i = 0; i < outcomes.size(); i++) {
            String id = event.getRecords().get(i).getMessageId();
            if (outcomes.get(i) instanceof SideBySide.Done) continue;
            if (outcomes.get(i) instanceof SideBySide.Failed<?> f && f.cause() instanceof WebhookDispatcher.NotDelivered) {
                retryLater(event.getRecords().get(i));
            } else if (outcomes.get(i) instanceof SideBySide.Failed<?> f) {
                Log.jobFailed("webhook_event_failed", Map.of("sqsMessageId", id), f.cause());
            }
            failures.add(new SQSBatchResponse.BatchItemFailure(id));
        }
        return new SQSBatchResponse(failures);
    }

    /** Whether this is the event's last receive before its dead-letter queue. */
    private static boolean lastPass(SQSEvent.SQSMessage message) {
        return SqsQueueSender.receiveCount(message) >= Queues.WEBHOOKS.maxReceiveCount();
    }

    /**
     * An event an endpoint did not take: its next pass waits longer each time (a fault of ours keeps the queue's 3
     * minutes); after its last, it goes to the dead-letter queue at once (not 11 hours later).
     */
    private void retryLater(SQSEvent.SQSMessage message) {
        long seconds = lastPass(message) ? 0 : WebhookDispatcher.retryDelay(SqsQueueSender.receiveCount(message)).toSeconds();
        queue.retryAfter(Queues.WEBHOOKS, message, seconds, "webhook_retry_not_delayed");
    }
}
