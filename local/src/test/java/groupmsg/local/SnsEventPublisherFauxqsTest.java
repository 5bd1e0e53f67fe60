package groupmsg.local;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.SnsEventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The production {@link SnsEventPublisher} against a real SNS API (fauxqs, a child process; see {@link Fauxqs}):
 * topic -> SQS subscriptions with a filter policy on the {@code type} message attribute, with and without raw
 * message delivery, as an integration would subscribe to the deployed topics.
 */
class SnsEventPublisherFauxqsTest {
    private static final StaticCredentialsProvider CREDENTIALS =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test"));
    private static final String REGION = "us-east-1";
    private static final String SENT = "group_message.sent";
    private static final String FILTER = "{\"type\":[\"" + SENT + "\"]}";

    private static Fauxqs fauxqs;
    private static SnsClient sns;
    private static SqsClient sqs;
    private static SdkHttpClient http;

    @BeforeAll
    static void startFauxqs() {
        long started = System.nanoTime();
        fauxqs = Fauxqs.start();
        System.out.printf("fauxqs listening at %s after %d ms%n", fauxqs.endpoint(), (System.nanoTime() - started) / 1_000_000);
        http = UrlConnectionHttpClient.builder().build();
        sns = SnsClient.builder().httpClient(http).region(Region.of(REGION)).credentialsProvider(CREDENTIALS)
                .endpointOverride(fauxqs.endpoint()).build();
        sqs = SqsClient.builder().httpClient(http).region(Region.of(REGION)).credentialsProvider(CREDENTIALS)
                .endpointOverride(fauxqs.endpoint()).build();
    }

    @AfterAll
    static void stopFauxqs() {
        if (sns != null) sns.close();
        if (sqs != null) sqs.close();
        if (http != null) http.close();
        if (fauxqs != null) fauxqs.close();
    }

    /**
     * On this machine only: every server it started is bound to 127.0.0.1, as node reports it, and none of the
     * machine's other IPv4 addresses takes a connection to its port (refused, or dropped by a firewall).
     */
    @Test
    void theEmulatorListensOnLoopbackOnly() throws Exception {
        assertThat(fauxqs.boundAddresses()).isNotEmpty().containsOnly("127.0.0.1");
        int port = fauxqs.endpoint().getPort();
        try (var socket = new java.net.Socket("127.0.0.1", port)) {
            assertThat(socket.isConnected()).isTrue();
        }
        var others = java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
                .filter(a -> a instanceof java.net.Inet4Address && !a.isLoopbackAddress()).toList();
        for (var address : others) {
            try (var socket = new java.net.Socket()) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> socket.connect(new java.net.InetSocketAddress(address, port), 2_000))
                        .as(address.toString()).isInstanceOfAny(java.net.ConnectException.class, java.net.SocketTimeoutException.class);
            }
        }
    }

    @Test
    void subscribedQueuesReceiveExactlyTheMatchingEventsWithTheirAttributes() {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String notifications = sns.createTopic(b -> b.name("notifications-" + run)).topicArn();
        String integrations = sns.createTopic(b -> b.name("integrations-" + run)).topicArn();
        // The same subscription three ways: raw delivery + filter, SNS envelope + filter, everything (the control).
        String raw = subscribedQueue(notifications, "sent-raw-" + run, true, FILTER);
        String envelope = subscribedQueue(notifications, "sent-envelope-" + run, false, FILTER);
        String all = subscribedQueue(notifications, "all-" + run, true, null);
        String replies = subscribedQueue(integrations, "replies-" + run, true, null);

        // The production wiring: Wiring.create builds the SnsClient on AppConfig's SNS endpoint.
        AppConfig config = new AppConfig(REGION, null, null, Map.of(), Map.of()).withNotifications(fauxqs.endpoint(),
                Map.of(Topic.NOTIFICATIONS.name(), notifications, Topic.INTEGRATIONS.name(), integrations));
        Wiring wiring = Wiring.create(config, CREDENTIALS, List.of());
        EventPublisher events = wiring.events();
        assertThat(events).isInstanceOf(SnsEventPublisher.class);

        var first = new LinkedHashMap<String, Object>();
        first.put("messageId", "msg_1");
        first.put("recipients", 2);
        events.publish(Topic.NOTIFICATIONS, "acct_a", SENT, first);
        events.publish(Topic.NOTIFICATIONS, "acct_a", "group_message.failed", Map.of("messageId", "msg_2"));
        events.publish(Topic.NOTIFICATIONS, "acct_b", SENT, Map.of("messageId", "msg_3", "title", "Ünïcødé ✓"));
        events.publish(Topic.INTEGRATIONS, "acct_a", "reply.received", Map.of("inboundId", "inb_1"));
        wiring.dynamo().close();
        wiring.sqs().close();

        String expectedFirst = Json.write(SnsEventPublisher.envelope("acct_a", SENT, first));
        String expectedThird = Json.write(SnsEventPublisher.envelope("acct_b", SENT, Map.of("messageId", "msg_3", "title", "Ünïcødé ✓")));

        // Raw delivery: the body is the published JSON, the SNS attributes arrive as SQS message attributes.
        List<Message> rawMessages = receiveExactly(raw, 2);
        assertThat(rawMessages).extracting(Message::body).containsExactlyInAnyOrder(expectedFirst, expectedThird);
        for (Message m : rawMessages) {
            Map<String, Object> body = Json.parseObject(m.body());
            assertThat(body.get("type")).isEqualTo(SENT);
            assertThat(m.messageAttributes()).containsOnlyKeys("accountId", "type");
            assertThat(m.messageAttributes().get("type")).isEqualTo(string(SENT));
            assertThat(m.messageAttributes().get("accountId")).isEqualTo(string((String) body.get("accountId")));
        }

        // Without raw delivery: the SNS envelope, with the message and its attributes inside.
        List<Message> enveloped = receiveExactly(envelope, 2);
        List<String> inner = new ArrayList<>();
        for (Message m : enveloped) {
            Map<String, Object> sent = Json.parseObject(m.body());
            assertThat(sent).containsEntry("Type", "Notification").containsEntry("TopicArn", notifications);
            inner.add((String) sent.get("Message"));
            Map<String, Object> body = Json.parseObject((String) sent.get("Message"));
            assertThat(sent.get("MessageAttributes")).isEqualTo(Map.of(
                    "accountId", Map.of("Type", "String", "Value", body.get("accountId")),
                    "type", Map.of("Type", "String", "Value", SENT)));
        }
        assertThat(inner).containsExactlyInAnyOrder(expectedFirst, expectedThird);

        // The control queue got the filtered-out event too: it was published, the filter policy dropped it.
        assertThat(receiveExactly(all, 3)).extracting(m -> m.messageAttributes().get("type").stringValue())
                .containsExactlyInAnyOrder(SENT, "group_message.failed", SENT);
        // Each topic reaches only its own subscribers.
        assertThat(receiveExactly(replies, 1)).singleElement().satisfies(m -> {
            assertThat(Json.parseObject(m.body())).containsEntry("type", "reply.received").containsEntry("inboundId", "inb_1");
            assertThat(m.messageAttributes().get("accountId")).isEqualTo(string("acct_a"));
        });
    }

    /**
     * The stack gives every function the ARNs it publishes to: one missing is a deployment's fault, and the publish
     * fails (the job retried and alarmed), never an event dropped that its caller then marks published.
     */
    @Test
    void aTopicWithoutAnArnFailsThePublishRatherThanDroppingTheEvent() {
        AppConfig config = new AppConfig(REGION, null, null, Map.of(), Map.of()).withNotifications(fauxqs.endpoint(), Map.of());
        var publisher = new SnsEventPublisher(sns, config);
        int before = sns.listTopics().topics().size();
        assertThatThrownBy(() -> publisher.publish(Topic.INTEGRATIONS, "acct_a", "reply.received", Map.of("inboundId", "inb_1")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("TOPIC_ARN_INTEGRATIONS");
        assertThat(sns.listTopics().topics()).hasSize(before);
    }

    /** SNS_ENDPOINT set: the local runtime's publisher creates both topics, records and publishes to them. */
    @Test
    void theLocalRuntimesRecordingPublisherAlsoPublishesToTheSnsEndpoint() {
        AppConfig config = new AppConfig(REGION, null, null, Map.of(), Map.of());
        try (var recording = RecordingEventPublisher.start(config, fauxqs.endpoint(), CREDENTIALS);
             var again = RecordingEventPublisher.start(config, fauxqs.endpoint(), CREDENTIALS)) {
            assertThat(recording.publishesToSns()).isTrue();
            assertThat(recording.topicArns()).containsOnlyKeys(Topic.NOTIFICATIONS.name(), Topic.INTEGRATIONS.name());
            assertThat(recording.topicArns().get(Topic.NOTIFICATIONS.name())).endsWith(":notifications");
            assertThat(recording.topicArns().get(Topic.INTEGRATIONS.name())).endsWith(":integrations");
            assertThat(again.topicArns()).as("CreateTopic is idempotent").isEqualTo(recording.topicArns());

            String queue = subscribedQueue(recording.topicArns().get(Topic.INTEGRATIONS.name()),
                    "local-integrations-" + UUID.randomUUID().toString().substring(0, 8), true, null);
            recording.publish(Topic.INTEGRATIONS, "acct_local", "reply.received", Map.of("inboundId", "inb_9"));

            String expected = Json.write(SnsEventPublisher.envelope("acct_local", "reply.received", Map.of("inboundId", "inb_9")));
            assertThat(recording.events(Topic.INTEGRATIONS)).containsExactly(expected);
            assertThat(recording.events(Topic.NOTIFICATIONS)).isEmpty();
            assertThat(receiveExactly(queue, 1)).singleElement().satisfies(m -> {
                assertThat(m.body()).isEqualTo(expected);
                assertThat(m.messageAttributes()).isEqualTo(Map.of("accountId", string("acct_local"), "type", string("reply.received")));
            });
        }
    }

    /** A queue subscribed to {@code topicArn}; {@code filterPolicy} null for none. Returns the queue URL. */
    private static String subscribedQueue(String topicArn, String name, boolean rawDelivery, String filterPolicy) {
        String url = sqs.createQueue(b -> b.queueName(name)).queueUrl();
        String arn = sqs.getQueueAttributes(b -> b.queueUrl(url).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
        var attributes = new LinkedHashMap<String, String>();
        attributes.put("RawMessageDelivery", Boolean.toString(rawDelivery));
        if (filterPolicy != null) attributes.put("FilterPolicy", filterPolicy);
        sns.subscribe(b -> b.topicArn(topicArn).protocol("sqs").endpoint(arn).attributes(attributes).returnSubscriptionArn(true));
        return url;
    }

    /** Receives until {@code n} messages arrived (10 s at most), then checks that nothing more comes. */
    private static List<Message> receiveExactly(String queueUrl, int n) {
        List<Message> received = new ArrayList<>();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (received.size() < n && Instant.now().isBefore(deadline)) {
            received.addAll(receive(queueUrl, 2));
        }
        // nothing more: fauxqs hands a publish to its subscribed queues within the Publish call, so what a wrong
        // extra publish would have queued is there by now
        received.addAll(receive(queueUrl, 0));
        assertThat(received).as("messages in " + queueUrl).hasSize(n);
        return received;
    }

    private static List<Message> receive(String queueUrl, int waitSeconds) {
        List<Message> messages = sqs.receiveMessage(b -> b.queueUrl(queueUrl).maxNumberOfMessages(10)
                .waitTimeSeconds(waitSeconds).messageAttributeNames("All")).messages();
        for (Message m : messages) sqs.deleteMessage(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle()));
        return messages;
    }

    private static MessageAttributeValue string(String value) {
        return MessageAttributeValue.builder().dataType("String").stringValue(value).build();
    }
}
