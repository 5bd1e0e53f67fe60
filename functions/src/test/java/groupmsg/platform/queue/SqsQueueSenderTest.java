package groupmsg.platform.queue;

import groupmsg.platform.config.AppConfig;
import groupmsg.platform.schema.Queues;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResultEntry;

import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A FIFO message group's messages go one a batch, in order: SQS takes a batch entry by entry, and one it failed,
 * retried after a later message of its group that it took, went in behind it (a conversation's relays out of order).
 */
class SqsQueueSenderTest {
    @Test
    @SuppressWarnings("unchecked")
    void aGroupsMessagesGoInLaterBatchesSoAFailedEntryIsNotOvertaken() {
        List<List<String>> batches = new ArrayList<>();
        List<String> accepted = new ArrayList<>();
        boolean[] failedOnce = {false};
        var sqs = (SqsClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{SqsClient.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("sendMessageBatch")) throw new UnsupportedOperationException(method.getName());
                    var request = args[0] instanceof SendMessageBatchRequest r ? r
                            : SendMessageBatchRequest.builder().applyMutation((Consumer<SendMessageBatchRequest.Builder>) args[0]).build();
                    batches.add(request.entries().stream().map(SendMessageBatchRequestEntry::messageBody).toList());
                    var ok = new ArrayList<SendMessageBatchResultEntry>();
                    var failed = new ArrayList<BatchResultErrorEntry>();
                    for (var entry : request.entries()) {
                        // the first try of conversation a's first message fails (a fault SQS says to retry), once
                        if (entry.messageBody().equals("a1") && !failedOnce[0]) {
                            failedOnce[0] = true;
                            failed.add(BatchResultErrorEntry.builder().id(entry.id()).code("InternalError").senderFault(false).build());
                        } else {
                            accepted.add(entry.messageBody());
                            ok.add(SendMessageBatchResultEntry.builder().id(entry.id()).build());
                        }
                    }
                    return SendMessageBatchResponse.builder().successful(ok).failed(failed).build();
                });
        var config = new AppConfig("us-east-1", URI.create("http://127.0.0.1:1"), URI.create("http://127.0.0.1:1"),
                Map.of(), Map.of(Queues.RELAYS.name(), "http://127.0.0.1:1/relays.fifo"));
        var sender = new SqsQueueSender(() -> sqs, config);

        sender.send(Queues.RELAYS, List.of(job("a1", "a"), job("b1", "b"), job("a2", "a"), job("c1", "c"), job("a3", "a")));

        assertThat(accepted.stream().filter(body -> body.startsWith("a")).toList()).containsExactly("a1", "a2", "a3");
        assertThat(batches).allSatisfy(batch -> assertThat(batch.stream().map(body -> body.charAt(0)).toList()).doesNotHaveDuplicates());
        assertThat(accepted).containsExactlyInAnyOrder("a1", "b1", "a2", "c1", "a3");
    }

    private static QueueMessage job(String body, String group) {
        return new QueueMessage(body, group, body);
    }
}
