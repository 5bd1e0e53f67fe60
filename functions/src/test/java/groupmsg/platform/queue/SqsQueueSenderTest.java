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

    /**
     * Entries SQS fails on its side every time end in a {@link groupmsg.platform.RetriesSpent} (an API's 503); one it
     * refuses as the sender's fault at once in a plain failure (a 500: the request itself is wrong).
     */
    @Test
    @SuppressWarnings("unchecked")
    void entriesFailedOnSqssSideAreATransientFailureOnceRetriedAndTheSendersFaultIsNot() {
        boolean[] senderFault = {false};
        int[] calls = {0};
        var sqs = (SqsClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{SqsClient.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("sendMessageBatch")) throw new UnsupportedOperationException(method.getName());
                    calls[0]++;
                    var request = SendMessageBatchRequest.builder().applyMutation((Consumer<SendMessageBatchRequest.Builder>) args[0]).build();
                    return SendMessageBatchResponse.builder().failed(request.entries().stream().map(e -> BatchResultErrorEntry.builder()
                            .id(e.id()).code(senderFault[0] ? "InvalidParameterValue" : "InternalError").senderFault(senderFault[0]).build()).toList()).build();
                });
        var config = new AppConfig("us-east-1", URI.create("http://127.0.0.1:1"), URI.create("http://127.0.0.1:1"),
                Map.of(), Map.of(Queues.RELAYS.name(), "http://127.0.0.1:1/relays.fifo"));
        var sender = new SqsQueueSender(() -> sqs, config);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sender.send(Queues.RELAYS, List.of(job("a1", "a"))))
                .isInstanceOf(groupmsg.platform.RetriesSpent.class);
        assertThat(calls[0]).as("retried first").isGreaterThan(1);
        senderFault[0] = true;
        calls[0] = 0;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sender.send(Queues.RELAYS, List.of(job("a1", "a"))))
                .isInstanceOf(IllegalStateException.class).isNotInstanceOf(groupmsg.platform.RetriesSpent.class)
                .hasMessageContaining("InvalidParameterValue");
        assertThat(calls[0]).isEqualTo(1);
    }

    private static QueueMessage job(String body, String group) {
        return new QueueMessage(body, group, body);
    }
}
