package groupmsg.messages;

import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job of the deliveries queue: one message's recipients of one shard (what the fan-out enqueues), and, when its
 * line was busier than a worker may wait for, either the send times booked for it (the {@code i}-th for the
 * {@code i}-th recipient) or its place in the line's waiting line ({@link RateLimiter#ticket}). Such a job waits in
 * the queue (a message delay), not in a worker: one slow line's backlog used to hold every delivery worker (20 in
 * all) asleep for its rate slots, and every other account's sends waited behind it.
 *
 * @param booked   null, or one send time per recipient, in order
 * @param ticketAt 0, or where the job's place in the waiting line starts (epoch microseconds)
 */
record DeliveryJob(String accountId, String messageId, int shard, List<String> phones, RateLimiter.Slots booked,
                   long ticketAt) {
    /** A job with booked times arrives this long before the first (the queue's delay is in whole seconds). */
    static final long ARRIVE_EARLY_MILLIS = 3_000;
    /**
     * A job with a place arrives this long before it and books then: its times then start about this far ahead, and
     * the job (at most {@link DeliveryService#JOB_SPAN_MICROS} of sending) is sent within the worker's hold (15 s).
     */
    static final long TICKET_EARLY_MILLIS = 8_000;

    DeliveryJob {
        phones = List.copyOf(phones);
        if (booked != null && booked.count() != phones.size()) {
            throw new IllegalArgumentException(booked.count() + " send times booked for " + phones.size() + " recipients");
        }
        if (booked != null && ticketAt != 0) throw new IllegalArgumentException("booked times and a place");
    }

    /** A job as the fan-out (or maintenance) writes it: no booking, no place. */
    static DeliveryJob fresh(String accountId, String messageId, int shard, List<String> phones) {
        return new DeliveryJob(accountId, messageId, shard, phones, null, 0);
    }

    DeliveryJob withBooking(RateLimiter.Slots slots) {
        return new DeliveryJob(accountId, messageId, shard, phones, slots, 0);
    }

    /** Whether it can be delivered within a hold ending at {@code millis}: all its booked sends fall by then. */
    boolean dueBy(long millis) {
        return booked == null || booked.lastSendAtMillis() <= millis;
    }

    /** When it is meant to arrive (epoch ms): shortly before its booked times or its place; 0 when at once. */
    long arriveAt() {
        if (booked != null) return booked.sendAtMillis(0) - ARRIVE_EARLY_MILLIS;
        if (ticketAt != 0) return ticketAt / 1000 - TICKET_EARLY_MILLIS;
        return 0;
    }

    /**
     * Seconds to keep it out of sight from {@code now}: until {@link #arriveAt} (rounded down: never late for it),
     * at most SQS's 15 minutes (a job meant to arrive later comes back and waits again).
     */
    int delaySeconds(long now) {
        return (int) Math.clamp((arriveAt() - now) / 1000, 0, QueueMessage.MAX_DELAY_SECONDS);
    }

    /** The queue message, out of sight until the job is meant to arrive. */
    QueueMessage message(long now) {
        return messageDelayedBy(delaySeconds(now));
    }

    QueueMessage messageDelayedBy(int delaySeconds) {
        var body = new LinkedHashMap<String, Object>();
        body.put("accountId", accountId);
        body.put("messageId", messageId);
        body.put("shard", shard);
        body.put("phones", phones);
        if (booked != null) {
            body.put("booked", Map.of("at", booked.firstMicros(), "count", booked.count(), "every", booked.spacingMicros()));
        }
        if (ticketAt != 0) body.put("ticketAt", ticketAt);
        return new QueueMessage(Json.write(body), null, null, delaySeconds);
    }

    /** A job as enqueued (jobs enqueued before bookings existed have neither). */
    @SuppressWarnings("unchecked")
    static DeliveryJob parse(String body) {
        Map<String, Object> job = Json.parseObject(body);
        var booked = (Map<String, Object>) job.get("booked");
        return new DeliveryJob((String) job.get("accountId"), (String) job.get("messageId"),
                ((Number) job.get("shard")).intValue(), (List<String>) job.get("phones"),
                booked == null ? null : new RateLimiter.Slots(((Number) booked.get("at")).longValue(),
                        ((Number) booked.get("count")).intValue(), ((Number) booked.get("every")).longValue()),
                job.get("ticketAt") == null ? 0 : ((Number) job.get("ticketAt")).longValue());
    }
}
