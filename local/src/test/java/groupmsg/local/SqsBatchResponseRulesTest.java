package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** How the poller reads a consumer's SQSBatchResponse: Lambda's documented rules for ReportBatchItemFailures. */
class SqsBatchResponseRulesTest {
    private static final Set<String> BATCH = Set.of("m1", "m2");

    @Test
    void emptyOrMissingFailuresMeanTheWholeBatchSucceeded() {
        assertThat(SqsPoller.failedIds("null", BATCH)).isEmpty();
        assertThat(SqsPoller.failedIds("{}", BATCH)).isEmpty();
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":[]}", BATCH)).isEmpty();
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":null}", BATCH)).isEmpty();
    }

    @Test
    void listedItemsFailed() {
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":[{\"itemIdentifier\":\"m2\"}]}", BATCH)).containsExactly("m2");
    }

    @Test
    void malformedResponsesFailTheWholeBatch() {
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}", BATCH)).as("empty id").isNull();
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":[{\"itemIdentifier\":null}]}", BATCH)).as("null id").isNull();
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":[{\"id\":\"m1\"}]}", BATCH)).as("bad key").isNull();
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":[{\"itemIdentifier\":\"m9\"}]}", BATCH)).as("not in batch").isNull();
        assertThat(SqsPoller.failedIds("{\"batchItemFailures\":\"m1\"}", BATCH)).as("not a list").isNull();
        assertThat(SqsPoller.failedIds("not json", BATCH)).isNull();
    }
}
