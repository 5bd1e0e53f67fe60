package groupmsg.messages;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;

import java.time.Clock;
import java.util.Map;

/**
 * Consumes the relays FIFO queue: ordered messages, delivered one at a time per message group
 * ({@link OrderedDelivery}): a conversation's messages, and a line's answers to one number (keyword replies, direct
 * replies, its own messages to the number).
 */
public final class RelayWorkerHandler implements QueueFunction {
    private final OrderedDelivery delivery;
    private final Clock clock;
    private final SqsQueueSender queue;

    private final Priming priming;

    public RelayWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public RelayWorkerHandler(Wiring wiring) {
        this.delivery = new OrderedDelivery(wiring);
        this.queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
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
                // held for Twilio's loop guard up to its 7th receive (a hold is one): then it goes, not to the DLQ
                delivery.deliver(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "messageId"), deadline,
                        SqsQueueSender.receiveCount(message) <= PairChains.LAST_HOLDING_RECEIVE);
            } catch (NotSentYet e) {
                // Out of time, not wrong: back as soon as the line has room, not after the queue's visibility
                // timeout (6 minutes), which held the conversation's later messages behind it as long.
                retrySoon(message, e.retryAfterMillis());
                throw e;
            } catch (CarrierUnavailable e) {
                // the carrier turned a send away on its every try (throttled, unreachable), or left a run of answers
                // unclear (logged where it happened): back as a
                // delivery job the carrier did not take is, 10 s after its first receive, later after each
                retrySoon(message, CarrierUnavailable.retryAfterMillis(SqsQueueSender.receiveCount(message)));
                throw e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while delivering", e);
            } catch (RuntimeException e) {
                // A fault (a throttled table, a timeout): tried again sooner than the queue's 6 minutes, longer after
                // each receive, since the messages behind it in its group (a conversation's, or a number's answers:
                // a STOP's confirmation) wait for it
                retrySoon(message, SqsQueueSender.faultRetryMillis(message));
                throw e;
            }
        });
    }

    private void retrySoon(SQSEvent.SQSMessage message, long afterMillis) {
        queue.retrySoon(Queues.RELAYS, message, afterMillis, "relay_retry_not_hastened");
    }
}
