package groupmsg.groups;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.QueueFunction;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.FifoBatch;
import groupmsg.platform.queue.SqsQueueSender;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Consumes the FIFO imports queue: CSV import parts and member clean-ups of deleted groups, in order per group
 * ({@link FifoBatch}).
 */
public final class ImportWorkerHandler implements QueueFunction {
    static final String KIND_IMPORT_PART = "import-part";
    static final String KIND_GROUP_CLEANUP = "group-cleanup";

    private final ImportService imports;

    private final Priming priming;

    public ImportWorkerHandler() {
        this(Wiring.fromEnvironment());
    }

    public ImportWorkerHandler(Wiring wiring) {
        var queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.imports = new ImportService(wiring, new GroupService(wiring, queue), queue);
        this.priming = Priming.register(this, wiring).also(PhoneNumbers::prime); // every row is a phone number
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        return FifoBatch.process(event, "import_message_failed", message -> process(message.getBody(), context));
    }

    @SuppressWarnings("unchecked")
    private void process(String body, Context context) {
        Map<String, Object> job = Json.parseObject(body);
        String kind = (String) job.get("kind");
        String accountId = (String) job.get("accountId");
        String groupId = (String) job.get("groupId");
        switch (kind) {
            case KIND_IMPORT_PART -> imports.applyPart(accountId, groupId, (String) job.get("importId"),
                    ((Number) job.get("part")).intValue(), job.containsKey("rowsGzip")
                            ? ImportService.gunzipRows((String) job.get("rowsGzip"))
                            : (List<List<Object>>) job.get("rows"));
            case KIND_GROUP_CLEANUP -> imports.cleanUpDeletedGroup(accountId, groupId,
                    ((Number) job.get("deletedAt")).longValue(), (String) job.get("after"),
                    // no context: a caller with no invocation time to keep to
                    context == null ? Duration.ofDays(1) : Duration.ofMillis(context.getRemainingTimeInMillis()));
            default -> throw new IllegalArgumentException("unknown job kind " + kind);
        }
    }
}
