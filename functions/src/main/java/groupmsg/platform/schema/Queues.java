package groupmsg.platform.schema;

import java.util.List;

/** Every queue of the system, shared by the CDK stack and the local runtime. */
public final class Queues {
    /**
     * Membership jobs (CSV import chunks, member clean-up of deleted groups). FIFO with the group as message
     * group, so one group's chunks apply in order and never contend for the group's member counter.
     */
    public static final QueueDef IMPORTS = new QueueDef("imports", true, Handlers.IMPORT_WORKER.name(),
            5, 5, 5, 6 * Handlers.IMPORT_WORKER.timeoutSeconds(), 4);

    /** Group messages to expand into delivery rows and batches (checkpointed, resumable). */
    public static final QueueDef FANOUT = new QueueDef("fanout", false, Handlers.FANOUT_WORKER.name(),
            1, 10, 5, 6 * Handlers.FANOUT_WORKER.timeoutSeconds(), 4);
    /** Batches of deliveries (one message, one line, up to 50 recipients) for the delivery worker. */
    public static final QueueDef DELIVERIES = new QueueDef("deliveries", false, Handlers.DELIVERY_WORKER.name(),
            1, 20, 8, 6 * Handlers.DELIVERY_WORKER.timeoutSeconds(), 4);

    public static final List<QueueDef> ALL = List.of(IMPORTS, FANOUT, DELIVERIES);

    public static QueueDef byName(String name) {
        return ALL.stream().filter(q -> q.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no queue " + name));
    }

    private Queues() {}
}
