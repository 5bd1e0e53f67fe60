package groupmsg.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The queues' contents kept across a stop, on the runtime's real ElasticMQ. */
@ExtendWith(LocalRuntimeExtension.class)
class QueueSnapshotTest {

    @Test
    void whatTheQueuesHeldIsSentAgainInOrderWithItsGroups(LocalRuntime runtime, @TempDir Path dataDir) {
        SqsClient sqs = runtime.wiring().sqs();
        var provisioner = new Provisioner(runtime.wiring().dynamo(), sqs);
        ProvisionedQueue plain = provisioner.ensureQueue(new QueueSpec("snapshot-plain", false, 3, 30, 1));
        ProvisionedQueue fifo = provisioner.ensureQueue(new QueueSpec("snapshot-ordered", true, 3, 30, 1));
        for (int i = 0; i < 25; i++) {
            int n = i;
            sqs.sendMessage(r -> r.queueUrl(plain.url()).messageBody("plain-" + n));
            sqs.sendMessage(r -> r.queueUrl(fifo.url()).messageBody("g" + (n % 2) + "-" + n)
                    .messageGroupId("g" + (n % 2)).messageDeduplicationId("d" + n));
        }
        Path file = QueueSnapshot.pathIn(dataDir);

        assertThat(QueueSnapshot.save(sqs, List.of(plain, fifo), file)).isEqualTo(50);
        assertThat(receiveAll(sqs, plain)).as("taken out").isEmpty();
        assertThat(receiveAll(sqs, fifo)).isEmpty();
        assertThat(file).exists();

        assertThat(QueueSnapshot.restore(sqs, Map.of("snapshot-plain", plain, "snapshot-ordered", fifo), file)).isEqualTo(50);
        assertThat(file).doesNotExist();
        assertThat(receiveAll(sqs, plain)).extracting(Message::body).hasSize(25)
                .containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(0, 25).mapToObj(i -> "plain-" + i).toList());
        List<Message> ordered = receiveAll(sqs, fifo);
        assertThat(ordered).hasSize(25);
        for (String group : List.of("g0", "g1")) {
            List<String> bodies = ordered.stream()
                    .filter(m -> group.equals(m.attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID)))
                    .map(Message::body).toList();
            List<String> expected = java.util.stream.IntStream.range(0, 25).filter(i -> ("g" + (i % 2)).equals(group))
                    .mapToObj(i -> group + "-" + i).toList();
            assertThat(bodies).as(group + " in its order").containsExactlyElementsOf(expected);
        }
    }

    /**
     * A message's attributes are kept with it (a webhook event's copy carries its passes and first publish time in
     * them). Before, the copy came back without them: a new event, its passes anew, published at the restart.
     */
    @Test
    void aMessagesAttributesAreKeptWithIt(LocalRuntime runtime, @TempDir Path dataDir) {
        SqsClient sqs = runtime.wiring().sqs();
        ProvisionedQueue queue = new Provisioner(runtime.wiring().dynamo(), sqs)
                .ensureQueue(new QueueSpec("snapshot-carried", false, 3, 30, 1));
        var carried = Map.of("groupmsg-passes", software.amazon.awssdk.services.sqs.model.MessageAttributeValue.builder()
                .dataType("String").stringValue("4").build());
        sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("copy").messageAttributes(carried));
        sqs.sendMessage(r -> r.queueUrl(queue.dlqUrl()).messageBody("dead copy").messageAttributes(carried));
        Path file = QueueSnapshot.pathIn(dataDir);
        assertThat(QueueSnapshot.save(sqs, List.of(queue), file)).isEqualTo(2);
        assertThat(QueueSnapshot.restore(sqs, Map.of("snapshot-carried", queue), file)).isEqualTo(2);
        for (String url : List.of(queue.url(), queue.dlqUrl())) {
            assertThat(receiveAll(sqs, url)).singleElement().satisfies(m ->
                    assertThat(m.messageAttributes().get("groupmsg-passes").stringValue()).isEqualTo("4"));
        }
    }

    @Test
    void aDeadLetterQueuesMessagesAreKeptAndGoBackToItNotToTheQueue(LocalRuntime runtime, @TempDir Path dataDir) {
        SqsClient sqs = runtime.wiring().sqs();
        var provisioner = new Provisioner(runtime.wiring().dynamo(), sqs);
        ProvisionedQueue plain = provisioner.ensureQueue(new QueueSpec("snapshot-dead", false, 3, 30, 1));
        ProvisionedQueue fifo = provisioner.ensureQueue(new QueueSpec("snapshot-dead-ordered", true, 3, 30, 1));
        sqs.sendMessage(r -> r.queueUrl(plain.url()).messageBody("live"));
        sqs.sendMessage(r -> r.queueUrl(plain.dlqUrl()).messageBody("dead"));
        for (int i = 0; i < 3; i++) {
            int n = i;
            sqs.sendMessage(r -> r.queueUrl(fifo.dlqUrl()).messageBody("dead-" + n).messageGroupId("g")
                    .messageDeduplicationId("d" + n));
        }
        Path file = QueueSnapshot.pathIn(dataDir);

        assertThat(QueueSnapshot.save(sqs, List.of(plain, fifo), file)).isEqualTo(5);
        assertThat(receiveAll(sqs, plain.dlqUrl())).as("taken out").isEmpty();
        assertThat(receiveAll(sqs, fifo.dlqUrl())).isEmpty();

        assertThat(QueueSnapshot.restore(sqs, Map.of("snapshot-dead", plain, "snapshot-dead-ordered", fifo), file))
                .isEqualTo(5);
        assertThat(receiveAll(sqs, plain.url())).extracting(Message::body).containsExactly("live");
        assertThat(receiveAll(sqs, plain.dlqUrl())).extracting(Message::body).containsExactly("dead");
        assertThat(receiveAll(sqs, fifo.url())).as("not redriven by a restart").isEmpty();
        assertThat(receiveAll(sqs, fifo.dlqUrl())).extracting(Message::body).containsExactly("dead-0", "dead-1", "dead-2");
    }

    @Test
    void nothingToKeepLeavesNoFileAndNoFileRestoresNothing(LocalRuntime runtime, @TempDir Path dataDir) {
        SqsClient sqs = runtime.wiring().sqs();
        ProvisionedQueue empty = new Provisioner(runtime.wiring().dynamo(), sqs)
                .ensureQueue(new QueueSpec("snapshot-empty", false, 3, 30, 1));
        Path file = QueueSnapshot.pathIn(dataDir);
        assertThat(QueueSnapshot.save(sqs, List.of(empty), file)).isZero();
        assertThat(file).doesNotExist();
        assertThat(Files.exists(file.resolveSibling(QueueSnapshot.FILE_NAME + ".partial"))).isFalse();
        assertThat(QueueSnapshot.restore(sqs, Map.of("snapshot-empty", empty), file)).isZero();
    }

    @Test
    void aStopAfterARestoreThatFailedKeepsBothWhatWasLeftAndWhatItTakesOut(LocalRuntime runtime, @TempDir Path dataDir)
            throws Exception {
        SqsClient sqs = runtime.wiring().sqs();
        var provisioner = new Provisioner(runtime.wiring().dynamo(), sqs);
        ProvisionedQueue queue = provisioner.ensureQueue(new QueueSpec("snapshot-again", false, 3, 30, 1));
        ProvisionedQueue fifo = provisioner.ensureQueue(new QueueSpec("snapshot-again-fifo", true, 3, 30, 1));
        Path file = QueueSnapshot.pathIn(dataDir);
        // a line the queue takes, and one its FIFO queue refuses (no group): the restore fails part-way
        Files.writeString(file, "{\"queue\":\"snapshot-again\",\"body\":\"kept\"}\n"
                + "{\"queue\":\"snapshot-again-fifo\",\"body\":\"refused\"}\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> QueueSnapshot.restore(sqs,
                Map.of("snapshot-again", queue, "snapshot-again-fifo", fifo), file)).isInstanceOf(RuntimeException.class);
        assertThat(Files.readAllLines(file)).as("only what was not sent").hasSize(1).first().asString().contains("refused");
        assertThat(receiveAll(sqs, queue)).extracting(Message::body).containsExactly("kept");

        sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody("later"));
        assertThat(QueueSnapshot.save(sqs, List.of(queue), file)).isEqualTo(1);
        assertThat(Files.readAllLines(file)).as("the leftover and the new").hasSize(2);
    }

    /** Receives and deletes until the queue is empty (a FIFO group's next message comes once the last is deleted). */
    private static List<Message> receiveAll(SqsClient sqs, ProvisionedQueue queue) {
        return receiveAll(sqs, queue.url());
    }

    private static List<Message> receiveAll(SqsClient sqs, String url) {
        List<Message> all = new ArrayList<>();
        while (true) {
            var got = sqs.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10).waitTimeSeconds(0)
                    .messageSystemAttributeNames(MessageSystemAttributeName.MESSAGE_GROUP_ID).messageAttributeNames("All"))
                    .messages();
            if (got.isEmpty()) return all;
            all.addAll(got);
            for (Message m : got) sqs.deleteMessage(r -> r.queueUrl(url).receiptHandle(m.receiptHandle()));
        }
    }
}
