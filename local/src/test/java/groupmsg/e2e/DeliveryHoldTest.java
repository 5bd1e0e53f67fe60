package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.e2e.DeliveryFaultsTest.CapturingQueue;
import groupmsg.e2e.DeliveryFaultsTest.ScriptedCarrier;
import groupmsg.e2e.DeliveryFaultsTest.Setup;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.local.QueueCounts;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.DeliveryWorkerHandler;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.DeliveryFaultsTest.acceptAndFanOut;
import static groupmsg.e2e.DeliveryFaultsTest.statuses;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A delivery job never keeps a worker waiting long for its line: when the line is reserved further ahead than that,
 * the job takes a place in the line's waiting line and waits for it in the queue. Before, one slow line's backlog held every
 * delivery worker, and every other account's messages waited behind it.
 */
@ExtendWith(LocalRuntimeExtension.class)
class DeliveryHoldTest {

    @Test
    @SuppressWarnings("unchecked")
    void aJobWhoseLineIsReservedPastItsHoldWaitsInTheQueueForItsPlaceAndIsSentThen(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Busy Line Co");
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String lineId = createLine(a, linePhone(), 5); // a send every 220 ms
        Setup s = acceptAndFanOut(a, wiring, 3, lineId);
        assertThat(s.queue().deliveries).hasSize(1);
        Map<String, Object> job = s.queue().deliveries.getFirst();

        // other jobs have reserved the line 25 s ahead
        long reservedUntil = (System.currentTimeMillis() + 25_000) * 1000;
        setCursor(runtime, lineId, reservedUntil);

        // the job sends nothing, and comes back with a place in the line's waiting line, out of sight until three
        // seconds before it; nothing more is reserved
        var queue = new CapturingQueue();
        var handler = new DeliveryWorkerHandler(wiring, queue);
        long started = System.currentTimeMillis();
        assertThat(handler.handleRequest(event(job), null).getBatchItemFailures()).isEmpty();
        long returned = System.currentTimeMillis();
        // a job that waited for the lookahead would sleep about 14 s here
        assertThat(returned - started).as("time the worker was held").isLessThan(8_000);
        assertThat(carrier.callTimes).isEmpty();
        assertThat(statuses(a, s.messageId()).values()).containsOnly("queued");
        assertThat(queue.deliveries).hasSize(1);
        Map<String, Object> waiting = queue.deliveries.getFirst();
        assertThat(waiting.get("phones")).isEqualTo(job.get("phones"));
        long place = ((Number) waiting.get("ticketAt")).longValue();
        assertThat(place).isGreaterThanOrEqualTo(reservedUntil).isLessThan(reservedUntil + 1_000_000);
        // out of sight until three seconds before its place, in whole seconds from when it was handed on
        long arriveAt = place / 1000 - 3_000;
        int delay = queue.delays.getFirst();
        assertThat(delay).isBetween((int) ((arriveAt - returned) / 1000), (int) ((arriveAt - started) / 1000)).isBetween(15, 22);
        assertThat(cursor(runtime, lineId, "nextAt")).as("nothing reserved").isEqualTo(reservedUntil);
        assertThat(cursor(runtime, lineId, "waitAt")).as("the next place starts after it").isEqualTo(place + 3 * 220_000);
        // maintenance is told the message's rows are waiting, until a minute after the place
        var message = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("ACCT#" + s.accountId()), "sk", AttributeValue.fromS("MSG#" + s.messageId())))
                .consistentRead(true)).item();
        assertThat(Long.parseLong(message.get("waitingUntil").n())).isEqualTo((place + 3 * 220_000) / 1000 + 60_000);

        // back early (a copy, say), it goes back to wait again with the same place
        assertThat(handler.handleRequest(event(waiting), null).getBatchItemFailures()).isEmpty();
        assertThat(carrier.callTimes).isEmpty();
        assertThat(queue.deliveries).hasSize(2);
        assertThat(queue.deliveries.get(1)).isEqualTo(waiting);
        assertThat(queue.delays.get(1)).isBetween(1, delay);

        // a fresh job for the same line, while this worker knows of the waiting line, goes after it at once
        // (claiming nothing), rather than reserving ahead of the jobs waiting
        assertThat(handler.handleRequest(event(new java.util.HashMap<>(job)), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).hasSize(3);
        assertThat(((Number) queue.deliveries.get(2).get("ticketAt")).longValue()).isEqualTo(place + 3 * 220_000);
        assertThat(carrier.callTimes).isEmpty();

        // come its place (here: the line's reservations end in 2 s), it reserves right after them and sends each once
        long reservedTo = (System.currentTimeMillis() + 2_000) * 1000;
        setCursor(runtime, lineId, reservedTo);
        var due = new java.util.HashMap<>(waiting);
        due.put("ticketAt", (System.currentTimeMillis() + 3_000) * 1000);
        var worker = new DeliveryWorkerHandler(wiring, queue); // another worker: none of the first one's hints
        assertThat(worker.handleRequest(event(due), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).hasSize(3);
        for (String p : (List<String>) job.get("phones")) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        List<Long> times = new ArrayList<>(carrier.callTimes);
        // never before its slot: the i-th at least i spacings after the reservations' end
        for (int i = 0; i < times.size(); i++) assertThat(times.get(i)).isGreaterThanOrEqualTo(reservedTo / 1000 + i * 220L);
        assertThat(awaitSent(a, s.messageId(), 5_000)).containsEntry("status", "sent");
    }

    /**
     * A fresh job that goes after the line's waiting line takes a place for the numbers it will send to, and its
     * opted-out numbers' rows show opted_out at once; a job of opted-out numbers alone takes no place and is done.
     * Before, those rows stayed queued until the place came (hours on a busy line), and such a job came back every 15
     * minutes to do nothing.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aJobPlacedInTheWaitingLineShowsItsOptedOutNumbersAtOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Waiting Opt Outs Co");
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String lineId = createLine(a, linePhone(), 5); // a send every 220 ms
        Setup first = acceptAndFanOut(a, wiring, 3, lineId);
        long reservedUntil = (System.currentTimeMillis() + 25_000) * 1000;
        setCursor(runtime, lineId, reservedUntil);
        var queue = new CapturingQueue();
        var handler = new DeliveryWorkerHandler(wiring, queue);
        assertThat(handler.handleRequest(event(first.queue().deliveries.getFirst()), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).as("placed: this worker knows the waiting line now").hasSize(1);
        long waitAt = cursor(runtime, lineId, "waitAt");

        Setup some = acceptAndFanOut(a, wiring, 3, lineId, "Some opted out");
        Setup all = acceptAndFanOut(a, wiring, 2, lineId, "All opted out");
        // the same numbers' first two: both of the second message's, two of the first's
        assertThat(some.phones().subList(0, 2)).isEqualTo(all.phones());
        for (String phone : all.phones()) {
            var r = a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", phone));
            assertThat(r.status()).as(r.body()).isIn(200, 201);
        }

        assertThat(handler.handleRequest(event(some.queue().deliveries.getFirst()), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).hasSize(2);
        assertThat((List<String>) queue.deliveries.get(1).get("phones")).as("the one it will send to")
                .containsExactly(some.phones().get(2));
        assertThat(((Number) queue.deliveries.get(1).get("ticketAt")).longValue()).isEqualTo(waitAt);
        assertThat(cursor(runtime, lineId, "waitAt")).as("one send's place").isEqualTo(waitAt + 220_000);
        assertThat(statuses(a, some.messageId())).containsEntry(some.phones().get(0), "opted_out")
                .containsEntry(some.phones().get(1), "opted_out").containsEntry(some.phones().get(2), "queued");

        assertThat(handler.handleRequest(event(all.queue().deliveries.getFirst()), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).as("no place, no job").hasSize(2);
        assertThat(cursor(runtime, lineId, "waitAt")).isEqualTo(waitAt + 220_000);
        assertThat(statuses(a, all.messageId()).values()).containsOnly("opted_out").hasSize(2);
        assertThat(carrier.callTimes).isEmpty();
        // nor is maintenance told that rows of it wait for a place
        var message = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("ACCT#" + all.accountId()), "sk", AttributeValue.fromS("MSG#" + all.messageId())))
                .consistentRead(true)).item();
        assertThat(message).isNotEmpty().doesNotContainKey("waitingUntil");
    }

    /**
     * A conversation's relay (the same delivery with a deadline, on a FIFO queue) on a line reserved past its deadline:
     * it claims nothing lasting and fails, so its FIFO retry keeps its place. Without the deadline it waited for the
     * reservations until the invocation was cut off, leaving its rows in sending, never to be sent.
     */
    @Test
    void aDeliveryWithADeadlineOnALineReservedPastItGivesEverythingBackAndFails(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Relay Deadline Co");
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String lineId = createLine(a, linePhone(), 5);
        Setup s = acceptAndFanOut(a, wiring, 2, lineId);
        setCursor(runtime, lineId, (System.currentTimeMillis() + 60_000) * 1000);
        long now = System.currentTimeMillis();
        long started = System.currentTimeMillis();
        assertThatThrownBy(() -> new DeliveryService(wiring).deliver(s.accountId(), s.messageId(), shardOf(s), s.phones(),
                DeliveryService.Deadline.ofInvocation(now + 60_000))).hasMessageContaining("not sent yet");
        assertThat(System.currentTimeMillis() - started).isLessThan(5_000);
        assertThat(carrier.callTimes).isEmpty();
        assertThat(statuses(a, s.messageId()).values()).containsOnly("queued");
    }

    /**
     * A relay on a line with a long waiting line (places for minutes ahead) gets the line's next slots within its
     * deadline: places reserve nothing, so it waits at most the lookahead, not for the backlog.
     */
    @Test
    void aDeliveryWithADeadlineOnALineWithALongWaitingLineIsSentWithinIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Relay Backlog Co");
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String lineId = createLine(a, linePhone(), 1);
        Setup s = acceptAndFanOut(a, wiring, 2, lineId);
        long now = System.currentTimeMillis();
        long reservedTo = (now + 8_000) * 1000;
        setCursor(runtime, lineId, reservedTo, (now + 600_000) * 1000);
        new DeliveryService(wiring).deliver(s.accountId(), s.messageId(), shardOf(s), s.phones(),
                DeliveryService.Deadline.ofInvocation(now + 60_000));
        for (String p : s.phones()) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        assertThat(carrier.callTimes.getFirst()).isGreaterThanOrEqualTo(reservedTo / 1000);
        assertThat(carrier.callTimes.getLast() - now).as("ms to the last send").isLessThan(15_000);
        assertThat(statuses(a, s.messageId()).values()).containsOnly("sent");
    }

    @SuppressWarnings("unchecked")
    private static int shardOf(Setup s) {
        assertThat(s.queue().deliveries).hasSize(1);
        assertThat((List<String>) s.queue().deliveries.getFirst().get("phones")).containsExactlyInAnyOrderElementsOf(s.phones());
        return ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();
    }

    private static void setCursor(LocalRuntime runtime, String lineId, long nextAtMicros) {
        setCursor(runtime, lineId, nextAtMicros, 0);
    }

    /** The line's cursor item as other workers left it: reserved to {@code nextAtMicros}, places to {@code waitAtMicros}. */
    private static void setCursor(LocalRuntime runtime, String lineId, long nextAtMicros, long waitAtMicros) {
        var item = new java.util.HashMap<>(Map.of("pk", AttributeValue.fromS("RATE#" + lineId), "sk", AttributeValue.fromS("cursor"),
                "nextAt", AttributeValue.fromN(Long.toString(nextAtMicros))));
        if (waitAtMicros != 0) item.put("waitAt", AttributeValue.fromN(Long.toString(waitAtMicros)));
        runtime.wiring().dynamo().putItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).item(item));
    }

    /**
     * A hundred jobs of a 500-member message on a 1 mps line (as many as the runtime's 20 delivery workers take at
     * once) and, just after, another account's message to five on a fast line: it is sent within 3 s of the time
     * the same message takes with no backlog (0.4 s against 0.3 s measured). Before, it waited for the slow line's
     * jobs to give up their workers (36.6 s measured); then, while each of them slept about 5 s for the lookahead
     * before taking a place (4.6-5.9 s, 10.4 s on a busy CI machine).
     */
    @Test
    void aSlowLinesBacklogDoesNotHoldBackAnotherAccountsMessage(ApiClient api, LocalRuntime runtime) throws Exception {
        // the time a message to five takes on this machine now, with no backlog: what load slows, it slows alike
        var other = account(api, "Other Co", 100, 5);
        long controlStarted = System.currentTimeMillis();
        String control = (String) send(other.api(), other.groupId(), other.lineId(), "Quick one").get("id");
        assertThat(awaitSent(other.api(), control, 20_000)).containsEntry("status", "sent");
        long controlTook = System.currentTimeMillis() - controlStarted;

        var slow = account(api, "Slow Line Co", 1, 500);
        long sentFrom = System.currentTimeMillis();
        try {
            String slowMessage = (String) send(slow.api(), slow.groupId(), slow.lineId(), "A long one").get("id");
            awaitJobsInTheWorkers(runtime);

            long started = System.currentTimeMillis();
            String otherMessage = (String) send(other.api(), other.groupId(), other.lineId(), "Quick two").get("id");
            assertThat(awaitSent(other.api(), otherMessage, 30_000)).containsEntry("status", "sent");
            assertThat(System.currentTimeMillis() - started).as("time to send five on a free line, behind the backlog")
                    .isLessThan(controlTook + 3_000);

            // the slow line goes on at its rate, never faster
            int gone = 0;
            long elapsed = 0;
            for (long deadline = System.currentTimeMillis() + 20_000; gone == 0 && System.currentTimeMillis() < deadline; ) {
                @SuppressWarnings("unchecked")
                var counts = (Map<String, Object>) slow.api().get("/v1/messages/" + slowMessage).jsonObject().get("counts");
                elapsed = System.currentTimeMillis() - sentFrom;
                gone = ((Number) counts.get("sent")).intValue() + ((Number) counts.get("delivered")).intValue();
                if (gone == 0) Thread.sleep(200);
            }
            assertThat(gone).isPositive().isLessThanOrEqualTo((int) (elapsed / 1000) + 1);
        } finally {
            // the rest would go on at 1 a second for eight minutes under the tests that follow, failed or not: the
            // line goes, and its jobs fail what is left unsent
            assertThat(slow.api().delete("/v1/lines/" + slow.lineId() + "?force=true").status()).isEqualTo(204);
        }
    }

    /** Until the fan-out has no job waiting and the delivery workers have taken every job it made (none waits). */
    private static void awaitJobsInTheWorkers(LocalRuntime runtime) throws InterruptedException {
        for (long deadline = System.currentTimeMillis() + 20_000; System.currentTimeMillis() < deadline; Thread.sleep(50)) {
            var jobs = QueueCounts.of(runtime, "deliveries");
            if (QueueCounts.of(runtime, "fanout").empty() && jobs.waiting() == 0 && jobs.inFlight() > 0) return;
        }
        throw new AssertionError("the slow line's jobs were not all taken by the delivery workers within 20 s");
    }

    /** An account with a line of {@code mps} and a group of {@code members}. */
    private record Account(ApiClient api, String lineId, String groupId) {}

    private static Account account(ApiClient api, String name, int mps, int members) {
        ApiClient a = api.forNewAccount(name);
        String lineId = createLine(a, linePhone(), mps);
        String groupId = createGroup(a, "Everyone");
        addMembers(a, groupId, 3000, members);
        return new Account(a, lineId, groupId);
    }

    private static SQSEvent event(Map<String, Object> job) {
        var record = new SQSEvent.SQSMessage();
        record.setMessageId("job-" + System.nanoTime());
        record.setBody(Json.write(job));
        var event = new SQSEvent();
        event.setRecords(List.of(record));
        return event;
    }

    private static long cursor(LocalRuntime runtime, String lineId, String attribute) {
        var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("RATE#" + lineId), "sk", AttributeValue.fromS("cursor")))
                .consistentRead(true)).item();
        return Long.parseLong(item.get(attribute).n());
    }
}
