package groupmsg.messages;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.SentLookup;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Final statuses whose callback never came. Twilio does not resend a status callback our webhook failed to take (a
 * deploy, throttling, an outage), and the local runtime loses the receipts queued in memory at a kill: such rows
 * stayed {@code sent} for good. So a message completed with rows still {@code sent} gets a check an hour on, and
 * another a day on ({@link #ROUNDS}): each row still {@code sent} is looked up by its carrier id
 * ({@link CarrierPort#findById}), and a final status the carrier holds is applied as its callback would have been
 * ({@link StatusCallbacks#apply}: forward only, so a callback that comes after all changes nothing). A row the
 * carrier still calls sent stays so (carriers that report no delivery leave it there).
 * <p>
 * Bounded per sweep: {@link #LOOKUPS_AT_ONCE} lookups at a time, at most {@code lookupsPerSweep}, none started after
 * the budget; a check cut short notes where it stopped and the next sweep goes on from there. Once the carrier fails
 * to answer, the sweep asks nothing more. Overlapping sweeps may ask twice; applying twice changes nothing.
 */
public final class OverdueReceipts {
    /** When the checks run, after the message completed: a callback comes within seconds, a late one within minutes. */
    static final List<Duration> ROUNDS = List.of(Duration.ofHours(1), Duration.ofHours(24));
    static final int LOOKUPS_AT_ONCE = MessageMaintenance.LOOKUPS_AT_ONCE;
    /** Lookups per sweep (8 at once, a few hundred ms each at Twilio: about 10 s). */
    static final int LOOKUPS_PER_SWEEP = 400;
    /** How long a sweep goes on starting lookups; each ends within {@code TwilioCarrier.LONGEST_LOOKUP_BY_ID} (3 s). */
    static final Duration BUDGET = Duration.ofSeconds(10);
    /** Checks read per sweep. */
    static final int CHECKS_PER_SWEEP = 25;

    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final StatusCallbacks receipts;
    private final CarrierPort carrier;
    private final Clock clock;
    private final int lookupsPerSweep;

    public OverdueReceipts(Wiring wiring) {
        this(wiring, LOOKUPS_PER_SWEEP);
    }

    /** With another number of lookups per sweep (tests: a check spread over several sweeps). */
    public OverdueReceipts(Wiring wiring, int lookupsPerSweep) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.receipts = new StatusCallbacks(wiring);
        this.carrier = wiring.carrier();
        this.clock = wiring.clock();
        this.lookupsPerSweep = lookupsPerSweep;
    }

    /** The first check of a message completed at {@code completedAt}. */
    static MessageStore.ReceiptCheck firstCheck(GroupMessage m, long completedAt) {
        return new MessageStore.ReceiptCheck(m.accountId(), m.id(), completedAt, 1,
                completedAt + ROUNDS.getFirst().toMillis(), 0, null);
    }

    /** What one sweep did. */
    private static final class Tally {
        int asked, settled, checksDone;
        boolean stopped;
    }

    /** Runs the checks due, within {@link #BUDGET}; returns what it did, for the maintenance summary. */
    public Map<String, Object> sweep() {
        return sweep(clock.millis());
    }

    /**
     * A sweep after the queues lost their jobs (a local runtime killed, see
     * {@link MessageMaintenance#sweepAfterJobsLost}): the receipts queued then are gone, so the first checks of the
     * messages completed before {@code lostBefore} (epoch ms) are run now rather than an hour on.
     */
    public Map<String, Object> sweepAfterJobsLost(long lostBefore) {
        return sweep(Math.max(clock.millis(), lostBefore + ROUNDS.getFirst().toMillis()));
    }

    /** Runs the checks due by {@code dueBy}. */
    private Map<String, Object> sweep(long dueBy) {
        long now = clock.millis();
        long stopAt = now + BUDGET.toMillis();
        var tally = new Tally();
        for (var check : messages.dueReceiptChecks(dueBy, CHECKS_PER_SWEEP)) {
            try {
                check(check, now, stopAt, tally);
            } catch (RuntimeException e) {
                // one message's failure must not keep the others' checks from running; it is due again next sweep
                Log.error("receipt_check_failed", Map.of("messageId", check.messageId()), e);
            }
            if (tally.stopped) break;
        }
        var summary = new LinkedHashMap<String, Object>();
        summary.put("receiptsLookedUp", tally.asked);
        summary.put("receiptsSettledByCarrier", tally.settled);
        summary.put("receiptChecksDone", tally.checksDone);
        return summary;
    }

    /** Runs one check from where it stands; sets {@code tally.stopped} when the sweep may go no further. */
    private void check(MessageStore.ReceiptCheck check, long now, long stopAt, Tally tally) {
        GroupMessage m = messages.get(check.accountId(), check.messageId()).orElse(null);
        int shards = m == null ? 0 : m.shards();
        // the shards' counters first: usually every receipt came, and no row needs reading
        long[] sentByShard = m == null ? new long[0] : deliveries.countByShard(m.id(), shards, Delivery.SENT);
        for (int shard = check.shard(); shard < shards; shard++) {
            if (sentByShard[shard] <= 0) continue;
            String after = shard == check.shard() ? check.afterPhone() : null;
            List<Delivery> sent = deliveries.inStatus(m.id(), shard, Delivery.SENT, now, after).stream()
                    .filter(d -> d.carrierMessageId() != null).toList();
            for (int from = 0; from < sent.size(); from += LOOKUPS_AT_ONCE) {
                if (tally.asked >= lookupsPerSweep || clock.millis() >= stopAt) {
                    messages.saveReceiptCheck(check.goOnAfter(shard, after));
                    tally.stopped = true;
                    return;
                }
                List<Delivery> chunk = sent.subList(from, Math.min(sent.size(), from + LOOKUPS_AT_ONCE));
                List<SentLookup> answers = MessageMaintenance.askAtOnce(chunk.stream()
                        .<Callable<SentLookup>>map(d -> () -> carrier.findById(d.carrierMessageId())).toList());
                tally.asked += chunk.size();
                if (answers.stream().anyMatch(a -> a instanceof SentLookup.Unanswered u && u.carrierFailing())) {
                    // this chunk is asked again next sweep; no use asking the carrier more now
                    messages.saveReceiptCheck(check.goOnAfter(shard, after));
                    Log.warn("receipt_lookup_unanswered", Map.of("messageId", m.id()));
                    tally.stopped = true;
                    return;
                }
                tally.settled += settle(m, shard, chunk, answers, now);
                after = chunk.getLast().phone();
            }
        }
        int next = check.round(); // rounds count from 1: the next one's index
        var following = next < ROUNDS.size() && m != null
                ? new MessageStore.ReceiptCheck(check.accountId(), check.messageId(), check.completedAt(), next + 1,
                Math.max(now, check.completedAt() + ROUNDS.get(next).toMillis()), 0, null)
                : null;
        if (messages.endReceiptCheck(check, following)) tally.checksDone++;
    }

    /** Applies the final statuses the carrier gave, as their callbacks would have been; returns how many it found. */
    private int settle(GroupMessage m, int shard, List<Delivery> rows, List<SentLookup> answers, long now) {
        List<StatusCallbacks.Receipt> found = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Delivery d = rows.get(i);
            if (answers.get(i) instanceof SentLookup.Found f) {
                StatusCallbacks.receipt(m.accountId(), m.id(), String.valueOf(shard), d.phone(), d.carrierMessageId(),
                        f.status(), f.errorCode(), now).ifPresent(found::add);
            }
        }
        if (found.isEmpty()) return 0;
        receipts.apply(found.getFirst().key(), found);
        Log.info("receipts_settled_by_carrier", Map.of("messageId", m.id(), "shard", shard, "receipts", found.size()));
        return found.size();
    }
}
