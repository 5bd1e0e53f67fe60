package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.conversations.ConversationService;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.local.ProvisionedQueue;
import groupmsg.local.Provisioner;
import groupmsg.local.QueueSpec;
import groupmsg.messages.RelayWorkerHandler;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.Role;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static groupmsg.e2e.ConversationsE2eTest.bodiesTo;
import static groupmsg.e2e.ConversationsE2eTest.create;
import static groupmsg.e2e.ConversationsE2eTest.groupLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A conversation message whose relay ran out of its invocation's time (a busy, slow line) comes back as soon as the
 * line has room, not after the relays queue's visibility timeout (6 minutes), which held every later message of
 * the conversation behind it as long.
 */
@ExtendWith(LocalRuntimeExtension.class)
class RelayRetryE2eTest {

    @Test
    void aRelayOutOfTimeIsBackInSecondsAndThenSentToEachOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Relay Retry Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 1);
        List<Object> people = new ArrayList<>();
        for (int i = 0; i < 9; i++) people.add(String.format("+1415555%04d", 7801 + i));
        String id = (String) create(a, lineId, people, "Hello all").get("id"); // 9 s at 1 mps
        InboundE2eTest.await(() -> people.stream().mapToInt(p -> bodiesTo(a, line, (String) p).size()).sum(), n -> n == 9, 30_000);

        // the business's next message, its relay job taken off the way to the runtime's queue
        List<QueueMessage> relays = new CopyOnWriteArrayList<>();
        QueueSender capture = (queue, messages) -> {
            if (queue.name().equals(Queues.RELAYS.name())) relays.addAll(messages);
        };
        new ConversationService(runtime.wiring(), capture).send(new Caller(accountId, "key_test", Role.OWNER), id,
                "Second message", List.of());
        assertThat(relays).hasSize(1);

        // ... onto a queue of the test's own whose visibility timeout is two minutes, standing in for relays
        var sqs = runtime.wiring().sqs();
        ProvisionedQueue queue = new Provisioner(runtime.wiring().dynamo(), sqs)
                .ensureQueue(new QueueSpec("relay-retry-test", true, 5, 120, 1));
        QueueMessage job = relays.getFirst();
        sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody(job.body()).messageGroupId(job.groupId())
                .messageDeduplicationId(job.deduplicationId()));
        var handler = new RelayWorkerHandler(runtime.wiring().withConfig(withQueue(runtime.wiring().config(), Queues.RELAYS, queue.url())));

        // an invocation with time for 3 s of blocks (its deadline keeps 20 s in reserve), where the message takes 9 s:
        // a few are sent, the rest given back, and the job fails
        Message received = receive(sqs, queue, 1);
        assertThat(handler.handleRequest(event(received), withRemaining(23_000)).getBatchItemFailures()).hasSize(1);
        long sentFirst = people.stream().filter(p -> bodiesTo(a, line, (String) p).stream().anyMatch(b -> b.contains("Second message"))).count();
        assertThat(sentFirst).as("sent by the first run").isBetween(1L, 8L);

        // back within seconds, not two minutes
        long failedAt = System.nanoTime();
        Message again = receive(sqs, queue, 15);
        assertThat((System.nanoTime() - failedAt) / 1_000_000).as("ms until it was back").isLessThan(10_000);
        assertThat(again.body()).isEqualTo(job.body());

        // a whole minute: the rest is sent, and each of them has it once
        assertThat(handler.handleRequest(event(again), withRemaining(60_000)).getBatchItemFailures()).isEmpty();
        sqs.deleteMessage(r -> r.queueUrl(queue.url()).receiptHandle(again.receiptHandle()));
        for (Object p : people) {
            assertThat(bodiesTo(a, line, (String) p)).as((String) p).filteredOn(b -> b.contains("Second message")).hasSize(1);
        }
    }

    /** The configuration with {@code queue}'s URL another (a test's own queue standing in for it). */
    static AppConfig withQueue(AppConfig c, groupmsg.platform.schema.QueueDef queue, String url) {
        var urls = new HashMap<>(c.queueUrls());
        urls.put(queue.name(), url);
        return new AppConfig(c.region(), c.dynamoEndpoint(), c.sqsEndpoint(), c.tableNames(), urls, c.snsEndpoint(),
                c.topicArns(), c.publicBaseUrl(), c.carrier(), c.webhooksToLoopback());
    }

    /** The queue's next message, waiting up to {@code seconds} for it. */
    static Message receive(software.amazon.awssdk.services.sqs.SqsClient sqs, ProvisionedQueue queue, int seconds) {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < until) {
            List<Message> got = sqs.receiveMessage(r -> r.queueUrl(queue.url()).maxNumberOfMessages(1).waitTimeSeconds(1)
                    .messageSystemAttributeNames(MessageSystemAttributeName.MESSAGE_GROUP_ID)).messages();
            if (!got.isEmpty()) return got.getFirst();
        }
        throw new AssertionError("nothing received from " + queue.url() + " within " + seconds + " s");
    }

    private static SQSEvent event(Message m) {
        var message = new SQSEvent.SQSMessage();
        message.setMessageId(m.messageId());
        message.setReceiptHandle(m.receiptHandle());
        message.setBody(m.body());
        message.setAttributes(Map.of("MessageGroupId", m.attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID)));
        var event = new SQSEvent();
        event.setRecords(new ArrayList<>(List.of(message)));
        return event;
    }

    private static Context withRemaining(int millis) {
        return (Context) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[]{Context.class},
                (proxy, method, args) -> method.getName().equals("getRemainingTimeInMillis") ? millis : null);
    }
}
