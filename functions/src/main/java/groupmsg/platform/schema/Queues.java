package groupmsg.platform.schema;

import java.util.List;

/** Every queue of the system, shared by the CDK stack and the local runtime. */
public final class Queues {
    /**
     * Membership jobs (CSV import chunks, member clean-up of deleted groups). FIFO with the group as message
     * group, so one group's chunks apply in order and never contend for the group's member counter.
     */
    public static final QueueDef IMPORTS = new QueueDef("imports", true, Handlers.IMPORT_WORKER.name(),
            1, 5, 5, 6 * Handlers.IMPORT_WORKER.timeoutSeconds(), 4);

    /** Group messages to expand into delivery rows and batches (checkpointed, resumable). */
    public static final QueueDef FANOUT = new QueueDef("fanout", false, Handlers.FANOUT_WORKER.name(),
            1, 10, 5, 6 * Handlers.FANOUT_WORKER.timeoutSeconds(), 4);
    /**
     * Batches of deliveries (one message, one shard, up to 1,000 recipients, about 5 s of the line's rate) for the
     * delivery worker, five per invocation (delivered side by side, well inside the worker's timeout).
     */
    public static final QueueDef DELIVERIES = new QueueDef("deliveries", false, Handlers.DELIVERY_WORKER.name(),
            5, 20, 8, 6 * Handlers.DELIVERY_WORKER.timeoutSeconds(), 4);

    /**
     * Carrier delivery receipts (delivered/failed) for the receipt worker, which applies them in bulk: one
     * conditional transaction per message shard of a batch instead of one per receipt (each also moves the shard's
     * counter item, which receipts arriving one by one contended for: conflicts, retries, webhook timeouts under
     * load). Up to 500 per invocation, gathered for at most a second.
     */
    public static final QueueDef RECEIPTS = new QueueDef("receipts", false, Handlers.RECEIPT_WORKER.name(),
            500, 5, 5, 6 * Handlers.RECEIPT_WORKER.timeoutSeconds() + 1, 4, 1);

    /**
     * Inbound replies (not keywords) for the inbound worker. FIFO with the reply's conversation as message group (so
     * the participants' replies take their thread places in the order they are relayed), else line + sender (so one
     * person's direct replies are handled in the order they were queued). A job that failed is back after 30 s, 60 s,
     * ... (at most the 3-minute visibility timeout), since the texts behind it wait: eight receives, about 13 minutes.
     */
    public static final QueueDef INBOUND = new QueueDef("inbound", true, Handlers.INBOUND_WORKER.name(),
            1, 5, 8, 6 * Handlers.INBOUND_WORKER.timeoutSeconds(), 4);
    /**
     * STOP/START/HELP keywords for the opt-out worker. FIFO with line + sender as message group, so a STOP
     * followed by a START leaves the number opted in, never the other way round.
     */
    public static final QueueDef OPTOUTS = new QueueDef("optouts", true, Handlers.OPTOUT_WORKER.name(),
            1, 5, 5, 6 * Handlers.OPTOUT_WORKER.timeoutSeconds(), 4);

    /**
     * Conversation messages (a participant's relayed reply, the business's message) for the relay worker. FIFO
     * with the conversation as message group: each is delivered before the next one of the same conversation
     * starts, so everyone receives a thread's messages in the order they were accepted. A line's answers to one
     * number (keyword replies, direct replies) go here too, grouped by line and number. Up to 50 at a time: a reply
     * waits in its worker for its slot on a busy line. Ten receives: a relay that
     * runs out of its invocation's time on a slow or busy line is made visible again within seconds and counts a
     * receive each time (three or so for ten people on a 0.1 mps line), besides the failures that count, and so
     * does each hold for Twilio's loop guard (up to the 7th receive, PairChains.LAST_HOLDING_RECEIVE: then it goes).
     */
    public static final QueueDef RELAYS = new QueueDef("relays", true, Handlers.RELAY_WORKER.name(),
            1, 50, 10, 6 * Handlers.RELAY_WORKER.timeoutSeconds(), 4);

    /**
     * Events for the accounts' webhooks: the integrations topic delivers every event here (raw). An event that an endpoint
     * did not take is sent here again, delayed, longer after each pass (WebhookDispatcher.retryDelay: 1 minute, then
     * up to 11 hours), 15 passes at most (about 3.4 days, past when a webhook failing all along is disabled), then to
     * the dead-letter queue by its worker (WebhookPasses); the redrive policy's 15 receives count a copy's
     * faults. A fault of ours (a throttled table) comes back after the visibility timeout, 3 minutes. Up to 25 invocations at once: the work is waiting on
     * the accounts' endpoints, and a batch waits for its slowest; at 5, one account's endpoint answering 2xx in 9.9 s
     * (never paused: it does not fail) held every account's events to about 25 per 10 s.
     */
    public static final QueueDef WEBHOOKS = new QueueDef("webhooks", false, Handlers.WEBHOOK_WORKER.name(),
            5, 25, 15, 6 * Handlers.WEBHOOK_WORKER.timeoutSeconds(), 7);

    public static final List<QueueDef> ALL = List.of(IMPORTS, FANOUT, DELIVERIES, RECEIPTS, INBOUND, OPTOUTS, RELAYS, WEBHOOKS);

    public static QueueDef byName(String name) {
        return ALL.stream().filter(q -> q.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no queue " + name));
    }

    private Queues() {}
}
