package groupmsg.local.carrier;

import java.time.Instant;
import java.util.List;

/**
 * A message a phone "sent" to one of the business's numbers through {@code POST /local/carrier/inbound}, and
 * what became of its webhook. Thread-safe.
 */
public final class EmulatedInbound {
    private final String sid;
    private final String from;
    private final String to;
    private final String body;
    private final List<String> mediaUrls;
    private final String webhookUrl;
    private final Instant createdAt;
    private volatile Integer webhookStatus;

    EmulatedInbound(String sid, String from, String to, String body, List<String> mediaUrls, String webhookUrl,
                    Instant createdAt) {
        this.sid = sid;
        this.from = from;
        this.to = to;
        this.body = body;
        this.mediaUrls = List.copyOf(mediaUrls);
        this.webhookUrl = webhookUrl;
        this.createdAt = createdAt;
    }

    public String sid() {
        return sid;
    }

    public String from() {
        return from;
    }

    public String to() {
        return to;
    }

    public String body() {
        return body;
    }

    public List<String> mediaUrls() {
        return mediaUrls;
    }

    /** The URL the webhook is signed over (the public base URL's {@code /webhooks/twilio/inbound}). */
    public String webhookUrl() {
        return webhookUrl;
    }

    public Instant createdAt() {
        return createdAt;
    }

    /** The webhook's HTTP status; null while not yet attempted, -1 when it could not be delivered. */
    public Integer webhookStatus() {
        return webhookStatus;
    }

    void webhookStatus(int status) {
        this.webhookStatus = status;
    }
}
