package groupmsg.optout;

import groupmsg.inbound.InboundService;
import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;

import java.util.Map;

/**
 * The carrier says a recipient unsubscribed (Twilio 21610: refused at the send, or in a status callback of a message
 * it queued): remembered for the line, and what follows (under block_conversation their conversations on it blocked,
 * as by a STOP; {@code opt_out.changed} for integrations) goes to the opt-out worker through its queue, staged in the
 * outbox in the opt-out's own transaction: a worker that dies after it, or an SQS that fails, loses nothing
 * (maintenance sends the job). A number opted out on the line already (the carrier refusing a STOP's confirmation or
 * a HELP's answer, which go to opted-out numbers) has had all that: nothing follows a second time.
 */
public final class CarrierOptOuts {
    private final OptOutStore optOuts;
    /** Built at the first opt-out: most runs of the workers that use it record none. */
    private final Lazy<Outbox> outbox;
    /** Built at the first reported one: whether the number texted START since. */
    private final Lazy<InboundService> inbound;

    public CarrierOptOuts(Wiring wiring) {
        String core = wiring.config().table(Tables.CORE);
        this.optOuts = new OptOutStore(new DynamoOps(wiring.dynamo()), core);
        Lazy<SqsQueueSender> queue = new Lazy<>(() -> new SqsQueueSender(wiring.sqsClient(), wiring.config()));
        this.outbox = new Lazy<>(() -> new Outbox(wiring.dynamo(), core, queue.get(), wiring.clock()));
        this.inbound = new Lazy<>(() -> new InboundService(wiring, queue.get()));
    }

    /**
     * Records the carrier's "unsubscribed" that a receipt or a lookup reported, of a message sent at {@code sentAt}
     * (the opt-out's time, as at the send): unless the number texted an opt-in since that came after the carrier's
     * block and lifted it, START to the line, or to another line of the Messaging Service ({@link
     * InboundService#carrierOptedInSince}): a receipt held back, redelivered, or a lookup an hour on, would otherwise
     * opt a resubscribed number out again, and tell integrations so after its opt-in. False when not recorded.
     */
    public boolean recordReported(String accountId, String lineId, String phone, long sentAt) {
        if (inbound.get().carrierOptedInSince(accountId, lineId, phone, sentAt)) {
            Log.info("carrier_optout_overtaken_by_opt_in", Map.of("lineId", lineId));
            return false;
        }
        return record(accountId, lineId, phone, sentAt);
    }

    /** Records the carrier's "unsubscribed" of {@code phone} on the line at {@code at}; false when it was opted out already. */
    public boolean record(String accountId, String lineId, String phone, long at) {
        var job = OptOutService.carrierOptOutJob(accountId, lineId, phone, at);
        var entry = outbox.get().entry(job.deduplicationId(), Queues.OPTOUTS, job);
        if (!optOuts.recordCarrierRefusal(accountId, lineId, phone, at, outbox.get().stage(entry))) return false;
        outbox.get().dispatchOrLeave(entry);
        return true;
    }
}
