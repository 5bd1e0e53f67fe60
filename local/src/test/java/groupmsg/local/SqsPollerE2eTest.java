package groupmsg.local;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import groupmsg.local.bench.RequestCounter;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SQS event source against the runtime's ElasticMQ, with test-only consumers on test queues (short
 * visibility timeouts) so the real workers are not involved.
 */
@ExtendWith(LocalRuntimeExtension.class)
class SqsPollerE2eTest {
    private static final FunctionSpec CONSUMER = new FunctionSpec("test-consumer", 10, 128);

    /** Fails the messages its predicate picks (reporting them in batchItemFailures) and records every record. */
    static final class RecordingConsumer implements RequestHandler<SQSEvent, SQSBatchResponse> {
        final List<SQSEvent.SQSMessage> seen = new CopyOnWriteArrayList<>();
        private final Predicate<SQSEvent.SQSMessage> fails;

        RecordingConsumer(Predicate<SQSEvent.SQSMessage> fails) {
            this.fails = fails;
        }

        @Override
        public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
            List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
            for (SQSEvent.SQSMessage message : event.getRecords()) {
                seen.add(message);
                if (fails.test(message)) failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
            }
            return new SQSBatchResponse(failures);
        }

        long count(String body) {
            return seen.stream().filter(m -> m.getBody().equals(body)).count();
        }
    }

    /** Throws for any batch holding a message it has not seen before; processes (and returns no failures) otherwise. */
    static final class ThrowsOnFirstSight implements RequestHandler<SQSEvent, SQSBatchResponse> {
        final Set<String> thrownFor = ConcurrentHashMap.newKeySet();
        final List<String> processed = new CopyOnWriteArrayList<>();

        @Override
        public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
            boolean firstSight = false;
            for (SQSEvent.SQSMessage m : event.getRecords()) firstSight |= thrownFor.add(m.getBody());
            if (firstSight) throw new IllegalStateException("transient failure");
            event.getRecords().forEach(m -> processed.add(m.getBody()));
            return new SQSBatchResponse(List.of());
        }
    }

    private static ProvisionedQueue testQueue(LocalRuntime runtime, boolean fifo, int maxReceiveCount) {
        var spec = new QueueSpec("poller-test-" + UUID.randomUUID().toString().substring(0, 8), fifo, maxReceiveCount, 1, 1);
        return new Provisioner(runtime.wiring().dynamo(), runtime.wiring().sqs()).ensureQueue(spec);
    }

    private static SqsPoller poller(LocalRuntime runtime, ProvisionedQueue queue, RequestHandler<?, ?> consumer) {
        var function = LocalFunction.of(CONSUMER, consumer, runtime.settings().region(), Clock.systemUTC());
        return new SqsPoller(runtime.wiring().sqs(), queue, 10, 2, function, runtime.settings().region()).start();
    }

    @Test
    void deletesSucceededMessagesAndRedrivesFailedOnesToTheDeadLetterQueue(LocalRuntime runtime) {
        SqsClient sqs = runtime.wiring().sqs();
        ProvisionedQueue queue = testQueue(runtime, false, 2);
        var consumer = new RecordingConsumer(m -> m.getBody().startsWith("fail"));
        try (var ignored = poller(runtime, queue, consumer)) {
            for (String body : List.of("ok-1", "fail-1", "ok-2")) {
                sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody(body).messageAttributes(Map.of(
                        "kind", MessageAttributeValue.builder().dataType("String").stringValue("test").build(),
                        "blob", MessageAttributeValue.builder().dataType("Binary")
                                .binaryValue(SdkBytes.fromByteArray(new byte[]{1, 2, 3})).build())));
            }
            List<Message> deadLettered = awaitMessages(sqs, queue.dlqUrl(), 1, Duration.ofSeconds(30));

            assertThat(deadLettered).extracting(Message::body).containsExactly("fail-1");
            assertThat(consumer.count("ok-1")).as("succeeded, deleted, never redelivered").isEqualTo(1);
            assertThat(consumer.count("ok-2")).isEqualTo(1);
            assertThat(consumer.count("fail-1")).as("delivered maxReceiveCount times").isEqualTo(2);
            assertThat(consumer.seen.stream().filter(m -> m.getBody().equals("fail-1"))
                    .map(m -> m.getAttributes().get("ApproximateReceiveCount")))
                    .containsExactly("1", "2");
            // The batch's successes are deleted after their handler returned: one not deleted would come back after
            // the queue's 1 s visibility timeout. Judged by what is received, not by ElasticMQ's approximate counts,
            // which CI saw report one message "not visible" for over 10 s with none left to receive.
            sleep(3_000);
            assertThat(leftInQueue(sqs, queue.url())).as("nothing left to receive").isEmpty();
            assertThat(consumer.seen.stream().map(m -> m.getBody() + "#" + m.getAttributes().get("ApproximateReceiveCount")).toList())
                    .as("each success handed once, the failure twice").containsExactlyInAnyOrder("ok-1#1", "ok-2#1", "fail-1#1", "fail-1#2");
        }

        SQSEvent.SQSMessage record = consumer.seen.get(0);
        assertThat(record.getEventSource()).isEqualTo("aws:sqs");
        assertThat(record.getEventSourceArn()).isEqualTo(queue.arn()).startsWith("arn:aws:sqs:us-east-1:000000000000:");
        assertThat(record.getAwsRegion()).isEqualTo("us-east-1");
        assertThat(record.getMessageId()).isNotBlank();
        assertThat(record.getReceiptHandle()).isNotBlank();
        assertThat(record.getMd5OfBody()).isNotBlank();
        assertThat(record.getAttributes()).containsKeys("ApproximateReceiveCount", "SentTimestamp",
                "ApproximateFirstReceiveTimestamp");
        assertThat(record.getMessageAttributes().get("kind").getStringValue()).isEqualTo("test");
        assertThat(record.getMessageAttributes().get("kind").getDataType()).isEqualTo("String");
        var blob = record.getMessageAttributes().get("blob").getBinaryValue();
        byte[] bytes = new byte[blob.remaining()];
        blob.get(bytes);
        assertThat(bytes).containsExactly(1, 2, 3);
    }

    /** Records the size of every batch it is invoked with. */
    static final class BatchSizes implements RequestHandler<SQSEvent, SQSBatchResponse> {
        final List<Integer> sizes = new CopyOnWriteArrayList<>();
        final Set<String> bodies = ConcurrentHashMap.newKeySet();

        @Override
        public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
            sizes.add(event.getRecords().size());
            event.getRecords().forEach(m -> bodies.add(m.getBody()));
            return new SQSBatchResponse(List.of());
        }
    }

    @Test
    void withABatchingWindowBatchesOverTenAreGatheredAndAllDeleted(LocalRuntime runtime) {
        SqsClient sqs = runtime.wiring().sqs();
        // a visibility timeout well past the window: nothing in a gathered batch may come back while it is gathered
        ProvisionedQueue queue = new Provisioner(runtime.wiring().dynamo(), sqs).ensureQueue(
                new QueueSpec("poller-test-" + UUID.randomUUID().toString().substring(0, 8), false, 5, 30, 1));
        for (int i = 0; i < 60; i++) {
            int n = i;
            sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("m-" + n));
        }
        var consumer = new BatchSizes();
        var function = LocalFunction.of(CONSUMER, consumer, runtime.settings().region(), Clock.systemUTC());
        try (var ignored = new SqsPoller(sqs, queue, 25, Duration.ofSeconds(1), 1, function, runtime.settings().region()).start()) {
            await(() -> consumer.bodies.size() == 60 && queueDepth(sqs, queue.url()) == 0, Duration.ofSeconds(30));
        }
        // 60 waiting messages, at most 25 per invocation: gathered past SQS's 10 a receive, never more than asked for
        // (how full each batch is depends on how many receives the window's second allows a busy machine)
        assertThat(consumer.sizes).allSatisfy(size -> assertThat(size).isBetween(1, 25));
        assertThat(consumer.sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(60);
        assertThat(consumer.sizes).anySatisfy(size -> assertThat(size).isGreaterThan(10));
        assertThat(awaitMessages(sqs, queue.dlqUrl(), 0, Duration.ZERO)).isEmpty();
    }

    /**
     * Takes 300 ms per batch and records how many batches it was running at once, at most. Until four have run at
     * once, each also waits up to 2 s for the others, so pollers that do run side by side are seen to, however slowly a
     * busy machine wakes them (one at a time, each would wait its 2 s alone: the test's 30 s would run out).
     */
    static final class SlowConsumer implements RequestHandler<SQSEvent, SQSBatchResponse> {
        static final int SIDE_BY_SIDE = 4;
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger mostAtOnce = new AtomicInteger();
        final Set<String> bodies = ConcurrentHashMap.newKeySet();

        @Override
        public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
            mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                for (long until = System.currentTimeMillis() + 2_000;
                     mostAtOnce.get() < SIDE_BY_SIDE && System.currentTimeMillis() < until; ) {
                    Thread.sleep(10);
                }
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            event.getRecords().forEach(m -> bodies.add(m.getBody()));
            running.decrementAndGet();
            return new SQSBatchResponse(List.of());
        }
    }

    @Test
    void anIdleQueueCostsOneLongPollASecondAndABacklogIsTakenSideBySide(LocalRuntime runtime) {
        var requests = new RequestCounter();
        SqsClient counted = runtime.wiringWith(requests).sqs();
        ProvisionedQueue queue = new Provisioner(runtime.wiring().dynamo(), counted).ensureQueue(
                new QueueSpec("poller-test-" + UUID.randomUUID().toString().substring(0, 8), false, 5, 30, 1));
        var consumer = new SlowConsumer();
        var function = LocalFunction.of(CONSUMER, consumer, runtime.settings().region(), Clock.systemUTC());
        try (var ignored = new SqsPoller(counted, queue, 1, 8, function, runtime.settings().region()).start()) {
            requests.reset();
            sleep(3000);
            // one scout long-polling (1 s waits), not eight pollers: about 3 receives, where eight made about 24
            assertThat(requests.snapshot().getOrDefault("runtime Sqs ReceiveMessage", 0L)).isBetween(1L, 6L);

            for (int batch = 0; batch < 3; batch++) {
                var entries = new ArrayList<SendMessageBatchRequestEntry>();
                for (int i = 0; i < 8; i++) {
                    entries.add(SendMessageBatchRequestEntry.builder().id("e" + i).messageBody("m-" + batch + "-" + i).build());
                }
                counted.sendMessageBatch(r -> r.queueUrl(queue.url()).entries(entries));
            }
            await(() -> consumer.bodies.size() == 24 && queueDepth(counted, queue.url()) == 0, Duration.ofSeconds(30));
        }
        // the backlog woke the parked pollers: batches ran side by side, never more than the concurrency
        assertThat(consumer.mostAtOnce.get()).isBetween(SlowConsumer.SIDE_BY_SIDE, 8);
    }

    @Test
    void withoutABatchingWindowBatchesAreAtMostTen(LocalRuntime runtime) {
        var function = LocalFunction.of(CONSUMER, new BatchSizes(), runtime.settings().region(), Clock.systemUTC());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new SqsPoller(runtime.wiring().sqs(), testQueue(runtime, false, 5),
                11, 1, function, runtime.settings().region())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aBatchWhoseHandlerThrowsIsNotDeletedAndComesBack(LocalRuntime runtime) {
        SqsClient sqs = runtime.wiring().sqs();
        ProvisionedQueue queue = testQueue(runtime, false, 5);
        var consumer = new ThrowsOnFirstSight();
        List<String> processed = consumer.processed;
        try (var ignored = poller(runtime, queue, consumer)) {
            sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("a"));
            sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("b"));
            await(() -> processed.containsAll(List.of("a", "b")) && queueDepth(sqs, queue.url()) == 0, Duration.ofSeconds(30));
        }
        assertThat(processed).containsExactlyInAnyOrder("a", "b");
        assertThat(awaitMessages(sqs, queue.dlqUrl(), 0, Duration.ZERO)).isEmpty();
    }

    /**
     * A message that failed shortly before a stop waits out its visibility timeout, and ElasticMQ forgets it with the
     * stop: the stop makes it visible again at once, so the runtime's snapshot of the queues keeps it.
     */
    @Test
    void aMessageThatFailedJustBeforeTheStopIsVisibleAgainWhenThePollerStops(LocalRuntime runtime) {
        SqsClient sqs = runtime.wiring().sqs();
        var spec = new QueueSpec("poller-test-" + UUID.randomUUID().toString().substring(0, 8), false, 5, 120, 1);
        ProvisionedQueue queue = new Provisioner(runtime.wiring().dynamo(), sqs).ensureQueue(spec);
        var consumer = new ThrowsOnFirstSight();
        var poller = poller(runtime, queue, consumer);
        sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("failed once"));
        await(() -> consumer.thrownFor.contains("failed once"), Duration.ofSeconds(30));
        sleep(300); // the failure recorded
        assertThat(sqs.receiveMessage(r -> r.queueUrl(queue.url()).waitTimeSeconds(0)).messages())
                .as("invisible for its 120 s").isEmpty();

        poller.stop(Duration.ofSeconds(5));

        var visible = sqs.receiveMessage(r -> r.queueUrl(queue.url()).waitTimeSeconds(2)).messages();
        assertThat(visible).extracting(Message::body).containsExactly("failed once");
        assertThat(consumer.processed).isEmpty();
    }

    @Test
    void fifoRecordsCarryGroupDeduplicationAndSequence(LocalRuntime runtime) {
        SqsClient sqs = runtime.wiring().sqs();
        ProvisionedQueue queue = testQueue(runtime, true, 2);
        var consumer = new RecordingConsumer(m -> false);
        try (var ignored = poller(runtime, queue, consumer)) {
            sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("first").messageGroupId("grp_1")
                    .messageDeduplicationId("dedup-1"));
            await(() -> consumer.count("first") == 1, Duration.ofSeconds(20));
        }
        var attributes = consumer.seen.get(0).getAttributes();
        assertThat(attributes).containsEntry("MessageGroupId", "grp_1")
                .containsEntry("MessageDeduplicationId", "dedup-1")
                .containsKey("SequenceNumber");
        assertThat(consumer.seen.get(0).getEventSourceArn()).endsWith(".fifo");
    }

    /** Receives until {@code expected} messages came or the time is up (deletes nothing). */
    private static List<Message> awaitMessages(SqsClient sqs, String url, int expected, Duration patience) {
        List<Message> received = new ArrayList<>();
        long deadline = System.nanoTime() + patience.toNanos();
        do {
            received.addAll(sqs.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10).waitTimeSeconds(1)
                    .visibilityTimeout(30)).messages());
        } while (received.size() < expected && System.nanoTime() < deadline);
        return received;
    }

    /** What a failed depth check found, for its message: bodies with their receive counts. */
    private static List<String> leftInQueue(SqsClient sqs, String url) {
        return sqs.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10).waitTimeSeconds(2)
                        .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT)).messages().stream()
                .map(m -> m.body() + "#" + m.attributes().get(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT)).toList();
    }

    private static int queueDepth(SqsClient sqs, String url) {
        var attributes = sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE))
                .attributes();
        return Integer.parseInt(attributes.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                + Integer.parseInt(attributes.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void await(BooleanSupplier condition, Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within " + patience);
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
