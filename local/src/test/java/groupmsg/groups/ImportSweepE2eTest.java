package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Imports that never end on their own: maintenance fails them, after their parts could not all be queued or once
 * nothing has been applied for {@link ImportStore#stallDeadline}, and forgets the markers of imports that ended.
 * Its sweeps run with a clock hours ahead, over every import in flight: the test classes of the shared runtime run
 * one after another, and the others' imports have ended by then.
 */
@ExtendWith(LocalRuntimeExtension.class)
class ImportSweepE2eTest {

    /** Keeps what it is given and sends nothing: parts that never arrive, as if they went to the DLQ. */
    private static final class DroppingQueue implements QueueSender {
        final List<QueueMessage> sent = new ArrayList<>();

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            sent.addAll(messages);
        }
    }

    private static ImportService imports(Wiring wiring, QueueSender queue) {
        return new ImportService(wiring, new GroupService(wiring, queue), queue);
    }

    private static Wiring later(LocalRuntime runtime, Duration by) {
        return runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), by));
    }

    private static boolean hasMarker(LocalRuntime runtime, String accountId, String importId) {
        var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .consistentRead(true).key(Map.of("pk", AttributeValue.fromS(ImportStore.ENQUEUE_JOBS_PK),
                        "sk", AttributeValue.fromS(accountId + "#" + importId)))).item();
        return item != null && !item.isEmpty();
    }

    private static byte[] csv(String... phones) {
        return ("phone\n" + String.join("\n", phones) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void anImportThatStopsMakingProgressIsFailedAndAnEndedOneForgotten(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Stalled Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Stalled")).jsonObject().get("id");
        var dropped = new DroppingQueue();
        ImportJob stuck = imports(runtime.wiring(), dropped).start(accountId, g, csv("+14155550101", "+14155550102"));
        assertThat(dropped.sent).hasSize(1);

        // an import through the API that ends
        var started = a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", "phone\n+14155550103\n");
        String ended = (String) started.jsonObject().get("id");
        long deadline = System.currentTimeMillis() + 60_000;
        while (!"done".equals(a.get("/v1/groups/" + g + "/imports/" + ended).jsonObject().get("status"))
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }

        // within the deadline: left running, its marker kept; the ended one's marker goes
        var soon = imports(later(runtime, Duration.ofMinutes(10)), new DroppingQueue()).sweep();
        assertThat(soon).containsEntry("importsFailedStalled", 0);
        assertThat(a.get("/v1/groups/" + g + "/imports/" + stuck.id()).jsonObject()).containsEntry("status", "running");
        assertThat(hasMarker(runtime, accountId, stuck.id())).isTrue();
        assertThat(hasMarker(runtime, accountId, ended)).isFalse();

        var afterDeadline = imports(later(runtime, ImportStore.stallDeadline().plusMinutes(1)), new DroppingQueue()).sweep();
        assertThat((Integer) afterDeadline.get("importsFailedStalled")).isGreaterThanOrEqualTo(1);
        var failed = a.get("/v1/groups/" + g + "/imports/" + stuck.id()).jsonObject();
        assertThat(failed).containsEntry("status", "failed").containsEntry("processed", 0);
        assertThat((String) failed.get("error")).contains("no progress");
        assertThat(hasMarker(runtime, accountId, stuck.id())).isFalse();
        assertThat(a.get("/v1/groups/" + g + "/imports/" + ended).jsonObject()).containsEntry("status", "done");
    }

    /**
     * A deleted group's clean-up whose job could not be queued is sent again by maintenance after 5 minutes, and then
     * not again until the imports queue's retries are spent (an hour): before, every 5 minutes, each copy reading the
     * group's every member row while the first waited behind imports. Once done, it is never sent again.
     */
    @Test
    void aLostGroupCleanUpIsSentAgainOnceAnHourUntilDone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Clean-up Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Gone")).jsonObject().get("id");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550121"))))
                .status()).isEqualTo(200);
        QueueSender refusing = (queue, messages) -> {
            throw new IllegalStateException("SQS refused");
        };
        new GroupService(runtime.wiring(), refusing).delete(accountId, g); // deleted; its job deferred to maintenance

        java.util.function.Function<Duration, Long> redrivenAfter = by -> {
            var queue = new DroppingQueue();
            imports(later(runtime, by), queue).sweep();
            return queue.sent.stream().filter(m -> m.body().contains(g)).count();
        };
        assertThat(redrivenAfter.apply(Duration.ofMinutes(4))).as("within 5 minutes: its own job may be on its way").isZero();
        assertThat(redrivenAfter.apply(Duration.ofMinutes(6))).isEqualTo(1);
        assertThat(redrivenAfter.apply(Duration.ofMinutes(12))).as("sent again 6 minutes ago").isZero();
        assertThat(redrivenAfter.apply(Duration.ofMinutes(50))).isZero();
        long hour = ImportService.cleanupRedriveEveryMillis() / 60_000;
        assertThat(redrivenAfter.apply(Duration.ofMinutes(6 + hour + 1))).as("its retries spent").isEqualTo(1);

        new ImportService(runtime.wiring(), new GroupService(runtime.wiring(), refusing), refusing).cleanUpDeletedGroup(accountId, g,
                System.currentTimeMillis(), null, Duration.ofMinutes(2));
        assertThat(redrivenAfter.apply(Duration.ofMinutes(6 + 3 * hour))).as("done").isZero();
    }

    @Test
    void anImportWhosePartsWereNotAllQueuedIsFailedAfterFiveMinutes(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Unqueued Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Unqueued")).jsonObject().get("id");
        QueueSender refusing = (queue, messages) -> {
            throw new IllegalStateException("SQS refused");
        };
        var service = imports(runtime.wiring(), refusing);
        assertThatThrownBy(() -> service.start(accountId, g, csv("+14155550111"), "01UNQUEUEDIMPORT0000000000"))
                .isInstanceOf(IllegalStateException.class);
        String importId = "imp_01UNQUEUEDIMPORT0000000000";
        assertThat(a.get("/v1/groups/" + g + "/imports/" + importId).jsonObject()).containsEntry("status", "running");
        imports(later(runtime, Duration.ofMinutes(6)), new DroppingQueue()).sweep();
        assertThat(a.get("/v1/groups/" + g + "/imports/" + importId).jsonObject()).containsEntry("status", "failed");
        assertThat(hasMarker(runtime, accountId, importId)).isFalse();

        // one whose failing is refused (a throttled write) does not keep the next from its turn; the sweep fails
        // after it, and the next sweep fails that one too
        for (String ulid : List.of("01UNQUEUEDIMPORTA000000000", "01UNQUEUEDIMPORTB000000000")) {
            assertThatThrownBy(() -> service.start(accountId, g, csv("+14155550112"), ulid)).isInstanceOf(IllegalStateException.class);
        }
        String refusedOne = "imp_01UNQUEUEDIMPORTA000000000", nextOne = "imp_01UNQUEUEDIMPORTB000000000";
        var refusingItsWrites = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest u
                        && u.key().toString().contains(refusedOne)) {
                    throw software.amazon.awssdk.core.exception.SdkClientException.create("refused for the test");
                }
            }
        }).withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(6)));
        assertThatThrownBy(() -> imports(refusingItsWrites, new DroppingQueue()).sweep()).hasMessage("refused for the test");
        assertThat(a.get("/v1/groups/" + g + "/imports/" + nextOne).jsonObject()).containsEntry("status", "failed");
        assertThat(a.get("/v1/groups/" + g + "/imports/" + refusedOne).jsonObject()).containsEntry("status", "running");
        imports(later(runtime, Duration.ofMinutes(6)), new DroppingQueue()).sweep();
        assertThat(a.get("/v1/groups/" + g + "/imports/" + refusedOne).jsonObject()).containsEntry("status", "failed");
    }

    /**
     * An import failed while one of its parts is being applied (maintenance took it for unqueued or stalled; its
     * group deleted) applies nothing more: before, the part went on adding members and counting under "failed".
     */
    @Test
    void anImportFailedWhileItsPartRunsAppliesNothingMore(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Failed Midway Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Midway")).jsonObject().get("id");
        var parts = new DroppingQueue();
        ImportJob started = imports(runtime.wiring(), parts).start(accountId, g, csv("+14155550131", "+14155550132"));
        var store = new ImportStore(new groupmsg.platform.dynamo.DynamoOps(runtime.wiring().dynamo()),
                runtime.wiring().config().table(Tables.CORE));
        // the part's status check has passed; the import is failed just before its unit commits
        var failing = runtime.wiringWith(groupmsg.local.JustBefore.transaction(tx -> true,
                () -> assertThat(store.fail(accountId, started.id(), "failed by the test")).isTrue()));
        applyParts(imports(failing, new DroppingQueue()), accountId, g, started.id(), parts);

        var job = a.get("/v1/groups/" + g + "/imports/" + started.id()).jsonObject();
        assertThat(job).containsEntry("status", "failed").containsEntry("processed", 0).containsEntry("added", 0);
        assertThat(a.get("/v1/groups/" + g).jsonObject()).containsEntry("memberCount", 0);
    }

    @Test
    void aRunOfTheSameRequestGoesOnWithTheSameImport(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Rerun Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Rerun")).jsonObject().get("id");
        var first = new DroppingQueue();
        var second = new DroppingQueue();
        String ulid = "01RERUNIMPORT0000000000000";
        ImportJob one = imports(runtime.wiring(), first).start(accountId, g, csv("+14155550121", "+14155550122"), ulid);
        ImportJob two = imports(runtime.wiring(), second).start(accountId, g, csv("+14155550121", "+14155550122"), ulid);
        assertThat(two).isEqualTo(one);
        // the same parts again, which FIFO de-duplication (or each unit's doneUnits) makes no second effect
        assertThat(second.sent).extracting(QueueMessage::deduplicationId)
                .containsExactlyElementsOf(first.sent.stream().map(QueueMessage::deduplicationId).toList());
        assertThat(second.sent).extracting(QueueMessage::body)
                .containsExactlyElementsOf(first.sent.stream().map(QueueMessage::body).toList());
    }

    /**
     * A part's units are recorded one by one until its last, which records the part and takes its units out again:
     * the import's item, which every unit's transaction rewrites, held every unit of the import (an item of 35 KB at
     * 500,000 rows). A part cut off before its last unit goes on where it stopped, and one delivered again after it
     * was done changes nothing.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aDonePartIsRecordedInsteadOfItsUnitsAndChangesNothingTwice(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Done Parts Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Parts")).jsonObject().get("id");
        String[] phones = new String[250];
        for (int i = 0; i < phones.length; i++) phones[i] = String.format("+1415556%04d", i);
        var parts = new DroppingQueue();
        ImportService service = imports(runtime.wiring(), parts);
        ImportJob started = service.start(accountId, g, csv(phones));
        // the part's third and last unit fails: its first two are recorded, the part is not
        var cutOff = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            int units;

            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest
                        && ++units == 3) {
                    throw software.amazon.awssdk.core.exception.SdkClientException.create("cut off for the test");
                }
            }
        });
        assertThatThrownBy(() -> applyParts(imports(cutOff, new DroppingQueue()), accountId, g, started.id(), parts))
                .hasMessageContaining("cut off for the test");
        var item = importItem(runtime, accountId, started.id());
        assertThat(item.get("doneUnits").ss()).containsExactlyInAnyOrder("p0u0", "p0u1");
        assertThat(item).doesNotContainKey("doneParts");
        assertThat(service.get(accountId, g, started.id()).processed()).isEqualTo(196);

        applyParts(service, accountId, g, started.id(), parts);
        item = importItem(runtime, accountId, started.id());
        assertThat(item).as("its units taken out").doesNotContainKey("doneUnits");
        assertThat(item.get("doneParts").ss()).containsExactly("p0");
        assertThat(service.get(accountId, g, started.id())).satisfies(job -> {
            assertThat(job.status()).isEqualTo(ImportJob.DONE);
            assertThat(job.processed()).isEqualTo(250);
            assertThat(job.added()).isEqualTo(250);
        });
        // delivered again: nothing counted twice
        applyParts(service, accountId, g, started.id(), parts);
        assertThat(service.get(accountId, g, started.id()).processed()).isEqualTo(250);
        assertThat(a.get("/v1/groups/" + g).jsonObject()).containsEntry("memberCount", 250);

        // a done part of an import still running, delivered again, stops at its first unit (of 11)
        String[] more = new String[1_100];
        for (int i = 0; i < more.length; i++) more[i] = String.format("+1415557%04d", i);
        var twoParts = new DroppingQueue();
        ImportJob running = imports(runtime.wiring(), twoParts).start(accountId, g, csv(more));
        assertThat(twoParts.sent).hasSize(2);
        var first = new DroppingQueue();
        first.sent.add(twoParts.sent.getFirst());
        applyParts(service, accountId, g, running.id(), first);
        assertThat(service.get(accountId, g, running.id()).processed()).isEqualTo(1_000);
        var transactions = new java.util.concurrent.atomic.AtomicInteger();
        applyParts(imports(runtime.wiringWith(groupmsg.local.TestFaults.counting(transactions,
                r -> r instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest)),
                new DroppingQueue()), accountId, g, running.id(), first);
        assertThat(transactions).hasValue(1);
        assertThat(service.get(accountId, g, running.id()).processed()).isEqualTo(1_000);
    }

    private static Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> importItem(LocalRuntime runtime,
                                                                                                        String accountId, String importId) {
        var w = runtime.wiring();
        return w.dynamo().getItem(b -> b.tableName(w.config().table(Tables.CORE)).consistentRead(true)
                .key(groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId), "IMPORT#" + importId))).item();
    }

    /** Applies the import's parts {@code queue} kept, as the import worker would. */
    @SuppressWarnings("unchecked")
    private static void applyParts(ImportService service, String accountId, String groupId, String importId, DroppingQueue queue) {
        for (QueueMessage m : queue.sent) {
            Map<String, Object> job = groupmsg.platform.json.Json.parseObject(m.body());
            if (!"import-part".equals(job.get("kind"))) continue;
            service.applyPart(accountId, groupId, importId, ((Number) job.get("part")).intValue(), job.containsKey("rowsGzip")
                    ? ImportService.gunzipRows((String) job.get("rowsGzip")) : (List<List<Object>>) job.get("rows"));
        }
    }

    /**
     * A group deleted during an import whose numbers are all its members already: no unit adds anyone, so none found
     * the group gone, and the import ended "done". Each part now looks for its group first: the import fails.
     */
    @Test
    void anImportOfMembersAlreadyWhoseGroupWasDeletedFails(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Gone Group Import Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Gone")).jsonObject().get("id");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550131"),
                Map.of("phone", "+14155550132")))).jsonObject()).containsEntry("added", 2);
        var parts = new DroppingQueue();
        ImportService service = imports(runtime.wiring(), parts);
        ImportJob started = service.start(accountId, g, csv("+14155550131", "+14155550132"), "01GONEGROUPIMPORT000000000");
        // deleted, its clean-up not run yet: its numbers are still members, so no unit adds anyone
        new GroupService(runtime.wiring(), new DroppingQueue()).delete(accountId, g);

        applyParts(service, accountId, g, started.id(), parts);
        assertThat(service.get(accountId, g, started.id()).status()).isEqualTo(ImportJob.FAILED);

        // an import that ended before its group was deleted stays done when a part of it comes again
        String kept = (String) a.post("/v1/groups", Map.of("name", "Kept")).jsonObject().get("id");
        var keptParts = new DroppingQueue();
        ImportJob done = imports(runtime.wiring(), keptParts).start(accountId, kept, csv("+14155550133"), "01DONEGROUPIMPORT000000000");
        applyParts(service, accountId, kept, done.id(), keptParts);
        assertThat(service.get(accountId, kept, done.id()).status()).isEqualTo(ImportJob.DONE);
        new GroupService(runtime.wiring(), new DroppingQueue()).delete(accountId, kept);
        applyParts(service, accountId, kept, done.id(), keptParts);
        assertThat(service.get(accountId, kept, done.id()).status()).isEqualTo(ImportJob.DONE);
    }

    /**
     * Deleted after a part looked for it: a unit that adds nobody (only renames, or only its progress) moves no
     * counter, whose condition would find the group gone; its transaction checks for the group itself, so the import
     * fails rather than ending done with renames written to a deleted group's rows.
     */
    @Test
    void aUnitThatAddsNobodyToAGroupDeletedMeanwhileFindsItGone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Gone Mid Part Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Gone mid part")).jsonObject().get("id");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550134", "name", "Old"))))
                .jsonObject()).containsEntry("added", 1);
        var groups = new GroupService(runtime.wiring(), new DroppingQueue());
        MemberStore members = groups.memberStore();
        var renamed = List.of(new MemberStore.Candidate("+14155550134", "New"));
        var unchanged = List.of(new MemberStore.Candidate("+14155550134", null));
        // while the group is there, a rename commits
        assertThat(members.addUnit(accountId, g, renamed, null, System.currentTimeMillis()).updated()).isEqualTo(1);

        groups.delete(accountId, g); // its clean-up not run yet: the number is still a member row
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> members.addUnit(accountId, g,
                        List.of(new MemberStore.Candidate("+14155550134", "Newer")), null, System.currentTimeMillis()))
                .as("a rename").isInstanceOf(MemberStore.GroupGoneException.class);
        var progress = new java.util.concurrent.atomic.AtomicInteger();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> members.addUnit(accountId, g, unchanged, counts -> {
                    progress.incrementAndGet();
                    // an action of its own that would commit: a progress update's stand-in
                    return software.amazon.awssdk.services.dynamodb.model.TransactWriteItem.builder().put(p -> p
                            .tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                            .item(Map.of("pk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("TEST#" + g),
                                    "sk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("progress")))).build();
                }, System.currentTimeMillis()))
                .as("only an import's progress").isInstanceOf(MemberStore.GroupGoneException.class);
        assertThat(progress.get()).isEqualTo(1);
        assertThat(runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                .key(Map.of("pk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("TEST#" + g),
                        "sk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("progress")))).hasItem())
                .as("nothing of it committed").isFalse();
    }

    @Test
    void aGroupDeleteWhoseCleanUpCouldNotBeQueuedSucceedsAndMaintenanceQueuesItLater(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Cleanup Later Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Going")).jsonObject().get("id");
        QueueSender refusing = (queue, messages) -> {
            throw new IllegalStateException("SQS refused");
        };
        new GroupService(runtime.wiring(), refusing).delete(accountId, g); // no 500: the delete committed
        assertThat(a.get("/v1/groups/" + g).status()).isEqualTo(404);

        var queue = new DroppingQueue();
        imports(later(runtime, Duration.ofMinutes(6)), queue).sweep();
        assertThat(queue.sent).anySatisfy(m -> assertThat(m.body()).contains(g).contains("cleanup"));
    }

    /**
     * A clean-up job behind many others in its partition (they sort by account and group, not time) is still found:
     * before, the Query's limit of 100 counted the rows read before its filter, so a page of newer jobs (or other
     * accounts' sorting first) hid an old one for good, and its group's rows were never expired.
     */
    @Test
    void aCleanUpBehindAHundredNewerJobsIsStillQueuedAgain(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Cleanup Behind Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Far back")).jsonObject().get("id");
        QueueSender refusing = (queue, messages) -> {
            throw new IllegalStateException("SQS refused");
        };
        new GroupService(runtime.wiring(), refusing).delete(accountId, g);
        // 120 jobs of groups deleted just now (not due yet at the sweep's clock), sorting before every real account
        String table = runtime.wiring().config().table(Tables.CORE);
        long notDue = System.currentTimeMillis() + Duration.ofHours(1).toMillis();
        List<String> sortingFirst = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            String sk = String.format("acct_00000000000000000000%04d#grp_x", i);
            sortingFirst.add(sk);
            runtime.wiring().dynamo().putItem(b -> b.tableName(table).item(Map.of(
                    "pk", AttributeValue.fromS(GroupStore.CLEANUP_JOBS_PK), "sk", AttributeValue.fromS(sk),
                    "accountId", AttributeValue.fromS(sk.substring(0, sk.indexOf('#'))), "groupId", AttributeValue.fromS("grp_x"),
                    "deletedAt", AttributeValue.fromN(Long.toString(notDue)))));
        }
        try {
            var queue = new DroppingQueue();
            imports(later(runtime, Duration.ofMinutes(6)), queue).sweep();
            assertThat(queue.sent).anySatisfy(m -> assertThat(m.body()).contains(g).contains("cleanup"));
            assertThat(queue.sent).noneSatisfy(m -> assertThat(m.body()).contains("grp_x"));
        } finally {
            for (String sk : sortingFirst) {
                runtime.wiring().dynamo().deleteItem(b -> b.tableName(table).key(Map.of(
                        "pk", AttributeValue.fromS(GroupStore.CLEANUP_JOBS_PK), "sk", AttributeValue.fromS(sk))));
            }
        }
    }
}
