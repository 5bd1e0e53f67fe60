package groupmsg.maintenance;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.ScheduledFunction;
import com.amazonaws.services.lambda.runtime.events.ScheduledEvent;
import groupmsg.groups.GroupService;
import groupmsg.groups.ImportService;
import groupmsg.messages.MessageMaintenance;
import groupmsg.messages.OverdueReceipts;
import groupmsg.platform.Failures;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Tables;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs on a schedule (EventBridge, every minute): repairs what an interrupted request left half done, then asks the
 * carrier about final receipts overdue ({@link OverdueReceipts}) with what is left of its time.
 * Every task is idempotent, so overlapping or repeated runs are harmless; a task that fails does not keep the
 * others from running (the run fails after them all).
 */
public final class MaintenanceHandler implements ScheduledFunction {
    /** An outbox row older than this lost its dispatch (the webhook sends it within milliseconds). */
    static final Duration OUTBOX_GRACE = Duration.ofSeconds(30);
    /**
     * Left of the function's time when the receipt checks stop starting lookups: the last ones (a GET of at most
     * {@code TwilioCarrier.LONGEST_LOOKUP_BY_ID}) and the record of what they found (its transactions, each retried on
     * conflicts up to 6 s, and the check's re-store). The step has every minute's rest while a backlog lasts, so
     * this, not the function's timeout, is what ends it.
     */
    public static final Duration RECEIPTS_RESERVE = Duration.ofSeconds(15);
    /** Kept for the outbox's redrive and the function's return after the message sweep's last lookup. */
    static final Duration AFTER_MESSAGES_RESERVE = Duration.ofSeconds(5);

    private final ImportService imports;
    private final MessageMaintenance messages;
    private final Outbox outbox;
    private final OverdueReceipts receipts;

    private final Priming priming;

    /** How long one send to a queue may take in all, its retries included. */
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(10);

    public MaintenanceHandler() {
        this(Wiring.fromEnvironment());
    }

    public MaintenanceHandler(Wiring wiring) {
        // each send within its own time (SQS answers in milliseconds): one hanging on the 20 s socket timeout, retried,
        // outlasted the 60 s run, and the steps after it never ran
        var queue = new SqsQueueSender(wiring.sqsClient(), wiring.config(), SEND_TIMEOUT);
        this.imports = new ImportService(wiring, new GroupService(wiring, queue), queue);
        this.messages = new MessageMaintenance(wiring, queue);
        this.receipts = new OverdueReceipts(wiring);
        this.outbox = new Outbox(wiring.dynamo(), wiring.config().table(Tables.CORE), queue, wiring.clock());
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public Map<String, Object> handleRequest(ScheduledEvent event, Context context) {
        var summary = new LinkedHashMap<String, Object>();
        // Each step repairs what the others cannot: one that fails (a throttled read, one bad row) must not keep
        // the rest from running, every minute, for every account. The run still fails after them, for the alarm.
        RuntimeException failed = step("imports", () -> imports.sweep(summary), null);
        // the message sweep within the function's time left, less its last lookup and the steps after it
        Duration forMessages = context == null ? MessageMaintenance.BUDGET : Duration.ofMillis(context.getRemainingTimeInMillis())
                .minus(MessageMaintenance.LOOKUP_RESERVE).minus(AFTER_MESSAGES_RESERVE);
        failed = step("messages", () -> summary.putAll(messages.sweepWithin(forMessages)), failed);
        // within the function's time less the last step's reserve (a backlog, SQS refusing for minutes, went past it):
        // a backlog's rows before receipts, which can wait for the next minute (a queue refusing is held: see Outbox)
        Duration forOutbox = context == null ? Duration.ofSeconds(20)
                : outboxBudget(Duration.ofMillis(context.getRemainingTimeInMillis()));
        failed = step("outbox", () -> summary.put("outboxRedriven", outbox.redrive(OUTBOX_GRACE, 100, forOutbox)), failed);
        // last, with what is left of the function's time: lookups of overdue receipts can wait for the next minute,
        // the rest above cannot
        Duration left = context == null ? OverdueReceipts.BUDGET
                : Duration.ofMillis(context.getRemainingTimeInMillis()).minus(RECEIPTS_RESERVE);
        if (left.isPositive()) {
            // all of it: capped at 10 s (400 lookups), a 100,000-receipt loss took about 7 hours to settle
            failed = step("receipts", () -> summary.putAll(receipts.sweep(left)), failed); // due again next run
        }
        Log.info("maintenance_done", summary);
        List<String> behind = new ArrayList<>();
        if (Boolean.TRUE.equals(summary.get(MessageMaintenance.OUT_OF_TIME))) behind.add("messages");
        if (!left.isPositive()) behind.add("receipts");
        if (!behind.isEmpty()) {
            // paged when it lasts (HandledFailures.MAINTENANCE_BEHIND): nothing else says a backlog outgrows the runs
            Log.warn("maintenance_behind", Map.of("steps", behind, "metric", HandledFailures.MAINTENANCE_BEHIND));
        }
        if (failed != null) throw failed;
        return summary;
    }

    /** The outbox's least time, of what the message sweep leaves it ({@link #AFTER_MESSAGES_RESERVE}). */
    static final Duration OUTBOX_LEAST = Duration.ofSeconds(3);

    /**
     * The outbox's time, of {@code remaining}: all but the receipts' reserve, and never less than {@link #OUTBOX_LEAST}
     * (a second kept for the return). After a slow first step the message sweep leaves it about its 5 s, less than the
     * receipts' 15: it got a negative budget, one batch of 10 rows a run, just when an incident piled rows up there.
     */
    static Duration outboxBudget(Duration remaining) {
        Duration beforeReceipts = remaining.minus(RECEIPTS_RESERVE);
        if (beforeReceipts.compareTo(OUTBOX_LEAST) >= 0) return beforeReceipts;
        Duration least = remaining.minusSeconds(1);
        return least.compareTo(OUTBOX_LEAST) < 0 ? least : OUTBOX_LEAST;
    }

    /** Runs one step; its failure is logged and returned (with {@code failedBefore}'s kept first), not thrown. */
    private static RuntimeException step(String name, Runnable work, RuntimeException failedBefore) {
        try {
            work.run();
            return failedBefore;
        } catch (RuntimeException e) {
            Log.error("maintenance_step_failed", Map.of("step", name), e);
            return Failures.keepFirst(failedBefore, e);
        }
    }
}
