package groupmsg.messages;

import groupmsg.groups.GroupService;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Expands an accepted message into delivery rows and delivery batches, one page of members at a time:
 * claim the page with a lease, write its queued rows, enqueue its batches, then move the checkpoint past the
 * page with a condition on the checkpoint it started from. A crash anywhere repeats at most the current page:
 * the next run takes the expired lease over, reads which rows exist and skips them (rows of a page written for
 * the first time are not read: they cannot exist), and its re-enqueued batches find their rows claimed or done:
 * no duplicates, no gaps. The lease also keeps two copies of one job from writing the same page at once (a
 * claimed row rewritten as queued could be sent twice). Long fan-outs hand over to a fresh invocation before the Lambda times out.
 */
public final class FanoutService {
    static final int PAGE_SIZE = 1000;
    static final long TIME_BUDGET_MILLIS = 60_000;
    /** A page's lease outlives the run that holds it: the worker's timeout plus a margin. */
    static final long PAGE_LEASE_MILLIS = (Handlers.FANOUT_WORKER.timeoutSeconds() + 30) * 1000L;

    private final GroupService groups;
    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final QueueSender queue;
    private final Completion completion;
    private final Clock clock;
    private final groupmsg.platform.config.Ids ids;

    public FanoutService(Wiring wiring, GroupService groups, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.groups = groups;
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.queue = queue;
        this.completion = new Completion(wiring, messages, deliveries);
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    static QueueMessage job(String accountId, String messageId) {
        return new QueueMessage(Json.write(Map.of("accountId", accountId, "messageId", messageId)), null, null);
    }

    /**
     * A lost fan-out's job as maintenance sends it again: at once, and with its quick retries spent, since maintenance
     * is the slow retry already (each job it sent used to bring three quick retries of its own, every sweep).
     */
    static QueueMessage redrivenJob(String accountId, String messageId) {
        return new QueueMessage(Json.write(Map.of("accountId", accountId, "messageId", messageId, "retries", QUICK_RETRIES)),
                null, null);
    }

    /** Quick retries of a failed fan-out (see FanoutWorkerHandler) before SQS's own. */
    public static final int QUICK_RETRIES = 3;

    /**
     * A retry that found its page leased, again once the lease has ended (its quick retries spent: a page still leased
     * then is a live run's, and this comes back after that one's lease in turn, until the fan-out is done).
     */
    static QueueMessage afterTheLease(String accountId, String messageId) {
        return new QueueMessage(Json.write(Map.of("accountId", accountId, "messageId", messageId, "retries", QUICK_RETRIES)),
                null, null, (int) (PAGE_LEASE_MILLIS / 1000) + 5);
    }

    /** A failed fan-out's job again, its {@code retries}th quick one, {@code 10 * retries} seconds from now. */
    static QueueMessage retryJob(String accountId, String messageId, int retries) {
        return new QueueMessage(Json.write(Map.of("accountId", accountId, "messageId", messageId, "retries", retries)),
                null, null, 10 * retries);
    }

    /**
     * Recipients per delivery batch: about five seconds of the line's rate, at most a page, so on a fast line a
     * shard's share of a page (~200) is one job, delivered in even blocks of at most one transaction's worth (it
     * used to be jobs of at most 98: 98 + 98 + a few, each job costing its own message read and completion check).
     */
    static int batchSize(double mps) {
        return (int) Math.max(1, Math.min(PAGE_SIZE, Math.floor(mps * 5)));
    }

    public void run(String accountId, String messageId) {
        run(accountId, messageId, false);
    }

    /**
     * @param retried whether the job is a retry of a failed run (or maintenance's): a page it finds leased may be
     *                that run's, whose lease nobody gives back, so it comes back when the lease has ended
     */
    public void run(String accountId, String messageId, boolean retried) {
        long started = clock.millis();
        GroupMessage m = messages.get(accountId, messageId).orElse(null);
        if (m == null) {
            Log.warn("fanout_unknown_message", Map.of("messageId", messageId));
            return;
        }
        var checkpoint = messages.checkpoint(accountId, messageId);
        String cursor = checkpoint.cursor();
        if (m.kind() == MessageKind.GROUP && cursor == null && !checkpoint.done()) {
            try {
                completion.announceAcceptance(m);
            } catch (RuntimeException e) {
                // the texts do not wait for the topic: maintenance publishes it (Completion.EVENT_GRACE on), or the
                // message's completion does, first
                Log.error("group_message_accepted_event_failed", Map.of("messageId", messageId), e);
            }
        }
        boolean done = checkpoint.done();
        boolean pageTakenOver = checkpoint.pageTakenOver();
        // the page this run holds the lease on, and since when: given back if the run fails part way
        String leased = null;
        long leasedAt = 0;
        try {
            while (!done) {
                var page = m.kind() == MessageKind.GROUP
                        ? groups.recipientsAt(accountId, m.groupId(), m.acceptedAt(), cursor, PAGE_SIZE)
                        : new GroupService.RecipientPage(m.recipientList(), Map.of(), Map.of(), null, true);
                long now = clock.millis();
                String lease = ids.next("");
                var claim = messages.claimPage(accountId, messageId, cursor, now, PAGE_LEASE_MILLIS, lease);
                if (claim == MessageStore.PageClaim.BUSY) {
                    Log.info("fanout_page_busy", Map.of("messageId", messageId, "retried", retried));
                    // the failed run's claim may have gone through unanswered, or its release failed: nothing else
                    // brings the fan-out back when that lease ends, and maintenance only after 10 minutes
                    if (retried) queue.send(Queues.FANOUT, List.of(afterTheLease(accountId, messageId)));
                    return;
                }
                leased = cursor;
                leasedAt = now;
                if (claim == MessageStore.PageClaim.TAKEN_OVER && !pageTakenOver) {
                    messages.markPageTakenOver(accountId, messageId); // before any row is written
                    pageTakenOver = true;
                }
                Set<String> handled = deliveries.insertQueued(m.accountId(), m.id(), m.shards(), page.phones(), page.names(),
                        now, pageTakenOver);
                // a page taken over: no second job for rows a worker has already (each would take a place in a busy
                // line's waiting line and idle it; a 1,000-number page on a 1 mps line, 18 minutes)
                List<String> toSend = handled.isEmpty() ? page.phones()
                        : page.phones().stream().filter(p -> !handled.contains(p)).toList();
                queue.send(Queues.DELIVERIES, batches(m, toSend, page.undeliverable()));
                if (!messages.advance(accountId, messageId, cursor, page.lastPhone(), page.phones().size(), lease)) {
                    Log.info("fanout_superseded", Map.of("messageId", messageId));
                    return;
                }
                leasedAt = 0;
                cursor = page.lastPhone();
                done = page.done();
                if (!done && clock.millis() - started > TIME_BUDGET_MILLIS) {
                    queue.send(Queues.FANOUT, List.of(job(accountId, messageId)));
                    return;
                }
            }
        } catch (RuntimeException e) {
            if (leasedAt != 0) {
                try {
                    messages.releasePage(accountId, messageId, leased, leasedAt);
                } catch (RuntimeException again) {
                    e.addSuppressed(again); // the lease runs out on its own (2.5 minutes)
                }
            }
            throw e;
        }
        completion.tryComplete(accountId, messageId);
    }

    /** The page's delivery jobs; each names those of its numbers marked undeliverable, to be skipped. */
    private static List<QueueMessage> batches(GroupMessage m, List<String> phones, Map<String, String> undeliverable) {
        Map<Integer, List<String>> byShard = new TreeMap<>();
        for (String p : phones) byShard.computeIfAbsent(DeliveryStore.shardOf(p, m.shards()), k -> new ArrayList<>()).add(p);
        int size = batchSize(m.sendsPerSecond());
        List<QueueMessage> out = new ArrayList<>();
        byShard.forEach((shard, list) -> {
            for (int from = 0; from < list.size(); from += size) {
                var part = list.subList(from, Math.min(list.size(), from + size));
                Map<String, String> skip = new HashMap<>();
                for (String p : part) {
                    String error = undeliverable.get(p);
                    if (error != null) skip.put(p, error);
                }
                out.add(DeliveryJob.fresh(m.accountId(), m.id(), shard, part, skip).messageDelayedBy(0));
            }
        });
        return out;
    }
}
