package groupmsg.integrations;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.queue.ExpectedRetry;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.Log;
import groupmsg.platform.SideBySide;
import groupmsg.platform.schema.Tables;

import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * POSTs an event (as the SNS topics carry it: {@code {type, accountId, ...}}) to each of its account's webhooks that
 * takes its type, side by side, signed ({@link WebhookSignature}), to the address its host was checked to resolve to
 * ({@link PinnedHttpPost}). An endpoint that fails (not 2xx, or no status line in 10 s)
 * is tried twice more, 1 and 3 s later, while the tries fit in {@link #TRIES_BUDGET}, except after no answer (it may
 * be working on the event: its next try is the queue's, not three in a row) or an answer that would be the same
 * ({@link #answersTheSame}); an event that still has one left failing fails, and its queue gives it to the worker
 * again later ({@link #retryDelay}), when only the endpoints it has not reached are tried: what reached an endpoint is
 * remembered per event ({@code WHDONE}) as soon as it took it, so a retry does not send it there again. Twice is
 * still possible, rarely: an endpoint that took it but answered too late, the remembering failing right after, or
 * two copies of one event side by side (SQS delivers at least once): receivers dedupe by {@code Groupmsg-Event-Id}. An endpoint whose last delivery failed less
 * than {@link #PAUSE_AFTER_FAILURE} ago, with none taken since, is not called at all: its events go back to the
 * queue at once, so one endpoint that is down does not hold the shared workers for up to 20 s per event; the first event
 * due after the pause tries it again.
 */
public final class WebhookDispatcher {
    /** How long a delivery waits for the endpoint's status line (a receiver that works before answering has this). */
    static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(10);
    /** How long a test ({@code POST .../test}) waits: its try must fit in the admin API function's 10 s. */
    static final Duration TEST_TIMEOUT = Duration.ofSeconds(5);
    static final List<Duration> RETRY_PAUSES = List.of(Duration.ofSeconds(1), Duration.ofSeconds(3));
    /**
     * An event's tries at each endpoint, pauses and host lookups included, end within this from the dispatch's start
     * (the reads, and the telling of an earlier disable, before them: a publish may take 5 s), so a try that could not
     * end in it is left to the next pass: the worker's 30 s must hold them, and after them the telling of a disable
     * their failure made (5 s more at the most) and the records.
     */
    static final Duration TRIES_BUDGET = Duration.ofSeconds(20);
    /** How long a connection may take to be made, at each address tried. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration PAUSE_AFTER_FAILURE = Duration.ofSeconds(60);
    /**
     * A webhook whose every delivery failed for this long is disabled (its events are no longer sent to it, nor kept
     * for it) until the account enables it again: an endpoint gone for days costs every event its retries and a
     * dead-letter entry. Three days is the stretch a weekend outage fits in.
     */
    public static final Duration DISABLE_AFTER = Duration.ofDays(3);
    /**
     * A failure after this long without any delivery (taken or failed) starts a new stretch of failures: an endpoint
     * with rare events may have been fixed in between, so it is disabled only when failing about daily at least (a
     * day and a half: a daily event that comes a little later keeps the stretch going).
     */
    public static final Duration QUIET_SPELL = Duration.ofHours(36);
    /** What a paused endpoint's event says: not a delivery's outcome, so not recorded on the webhook. */
    private static final String PAUSED = "paused after a failed delivery";

    private final WebhookStore store;
    private final WebhookTargets targets;
    private final Clock clock;
    private final Lazy<PinnedHttpPost> http;
    private final EventPublisher events;
    private final Duration deliveryTimeout;

    public WebhookDispatcher(Wiring wiring) {
        this(wiring, new WebhookTargets(wiring.config().webhooksToLoopback()));
    }

    /** With another judge of addresses (a test's resolver that answers a second lookup differently). */
    public WebhookDispatcher(Wiring wiring, WebhookTargets targets) {
        this(wiring, targets, DELIVERY_TIMEOUT);
    }

    /** With another wait for a delivery's answer (a test's, of an endpoint that answers too late). */
    public WebhookDispatcher(Wiring wiring, WebhookTargets targets, Duration deliveryTimeout) {
        this.deliveryTimeout = deliveryTimeout;
        this.store = new WebhookStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.targets = targets;
        this.clock = wiring.clock();
        this.events = wiring.events();
        this.http = new Lazy<>(() -> new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), CONNECT_TIMEOUT));
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
        dispatch(eventJson, fallbackKey, null);
    }

    /**
     * @param publishedAt when the event reached its queue (SQS's {@code SentTimestamp}, epoch ms), or null when not
     *                    known: a webhook created, or enabled again, after it does not get it
     */
    public void dispatch(String eventJson, String fallbackKey, Long publishedAt) {
        dispatch(eventJson, fallbackKey, publishedAt, false);
    }

    /**
     * @param lastPass the event's last pass before its dead-letter queue: an endpoint that answers it as it would
     *                 again ({@link #answersTheSame}: a 400 for this one event, say, while it takes the others, so it is
     *                 never disabled) is given up for it, rather than every such event paging from the queue
     */
    public void dispatch(String eventJson, String fallbackKey, Long publishedAt, boolean lastPass) {
        long started = System.nanoTime();
        Map<String, Object> event = Json.parseObject(eventJson);
        String accountId = (String) event.get("accountId");
        String type = (String) event.get("type");
        if (accountId == null || type == null) {
            Log.warn("webhook_event_unreadable", Map.of("key", fallbackKey));
            return; // nothing to deliver it to: retrying would not change that
        }
        List<Webhook> webhooks = store.list(accountId);
        dropExpiredSecrets(accountId, webhooks);
        // one a dispatch: a topic that refuses takes up to 5 s a try, and each untold one more held the event's
        // deliveries past the worker's 30 s (its next events tell the others); one another run is telling is passed
        for (Webhook w : webhooks) {
            if (w.disabledUntold() && tellDisabled(accountId, w)) break; // one claimed (another run's claim passes on)
        }
        List<Webhook> takers = webhooks.stream().filter(w -> w.enabled() && w.receives(type)
                && (publishedAt == null || w.takesEventPublishedAt(publishedAt))).toList();
        if (takers.isEmpty()) return;
        String eventKey = eventKey(event, type, fallbackKey);
        Set<String> done = store.deliveredTo(accountId, eventKey, takers.stream().map(Webhook::id).toList());
        List<Webhook> pending = takers.stream().filter(w -> !done.contains(w.id())).toList();
        if (pending.isEmpty()) return;

        List<String> failures = new ArrayList<>();
        Throwable fault = null;
        var outcomes = SideBySide.run(pending, "/endpoint-", w -> deliverAndRecord(accountId, w, type, eventKey, eventJson, lastPass, started));
        for (int i = 0; i < pending.size(); i++) {
            var outcome = outcomes.get(i);
            String failure = outcome instanceof SideBySide.Done<String> d ? d.value()
                    : outcome instanceof SideBySide.Failed<String> f ? (f.cause() == null ? "failed" : f.cause().getClass().getSimpleName())
                    : "interrupted";
            if (failure != null) failures.add(pending.get(i).id() + ": " + failure);
            if (fault == null && outcome instanceof SideBySide.Failed<String> f && f.cause() != null
                    && !ExpectedRetry.expected(f.cause())) {
                fault = f.cause();
            }
        }
        if (fault != null) {
            // ours, not an endpoint's (a table that refuses, a missing permission): the job fails as a fault, which
            // pages when it lasts, where an endpoint that is down is the account's business
            throw new IllegalStateException("delivering " + eventKey + " failed: " + failures, fault);
        }
        if (!failures.isEmpty()) {
            Log.warn("webhook_delivery_failed", Map.of("accountId", accountId, "eventKey", eventKey, "failures", failures,
                    "metric", "WebhookDeliveryFailed"));
            throw new NotDelivered(failures.size() + " of " + pending.size() + " webhooks did not take " + eventKey);
        }
    }

    /** Removes the previous secrets that expired (a rotation keeps one for a while): what signs nothing is not kept. */
    private void dropExpiredSecrets(String accountId, List<Webhook> webhooks) {
        long now = clock.millis();
        for (Webhook w : webhooks) {
            if (!w.previousSecretExpired(now)) continue;
            try {
                store.dropPreviousSecret(accountId, w.id(), w.previousSecretExpiresAt());
            } catch (RuntimeException e) {
                // the next event tries again; the deliveries do not sign with it either way
                Log.warn("webhook_secret_not_dropped", Map.of("webhookId", w.id(), "error", e.getClass().getSimpleName()));
            }
        }
    }

    /**
     * One endpoint's delivery of the event, remembered as soon as it is taken (so another endpoint's failure, or a
     * fault after this, cannot make it go there again); null when it was taken or given up for good ({@link #isFinal}:
     * trying again would not change it, so the event does not go back to the queue for it), else why it will be
     * tried again.
     */
    private String deliverAndRecord(String accountId, Webhook w, String type, String eventKey, String body, boolean lastPass,
                                    long started) throws InterruptedException {
        Tried tried = deliver(accountId, w, type, eventKey, body, started);
        String failure = tried.failure();
        if (STOPPED.equals(failure)) return null; // deleted or disabled between tries: nothing more for it
        if (failure != null && isFinal(failure) && movedSince(accountId, w.id(), tried.url())) {
            // the old address's final answer (a 410 once it moved) is not the new one's: the queue's retry goes there
            return "moved while tried (" + failure + ")";
        }
        boolean finished = failure == null || isFinal(failure) || lastPass && answersTheSame(failure);
        // done with this endpoint for this event: taken, or given up (a retry for another endpoint leaves it alone)
        if (finished) store.markDelivered(accountId, eventKey, w.id(), clock.millis());
        boolean disabledNow = false;
        if (!PAUSED.equals(failure)) {
            try {
                disabledNow = recordOutcome(accountId, w.id(), failure, tried.url());
            } catch (RuntimeException e) {
                // what is shown on the webhook only: the delivery's outcome stands
                Log.warn("webhook_outcome_not_recorded", Map.of("webhookId", w.id(), "error", e.getClass().getSimpleName()));
            }
        }
        if (disabledNow && !finished) {
            // this failure disabled it: a disabled webhook's events are dropped, so the event is done with it (left
            // to the queue, its last receive went to the dead-letter queue and paged for a webhook already off)
            store.markDelivered(accountId, eventKey, w.id(), clock.millis());
            finished = true;
        }
        if (failure != null && finished) {
            Log.warn("webhook_delivery_given_up", Map.of("accountId", accountId, "webhookId", w.id(), "eventKey", eventKey,
                    "failure", failure, "metric", "WebhookDeliveryGivenUp"));
            return null;
        }
        return failure;
    }

    /** Whether the webhook was given another url than {@code triedUrl} (a read of it now; one deleted has not). */
    private boolean movedSince(String accountId, String webhookId, String triedUrl) {
        return store.get(accountId, webhookId).map(now -> !now.url().equals(triedUrl)).orElse(false);
    }

    /**
     * Records a delivery's outcome at {@code url} on the webhook, disabling it after {@link #DISABLE_AFTER} of
     * failures (true: this outcome disabled it); nothing when its url changed meanwhile (the new address starts with a
     * clean slate).
     */
    boolean recordOutcome(String accountId, String webhookId, String failure, String url) {
        long now = clock.millis();
        var disabled = store.recordOutcome(accountId, webhookId, failure, now, now - DISABLE_AFTER.toMillis(),
                now - QUIET_SPELL.toMillis(), url);
        disabled.ifPresent(w -> {
            Log.warn("webhook_disabled", Map.of("accountId", accountId, "webhookId", webhookId, "lastFailure", failure,
                    "metric", "WebhookDisabled"));
            tellDisabled(accountId, w);
        });
        return disabled.isPresent();
    }

    /** How long a run's claim to tell of a disable holds: a run that died holding it is taken over after this. */
    static final Duration TELLING_CLAIM = Duration.ofMinutes(5);

    /** The event that tells the business one of its webhooks was disabled (no webhook receives it: it is about them). */
    public static final String DISABLED_EVENT = "webhook.disabled";

    /**
     * Publishes {@link #DISABLED_EVENT} to the notifications topic, for the operator's email or push subscriber to tell
     * the account, as a platform emails about a webhook it turned off. Once, by the run that claims it (the one that
     * disabled it); a publish that fails gives the claim back, and the account's next event tells it. True when this
     * run claimed it (and tried), false when another run holds the claim or it was told already.
     */
    private boolean tellDisabled(String accountId, Webhook w) {
        long claimedAt = clock.millis();
        try {
            if (!store.claimTellingDisabled(accountId, w.id(), claimedAt, claimedAt - TELLING_CLAIM.toMillis())) return false;
        } catch (RuntimeException e) {
            Log.warn("webhook_disabled_not_claimed", Map.of("webhookId", w.id(), "error", e.getClass().getSimpleName()));
            return false; // still untold: the next event tries
        }
        var event = new LinkedHashMap<String, Object>();
        event.put("webhookId", w.id());
        // scheme, host and port only: a URL may carry a token in its query or its path (Slack's, Discord's), and this
        // goes to the operator's subscribers; the webhook's id names it
        event.put("url", origin(w.url()));
        event.put("disabledReason", w.disabledReason());
        event.put("failingSince", w.failingSince() == null ? null : Timestamps.format(w.failingSince()));
        event.put("disabledAt", w.disabledAt() == null ? null : Timestamps.format(w.disabledAt()));
        try {
            events.publish(Topic.NOTIFICATIONS, accountId, DISABLED_EVENT, event);
        } catch (RuntimeException e) {
            Log.error("webhook_disabled_not_published", Map.of("accountId", accountId, "webhookId", w.id()), e);
            try {
                store.giveBackTellingClaim(accountId, w.id(), claimedAt);
            } catch (RuntimeException again) {
                // the claim goes stale: an event after that tells it
                Log.warn("webhook_disabled_claim_kept", Map.of("webhookId", w.id(), "error", again.getClass().getSimpleName()));
            }
            return true;
        }
        try {
            store.told(accountId, w.id(), claimedAt);
        } catch (RuntimeException e) {
            // told: a later event may tell it again once the claim goes stale (twice, rather than never)
            Log.warn("webhook_disabled_told_not_recorded", Map.of("webhookId", w.id(), "error", e.getClass().getSimpleName()));
        }
        return true;
    }

    /** The URL's scheme, host and port: which endpoint it is, without anything that may be a token. */
    static String origin(String url) {
        try {
            URI u = URI.create(url);
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), null, null, null).toString();
        } catch (IllegalArgumentException | java.net.URISyntaxException e) {
            return null;
        }
    }

    /**
     * A failure no retry would change, given up at once: a 410 (the receiver says the endpoint is gone). Every other
     * failure is tried again by the queue, for days ({@link #retryDelay}): a receiver deployed with the wrong secret
     * (401), a firewall's challenge (403), a route missing during a deploy (404) or a redirect (3xx, never followed, as
     * the address it names is not checked as the webhook's was) is fixed by its owner, and its events then reach it.
     * Before, any 3xx or 4xx but 408, 425 and 429 lost the event for good. An address we do not call is tried again
     * too: the webhook's own was checked when it was saved, so at delivery only its name's answer can be refused, and a
     * name's answer changes (a record pointed at an internal balancer during a move dropped every event meanwhile);
     * it still never connects, and counts towards disabling the webhook.
     */
    static boolean isFinal(String failure) {
        return failure.equals("HTTP 410");
    }

    /**
     * A failure the endpoint answers at once and would answer the same a second later (a final one, a redirect, a
     * 4xx other than 408, 425 and 429): not tried again within the pass, and pausing nothing (an answer at once costs
     * the shared workers no time).
     */
    static boolean answersTheSame(String failure) {
        if (isFinal(failure) || failure.startsWith(REFUSED) || failure.startsWith("HTTP 3")) return true;
        if (!failure.startsWith("HTTP 4")) return false;
        return !List.of("HTTP 408", "HTTP 425", "HTTP 429").contains(failure);
    }

    /**
     * How long an event an endpoint did not take waits for its next pass after its {@code pass}-th: 1, 5, 15 and 30
     * minutes, then 1, 2, 4 and 8 hours, then 11. Its 15 passes so span about 3.4 days, past {@link #DISABLE_AFTER} (an
     * endpoint failing that long is disabled, and its events are dropped then). Before, every pass came 3 minutes
     * after the last, and an endpoint down for more than half an hour lost its events to the dead-letter queue.
     */
    public static Duration retryDelay(int pass) {
        return RETRY_DELAYS.get(Math.min(Math.max(pass, 1), RETRY_DELAYS.size()) - 1);
    }

    static final List<Duration> RETRY_DELAYS = List.of(Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15),
            Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofHours(2), Duration.ofHours(4), Duration.ofHours(8),
            Duration.ofHours(11));

    /**
     * Whether the endpoint failed its last delivery less than {@link #PAUSE_AFTER_FAILURE} ago, in a way a try a
     * moment later could change (a 4xx such as 404 answers each event at once: nothing to spare it), and took none since. A failed
     * test pauses nothing: a receiver being built may refuse the unfamiliar {@code webhook.test} and take its events
     * (each test held them back for a minute, and a few tests could send them to the dead-letter queue).
     */
    static boolean paused(Webhook w, long now) {
        Long failedAt = w.deliveryFailedAt() != null ? w.deliveryFailedAt() : w.lastFailedAt();
        // lastFailure is the delivery's unless a test failed after it: then its reason is not kept, and the endpoint is
        // not paused (a pause only spares it tries; a 404's would have been none)
        String failure = w.lastFailedAt() != null && w.lastFailedAt().equals(failedAt) ? w.lastFailure() : null;
        return failedAt != null && (w.lastDeliveredAt() == null || w.lastDeliveredAt() < failedAt)
                && now - failedAt < PAUSE_AFTER_FAILURE.toMillis()
                && failure != null && !answersTheSame(failure);
    }

    /**
     * The event's id as receivers see it ({@code Groupmsg-Event-Id}): its type and the message, the opt-out change (by
     * hand, a carrier's error, a START's lift on another line) or the reply it is about. The change before the reply:
     * a START's lifts on the account's other lines carry its inboundId too, and under one key each line's after the
     * first was taken for its copy, never delivered.
     */
    static String eventKey(Map<String, Object> event, String type, String fallbackKey) {
        Object about = event.get("messageId") != null ? event.get("messageId")
                : event.get("changeId") != null ? event.get("changeId") : event.get("inboundId");
        return type + "/" + (about instanceof String s && !s.isBlank() ? s : fallbackKey);
    }

    /** What came of an endpoint's tries: null when it took the event (2xx), else why not; at the url of the last try. */
    private record Tried(String failure, String url) {}

    /** The endpoint's tries of the event, within {@link #TRIES_BUDGET} of {@code started} (System.nanoTime()). */
    private Tried deliver(String accountId, Webhook w, String type, String eventKey, String body, long started)
            throws InterruptedException {
        if (paused(w, clock.millis())) return new Tried(PAUSED, w.url());
        String failure = null;
        for (int attempt = 0; attempt <= RETRY_PAUSES.size(); attempt++) {
            if (attempt > 0) {
                Duration pause = RETRY_PAUSES.get(attempt - 1);
                // the longest a try takes: its host lookup, then its connection and answer
                if (!triesAgain(Duration.ofNanos(System.nanoTime() - started), pause, targets.resolveTimeout().plus(deliveryTimeout))) {
                    return new Tried(failure, w.url());
                }
                Thread.sleep(pause.toMillis());
                // read again: deleted, disabled or no longer taking this type meanwhile, it gets no more tries; its
                // URL (or secret) changed, the next try goes to the new one
                var now = store.get(accountId, w.id());
                if (now.isEmpty() || !now.get().enabled() || !now.get().receives(type)) return new Tried(STOPPED, w.url());
                w = now.get();
            }
            failure = attempt(w, type, eventKey, body, deliveryTimeout).failure();
            if (!triedAgainInPass(failure)) return new Tried(failure, w.url());
        }
        return new Tried(failure, w.url());
    }

    /**
     * Whether a try that ended so is tried again within the pass (after {@link #RETRY_PAUSES}): not one taken, nor a
     * refusal or a 404, which will not change in seconds, nor no answer (the endpoint may still be working on it and
     * take it: three in a row made a receiver that answers in 12 s get each event 30 times), nor a 429 (the receiver
     * asked for less: three tries in 4 s of each event in flight tripled its load; the queue's next pass is a minute on
     * at the least, and the failure pauses the endpoint's other events for that minute).
     */
    static boolean triedAgainInPass(String failure) {
        return failure != null && !answersTheSame(failure) && !failure.startsWith(NO_ANSWER) && !failure.equals("HTTP 429");
    }

    /**
     * Whether another try, after {@code pause}, still ends within {@link #TRIES_BUDGET} of the dispatch's start, a try
     * taking {@code longestTry} at most (its addresses share the one wait for an answer).
     */
    static boolean triesAgain(Duration elapsed, Duration pause, Duration longestTry) {
        return elapsed.plus(pause).plus(longestTry).compareTo(TRIES_BUDGET) <= 0;
    }

    private static final String NO_ANSWER = "no answer within ";

    private static final String REFUSED = "refused: ";
    /** What {@link #deliver} answers for a webhook deleted or disabled between its tries. */
    private static final String STOPPED = "stopped";

    /** One try's outcome: the endpoint's status (0 when it gave none) and why it did not take it (null when it did). */
    public record Attempt(int status, String failure, long millis) {}

    /** A test event's one signed POST to the webhook, without retries. */
    public Attempt test(Webhook w, String type, String eventKey, String body) {
        return attempt(w, type, eventKey, body, TEST_TIMEOUT);
    }

    /** One signed POST of {@code body} to the webhook, without retries (each try of a delivery's, and a test's). */
    private Attempt attempt(Webhook w, String type, String eventKey, String body, Duration timeout) {
        URI uri = URI.create(w.url());
        long started = System.nanoTime();
        // resolved and checked before each try (a name may resolve to another address by then), and the POST goes to
        // the address checked, not to what the name resolves to a moment later
        var destination = targets.destination(uri);
        List<InetAddress> addresses;
        switch (destination) {
            case WebhookTargets.Destination.Refused refused -> {
                return new Attempt(0, REFUSED + refused.reason(), 0);
            }
            case WebhookTargets.Destination.Unresolved unresolved -> {
                return new Attempt(0, unresolved.reason(), millisSince(started));
            }
            case WebhookTargets.Destination.Address a -> addresses = a.addresses();
        }
        var headers = new LinkedHashMap<String, String>();
        headers.put("Content-Type", "application/json");
        headers.put("User-Agent", "groupmsg-webhooks/1");
        headers.put("Groupmsg-Event-Type", type);
        headers.put("Groupmsg-Event-Id", eventKey);
        headers.put("Groupmsg-Webhook-Id", w.id());
        headers.put(WebhookSignature.HEADER, WebhookSignature.header(w.signingSecrets(clock.millis()), clock.millis() / 1000, body));
        try {
            int status = post(uri, addresses, headers, body.getBytes(StandardCharsets.UTF_8), timeout);
            return new Attempt(status, status >= 200 && status < 300 ? null : "HTTP " + status, millisSince(started));
        } catch (java.net.SocketTimeoutException e) {
            return new Attempt(0, NO_ANSWER + timeout.toSeconds() + " s", millisSince(started));
        } catch (IOException | RuntimeException e) {
            // a RuntimeException too: a URL the JDK will not take (a name SNI refuses) is this endpoint's failure, not the event's
            return new Attempt(0, "could not connect (" + e.getClass().getSimpleName() + ")", millisSince(started));
        }
    }

    /** Addresses of a name tried in one try: one node down of a round-robin pair must not fail the delivery. */
    static final int ADDRESSES_TRIED = 2;

    /**
     * POSTs to the first address that takes the connection, of the first {@link #ADDRESSES_TRIED} (each connect waits
     * 2 s at most), all within {@code timeout}: what it answers decides, as does its silence, since it may be working
     * on the event.
     */
    private int post(URI uri, List<InetAddress> addresses, Map<String, String> headers, byte[] body, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int tried = Math.min(ADDRESSES_TRIED, addresses.size());
        for (int i = 0; ; i++) {
            try {
                // whole milliseconds, rounded up: the POST's own watchdog counts in them, and one that fired a
                // fraction before the deadline turned "no answer" into "could not connect"
                Duration left = Duration.ofMillis(Math.ceilDiv(deadline - System.nanoTime(), 1_000_000L));
                return http.get().post(uri, addresses.get(i), headers, body, left);
            } catch (java.net.ConnectException | java.net.NoRouteToHostException e) {
                if (i + 1 >= tried || deadline - System.nanoTime() <= 0) throw e;
            }
        }
    }

    private static long millisSince(long startedNanos) {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }
}
