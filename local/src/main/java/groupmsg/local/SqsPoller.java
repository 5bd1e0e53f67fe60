package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

/**
 * A Lambda SQS event source mapping with {@code ReportBatchItemFailures}: {@code concurrency} pollers each long-poll
 * the queue for up to {@code batchSize} messages, invoke the consumer with the batch, and delete the messages that
 * succeeded. With a batching window, a poller that got a first message keeps receiving (10 at a time, SQS's limit)
 * until the batch is full or the window since that message is over, as Lambda gathers batches over 10.
 *
 * <p>Pollers scale with the backlog, as Lambda's do: one poller (the scout) always polls; when it receives a batch
 * it wakes a parked poller to scout on and processes the batch; a poller back from a batch polls again and parks
 * when it finds the queue empty. An idle queue costs one long poll a second instead of one per poller (the runtime
 * had about 75 pollers then: idle, they made 75 ReceiveMessage calls a second, a fifth of ElasticMQ's CPU during a
 * benchmark). Failed messages are left alone: they come back after the visibility timeout, and after
 * {@code maxReceiveCount} receives the queue's redrive policy moves them to the dead-letter queue, as in AWS.
 *
 * <p>The batch response is read by Lambda's rules: no response, an empty one or an empty/null
 * {@code batchItemFailures} means all succeeded; an unparseable response, or an {@code itemIdentifier} that is
 * empty or not a message of the batch, means the whole batch failed; a function error fails the whole batch.
 */
public final class SqsPoller implements AutoCloseable {
    /** Long-poll wait: short so that stopping is quick, long enough not to spin. */
    private static final int WAIT_SECONDS = 1;
    /** ReceiveMessage returns and DeleteMessageBatch takes at most 10 entries. */
    private static final int SQS_BATCH = 10;
    /** Pause between receives that found nothing while a batching window is open. */
    private static final long WINDOW_POLL_MILLIS = 100;

    private final SqsClient sqs;
    private final ProvisionedQueue queue;
    private final int batchSize;
    private final long batchingWindowMillis;
    private final int concurrency;
    private final LocalFunction consumer;
    private final String region;
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicBoolean receiveFailing = new AtomicBoolean();
    private final ReentrantLock scoutLock = new ReentrantLock();
    private final Condition scoutWanted = scoutLock.newCondition();
    /** Whether a poller is scouting (guarded by {@link #scoutLock}). */
    private boolean scouting;
    private final List<Thread> threads = new ArrayList<>();

    public SqsPoller(SqsClient sqs, ProvisionedQueue queue, int batchSize, int concurrency, LocalFunction consumer,
                     String region) {
        this(sqs, queue, batchSize, Duration.ZERO, concurrency, consumer, region);
    }

    public SqsPoller(SqsClient sqs, ProvisionedQueue queue, int batchSize, Duration batchingWindow, int concurrency,
                     LocalFunction consumer, String region) {
        int maxBatch = batchingWindow.isZero() ? SQS_BATCH : 10_000;
        if (batchSize < 1 || batchSize > maxBatch) throw new IllegalArgumentException("batch size must be 1.." + maxBatch);
        if (concurrency < 1) throw new IllegalArgumentException("concurrency must be >= 1");
        this.sqs = sqs;
        this.queue = queue;
        this.batchSize = batchSize;
        this.batchingWindowMillis = batchingWindow.toMillis();
        this.concurrency = concurrency;
        this.consumer = consumer;
        this.region = region;
    }

    public synchronized SqsPoller start() {
        if (!running.compareAndSet(false, true)) return this;
        for (int i = 1; i <= concurrency; i++) {
            threads.add(Thread.ofVirtual().name("sqs-" + queue.spec().name() + "-" + i).start(this::poll));
        }
        return this;
    }

    private void poll() {
        boolean scout = false;
        boolean backFromBatch = false;
        try {
            while (running.get()) {
                if (!scout) {
                    Scouting next = nextScouting(backFromBatch);
                    if (next == Scouting.PARKED) continue;
                    scout = next == Scouting.SCOUT;
                }
                List<Message> messages;
                try {
                    messages = receive(Math.min(SQS_BATCH, batchSize), WAIT_SECONDS);
                    if (!messages.isEmpty() && batchSize > SQS_BATCH) messages = gather(messages);
                    if (receiveFailing.compareAndSet(true, false)) {
                        LocalLog.info("sqs_receive_recovered", Map.of("queue", queue.spec().queueName()));
                    }
                } catch (RuntimeException e) {
                    if (!running.get()) return;
                    // Log the first failure of a run only: a stopped SQS would otherwise print a line a second.
                    if (receiveFailing.compareAndSet(false, true)) {
                        LocalLog.warn("sqs_receive_failed", Map.of("queue", queue.spec().queueName()), e);
                    }
                    pause();
                    continue;
                }
                backFromBatch = !messages.isEmpty();
                if (messages.isEmpty()) continue;
                if (scout) {
                    handOverScouting();
                    scout = false;
                }
                process(messages);
            }
        } finally {
            // A poller that dies or stops while scouting must not leave the others parked for good.
            if (scout) handOverScouting();
        }
    }

    private enum Scouting { SCOUT, ONE_MORE_POLL, PARKED }

    /**
     * What a poller that is not the scout does next: scout if nobody does, poll once more if it just came back from a
     * batch (more may be waiting), else park until scouting is handed over (or a second passes).
     */
    private Scouting nextScouting(boolean backFromBatch) {
        scoutLock.lock();
        try {
            if (!scouting) {
                scouting = true;
                return Scouting.SCOUT;
            }
            if (backFromBatch) return Scouting.ONE_MORE_POLL;
            scoutWanted.await(WAIT_SECONDS, TimeUnit.SECONDS);
            return Scouting.PARKED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running.set(false);
            return Scouting.PARKED;
        } finally {
            scoutLock.unlock();
        }
    }

    /** The scout got a batch: a parked poller scouts on while this one processes it. */
    private void handOverScouting() {
        scoutLock.lock();
        try {
            scouting = false;
            scoutWanted.signal();
        } finally {
            scoutLock.unlock();
        }
    }

    /** Wakes parked pollers so that they see {@link #running} is off. */
    private void wakeAll() {
        scoutLock.lock();
        try {
            scoutWanted.signalAll();
        } finally {
            scoutLock.unlock();
        }
    }

    private List<Message> receive(int max, int waitSeconds) {
        return sqs.receiveMessage(r -> r.queueUrl(queue.url())
                .maxNumberOfMessages(max)
                .waitTimeSeconds(waitSeconds)
                .messageSystemAttributeNamesWithStrings("All")
                .messageAttributeNames("All")).messages();
    }

    /** Adds to a first receive until the batch is full or the batching window since it is over. */
    private List<Message> gather(List<Message> first) {
        List<Message> batch = new ArrayList<>(first);
        long deadline = System.nanoTime() + batchingWindowMillis * 1_000_000;
        while (batch.size() < batchSize && System.nanoTime() < deadline && running.get()) {
            List<Message> more;
            try {
                more = receive(Math.min(SQS_BATCH, batchSize - batch.size()), 0);
            } catch (SdkException e) {
                break; // process what is in hand; the next receive reports the trouble
            }
            if (!more.isEmpty()) {
                batch.addAll(more);
                continue;
            }
            try {
                Thread.sleep(WINDOW_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break; // stopping: the batch in hand is still processed
            }
        }
        return batch;
    }

    /**
     * Whether nothing of this queue is being handled or ready to be: no batch in hand, no message visible, and none
     * invisible but those that failed and wait out their visibility timeout. Delayed messages do not count: a retry
     * or a paced place later is no work now (and earlier tests' paced sends would keep the shared runtime busy).
     * A test's "nothing more happens" check waits for this instead of sleeping (see LocalRuntime#awaitIdle).
     */
    boolean idle() {
        if (batchesInHand.get() > 0) return false;
        Map<QueueAttributeName, String> counts = sqs.getQueueAttributes(r -> r.queueUrl(queue.url()).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        return batchesInHand.get() == 0
                && Integer.parseInt(counts.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)) == 0
                && Integer.parseInt(counts.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE))
                <= failedWhileRunning.size();
    }

    /** What {@link #idle()} found busy, for a message. */
    String describe() {
        return queue.spec().queueName() + " (batches in hand " + batchesInHand.get() + ", failed and waiting "
                + failedWhileRunning.size() + ")";
    }

    private final AtomicInteger batchesInHand = new AtomicInteger();

    /** Invokes the consumer on one batch and deletes what it did not report as failed. */
    void process(List<Message> messages) {
        batchesInHand.incrementAndGet();
        try {
            processInHand(messages);
        } finally {
            batchesInHand.decrementAndGet();
        }
    }

    private void processInHand(List<Message> messages) {
        messages.forEach(m -> failedWhileRunning.remove(m.messageId())); // received again: its old handle is spent
        String response;
        try {
            response = consumer.invoke(json(SqsEvents.event(messages, queue.arn(), region)));
        } catch (FunctionError e) {
            if (!running.get() && e.getCause() instanceof InterruptedException) {
                // Stopping: the batch wound down; visible again at once, so the stop's snapshot keeps it.
                LocalLog.info("sqs_batch_stopped", Map.of("queue", queue.spec().queueName(), "function", consumer.name(),
                        "messages", messages.size()));
                makeVisible(messages);
                return;
            }
            LocalLog.error("sqs_batch_failed", Map.of("queue", queue.spec().queueName(), "function", consumer.name(),
                    "messages", messages.size(), "kind", e.kind().name()), e.getCause() != null ? e.getCause() : e);
            leftForRetry(messages);
            return;
        }
        Set<String> ids = messages.stream().map(Message::messageId).collect(Collectors.toSet());
        Set<String> failed = failedIds(response, ids);
        if (failed == null) {
            LocalLog.warn("sqs_batch_response_invalid", Map.of("queue", queue.spec().queueName(),
                    "function", consumer.name(), "response", response.length() > 300 ? response.substring(0, 300) : response));
            leftForRetry(messages);
            return;
        }
        if (!failed.isEmpty()) {
            LocalLog.info("sqs_batch_partial_failure", Map.of("queue", queue.spec().queueName(),
                    "failed", failed.size(), "messages", messages.size()));
        }
        delete(messages.stream().filter(m -> !failed.contains(m.messageId())).toList());
        List<Message> failedMessages = messages.stream().filter(m -> failed.contains(m.messageId())).toList();
        if (!running.get()) {
            makeVisible(failedMessages);
        } else {
            leftForRetry(failedMessages);
        }
    }

    /**
     * Messages that failed while running wait out their visibility timeout before SQS gives them again; a stop within
     * it would leave them invisible to the stop's snapshot, and ElasticMQ forgets them. Remembered (the latest
     * {@value #REMEMBERED_FAILURES} at most) to be made visible when the poller stops.
     */
    private void leftForRetry(List<Message> failed) {
        for (Message m : failed) {
            if (failedWhileRunning.size() >= REMEMBERED_FAILURES) break;
            failedWhileRunning.put(m.messageId(), m);
        }
    }

    private static final int REMEMBERED_FAILURES = 10_000;
    private final Map<String, Message> failedWhileRunning = new ConcurrentHashMap<>();

    /** Ends the invisibility of messages left undeleted while stopping, so the stop's snapshot (QueueSnapshot) has them. */
    private void makeVisible(List<Message> left) {
        // the poller may have been interrupted to stop it: its requests must still go out (the SDK aborts otherwise)
        boolean interrupted = Thread.interrupted();
        try {
            changeVisibility(left);
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private void changeVisibility(List<Message> left) {
        for (int from = 0; from < left.size(); from += SQS_BATCH) {
            List<Message> chunk = left.subList(from, Math.min(left.size(), from + SQS_BATCH));
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id(Integer.toString(i))
                        .receiptHandle(chunk.get(i).receiptHandle()).visibilityTimeout(0).build());
            }
            try {
                sqs.changeMessageVisibilityBatch(r -> r.queueUrl(queue.url()).entries(entries));
            } catch (SdkException e) {
                LocalLog.warn("sqs_release_failed", Map.of("queue", queue.spec().queueName()), e);
            }
        }
    }

    /**
     * The message ids the response reports as failed; null when the response makes the whole batch a failure.
     */
    static Set<String> failedIds(String response, Set<String> batchIds) {
        Object parsed;
        try {
            parsed = JSON.std.anyFrom(response);
        } catch (IOException e) {
            return null;
        }
        if (parsed == null) return Set.of();
        if (!(parsed instanceof Map<?, ?> map)) return null;
        Object failures = map.get("batchItemFailures");
        if (failures == null) return Set.of();
        if (!(failures instanceof List<?> list)) return null;
        Set<String> failed = new HashSet<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> failure)) return null;
            if (!(failure.get("itemIdentifier") instanceof String id) || id.isEmpty() || !batchIds.contains(id)) {
                return null;
            }
            failed.add(id);
        }
        return failed;
    }

    private void delete(List<Message> done) {
        for (int from = 0; from < done.size(); from += SQS_BATCH) {
            List<Message> chunk = done.subList(from, Math.min(done.size(), from + SQS_BATCH));
            List<DeleteMessageBatchRequestEntry> entries = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(DeleteMessageBatchRequestEntry.builder()
                        .id(Integer.toString(i)).receiptHandle(chunk.get(i).receiptHandle()).build());
            }
            try {
                DeleteMessageBatchResponse result = sqs.deleteMessageBatch(r -> r.queueUrl(queue.url()).entries(entries));
                if (result.hasFailed() && !result.failed().isEmpty()) {
                    LocalLog.warn("sqs_delete_failed", Map.of("queue", queue.spec().queueName(),
                            "failed", result.failed().size()));
                }
            } catch (SdkException e) {
                // Not deleted means delivered again after the visibility timeout: at-least-once, as in AWS.
                LocalLog.warn("sqs_delete_failed", Map.of("queue", queue.spec().queueName()), e);
            }
        }
    }

    private void pause() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running.set(false);
        }
    }

    private static String json(Object value) {
        try {
            return JSON.std.asString(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Asks the pollers to stop after the receive or batch in hand, without waiting (see {@link #stop}). */
    public void requestStop() {
        running.set(false);
        wakeAll();
    }

    /**
     * Stops polling. Pollers finish the batch in hand (what is not deleted is redelivered later) and are
     * interrupted if that takes longer than {@code grace}; an interrupted poller then has up to
     * {@link #WIND_DOWN} to wind down (a delivery job records what it sent and gives back what it did not) before
     * the runtime closes the clients it writes with.
     */
    public synchronized void stop(Duration grace) {
        running.set(false);
        wakeAll();
        long deadline = System.nanoTime() + grace.toNanos();
        List<Thread> interrupted = new ArrayList<>();
        for (Thread thread : threads) {
            long left = deadline - System.nanoTime();
            try {
                if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
                    thread.interrupt();
                    interrupted.add(thread);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                thread.interrupt();
            }
        }
        long windDownEnds = System.nanoTime() + WIND_DOWN.toNanos();
        for (Thread thread : interrupted) {
            long left = windDownEnds - System.nanoTime();
            try {
                if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
                    LocalLog.warn("sqs_poller_not_stopped", Map.of("queue", queue.spec().queueName(), "thread", thread.getName()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        threads.clear();
        // Failed shortly before the stop: visible again at once, so the stop's snapshot keeps them. One whose timeout
        // ran out meanwhile is visible anyway (its old handle may be refused: harmless).
        List<Message> waiting = List.copyOf(failedWhileRunning.values());
        failedWhileRunning.clear();
        if (!waiting.isEmpty()) {
            makeVisible(waiting);
            LocalLog.info("sqs_failed_made_visible", Map.of("queue", queue.spec().queueName(), "messages", waiting.size()));
        }
    }

    /** How long an interrupted poller may take to wind down: its function's own (see {@link LocalFunction#WIND_DOWN}). */
    static final Duration WIND_DOWN = LocalFunction.WIND_DOWN.plusSeconds(1);

    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }
}
