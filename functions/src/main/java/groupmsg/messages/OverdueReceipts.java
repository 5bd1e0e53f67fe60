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
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Final statuses whose callback never came. Twilio does not resend a status callback our webhook failed to take (a
 * deploy, throttling, an outage), and the local runtime loses the receipts queued in memory at a kill: such rows
 * stayed {@code sent} for good. So a message completed with rows still {@code sent} gets a check an hour on, and,
 * if rows are still {@code sent} then, another a day on ({@link #ROUNDS}). A check reads the shards' counters and,
 * in the shards with rows still {@code sent}, looks each up by its carrier id ({@link CarrierPort#findById}); a final
 * status the carrier holds is applied as its callback would have been ({@link StatusCallbacks#apply}: forward only,
 * billed nothing more, so a callback that comes after all changes nothing). A row the carrier still calls sent stays
 * so (carriers that report no delivery leave it there).
 * <p>
 * Bounded per sweep: {@link #LOOKUPS_AT_ONCE} lookups at a time, at most {@code lookupsPerSweep} in all, none started
 * past the budget; a check cut short notes where it stopped and goes on from there. A check takes
 * {@link #LOOKUPS_PER_CHECK} at a turn, then the other checks due have theirs, then it goes on; one stopped is stored
 * again as due now, behind the others (one big message does not hold up the others, across sweeps too, nor wait for
 * nothing when it is alone). When the carrier fails
 * to answer, the sweep asks nothing more, and the check is due again {@link #FAILURE_BACKOFF} times its failed turns
 * in a row later (behind the others); after {@link #MAX_FAILURES} in a row its round is given up (a carrier that
 * cannot be asked at all, a key without read access). Overlapping sweeps may ask twice; applying twice changes nothing.
 */
public final class OverdueReceipts {
    /** When the checks run, after the message completed: a callback comes within seconds, a late one within minutes. */
    static final List<Duration> ROUNDS = List.of(Duration.ofHours(1), Duration.ofHours(24));
    static final int LOOKUPS_AT_ONCE = MessageMaintenance.LOOKUPS_AT_ONCE;
    /**
     * Lookups per sweep: 8 at once (a group waits for its slowest), a few hundred ms each at Twilio, roughly 700-1,200
     * in the 30-odd seconds a quiet minute leaves (the sweep has what is left of the maintenance function's time).
     */
    static final int LOOKUPS_PER_SWEEP = 2_000;
    /** One check's lookups per turn: the rest of a big one waits until the other checks due had theirs. */
    static final int LOOKUPS_PER_CHECK = 100;
    /**
     * How long a sweep goes on starting lookups without an invocation's time to go by (a test, a local call); each
     * ends within {@code TwilioCarrier.LONGEST_LOOKUP_BY_ID} (3 s).
     */
    public static final Duration BUDGET = Duration.ofSeconds(10);
    /** A check the carrier could not answer is due again this long times its failures later. */
    static final Duration FAILURE_BACKOFF = Duration.ofMinutes(5);
    /** A check the carrier could not answer this many turns in a row gives its round up (5.5 hours of backoff). */
    static final int MAX_FAILURES = 12;
    /** Receipts applied in one transaction per shard (the receipt worker's 98 rows, less a margin). */
    static final int RECEIPTS_PER_APPLY = 90;
    /** Checks read per page of {@code JOBS#receipts}. */
    static final int PAGE = 25;

    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final StatusCallbacks receipts;
    private final CarrierPort carrier;
    private final Clock clock;
    private final int lookupsPerSweep;
    private final int lookupsPerCheck;

    public OverdueReceipts(Wiring wiring) {
        this(wiring, LOOKUPS_PER_SWEEP);
    }

    /** With another number of lookups per sweep (tests: a check spread over several sweeps). */
    public OverdueReceipts(Wiring wiring, int lookupsPerSweep) {
        this(wiring, lookupsPerSweep, LOOKUPS_PER_CHECK);
    }

    /** With other numbers of lookups per sweep and per check's turn (tests: turns with a few rows). */
    public OverdueReceipts(Wiring wiring, int lookupsPerSweep, int lookupsPerCheck) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.receipts = new StatusCallbacks(wiring);
        this.carrier = wiring.carrier();
        this.clock = wiring.clock();
        this.lookupsPerSweep = lookupsPerSweep;
        this.lookupsPerCheck = lookupsPerCheck;
    }

    /** The first check of a message completed at {@code completedAt}. */
    static MessageStore.ReceiptCheck firstCheck(GroupMessage m, long completedAt) {
        return new MessageStore.ReceiptCheck(m.accountId(), m.id(), m.shards(), completedAt, 1,
                completedAt + ROUNDS.getFirst().toMillis(), 0, null, 0);
    }

    /** What one sweep did. */
    private static final class Tally {
        int asked, settled, checksDone, givenUp;
    }

    /** How a check's turn in a sweep ended. */
    private enum Turn {
        /** Done, given up, failed, or ended by another sweep: nothing more of it this sweep. */
        OVER,
        /** Its turn of lookups used: it goes on once the others had theirs (in this sweep if time is left). */
        TURN_USED,
        /** The sweep's time or lookups ran out. */
        OUT_OF_SWEEP,
        /** The carrier could not answer: the sweep asks nothing more. */
        CARRIER_FAILED
    }

    /** How a check's turn ended, and the check as it is stored now (to go on from, after a turn used). */
    private record TurnEnded(Turn turn, MessageStore.ReceiptCheck check) {}

    /** Runs the checks due, within {@link #BUDGET}; returns what it did, for the maintenance summary. */
    public Map<String, Object> sweep() {
        return sweep(BUDGET);
    }

    /** Runs the checks due, starting no lookup after {@code budget} (what is left of the function's time, say). */
    public Map<String, Object> sweep(Duration budget) {
        long now = clock.millis();
        return sweep(now, now + budget.toMillis());
    }

    /**
     * At a start after a kill, before anything can complete a message: a message still sending lost the receipts of
     * the rows it had sent with the queue, and its completion's check would come an hour after it completes, so it
     * gets a check due now (its completion still writes its own later, which then finds little or nothing to ask).
     * Returns how many it wrote. {@link #sweepAfterJobsLost} runs them.
     */
    public int checkMessagesSendingAtKill(long lostBefore) {
        long now = clock.millis();
        int added = 0;
        Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> start = null;
        do {
            var page = messages.sendingJobs(MessageMaintenance.PAGE, start, null);
            for (var job : page.jobs()) {
                if (job.completedAt() > 0) continue; // completed before the kill: its own check is due by then
                var m = messages.get(job.accountId(), job.messageId()).orElse(null);
                if (m == null) continue;
                messages.putReceiptCheck(new MessageStore.ReceiptCheck(m.accountId(), m.id(), m.shards(), lostBefore, 1, now, 0, null, 0));
                added++;
            }
            start = page.lastKey();
        } while (start != null);
        return added;
    }

    /**
     * A sweep after the queues lost their jobs (a local runtime killed, see
     * {@link MessageMaintenance#sweepAfterJobsLost}): the receipts queued then are gone, so the first checks of the
     * messages completed before {@code lostBefore} (epoch ms) are made due now and run rather than an hour on, with
     * those {@link #checkMessagesSendingAtKill} wrote; the regular sweeps go on with those this one does not reach.
     */
    public Map<String, Object> sweepAfterJobsLost(long lostBefore) {
        long now = clock.millis();
        // First made due now, so that the regular sweeps go on with those this one does not reach.
        Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> start = null;
        do {
            var page = messages.dueReceiptChecks(lostBefore + ROUNDS.getFirst().toMillis(), PAGE, start);
            for (var check : page.checks()) {
                if (check.round() == 1 && check.dueAt() > now) {
                    messages.endReceiptCheck(check, check.goOnAfter(now, check.shard(), check.afterPhone(), check.failures()));
                }
            }
            start = page.lastKey();
        } while (start != null);
        return sweep(now, now + BUDGET.toMillis());
    }

    /**
     * Gives every check due by {@code dueBy} a turn, oldest due first, then goes on with those that used theirs, turn
     * after turn, while the sweep has lookups and time left. A check that stops before it is done is stored again as
     * due now, behind the others due, so the next sweep gives the others their turns first. Each message's check has
     * turns in one sweep only as this sweep hands them out: one read again (stored again as due before
     * {@code dueBy}, or its next round) waits for the next sweep.
     */
    private Map<String, Object> sweep(long dueBy, long stopAt) {
        var tally = new Tally();
        Set<String> hadTurn = new HashSet<>();
        List<MessageStore.ReceiptCheck> goOn = new ArrayList<>();
        sweeping:
        {
            Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> start = null;
            do {
                if (clock.millis() >= stopAt) break sweeping;
                var page = messages.dueReceiptChecks(dueBy, PAGE, start);
                var fresh = page.checks().stream().filter(check -> hadTurn.add(check.messageId())).toList();
                for (var check : endQuiet(fresh, tally)) {
                    if (!giveTurn(check, stopAt, tally, goOn)) break sweeping;
                }
                start = page.lastKey();
            } while (start != null);
            while (!goOn.isEmpty()) {
                List<MessageStore.ReceiptCheck> again = new ArrayList<>();
                for (var check : goOn) {
                    if (!giveTurn(check, stopAt, tally, again)) break sweeping;
                }
                goOn = again;
            }
        }
        var summary = new LinkedHashMap<String, Object>();
        summary.put("receiptsLookedUp", tally.asked);
        summary.put("receiptsSettledByCarrier", tally.settled);
        summary.put("receiptChecksDone", tally.checksDone);
        summary.put("receiptChecksGivenUp", tally.givenUp);
        if (tally.asked + tally.checksDone + tally.givenUp > 0) Log.info("overdue_receipts", summary);
        return summary;
    }

    /**
     * Ends, together, the checks none of whose message's rows is {@code sent} any more (every receipt came: nearly
     * all of them), and returns the others. One read of their counters and one batch of deletes for a page: one at a
     * time, each took three requests in a row (counters, counters again, delete), and a sweep's time held a few
     * hundred to a thousand, fewer than a busy hour's messages complete, so the checks fell behind for good.
     */
    private List<MessageStore.ReceiptCheck> endQuiet(List<MessageStore.ReceiptCheck> checks, Tally tally) {
        if (checks.isEmpty()) return checks;
        var shards = new HashMap<String, Integer>();
        checks.forEach(check -> shards.put(check.messageId(), check.shards()));
        var sent = deliveries.countOf(shards, Delivery.SENT);
        var quiet = checks.stream().filter(check -> sent.get(check.messageId()) <= 0).toList();
        messages.endReceiptChecks(quiet);
        tally.checksDone += quiet.size();
        return checks.stream().filter(check -> sent.get(check.messageId()) > 0).toList();
    }

    /**
     * Gives a check its turn, if the sweep has time and lookups left; one that used its turn goes to {@code goOn}.
     * False when the sweep is to stop: out of time or lookups, or the carrier failing.
     */
    private boolean giveTurn(MessageStore.ReceiptCheck check, long stopAt, Tally tally, List<MessageStore.ReceiptCheck> goOn) {
        if (clock.millis() >= stopAt || tally.asked >= lookupsPerSweep) return false;
        var ended = turn(check, stopAt, tally);
        if (ended.turn() == Turn.TURN_USED) goOn.add(ended.check());
        return ended.turn() != Turn.CARRIER_FAILED;
    }

    /** One turn of a check; a failure of its own (not the carrier's) counts as a failed turn, and the sweep goes on. */
    private TurnEnded turn(MessageStore.ReceiptCheck check, long stopAt, Tally tally) {
        try {
            return check(check, stopAt, tally);
        } catch (RuntimeException e) {
            // one message's failure must not keep the others' checks from running; it is due again later, and
            // paged when it lasts, as a failed job
            Log.jobFailed("receipt_check_failed", Map.of("messageId", check.messageId()), e);
            failed(check, check.shard(), check.afterPhone(), false, tally);
            return new TurnEnded(Turn.OVER, check);
        }
    }

    /** Runs one check from where it stands, for its turn. */
    private TurnEnded check(MessageStore.ReceiptCheck check, long stopAt, Tally tally) {
        long now = clock.millis();
        // the shards' counters first: usually every receipt came, and no row needs reading
        long[] sentByShard = deliveries.countByShard(check.messageId(), check.shards(), Delivery.SENT);
        int askedHere = 0;
        for (int shard = check.shard(); shard < check.shards(); shard++) {
            if (sentByShard[shard] <= 0) continue;
            String after = shard == check.shard() ? check.afterPhone() : null;
            var pending = new Pending(check, shard, after);
            boolean shardDone = false;
            while (!shardDone) {
                int room = Math.min(lookupsPerSweep - tally.asked, lookupsPerCheck - askedHere);
                if (room <= 0 || clock.millis() >= stopAt) {
                    return pause(check, pending, askedHere > 0, tally, askedHere >= lookupsPerCheck ? Turn.TURN_USED : Turn.OUT_OF_SWEEP);
                }
                List<Delivery> rows = deliveries.inStatus(check.messageId(), shard, Delivery.SENT, now, after, room);
                shardDone = rows.size() < room;
                for (int from = 0; from < rows.size(); from += LOOKUPS_AT_ONCE) {
                    if (clock.millis() >= stopAt) return pause(check, pending, askedHere > 0, tally, Turn.OUT_OF_SWEEP);
                    List<Delivery> chunk = rows.subList(from, Math.min(rows.size(), from + LOOKUPS_AT_ONCE));
                    List<SentLookup> answers = MessageMaintenance.askAtOnce(chunk.stream()
                            .<Callable<SentLookup>>map(d -> d.carrierMessageId() == null
                                    ? () -> new SentLookup.NotFound() // none to ask by: nothing to learn
                                    : () -> carrier.findById(d.carrierMessageId())).toList());
                    tally.asked += chunk.size();
                    if (answers.stream().anyMatch(a -> a instanceof SentLookup.Unanswered u && u.carrierFailing())) {
                        // this chunk is asked again when the check is next due; no use asking the carrier more now
                        pending.apply(tally);
                        Log.warn("receipt_lookup_unanswered", Map.of("messageId", check.messageId()));
                        failed(check, shard, pending.appliedAfter, askedHere > 0, tally);
                        return new TurnEnded(Turn.CARRIER_FAILED, check);
                    }
                    askedHere += chunk.size();
                    pending.add(chunk, answers, now);
                    after = chunk.getLast().phone();
                    pending.lookedUpThrough(after);
                    if (pending.size() >= RECEIPTS_PER_APPLY) pending.apply(tally);
                }
            }
            pending.apply(tally);
        }
        // Every row asked about once this round. Another round only while rows are still sent.
        boolean stillSent = check.round() < ROUNDS.size() && java.util.Arrays.stream(
                deliveries.countByShard(check.messageId(), check.shards(), Delivery.SENT)).sum() > 0;
        var next = stillSent ? nextRound(check, now) : null;
        if (messages.endReceiptCheck(check, next)) tally.checksDone++;
        return new TurnEnded(Turn.OVER, check);
    }

    /** The check of the round after {@code check}'s, due as {@link #ROUNDS} says, and after now. */
    private static MessageStore.ReceiptCheck nextRound(MessageStore.ReceiptCheck check, long now) {
        return check.nextRound(Math.max(now + 1, check.completedAt() + ROUNDS.get(check.round()).toMillis()));
    }

    /**
     * Applies what was found so far and stores the check again, to go on where it stopped, due now: behind the checks
     * due before it, so the next sweep gives them their turns first. A turn that got answers starts its failures anew.
     */
    private TurnEnded pause(MessageStore.ReceiptCheck check, Pending pending, boolean answered, Tally tally, Turn why) {
        pending.apply(tally);
        long dueNow = clock.millis();
        if (dueNow == check.dueAt()) dueNow++; // another key than the one it replaces
        var moved = check.goOnAfter(dueNow, pending.shard, pending.appliedAfter, answered ? 0 : check.failures());
        // false: an overlapping sweep ended it meanwhile, and it has nothing more to do here
        return messages.endReceiptCheck(check, moved) ? new TurnEnded(why, moved) : new TurnEnded(Turn.OVER, check);
    }

    /**
     * The carrier could not answer (or the check failed): due again later, behind the others, from where its receipts
     * were applied. Failed turns count in a row ({@code answered}: this turn got answers before, and starts the count
     * anew); after {@link #MAX_FAILURES} in a row its round is given up (the next one, if any, still comes).
     */
    private void failed(MessageStore.ReceiptCheck check, int shard, String appliedAfter, boolean answered, Tally tally) {
        long now = clock.millis();
        int failures = (answered ? 0 : check.failures()) + 1;
        if (failures >= MAX_FAILURES) {
            var next = check.round() < ROUNDS.size() ? nextRound(check, now) : null;
            if (messages.endReceiptCheck(check, next)) {
                tally.givenUp++;
                Log.warn("receipt_check_given_up", Map.of("messageId", check.messageId(), "round", check.round()));
            }
            return;
        }
        messages.endReceiptCheck(check, check.goOnAfter(now + FAILURE_BACKOFF.toMillis() * failures, shard, appliedAfter, failures));
    }

    /**
     * The final statuses found in one shard and not yet applied, and how far the check may note it went: only up to
     * the rows whose receipts are applied (a failure before that asks about the rest again).
     */
    private final class Pending {
        final MessageStore.ReceiptCheck check;
        final int shard;
        final List<StatusCallbacks.Receipt> found = new ArrayList<>();
        /** The last phone of this shard whose answer is applied (null: none yet, from the shard's start). */
        String appliedAfter;
        private String lookedUpThrough;

        Pending(MessageStore.ReceiptCheck check, int shard, String after) {
            this.check = check;
            this.shard = shard;
            this.appliedAfter = after;
            this.lookedUpThrough = after;
        }

        void add(List<Delivery> rows, List<SentLookup> answers, long now) {
            for (int i = 0; i < rows.size(); i++) {
                Delivery d = rows.get(i);
                if (answers.get(i) instanceof SentLookup.Found f) {
                    StatusCallbacks.receipt(check.accountId(), check.messageId(), String.valueOf(shard), d.phone(),
                            d.carrierMessageId(), f.status(), f.errorCode(), now).ifPresent(found::add);
                }
            }
        }

        void lookedUpThrough(String phone) {
            lookedUpThrough = phone;
        }

        int size() {
            return found.size();
        }

        /** Applies the receipts found (up to 97: one transaction, as the receipt worker's take up to 98). */
        void apply(Tally tally) {
            if (!found.isEmpty()) {
                receipts.apply(found.getFirst().key(), List.copyOf(found));
                tally.settled += found.size();
                Log.info("receipts_settled_by_carrier", Map.of("messageId", check.messageId(), "shard", shard, "receipts", found.size()));
                found.clear();
            }
            appliedAfter = lookedUpThrough;
        }
    }
}
