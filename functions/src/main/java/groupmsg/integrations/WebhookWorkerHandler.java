package groupmsg.integrations;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import groupmsg.platform.Log;
import groupmsg.platform.SideBySide;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;


/**
 * Consumes the webhooks queue, which the integrations topic alone delivers to (raw messages; the notifications topic's
 * group message events never go to webhooks): each event's pass ({@link WebhookPasses}).
 */
public final class WebhookWorkerHandler implements QueueFunction {
    private final WebhookPasses passes;
    private final Priming priming;

    public WebhookWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public WebhookWorkerHandler(Wiring wiring) {
        this.passes = new WebhookPasses(wiring);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    /**
     * The batch's events side by side (each endpoint's tries at most 20 s: see WebhookDispatcher), so a batch of slow
     * endpoints ends within the function's 30 s. An event fails on its own only for a fault of ours (a table that
     * refuses, a send to the queue that fails) or too little time left for its send: it comes back after the queue's
     * visibility timeout, 3 minutes, and that receive counts as a pass.
     */
    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        Long sendBy = context == null ? null
                : System.nanoTime() + (context.getRemainingTimeInMillis() - WebhookPasses.SEND_MARGIN_MILLIS) * 1_000_000L;
        var outcomes = SideBySide.run(event.getRecords(), "/event-", m -> {
            passes.handle(m, sendBy);
            return null;
        });
        for (int i = 0; i < outcomes.size(); i++) {
            String id = event.getRecords().get(i).getMessageId();
            if (outcomes.get(i) instanceof SideBySide.Done) continue;
            if (outcomes.get(i) instanceof SideBySide.Failed<?> f && f.cause() instanceof WebhookPasses.NoTimeToSend) {
                Log.warn("webhook_event_out_of_time", Map.of("sqsMessageId", id)); // expected now and then: no fault
            } else if (outcomes.get(i) instanceof SideBySide.Failed<?> f) {
                Log.jobFailed("webhook_event_failed", Map.of("sqsMessageId", id), f.cause());
            }
            failures.add(new SQSBatchResponse.BatchItemFailure(id));
        }
        return new SQSBatchResponse(failures);
    }
}
