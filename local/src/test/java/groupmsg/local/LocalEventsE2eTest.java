package groupmsg.local;

import groupmsg.notify.Topic;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.LIST;

/** {@code GET /local/events}: what the handlers' event publisher published, per topic, oldest first. */
@ExtendWith(LocalRuntimeExtension.class)
class LocalEventsE2eTest {

    @Test
    void eventsPublishedThroughTheHandlersPublisherAreServedPerTopicOldestFirst(LocalRuntime runtime, ApiClient api) {
        // The runtime is shared: other tests' events may be there too, so look at this test's account only.
        String accountId = "acct_events_" + UUID.randomUUID();
        var events = runtime.wiring().events();
        var first = new LinkedHashMap<String, Object>();
        first.put("messageId", "msg_1");
        first.put("recipients", 3);
        events.publish(Topic.NOTIFICATIONS, accountId, "group_message.sent", first);
        events.publish(Topic.INTEGRATIONS, accountId, "reply.received", Map.of("inboundId", "inb_1", "body", "Ça va? 👍"));
        events.publish(Topic.NOTIFICATIONS, accountId, "group_message.sent", Map.of("messageId", "msg_2"));

        var notifications = api.withoutKey().get("/local/events?topic=notifications");
        assertThat(notifications.status()).isEqualTo(200);
        assertThat(notifications.header("content-type")).startsWith("application/json");
        List<Map<String, Object>> mine = ofAccount(notifications, accountId);
        assertThat(mine).hasSize(2);
        // Exactly the published message: type and accountId first, then the event's own fields.
        assertThat(new ArrayList<>(mine.get(0).keySet())).containsExactly("type", "accountId", "messageId", "recipients");
        assertThat(mine.get(0)).containsEntry("type", "group_message.sent").containsEntry("accountId", accountId)
                .containsEntry("messageId", "msg_1").containsEntry("recipients", 3);
        assertThat(mine.get(1)).containsEntry("messageId", "msg_2");

        List<Map<String, Object>> integrations = ofAccount(api.withoutKey().get("/local/events?topic=integrations"), accountId);
        assertThat(integrations).singleElement().satisfies(e -> assertThat(e)
                .containsEntry("type", "reply.received").containsEntry("inboundId", "inb_1").containsEntry("body", "Ça va? 👍"));
    }

    @Test
    void theRecordedTextIsTheJsonMessageAsPublished(LocalRuntime runtime) {
        String accountId = "acct_events_" + UUID.randomUUID();
        var event = new LinkedHashMap<String, Object>();
        event.put("messageId", "msg_x");
        event.put("note", null);
        runtime.wiring().events().publish(Topic.NOTIFICATIONS, accountId, "group_message.sent", event);
        var recorded = ((RecordingEventPublisher) runtime.wiring().events()).events(Topic.NOTIFICATIONS);
        assertThat(recorded).contains(Json.write(groupmsg.notify.SnsEventPublisher.envelope(accountId, "group_message.sent", event)));
    }

    @Test
    void aMissingOrUnknownTopicIsTheContractsBadRequest(ApiClient api) {
        for (String path : List.of("/local/events", "/local/events?topic=", "/local/events?topic=alarms",
                "/local/events?topic=NOTIFICATIONS", "/local/events?other=notifications")) {
            var response = api.withoutKey().get(path);
            assertThat(response.status()).as(path).isEqualTo(400);
            assertThat(response.errorCode()).as(path).isEqualTo("invalid_request");
            assertThat((String) ((Map<?, ?>) response.jsonObject().get("error")).get("message")).as(path)
                    .contains("notifications|integrations");
        }
        assertThat(api.withoutKey().send("PUT", "/local/events?topic=notifications", "application/json", "{}").status())
                .as("wrong method").isEqualTo(404);
        assertThat(api.withoutKey().send("POST", "/local/events?topic=notifications", "application/json", "{}").status())
                .as("invoke's publish, without an event").isEqualTo(400);
    }

    @Test
    void keepsOnlyTheLastEventsOfEachTopic() {
        var publisher = RecordingEventPublisher.inMemory(3);
        for (int i = 1; i <= 5; i++) publisher.publish(Topic.NOTIFICATIONS, "acct_1", "t", Map.of("n", i));
        publisher.publish(Topic.INTEGRATIONS, "acct_1", "t", Map.of("n", 0));
        assertThat(publisher.events(Topic.NOTIFICATIONS)).extracting(m -> Json.parseObject(m).get("n")).containsExactly(3, 4, 5);
        assertThat(publisher.events(Topic.INTEGRATIONS)).hasSize(1);
        assertThat(publisher.publishesToSns()).isFalse();
    }

    @Test
    void concurrentPublishersLoseNothing() throws Exception {
        var publisher = RecordingEventPublisher.inMemory();
        int threads = 8;
        int each = 500;
        var start = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < each; i++) {
                        publisher.publish(Topic.NOTIFICATIONS, "acct_" + thread, "t", Map.of("i", i));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) f.get();
        }
        List<String> events = publisher.events(Topic.NOTIFICATIONS);
        assertThat(events).hasSize(threads * each);
        for (int t = 0; t < threads; t++) {
            String account = "acct_" + t;
            // Each publisher's own events stay in the order it published them.
            assertThat(events.stream().map(Json::parseObject).filter(e -> account.equals(e.get("accountId")))
                    .map(e -> e.get("i")).toList()).as(account).isSorted().hasSize(each);
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> ofAccount(ApiClient.Response response, String accountId) {
        assertThat(response.jsonObject()).containsOnlyKeys("items").extractingByKey("items").asInstanceOf(LIST);
        return ((List<Map<String, Object>>) response.jsonObject().get("items")).stream()
                .filter(e -> accountId.equals(e.get("accountId"))).toList();
    }
}
