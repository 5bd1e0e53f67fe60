package groupmsg.integrations;

import java.util.List;

/**
 * An account's webhook: where its events are POSTed, signed with {@code secret} (shown once, at creation).
 *
 * @param events          the event types it receives ({@link WebhookService#EVENT_TYPES})
 * @param lastDeliveredAt when an event last reached it (2xx), null before the first
 * @param lastFailedAt    when a delivery last failed, and why ({@code lastFailure}: the status or the error)
 */
public record Webhook(String id, String url, List<String> events, String description, String secret, long createdAt,
                      Long lastDeliveredAt, Long lastFailedAt, String lastFailure) {
    public static final String ID_PREFIX = "whk_";

    public Webhook(String id, String url, List<String> events, String description, String secret, long createdAt) {
        this(id, url, events, description, secret, createdAt, null, null, null);
    }

    public boolean receives(String type) {
        return events.contains(type);
    }
}
