package groupmsg.messages;

import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job of the deliveries queue: one message's recipients of one shard (what the fan-out enqueues), and, when its
 * line was booked further ahead than a worker may wait, the send times booked for it. Such a job waits for its
 * times in the queue (a message delay), not in a worker: one slow line's backlog used to hold every delivery worker
 * (20 in all) asleep for its rate slots, and every other account's sends waited behind it.
 */
record DeliveryJob(String accountId, String messageId, int shard, List<String> phones, RateLimiter.Slots booked) {
    /** A job arrives this long before its first booked send (the queue's delay is in whole seconds). */
    static final long ARRIVE_EARLY_MILLIS = 3_000;

    DeliveryJob {
        phones = List.copyOf(phones);
        if (booked != null && booked.count() < phones.size()) {
            throw new IllegalArgumentException(booked.count() + " send times booked for " + phones.size() + " recipients");
        }
    }

    /** Whether all its booked sends (if any) fall at or before {@code millis}: it can be delivered by then. */
    boolean dueBy(long millis) {
        return booked == null || booked.lastSendAtMillis() <= millis;
    }

    /**
     * Seconds to keep the job out of sight from {@code now}: until {@link #ARRIVE_EARLY_MILLIS} before its first
     * booked send (rounded down: never late for it), at most SQS's 15 minutes (a job booked further ahead comes
     * back and waits again).
     */
    int delaySeconds(long now) {
        if (booked == null) return 0;
        long wait = booked.sendAtMillis(0) - ARRIVE_EARLY_MILLIS - now;
        return (int) Math.clamp(wait / 1000, 0, QueueMessage.MAX_DELAY_SECONDS);
    }

    QueueMessage toQueueMessage(long now) {
        return toQueueMessage(delaySeconds(now));
    }

    QueueMessage toQueueMessage(int delaySeconds) {
        var body = new LinkedHashMap<String, Object>();
        body.put("accountId", accountId);
        body.put("messageId", messageId);
        body.put("shard", shard);
        body.put("phones", phones);
        if (booked != null) {
            body.put("booked", Map.of("at", booked.firstMicros(), "count", booked.count(), "every", booked.spacingMicros()));
        }
        return new QueueMessage(Json.write(body), null, null, delaySeconds);
    }

    /** A job as enqueued (jobs enqueued before bookings existed have none). */
    @SuppressWarnings("unchecked")
    static DeliveryJob parse(String body) {
        Map<String, Object> job = Json.parseObject(body);
        var booked = (Map<String, Object>) job.get("booked");
        return new DeliveryJob((String) job.get("accountId"), (String) job.get("messageId"),
                ((Number) job.get("shard")).intValue(), (List<String>) job.get("phones"),
                booked == null ? null : new RateLimiter.Slots(((Number) booked.get("at")).longValue(),
                        ((Number) booked.get("count")).intValue(), ((Number) booked.get("every")).longValue()));
    }
}
