package groupmsg.platform.queue;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.CapturedStdout;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FifoBatchTest {

    static SQSEvent.SQSMessage message(String id, String group, String body) {
        var m = new SQSEvent.SQSMessage();
        m.setMessageId(id);
        m.setBody(body);
        m.setAttributes(Map.of("MessageGroupId", group));
        return m;
    }

    @Test
    void aFailureHoldsBackTheRestOfItsGroupOnlyInOrder() {
        var event = new SQSEvent();
        event.setRecords(List.of(message("1", "a", "ok"), message("2", "a", "fail"), message("3", "b", "ok"),
                message("4", "a", "ok"), message("5", "b", "ok")));
        List<String> handled = new ArrayList<>();
        SQSBatchResponse response = FifoBatch.process(event, "test_failed", m -> {
            if (m.getBody().equals("fail")) throw new IllegalStateException("boom");
            handled.add(m.getMessageId());
        });
        // 4 is group a's next message: it must not overtake 2, so it is returned unprocessed; group b goes on.
        assertThat(handled).containsExactly("1", "3", "5");
        assertThat(response.getBatchItemFailures()).extracting(SQSBatchResponse.BatchItemFailure::getItemIdentifier)
                .containsExactly("2", "4");
    }

    /** An exception the job's flow expects (it waits for its line's room, say): retried, not logged as a fault. */
    static final class Waits extends IllegalStateException implements ExpectedRetry {
        Waits() {
            super("no rate slot yet");
        }
    }

    @Test
    void aFaultIsLoggedAsAFailedJobWithItsMetricAndAnExpectedRetryIsNot() {
        var event = new SQSEvent();
        event.setRecords(List.of(message("1", "a", "fault"), message("2", "b", "waits"), message("3", "c", "stopped")));
        List<SQSBatchResponse> response = new ArrayList<>();
        String out = CapturedStdout.of(() -> response.add(FifoBatch.process(event, "test_failed", m -> {
            if (m.getBody().equals("fault")) throw new IllegalStateException("boom");
            if (m.getBody().equals("stopped")) throw new IllegalStateException("interrupted", new InterruptedException());
            throw new Waits();
        })));
        // all come back
        assertThat(response.getFirst().getBatchItemFailures()).extracting(SQSBatchResponse.BatchItemFailure::getItemIdentifier)
                .containsExactly("1", "2", "3");
        List<Map<String, Object>> lines = out.lines().map(Json::parseObject).toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(2)).as("the invocation being stopped").containsEntry("level", "INFO").doesNotContainKey("metric");
        assertThat(lines.get(0)).containsEntry("level", "ERROR").containsEntry("event", "test_failed")
                .containsEntry("sqsMessageId", "1").containsEntry("metric", HandledFailures.JOB_FAILED)
                .containsEntry("error", "boom");
        assertThat(lines.get(1)).containsEntry("level", "INFO").containsEntry("event", "test_failed")
                .containsEntry("sqsMessageId", "2").containsEntry("reason", "no rate slot yet").doesNotContainKey("metric");
    }

    @Test
    void requiredJobFields() {
        assertThat(FifoBatch.requireString(Map.of("a", "x"), "a")).isEqualTo("x");
        assertThatThrownBy(() -> FifoBatch.requireString(Map.of("a", ""), "a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FifoBatch.requireString(Map.of("a", 1), "a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FifoBatch.requireString(Map.of(), "a")).isInstanceOf(IllegalArgumentException.class);
    }
}
