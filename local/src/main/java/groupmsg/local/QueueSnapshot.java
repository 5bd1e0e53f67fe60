package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the queues held when the runtime stopped, kept beside the tables in {@code DATA_DIR} so that the next start
 * sends it again: ElasticMQ keeps its queues in memory, so a STOP whose confirmation job was waiting, an import's
 * parts or a conversation's relays were lost with a stop. Only messages that can be received are kept: a job delayed
 * for its place in a line's waiting line is not, and the restart's sweep enqueues its recipients again instead
 * ({@code MessageMaintenance#sweepAfterJobsLost}). A {@code kill -9} keeps nothing.
 */
final class QueueSnapshot {
    static final String FILE_NAME = "queues-at-stop.jsonl";

    private QueueSnapshot() {
    }

    static Path pathIn(Path dataDir) {
        return dataDir.resolve(FILE_NAME);
    }

    /**
     * Receives (and deletes) everything each queue holds and writes it to {@code file}, one JSON line per message in
     * the order received (a FIFO group's order kept); returns how many. Deleting is what lets a FIFO queue hand out a
     * group's next message.
     */
    static int save(SqsClient sqs, List<ProvisionedQueue> queues, Path file) {
        int saved = 0;
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try (BufferedWriter out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
            for (ProvisionedQueue queue : queues) {
                while (true) {
                    List<Message> messages = sqs.receiveMessage(r -> r.queueUrl(queue.url()).maxNumberOfMessages(10)
                            .waitTimeSeconds(0).visibilityTimeout(60)
                            .messageSystemAttributeNames(MessageSystemAttributeName.MESSAGE_GROUP_ID,
                                    MessageSystemAttributeName.MESSAGE_DEDUPLICATION_ID)).messages();
                    if (messages.isEmpty()) break;
                    List<DeleteMessageBatchRequestEntry> done = new ArrayList<>();
                    for (Message m : messages) {
                        var line = new LinkedHashMap<String, Object>();
                        line.put("queue", queue.spec().name());
                        line.put("body", m.body());
                        line.put("groupId", m.attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID));
                        line.put("deduplicationId", m.attributes().get(MessageSystemAttributeName.MESSAGE_DEDUPLICATION_ID));
                        out.write(JSON.std.asString(line));
                        out.newLine();
                        done.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(done.size()))
                                .receiptHandle(m.receiptHandle()).build());
                        saved++;
                    }
                    out.flush();
                    sqs.deleteMessageBatch(r -> r.queueUrl(queue.url()).entries(done));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            if (saved == 0) {
                Files.deleteIfExists(partial);
            } else {
                Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return saved;
    }

    /** A FIFO message's deduplication id for its restored copy (SQS takes at most 128 characters). */
    static String restoredId(String original, long restoredAt) {
        String suffix = "~r" + restoredAt;
        String base = original == null ? "" : original;
        return (base.length() + suffix.length() > 128 ? base.substring(0, 128 - suffix.length()) : base) + suffix;
    }

    /** Sends what {@link #save} wrote back to the queues (by logical name), then deletes the file; returns how many. */
    static int restore(SqsClient sqs, Map<String, ProvisionedQueue> queues, Path file) {
        if (!Files.exists(file)) return 0;
        Map<ProvisionedQueue, List<SendMessageBatchRequestEntry>> byQueue = new LinkedHashMap<>();
        int restored = 0;
        long restoredAt = System.currentTimeMillis();
        try {
            for (String text : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (text.isBlank()) continue;
                Map<String, Object> line = JSON.std.mapFrom(text);
                ProvisionedQueue queue = queues.get((String) line.get("queue"));
                if (queue == null) continue; // a queue this build no longer has
                var entry = SendMessageBatchRequestEntry.builder().id(Integer.toString(restored))
                        .messageBody((String) line.get("body"));
                if (queue.spec().fifo()) {
                    // a new id: a queue that still remembers the first send's would drop this one as its duplicate
                    entry.messageGroupId((String) line.get("groupId"))
                            .messageDeduplicationId(restoredId((String) line.get("deduplicationId"), restoredAt));
                }
                byQueue.computeIfAbsent(queue, q -> new ArrayList<>()).add(entry.build());
                restored++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byQueue.forEach((queue, entries) -> {
            for (int from = 0; from < entries.size(); from += 10) {
                var chunk = entries.subList(from, Math.min(entries.size(), from + 10));
                var result = sqs.sendMessageBatch(r -> r.queueUrl(queue.url()).entries(chunk));
                if (result.hasFailed() && !result.failed().isEmpty()) {
                    throw new IllegalStateException(result.failed().size() + " saved messages could not be sent to "
                            + queue.spec().queueName() + ": " + result.failed().getFirst().message());
                }
            }
        });
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return restored;
    }
}
