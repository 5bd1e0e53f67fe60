package groupmsg.platform.queue;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;
import groupmsg.platform.RetriesSpent;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.schema.QueueDef;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Sends with SendMessageBatch: up to 10 entries and at most {@link #MAX_BATCH_BYTES} per call, retrying the
 * entries SQS reports as failed.
 */
public final class SqsQueueSender implements QueueSender {
    /** SQS caps one batch at 256 KiB in total; keep a margin for attributes. */
    static final int MAX_BATCH_BYTES = 250 * 1024;
    static final int MAX_ENTRIES = 10;
    private static final int MAX_ATTEMPTS = 5;

    private final Supplier<SqsClient> sqs;
    private final AppConfig config;
    private final Duration callTimeout;

    /**
     * @param sqs the client, built on first send (a handler that sends only on some paths does not pay for the
     *            client's build at init: see {@code Wiring.sqsClient})
     */
    public SqsQueueSender(Supplier<SqsClient> sqs, AppConfig config) {
        this(sqs, config, null);
    }

    /**
     * @param callTimeout how long a send may take in all, the SDK's retries and its own retries of the entries SQS
     *                    failed included (null: no limit but the client's)
     */
    public SqsQueueSender(Supplier<SqsClient> sqs, AppConfig config, Duration callTimeout) {
        this.sqs = sqs;
        this.config = config;
        this.callTimeout = callTimeout;
    }

    @Override
    public void send(QueueDef queue, List<QueueMessage> messages) {
        send(queue, config.queueUrl(queue), messages);
    }

    /**
     * Sends the messages to the queue's dead-letter queue: for a consumer that sends its messages again as new ones
     * (their receives start anew, so the redrive policy never moves one) and so dead-letters them itself.
     */
    public void sendToDeadLetters(QueueDef queue, List<QueueMessage> messages) {
        send(queue, config.deadLetterQueueUrl(queue), messages);
    }

    private void send(QueueDef queue, String url, List<QueueMessage> messages) {
        List<QueueMessage> batch = new ArrayList<>();
        Set<String> groups = new HashSet<>();
        int bytes = 0;
        for (QueueMessage m : messages) {
            int size = m.body().getBytes(StandardCharsets.UTF_8).length;
            if (size > MAX_BATCH_BYTES) throw new IllegalArgumentException("message of " + size + " bytes is too large for SQS");
            // A FIFO message group's next message goes in a later batch: SQS takes a batch entry by entry, and one it
            // failed, retried after a later one of its group that it took, went in behind it (a conversation's relays
            // out of order). A batch that still fails stops the send before the group's later messages.
            if (batch.size() == MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES || (queue.fifo() && !groups.add(m.groupId()))) {
                sendBatch(queue, url, batch);
                batch = new ArrayList<>();
                groups.clear();
                if (queue.fifo()) groups.add(m.groupId());
                bytes = 0;
            }
            batch.add(m);
            bytes += size;
        }
        if (!batch.isEmpty()) sendBatch(queue, url, batch);
    }

    /**
     * Makes a received message of the worker's own batch visible again after {@code afterMillis} (at most the queue's
     * visibility timeout) instead of the whole visibility timeout: for a job that will fail only because it ran out of
     * time, not because anything is wrong with it. Nothing for one invoked by hand (no receipt handle); a failure is
     * only logged, as {@code failureEvent}: the queue's visibility timeout brings the message back instead.
     */
    public void retrySoon(QueueDef queue, SQSEvent.SQSMessage message, long afterMillis, String failureEvent) {
        if (message.getReceiptHandle() == null) return;
        int visibility = (int) Math.max(0, Math.min(Math.ceilDiv(afterMillis, 1000), queue.visibilityTimeoutSeconds()));
        try {
            sqs.get().changeMessageVisibility(b -> b.queueUrl(config.queueUrl(queue)).receiptHandle(message.getReceiptHandle())
                    .visibilityTimeout(visibility));
        } catch (RuntimeException e) {
            Log.warn(failureEvent, Map.of("sqsMessageId", String.valueOf(message.getMessageId()),
                    "error", e.getClass().getSimpleName()));
        }
    }

    /**
     * The wait before a FIFO job that failed for a fault (a throttled table, a request timed out) is tried again: 30 s
     * times its receives so far ({@link #retrySoon} caps it at the queue's visibility timeout), sooner than that timeout,
     * since the jobs behind it in its message group wait for it.
     */
    public static long faultRetryMillis(SQSEvent.SQSMessage message) {
        return 30_000L * receiveCount(message);
    }

    /** String message attributes as SQS takes them. */
    public static Map<String, MessageAttributeValue> attributeValues(Map<String, String> attributes) {
        var values = new LinkedHashMap<String, MessageAttributeValue>();
        attributes.forEach((name, value) -> values.put(name,
                MessageAttributeValue.builder().dataType("String").stringValue(value).build()));
        return values;
    }

    /** A received message's String attributes (others, none of ours, left out). */
    public static Map<String, String> attributeStrings(Map<String, MessageAttributeValue> values) {
        var strings = new LinkedHashMap<String, String>();
        values.forEach((name, value) -> {
            if (value.stringValue() != null) strings.put(name, value.stringValue());
        });
        return strings;
    }

    /** A received message's receives so far (1 when the event does not say: invoked by hand). */
    public static int receiveCount(SQSEvent.SQSMessage message) {
        try {
            return Math.max(1, Integer.parseInt(message.getAttributes().get("ApproximateReceiveCount")));
        } catch (RuntimeException e) {
            return 1;
        }
    }

    /**
     * When a received message reached its queue (SentTimestamp, epoch ms: for an event, its publish time near
     * enough), or null when the event does not say (invoked by hand).
     */
    public static Long sentAt(SQSEvent.SQSMessage message) {
        try {
            return Long.valueOf(message.getAttributes().get("SentTimestamp"));
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void sendBatch(QueueDef queue, String url, List<QueueMessage> batch) {
        Map<String, SendMessageBatchRequestEntry> pending = new LinkedHashMap<>(); // retried in the batch's order
        for (int i = 0; i < batch.size(); i++) {
            QueueMessage m = batch.get(i);
            var entry = SendMessageBatchRequestEntry.builder().id(Integer.toString(i)).messageBody(m.body());
            if (queue.fifo()) entry.messageGroupId(m.groupId()).messageDeduplicationId(m.deduplicationId());
            if (!m.attributes().isEmpty()) entry.messageAttributes(attributeValues(m.attributes()));
            if (m.delaySeconds() > 0) {
                // SQS refuses the whole batch for it; say which message and why instead
                if (queue.fifo()) throw new IllegalArgumentException("FIFO queue " + queue.name() + " takes no per-message delay");
                entry.delaySeconds(m.delaySeconds());
            }
            pending.put(Integer.toString(i), entry.build());
        }
        // the send's time in all, its retries of entries SQS failed included (with a call timeout)
        long deadline = callTimeout == null ? 0 : System.nanoTime() + callTimeout.toNanos();
        for (int attempt = 1; !pending.isEmpty(); attempt++) {
            List<SendMessageBatchRequestEntry> entries = List.copyOf(pending.values());
            Duration left = callTimeout == null ? null : Duration.ofNanos(Math.max(1_000_000L, deadline - System.nanoTime()));
            SendMessageBatchResponse response = sqs.get().sendMessageBatch(b -> {
                b.queueUrl(url).entries(entries);
                if (left != null) b.overrideConfiguration(o -> o.apiCallTimeout(left));
            });
            response.successful().forEach(ok -> pending.remove(ok.id()));
            if (pending.isEmpty()) return;
            List<String> senderFaults = response.failed().stream().filter(BatchResultErrorEntry::senderFault)
                    .map(f -> f.id() + ": " + f.code()).toList();
            boolean outOfTime = callTimeout != null && System.nanoTime() - deadline > 0;
            if (!senderFaults.isEmpty()) {
                throw new IllegalStateException("SQS refused " + pending.size() + " messages for " + queue.name() + " " + senderFaults);
            }
            if (attempt >= MAX_ATTEMPTS || outOfTime) {
                // failed on SQS's side each time: the same send shortly after may go
                throw new RetriesSpent("SQS failed " + pending.size() + " messages for " + queue.name() + " after retries");
            }
            try {
                Thread.sleep(50L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while sending to " + queue.name(), e);
            }
        }
    }
}
