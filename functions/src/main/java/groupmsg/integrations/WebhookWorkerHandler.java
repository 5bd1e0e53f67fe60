package groupmsg.integrations;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import groupmsg.platform.Log;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;


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
        this.dispatcher = new WebhookDispatcher(wiring);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    /**
     * The batch's events side by side (each at most about 19 s: three tries of 5 s and the pauses between), so a
     * batch of slow endpoints ends well within the function's 30 s. Each event fails, and is retried, on its own.
     */
    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (SQSEvent.SQSMessage m : event.getRecords()) {
                running.add(executor.submit(() -> dispatcher.dispatch(m.getBody(), m.getMessageId())));
            }
            for (int i = 0; i < running.size(); i++) {
                String id = event.getRecords().get(i).getMessageId();
                try {
                    running.get(i).get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof WebhookDispatcher.NotDelivered)) {
                        Log.error("webhook_event_failed", Map.of("sqsMessageId", id), e.getCause());
                    }
                    failures.add(new SQSBatchResponse.BatchItemFailure(id));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failures.add(new SQSBatchResponse.BatchItemFailure(id));
                }
            }
        }
        return new SQSBatchResponse(failures);
    }
}
