package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A deleted group's clean-up, on the real DynamoDB Local: its batches written side by side, every row tombstoned once,
 * and the rest handed on when it runs out of time.
 */
@ExtendWith(LocalRuntimeExtension.class)
class GroupCleanupE2eTest {

    @Test
    void everyRowIsTombstonedOnceWhateverLaneItFallsIn(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Cleanup Lanes Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        // 1,013: four lanes of whole 25-row batches (275, 275, 275, 188), the last batch short
        String group = groupOf(a, 1013);
        var store = new GroupService(runtime.wiring()).memberStore();
        long deletedAt = System.currentTimeMillis();
        assertThat(store.tombstoneFrom(accountId, group, deletedAt, null, () -> false).count()).isEqualTo(1013);
        assertThat(rows(runtime, accountId, group)).hasSize(1013).allSatisfy(r -> assertThat(r.get("removedAt").n()).isEqualTo(String.valueOf(deletedAt)));
        assertThat(store.tombstoneFrom(accountId, group, deletedAt + 1, null, () -> false).count())
                .as("done: nothing more").isZero();
    }

    @Test
    void aCleanupOutOfTimeHandsTheRestOnToAJobOfItsOwnThatStartsAfterTheLastRowRead(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Cleanup Hand-on Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = groupOf(a, 2500); // three pages of up to 1,000
        List<QueueMessage> sent = new ArrayList<>();
        QueueSender recording = (queue, messages) -> sent.addAll(messages);
        var groups = new GroupService(runtime.wiring(), recording);
        groups.delete(accountId, group);
        assertThat(sent).hasSize(1);
        var first = Json.parseObject(sent.getFirst().body());
        assertThat(first).doesNotContainKey("after");
        long deletedAt = ((Number) first.get("deletedAt")).longValue();
        var imports = new ImportService(runtime.wiring(), groups, recording);
        Duration noTimeToSpare = ImportService.CLEANUP_MARGIN; // out of time after each page

        long before = System.currentTimeMillis();
        imports.cleanUpDeletedGroup(accountId, group, deletedAt, null, noTimeToSpare);
        assertThat(tombstoned(runtime, accountId, group)).as("one page").isEqualTo(1000);
        assertThat(sent).hasSize(2);
        var handedOn = Json.parseObject(sent.get(1).body());
        assertThat(handedOn).containsEntry("kind", "group-cleanup").containsEntry("groupId", group)
                .containsEntry("after", "+14155550999");
        assertThat(((Number) handedOn.get("deletedAt")).longValue()).isEqualTo(deletedAt);
        assertThat(sent.get(1).groupId()).as("in order with the group's other jobs").isEqualTo(sent.getFirst().groupId());
        assertThat(sent.get(1).deduplicationId()).as("not taken for the first job's copy").isNotEqualTo(sent.getFirst().deduplicationId());
        var job = groups.groupStore().pendingCleanups(Long.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE).stream()
                .filter(j -> j.groupId().equals(group)).findFirst().orElseThrow();
        assertThat(job.redrivenAt()).as("progress: maintenance waits before sending it again").isGreaterThanOrEqualTo(before);
        assertThat(job.after()).isEqualTo("+14155550999");
        // an earlier run's mark coming late (each run sends its hand-on first) moves nothing back
        groups.groupStore().markCleanupHandedOn(accountId, group, System.currentTimeMillis(), "+14155550500");
        assertThat(groups.groupStore().pendingCleanups(Long.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE).stream()
                .filter(j -> j.groupId().equals(group)).findFirst().orElseThrow().after()).isEqualTo("+14155550999");
        // a hand-on that then went nowhere for the queue's retry span: maintenance sends it again from where it stopped
        List<QueueMessage> redriven = new ArrayList<>();
        var later = runtime.wiring().withClock(java.time.Clock.offset(java.time.Clock.systemUTC(),
                Duration.ofMillis(ImportService.cleanupRedriveEveryMillis() + 60_000)));
        QueueSender maintenanceQueue = (queue, messages) -> redriven.addAll(messages);
        new ImportService(later, new GroupService(later, maintenanceQueue), maintenanceQueue).sweep();
        assertThat(redriven).filteredOn(m -> m.body().contains(group)).singleElement()
                .satisfies(m -> assertThat(Json.parseObject(m.body())).containsEntry("after", "+14155550999"));

        // its mark of progress refused (throttled) after the hand-on was sent: logged, not failed (a retry past the
        // queue's 5 minutes of deduplication would send a second hand-on, two chains of the same work)
        var marksRefused = runtime.wiringWith(groupmsg.local.TestFaults.throttling(request ->
                request instanceof software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest u
                        && GroupStore.CLEANUP_JOBS_PK.equals(u.key().get("pk").s())));
        new ImportService(marksRefused, new GroupService(marksRefused, recording), recording)
                .cleanUpDeletedGroup(accountId, group, deletedAt, "+14155550999", noTimeToSpare);
        assertThat(tombstoned(runtime, accountId, group)).isEqualTo(2000);
        assertThat(Json.parseObject(sent.get(2).body())).containsEntry("after", "+14155551999");

        // the last part through the worker, as its queue hands it over
        var message = new SQSEvent.SQSMessage();
        message.setMessageId("m-last");
        message.setBody(sent.get(2).body());
        var event = new SQSEvent();
        event.setRecords(List.of(message));
        assertThat(new ImportWorkerHandler(runtime.wiring()).handleRequest(event, null).getBatchItemFailures()).isEmpty();
        assertThat(rows(runtime, accountId, group)).hasSize(2500)
                .allSatisfy(r -> assertThat(r.get("removedAt").n()).isEqualTo(String.valueOf(deletedAt)));
        assertThat(groups.groupStore().pendingCleanups(Long.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE))
                .noneMatch(j -> j.groupId().equals(group));
    }

    @Test
    void theWorkerStartsAHandedOnJobAfterTheRowItNames(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Cleanup After Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = groupOf(a, 30);
        var message = new SQSEvent.SQSMessage();
        message.setMessageId("m-after");
        message.setBody(Json.write(Map.of("kind", "group-cleanup", "accountId", accountId, "groupId", group,
                "deletedAt", 1_800_000_000_000L, "after", "+14155550009")));
        var event = new SQSEvent();
        event.setRecords(List.of(message));
        assertThat(new ImportWorkerHandler(runtime.wiring()).handleRequest(event, null).getBatchItemFailures()).isEmpty();
        assertThat(rows(runtime, accountId, group)).hasSize(30).allSatisfy(r -> assertThat(r.containsKey("removedAt"))
                .isEqualTo(r.get("sk").s().compareTo("+14155550009") > 0));
    }

    /** A new group of {@code size} members, +14155550000 and on, added through the API. */
    private static String groupOf(ApiClient a, int size) {
        String group = (String) a.post("/v1/groups", Map.of("name", "Many " + size)).jsonObject().get("id");
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            batch.add(Map.of("phone", String.format("+1415555%04d", i)));
            if (batch.size() == 1000 || i == size - 1) {
                assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", batch)).status()).isEqualTo(200);
                batch = new ArrayList<>();
            }
        }
        return group;
    }

    private static List<Map<String, AttributeValue>> rows(LocalRuntime runtime, String accountId, String group) {
        return runtime.wiring().dynamo().queryPaginator(b -> b.tableName(runtime.wiring().config().table(Tables.MEMBERS))
                .keyConditionExpression("pk = :pk").consistentRead(true)
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(MemberStore.groupPk(accountId, group)))))
                .items().stream().toList();
    }

    private static long tombstoned(LocalRuntime runtime, String accountId, String group) {
        return rows(runtime, accountId, group).stream().filter(r -> r.containsKey("removedAt")).count();
    }
}
