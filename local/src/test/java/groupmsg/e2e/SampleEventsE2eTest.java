package groupmsg.e2e;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every handler has sample events in events/, and each does what it says when invoked as Lambda would. */
@ExtendWith(LocalRuntimeExtension.class)
class SampleEventsE2eTest {
    private static final Path EVENTS = Path.of("..", "events");

    /** Runs the sample as {@code bin/local invoke} does: as the default account's start-up owner key. */
    private static String invoke(LocalRuntime runtime, String handler, String file) throws Exception {
        return runtime.functions().get(handler).invoke(groupmsg.local.InvokeCommand.asStartUpKey(
                Files.readString(EVENTS.resolve(handler).resolve(file)), runtime.wiring()));
    }

    @Test
    void everyHandlerHasAtLeastOneSampleEvent() throws Exception {
        for (HandlerDef def : Handlers.ALL) {
            Path dir = EVENTS.resolve(def.name());
            assertThat(dir).as("events/" + def.name()).isDirectory();
            try (Stream<Path> files = Files.list(dir)) {
                List<Path> json = files.filter(p -> p.toString().endsWith(".json")).toList();
                assertThat(json).as("events/" + def.name()).isNotEmpty();
            }
        }
    }

    /** An SQS sample's {@code md5OfBody} is its body's, as SQS's own are (a sample copied and edited kept its old one). */
    @Test
    @SuppressWarnings("unchecked")
    void everyQueueSamplesBodyDigestIsItsBodys() throws Exception {
        List<Path> samples;
        try (Stream<Path> files = Files.walk(EVENTS)) {
            samples = files.filter(p -> p.toString().endsWith(".json")).toList();
        }
        int checked = 0;
        for (Path sample : samples) {
            if (!(groupmsg.platform.json.Json.parse(Files.readString(sample)) instanceof java.util.Map<?, ?> event)
                    || !(event.get("Records") instanceof List<?> records)) continue;
            for (Object record : records) {
                var r = (java.util.Map<String, Object>) record;
                if (!r.containsKey("md5OfBody")) continue;
                var digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5")
                        .digest(((String) r.get("body")).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                assertThat(r.get("md5OfBody")).as(sample.toString()).isEqualTo(digest);
                checked++;
            }
        }
        assertThat(checked).as("SQS samples found").isGreaterThan(10);
    }

    @Test
    void httpEventsRunThroughTheirHandlers(LocalRuntime runtime) throws Exception {
        assertThat(invoke(runtime, "admin-api", "get-account.json")).contains("\"statusCode\":200").contains("acct_default");
        assertThat(invoke(runtime, "admin-api", "create-api-key.json")).contains("\"statusCode\":201").contains("gmk_");
        assertThat(invoke(runtime, "admin-api", "delete-line-unknown.json")).contains("\"statusCode\":404").contains("line");
        assertThat(invoke(runtime, "admin-api", "create-line-keyword-unknown-line.json")).contains("\"statusCode\":404").contains("line");
        assertThat(invoke(runtime, "groups-api", "create-group.json")).contains("\"statusCode\":201").contains("grp_");
        assertThat(invoke(runtime, "groups-api", "create-group.json")).contains("\"statusCode\":409");
        assertThat(invoke(runtime, "groups-api", "list-groups.json")).contains("\"statusCode\":200").contains("Volunteers");
        assertThat(invoke(runtime, "groups-api", "import-template.json")).contains("\"statusCode\":200").contains("text/csv");
        assertThat(invoke(runtime, "groups-api", "add-members-unknown-group.json")).contains("\"statusCode\":404");
        assertThat(invoke(runtime, "groups-api", "remove-members-unknown-group.json")).contains("\"statusCode\":404");
        assertThat(invoke(runtime, "groups-api", "get-member-unknown-group.json")).contains("\"statusCode\":404").contains("group");
        assertThat(invoke(runtime, "groups-api", "clear-undeliverable-unknown-group.json")).contains("\"statusCode\":404").contains("group");
        assertThat(invoke(runtime, "groups-api", "list-imports-unknown-group.json")).contains("\"statusCode\":404").contains("group");
        assertThat(invoke(runtime, "groups-api", "export-members-unknown-group.json")).contains("\"statusCode\":404").contains("group");
        assertThat(invoke(runtime, "groups-api", "remove-number-from-chosen-groups-unknown-group.json")).contains("\"statusCode\":400")
                .contains("grp_01JDNOSUCHGROUP000000000000");
        assertThat(invoke(runtime, "conversations-api", "list-thread-newest-first-unknown-conversation.json"))
                .contains("\"statusCode\":404").contains("conversation");
        assertThat(invoke(runtime, "groups-api", "remove-number-from-all-groups.json")).contains("\"statusCode\":200")
                .contains("removedFrom\\\":[]");
        assertThat(invoke(runtime, "not-found", "unknown-route.json")).contains("\"statusCode\":404").contains("not_found");
        assertThat(invoke(runtime, "messages-api", "list-messages.json")).contains("\"statusCode\":200").contains("items");
        assertThat(invoke(runtime, "messages-api", "send-unknown-group.json")).contains("\"statusCode\":404");
        assertThat(invoke(runtime, "messages-api", "preview-unknown-group.json")).contains("\"statusCode\":404").contains("group");
        assertThat(invoke(runtime, "inbound-api", "opt-out-list-unknown-line.json")).contains("\"statusCode\":400").contains("lineId");
        assertThat(invoke(runtime, "messages-api", "cancel-unknown-message.json")).contains("\"statusCode\":404");
        assertThat(invoke(runtime, "messages-api", "delivery-report-unknown-message.json")).contains("\"statusCode\":404").contains("message");
        // the sample's signature is not valid for this runtime's token: refused, nothing read
        assertThat(invoke(runtime, "carrier-webhook", "status-unsigned.json")).contains("\"statusCode\":403");
        assertThat(invoke(runtime, "carrier-webhook", "inbound-unsigned.json")).contains("\"statusCode\":403");
        assertThat(invoke(runtime, "inbound-api", "list-inbound.json")).contains("\"statusCode\":200").contains("items");
        // an event of an account without webhooks: taken, nothing sent, no batch item failure
        assertThat(invoke(runtime, "webhook-worker", "reply-received-no-webhooks.json")).isEqualTo("{\"batchItemFailures\":[]}");
        // ... and its copy sent again for a fourth pass (what it carries read from its message attributes), due: the same
        assertThat(invoke(runtime, "webhook-worker", "reply-received-copy-no-webhooks.json")).isEqualTo("{\"batchItemFailures\":[]}");
        assertThat(invoke(runtime, "inbound-api", "list-opt-outs-unknown-line.json")).contains("\"statusCode\":404");
        assertThat(invoke(runtime, "inbound-api", "list-opt-outs.json")).contains("\"statusCode\":200").contains("items");
        assertThat(invoke(runtime, "inbound-api", "export-opt-outs.json")).contains("\"statusCode\":200")
                .contains("lineId,phone,source,createdAt,linePhone").contains("text/csv");
        assertThat(invoke(runtime, "conversations-api", "list-conversations.json")).contains("\"statusCode\":200").contains("items");
        assertThat(invoke(runtime, "conversations-api", "create-conversation-unknown-line.json")).contains("\"statusCode\":400")
                .contains("lineId");
        assertThat(invoke(runtime, "conversations-api", "list-message-deliveries-unknown-conversation.json"))
                .contains("\"statusCode\":404").contains("conversation not found");
        assertThat(invoke(runtime, "conversations-api", "get-thread-message-unknown-conversation.json"))
                .contains("\"statusCode\":404").contains("conversation not found");
        assertThat(invoke(runtime, "inbound-api", "get-inbound-unknown.json")).contains("\"statusCode\":404")
                .contains("inbound message not found");
        assertThat(invoke(runtime, "inbound-api", "list-message-replies-unknown.json")).contains("\"statusCode\":404")
                .contains("message not found");
        assertThat(invoke(runtime, "inbound-api", "list-message-opt-outs-unknown.json")).contains("\"statusCode\":404")
                .contains("message not found");
        assertThat(invoke(runtime, "inbound-api", "review-inbound-unknown.json")).contains("\"statusCode\":404")
                .contains("inbound message not found");
        assertThat(invoke(runtime, "inbound-api", "send-line-message-unknown-line.json")).contains("\"statusCode\":404")
                .contains("line not found");
    }

    @Test
    void authorizerWorkerAndScheduleEventsRun(LocalRuntime runtime) throws Exception {
        // the sample's key is a placeholder, so the authorizer must refuse it
        assertThat(invoke(runtime, "authorizer", "request.json")).contains("\"isAuthorized\":false");
        // an import part of an unknown import is skipped, not retried
        assertThat(invoke(runtime, "import-worker", "import-part-unknown-import.json")).contains("\"batchItemFailures\":[]");
        // a clean-up's rest handed on (after a member's number), of a group with no rows left: done
        assertThat(invoke(runtime, "import-worker", "rest-of-cleanup-handed-on-unknown-group.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "maintenance", "scheduled.json")).contains("importsFailedUnqueued").contains("messagesCompleted");
        // work for a message that does not exist is dropped, not retried forever
        assertThat(invoke(runtime, "fanout-worker", "fanout-unknown-message.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "delivery-worker", "delivery-batch-unknown-message.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "delivery-worker", "job-with-skip-unknown-message.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "receipt-worker", "receipts-unknown-message.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "delivery-worker", "job-with-place-unknown-message.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "inbound-worker", "inbound-unknown-message.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "inbound-worker", "inbound-publish-only-unknown-message.json")).contains("\"batchItemFailures\":[]");
        // a text its webhook could not store, handed on whole: to a number that is no line's, so nothing to store
        assertThat(invoke(runtime, "inbound-worker", "text-handed-on-to-no-line.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "optout-worker", "keyword-unknown-message.json")).contains("\"batchItemFailures\":[]");
        // a manual opt-out's event, the number not opted out by now (lifted since): taken, nothing told
        assertThat(invoke(runtime, "optout-worker", "manual-change-superseded.json")).contains("\"batchItemFailures\":[]");
        assertThat(invoke(runtime, "relay-worker", "relay-unknown-message.json")).contains("\"batchItemFailures\":[]");
    }
}
