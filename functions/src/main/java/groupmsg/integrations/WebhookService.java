package groupmsg.integrations;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.List;

/**
 * An account's webhooks ({@code /v1/webhooks}): the events of its own that are POSTed to its endpoints, as the
 * operator-wide SNS topics carry them (see {@link WebhookDispatcher}).
 */
public final class WebhookService {
    /**
     * The event types an account's webhooks can receive: the integrations topic's, a reply and a number's opt-out
     * changing. Group messages are not forwarded to integrations (API.md): {@code group_message.accepted} and
     * {@code group_message.sent} are notifications (the notifications topic's push and email subscribers), and no
     * webhook gets them.
     */
    public static final List<String> EVENT_TYPES = List.of("reply.received", "opt_out.changed");
    /** The notifications a webhook body may name by mistake for the group message's own events. */
    public static final List<String> GROUP_MESSAGE_EVENTS = List.of("group_message.accepted", "group_message.sent");
    /** What a webhook created without {@code events} receives: all of them. */
    public static final List<String> DEFAULT_EVENT_TYPES = EVENT_TYPES;
    /** Webhooks per account: each event is POSTed to all of them side by side. */
    public static final int MAX_PER_ACCOUNT = 5;

    private final WebhookStore store;
    private final WebhookTargets targets;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** Built for the first test event (its HTTP client with it). */
    private final Lazy<WebhookDispatcher> dispatcher;
    private final Ids ids;

    public WebhookService(Wiring wiring) {
        this.dispatcher = new Lazy<>(() -> new WebhookDispatcher(wiring));
        this.ids = wiring.ids();
        this.store = new WebhookStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.targets = new WebhookTargets(wiring.config().webhooksToLoopback());
        this.clock = wiring.clock();
    }

    public WebhookTargets targets() {
        return targets;
    }

    /**
     * @param ulid the id's time-ordered part: the same on every run of one request under an Idempotency-Key, so a
     *             run after one that stored the webhook answers it (with its secret) instead of making a second
     */
    public Webhook create(Caller caller, String url, List<String> events, String description, String ulid) {
        String accountId = caller.accountId();
        String id = Webhook.ID_PREFIX + ulid;
        var earlier = store.get(accountId, id);
        if (earlier.isPresent()) return earlier.get();
        var webhook = new Webhook(id, url, List.copyOf(events), description, newSecret(), Ids.timeOf(ulid));
        if (!store.create(caller, webhook, MAX_PER_ACCOUNT)) {
            throw ApiException.conflict("the account has " + MAX_PER_ACCOUNT + " webhooks, the most it may have; delete one first");
        }
        return store.get(accountId, id).orElse(webhook);
    }

    /** Whether the webhook's latest rotation was {@code rotation}'s (a retried request's check for what its first run did). */
    public boolean rotatedUnder(String accountId, String id, String rotation) {
        return store.rotatedUnder(accountId, id, rotation);
    }

    /**
     * Whether the account has this webhook, or had it and deleted it within 30 days (a retried request's check for what
     * its first run stored: one whose webhook was deleted since keeps that id, and its retry is a 409).
     */
    public boolean existsOrDeleted(String accountId, String id) {
        return store.get(accountId, id).isPresent() || store.deleted(accountId, id);
    }

    public List<Webhook> list(String accountId) {
        return store.list(accountId);
    }

    public Webhook get(String accountId, String id) {
        if (!id.startsWith(Webhook.ID_PREFIX)) throw ApiException.notFound("webhook");
        return store.get(accountId, id).orElseThrow(() -> ApiException.notFound("webhook"));
    }

    /**
     * Changes what is given (null: leave as it is; an empty description removes it; {@code enabled} turns deliveries
     * off, or on again after the account or a stretch of failures turned them off); the secret stays.
     */
    public Webhook update(Caller caller, String id, String url, List<String> events, String description, Boolean enabled) {
        String accountId = caller.accountId();
        Webhook current = get(accountId, id);
        // enabling one that is enabled changes nothing (a client sending its whole object must not restart the clock)
        if (Boolean.TRUE.equals(enabled) && current.enabled()) enabled = null;
        if (url != null && url.equals(current.url())) url = null; // the same address: its record of failures stands
        if (url == null && events == null && description == null && enabled == null) return current;
        if (!store.update(caller, id, url, events == null ? null : List.copyOf(events), description, enabled, clock.millis())) {
            throw ApiException.notFound("webhook");
        }
        return get(accountId, id);
    }

    /** Tests an account may send in a minute, of all its webhooks. */
    public static final int MAX_TESTS_PER_MINUTE = 10;

    /** What came of a test: sent (and what the endpoint said), or not sent, the account's tests of the minute spent. */
    public sealed interface TestOutcome permits Tested, TooManyTests {}

    public record Tested(WebhookDispatcher.Attempt attempt) implements TestOutcome {}

    /** {@link #MAX_TESTS_PER_MINUTE} sent this minute already; the next minute begins in {@code retryAfterSeconds}. */
    public record TooManyTests(int retryAfterSeconds) implements TestOutcome {}

    /**
     * Sends the webhook a {@code webhook.test} event now, signed as any, once (no retries), and says what came of it;
     * recorded on the webhook as a delivery is (a 2xx ends a pause after failures). At most
     * {@link #MAX_TESTS_PER_MINUTE} a minute per account: each answer tells how a connection to the URL went (refused,
     * timed out, the status), and an admin key changing a webhook's URL and testing it again and again could map
     * which ports of a public host answer, from the platform's addresses.
     */
    public TestOutcome test(String accountId, String id) {
        Webhook w = get(accountId, id);
        long now = clock.millis();
        if (!store.countTest(accountId, now / 60_000, MAX_TESTS_PER_MINUTE)) {
            return new TooManyTests((int) Math.max(1, (60_000 - now % 60_000 + 999) / 1000));
        }
        return new Tested(send(accountId, id, w));
    }

    private WebhookDispatcher.Attempt send(String accountId, String id, Webhook w) {
        String ulid = ids.next("");
        var event = new java.util.LinkedHashMap<String, Object>();
        event.put("type", TEST_EVENT);
        event.put("accountId", accountId);
        event.put("webhookId", w.id());
        event.put("createdAt", groupmsg.platform.api.Timestamps.format(clock.millis()));
        var attempt = dispatcher.get().test(w, TEST_EVENT, TEST_EVENT + "/" + ulid, groupmsg.platform.json.Json.write(event));
        // shown as a delivery's outcome, but a failed test never counts toward disabling the webhook, nor pauses it:
        // an item without deliveryFailedAt gets its last failure's time when a stretch goes on (a delivery's), else 0
        long now = clock.millis();
        store.recordTestOutcome(accountId, id, attempt.failure(), now, now - WebhookDispatcher.QUIET_SPELL.toMillis(),
                w.failingSince() != null && w.lastFailedAt() != null ? w.lastFailedAt() : 0L, w.url());
        return attempt;
    }

    /** How long the previous secret may be kept after a rotation: a week to roll it out to every receiver. */
    public static final int MAX_PREVIOUS_SECRET_HOURS = 168;

    /**
     * Gives the webhook a new secret (the answer shows it, as a create does). Deliveries are signed with both until
     * the one it replaces expires, {@code previousSecretHours} from now (0: at once), so receivers can switch without
     * refusing a delivery; a secret kept from a rotation before is dropped. {@code rotation} is the request's id: a run
     * of a request under an Idempotency-Key after one that rotated (and failed before answering) answers that
     * rotation instead of making another.
     */
    public Webhook rotateSecret(Caller caller, String id, int previousSecretHours, String rotation) {
        String accountId = caller.accountId();
        for (int attempt = 0; attempt < 3; attempt++) {
            Webhook w = get(accountId, id);
            Long until = previousSecretHours == 0 ? null : clock.millis() + previousSecretHours * 3_600_000L;
            if (store.rotate(caller, id, w.secret(), newSecret(), until, rotation) != WebhookStore.Rotation.RACED) {
                return get(accountId, id);
            }
        }
        throw ApiException.conflict("the webhook's secret was rotated by another request meanwhile; try again");
    }

    /** The type of a test event ({@code POST /v1/webhooks/{id}/test}): sent whatever the webhook's {@code events}. */
    public static final String TEST_EVENT = "webhook.test";

    /** Deletes it; 404 when there is none, 403 when {@code caller}'s key was revoked while the request ran. */
    public void delete(Caller caller, String id) {
        if (!id.startsWith(Webhook.ID_PREFIX) || !store.delete(caller, id, clock.millis())) throw ApiException.notFound("webhook");
    }

    private String newSecret() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        return "whsec_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
