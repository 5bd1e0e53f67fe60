package groupmsg.messages;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Wiring;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A group message's two notifications: {@code group_message.accepted} as its fan-out starts (what an in-app, push or
 * email copy of the message is made from, at once: the texts of a large group on a slow line take hours), and, once
 * fan-out is done and no delivery is queued or sending, status {@code sent} and the {@code group_message.sent}
 * notification with its counts. Only the caller whose conditional update wins publishes; its
 * {@code JOBS#sending} row stays until the event is out, so an event whose publish failed (or whose worker died
 * first) is published by maintenance {@link #EVENT_GRACE} later: at least once, and twice only after such a failure.
 * Group messages never go to the integrations topic. A message with rows still {@code sent} gets its first
 * {@link OverdueReceipts} check in the same transaction.
 */
final class Completion {
    /** How long after completing a message its event may still be on its way from the caller that completed it. */
    static final Duration EVENT_GRACE = Duration.ofMinutes(2);

    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final EventPublisher events;
    private final Clock clock;

    Completion(Wiring wiring, MessageStore messages, DeliveryStore deliveries) {
        this.messages = messages;
        this.deliveries = deliveries;
        this.events = wiring.events();
        this.clock = wiring.clock();
    }

    /** Returns true when this call completed the message. */
    boolean tryComplete(String accountId, String messageId) {
        GroupMessage m = messages.get(accountId, messageId).orElse(null);
        if (m == null || !m.fanoutDone() || GroupMessage.SENT.equals(m.status())) return false;
        Map<String, Long> counts = deliveries.counts(m.id(), m.shards());
        if (queued(m, counts) > 0 || counts.get(Delivery.SENDING) > 0) return false;
        long now = clock.millis();
        boolean notify = m.kind() == MessageKind.GROUP;
        // rows still waiting for their final receipt are checked against the carrier later, should it never come
        var receiptCheck = counts.get(Delivery.SENT) > 0 ? OverdueReceipts.firstCheck(m, now) : null;
        if (!messages.complete(m, now, notify, receiptCheck)) return false;
        if (notify) publish(m, counts, now);
        return true;
    }

    /** How long a sweep's claim of a late event holds off the others (a sweep's run is a minute at most). */
    static final Duration LATE_EVENT_CLAIM = Duration.ofMinutes(2);

    /**
     * Publishes the event of a message completed more than {@link #EVENT_GRACE} ago whose job row is still there
     * (its first publish failed); returns true if it did.
     */
    boolean publishLateEvent(MessageStore.SendingJob job) {
        if (job.completedAt() <= 0 || job.completedAt() > clock.millis() - EVENT_GRACE.toMillis()) return false;
        GroupMessage m = messages.get(job.accountId(), job.messageId()).orElse(null);
        if (m == null || !GroupMessage.SENT.equals(m.status())) {
            messages.finishJob(job.accountId(), job.messageId()); // nothing to announce
            return false;
        }
        // two sweeps that overlap (one may use its whole minute) both list the row: one publishes
        long claimedAt = clock.millis();
        if (!messages.claimLateEvent(job.accountId(), job.messageId(), claimedAt, LATE_EVENT_CLAIM.toMillis())) return false;
        try {
            // the row read again: the one listed may be a sweep old; its acceptance being published elsewhere, the
            // sent event waits for a later sweep (not before it)
            if (announceAcceptance(m) == Acceptance.CLAIMED_ELSEWHERE) {
                messages.releaseLateEvent(job.accountId(), job.messageId(), claimedAt);
                return false;
            }
            announce(m, deliveries.counts(m.id(), m.shards()), m.completedAt() == null ? job.completedAt() : m.completedAt());
        } catch (RuntimeException e) {
            // not out: the next sweep tries (an event out whose row's delete fails keeps the claim, and waits it out)
            try {
                messages.releaseLateEvent(job.accountId(), job.messageId(), claimedAt);
            } catch (RuntimeException again) {
                e.addSuppressed(again); // the claim runs out by itself
            }
            throw e;
        }
        messages.finishJob(m.accountId(), m.id());
        return true;
    }

    /** What {@link #announceAcceptance} did. */
    enum Acceptance {
        /** This call published the event. */
        PUBLISHED,
        /** Out already (or a message of another kind, which has none): nothing to publish. */
        OUT,
        /** Another caller claimed its publish moments ago: it publishes it (or lets go, and a sweep does). */
        CLAIMED_ELSEWHERE
    }

    /**
     * Publishes the message's acceptance event unless its job row says it is out, or another caller is publishing it:
     * the publish is claimed on the row first ({@code acceptedClaimedAt}, for {@link #LATE_EVENT_CLAIM}; let go when
     * the publish fails), so two callers at once (a fan-out job delivered twice, a sweep beside a late fan-out) publish
     * it once. The row records it after the publish: at least once, twice only when that record fails.
     * {@code messageId} is the key to de-duplicate on.
     */
    Acceptance announceAcceptance(GroupMessage m) {
        MessageStore.SendingJob job = messages.sendingJob(m.accountId(), m.id()).orElse(null);
        if (job == null || job.acceptedEventAt() > 0) return Acceptance.OUT;
        if (m.kind() != MessageKind.GROUP) { // a row from before such rows said so at accept: none to publish
            messages.markAcceptedEvent(m.accountId(), m.id(), clock.millis());
            return Acceptance.OUT;
        }
        String claimant = java.util.UUID.randomUUID().toString();
        if (!messages.claimAcceptedEvent(m.accountId(), m.id(), clock.millis(), LATE_EVENT_CLAIM.toMillis(), claimant)) {
            return messages.sendingJob(m.accountId(), m.id()).map(j -> j.acceptedEventAt() == 0).orElse(false)
                    ? Acceptance.CLAIMED_ELSEWHERE : Acceptance.OUT;
        }
        try {
            events.publish(Topic.NOTIFICATIONS, m.accountId(), ACCEPTED_EVENT, event(m));
        } catch (RuntimeException e) {
            try {
                messages.releaseAcceptedEvent(m.accountId(), m.id(), claimant);
            } catch (RuntimeException again) {
                e.addSuppressed(again); // the claim runs out by itself
            }
            throw e;
        }
        messages.markAcceptedEvent(m.accountId(), m.id(), clock.millis());
        return Acceptance.PUBLISHED;
    }

    static final String ACCEPTED_EVENT = "group_message.accepted";

    /**
     * Publishes the message's events (its acceptance first, if not out), then removes its job row. While another caller
     * publishes the acceptance, the sent event waits (not before it): the row stays, and maintenance publishes it
     * {@link #EVENT_GRACE} on.
     */
    private void publish(GroupMessage m, Map<String, Long> counts, long completedAt) {
        if (announceAcceptance(m) == Acceptance.CLAIMED_ELSEWHERE) return;
        announce(m, counts, completedAt);
        messages.finishJob(m.accountId(), m.id());
    }

    private void announce(GroupMessage m, Map<String, Long> counts, long completedAt) {
        var event = event(m);
        event.put("counts", MessagesJson.counts(m, counts));
        event.put("completedAt", Timestamps.format(completedAt));
        events.publish(Topic.NOTIFICATIONS, m.accountId(), "group_message.sent", event);
    }

    /** What both events say of the message: what a push or an email turns into its content, without an API read. */
    private static LinkedHashMap<String, Object> event(GroupMessage m) {
        var event = new LinkedHashMap<String, Object>();
        event.put("messageId", m.id());
        event.put("groupId", m.groupId());
        event.put("lineId", m.lineId());
        event.put("sender", m.sender());
        event.put("title", m.title());
        event.put("body", m.body());
        event.put("mediaUrls", m.mediaUrls());
        event.put("createdAt", Timestamps.format(m.acceptedAt()));
        event.put("recipients", m.recipients());
        return event;
    }

    static long queued(GroupMessage m, Map<String, Long> counts) {
        long settled = counts.values().stream().mapToLong(Long::longValue).sum();
        return Math.max(0, m.recipients() - settled);
    }
}
