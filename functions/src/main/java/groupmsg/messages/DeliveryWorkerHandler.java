package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;
import groupmsg.platform.SideBySide;
import groupmsg.platform.config.Wiring;

import groupmsg.platform.queue.ExpectedRetry;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;

/**
 * Consumes the deliveries queue: one batch of recipients per message (see {@link DeliveryService}). A failed
 * batch comes back after the visibility timeout; rows it already claimed are not sent again. No job keeps a worker
 * waiting for its line more than {@link #HOLD_MILLIS}: what it cannot send by then goes back to the queue with a
 * place in the line's waiting line, out of sight until shortly before it ({@link DeliveryJob}).
 */
public final class DeliveryWorkerHandler implements QueueFunction {
    /**
     * The longest a job keeps a worker waiting for its line: what it cannot send by then is handed on (see
     * {@link DeliveryService#deliver(DeliveryJob, DeliveryService.Deadline)}) to wait in the queue. A line's first two
     * or three jobs (about 5.5 s of the rate each) go on in their workers; at 10 s, the second job of a 100 mps send
     * was handed on and came back, two more transactions and a hand-over for nothing. So each busy line holds at most
     * about three jobs' workers at once.
     */
    static final long HOLD_MILLIS = 15_000;
    /** A job that arrives up to this much before it was meant to is not sent back (SQS's delays are not exact). */
    static final long EARLY_TOLERANCE_MILLIS = 1_000;

    private final DeliveryService deliveries;
    private final QueueSender queue;
    /** Changes the visibility of the batch's own messages (the port above may be a test's recorder). */
    private final SqsQueueSender visibility;
    private final Clock clock;

    private final Priming priming;

    public DeliveryWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public DeliveryWorkerHandler(Wiring wiring) {
        this(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()));
    }

    /** With another queue port (tests: to see what is handed on). */
    public DeliveryWorkerHandler(Wiring wiring, QueueSender queue) {
        this.deliveries = new DeliveryService(wiring, UndeliverableRecipients.of(wiring));
        this.queue = queue;
        this.visibility = queue instanceof SqsQueueSender sqs ? sqs : new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.clock = wiring.clock();
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    /**
     * The batch's records (up to the queue's batch size, each one message's recipients of one shard) are delivered
     * side by side: each waits mostly for its line's rate slots and the carrier, so the invocation lasts about as
     * long as its slowest record, not their sum.
     */
    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        // Lambda's own deadline: jobs on a line shared with many others can take longer than this invocation has.
        DeliveryService.Deadline deadline = deadline(context, clock);
        var outcomes = SideBySide.run(event.getRecords(), "/batch-", message -> {
            DeliveryJob job = DeliveryJob.parse(message.getBody());
            long now = clock.millis();
            if (job.arriveAt() > now + EARLY_TOLERANCE_MILLIS) {
                switch (deliveries.beforeItsPlace(job)) {
                    // its line deleted meanwhile (forced): its rows are failed now, and its message completed
                    case ENDED -> {
                        return Map.entry(job.accountId(), job.messageId());
                    }
                    // Back before it was meant to (a place over SQS's 15 minutes away, or a copy): waits again, at
                    // least a second.
                    case WAIT -> {
                        queue.send(Queues.DELIVERIES, List.of(job.messageDelayedBy(Math.max(1, job.delaySeconds(now)))));
                        return null;
                    }
                    // its line's rate raised since it was placed: it goes now, as a fresh job would
                    case GO_NOW -> job = job.withoutPlace();
                }
            }
            List<DeliveryJob> next = deliveries.deliver(job, deadline.notAfter(now + HOLD_MILLIS));
            if (!next.isEmpty()) {
                long at = clock.millis();
                queue.send(Queues.DELIVERIES, next.stream().map(j -> j.message(at)).toList());
            }
            return Map.entry(job.accountId(), job.messageId());
        });
        // One completion check per group message of the batch, after all of its jobs (usually all five are one
        // message's) rather than one per job: each check reads the message and, once fanned out, its counters.
        Set<Map.Entry<String, String>> delivered = new LinkedHashSet<>();
        for (int i = 0; i < outcomes.size(); i++) {
            String id = event.getRecords().get(i).getMessageId();
            // instanceof, not a pattern switch: its bootstrap loads classes on this hot path's first batch
            if (outcomes.get(i) instanceof SideBySide.Done<Map.Entry<String, String>> d) {
                if (d.value() != null) delivered.add(d.value());
                continue;
            }
            if (outcomes.get(i) instanceof SideBySide.Failed<?> f) {
                if (f.cause() instanceof CarrierUnavailable) {
                    // the carrier's trouble passes in seconds or minutes: back sooner than the visibility timeout
                    // (6 minutes), later after each receive; it is logged where it happened
                    var record = event.getRecords().get(i);
                    int receives = SqsQueueSender.receiveCount(record);
                    if (receives >= Queues.DELIVERIES.maxReceiveCount() && handedOnAfterLastReceive(record)) continue;
                    retrySoon(record, CarrierUnavailable.retryAfterMillis(receives));
                } else if (ExpectedRetry.causedByInterrupt(f.cause())) {
                    // the invocation is being stopped (the local runtime winding down): the job gave back what it did
                    // not send and comes again; no failure to look into
                    Log.info("delivery_batch_stopped", Map.of("messageId", id));
                } else {
                    Log.jobFailed("delivery_batch_failed", Map.of("messageId", id), f.cause());
                }
            }
            failures.add(new SQSBatchResponse.BatchItemFailure(id));
        }
        for (var message : delivered) {
            try {
                deliveries.complete(message.getKey(), message.getValue());
            } catch (RuntimeException e) {
                // The rows are recorded; maintenance completes a message whose check failed within a minute.
                Log.error("delivery_completion_failed", Map.of("messageId", message.getValue()), e);
            }
        }
        return new SQSBatchResponse(failures);
    }

    /** How long a job handed on after its last receive waits before it is tried again. */
    static final int HAND_ON_DELAY_SECONDS = 300;
    /**
     * How long maintenance leaves the message's queued rows alone after a hand-on: the delay and the handed-on job's
     * own round of receives (about 7 minutes of backoff and its runs): its rows, but its first block's, are untouched
     * since the fan-out, and maintenance took them for lost at 10 minutes and gave them a second job (two chains of
     * the same rows turned away by a carrier that is throttling already).
     */
    static final long HAND_ON_HOLD_MILLIS = HAND_ON_DELAY_SECONDS * 1000L + java.time.Duration.ofMinutes(15).toMillis();

    /**
     * A job the carrier turned away on its last receive goes on as a fresh job {@link #HAND_ON_DELAY_SECONDS} on, its
     * place given up, rather than to the dead-letter queue: its recipients (given back to queued) were left there to
     * maintenance, which leaves the queued rows of a message whose other jobs wait for places in a slow line's waiting
     * line alone until the last of them (hours for a large group), so a carrier outage of minutes held them for hours.
     * While the carrier stays away it goes round again (no dead-letter queue: its CarrierUnavailable alarm pages).
     * False when the hand-on fails: the job fails as before.
     */
    private boolean handedOnAfterLastReceive(SQSEvent.SQSMessage record) {
        try {
            DeliveryJob job = DeliveryJob.parse(record.getBody());
            deliveries.holdMaintenanceOff(job, clock.millis() + HAND_ON_HOLD_MILLIS); // first: a job never waits unheld
            queue.send(Queues.DELIVERIES, List.of(job.withoutPlace().messageDelayedBy(HAND_ON_DELAY_SECONDS)));
            Log.info("delivery_job_handed_on_carrier_unavailable", Map.of("messageId", record.getMessageId()));
            return true;
        } catch (RuntimeException e) {
            Log.error("delivery_job_not_handed_on", Map.of("messageId", record.getMessageId()), e);
            return false;
        }
    }

    private void retrySoon(SQSEvent.SQSMessage message, long afterMillis) {
        visibility.retrySoon(Queues.DELIVERIES, message, afterMillis, "delivery_retry_not_hastened");
    }

    /** The deadline of the invocation {@code context} belongs to (none without one: a test or a local call). */
    static DeliveryService.Deadline deadline(Context context, Clock clock) {
        return context == null ? DeliveryService.Deadline.NONE
                : DeliveryService.Deadline.ofInvocation(clock.millis() + context.getRemainingTimeInMillis());
    }
}
