package groupmsg.integrations;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import groupmsg.platform.queue.FifoBatch;


/**
 * Consumes the webhooks queue, which the notifications and integrations topics deliver to (raw messages): each
 * event to its account's webhooks ({@link WebhookDispatcher}). An event that did not reach them all goes back to the
 * queue (a batch item failure) and is tried again later, up to the queue's receive count, then its dead-letter queue.
 */
public final class WebhookWorkerHandler implements QueueFunction {
    private final WebhookDispatcher dispatcher;
    private final Priming priming;

    public WebhookWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public WebhookWorkerHandler(Wiring wiring) {
        this(wiring, new WebhookDispatcher(wiring));
    }

    WebhookWorkerHandler(Wiring wiring, WebhookDispatcher dispatcher) {
        this.dispatcher = dispatcher;
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        // a standard queue: its messages have no group, so each fails (and is retried) on its own
        return FifoBatch.process(event, "webhook_event_failed", m -> dispatcher.dispatch(m.getBody(), m.getMessageId()));
    }
}
