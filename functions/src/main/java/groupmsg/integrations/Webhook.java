package groupmsg.integrations;

import java.util.ArrayList;
import java.util.List;

/**
 * An account's webhook: where its events are POSTed, signed with {@code secret} (shown once, at creation or
 * rotation).
 *
 * @param events                  the event types it receives ({@link WebhookService#EVENT_TYPES})
 * @param lastDeliveredAt         when an event last reached it (2xx), null before the first
 * @param lastFailedAt            when a delivery last failed, and why ({@code lastFailure}: the status or the error)
 * @param previousSecret          the secret before the latest rotation, still signed with until
 *                                {@code previousSecretExpiresAt} (so a receiver can switch over), null when none
 * @param failingSince            when the deliveries that failed since the last one taken began failing (null while
 *                                it takes them): failing for {@link WebhookDispatcher#DISABLE_AFTER}, it is disabled
 * @param disabledAt              when it stopped getting events (null while enabled), and why ({@code disabledReason})
 * @param enabledAt               when it was last enabled again after being disabled (null: never; it took events
 *                                from its creation)
 * @param disabledUntold          disabled after its failures, and the account not told yet (the publish failed)
 * @param deliveryFailedAt        when a delivery (not a test) last failed; null on an item from before it was kept,
 *                                whose {@code lastFailedAt} was a delivery's
 */
public record Webhook(String id, String url, List<String> events, String description, String secret, long createdAt,
                      Long lastDeliveredAt, Long lastFailedAt, String lastFailure, String previousSecret,
                      Long previousSecretExpiresAt, Long failingSince, Long disabledAt, String disabledReason,
                      Long enabledAt, boolean disabledUntold, Long deliveryFailedAt) {
    public static final String ID_PREFIX = "whk_";

    /** A new webhook. */
    public Webhook(String id, String url, List<String> events, String description, String secret, long createdAt) {
        this(id, url, events, description, secret, createdAt, null, null, null, null, null, null, null, null, null, false, null);
    }

    /**
     * Whether an event that reached the queue at {@code publishedAt} (epoch ms, the queue's clock) is this webhook's:
     * one published before it existed, or before it was last enabled again, is not kept for it (its retry must not
     * bring it later). With {@link #CLOCKS_APART_MILLIS} to spare: our clock may run ahead of the queue's, and an event
     * taken for an older one is lost to the webhook, where one taken for newer is only delivered.
     */
    public boolean takesEventPublishedAt(long publishedAt) {
        return publishedAt + CLOCKS_APART_MILLIS >= Math.max(createdAt, enabledAt == null ? 0 : enabledAt);
    }

    static final long CLOCKS_APART_MILLIS = 5_000;

    public boolean receives(String type) {
        // one created when group messages could be asked for keeps that type in its item: it gets none
        return events.contains(type) && WebhookService.EVENT_TYPES.contains(type);
    }

    public boolean enabled() {
        return disabledAt == null;
    }

    /** Whether the secret before the latest rotation is still signed with at {@code now}. */
    public boolean previousSecretLive(long now) {
        return previousSecret != null && previousSecretExpiresAt != null && now < previousSecretExpiresAt;
    }

    /** Whether a previous secret is kept that no longer signs at {@code now} (its time ran out). */
    public boolean previousSecretExpired(long now) {
        return previousSecret != null && previousSecretExpiresAt != null && now >= previousSecretExpiresAt;
    }

    /** The secrets a delivery at {@code now} is signed with: the current one, then the previous while it lives. */
    public List<String> signingSecrets(long now) {
        List<String> secrets = new ArrayList<>(List.of(secret));
        if (previousSecretLive(now)) secrets.add(previousSecret);
        return secrets;
    }
}
