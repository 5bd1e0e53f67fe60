package groupmsg.messages;

import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job of the deliveries queue: one message's recipients of one shard (what the fan-out enqueues), and, when its
 * line was busier than a worker may wait for, its place in the line's waiting line ({@link RateLimiter#ticket}).
 * Such a job waits in the queue (a message delay) until shortly before its place, not in a worker: one slow line's
 * backlog used to hold every delivery worker (20 in all) asleep for its rate slots, and every other account's sends
 * waited behind it. Back, it reserves its line's slots as any job does.
 *
 * @param ticketAt 0, or where the job's place starts (epoch microseconds)
 * @param skip     those of {@code phones} whose membership is marked undeliverable, with the error that marked it
 *                 (the fan-out's jobs only): their rows fail as skipped, never sent
 * @param placeMps the line's rate its place was given at (0: none, or a job placed before this was kept)
 */
record DeliveryJob(String accountId, String messageId, int shard, List<String> phones, long ticketAt,
                   Map<String, String> skip, double placeMps) {
    /**
     * A job with a place arrives this long before it: the line's cursor is then a few seconds ahead, and the job
     * (at most {@link DeliveryService#JOB_SPAN_MICROS} of sending) reserves right after it and is sent within the
     * worker's hold (15 s). The queue's delay is in whole seconds, rounded down: 3-4 s.
     */
    static final long ARRIVE_EARLY_MILLIS = 3_000;

    DeliveryJob {
        phones = List.copyOf(phones);
        skip = Map.copyOf(skip);
    }

    DeliveryJob(String accountId, String messageId, int shard, List<String> phones, long ticketAt,
                Map<String, String> skip) {
        this(accountId, messageId, shard, phones, ticketAt, skip, 0);
    }

    DeliveryJob(String accountId, String messageId, int shard, List<String> phones, long ticketAt) {
        this(accountId, messageId, shard, phones, ticketAt, Map.of());
    }

    /** A job placed at {@code ticketAt} in a waiting line given at {@code mps}. */
    static DeliveryJob placed(String accountId, String messageId, int shard, List<String> phones, long ticketAt, double mps) {
        return new DeliveryJob(accountId, messageId, shard, phones, ticketAt, Map.of(), mps);
    }

    /** This job without its place: it goes as a fresh job would (its line's rate was raised since it was placed). */
    DeliveryJob withoutPlace() {
        return new DeliveryJob(accountId, messageId, shard, phones, 0, skip, 0);
    }

    /** A job as the fan-out (or maintenance) writes it: no place. */
    static DeliveryJob fresh(String accountId, String messageId, int shard, List<String> phones) {
        return new DeliveryJob(accountId, messageId, shard, phones, 0);
    }

    /** A fan-out's job, whose members marked undeliverable are skipped. */
    static DeliveryJob fresh(String accountId, String messageId, int shard, List<String> phones, Map<String, String> skip) {
        return new DeliveryJob(accountId, messageId, shard, phones, 0, skip);
    }

    /** When it is meant to arrive (epoch ms): shortly before its place; 0 for at once. */
    long arriveAt() {
        return ticketAt == 0 ? 0 : ticketAt / 1000 - ARRIVE_EARLY_MILLIS;
    }

    /**
     * Seconds to keep it out of sight from {@code now}: until {@link #arriveAt} (rounded down: never late for it),
     * at most SQS's 15 minutes (a job meant to arrive later comes back and waits again, then 15 minutes at a time).
     */
    int delaySeconds(long now) {
        long seconds = Math.max(0, (arriveAt() - now) / 1000);
        if (seconds <= QueueMessage.MAX_DELAY_SECONDS) return (int) seconds;
        // Further off than SQS delays: come back a whole number of 15 minutes before it, so the hops of jobs placed
        // together stay as spread as their places (all at 15 minutes, a wave of jobs came back at once every time).
        long rest = seconds % QueueMessage.MAX_DELAY_SECONDS;
        if (rest == 0) return QueueMessage.MAX_DELAY_SECONDS;
        return (int) (rest < MIN_HOP_SECONDS ? rest + QueueMessage.MAX_DELAY_SECONDS - MIN_HOP_SECONDS : rest);
    }

    /** The shortest hop of a job whose place is more than 15 minutes off. */
    static final int MIN_HOP_SECONDS = 60;

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
        if (ticketAt != 0) body.put("ticketAt", ticketAt);
        if (placeMps > 0) body.put("placeMps", placeMps);
        if (!skip.isEmpty()) body.put("skip", skip);
        return new QueueMessage(Json.write(body), null, null, delaySeconds);
    }

    /** A job as enqueued (the fan-out's have no place). */
    @SuppressWarnings("unchecked")
    static DeliveryJob parse(String body) {
        Map<String, Object> job = Json.parseObject(body);
        return new DeliveryJob((String) job.get("accountId"), (String) job.get("messageId"),
                ((Number) job.get("shard")).intValue(), (List<String>) job.get("phones"),
                job.get("ticketAt") == null ? 0 : ((Number) job.get("ticketAt")).longValue(),
                job.get("skip") == null ? Map.of() : (Map<String, String>) job.get("skip"),
                job.get("placeMps") instanceof Number mps ? mps.doubleValue() : 0);
    }
}
