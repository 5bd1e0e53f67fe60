package groupmsg.platform.queue;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.Log;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Processes a batch from a FIFO queue and reports failures per message ({@code ReportBatchItemFailures}). Once a
 * message of a message group fails, the later messages of that group in the batch are reported failed too
 * (unprocessed), so they are retried after it and never overtake it.
 */
public final class FifoBatch {
    private FifoBatch() {}

    public static SQSBatchResponse process(SQSEvent event, String failureEvent, Consumer<SQSEvent.SQSMessage> handler) {
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        Set<String> failedGroups = new HashSet<>();
        for (SQSEvent.SQSMessage message : event.getRecords()) {
            String group = message.getAttributes() == null ? null : message.getAttributes().get("MessageGroupId");
            if (group != null && failedGroups.contains(group)) {
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
                continue;
            }
            try {
                handler.accept(message);
            } catch (RuntimeException e) {
                if (ExpectedRetry.expected(e)) {
                    Log.info(failureEvent, Map.of("sqsMessageId", message.getMessageId(), "reason", String.valueOf(e.getMessage())));
                } else {
                    Log.jobFailed(failureEvent, Map.of("sqsMessageId", message.getMessageId()), e);
                }
                failures.add(new SQSBatchResponse.BatchItemFailure(message.getMessageId()));
                if (group != null) failedGroups.add(group);
            }
        }
        return new SQSBatchResponse(failures);
    }

    /** A required string field of a job's JSON body. */
    public static String requireString(Map<String, Object> job, String name) {
        if (job.get(name) instanceof String s && !s.isBlank()) return s;
        throw new IllegalArgumentException("job has no " + name);
    }
}
