package groupmsg.local;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.SnsEventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sns.SnsClient;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The local runtime's event publisher: keeps every event published to each topic in memory (the JSON message
 * exactly as the production publisher sends it, see {@link SnsEventPublisher#envelope}) for
 * {@code GET /local/events}, and when {@code SNS_ENDPOINT} is set also publishes it there through the production
 * {@link SnsEventPublisher}, to the topics {@code notifications} and {@code integrations} it creates at start.
 *
 * <p>Thread-safe. Bounded: each topic keeps its last {@link #DEFAULT_CAPACITY} events (the oldest are dropped), so
 * a long-running runtime does not grow without limit.
 */
public final class RecordingEventPublisher implements EventPublisher, AutoCloseable {
    public static final int DEFAULT_CAPACITY = 10_000;

    private final int capacity;
    private final Map<Topic, ArrayDeque<String>> recorded = new EnumMap<>(Topic.class);
    /** Null when no SNS endpoint is configured. */
    private final SnsClient sns;
    private final EventPublisher forward;
    private final Map<String, String> topicArns;
    /**
     * Where one topic's events also go, as the deployed topic's subscription takes them (the integrations topic's to
     * the webhooks queue); null for none.
     */
    private final java.util.function.Consumer<String> subscriber;
    private final Topic subscribedTopic;

    private RecordingEventPublisher(int capacity, SnsClient sns, EventPublisher forward, Map<String, String> topicArns) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be positive, got " + capacity);
        this.capacity = capacity;
        this.sns = sns;
        this.forward = forward;
        this.topicArns = Map.copyOf(topicArns);
        this.subscriber = null;
        this.subscribedTopic = null;
        for (Topic topic : Topic.values()) recorded.put(topic, new ArrayDeque<>());
    }

    private RecordingEventPublisher(RecordingEventPublisher from, Topic subscribedTopic,
                                    java.util.function.Consumer<String> subscriber) {
        this.capacity = from.capacity;
        this.sns = from.sns;
        this.forward = from.forward;
        this.topicArns = from.topicArns;
        this.subscriber = subscriber;
        this.subscribedTopic = subscribedTopic;
        this.recorded.putAll(from.recorded);
    }

    /**
     * The same publisher, which also hands each of {@code topic}'s events to {@code subscriber} as it publishes it, as
     * the deployed integrations topic delivers to the webhooks queue (a failure there fails the publish, as SNS would
     * retry it).
     */
    public RecordingEventPublisher deliveringTo(Topic topic, java.util.function.Consumer<String> subscriber) {
        return new RecordingEventPublisher(this, topic, subscriber);
    }

    /** Records only (no SNS). */
    public static RecordingEventPublisher inMemory() {
        return new RecordingEventPublisher(DEFAULT_CAPACITY, null, null, Map.of());
    }

    static RecordingEventPublisher inMemory(int capacity) {
        return new RecordingEventPublisher(capacity, null, null, Map.of());
    }

    /**
     * Records, and publishes to the SNS API at {@code snsEndpoint} when it is not null: creates (CreateTopic is
     * idempotent) one topic per {@link Topic} under its wire name and publishes to them through the production
     * {@link SnsEventPublisher} configured with {@link AppConfig#withNotifications}.
     *
     * @param config the handlers' configuration (region and the rest); the topic ARNs are added to it
     */
    public static RecordingEventPublisher start(AppConfig config, URI snsEndpoint, AwsCredentialsProvider credentials) {
        if (snsEndpoint == null) return inMemory();
        SnsClient sns = SnsClient.builder()
                .httpClient(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(2))
                        .socketTimeout(Duration.ofSeconds(20))
                        .build())
                .region(Region.of(config.region()))
                .credentialsProvider(credentials)
                .endpointOverride(snsEndpoint)
                .build();
        try {
            var arns = new LinkedHashMap<String, String>();
            for (Topic topic : Topic.values()) {
                arns.put(topic.name(), sns.createTopic(b -> b.name(topic.wireName())).topicArn());
            }
            var publisher = new SnsEventPublisher(sns, config.withNotifications(snsEndpoint, arns));
            LocalLog.info("sns_topics_ready", Map.of("endpoint", snsEndpoint.toString(), "topics", arns.values()));
            return new RecordingEventPublisher(DEFAULT_CAPACITY, sns, publisher, arns);
        } catch (RuntimeException e) {
            sns.close();
            throw new IllegalStateException("cannot create the SNS topics at SNS_ENDPOINT " + snsEndpoint + ": " + e.getMessage(), e);
        }
    }

    /**
     * Publishes to SNS first (when configured; a failure there propagates to the handler as it would in AWS and
     * nothing is recorded), then records the message.
     */
    @Override
    public void publish(Topic topic, String accountId, String type, Map<String, Object> event) {
        String message = Json.write(SnsEventPublisher.envelope(accountId, type, event));
        if (forward != null) forward.publish(topic, accountId, type, event);
        if (subscriber != null && topic == subscribedTopic) subscriber.accept(message);
        ArrayDeque<String> events = recorded.get(topic);
        synchronized (events) {
            if (events.size() == capacity) events.removeFirst();
            events.addLast(message);
        }
    }

    /** The messages published to {@code topic}, oldest first (at most the last {@link #DEFAULT_CAPACITY}). */
    public List<String> events(Topic topic) {
        ArrayDeque<String> events = recorded.get(topic);
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /** The topic whose wire name ({@code notifications}, {@code integrations}) is {@code name}. */
    public static Optional<Topic> topicNamed(String name) {
        return Arrays.stream(Topic.values()).filter(t -> t.wireName().equals(name)).findFirst();
    }

    /** {@link Topic#name()} -> ARN of the SNS topics events are also published to; empty when only recording. */
    public Map<String, String> topicArns() {
        return topicArns;
    }

    public boolean publishesToSns() {
        return forward != null;
    }

    @Override
    public void close() {
        if (sns != null) sns.close();
    }
}
