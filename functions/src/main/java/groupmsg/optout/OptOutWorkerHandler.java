package groupmsg.optout;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.groups.PhoneNumbers;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;
import groupmsg.platform.queue.SqsQueueSender;

import java.util.Map;

/** Consumes the optouts FIFO queue: STOP/START/HELP in order per line and sender (see {@link OptOutService}). */
public final class OptOutWorkerHandler implements QueueFunction {
    private final OptOutService optOuts;

    private final Priming priming;

    public OptOutWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public OptOutWorkerHandler(Wiring wiring) {
        this.optOuts = new OptOutService(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()));
        // A STOP or START on a toll-free line asks libphonenumber whether the number is one (Line.carrierAnswersOptOuts).
        this.priming = Priming.register(this, wiring).also(PhoneNumbers::prime);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        return FifoBatch.process(event, "optout_failed", message -> {
            Map<String, Object> job = Json.parseObject(message.getBody());
            if (OptOutService.KIND_CARRIER_OPT_OUT.equals(job.get("kind"))) {
                // what follows a carrier opt-out the delivery worker recorded: the block and the event, retried here
                optOuts.afterCarrierOptOut(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "lineId"),
                        FifoBatch.requireString(job, "phone"), ((Number) job.get("at")).longValue());
                return;
            }
            if (OptOutService.KIND_CHANGE.equals(job.get("kind"))) {
                // a change by hand, or a START's lift of a carrier refusal on another line (source and inboundId)
                optOuts.tellChange(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "lineId"),
                        FifoBatch.requireString(job, "phone"), Boolean.TRUE.equals(job.get("optedOut")),
                        ((Number) job.get("at")).longValue(), (String) job.get("changeId"), // none in a job of before it
                        job.get("source") instanceof String source ? source : OptOutStore.SOURCE_MANUAL,
                        (String) job.get("inboundId"));
                return;
            }
            optOuts.handleKeyword(FifoBatch.requireString(job, "accountId"), FifoBatch.requireString(job, "inboundId"));
        });
    }
}
