package groupmsg.integrations;

import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.Log;
import groupmsg.platform.schema.Tables;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * POSTs an event (as the SNS topics carry it: {@code {type, accountId, ...}}) to each of its account's webhooks that
 * takes its type, side by side, signed ({@link WebhookSignature}). An endpoint that fails (not 2xx, no answer in 5 s)
 * is tried twice more, 1 and 3 s later; an event that still has one left failing fails, and its queue gives it to
 * the worker again later, when only the endpoints it has not reached are tried: what reached an endpoint is
 * remembered per event ({@code WHDONE}), so no endpoint gets an event twice from us (an endpoint that took it but
 * answered too late can: receivers dedupe by {@code Groupmsg-Event-Id}). An endpoint whose last delivery failed less
 * than {@link #PAUSE_AFTER_FAILURE} ago, with none taken since, is not called at all: its events go back to the
 * queue at once, so one endpoint that is down does not hold the shared workers for 19 s per event; the first event
 * due after the pause tries it again.
 */
public final class WebhookDispatcher {
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    static final List<Duration> RETRY_PAUSES = List.of(Duration.ofSeconds(1), Duration.ofSeconds(3));
    static final Duration PAUSE_AFTER_FAILURE = Duration.ofSeconds(60);
    /** What a paused endpoint's event says: not a delivery's outcome, so not recorded on the webhook. */
    private static final String PAUSED = "paused after a failed delivery";

    private final WebhookStore store;
    private final WebhookTargets targets;
    private final Clock clock;
    private final Lazy<HttpClient> http;
    private final List<Duration> retryPauses;

    public WebhookDispatcher(Wiring wiring) {
        this(wiring, RETRY_PAUSES);
    }

    WebhookDispatcher(Wiring wiring, List<Duration> retryPauses) {
        this.store = new WebhookStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.targets = new WebhookTargets(wiring.config().webhooksToLoopback());
        this.clock = wiring.clock();
        this.retryPauses = List.copyOf(retryPauses);
        this.http = new Lazy<>(() -> HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).followRedirects(HttpClient.Redirect.NEVER).build());
    }

    /** The event could not reach every endpoint that takes it (its queue retries it). */
    public static final class NotDelivered extends RuntimeException {
        NotDelivered(String message) {
            super(message, null, false, false); // an outcome, already logged with its reasons: no stack trace
        }
    }

    /**
     * Delivers one event.
     *
     * @param fallbackKey what identifies the event when it names neither a message nor an inbound message (its
     *                    queue message's id)
     */
    public void dispatch(String eventJson, String fallbackKey) {
        Map<String, Object> event = Json.parseObject(eventJson);
        String accountId = (String) event.get("accountId");
        String type = (String) event.get("type");
        if (accountId == null || type == null) {
            Log.warn("webhook_event_unreadable", Map.of("key", fallbackKey));
            return; // nothing to deliver it to: retrying would not change that
        }
        List<Webhook> takers = store.list(accountId).stream().filter(w -> w.receives(type)).toList();
        if (takers.isEmpty()) return;
        String eventKey = eventKey(event, type, fallbackKey);
        Set<String> done = store.deliveredTo(accountId, eventKey, takers.stream().map(Webhook::id).toList());
        List<Webhook> pending = takers.stream().filter(w -> !done.contains(w.id())).toList();
        if (pending.isEmpty()) return;

        List<String> failures = new ArrayList<>();
        List<String> delivered = new ArrayList<>();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> outcomes = new ArrayList<>();
            for (Webhook w : pending) outcomes.add(executor.submit(() -> deliver(w, type, eventKey, eventJson)));
            for (int i = 0; i < pending.size(); i++) {
                String failure = outcome(outcomes.get(i));
                Webhook w = pending.get(i);
                if (failure == null) delivered.add(w.id()); else failures.add(w.id() + ": " + failure);
                if (!PAUSED.equals(failure)) store.recordOutcome(accountId, w.id(), failure, clock.millis());
            }
        }
        if (!delivered.isEmpty()) store.markDelivered(accountId, eventKey, delivered, clock.millis());
        if (!failures.isEmpty()) {
            Log.warn("webhook_delivery_failed", Map.of("accountId", accountId, "eventKey", eventKey, "failures", failures,
                    "metric", "WebhookDeliveryFailed"));
            throw new NotDelivered(failures.size() + " of " + pending.size() + " webhooks did not take " + eventKey);
        }
    }

    /** Whether the endpoint failed its last delivery less than {@link #PAUSE_AFTER_FAILURE} ago and took none since. */
    static boolean paused(Webhook w, long now) {
        return w.lastFailedAt() != null && (w.lastDeliveredAt() == null || w.lastDeliveredAt() < w.lastFailedAt())
                && now - w.lastFailedAt() < PAUSE_AFTER_FAILURE.toMillis();
    }

    /** The event's id as receivers see it ({@code Groupmsg-Event-Id}): its type and the message or reply it is about. */
    static String eventKey(Map<String, Object> event, String type, String fallbackKey) {
        Object about = event.get("messageId") != null ? event.get("messageId") : event.get("inboundId");
        return type + "/" + (about instanceof String s && !s.isBlank() ? s : fallbackKey);
    }

    private static String outcome(Future<String> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            return e.getCause() == null ? "failed" : e.getCause().getClass().getSimpleName();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Null when the endpoint took it (2xx), else why not, after the retries. */
    private String deliver(Webhook w, String type, String eventKey, String body) throws InterruptedException {
        if (paused(w, clock.millis())) return PAUSED;
        URI uri = URI.create(w.url());
        String failure = null;
        for (int attempt = 0; attempt <= retryPauses.size(); attempt++) {
            if (attempt > 0) Thread.sleep(retryPauses.get(attempt - 1).toMillis());
            // checked before each try: a name may resolve to another address by then
            var refused = targets.deliveryProblem(uri);
            if (refused.isPresent()) return refused.get(); // not retried: the address will not become public in seconds
            long now = clock.millis();
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT)
                    .header("content-type", "application/json")
                    .header("user-agent", "groupmsg-webhooks/1")
                    .header("Groupmsg-Event-Type", type)
                    .header("Groupmsg-Event-Id", eventKey)
                    .header("Groupmsg-Webhook-Id", w.id())
                    .header(WebhookSignature.HEADER, WebhookSignature.header(w.secret(), now / 1000, body))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                int status = http.get().send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status >= 200 && status < 300) return null;
                failure = "HTTP " + status;
            } catch (java.io.IOException e) {
                failure = e instanceof java.net.http.HttpTimeoutException ? "no answer within "
                        + REQUEST_TIMEOUT.toSeconds() + " s" : "could not connect (" + e.getClass().getSimpleName() + ")";
            }
        }
        return failure;
    }
}
