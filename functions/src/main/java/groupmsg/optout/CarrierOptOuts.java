package groupmsg.optout;

import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;

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

    public CarrierOptOuts(Wiring wiring) {
        String core = wiring.config().table(Tables.CORE);
        this.optOuts = new OptOutStore(new DynamoOps(wiring.dynamo()), core);
        this.outbox = new Lazy<>(() -> new Outbox(wiring.dynamo(), core,
                new SqsQueueSender(wiring.sqsClient(), wiring.config()), wiring.clock()));
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
