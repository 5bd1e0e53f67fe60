package groupmsg.messages;

import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The scheduled repair of messages still sending: finishes complete ones; re-drives a fan-out that stalled;
 * re-enqueues deliveries left queued (their batch was lost or dead-lettered); fails deliveries left in
 * sending (the worker died between the carrier call and recording it: never resent, see DeliveryService).
 * Every step is conditional, so runs may overlap or repeat.
 */
public final class MessageMaintenance {
    static final Duration STALLED = Duration.ofMinutes(10);

    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final Completion completion;
    private final QueueSender queue;
    private final Clock clock;

    public MessageMaintenance(Wiring wiring, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.completion = new Completion(wiring, messages, deliveries);
        this.queue = queue;
        this.clock = wiring.clock();
    }

    public Map<String, Object> sweep() {
        long now = clock.millis();
        long stalledBefore = now - STALLED.toMillis();
        int completed = 0, refanned = 0, requeued = 0, failedUnknown = 0;
        for (var job : messages.sendingJobs(100)) {
            if (completion.tryComplete(job.accountId(), job.messageId())) {
                completed++;
                continue;
            }
            if (job.acceptedAt() > stalledBefore) continue;
            GroupMessage m = messages.get(job.accountId(), job.messageId()).orElse(null);
            if (m == null) continue;
            if (!m.fanoutDone()) {
                queue.send(Queues.FANOUT, List.of(FanoutService.job(m.accountId(), m.id())));
                refanned++;
                continue;
            }
            for (int shard = 0; shard < m.shards(); shard++) {
                List<DeliveryStore.Transition> unknown = new ArrayList<>();
                for (Delivery d : deliveries.inStatus(m.id(), shard, Delivery.SENDING, stalledBefore)) {
                    unknown.add(new DeliveryStore.Transition(d.phone(), Delivery.SENDING, Delivery.FAILED, null,
                            "delivery outcome unknown: interrupted after the carrier call; not resent", now));
                }
                for (int from = 0; from < unknown.size(); from += 50) {
                    failedUnknown += deliveries.apply(m.id(), shard, unknown.subList(from, Math.min(unknown.size(), from + 50))).size();
                }
                List<String> queued = deliveries.inStatus(m.id(), shard, Delivery.QUEUED, stalledBefore).stream()
                        .map(Delivery::phone).toList();
                int size = FanoutService.batchSize(m.lineMps());
                List<QueueMessage> batches = new ArrayList<>();
                for (int from = 0; from < queued.size(); from += size) {
                    batches.add(DeliveryWorkerHandler.job(m.accountId(), m.id(), shard, queued.subList(from, Math.min(queued.size(), from + size))));
                }
                queue.send(Queues.DELIVERIES, batches);
                requeued += queued.size();
            }
            if (completion.tryComplete(m.accountId(), m.id())) completed++;
        }
        var summary = new LinkedHashMap<String, Object>();
        summary.put("messagesCompleted", completed);
        summary.put("fanoutsRedriven", refanned);
        summary.put("deliveriesRequeued", requeued);
        summary.put("deliveriesFailedUnknown", failedUnknown);
        if (completed + refanned + requeued + failedUnknown > 0) Log.info("message_maintenance", summary);
        return summary;
    }
}
