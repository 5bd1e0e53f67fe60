package groupmsg.integrations;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An event's passes through the webhooks queue: each delivered to its account's webhooks ({@link WebhookDispatcher});
 * one that did not reach them all is sent to the queue again as a new message, delayed, for its next pass, longer after
 * each ({@link WebhookDispatcher#retryDelay}), and after its last to the dead-letter queue. Not kept in flight
 * (received, its visibility extended): SQS holds about 120,000 in flight a queue, and one account's endpoint down for a
 * day held that many of a busy account's events, after which the queue gave no event to any account's webhooks.
 */
public final class WebhookPasses {
    /**
     * How early a copy may come before its pass is due and still make it: SQS counts its delay in whole seconds, and
     * its clock and ours differ a little.
     */
    static final long DUE_SLACK_MILLIS = 1_000;
    /**
     * A copy due later than any pass's wait from now is due now: its due time was set by a clock far off, or by
     * someone else, and it would otherwise wait again every 15 minutes for good, never tried nor dead-lettered.
     */
    static final long LONGEST_WAIT_MILLIS = WebhookDispatcher.retryDelay(Integer.MAX_VALUE).toMillis() + DUE_SLACK_MILLIS;
    /**
     * The time a send to the queue must have left in the invocation: one cut off by the function's end after it was
     * made leaves the message it copies to come back too, and the event then runs two chains of passes (as it still
     * may, rarely: a send that timed out may have reached SQS).
     */
    static final long SEND_MARGIN_MILLIS = 4_000;
    /** How long a send to a queue may take in all, its retries included: less than {@link #SEND_MARGIN_MILLIS}. */
    static final Duration SEND_CALL_TIMEOUT = Duration.ofSeconds(3);

    private final WebhookDispatcher dispatcher;
    private final SqsQueueSender queue;
    private final Clock clock;

    public WebhookPasses(Wiring wiring) {
        this.dispatcher = new WebhookDispatcher(wiring);
        // a send that hangs must fail before the function's end (SEND_MARGIN_MILLIS), not be cut off after it was made
        this.queue = new SqsQueueSender(wiring.sqsClient(), wiring.config(), SEND_CALL_TIMEOUT);
        this.clock = wiring.clock();
    }

    /**
     * @param sendBy the System.nanoTime() after which no send to a queue is started (the item fails instead); null for
     *               no such time (invoked without a Lambda context)
     */
    public void handle(SQSEvent.SQSMessage message, Long sendBy) {
        long now = clock.millis();
        Passes passes = Passes.of(message);
        long wait = passes.dueAt() - now;
        if (wait > DUE_SLACK_MILLIS && wait <= LONGEST_WAIT_MILLIS) {
            // come before its pass (SQS delays a message 15 minutes at the most): waits again, nothing tried
            sendAgain(message.getBody(), passes, wait, sendBy);
            return;
        }
        int pass = passes.made() + SqsQueueSender.receiveCount(message);
        boolean lastPass = pass >= Queues.WEBHOOKS.maxReceiveCount();
        try {
            dispatcher.dispatch(message.getBody(), passes.eventMessageId(), passes.publishedAt(), lastPass);
        } catch (WebhookDispatcher.NotDelivered notDelivered) {
            if (lastPass) {
                requireTimeToSend(sendBy);
                // Moved back to the queue by an operator, its passes start anew and it goes to the webhooks there are
                // then, by the redrive's SentTimestamp (README): the first publish time carried would drop it, without
                // a word, for a webhook enabled again or made anew since, which is what a redrive is for.
                queue.sendToDeadLetters(Queues.WEBHOOKS, List.of(new QueueMessage(message.getBody(), null, null, 0,
                        passes.redriven().attributes())));
                return;
            }
            Duration delay = WebhookDispatcher.retryDelay(pass);
            sendAgain(message.getBody(), passes.after(pass, now + delay.toMillis()), delay.toMillis(), sendBy);
        }
    }

    /** The event as a new message, out of sight for {@code waitMillis} (15 minutes at the most: it comes back then). */
    private void sendAgain(String body, Passes passes, long waitMillis, Long sendBy) {
        requireTimeToSend(sendBy);
        int delay = (int) Math.min(QueueMessage.MAX_DELAY_SECONDS, Math.ceilDiv(waitMillis, 1000L));
        queue.send(Queues.WEBHOOKS, List.of(new QueueMessage(body, null, null, delay, passes.attributes())));
    }

    /**
     * Fails the message (it comes back after the queue's 3 minutes, a pass) rather than start a send the function's end
     * may cut off after it was made: what reached an endpoint is remembered, so the next pass sends it to no one twice.
     */
    private static void requireTimeToSend(Long sendBy) {
        if (sendBy != null && System.nanoTime() - sendBy > 0) throw new NoTimeToSend();
    }

    /** Too little of the invocation was left to send the event to its queue again: it comes back, as a pass. */
    static final class NoTimeToSend extends RuntimeException {
        NoTimeToSend() {
            super("too little of the invocation left to send the event to its queue again", null, false, false);
        }
    }

    /**
     * Where an event is in its passes, carried on each copy sent again (as message attributes: a new message's receives
     * start anew, and its SentTimestamp and id are its own).
     *
     * @param made           the passes made before the copy (a copy's receives are passes too: a fault's)
     * @param dueAt          when its next pass is due (epoch ms; 0: at once)
     * @param publishedAt    when the event reached the queue first (a webhook created after it does not get it), or
     *                       null when not known (invoked by hand)
     * @param eventMessageId the first message's id, which names an event that names neither a message nor a reply
     */
    record Passes(int made, long dueAt, Long publishedAt, String eventMessageId) {
        static final String MADE = "groupmsg-passes";
        static final String DUE_AT = "groupmsg-due-at";
        static final String PUBLISHED_AT = "groupmsg-published-at";
        static final String EVENT_MESSAGE_ID = "groupmsg-event-message-id";

        /** A received message's: what it carries, else (the first message) its own. */
        static Passes of(SQSEvent.SQSMessage message) {
            Map<String, SQSEvent.MessageAttribute> carried = message.getMessageAttributes() == null ? Map.of()
                    : message.getMessageAttributes();
            Long publishedAt = number(carried, PUBLISHED_AT);
            String eventMessageId = string(carried, EVENT_MESSAGE_ID);
            Long made = number(carried, MADE);
            Long dueAt = number(carried, DUE_AT);
            return new Passes(made == null ? 0 : (int) Math.max(0, Math.min(made, Integer.MAX_VALUE)),
                    dueAt == null ? 0 : dueAt,
                    publishedAt != null ? publishedAt : SqsQueueSender.sentAt(message),
                    eventMessageId != null ? eventMessageId : message.getMessageId());
        }

        /** The same event as a dead-letter copy carries it: its first message's id only. */
        Passes redriven() {
            return new Passes(0, 0, null, eventMessageId);
        }

        /** The same event, {@code made} passes made and its next due at {@code dueAt}. */
        Passes after(int made, long dueAt) {
            return new Passes(made, dueAt, publishedAt, eventMessageId);
        }

        Map<String, String> attributes() {
            var attributes = new LinkedHashMap<String, String>();
            if (made > 0) attributes.put(MADE, Integer.toString(made));
            if (dueAt > 0) attributes.put(DUE_AT, Long.toString(dueAt));
            if (publishedAt != null) attributes.put(PUBLISHED_AT, Long.toString(publishedAt));
            if (eventMessageId != null) attributes.put(EVENT_MESSAGE_ID, eventMessageId);
            return attributes;
        }

        /** A carried number, or null when it is missing or not one (a copy someone else sent). */
        private static Long number(Map<String, SQSEvent.MessageAttribute> carried, String name) {
            try {
                return Long.valueOf(string(carried, name));
            } catch (RuntimeException e) {
                return null;
            }
        }

        private static String string(Map<String, SQSEvent.MessageAttribute> carried, String name) {
            return carried.get(name) == null ? null : carried.get(name).getStringValue();
        }
    }
}
