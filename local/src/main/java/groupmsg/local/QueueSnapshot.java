package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.platform.queue.SqsQueueSender;
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
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the queues held when the runtime stopped, kept beside the tables in {@code DATA_DIR} so that the next start
 * sends it again: ElasticMQ keeps its queues in memory, so a STOP whose confirmation job was waiting, an import's
 * parts or a conversation's relays were lost with a stop. Only messages that can be received are kept, with their
 * message attributes: a job delayed for its place in a line's waiting line is not, and the restart's sweep enqueues its
 * recipients again instead ({@code MessageMaintenance#sweepAfterJobsLost}); nor is a webhook event's copy waiting for
 * its next pass (the event is not sent to its account's webhooks again). Each dead-letter queue is kept too (to itself), as AWS keeps one for
 * 14 days, so what the README says to redrive is still there after a restart. A {@code kill -9} keeps nothing.
 */
final class QueueSnapshot {
    static final String FILE_NAME = "queues-at-stop.jsonl";

    private QueueSnapshot() {
    }

    static Path pathIn(Path dataDir) {
        return dataDir.resolve(FILE_NAME);
    }

    /**
     * Receives (and deletes) everything each queue holds and adds it to {@code file}, one JSON line per message in
     * the order received (a FIFO group's order kept); returns how many. Deleting is what lets a FIFO queue hand out a
     * group's next message. Lines a failed restore left in the file stay; what was taken out before a failure is
     * still added, so nothing deleted from a queue is lost.
     */
    static int save(SqsClient sqs, List<ProvisionedQueue> queues, Path file) {
        int saved = 0;
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try (BufferedWriter out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
            for (ProvisionedQueue queue : queues) {
                for (boolean deadLetters : new boolean[] {false, true}) {
                    String url = deadLetters ? queue.dlqUrl() : queue.url();
                    if (url == null) continue;
                    saved += drain(sqs, queue, url, deadLetters, out);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            keep(partial, file);
        }
        return saved;
    }

    /** Moves one queue's (or its dead-letter queue's) messages into {@code out}; returns how many. */
    private static int drain(SqsClient sqs, ProvisionedQueue queue, String url, boolean deadLetters, BufferedWriter out)
            throws IOException {
        int saved = 0;
        while (true) {
            List<Message> messages = sqs.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10)
                    .waitTimeSeconds(0).visibilityTimeout(60)
                    .messageSystemAttributeNames(MessageSystemAttributeName.MESSAGE_GROUP_ID,
                            MessageSystemAttributeName.MESSAGE_DEDUPLICATION_ID)
                    .messageAttributeNames("All")).messages();
            if (messages.isEmpty()) break;
            List<DeleteMessageBatchRequestEntry> done = new ArrayList<>();
            for (Message m : messages) {
                var line = new LinkedHashMap<String, Object>();
                line.put("queue", queue.spec().name());
                if (deadLetters) line.put("deadLetter", true);
                line.put("body", m.body());
                line.put("groupId", m.attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID));
                line.put("deduplicationId", m.attributes().get(MessageSystemAttributeName.MESSAGE_DEDUPLICATION_ID));
                // what a message carries besides its body (a webhook event's copy: its passes, its first publish time)
                if (m.hasMessageAttributes() && !m.messageAttributes().isEmpty()) {
                    line.put("attributes", SqsQueueSender.attributeStrings(m.messageAttributes()));
                }
                out.write(JSON.std.asString(line));
                out.newLine();
                done.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(done.size()))
                        .receiptHandle(m.receiptHandle()).build());
                saved++;
            }
            out.flush(); // written before it is deleted from the queue
            sqs.deleteMessageBatch(r -> r.queueUrl(url).entries(done));
        }
        return saved;
    }

    /** Adds what {@code partial} holds to {@code file} (created if need be) and deletes it. */
    private static void keep(Path partial, Path file) {
        try {
            if (Files.exists(partial) && Files.size(partial) > 0) {
                Files.write(file, Files.readAllBytes(partial), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            Files.deleteIfExists(partial);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A FIFO message's deduplication id for its restored copy (SQS takes at most 128 characters). */
    static String restoredId(String original, long restoredAt) {
        String suffix = "~r" + restoredAt;
        String base = original == null ? "" : original;
        return (base.length() + suffix.length() > 128 ? base.substring(0, 128 - suffix.length()) : base) + suffix;
    }

    /**
     * Sends what {@link #save} wrote back to the queues (by logical name), then deletes the file; returns how many.
     * When a send fails the file is rewritten with the lines not sent yet (for the next start) and the failure thrown.
     */
    static int restore(SqsClient sqs, Map<String, ProvisionedQueue> queues, Path file) {
        if (!Files.exists(file)) return 0;
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long restoredAt = System.currentTimeMillis();
        // per queue URL (a queue's or its dead-letter queue's), in file order: the entries (each one's id is its line
        // number) and whether that queue is FIFO
        Map<String, List<SendMessageBatchRequestEntry>> byQueue = new LinkedHashMap<>();
        Map<String, String> queueNames = new HashMap<>();
        for (int n = 0; n < lines.size(); n++) {
            Map<String, Object> line;
            try {
                line = JSON.std.mapFrom(lines.get(n));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ProvisionedQueue queue = queues.get((String) line.get("queue"));
            if (queue == null) continue; // a queue this build no longer has
            boolean deadLetter = Boolean.TRUE.equals(line.get("deadLetter"));
            String url = deadLetter ? queue.dlqUrl() : queue.url();
            if (url == null) continue;
            var entry = SendMessageBatchRequestEntry.builder().id(Integer.toString(n)).messageBody((String) line.get("body"));
            if (line.get("attributes") instanceof Map<?, ?> carried && !carried.isEmpty()) {
                var strings = new LinkedHashMap<String, String>();
                carried.forEach((name, value) -> strings.put(String.valueOf(name), String.valueOf(value)));
                entry.messageAttributes(SqsQueueSender.attributeValues(strings));
            }
            if (queue.spec().fifo()) {
                // a new id: a queue that still remembers the first send's would drop this one as its duplicate
                entry.messageGroupId((String) line.get("groupId"))
                        .messageDeduplicationId(restoredId((String) line.get("deduplicationId"), restoredAt));
            }
            byQueue.computeIfAbsent(url, q -> new ArrayList<>()).add(entry.build());
            queueNames.put(url, (deadLetter ? queue.spec().dlqName() : queue.spec().queueName()));
        }
        Set<Integer> sent = new HashSet<>();
        try {
            byQueue.forEach((url, entries) -> {
                for (int from = 0; from < entries.size(); from += 10) {
                    var chunk = entries.subList(from, Math.min(entries.size(), from + 10));
                    var result = sqs.sendMessageBatch(r -> r.queueUrl(url).entries(chunk));
                    result.successful().forEach(ok -> sent.add(Integer.parseInt(ok.id())));
                    if (result.hasFailed() && !result.failed().isEmpty()) {
                        throw new IllegalStateException(result.failed().size() + " saved messages could not be sent to "
                                + queueNames.get(url) + ": " + result.failed().getFirst().message());
                    }
                }
            });
        } catch (RuntimeException e) {
            List<String> left = new ArrayList<>();
            for (int n = 0; n < lines.size(); n++) if (!sent.contains(n)) left.add(lines.get(n));
            try {
                Files.write(file, left, StandardCharsets.UTF_8);
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sent.size();
    }
}
