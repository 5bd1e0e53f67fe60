package groupmsg.local.carrier;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A message the emulator accepted through its REST API. Its status moves {@code queued -> sent -> delivered}
 * as the emulator "delivers" it; thread-safe.
 */
public final class EmulatedMessage {
    private final String sid;
    private final String from;
    private final String to;
    private final String body;
    private final List<String> mediaUrls;
    private final String statusCallback;
    private final int numSegments;
    private final Instant createdAt;
    private final List<String> statusHistory = new ArrayList<>();
    private String status;
    private Instant updatedAt;

    /** What the carrier decided at the send it would fail as (a loop: 14107), or null. */
    private final CarrierEmulator.Failure failure;

    EmulatedMessage(String sid, String from, String to, String body, List<String> mediaUrls, String statusCallback,
                    int numSegments, Instant createdAt) {
        this(sid, from, to, body, mediaUrls, statusCallback, numSegments, createdAt, null);
    }

    EmulatedMessage(String sid, String from, String to, String body, List<String> mediaUrls, String statusCallback,
                    int numSegments, Instant createdAt, CarrierEmulator.Failure failure) {
        this.failure = failure;
        this.sid = sid;
        this.from = from;
        this.to = to;
        this.body = body;
        this.mediaUrls = List.copyOf(mediaUrls);
        this.statusCallback = statusCallback;
        this.numSegments = numSegments;
        this.createdAt = createdAt;
        this.status = "queued";
        this.updatedAt = createdAt;
        this.statusHistory.add(status);
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

    /** The {@code StatusCallback} URL exactly as given, or null. */
    public String statusCallback() {
        return statusCallback;
    }

    public int numSegments() {
        return numSegments;
    }

    public Instant createdAt() {
        return createdAt;
    }

    /** How the carrier fails this message whatever its number (a loop), or null. */
    public CarrierEmulator.Failure failure() {
        return failure;
    }

    public synchronized String status() {
        return status;
    }

    public synchronized Instant updatedAt() {
        return updatedAt;
    }

    /** Every status it had, oldest first. */
    public synchronized List<String> statusHistory() {
        return List.copyOf(statusHistory);
    }

    synchronized void status(String newStatus, Instant at) {
        status = newStatus;
        updatedAt = at;
        statusHistory.add(newStatus);
    }
}
