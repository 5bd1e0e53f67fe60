package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.e2e.DeliveryFaultsTest.CapturingQueue;
import groupmsg.e2e.DeliveryFaultsTest.ScriptedCarrier;
import groupmsg.e2e.DeliveryFaultsTest.Setup;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
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
 * A delivery job never keeps a worker waiting long for its line: when the line is booked further ahead than that,
 * the job books its own send times and waits for them in the queue. Before, one slow line's backlog held every
 * delivery worker, and every other account's messages waited behind it.
 */
@ExtendWith(LocalRuntimeExtension.class)
class DeliveryHoldTest {

    @Test
    @SuppressWarnings("unchecked")
    void aJobWhoseLineIsBookedFarAheadWaitsInTheQueueForItsOwnTimesAndIsSentAtThem(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Booked Line Co");
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String lineId = createLine(a, linePhone(), 5); // a send every 220 ms
        Setup s = acceptAndFanOut(a, wiring, 3, lineId);
        assertThat(s.queue().deliveries).hasSize(1);
        Map<String, Object> job = s.queue().deliveries.getFirst();

        // other messages have booked the line 25 s ahead
        long bookedUntil = (System.currentTimeMillis() + 25_000) * 1000;
        setCursor(runtime, lineId, bookedUntil);

        // the job claims and sends nothing, and comes back with three times booked after the others, out of sight
        // until three seconds before the first
        var queue = new CapturingQueue();
        var handler = new DeliveryWorkerHandler(wiring, queue);
        long started = System.currentTimeMillis();
        assertThat(handler.handleRequest(event(job), null).getBatchItemFailures()).isEmpty();
        assertThat(System.currentTimeMillis() - started).as("time the worker was held").isLessThan(3_000);
        assertThat(carrier.callTimes).isEmpty();
        assertThat(statuses(a, s.messageId()).values()).containsOnly("queued");
        assertThat(queue.deliveries).hasSize(1);
        Map<String, Object> handedOn = queue.deliveries.getFirst();
        assertThat(handedOn.get("phones")).isEqualTo(job.get("phones"));
        var booked = (Map<String, Object>) handedOn.get("booked");
        long firstAt = ((Number) booked.get("at")).longValue();
        assertThat(firstAt).isGreaterThanOrEqualTo(bookedUntil).isLessThan(bookedUntil + 1_000_000);
        assertThat(booked).containsEntry("count", 3).containsEntry("every", 220_000);
        int delay = queue.delays.getFirst();
        assertThat(delay).isBetween(20, 22);
        assertThat(line(runtime, lineId)).isEqualTo(firstAt + 3 * 220_000); // the line is booked past them

        // delivered early (before its times are within reach), it goes back to wait again, with the same times
        assertThat(handler.handleRequest(event(handedOn), null).getBatchItemFailures()).isEmpty();
        assertThat(carrier.callTimes).isEmpty();
        assertThat(queue.deliveries).hasSize(2);
        assertThat(queue.deliveries.get(1)).isEqualTo(handedOn);
        assertThat(queue.delays.get(1)).isBetween(1, delay);

        // at its time it sends each recipient once, at its own booked times, and hands nothing on
        Thread.sleep(Math.max(0, firstAt / 1000 - 3_000 - System.currentTimeMillis()));
        assertThat(handler.handleRequest(event(handedOn), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).hasSize(2);
        for (String p : (List<String>) job.get("phones")) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        List<Long> times = new ArrayList<>(carrier.callTimes);
        for (int i = 0; i < times.size(); i++) {
            assertThat(times.get(i)).as("send %d", i).isGreaterThanOrEqualTo((firstAt + i * 220_000) / 1000);
        }
        assertThat(statuses(a, s.messageId()).values()).containsOnly("sent");
        assertThat(awaitSent(a, s.messageId(), 5_000)).containsEntry("status", "sent");
    }

    /**
     * A line booked past the horizon (30 s): the job takes a place in its waiting line instead, and comes back
     * shortly before it to book then; a job with a place books when it comes back and is sent at those times.
     */
    @Test
    @SuppressWarnings("unchecked")
    void pastTheHorizonAJobTakesAPlaceAndBooksWhenItComesBack(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Long Queue Co");
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String lineId = createLine(a, linePhone(), 5);
        Setup s = acceptAndFanOut(a, wiring, 3, lineId);
        Map<String, Object> job = s.queue().deliveries.getFirst();
        long bookedUntil = (System.currentTimeMillis() + 100_000) * 1000;
        setCursor(runtime, lineId, bookedUntil);

        var queue = new CapturingQueue();
        var handler = new DeliveryWorkerHandler(wiring, queue);
        assertThat(handler.handleRequest(event(job), null).getBatchItemFailures()).isEmpty();
        assertThat(carrier.callTimes).isEmpty();
        Map<String, Object> waiting = queue.deliveries.getFirst();
        assertThat(waiting).doesNotContainKey("booked");
        long place = ((Number) waiting.get("ticketAt")).longValue();
        assertThat(place).isGreaterThanOrEqualTo(bookedUntil).isLessThan(bookedUntil + 1_000_000);
        assertThat(queue.delays.getFirst()).isBetween(90, 92); // back 8 s before its place
        assertThat(line(runtime, lineId)).as("nothing booked").isEqualTo(bookedUntil);

        // the line caught up sooner than its place said (jobs ahead were lost, say): it books at once and is sent
        setCursor(runtime, lineId, (System.currentTimeMillis() + 6_000) * 1000);
        var early = new java.util.HashMap<>(waiting);
        early.put("ticketAt", (System.currentTimeMillis() + 8_000) * 1000);
        long started = System.currentTimeMillis();
        assertThat(handler.handleRequest(event(early), null).getBatchItemFailures()).isEmpty();
        assertThat(queue.deliveries).hasSize(1);
        for (String p : (List<String>) job.get("phones")) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        assertThat(carrier.callTimes.getFirst()).isGreaterThanOrEqualTo(started + 5_000);
        assertThat(statuses(a, s.messageId()).values()).containsOnly("sent");
    }

    /**
     * A conversation's relay (the same delivery with a deadline, on a FIFO queue) on a line booked past its deadline:
     * it claims nothing lasting and fails, so its FIFO retry keeps its place. Without the deadline it waited for the
     * bookings until the invocation was cut off, leaving its rows in sending, never to be sent.
     */
    @Test
    void aDeliveryWithADeadlineOnALineBookedPastItGivesEverythingBackAndFails(ApiClient api, LocalRuntime runtime)
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

    @SuppressWarnings("unchecked")
    private static int shardOf(Setup s) {
        assertThat(s.queue().deliveries).hasSize(1);
        assertThat((List<String>) s.queue().deliveries.getFirst().get("phones")).containsExactlyInAnyOrderElementsOf(s.phones());
        return ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();
    }

    private static void setCursor(LocalRuntime runtime, String lineId, long nextAtMicros) {
        runtime.wiring().dynamo().putItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .item(Map.of("pk", AttributeValue.fromS("RATE#" + lineId), "sk", AttributeValue.fromS("cursor"),
                        "nextAt", AttributeValue.fromN(Long.toString(nextAtMicros)))));
    }

    /**
     * A hundred jobs of a 500-member message on a 1 mps line (as many as the runtime's 20 delivery workers take at
     * once) and, just after, another account's message to five on a fast line: it is sent in seconds. Before, it
     * waited for the slow line's jobs to give up their workers (36.6 s measured).
     */
    @Test
    void aSlowLinesBacklogDoesNotHoldBackAnotherAccountsMessage(ApiClient api) throws Exception {
        var slow = account(api, "Slow Line Co", 1, 500);
        long sentFrom = System.currentTimeMillis();
        String slowMessage = (String) send(slow.api(), slow.groupId(), slow.lineId(), "A long one").get("id");
        Thread.sleep(1_500); // its jobs are in the workers

        var other = account(api, "Other Co", 100, 5);
        long started = System.currentTimeMillis();
        String otherMessage = (String) send(other.api(), other.groupId(), other.lineId(), "Quick one").get("id");
        assertThat(awaitSent(other.api(), otherMessage, 20_000)).containsEntry("status", "sent");
        assertThat(System.currentTimeMillis() - started).as("time to send five on a free line").isLessThan(10_000);

        // the slow line goes on at its rate, never faster
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) slow.api().get("/v1/messages/" + slowMessage).jsonObject().get("counts");
        long elapsed = System.currentTimeMillis() - sentFrom;
        assertThat(((Number) counts.get("sent")).intValue() + ((Number) counts.get("delivered")).intValue())
                .isPositive().isLessThanOrEqualTo((int) (elapsed / 1000) + 1);
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

    private static long line(LocalRuntime runtime, String lineId) {
        var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("RATE#" + lineId), "sk", AttributeValue.fromS("cursor")))
                .consistentRead(true)).item();
        return Long.parseLong(item.get("nextAt").n());
    }
}
