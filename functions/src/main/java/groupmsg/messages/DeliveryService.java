package groupmsg.messages;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import groupmsg.conversations.ConversationBlocks;
import groupmsg.platform.config.Lazy;
import groupmsg.lines.Line;
import groupmsg.lines.LineService;
import groupmsg.optout.CarrierOptOuts;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.queue.ExpectedRetry;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import groupmsg.usage.UsageStore;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Delivers one batch (one message, one shard, a few recipients): skips opted-out numbers, claims the rest with a
 * conditional write (queued -> sending), sends each through the carrier at the line's rate, and records each
 * block of outcomes with the shard's counters and the usage.
 * <p>
 * Exactly once: a recipient is sent to only after its row moved from queued to sending, and only the worker that
 * claimed a row moves it back to queued, and only when the carrier cannot have it: no send was started (no rate
 * slot before the deadline, or the reservation failed), or every try so far was turned away or never reached the
 * carrier and there is no time for another. If the process dies between "carrier accepted" and "row updated", the
 * row stays in sending: a redelivered batch cannot claim it (so it is never sent twice), the carrier's status
 * callback still finds it (the callback URL names message, shard and account) and moves it forward, and maintenance
 * asks the carrier about rows left in sending past a threshold: it records what the carrier holds, gives back to
 * queued (to be sent once) only what the carrier says it never got, and fails as "outcome unknown" what it cannot
 * settle within an hour. At-most-once is the right side to err on for a message that cannot be recalled. A job that is interrupted (its process stopping) calls off the sends
 * still waiting for their time and gives their rows back; a carrier call under way is let finish and recorded.
 */
public final class DeliveryService {
    /** A retryable carrier refusal is tried this many times in all. */
    public static final int MAX_ATTEMPTS = 4;

    /** A recipient's error when the send failed on our side before reaching the carrier (the log has what). */
    public static final String NOT_SENT_FAULT = "not sent: an internal error (logged as delivery_not_sent)";
    /** Unclear answers in a row (no clear one between) that stop a job as the carrier being unavailable does. */
    public static final int UNCLEAR_RUN = 5;

    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final OptOutStore optOuts;
    /**
     * Marks group members whose number cannot receive texts. Null where only other kinds of message are delivered
     * (the relay worker), which then need no access to the members table.
     */
    private final UndeliverableRecipients undeliverable;
    private final CarrierOptOuts carrierOptOuts;
    private final UsageStore usage;
    private final RateLimiter limiter;
    private final LineService lines;
    private final CarrierPort carrier;
    private final Completion completion;
    private final String publicBaseUrl;
    private final Clock clock;
    /** Built at a conversation message's first block: only the relay worker delivers them. */
    private final Lazy<ConversationBlocks> conversations;

    /** A delivery service for messages other than group messages (no undeliverable members are marked). */
    public DeliveryService(Wiring wiring) {
        this(wiring, null);
    }

    /** @param undeliverable marks group members whose number cannot receive texts */
    DeliveryService(Wiring wiring, UndeliverableRecipients undeliverable) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        String core = wiring.config().table(Tables.CORE);
        this.messages = new MessageStore(ops, core);
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.optOuts = new OptOutStore(ops, core);
        this.carrierOptOuts = new CarrierOptOuts(wiring);
        this.undeliverable = undeliverable;
        this.usage = new UsageStore(wiring.dynamo(), core);
        this.limiter = new RateLimiter(wiring.dynamo(), core, wiring.clock());
        this.lines = new LineService(wiring);
        this.carrier = wiring.carrier();
        this.completion = new Completion(wiring, messages, deliveries);
        this.publicBaseUrl = wiring.config().publicBaseUrl();
        this.clock = wiring.clock();
        this.conversations = new Lazy<>(() -> new ConversationBlocks(wiring));
    }

    /**
     * Why a conversation message's copies go to nobody from now on (blocked by an opt-out, closed, its line's group
     * messaging switched off: {@link ConversationBlocks#whyNothingMoreIsSent}), or null (and for other kinds). Asked
     * at each block and with each fresh opt-out look, so a copy not yet sent on a slow line does not go out after the
     * block (before, only when the message's delivery began: the copies after it still went, 90 s of them at 0.1 mps).
     */
    private String whyConversationStopped(GroupMessage m) {
        if (m.kind() != MessageKind.CONVERSATION || m.orderKey() == null) return null;
        return conversations.get().whyNothingMoreIsSent(m.accountId(), m.orderKey());
    }

    /** {@link #deliver(String, String, int, List, Deadline)} with no deadline. */
    public void deliver(String accountId, String messageId, int shard, List<String> phones) throws InterruptedException {
        deliver(accountId, messageId, shard, phones, Deadline.NONE);
    }

    /**
     * Delivers a whole job, then checks completion. Throws {@link NotSentYet} when some recipient was given back to queued (no rate
     * slot before the deadline, or a retry's slot reservation failed), so the job fails and its queue brings it back:
     * a relay's FIFO job then keeps its place in the conversation instead of leaving the row to maintenance (or, cut
     * off by its invocation's end, leaving claimed rows in sending, never to be sent).
     */
    public void deliver(String accountId, String messageId, int shard, List<String> phones, Deadline deadline)
            throws InterruptedException {
        GroupMessage m = sendable(accountId, messageId, shard, phones);
        List<String> givenBack = m == null ? List.of() : deliver(m, shard, phones, deadline, Long.MAX_VALUE);
        if (!givenBack.isEmpty()) {
            long lineFree = limiter.knownBookedUntil(m.lineId()) - clock.millis();
            throw new NotSentYet(givenBack.size() + " recipient(s) of " + messageId + " not sent yet; the job is to be retried",
                    Math.max(RETRY_GIVEN_BACK_MILLIS, lineFree));
        }
        complete(accountId, messageId);
    }

    /**
     * The least wait before a job whose recipients were given back is tried again: its next run would otherwise
     * find the same line as busy.
     */
    static final long RETRY_GIVEN_BACK_MILLIS = 2_000;

    /**
     * How long a job may go on (a worker's time is limited: a busy line can hold a job's blocks back for many seconds).
     *
     * @param startBlocksBefore epoch millisecond after which no further block is claimed
     * @param lastSendAt        epoch millisecond after which no send starts: the carrier's answer and the record must
     *                          still fit in the invocation
     */
    public record Deadline(long startBlocksBefore, long lastSendAt) {
        public static final Deadline NONE = new Deadline(Long.MAX_VALUE, Long.MAX_VALUE);

        /**
         * Time kept back when starting a block: its reservation may wait for the lookahead (11 s), its slots take up
         * to about 5.5 s (a block is at most about 5 s of the line's rate), and it and the block before are recorded.
         */
        static final long BLOCK_RESERVE_MILLIS = 20_000;
        /**
         * Time kept back after the last send starts: the carrier's answer (its request timeout, 10 s), the record of
         * the block and the job handed on with what is left.
         */
        static final long SEND_RESERVE_MILLIS = 13_000;

        /** The deadline of a worker invocation that ends at {@code endsAt} (epoch ms). */
        public static Deadline ofInvocation(long endsAt) {
            return new Deadline(endsAt - BLOCK_RESERVE_MILLIS, endsAt - SEND_RESERVE_MILLIS);
        }

        /** This deadline, or {@code lastSendAt} if sooner (no block is started in the last second before it). */
        public Deadline notAfter(long lastSendAt) {
            return new Deadline(Math.min(startBlocksBefore, lastSendAt - 1000), Math.min(this.lastSendAt, lastSendAt));
        }
    }

    /**
     * Delivers recipients until the deadline, without the completion check, and returns those left queued for the
     * caller to hand on or fail with.
     * <p>
     * Blocks are pipelined: the next block is claimed and given the line's next slots while the current one is
     * still sending, so the line never idles between blocks (sequential blocks left a gap of a record, a claim and a
     * reservation each time: 53% of a 100 mps line used, against 91% possible). At most two blocks of a job are
     * claimed ahead of their sends, which bounds what a crash leaves in sending (see the class comment).
     *
     * @return the recipients left queued (not started before the deadline, or given back: see {@link #startBlock}),
     *         for the caller to hand on; empty when all were delivered
     */
    public List<String> deliverOnly(String accountId, String messageId, int shard, List<String> phones, Deadline deadline)
            throws InterruptedException {
        GroupMessage m = sendable(accountId, messageId, shard, phones);
        return m == null ? List.of() : deliver(m, shard, phones, deadline, Long.MAX_VALUE);
    }

    /**
     * Delivers a job of the deliveries queue until the deadline, without the completion check, and returns the jobs
     * that are to take over what is left (empty when all were delivered); the caller enqueues them, and their
     * recipients stay queued meanwhile (an enqueue that fails fails the job, which comes back whole: its started rows
     * are no longer queued and are skipped).
     * <p>
     * A group message's recipients left over take a place in the line's waiting line ({@link RateLimiter#ticket}),
     * and so does a fresh job of one while this worker knows the line has a waiting line (it goes after the jobs
     * already waiting, not ahead of them). Any other message's go on as a fresh job (keyword replies go through the
     * relays queue now; one stored before that, by a rerun): a place would put a STOP's confirmation behind a whole
     * backlog.
     */
    List<DeliveryJob> deliver(DeliveryJob job, Deadline deadline) throws InterruptedException {
        GroupMessage m = sendable(job.accountId(), job.messageId(), job.shard(), job.phones());
        if (m == null) return List.of();
        List<String> phones = job.phones();
        if (!job.skip().isEmpty()) {
            skipUndeliverable(m, job.shard(), job.skip());
            phones = phones.stream().filter(p -> !job.skip().containsKey(p)).toList();
            if (phones.isEmpty()) return List.of();
        }
        boolean group = m.kind() == MessageKind.GROUP;
        if (group && job.ticketAt() == 0 && limiter.knownWaitingLine(m.lineId(), m.lineMps())) {
            // Placed for the recipients it will send to (a place for an opted-out number would idle the line); the
            // opted-out ones' rows show so now, as a claim shows them, not queued until the place comes (hours on a
            // busy line), nor does a job of opted-out numbers alone come back every 15 minutes meanwhile to do nothing.
            Set<String> optedOut = optOuts.optedOut(m.lineId(), phones);
            if (!optedOut.isEmpty()) {
                long now = clock.millis();
                deliveries.applyInChunks(m.id(), job.shard(), optedOut.stream().map(p -> toOptedOut(p, now)).toList(),
                        applied -> List.of());
                phones = phones.stream().filter(p -> !optedOut.contains(p)).toList();
                if (phones.isEmpty()) return List.of();
            }
            return places(m, job.shard(), phones);
        }
        long place = job.ticketAt() / 1000;
        if (place > 0 && limiter.knownBookedPast(m.lineId(), place - FIRST_CLAIM_AHEAD_MILLIS)) {
            // The line is busy up to its place: claim (and look up opt-outs) just before it, not 3-4 s early on
            // arrival (a claimed row is one a crash leaves in sending, and a lookup over a second old is made again).
            long wait = Math.min(place - FIRST_CLAIM_AHEAD_MILLIS - clock.millis(), DeliveryJob.ARRIVE_EARLY_MILLIS + 1000);
            if (wait > 0) Thread.sleep(wait);
        }
        // A fresh job of a group message that finds its line booked far ahead takes a place at once, rather than
        // hold its worker while it waits to reserve (a job with a place waits: sent back, it would lose its place).
        long firstWait = group && job.ticketAt() == 0 ? FRESH_JOB_MAX_WAIT_MILLIS : Long.MAX_VALUE;
        List<String> left = deliver(m, job.shard(), phones, deadline, firstWait);
        if (left.isEmpty()) return List.of();
        return group ? places(m, job.shard(), left) : List.of(DeliveryJob.fresh(m.accountId(), m.id(), job.shard(), left));
    }

    /**
     * Fails the rows of members marked undeliverable as skipped, never sent nor billed ({@link #failUnsent}). Costs
     * nothing for a job without such members.
     */
    private void skipUndeliverable(GroupMessage m, int shard, Map<String, String> skip) {
        Map<String, String> errors = new HashMap<>();
        skip.forEach((phone, markedBy) -> errors.put(phone, skipped(markedBy)));
        failUnsent(m, shard, errors);
    }

    /**
     * Fails queued rows never to be sent, each with its error, or as {@code opted_out} for a number opted out of
     * the line (API.md: an opted-out number shows so, whatever else is known of it): one opt-out lookup, then one
     * conditional transaction per {@value DeliveryStore#MAX_TRANSITIONS} (rows no longer queued are left alone).
     */
    private void failUnsent(GroupMessage m, int shard, Map<String, String> errors) {
        List<String> phones = List.copyOf(errors.keySet());
        Set<String> optedOut = optOuts.optedOut(m.lineId(), phones);
        long now = clock.millis();
        List<DeliveryStore.Transition> fails = new ArrayList<>();
        for (String p : phones) {
            fails.add(optedOut.contains(p)
                    ? toOptedOut(p, now)
                    : new DeliveryStore.Transition(p, Delivery.QUEUED, Delivery.FAILED, null, errors.get(p), now));
        }
        deliveries.applyInChunks(m.id(), shard, fails, applied -> List.of());
    }

    /**
     * Fails the queued rows of {@code phones} (shard by shard) as never to be sent, with {@code error} (an opted-out
     * number's as {@code opted_out}): never sent, never billed; rows no longer queued are left alone.
     */
    void failQueued(GroupMessage m, List<String> phones, String error) {
        Map<Integer, Map<String, String>> byShard = new TreeMap<>();
        for (String p : phones) byShard.computeIfAbsent(DeliveryStore.shardOf(p, m.shards()), k -> new HashMap<>()).put(p, error);
        byShard.forEach((shard, errors) -> failUnsent(m, shard, errors));
    }

    /** A queued row's move to opted_out: never sent, never billed (API.md). */
    private static DeliveryStore.Transition toOptedOut(String phone, long now) {
        return new DeliveryStore.Transition(phone, Delivery.QUEUED, Delivery.OPTED_OUT, null, null, now);
    }

    /** A skipped row's error: the error that marked the member undeliverable. */
    static String skipped(String markedBy) {
        return "skipped: undeliverable number (" + markedBy + ")";
    }

    /**
     * The longest a fresh group job waits to reserve its first slots while nothing of it is sending. Before, a
     * hundred jobs of a 1 mps line arriving together each slept about 5 s for the lookahead, only to find the line
     * booked past their hold and take a place then: every delivery worker was held, and another account's message
     * to five on a free line took 4.6-5.9 s (10.4 s on a busy CI machine).
     */
    static final long FRESH_JOB_MAX_WAIT_MILLIS = 1000;

    /** How long after its last place a message's queued rows still count as waiting, not lost. */
    static final long WAITING_GRACE_MILLIS = 60_000;

    /** The most sending (by the line's rate) one claimed block covers on a slow line. */
    static final int CLAIM_SECONDS = 1;

    /** How long before its place a returning job claims, when the line is busy until then. */
    static final long FIRST_CLAIM_AHEAD_MILLIS = 500;

    /** A job's place covers at most this much of the line's time, so it is sent within a worker's hold. */
    static final long JOB_SPAN_MICROS = 6_000_000;

    /**
     * Jobs for {@code phones} with places in the line's waiting line: one place as long as their sends, split into jobs
     * of at most {@link #JOB_SPAN_MICROS} of sending, each placed where its sends start.
     */
    private List<DeliveryJob> places(GroupMessage m, int shard, List<String> phones) {
        int sends = phones.size();
        long at = limiter.ticket(m.lineId(), m.lineMps(), m.segmentsPerSend(), sends);
        long spacing = RateLimiter.spacingMicros(m.lineMps(), m.segmentsPerSend());
        // for maintenance: these rows are waiting, not lost, until a while after the last place
        messages.markWaitingUntil(m.accountId(), m.id(), (at + sends * spacing) / 1000 + WAITING_GRACE_MILLIS);
        int per = (int) Math.max(1, JOB_SPAN_MICROS / spacing);
        List<DeliveryJob> jobs = new ArrayList<>();
        for (int from = 0; from < phones.size(); from += per) {
            List<String> part = phones.subList(from, Math.min(phones.size(), from + per));
            jobs.add(DeliveryJob.placed(m.accountId(), m.id(), shard, part, at + (long) from * spacing, m.lineMps()));
        }
        return jobs;
    }

    /**
     * The message at its line's current rate, read once per job: a rate changed while a message sends (the carrier
     * lowered the line's throughput, say) applies from the message's next job, not only to later messages. Null
     * (logged) when the message is gone; null too when its line was deleted (also when it was brought back since: the
     * message is of its earlier life), after failing {@code phones}' rows as not sent: a deletion waits for the
     * messages being sent (409) unless forced, so only a message accepted while its line's deletion committed, or one
     * a forced deletion left, gets here, and its number may be another account's by now (a STOP in answer would be lost).
     */
    private GroupMessage sendable(String accountId, String messageId, int shard, List<String> phones) {
        GroupMessage found = messages.get(accountId, messageId).orElse(null);
        if (found == null) {
            Log.warn("delivery_unknown_message", Map.of("messageId", messageId));
            return null;
        }
        Line line = lines.find(accountId, found.lineId()).orElse(null);
        if (line == null || line.deletedSince(found.acceptedAt())) {
            Log.warn("delivery_line_deleted", Map.of("messageId", messageId, "lineId", found.lineId(), "recipients", phones.size()));
            Map<String, String> errors = new HashMap<>();
            phones.forEach(phone -> errors.put(phone, LINE_DELETED));
            failUnsent(found, shard, errors);
            return null;
        }
        return line.mps() == found.lineMps() ? found : found.withLineMps(line.mps());
    }

    /**
     * Keeps maintenance off the queued rows of {@code job}'s message until {@code untilMillis}: a job handed on after its
     * last receive is on its way to them (its rows untouched since the fan-out but its first block's, which maintenance
     * would otherwise take for lost at 10 minutes and give a second job, a second chain turned away by the carrier).
     */
    void holdMaintenanceOff(DeliveryJob job, long untilMillis) {
        messages.markWaitingUntil(job.accountId(), job.messageId(), untilMillis);
    }

    /** What a job back before its place does ({@link #beforeItsPlace}). */
    enum EarlyReturn { WAIT, ENDED, GO_NOW }

    /**
     * For a job back before its place (one hours ahead on a busy line comes back every 15 minutes, SQS's longest
     * delay): {@link EarlyReturn#ENDED} when it is not to wait any more, its message gone or its line deleted since
     * the message was accepted, after failing its rows as not sent ({@link #sendable}): a forced deletion of a line
     * then ends its messages within 15 minutes, not when each place comes (a large message stayed "sending" for
     * hours). {@link EarlyReturn#GO_NOW} when its line's rate was raised since its place was given (the carrier
     * granted more throughput): the places keep the old spacing, so a broadcast on a line raised from 1 to 20 mps went
     * on at 1 mps for hours, its line idle between them. Else {@link EarlyReturn#WAIT}. Two GetItems per return.
     */
    EarlyReturn beforeItsPlace(DeliveryJob job) {
        GroupMessage m = sendable(job.accountId(), job.messageId(), job.shard(), job.phones());
        if (m == null) return EarlyReturn.ENDED;
        return job.placeMps() > 0 && m.lineMps() > job.placeMps() ? EarlyReturn.GO_NOW : EarlyReturn.WAIT;
    }

    /** The error of a recipient not sent to because the message's line was deleted before its send. */
    static final String LINE_DELETED = "not sent: the line was deleted";

    /** @param firstWaitMillis how long a reservation may wait while nothing of the job is sending yet */
    private List<String> deliver(GroupMessage m, int shard, List<String> phones, Deadline deadline, long firstWaitMillis)
            throws InterruptedException {
        // Even blocks (200 -> 67, 67, 66 rather than 98, 98, 4): as many transactions, no block too small to
        // cover the time the next one takes to claim. On a slow line a block is at most a second of its rate: a
        // claimed row is one a crash leaves in sending (sent only after maintenance has asked the carrier, ten minutes
        // on), and a job claims up to two blocks ahead of its sends; with blocks of a whole job (5 s of the rate) a
        // kill -9 at 3 mps left 19 of 30 so.
        int blocks = Math.max(Math.ceilDiv(phones.size(), DeliveryStore.MAX_TRANSITIONS),
                Math.ceilDiv(phones.size(), (int) Math.max(1, Math.floor(m.sendsPerSecond() * CLAIM_SECONDS))));
        int size = Math.max(1, Math.ceilDiv(phones.size(), Math.max(1, blocks)));
        List<Sending> unrecorded = new ArrayList<>();
        var stop = new Stop();
        try (ExecutorService pool = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name(Thread.currentThread().getName() + "/send-", 0).factory())) {
            try {
                List<String> leftQueued = new ArrayList<>();
                // The cap on the first wait holds until something of the job is sending: a redelivered job whose first
                // blocks were sent before claims nothing in them, and is still a job with nothing under way.
                boolean sending = false;
                for (int from = 0; from < phones.size(); from += size) {
                    // Out of time for another block, or this worker has seen the line booked past the time this job
                    // may go on, or the carrier refuses the sender: the rest stays queued (unclaimed).
                    if (clock.millis() >= deadline.startBlocksBefore() || limiter.knownBookedPast(m.lineId(), deadline.lastSendAt())
                            || stop.senderRefusal() != null || stop.carrierTrouble() != null) {
                        leftQueued.addAll(phones.subList(from, phones.size()));
                        break;
                    }
                    int to = Math.min(phones.size(), from + size);
                    Sending current = new Sending(new ArrayList<>(), new ArrayList<>(), clock.millis());
                    unrecorded.add(current);
                    List<String> givenBack = startBlock(m, shard, phones.subList(from, to), pool, current, deadline.lastSendAt(),
                            sending ? Long.MAX_VALUE : firstWaitMillis, stop);
                    sending |= !current.sends().isEmpty();
                    if (!givenBack.isEmpty()) {
                        // No rate slot in time: neither the rest of this block nor any later one can be sent.
                        leftQueued.addAll(givenBack);
                        leftQueued.addAll(phones.subList(to, phones.size()));
                        break;
                    }
                    if (unrecorded.size() > 1) leftQueued.addAll(recordFirst(m, shard, unrecorded));
                }
                leftQueued.addAll(recordAll(m, shard, unrecorded));
                if (stop.senderRefusal() != null) throw senderRefused(m, stop.senderRefusal());
                // Even when it took some of the job's sends (throttling part of them): handed on as any leftover, the
                // rest came back at once, ran into the same throttling and stopped again, every few seconds, for good
                if (stop.carrierTrouble() != null) {
                    var unavailable = carrierUnavailable(m, stop.carrierTrouble(), stop.takenCount()); // logged, counted
                    // (a run of unclear answers among the job's last sends leaves nothing queued: nothing to retry)
                    if (!leftQueued.isEmpty()) throw unavailable;
                }
                return leftQueued;
            } catch (InterruptedException | RuntimeException e) {
                // Interrupted (the process is stopping): sends waiting for their slot or a retry are called off and
                // their rows given back to queued; a carrier call under way is let finish, so its answer is recorded.
                // Before, the waiting sends died with the interrupt and left their rows in sending, never sent, to be
                // failed as "outcome unknown" ten minutes later (7 of 20 recipients when a local runtime stopped).
                // An interrupt that lands in an SDK call comes back as its AbortedException, with the flag set again.
                if (Thread.currentThread().isInterrupted() || ExpectedRetry.causedByInterrupt(e)) stop.now();
                // Sends already started go out whatever happens here: record them (a sent row left in sending would
                // end "outcome unknown" without a receipt), then fail the job. With the flag set, every SDK call of
                // the record would be aborted too: it is cleared meanwhile and set again after.
                boolean flagged = Thread.interrupted();
                try {
                    recordAll(m, shard, unrecorded); // the job fails: what it gave back is claimed again on its retry
                } catch (InterruptedException | RuntimeException again) {
                    e.addSuppressed(again);
                } finally {
                    if (flagged) Thread.currentThread().interrupt();
                }
                throw e;
            }
        }
    }

    /** Records every block still unrecorded; returns the recipients given back to queued. */
    private List<String> recordAll(GroupMessage m, int shard, List<Sending> unrecorded) throws InterruptedException {
        List<String> givenBack = new ArrayList<>();
        while (!unrecorded.isEmpty()) givenBack.addAll(recordFirst(m, shard, unrecorded));
        return givenBack;
    }

    /**
     * Records the oldest unrecorded block, and only then drops it from the list: a write that fails leaves it
     * there for the failure path to record again (its chunks already written are dropped then, their rows no longer
     * in sending), so no outcome is lost, nor a recipient given back to queued left in sending for good.
     */
    private List<String> recordFirst(GroupMessage m, int shard, List<Sending> unrecorded) throws InterruptedException {
        List<String> givenBack = recordBlock(m, shard, unrecorded.getFirst());
        unrecorded.removeFirst();
        return givenBack;
    }

    /** Marks the message sent (and publishes its event) if every delivery is final. */
    public void complete(String accountId, String messageId) {
        completion.tryComplete(accountId, messageId);
    }

    /** How much sending (by slot time) one record transaction covers at most. */
    static final long RECORD_EVERY_MILLIS = 1000;

    /**
     * A block's sends, each started at its slot time (in slot order), those times, and the time its rows were claimed
     * at (their {@code updatedAt} until recorded), which every outcome of the block is conditioned on: a record
     * written again after a failure (its first chunks may have committed) must not move a row that was given back
     * and claimed since by another job, whose send would then be dropped and the recipient sent to again.
     */
    private record Sending(List<Future<DeliveryStore.Transition>> sends, List<Long> sendTimes, long claimedAt) {}

    /**
     * Claims up to {@link DeliveryStore#MAX_TRANSITIONS} recipients and schedules their sends: one opt-out lookup,
     * one claim transaction (rows no longer queued fail their condition and are left alone: a redelivered batch
     * claims nothing), rate slots for all of them, each send started at its slot without waiting for the previous
     * one's answer, each added to {@code into} as it is scheduled (so a failure halfway still records those). Returns
     * once every slot is reserved.
     * <p>
     * Claimed rows whose sends were never scheduled go back to queued: when no slot is left before
     * {@code lastSendAt} (returned, for the caller to hand on), and when the reservation fails (then the job fails
     * and comes back, and claims them again). Before, they stayed in sending and maintenance failed them as "outcome
     * unknown" ten minutes later: recipients lost to a throttled write or a busy line.
     *
     * @return the claimed recipients given back to queued for want of a slot in time; empty when all were scheduled
     */
    private List<String> startBlock(GroupMessage m, int shard, List<String> phones, ExecutorService pool, Sending into,
                                    long lastSendAt, long firstWaitMillis, Stop stop) throws InterruptedException {
        var watch = new OptOutWatch(m, clock.millis());
        Set<String> optedOut = m.kind().ignoresOptOut() ? Set.of() : optOuts.optedOut(m.lineId(), phones);
        String stopped = whyConversationStopped(m);
        watch.lookedUp();
        long now = into.claimedAt();
        List<DeliveryStore.Transition> claims = new ArrayList<>();
        for (String p : phones) {
            claims.add(optedOut.contains(p) ? toOptedOut(p, now)
                    : stopped != null ? new DeliveryStore.Transition(p, Delivery.QUEUED, Delivery.FAILED, null, stopped, now)
                    : new DeliveryStore.Transition(p, Delivery.QUEUED, Delivery.SENDING, null, null, now));
        }
        List<String> claimed = deliveries.apply(m.id(), shard, claims).stream()
                .filter(t -> Delivery.SENDING.equals(t.to())).map(DeliveryStore.Transition::phone).toList();
        // Each run of slots is handed to its senders as soon as it is reserved, so a later reservation that has
        // to wait for the line never holds back (and then bunches up) sends whose time has come.
        List<Future<DeliveryStore.Transition>> sends = into.sends();
        List<Long> sendTimes = into.sendTimes();
        try {
            while (sends.size() < claimed.size()) {
                var reserved = limiter.acquire(m.lineId(), m.lineMps(), m.segmentsPerSend(), claimed.size() - sends.size(),
                        lastSendAt, sends.isEmpty() ? firstWaitMillis : Long.MAX_VALUE);
                if (reserved.isEmpty()) return giveBack(m, shard, claimed.subList(sends.size(), claimed.size()), now);
                var slots = reserved.get();
                for (int i = 0; i < slots.count(); i++) {
                    String phone = claimed.get(sends.size());
                    long at = slots.sendAtMillis(i);
                    sendTimes.add(at);
                    watch.scheduled(phone, at);
                    sends.add(pool.submit(() -> {
                        try {
                            if (!stop.sleepUntil(watch.wakeAt(at))) return backToQueued(phone, clock.millis());
                            return sendOne(m, shard, phone, at, lastSendAt, watch, stop);
                        } catch (InterruptedException e) {
                            // Only a wait throws it (a carrier call turns it into an unclear answer), and no try is
                            // under way during one: the carrier does not have this message.
                            return backToQueued(phone, clock.millis());
                        } finally {
                            watch.tried(phone); // however it ended: later reads need not cover it
                        }
                    }));
                }
            }
            return List.of();
        } catch (InterruptedException | RuntimeException e) {
            try {
                giveBack(m, shard, claimed.subList(sends.size(), claimed.size()), now);
            } catch (RuntimeException again) {
                e.addSuppressed(again); // they stay in sending: maintenance settles them
            }
            throw e;
        }
    }

    /** How old a block's opt-out lookup may be when a send goes out; older, it is looked up again first. */
    static final long OPT_OUT_FRESH_MILLIS = 1000;

    /**
     * How late after its rate slot a try may still go out. The slots are spaced 10% wider than the rate (1.1 s /
     * mps), so sends each at most 100 ms late never put more than the rate in any second, however many are late
     * (a send is counted in a second only if its slot lies in the 1.1 s before that second's end); half of that is
     * left to the network between us and the carrier. A try its opt-out look made later than that takes a fresh slot
     * (see {@link #sendOne}). (RateLimiter hands out no slot already more than
     * {@link RateLimiter#LATE_TOLERANCE_MILLIS} past, which stays below this.)
     */
    static final long SEND_LATE_TOLERANCE_MILLIS = 50;

    /** The fastest line whose tries made late by their opt-out look take fresh slots (see {@link #sendOne}). */
    static final double RESLOT_MAX_MPS = 100;

    /**
     * How long before its slot a try that may need a fresh opt-out read wakes to make it: twice the block's last
     * read, within these bounds (the upper one keeps the answer under {@value #OPT_OUT_FRESH_MILLIS} ms old when the
     * try goes out, {@link #SEND_LATE_TOLERANCE_MILLIS} late at most).
     */
    static final long MIN_READ_LEAD_MILLIS = 100;
    static final long MAX_READ_LEAD_MILLIS = 800;

    /** What a send does after looking at its opt-out again (and its conversation's: STOPPED, see whyConversationStopped). */
    enum Verdict { SEND, OPTED_OUT, STOPPED, GIVE_BACK }

    /**
     * A block's opt-outs kept fresh while it sends. The block looks them up once before claiming, but a slow line
     * spaces its sends over up to ~100 s (98 recipients at 1 mps), and API.md allows nothing to go to a number once
     * its opt-out is recorded: measured, 16 of 16 recipients who texted STOP two seconds into a send at 2 mps were
     * still sent the message, up to 8.5 s after their opt-out (43.6 s at 1 mps). So every try of a send (the first,
     * and each retry after a refusal) that would go out (at its slot, or now if that is later) more than
     * {@value #OPT_OUT_FRESH_MILLIS} ms after the answer it would go on looks again first, together with the block's
     * other sends due within the next {@value #OPT_OUT_FRESH_MILLIS} ms (one consistent BatchGetItem): no try goes
     * out on an answer older than that. The look is made ahead of the slot ({@link #lead}), so the read's time does
     * not make the try late (one it still makes late takes a fresh slot on a slow line: see {@link #sendOne}). A
     * block sent within its lookup's first second costs nothing more; later sends cost about one read per second of
     * sending. When the read fails, or waiting for it used up the time to send, the row goes back to queued (the
     * carrier never had it): the job's retry claims it again. Kinds that ignore opt-outs (keyword replies) never look.
     */
    private final class OptOutWatch {
        private final GroupMessage m;
        private final long lookedUpAt;
        private final Lock lock = new ReentrantLock();
        /** phone -> its slot, for the tries due after the block's lookup went stale and not made yet */
        private final Map<String, Long> sendAt = new ConcurrentHashMap<>();
        /** phone -> when it was looked up again, and the answer (guarded by the lock) */
        private final Map<String, Long> checkedAt = new HashMap<>();
        private final Set<String> optedOut = new HashSet<>();
        /** How long the last read took (the block's lookup, then each look again). */
        private volatile long readMillis;
        /** Why the message's conversation takes no more copies, once a look found it so (then every try stops). */
        private volatile String stoppedBecause;
        /** The numbers whose opt-out was looked up when (or since) the stop was found (guarded by the lock). */
        private final Set<String> lookedUpAtStop = new HashSet<>();

        OptOutWatch(GroupMessage m, long lookedUpAt) {
            this.m = m;
            this.lookedUpAt = lookedUpAt;
        }

        String stoppedBecause() {
            return stoppedBecause;
        }

        /**
         * A try after its conversation stopped taking copies: opted out when the number is, else stopped. A number not
         * looked up when the stop was found (a try then waiting to retry after a refusal, or due within the block's
         * first second) is looked up now.
         */
        private Verdict stopped(String phone) {
            lock.lock();
            try {
                if (!lookedUpAtStop.contains(phone)) {
                    try {
                        optedOut.addAll(optOuts.optedOut(m.lineId(), List.of(phone)));
                    } catch (RuntimeException e) {
                        Log.error("delivery_optout_recheck_failed", Map.of("messageId", m.id()), e);
                        return Verdict.GIVE_BACK;
                    }
                    lookedUpAtStop.add(phone);
                }
                return optedOut.contains(phone) ? Verdict.OPTED_OUT : Verdict.STOPPED;
            } finally {
                lock.unlock();
            }
        }

        /** The block's own lookup is done: its time is the first guess of a read's. */
        void lookedUp() {
            readMillis = clock.millis() - lookedUpAt;
        }

        void scheduled(String phone, long at) {
            if (needsLook(at)) sendAt.put(phone, at);
        }

        /** The try of {@code phone} is going out (a retry is scheduled again): later reads need not cover it. */
        void tried(String phone) {
            sendAt.remove(phone);
        }

        private boolean needsLook(long slotAt) {
            return !m.kind().ignoresOptOut() && stale(slotAt, lookedUpAt);
        }

        /** Whether an answer asked for at {@code checkedAt} may be too old for a try at {@code slotAt} (late as allowed). */
        private static boolean stale(long slotAt, Long checkedAt) {
            return checkedAt == null || slotAt + SEND_LATE_TOLERANCE_MILLIS - checkedAt > OPT_OUT_FRESH_MILLIS;
        }

        /**
         * When the try at {@code slotAt} wakes: ahead of it when it may have to look again first, by the lead known
         * when it goes to sleep (a block is claimed about a second ahead of its sends).
         */
        long wakeAt(long slotAt) {
            return needsLook(slotAt) ? slotAt - lead() : slotAt;
        }

        private long lead() {
            return Math.min(MAX_READ_LEAD_MILLIS, Math.max(MIN_READ_LEAD_MILLIS, 2 * readMillis));
        }

        /**
         * Whether the try that goes out at {@code goesAt} may, on an answer at most a second old then: its slot, or
         * now if that is later (a thread that woke late: a busy CPU, a pause), as a try already late is not put off
         * again for being late.
         */
        Verdict beforeTry(String phone, long goesAt, long lastSendAt) throws InterruptedException {
            if (stoppedBecause != null) return stopped(phone);
            if (!needsLook(goesAt)) return Verdict.SEND;
            lock.lockInterruptibly();
            try {
                // found while this try waited for the lock (another try's look): no copy goes after it
                if (stoppedBecause != null) return stopped(phone);
                long now = clock.millis();
                if (now > lastSendAt) return Verdict.GIVE_BACK; // the wait for another send's read used the time up
                if (stale(Math.max(goesAt, now), checkedAt.get(phone))) {
                    // with the others due soon whose answer would be too old, and this read's will not be
                    List<String> due = new ArrayList<>();
                    sendAt.forEach((p, t) -> {
                        long at = Math.max(t, now); // a send already late goes now
                        if (stale(at, checkedAt.get(p)) && !stale(at, now)) due.add(p);
                    });
                    if (!due.contains(phone)) due.add(phone);
                    // the opt-outs before the conversation: under block_conversation its check reads the
                    // participants' opt-outs again, so an opt-out this read found is one the check saw (asked first,
                    // a STOP between the two would show its number opted out while the others' copies still went)
                    Set<String> out;
                    String stopped;
                    try {
                        out = optOuts.optedOut(m.lineId(), due);
                        stopped = whyConversationStopped(m);
                    } catch (RuntimeException e) {
                        Log.error("delivery_optout_recheck_failed", Map.of("messageId", m.id()), e);
                        return Verdict.GIVE_BACK; // not on a stale answer; nothing was sent
                    }
                    if (stopped != null) {
                        // an opted-out number shows so, whatever else is known (as failUnsent has it): the copies
                        // still to go are looked up once more, all of them (a STOP that blocked it may be newer than
                        // the read above)
                        List<String> left = new ArrayList<>(sendAt.keySet());
                        if (!left.contains(phone)) left.add(phone);
                        try {
                            optedOut.addAll(optOuts.optedOut(m.lineId(), left));
                        } catch (RuntimeException e) {
                            Log.error("delivery_optout_recheck_failed", Map.of("messageId", m.id()), e);
                            return Verdict.GIVE_BACK;
                        }
                        lookedUpAtStop.addAll(left);
                        stoppedBecause = stopped;
                        return stopped(phone);
                    }
                    readMillis = clock.millis() - now;
                    for (String p : due) {
                        checkedAt.put(p, now);
                        if (out.contains(p)) optedOut.add(p);
                    }
                }
                return optedOut.contains(phone) ? Verdict.OPTED_OUT : Verdict.SEND;
            } finally {
                lock.unlock();
            }
        }
    }

    /** Moves rows claimed at {@code claimedAt} no send was started for back to queued; returns those moved. */
    private List<String> giveBack(GroupMessage m, int shard, List<String> phones, long claimedAt) {
        if (phones.isEmpty()) return List.of();
        long now = clock.millis();
        List<DeliveryStore.Transition> back = phones.stream().map(p -> backToQueued(p, now).ofClaim(claimedAt)).toList();
        return deliveries.apply(m.id(), shard, back).stream().map(DeliveryStore.Transition::phone).toList();
    }

    /** A claimed row the carrier cannot have, given back for another job to claim. */
    private static DeliveryStore.Transition backToQueued(String phone, long at) {
        return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.QUEUED, null, null, at);
    }

    /**
     * Records a block's outcomes with the usage they bill, for about every second of sending as they come in, not
     * once at the end: a slow line's block spans seconds, and a delivery receipt that arrives before its row is
     * recorded takes the receipt worker's fallback (a read and a second transaction). At 1,000 mps a block is one
     * record.
     *
     * @return the recipients given back to queued (no slot for another try before the deadline)
     */
    private List<String> recordBlock(GroupMessage m, int shard, Sending block) throws InterruptedException {
        List<String> givenBack = new ArrayList<>();
        if (block.sends().isEmpty()) return givenBack;
        List<DeliveryStore.Transition> outcomes = new ArrayList<>();
        long chunkEnd = block.sendTimes().getFirst() + RECORD_EVERY_MILLIS;
        for (int i = 0; i < block.sends().size(); i++) {
            if (block.sendTimes().get(i) >= chunkEnd) {
                givenBack.addAll(record(m, shard, outcomes));
                outcomes = new ArrayList<>();
                chunkEnd = block.sendTimes().get(i) + RECORD_EVERY_MILLIS;
            }
            try {
                var outcome = block.sends().get(i).get();
                if (outcome != null) outcomes.add(outcome.ofClaim(block.claimedAt()));
            } catch (ExecutionException e) {
                // sendOne turns every failure into an outcome; anything else leaves the row in sending (never resent).
                Log.error("delivery_send_crashed", Map.of("messageId", m.id(), "shard", shard), e.getCause());
            }
        }
        givenBack.addAll(record(m, shard, outcomes));
        return givenBack;
    }

    /**
     * The outcome to record, or null when it is unknown (left in sending: see the class comment). A try the carrier
     * turned away (429, 503) or never got (the connection failed or timed out) is tried again after a backoff on a
     * fresh rate slot, up to {@link #MAX_ATTEMPTS} in all; neither can have sent it, so when no try is left in time
     * the row goes back to queued for the job that takes over. An answer that leaves open whether it was sent (a
     * cut-off answer, a 500) is never tried again. A try its opt-out look made late past its rate slot
     * ({@code slotAt}) takes a fresh one on a line of up to {@link #RESLOT_MAX_MPS}.
     */
    private DeliveryStore.Transition sendOne(GroupMessage m, int shard, String phone, long slotAt, long lastSendAt,
                                             OptOutWatch watch, Stop stop) throws InterruptedException {
        var message = new OutboundMessage(m.linePhone(), phone, m.text(), m.mediaUrls(), callbackUrl(m, shard));
        String trouble = null;
        for (int attempt = 1; ; attempt++) {
            while (true) {
                // every try, retries included: one can start seconds after the last answer (a fresh slot on a busy
                // line); woken ahead of its slot for it (OptOutWatch#wakeAt)
                long goesAt = Math.max(clock.millis(), slotAt);
                switch (watch.beforeTry(phone, goesAt, lastSendAt)) {
                    case OPTED_OUT -> {
                        return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.OPTED_OUT, null, null, clock.millis());
                    }
                    case STOPPED -> {
                        // never sent, never billed, as the copies a stop finds still queued
                        return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.FAILED, null,
                                watch.stoppedBecause(), clock.millis());
                    }
                    case GIVE_BACK -> {
                        return backToQueued(phone, clock.millis());
                    }
                    case SEND -> { }
                }
                // A try the look made late (a read slower than its lead, a wait for another send's read) would go out
                // together with the sends after it, all held by that read: a burst over the line's rate in the
                // carrier's second. On a line of up to RESLOT_MAX_MPS it takes the next free slot instead (the one
                // missed is left unused, as RateLimiter leaves past ones). A try late only because its thread woke late
                // (a busy CPU) goes, and so does any on a faster line: a fresh slot costs a reservation and a read of
                // its own, and at 1,000 mps on a busy CPU that was most sends (measured: the send path 125 -> 962
                // and 1,058 requests per 1,000 recipients, 278 -> 204 and 194 deliveries/s), as an earlier session
                // had found.
                boolean lateByTheLook = clock.millis() - goesAt > SEND_LATE_TOLERANCE_MILLIS;
                if (!stop.sleepUntil(slotAt)) return backToQueued(phone, clock.millis());
                if (!lateByTheLook || m.sendsPerSecond() > RESLOT_MAX_MPS) break;
                slotAt = nextSlot(m, phone, lastSendAt, watch, stop);
                if (slotAt < 0) return backToQueued(phone, clock.millis());
            }
            watch.tried(phone);
            try {
                SendResult answer = carrier.send(message);
                stop.answered();
                switch (answer) {
                    case SendResult.Accepted ok -> {
                        stop.taken();
                        return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.SENT, ok.carrierMessageId(), null, clock.millis());
                    }
                    case SendResult.Rejected r when r.senderRefused() -> {
                        // nothing wrong with the recipient: kept for when the line can send again (see senderRefused)
                        stop.senderRefused(r);
                        return backToQueued(phone, clock.millis());
                    }
                    case SendResult.Rejected r when r.recipientOptedOut() -> {
                        recordCarrierOptOut(m, phone);
                        return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.OPTED_OUT, null,
                                refusal(r), clock.millis());
                    }
                    case SendResult.Rejected r when !r.retryable() -> {
                        if (undeliverable != null) undeliverable.markIfCannotReceive(m, phone, refusal(r), clock.millis());
                        return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.FAILED, null,
                                refusal(r), clock.millis());
                    }
                    case SendResult.Rejected r -> trouble = refusal(r);
                }
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof ConnectException || e.getCause() instanceof HttpConnectTimeoutException)) {
                    Log.error("delivery_outcome_unknown", Map.of("messageId", m.id(), "shard", shard), e);
                    stop.unclear(e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
                    return null;
                }
                trouble = "carrier unreachable: " + e.getCause().getMessage(); // never reached it
            } catch (RuntimeException e) {
                // Anything but an I/O failure happens before a request leaves (a fault of ours). Its text is for
                // the log: the row's error is shown to API clients.
                Log.error("delivery_not_sent", Map.of("messageId", m.id(), "shard", shard), e);
                return new DeliveryStore.Transition(phone, Delivery.SENDING, Delivery.FAILED, null, NOT_SENT_FAULT,
                        clock.millis());
            }
            if (attempt == MAX_ATTEMPTS) {
                // Nothing wrong with the recipient, and nothing sent: kept queued for when the carrier takes sends
                // again, as for a sender refusal. Before, a few seconds of throttling (20429 with many lines sending
                // on one carrier account) or of a carrier outage failed every recipient sent in them, for good.
                stop.carrierUnavailable(trouble);
                return backToQueued(phone, clock.millis());
            }
            slotAt = awaitRetry(m, phone, attempt, lastSendAt, watch, stop);
            if (slotAt < 0) return backToQueued(phone, clock.millis());
        }
    }

    /** A refusal as a delivery row's error. */
    private static String refusal(SendResult.Rejected r) {
        return "carrier " + r.errorCode() + ": " + r.message();
    }

    /**
     * The failure of a job whose sends the carrier refused for the sender (its credentials, its account, the line's
     * number): the job's recipients are all still queued (those refused were given back, the rest never claimed), so
     * its queue brings it back after the visibility timeout, and after its last receive maintenance re-queues the
     * rows every {@link MessageMaintenance#STALLED}: the message goes on once the sender is mended, each return
     * costing one refused call or a few. Before, each refusal failed its recipient for good: a rotated token failed
     * every recipient of every message in flight at the line's rate. Logged with a metric, as every occurrence wants
     * a person (the dead-letter queue's alarm follows).
     */
    private static IllegalStateException senderRefused(GroupMessage m, SendResult.Rejected r) {
        Log.error("carrier_refused_sender", Map.of("messageId", m.id(), "lineId", m.lineId(), "httpStatus", r.httpStatus(),
                "errorCode", r.errorCode(), "metric", HandledFailures.CARRIER_REFUSED_SENDER), null);
        return new IllegalStateException("the carrier refused line " + m.lineId() + " as a sender (" + refusal(r)
                + "); its recipients stay queued and the job is to be retried");
    }

    /**
     * The failure of a job that stopped because the carrier turned a send away or could not be reached on its every try
     * ({@link #MAX_ATTEMPTS}), or left a run of answers unclear ({@link #UNCLEAR_RUN}): the recipients it did not try
     * are still queued, and its worker has it tried again in a
     * while, later after each receive (a delivery job turned away on its queue's last receive goes on as a fresh job:
     * DeliveryWorkerHandler; a relay's rows, after its queue's retries, maintenance re-queues every
     * {@link MessageMaintenance#STALLED}). Logged and counted (its alarm) when made: also for a run of unclear answers
     * among a job's last sends, whose job is not failed (nothing is left to retry).
     */
    private static CarrierUnavailable carrierUnavailable(GroupMessage m, String trouble, int taken) {
        Log.warn("carrier_unavailable", Map.of("messageId", m.id(), "lineId", m.lineId(), "trouble", trouble, "sent", taken,
                "metric", HandledFailures.CARRIER_UNAVAILABLE));
        return new CarrierUnavailable("the carrier did not take line " + m.lineId() + "'s sends (" + trouble
                + "); its recipients not tried stay queued and the job is to be retried");
    }

    /** Backs off after a refused try, then waits for a fresh rate slot: see {@link #nextSlot}. */
    private long awaitRetry(GroupMessage m, String phone, int attempt, long lastSendAt, OptOutWatch watch, Stop stop)
            throws InterruptedException {
        long backoff = 250L << attempt;
        if (clock.millis() + backoff > lastSendAt) return -1;
        if (!stop.sleepUntil(clock.millis() + backoff)) return -1;
        return nextSlot(m, phone, lastSendAt, watch, stop);
    }

    /**
     * Reserves one rate slot for {@code phone} (told to the block's opt-out watch, so another send's read covers it)
     * and waits until the try wakes for it ({@link OptOutWatch#wakeAt}); returns its time, or -1 when no slot is to
     * be had before {@code lastSendAt}, the reservation failed (the recipient is not lost to it: see
     * {@link #sendOne}), or the job is stopping.
     */
    private long nextSlot(GroupMessage m, String phone, long lastSendAt, OptOutWatch watch, Stop stop)
            throws InterruptedException {
        RateLimiter.Slots slot;
        try {
            slot = limiter.acquire(m.lineId(), m.lineMps(), m.segmentsPerSend(), 1, lastSendAt, Long.MAX_VALUE).orElse(null);
        } catch (RuntimeException e) {
            Log.error("delivery_retry_slot_failed", Map.of("messageId", m.id()), e);
            return -1;
        }
        if (slot == null) return -1;
        long at = slot.sendAtMillis(0);
        watch.scheduled(phone, at);
        return stop.sleepUntil(watch.wakeAt(at)) ? at : -1;
    }

    /** Called off when the job is interrupted: its sends still waiting (for a slot, for a retry) are not made. */
    private final class Stop {
        private final CountDownLatch stopped = new CountDownLatch(1);
        private volatile SendResult.Rejected senderRefusal;
        private volatile String carrierTrouble;
        private final java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicInteger unclearInARow = new java.util.concurrent.atomic.AtomicInteger();

        void now() {
            stopped.countDown();
        }

        /** The carrier refused the sender: no further send of the job is made (the first refusal is the one told). */
        void senderRefused(SendResult.Rejected refusal) {
            if (senderRefusal == null) senderRefusal = refusal;
            now();
        }

        SendResult.Rejected senderRefusal() {
            return senderRefusal;
        }

        /**
         * The carrier turned a send away (429, 503) or could not be reached on every try, or left a run of answers
         * unclear: no further send of the job is made (the first trouble is the one told).
         */
        void carrierUnavailable(String trouble) {
            if (carrierTrouble == null) carrierTrouble = trouble;
            now();
        }

        String carrierTrouble() {
            return carrierTrouble;
        }

        /** The carrier took one of the job's sends. */
        void taken() {
            taken.incrementAndGet();
        }

        /** The carrier gave a send a clear answer (taken or not): a run of unclear ones ends. */
        void answered() {
            unclearInARow.set(0);
        }

        /**
         * An answer left it open whether the carrier took a send (a 500, a cut-off answer, no answer in time): that
         * row stays in sending, never resent. {@link #UNCLEAR_RUN} of them with no clear answer between stop the job as
         * a carrier that turns sends away does: the rows not tried yet stay queued for its retry, rather than each
         * getting one try whose outcome only the carrier's lookups settle, minutes to an hour later (or never: "outcome
         * unknown"), while the carrier is failing.
         */
        void unclear(String what) {
            if (unclearInARow.incrementAndGet() >= UNCLEAR_RUN) {
                carrierUnavailable(UNCLEAR_RUN + " answers in a row left it open whether the carrier took the message (" + what + ")");
            }
        }

        int takenCount() {
            return taken.get();
        }

        /** Waits until {@code at} (epoch ms); false, at once, when the job stopped before or meanwhile. */
        boolean sleepUntil(long at) throws InterruptedException {
            long wait = at - clock.millis();
            return wait > 0 ? !stopped.await(wait, TimeUnit.MILLISECONDS) : stopped.getCount() > 0;
        }
    }

    /**
     * The carrier says the recipient unsubscribed ({@link CarrierOptOuts}). Nothing of it fails the delivery: its other
     * recipients' outcomes come first (the row says opted_out either way, and a next send refused the same records it
     * then).
     */
    private void recordCarrierOptOut(GroupMessage m, String phone) {
        try {
            carrierOptOuts.record(m.accountId(), m.lineId(), phone, clock.millis());
        } catch (RuntimeException e) {
            Log.error("delivery_optout_not_recorded", Map.of("messageId", m.id()), e);
        }
    }

    /**
     * Applies outcomes with the usage of those that were sent, in one transaction. A row a delivery receipt already
     * moved on (it can arrive before this) is left as it is: that receipt's transaction billed it and wrote the
     * carrier id from its MessageSid (before, each such row cost one more UpdateItem here: 0.16 per recipient in
     * the 100,000-recipient benchmark, where receipts often beat the block's record).
     *
     * @return the recipients this moved back to queued
     */
    private List<String> record(GroupMessage m, int shard, List<DeliveryStore.Transition> outcomes) {
        if (outcomes.isEmpty()) return List.of();
        // A sent row's updatedAt is when it was billed, exactly: a carrier "failed" later takes the bill back in
        // that row's month (StatusCallbacks), which must be the month it was billed in, also across a month's end.
        long billedAt = clock.millis();
        List<DeliveryStore.Transition> stamped = outcomes.stream()
                .map(t -> Delivery.SENT.equals(t.to()) ? t.at(billedAt) : t).toList();
        var applied = deliveries.apply(m.id(), shard, stamped, pending -> {
            long sent = pending.stream().filter(t -> Delivery.SENT.equals(t.to())).count();
            return sent == 0 ? List.of() : List.of(Billing.carrierTook(usage, m, billedAt, sent));
        });
        return applied.stream().filter(t -> Delivery.QUEUED.equals(t.to())).map(DeliveryStore.Transition::phone).toList();
    }

    private String callbackUrl(GroupMessage m, int shard) {
        if (publicBaseUrl == null) return null;
        return publicBaseUrl + "/webhooks/twilio/status?a=" + enc(m.accountId()) + "&m=" + enc(m.id()) + "&s=" + shard;
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
