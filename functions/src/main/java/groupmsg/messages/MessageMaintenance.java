package groupmsg.messages;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.SentLookup;
import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import groupmsg.usage.UsageStore;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * The scheduled repair of messages still sending: finishes complete ones; re-drives a fan-out that stalled;
 * re-enqueues deliveries left queued (their batch was lost or dead-lettered); settles deliveries left in sending
 * (the worker died between the carrier call and recording it) from what the carrier says it holds, resending only
 * what it never got (see {@link #settleSending});
 * publishes the event of a completed message whose first publish failed. Every step is conditional, so runs may
 * overlap or repeat. (Rows whose final receipt is overdue are {@link OverdueReceipts}'.)
 */
public final class MessageMaintenance {
    static final Duration STALLED = Duration.ofMinutes(10);
    /** A row in sending the carrier gives no answer about for this long is failed as outcome unknown. */
    static final Duration GIVE_UP = Duration.ofHours(1);
    /** The summary's field that says the sweep ran out of its time (work left for the next). */
    public static final String OUT_OF_TIME = "messageSweepOutOfTime";
    /**
     * A row whose lookup the carrier itself failed (unreachable, erring, throttling: no word at all, not doubt) waits
     * this long before it is given up: its word may yet come (a brownout leaves thousands of rows to ask, a few
     * hundred a minute, and one 429 on an hour-old row's lookup gave it up, though a NotFound a minute later would
     * have had it sent). Twilio's own queue keeps a message this long by default (its ValidityPeriod) before it
     * fails it. Such rows past {@link #GIVE_UP} page ({@code CarrierLookupsFailing}) every sweep meanwhile.
     */
    static final Duration GIVE_UP_CARRIER_FAILING = Duration.ofHours(4);
    /**
     * A claimed row is sent within its job's invocation (the workers run 60 s at most), retries included. No longer:
     * a later message with the same text to the number (the same announcement again, "Bob: ok" twice) would be taken
     * for the lost one.
     */
    static final Duration SEND_WINDOW = Duration.ofMinutes(2);
    /** How long a FIFO queue drops a message with a deduplication id it has seen. */
    static final Duration FIFO_DEDUPLICATION_WINDOW = Duration.ofMinutes(5);
    /** Carrier lookups made at once. */
    static final int LOOKUPS_AT_ONCE = 8;
    /** Lookups for one message per sweep: its other rows wait for its next visit, and the other messages get theirs. */
    static final int LOOKUPS_PER_MESSAGE = 200;
    /** The longest a lookup takes (TwilioCarrier: 4 pages of 3 s) and then its record: none starts later before the budget's end. */
    public static final Duration LOOKUP_RESERVE = Duration.ofSeconds(13);
    /** Messages read per page of {@code JOBS#sending}. */
    static final int PAGE = 100;
    /**
     * How long one sweep goes on taking pages (the function has 60 s, shared with imports and the outbox). Every
     * message still sending is visited, page after page, until this runs out; before, only the first 100 were, so
     * past 100 in flight the others were never repaired. A sweep that runs out of time records the job it stopped
     * at, and the next one starts after it and comes round to it, so no message waits behind others for good.
     */
    public static final Duration BUDGET = Duration.ofSeconds(30);

    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final QueueSender queue;
    private final CarrierPort carrier;
    private final UsageStore usage;
    private final UndeliverableRecipients undeliverable;
    private final groupmsg.optout.CarrierOptOuts carrierOptOuts;
    private final Clock clock;
    private final groupmsg.platform.config.Ids ids;

    private final int pageSize;
    private final Duration budget;
    /** What a sweep builds its own {@link Completion} and {@link SweepEvents} of (one sweep's state, not the handler's). */
    private final Wiring wiring;

    /**
     * The events topic as one sweep sees it: once publishes for two messages failed (a topic that refuses, or times
     * out after up to 5 s a call), the sweep's later publishes fail at once, untried, so every message still gets its
     * repair's turn: during an SNS brownout each message's event took its 5 s, and a sweep repaired a handful of
     * messages a minute. Two messages, not one publish: a message whose own event always failed, first in every sweep,
     * would hold back every other's for good. What is not published stays for the next sweep, which tries again.
     */
    static final class SweepEvents implements EventPublisher {
        static final int FAILURES_TO_TRIP = 2;

        private final EventPublisher topic;
        /** The messages (or, for another event, its type and account) whose publishes failed this sweep. */
        private final Set<String> failedFor = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private volatile RuntimeException first;

        SweepEvents(EventPublisher topic) {
            this.topic = topic;
        }

        /** Whether this sweep tries the topic no more. */
        boolean tripped() {
            return failedFor.size() >= FAILURES_TO_TRIP;
        }

        @Override
        public void publish(Topic to, String accountId, String type, Map<String, Object> event) {
            if (tripped()) throw new NotTried(first);
            try {
                topic.publish(to, accountId, type, event);
            } catch (RuntimeException e) {
                if (first == null) first = e;
                failedFor.add(event.get("messageId") instanceof String id ? id : type + " " + accountId);
                throw e;
            }
        }

        @Override
        public void prime() {
            topic.prime();
        }
    }

    /** A publish this sweep did not try: publishes before it failed (the first of them its cause). */
    static final class NotTried extends RuntimeException {
        NotTried(RuntimeException firstFailure) {
            super("not tried: publishes failed earlier in this sweep (the next sweep tries again)", firstFailure, false, false);
        }
    }

    public MessageMaintenance(Wiring wiring, QueueSender queue) {
        this(wiring, queue, PAGE, BUDGET);
    }

    /** With another page size and budget (tests: several pages, or sweeps, without hundreds of messages). */
    public MessageMaintenance(Wiring wiring, QueueSender queue, int pageSize, Duration budget) {
        this.pageSize = pageSize;
        this.budget = budget;
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.wiring = wiring;
        this.queue = queue;
        this.carrier = wiring.carrier();
        this.usage = new UsageStore(wiring.dynamo(), wiring.config().table(Tables.CORE));
        this.undeliverable = UndeliverableRecipients.of(wiring);
        this.carrierOptOuts = new groupmsg.optout.CarrierOptOuts(wiring);
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    public Map<String, Object> sweep() {
        return sweep(NO_JOBS_LOST, budget);
    }

    /**
     * A sweep that takes pages for at most {@code within} (its own budget if that is less): the function's time left
     * after the steps before it, so a slow one does not push the sweep's last lookup past the function's timeout.
     */
    public Map<String, Object> sweepWithin(Duration within) {
        return sweep(NO_JOBS_LOST, within.compareTo(budget) < 0 ? within : budget);
    }

    /**
     * A sweep after the queues lost their jobs (the local runtime keeps its tables on disk across a restart, but not
     * its queues): rows still queued that were last touched before {@code lostBefore} (epoch ms, the restart) are
     * enqueued again at once, and fan-outs of messages accepted before it are re-driven, rather than ten minutes on,
     * and whether or not their jobs held places in the line. Rows the last run left in sending are settled from the
     * carrier's word at once (no worker of that run can still be sending them). A job that did survive only finds its
     * rows claimed: nobody is sent to twice.
     */
    public Map<String, Object> sweepAfterJobsLost(long lostBefore) {
        return sweep(lostBefore, budget);
    }

    /**
     * Before {@link #sweepAfterJobsLost}, with no worker started yet: the places the lost jobs held in their lines'
     * waiting lines are gone with them. Each message still sending forgets its {@code waitingUntil} (kept, later
     * sweeps left its rows alone for hours as waiting), and its line its waiting line (kept, the jobs sent again took
     * places after it: a 10,000-recipient message on a 1 mps line idled its line about three hours). Returns the
     * lines reset. Every message is visited, without the sweep's budget: two small writes each.
     */
    public Set<String> forgetPlacesLostWithTheJobs(java.util.function.Consumer<String> forgetWaitingLine) {
        Set<String> lineIds = new java.util.TreeSet<>();
        Map<String, AttributeValue> start = null;
        do {
            var page = messages.sendingJobs(pageSize, start, null);
            for (var job : page.jobs()) {
                if (job.completedAt() > 0) continue;
                try {
                    GroupMessage m = messages.get(job.accountId(), job.messageId()).orElse(null);
                    if (m == null) continue;
                    if (m.waitingUntil() > 0) messages.clearWaitingUntil(m.accountId(), m.id());
                    if (lineIds.add(m.lineId())) forgetWaitingLine.accept(m.lineId());
                } catch (RuntimeException e) {
                    // one message's failure does not leave the others' lines idle
                    Log.error("restart_waiting_places_not_forgotten", Map.of("messageId", job.messageId()), e);
                }
            }
            start = page.lastKey();
        } while (start != null);
        return lineIds;
    }

    private static final long NO_JOBS_LOST = Long.MIN_VALUE;

    private Map<String, Object> sweep(long jobsLostBefore, Duration budget) {
        long now = clock.millis();
        long stopAt = now + budget.toMillis();
        var events = new SweepEvents(wiring.events());
        var tally = new Tally(events, new Completion(wiring.withEvents(events), messages, deliveries));
        String resumeAfter = messages.maintenanceResumesAfter().orElse(null);
        // From where the last sweep stopped to the last job, then from the first job round to there.
        String stoppedAfter = null;
        // the job whose lookups the carrier first failed to answer this sweep: the next one starts after it
        String carrierFailedAt = null;
        boolean outOfTime = false;
        for (int pass = 0; pass < (resumeAfter == null ? 1 : 2) && !outOfTime; pass++) {
            Map<String, AttributeValue> start = pass == 0 && resumeAfter != null ? MessageStore.sendingJobKey(resumeAfter) : null;
            String through = pass == 1 ? resumeAfter : null;
            do {
                var page = messages.sendingJobs(pageSize, start, through);
                for (var job : page.jobs()) {
                    // At least one job a sweep, so even a sweep out of time at once moves on.
                    if (tally.visited > 0 && clock.millis() >= stopAt) {
                        outOfTime = true;
                        break;
                    }
                    boolean carrierAnswering = !tally.carrierFailing;
                    try {
                        if (!repair(job, now, jobsLostBefore, stopAt, tally)) {
                            // Cut short: the next sweep starts with this message, unless it had this whole sweep to
                            // itself; then with the next one, or a message no sweep can finish (rows whose lookups
                            // stay in doubt, a slow carrier) would hold every other message's repair back for good.
                            if (tally.visited == 1) stoppedAfter = job.sk();
                            outOfTime = true;
                            break;
                        }
                    } catch (NotTried e) {
                        // completed by this repair, its event left to the next sweep, with the topic: no failure of its own
                        tally.eventsLeft++;
                    } catch (RuntimeException e) {
                        // One message's failure (e.g. its late event's publish) must not keep the others from repair;
                        // a failed job all the same, paged when it lasts (the run does not fail for it)
                        tally.failed++;
                        Log.jobFailed("message_maintenance_failed", Map.of("messageId", job.messageId()), e);
                    } finally {
                        if (carrierAnswering && tally.carrierFailing) carrierFailedAt = job.sk();
                    }
                    stoppedAfter = job.sk();
                }
                start = page.lastKey();
            } while (start != null && !outOfTime);
        }
        redriveRelays(tally, now);
        if (outOfTime) {
            if (stoppedAfter != null) messages.resumeMaintenanceAfter(stoppedAfter);
            Log.warn("message_maintenance_out_of_time", Map.of("messagesVisited", tally.visited));
        } else if (carrierFailedAt != null) {
            // One message's lookups that time out every sweep (a slow page of the carrier's list) asked first each
            // minute stopped every other message's lookups until its rows gave up, an hour on: their lost rows were
            // resent an hour late. Each sweep now asks the next message first; a carrier down for all of them is
            // asked one message's question a sweep all the same.
            messages.resumeMaintenanceAfter(carrierFailedAt);
        } else if (resumeAfter != null) {
            messages.resumeMaintenanceAfter(null);
        }
        var summary = new LinkedHashMap<String, Object>();
        summary.put("messagesCompleted", tally.completed);
        summary.put("fanoutsRedriven", tally.refanned);
        summary.put("deliveriesRequeued", tally.requeued);
        summary.put("relaysRedriven", tally.relaysRedriven);
        summary.put("deliveriesSettledByCarrier", tally.settledByCarrier);
        summary.put("deliveriesNotSentRequeued", tally.resent);
        summary.put("deliveriesAwaitingCarrier", tally.unanswered);
        summary.put("deliveriesFailedUnknown", tally.failedUnknown);
        summary.put("deliveriesNotAskedCarrierFailing", tally.notAsked);
        summary.put("eventsPublishedLate", tally.eventsPublished);
        summary.put("messagesFailed", tally.failed);
        summary.put("eventsLeftTopicFailing", tally.eventsLeft);
        summary.put(OUT_OF_TIME, outOfTime);
        if (tally.completed + tally.refanned + tally.requeued + tally.settledByCarrier + tally.resent + tally.unanswered
                + tally.failedUnknown + tally.eventsPublished + tally.failed + tally.notAsked + tally.eventsLeft > 0) {
            Log.info("message_maintenance", summary);
        }
        if (tally.givenUpCarrierFailing > 0 || tally.overdueCarrierFailing > 0) {
            // rows over an hour in sending that the carrier would not answer for: waiting on its word (given up
            // without it at 4 hours), and the rest wait on it too (its credentials or their read access to Messages,
            // or an outage): wants a person
            Log.error("carrier_lookups_failing", Map.of("deliveriesGivenUp", tally.givenUpCarrierFailing,
                    "deliveriesWaitingOverAnHour", tally.overdueCarrierFailing,
                    "deliveriesNotAsked", tally.notAsked, "metric", HandledFailures.CARRIER_LOOKUPS_FAILING), null);
        }
        return summary;
    }

    /** What one sweep did. */
    private static final class Tally {
        /** The sweep's view of the events topic, and its completion, which publishes through it. */
        final SweepEvents events;
        final Completion completion;
        int visited, completed, refanned, requeued, settledByCarrier, resent, unanswered, failedUnknown, eventsPublished, failed;
        /** Completed messages whose late event was left to the next sweep: the topic failed this one. */
        int eventsLeft;

        Tally(SweepEvents events, Completion completion) {
            this.events = events;
            this.completion = completion;
        }
        /**
         * Rows in sending not asked about after the carrier failed to answer (they wait for the next sweep): the rest of
         * the rows read, then the other shards' counters (so rows being sent right then count too).
         */
        long notAsked;
        /** Rows given up as outcome unknown on an answer of a failing carrier (not on doubt). */
        int givenUpCarrierFailing;
        /** Rows over {@link #GIVE_UP} in sending whose lookup the carrier failed, left to wait for its word. */
        int overdueCarrierFailing;
        /** The carrier's ids of the messages lookups found this sweep: one found for two rows is the first's. */
        final Set<String> sidsFound = new HashSet<>();
        /** Lookups made for the message being repaired. */
        int lookupsThisMessage;
        /** The carrier failed to answer a lookup: it is asked nothing more this sweep. */
        boolean carrierFailing;
        /** Ordered messages to send again through the relays queue, by id. */
        final Map<String, GroupMessage> relays = new java.util.HashMap<>();
        /** Those of {@link #relays} whose rows this sweep moved back to queued (its own conditional writes). */
        final Set<String> relaysWithRowsMoved = new HashSet<>();
        int relaysRedriven;
    }

    /** Repairs one message; false when the budget ran out before all of it was done. */
    private boolean repair(MessageStore.SendingJob job, long now, long jobsLostBefore, long stopAt, Tally tally) {
        tally.visited++;
        tally.lookupsThisMessage = 0;
        Completion completion = tally.completion;
        if (job.completedAt() == 0 && job.acceptedEventAt() == 0 && job.acceptedAt() < now - Completion.EVENT_GRACE.toMillis()
                && !tally.events.tripped()) {
            // its fan-out's publish failed (or its first run died first); the row read again, as listed it may be a
            // sweep old. The topic failing again does not keep the message's repair below from its turn.
            try {
                GroupMessage accepted = messages.get(job.accountId(), job.messageId()).orElse(null);
                if (accepted != null && completion.announceAcceptance(accepted) == Completion.Acceptance.PUBLISHED) tally.eventsPublished++;
            } catch (RuntimeException e) {
                Log.error("group_message_accepted_event_failed", Map.of("messageId", job.messageId()), e);
            }
        }
        if (job.completedAt() > 0) {
            if (tally.events.tripped()) {
                tally.eventsLeft++; // not even claimed: the next sweep tries the topic again
            } else if (completion.publishLateEvent(job)) {
                tally.eventsPublished++;
            }
            return true;
        }
        if (completion.tryComplete(job.accountId(), job.messageId())) {
            tally.completed++;
            return true;
        }
        long stalledBefore = now - STALLED.toMillis();
        boolean jobsLost = jobsLostBefore != NO_JOBS_LOST;
        // queued rows (and a fan-out) count as lost once stalled, or at once when their jobs were lost
        long lostBefore = Math.max(stalledBefore, jobsLostBefore);
        if (job.acceptedAt() > lostBefore) return true;
        GroupMessage m = messages.get(job.accountId(), job.messageId()).orElse(null);
        if (m == null) return true;
        // the last phone of the pages fanned out, whose queued rows may be requeued ("~": all of them)
        String requeueThrough = "~";
        if (!m.fanoutDone()) {
            if (jobsLost) messages.expirePageLease(m.accountId(), m.id(), jobsLostBefore);
            if (m.orderKey() != null) {
                tally.relays.put(m.id(), m); // its relay job fans out, and delivers its queued rows, in order
                return true;
            }
            // not the page after it: the re-driven fan-out takes that one over and enqueues its queued rows, and a
            // second job for them would take places in a busy line's waiting line for nothing
            var checkpoint = messages.checkpoint(m.accountId(), m.id());
            requeueThrough = checkpoint.done() ? "~" : checkpoint.cursor(); // done since the message was read: all
            if (messages.claimRefan(m.accountId(), m.id(), now, jobsLost ? jobsLostBefore : stalledBefore)) {
                // once a stall, not every sweep: during a lasting fault each sweep's job (with its quick retries)
                // piled up, about 8 failing runs a minute for one message, and filled the fan-out's concurrency
                try {
                    queue.send(Queues.FANOUT, List.of(FanoutService.redrivenJob(m.accountId(), m.id())));
                } catch (RuntimeException e) {
                    try {
                        messages.unclaimRefan(m.accountId(), m.id(), now); // not sent: the next sweep tries again
                    } catch (RuntimeException again) {
                        e.addSuppressed(again); // the claim lapses after a stall
                    }
                    throw e;
                }
                tally.refanned++;
            } // else sent again less than a stall ago, or a page was leased since: not lost (yet)
            // the pages fanned out so far are repaired as any message's rows: after a restart their jobs were lost
            // too, and rows left in sending wait for no fan-out (before, they waited for a sweep 10 minutes on)
        }
        // Rows of a message whose jobs wait in the queue for places are waiting, not lost (a backlog on a slow line
        // is legitimately queued for hours): another job for them would take a place of its own and find them sent.
        // Only this message's places count: another message's backlog on the line does not hold its lost rows back.
        boolean jobsWaiting = m.waitingUntil() > now && !jobsLost;
        // After a restart no worker of the last run lives on: its rows in sending are settled at once.
        long sendingBefore = Math.max(stalledBefore, jobsLostBefore);
        // Only shards whose counter has rows in sending are read for them: a message in flight for hours (100,000
        // recipients on a 1 mps line, 27 hours) had every row read every minute, its sending rows a handful at most.
        long[] sendingByShard = deliveries.countByShard(m.id(), m.shards(), Delivery.SENDING);
        for (int shard = 0; shard < m.shards(); shard++) {
            if (clock.millis() >= stopAt) return false; // what is left of this message waits for the next sweep
            if (tally.carrierFailing) {
                tally.notAsked += sendingByShard[shard]; // asked nothing more this sweep: not even read
            } else if (sendingByShard[shard] > 0 && !settleSending(m, shard,
                    deliveries.inStatus(m.id(), shard, Delivery.SENDING, sendingBefore), now, stopAt, tally)) {
                return false;
            }
            if (jobsWaiting || requeueThrough == null) continue;
            String through = requeueThrough;
            List<Delivery> lost = deliveries.inStatus(m.id(), shard, Delivery.QUEUED, lostBefore).stream()
                    .filter(d -> d.phone().compareTo(through) <= 0).toList();
            tally.requeued += requeue(m, shard, lost, now, stopAt, tally);
        }
        if (completion.tryComplete(m.accountId(), m.id())) tally.completed++;
        // A requeue cut short by the budget leaves rows for the next sweep, which then starts with this message.
        return clock.millis() < stopAt;
    }

    /**
     * Settles rows left in sending (their worker died between the carrier call and its record, or the carrier's answer
     * was lost) from the carrier's own word ({@link CarrierPort#findSent}), {@link #LOOKUPS_AT_ONCE} at a time: one the
     * carrier holds becomes sent, delivered or failed as it says, with its id, and is billed; one it does not hold was
     * never sent, so it goes back to queued and is enqueued at once, to be sent once. Without a clear answer the row
     * waits for the next sweep, and after {@link #GIVE_UP} ({@link #GIVE_UP_CARRIER_FAILING} when the carrier failed
     * to answer at all) is failed as {@link Delivery#OUTCOME_UNKNOWN} (never resent); once the carrier fails to answer at all, the sweep asks it nothing more, and the rows it did not ask
     * wait (only an unanswered question gives a row up). Each change is conditional on
     * the row being as it was read (status and updatedAt), so a decision taken on an old read never undoes a newer
     * claim (an overlapping sweep's, say). False when the budget ran out first.
     */
    private boolean settleSending(GroupMessage m, int shard, List<Delivery> sending, long now, long stopAt, Tally tally) {
        for (int from = 0; from < sending.size(); from += LOOKUPS_AT_ONCE) {
            List<Delivery> chunk = sending.subList(from, Math.min(sending.size(), from + LOOKUPS_AT_ONCE));
            // Once the carrier failed to answer, rows not asked wait for a sweep that asks them: taken as unanswered,
            // those claimed over an hour ago were failed as outcome unknown (never resent) without a question, after
            // an outage that left more of them than one sweep asks about.
            if (tally.carrierFailing) {
                tally.notAsked += sending.size() - from;
                return true;
            }
            // a lookup started now must end within the budget; past its share, the message's other rows wait for its
            // next visit and the other messages get theirs
            if (clock.millis() + LOOKUP_RESERVE.toMillis() > stopAt) return false;
            if (tally.lookupsThisMessage >= LOOKUPS_PER_MESSAGE) return true;
            List<SentLookup> answers = lookUp(m, chunk);
            tally.lookupsThisMessage += chunk.size();
            settle(m, shard, chunk, answers, now, tally);
        }
        return true;
    }

    /** Asks the carrier about each row at once (a lookup is a few hundred milliseconds at Twilio). */
    private List<SentLookup> lookUp(GroupMessage m, List<Delivery> rows) {
        return askAtOnce(rows.stream().<Callable<SentLookup>>map(d -> {
            Instant claimed = Instant.ofEpochMilli(d.updatedAt());
            var query = new SentLookup.Query(m.linePhone(), d.phone(), m.text(), claimed, claimed.plus(SEND_WINDOW));
            return () -> carrier.findSent(query);
        }).toList());
    }

    /** Asks the carrier every question at once, each on a virtual thread; the answers in the questions' order. */
    static List<SentLookup> askAtOnce(List<Callable<SentLookup>> questions) {
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<SentLookup>> asked = new ArrayList<>();
            for (var question : questions) asked.add(pool.submit(question));
            List<SentLookup> answers = new ArrayList<>();
            for (var answer : asked) {
                try {
                    answers.add(answer.get());
                } catch (ExecutionException e) {
                    answers.add(new SentLookup.Unanswered("lookup failed: " + e.getCause(), true));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    answers.add(new SentLookup.Unanswered("interrupted", true));
                }
            }
            return answers;
        }
    }

    /** Applies the carrier's answers about {@code rows} (in order). */
    private void settle(GroupMessage m, int shard, List<Delivery> rows, List<SentLookup> answers, long now, Tally tally) {
        List<DeliveryStore.Transition> taken = new ArrayList<>();
        List<DeliveryStore.Transition> takenUncharged = new ArrayList<>();
        List<DeliveryStore.Transition> notSent = new ArrayList<>();
        List<DeliveryStore.Transition> unknown = new ArrayList<>();
        Set<String> unansweredByFailingCarrier = new HashSet<>();
        for (int i = 0; i < rows.size(); i++) {
            Delivery d = rows.get(i);
            SentLookup answer = answers.get(i);
            // The one message of this text the carrier holds in the window (a lookup finds one only when nothing
            // else there could be this one) is another row's when its id is recorded on one, or another row of this
            // sweep took it (the same announcement to two groups, both rows left in sending): this one was never
            // sent. Taken for it, the number never got this message.
            if (answer instanceof SentLookup.Found found && (!tally.sidsFound.add(found.carrierMessageId())
                    || deliveries.sidRecorded(found.carrierMessageId()))) {
                answer = new SentLookup.NotFound();
            }
            switch (answer) {
                // the carrier's "failed" it does not charge for: settled, not billed
                case SentLookup.Found found -> {
                    var says = carrierSays(d, found, now);
                    // an unsubscribed recipient's (opted_out) is never billed, however the carrier says it
                    (StatusCallbacks.uncharged(found.status()) || Delivery.OPTED_OUT.equals(says.to()) ? takenUncharged : taken)
                            .add(says);
                }
                case SentLookup.NotFound ignored -> notSent.add(new DeliveryStore.Transition(d.phone(), Delivery.SENDING,
                        Delivery.QUEUED, null, null, now, d.updatedAt()));
                case SentLookup.Unanswered why -> {
                    if (why.carrierFailing()) tally.carrierFailing = true;
                    if (d.updatedAt() < now - (why.carrierFailing() ? GIVE_UP_CARRIER_FAILING : GIVE_UP).toMillis()) {
                        unknown.add(new DeliveryStore.Transition(d.phone(), Delivery.SENDING, Delivery.FAILED, null,
                                Delivery.OUTCOME_UNKNOWN, now, d.updatedAt()));
                        if (why.carrierFailing()) unansweredByFailingCarrier.add(d.phone());
                    } else {
                        if (why.carrierFailing() && d.updatedAt() < now - GIVE_UP.toMillis()) tally.overdueCarrierFailing++;
                        if (tally.unanswered++ == 0) {
                            Log.warn("delivery_lookup_unanswered", Map.of("messageId", m.id(), "reason", why.reason()));
                        }
                    }
                }
            }
        }
        if (!taken.isEmpty() || !takenUncharged.isEmpty()) {
            List<DeliveryStore.Transition> applied = new ArrayList<>(deliveries.apply(m.id(), shard, taken,
                    done -> done.isEmpty() ? List.of() : List.of(Billing.carrierTook(usage, m, now, done.size()))));
            applied.addAll(deliveries.apply(m.id(), shard, takenUncharged));
            tally.settledByCarrier += applied.size();
            for (var t : applied) {
                undeliverable.markIfCannotReceive(m, t.phone(), t.error(), now);
                // the carrier's "unsubscribed" (21610) of a message it queued: an opt-out as at the send (the row's claim)
                if (Delivery.OPTED_OUT.equals(t.to())) recordCarrierOptOut(m, t.phone(), t.seenAt());
            }
        }
        if (!unknown.isEmpty()) {
            var givenUp = deliveries.apply(m.id(), shard, unknown);
            tally.failedUnknown += givenUp.size();
            tally.givenUpCarrierFailing += (int) givenUp.stream().filter(t -> unansweredByFailingCarrier.contains(t.phone())).count();
        }
        if (!notSent.isEmpty()) {
            List<String> phones = deliveries.apply(m.id(), shard, notSent).stream().map(DeliveryStore.Transition::phone).toList();
            if (!phones.isEmpty()) {
                sendAgain(m, shard, phones, tally);
                tally.resent += phones.size();
            }
        }
    }

    /**
     * A delivery job for rows back in queued: on the deliveries queue, or, for an ordered message (a conversation's),
     * its relay job, sent with the others at the end of the sweep (see {@link #redriveRelays}). A group message's job
     * names the members marked undeliverable among them (one BatchGetItem of their membership rows), as the
     * fan-out's would, so they are skipped as they would have been.
     */
    private void sendAgain(GroupMessage m, int shard, List<String> phones, Tally tally) {
        if (m.orderKey() != null) {
            tally.relays.put(m.id(), m);
            tally.relaysWithRowsMoved.add(m.id());
        } else {
            queue.send(Queues.DELIVERIES, List.of(DeliveryJob.fresh(m.accountId(), m.id(), shard, phones,
                    undeliverable.marked(m, phones)).messageDelayedBy(0)));
        }
    }

    /**
     * Sends the relay jobs of the ordered messages this sweep found unfinished through the FIFO relays queue, oldest
     * first (by the time in their ids: the ULID after the last underscore, as in {@code cout_<ULID>} and
     * {@code drp_<inboundId>_<ULID>}): each fans out what is left and delivers its queued rows, one message at a time
     * per conversation, so they reach the phones in the thread's order. Before, they went through the unordered
     * fan-out and deliveries queues, and after a restart the phones got a conversation's messages out of order.
     */
    private void redriveRelays(Tally tally, long now) {
        if (tally.relays.isEmpty()) return;
        List<GroupMessage> ordered = new ArrayList<>(tally.relays.values());
        ordered.sort(java.util.Comparator.comparing(m -> m.id().substring(m.id().lastIndexOf('_') + 1)));
        // A message whose rows this sweep moved back to queued gets a job of this sweep's own: each row is moved by one
        // sweep only (conditional writes), and under a shared id a second sweep's job for rows it moved within the
        // FIFO queue's 5 minutes was dropped, so they waited for the requeue 10 minutes on. A message only found with
        // its fan-out unfinished gets one id per 5 minutes: sweeps a minute apart, or overlapping, send one job.
        long window = now / FIFO_DEDUPLICATION_WINDOW.toMillis();
        String thisSweep = ids.next("");
        List<QueueMessage> jobs = ordered.stream().map(m -> DirectMessages.relayJob(m, tally.relaysWithRowsMoved.contains(m.id())
                ? m.id() + "#moved-" + thisSweep : m.id() + "#redriven-" + window)).toList();
        for (int from = 0; from < jobs.size(); from += 10) {
            try {
                queue.send(Queues.RELAYS, jobs.subList(from, Math.min(jobs.size(), from + 10)));
                tally.relaysRedriven += Math.min(jobs.size(), from + 10) - from;
            } catch (RuntimeException e) {
                // the next sweep finds them unfinished again; the rest of this one (its resume point) goes on; paged
                // when it lasts, as a failed job
                Log.jobFailed("relay_redrive_failed", Map.of("messages", jobs.size() - from), e);
                return;
            }
        }
    }

    /** Records a carrier's "unsubscribed" a lookup found ({@link groupmsg.optout.CarrierOptOuts#recordReported}); logged if it fails. */
    private void recordCarrierOptOut(GroupMessage m, String phone, long sentAt) {
        try {
            carrierOptOuts.recordReported(m.accountId(), m.lineId(), phone, sentAt);
        } catch (RuntimeException e) {
            Log.error("maintenance_optout_not_recorded", Map.of("messageId", m.id()), e);
        }
    }

    /** Our status for a message the carrier holds, billed as taken whatever became of it (as a receipt would be). */
    private static DeliveryStore.Transition carrierSays(Delivery d, SentLookup.Found found, long now) {
        // a final status as a receipt saying it would be; any other (queued, sent...) says the carrier took it
        String finalStatus = StatusCallbacks.statusOf(found.status());
        String status = finalStatus == null ? Delivery.SENT : StatusCallbacks.rowStatus(finalStatus, found.errorCode());
        String error = Delivery.FAILED.equals(finalStatus)
                ? "carrier " + (found.errorCode() == null ? found.status() : found.errorCode()) : null;
        return new DeliveryStore.Transition(d.phone(), Delivery.SENDING, status, found.carrierMessageId(), error, now, d.updatedAt());
    }

    /**
     * Enqueues jobs for rows left queued, first moving their {@code updatedAt} on (status unchanged, no counter), so
     * the next sweeps leave them alone for another {@link #STALLED}: on a slow line a long backlog is legitimately
     * queued for hours, and each sweep used to enqueue all of it again. Rows claimed or touched meanwhile (by another
     * sweep) fail their condition and are not enqueued. Each chunk is enqueued right after its write (a failure or timeout between them strands
     * at most one chunk until the next stall); an ordered message's are sent once, with its relay job, at the end of
     * the sweep ({@link #sendAgain}). No chunk is started after {@code stopAt}. Returns how many were.
     */
    private int requeue(GroupMessage m, int shard, List<Delivery> stalled, long now, long stopAt, Tally tally) {
        int size = Math.min(DeliveryStore.MAX_TRANSITIONS, FanoutService.batchSize(m.sendsPerSecond()));
        int requeued = 0;
        for (int from = 0; from < stalled.size() && clock.millis() < stopAt; from += size) {
            List<DeliveryStore.Transition> touch = stalled.subList(from, Math.min(stalled.size(), from + size)).stream()
                    // as read: two sweeps at once (an overlap, a scheduler's second invocation) both read the rows,
                    // and only the first to touch them enqueues them (each used to: two jobs a row)
                    .map(d -> new DeliveryStore.Transition(d.phone(), Delivery.QUEUED, Delivery.QUEUED, null, null, now)
                            .ofClaim(d.updatedAt())).toList();
            List<String> phones = deliveries.apply(m.id(), shard, touch).stream().map(DeliveryStore.Transition::phone).toList();
            if (phones.isEmpty()) continue;
            sendAgain(m, shard, phones, tally);
            requeued += phones.size();
        }
        return requeued;
    }
}
