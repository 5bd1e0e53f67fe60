package groupmsg.e2e;

import com.sun.net.httpserver.HttpServer;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.createLine;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/** An account's own webhooks: its events POSTed, signed, to its endpoints (a receiver on localhost here). */
@ExtendWith(LocalRuntimeExtension.class)
class WebhooksE2eTest {
    /** What a receiver got: its path, the headers we sign and name, the body. */
    record Received(String path, String type, String eventId, String webhookId, String signature, String body) {}

    private HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    /** Per path, how many of its next requests answer 503 (then 204); a path starting /down always 500. */
    private final Map<String, AtomicInteger> failNext = new java.util.concurrent.ConcurrentHashMap<>();
    /** What a path starting /late-gone waits for before its 410 (a test lets it go once it has done what it must first). */
    private final java.util.concurrent.CountDownLatch lateGoneReleased = new java.util.concurrent.CountDownLatch(1);

    @BeforeEach
    void startReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = exchange.getRequestURI().getPath();
            var h = exchange.getRequestHeaders();
            received.add(new Received(path, h.getFirst("Groupmsg-Event-Type"), h.getFirst("Groupmsg-Event-Id"),
                    h.getFirst("Groupmsg-Webhook-Id"), h.getFirst("Groupmsg-Signature"), body));
            AtomicInteger failing = failNext.get(path);
            if (path.startsWith("/trickle") || path.startsWith("/slow")) {
                // trickle: headers at once, then a body that takes 8 s; slow: no answer for 8 s
                if (path.startsWith("/trickle")) {
                    exchange.sendResponseHeaders(200, 0);
                    exchange.getResponseBody().write('{');
                    exchange.getResponseBody().flush();
                }
                try {
                    Thread.sleep(8_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                exchange.close();
                return;
            }
            if (path.startsWith("/late-gone")) { // a 410 once the test lets it go (10 s at most)
                try {
                    lateGoneReleased.await(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            // /locked: 401 (a receiver deployed with the wrong secret) while failNext has some left, then taken
            int status = path.startsWith("/down") ? 500 : path.startsWith("/gone") || path.startsWith("/late-gone") ? 410
                    : path.startsWith("/refusing") ? 400
                    : failing != null && failing.getAndDecrement() > 0
                    ? (path.startsWith("/locked") ? 401 : path.startsWith("/busy") ? 429 : 503) : 204;
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    @AfterEach
    void stopReceiver() {
        server.stop(0);
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private List<Received> at(String path) {
        return received.stream().filter(r -> r.path().equals(path)).toList();
    }

    /** The event dispatched on a thread of its own: what it threw (null when it returned), once it is done. */
    private static java.util.concurrent.CompletableFuture<Throwable> dispatchedAside(
            groupmsg.integrations.WebhookDispatcher dispatcher, String event, String key) {
        var outcome = new java.util.concurrent.CompletableFuture<Throwable>();
        Thread.ofVirtual().start(() -> {
            try {
                dispatcher.dispatch(event, key);
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        return outcome;
    }

    private static Map<String, Object> createWebhook(ApiClient a, Map<String, Object> body) {
        var r = a.post("/v1/webhooks", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.jsonObject();
    }

    static String hmacHex(String secret, String text) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    @SuppressWarnings("unchecked")
    void anAccountsRepliesAndSentMessagesReachItsWebhooksSignedAndOnlyTheTypesEachTakes(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Hooked Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        var replies = createWebhook(a, Map.of("url", url("/replies"), "events", List.of("reply.received"), "description", "CRM"));
        var asksForGroupMessages = a.post("/v1/webhooks", Map.of("url", url("/all"),
                "events", List.of("reply.received", "group_message.sent")));
        assertThat(asksForGroupMessages.status()).as("group messages are not forwarded to integrations (API.md)").isEqualTo(400);
        assertThat(asksForGroupMessages.body()).contains("group_message.sent").contains("notifications");
        var asksForAcceptances = a.post("/v1/webhooks", Map.of("url", url("/all"), "events", List.of("group_message.accepted")));
        assertThat(asksForAcceptances.status()).isEqualTo(400);
        assertThat(asksForAcceptances.body()).contains("group_message.accepted").contains("notifications");
        var everything = createWebhook(a, Map.of("url", url("/all"), "events", List.of("reply.received", "opt_out.changed")));
        var byDefault = createWebhook(a, Map.of("url", url("/default")));
        assertThat((String) replies.get("id")).startsWith("whk_");
        assertThat((String) replies.get("secret")).startsWith("whsec_").hasSizeGreaterThan(40);
        assertThat(everything).containsEntry("events", List.of("reply.received", "opt_out.changed"));
        assertThat(byDefault).containsEntry("events", List.of("reply.received", "opt_out.changed"));
        ApiClient other = api.forNewAccount("Unhooked Co");
        String otherLine = linePhone();
        createLine(other, otherLine, "long_code", 50);

        text(a, "+14155550951", line, "Count me in");
        text(other, "+14155550952", otherLine, "Not theirs");
        var got = await(() -> at("/replies"), l -> !l.isEmpty(), 15_000);
        assertThat(got).hasSize(1);
        Received r = got.getFirst();
        String inboundId = (String) inbound(a, "?lineId=" + lineId).getFirst().get("id");
        assertThat(r.type()).isEqualTo("reply.received");
        assertThat(r.eventId()).isEqualTo("reply.received/" + inboundId);
        assertThat(r.webhookId()).isEqualTo(replies.get("id"));
        Map<String, Object> event = Json.parseObject(r.body());
        assertThat(event).containsEntry("type", "reply.received").containsEntry("accountId", accountId)
                .containsEntry("from", "+14155550951").containsEntry("body", "Count me in").containsEntry("inboundId", inboundId);
        // the signature: HMAC-SHA256 of "<t>.<body>" with the webhook's secret
        String t = r.signature().replaceFirst("^t=(\\d+),v1=.*$", "$1");
        assertThat(Long.parseLong(t)).isCloseTo(System.currentTimeMillis() / 1000, org.assertj.core.data.Offset.offset(60L));
        assertThat(r.signature()).isEqualTo("t=" + t + ",v1=" + hmacHex((String) replies.get("secret"), t + "." + r.body()));
        assertThat(r.signature()).doesNotContain(hmacHex((String) everything.get("secret"), t + "." + r.body()));

        // a group message's completion is a notification, not forwarded to any webhook: once it was published, a
        // later reply (the same account's, on the same worker's queue) reaches them, and nothing else did
        String g = createGroup(a, "Hook group");
        addMembers(a, g, 7100, 2);
        String messageId = (String) send(a, g, lineId, "Pantry opens at 9").get("id");
        assertThat(await(() -> a.withoutKey().get("/local/events?topic=notifications").body(), b -> b.contains(messageId), 20_000))
                .as("the completion published").contains(messageId);
        text(a, "+14155550951", line, "After the announcement");
        await(() -> at("/all"), l -> l.size() == 2, 15_000);
        assertThat(at("/all")).extracting(Received::type).containsExactly("reply.received", "reply.received");
        assertThat(await(() -> at("/replies"), l -> l.size() == 2, 15_000)).as("not another account's").hasSize(2);
        assertThat(await(() -> at("/default"), l -> l.size() == 2, 15_000)).as("a webhook created without events")
                .extracting(Received::type).containsExactly("reply.received", "reply.received");

        // listed without secrets, with when the last delivery went through
        var listed = (List<Map<String, Object>>) a.get("/v1/webhooks").jsonObject().get("items");
        assertThat(listed).extracting(w -> w.get("id")).containsExactly(replies.get("id"), everything.get("id"), byDefault.get("id"));
        assertThat(listed).allSatisfy(w -> assertThat(w).doesNotContainKey("secret").containsEntry("lastFailure", null));
        assertThat(a.get("/v1/webhooks/" + replies.get("id")).jsonObject()).containsEntry("description", "CRM")
                .containsEntry("url", url("/replies")).extractingByKey("lastDeliveredAt").isNotNull();
        assertThat((List<?>) other.get("/v1/webhooks").jsonObject().get("items")).isEmpty();
        assertThat(other.get("/v1/webhooks/" + replies.get("id")).status()).isEqualTo(404);

        // deleted: nothing more reaches it
        assertThat(a.delete("/v1/webhooks/" + replies.get("id")).status()).isEqualTo(204);
        assertThat(a.get("/v1/webhooks/" + replies.get("id")).status()).isEqualTo(404);
        assertThat(a.delete("/v1/webhooks/" + replies.get("id")).status()).isEqualTo(404);
        text(a, "+14155550951", line, "Still in");
        await(() -> at("/all"), l -> l.size() == 3, 15_000);
        assertThat(at("/all")).hasSize(3);
        assertThat(at("/replies")).hasSize(2);
    }

    @Test
    @SuppressWarnings("unchecked")
    void anEndpointThatFailsIsRetriedAndOneThatTookTheEventNeverGetsItTwice(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Flaky Hooks Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        failNext.put("/flaky", new AtomicInteger(2));
        var flaky = createWebhook(a, Map.of("url", url("/flaky"), "events", List.of("reply.received")));
        var good = createWebhook(a, Map.of("url", url("/good"), "events", List.of("reply.received")));
        var down = createWebhook(a, Map.of("url", url("/down"), "events", List.of("reply.received")));
        var gone = createWebhook(a, Map.of("url", url("/gone"), "events", List.of("reply.received")));
        failNext.put("/locked", new AtomicInteger(2));
        var locked = createWebhook(a, Map.of("url", url("/locked"), "events", List.of("reply.received")));

        // the worker as the queue gives it two events, twice (a redelivery after the first left one endpoint failing)
        List<Object> records = new ArrayList<>();
        for (String n : List.of("1", "2")) {
            String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                    "inboundId", "inb_01JDFLAKY000000000000000" + n, "from", "+14155550953", "body", "Hello " + n));
            records.add(Map.of("messageId", "m-" + n, "receiptHandle", "h-" + n, "body", event,
                    "attributes", Map.of("ApproximateReceiveCount", "1"), "messageAttributes", Map.of(),
                    "eventSource", "aws:sqs", "eventSourceARN", "arn:aws:sqs:us-east-1:000000000000:webhooks", "awsRegion", "us-east-1"));
        }
        String sqsEvent = Json.write(Map.of("Records", records));
        var worker = runtime.functions().get("webhook-worker");
        long started = System.nanoTime();
        assertThat(worker.invoke(sqsEvent)).as("the one always failing: both sent to the queue again, delayed, not failed")
                .isEqualTo("{\"batchItemFailures\":[]}");
        assertThat((System.nanoTime() - started) / 1_000_000).as("the two events side by side: about 4 s, not 8").isLessThan(7_500);
        assertThat(worker.invoke(sqsEvent)).isEqualTo("{\"batchItemFailures\":[]}");

        assertThat(at("/flaky")).as("503, 503, then taken, per event (the two side by side); not again on the redelivery")
                .hasSize(4).extracting(Received::eventId)
                .containsOnly("reply.received/inb_01JDFLAKY0000000000000001", "reply.received/inb_01JDFLAKY0000000000000002");
        assertThat(at("/good")).as("once per event").hasSize(2).extracting(Received::eventId).doesNotHaveDuplicates();

        assertThat(at("/down")).as("three tries per event, then paused: the redelivery a moment later does not call it")
                .hasSize(6);
        var shownDown = a.get("/v1/webhooks/" + down.get("id")).jsonObject();
        assertThat(shownDown).containsEntry("lastFailure", "HTTP 500").containsEntry("lastDeliveredAt", null);
        assertThat(shownDown.get("lastFailedAt")).isNotNull();
        assertThat(a.get("/v1/webhooks/" + flaky.get("id")).jsonObject()).extractingByKey("lastDeliveredAt").isNotNull();
        assertThat(at("/gone")).as("a 410 is given up at once: one try per event, none on the redelivery").hasSize(2);
        assertThat(a.get("/v1/webhooks/" + gone.get("id")).jsonObject()).containsEntry("lastFailure", "HTTP 410");
        assertThat(at("/locked")).as("a 401 is tried once a pass, not given up: the redelivery takes both events")
                .hasSize(4).extracting(Received::eventId).containsOnly("reply.received/inb_01JDFLAKY0000000000000001",
                        "reply.received/inb_01JDFLAKY0000000000000002");
        assertThat(a.get("/v1/webhooks/" + locked.get("id")).jsonObject()).extractingByKey("lastDeliveredAt").isNotNull();
        // with only the given-up endpoint left failing, an event is done: not sent to the queue again
        assertThat(a.delete("/v1/webhooks/" + down.get("id")).status()).isEqualTo(204);
        List<Resent> sentAgain = new CopyOnWriteArrayList<>();
        assertThat(recordingWorker(runtime, sentAgain).handleRequest(oneEvent("m-3", Json.write(Map.of("type", "reply.received",
                "accountId", accountId, "inboundId", "inb_01JDFLAKY0000000000000003")), 1, null, Map.of()), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(sentAgain).isEmpty();
        assertThat(at("/gone")).hasSize(3);
        assertThat(at("/good")).hasSize(3);
        assertThat(good).isNotNull();
    }

    /**
     * A 429 (the receiver asks for less) is not tried again within the pass: the event goes back to the queue for its
     * next pass, a minute on. Before, each event in flight was posted three times in 4 s.
     */
    @Test
    void anEndpointThatAsksForLessIsNotTriedAgainWithinThePass(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Busy Receiver Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        failNext.put("/busy", new AtomicInteger(3)); // 429, 429, 429, then taken
        var busy = createWebhook(a, Map.of("url", url("/busy"), "events", List.of("reply.received")));
        List<Resent> sentAgain = new CopyOnWriteArrayList<>();
        assertThat(recordingWorker(runtime, sentAgain).handleRequest(oneEvent("m-busy", Json.write(Map.of("type", "reply.received",
                "accountId", accountId, "inboundId", "inb_01JDBUSYRECEIVER0000000001")), 1, null, Map.of()), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(at("/busy")).as("one try this pass").hasSize(1);
        assertThat(sentAgain).as("back to the queue for its next pass").hasSize(1);
        assertThat(a.get("/v1/webhooks/" + busy.get("id")).jsonObject()).containsEntry("lastFailure", "HTTP 429");
    }

    /**
     * An event an endpoint did not take goes to the queue again as a new message, delayed, longer after each pass: 1
     * minute after the first, 15 after the third, 30 after the fourth (as two waits of SQS's 15 minutes at the most),
     * and after its last pass to the dead-letter queue. Nothing is held in flight. Before, the received message was kept
     * out of sight for up to 11 hours, and a busy account's endpoint down for a day filled SQS's 120,000 in flight,
     * after which no account's events reached their webhooks.
     */
    @Test
    void anEventAnEndpointDidNotTakeGoesBackToTheQueueDelayedLongerAfterEachPass(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Backing Off Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        createWebhook(a, Map.of("url", url("/down-backoff"), "events", List.of("reply.received")));
        List<Resent> sent = new CopyOnWriteArrayList<>();
        var worker = recordingWorker(runtime, sent);
        String queueUrl = runtime.queues().get("webhooks").url();
        String deadLetters = runtime.queues().get("webhooks").dlqUrl();
        int last = groupmsg.platform.schema.Queues.WEBHOOKS.maxReceiveCount();
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDBACKOFF000000000000000" + n, "from", "+14155550960", "body", "Hi"));

        // the first message, on its first receive and on its third (two faults of ours before)
        long publishedAt = System.currentTimeMillis();
        for (int receives : List.of(1, 3)) {
            long before = System.currentTimeMillis();
            assertThat(worker.handleRequest(oneEvent("m-" + receives, event.apply(receives), receives, publishedAt, Map.of()), null)
                    .getBatchItemFailures()).as("sent again: done with this message").isEmpty();
            Resent copy = sent.getLast();
            assertThat(copy.queueUrl()).isEqualTo(queueUrl);
            assertThat(copy.body()).isEqualTo(event.apply(receives));
            long delay = receives == 1 ? 60 : 900;
            assertThat(copy.delaySeconds()).isEqualTo((int) delay);
            assertThat(copy.attributes()).containsEntry("groupmsg-passes", String.valueOf(receives))
                    .containsEntry("groupmsg-published-at", String.valueOf(publishedAt))
                    .containsEntry("groupmsg-event-message-id", "m-" + receives);
            assertThat(Long.parseLong(copy.attributes().get("groupmsg-due-at")))
                    .isBetween(before + delay * 1000, System.currentTimeMillis() + delay * 1000);
        }
        assertThat(at("/down-backoff")).as("tried (then paused for a minute: the next passes fail without a try)")
                .isNotEmpty();

        // a copy after its fourth pass is due in 30 minutes: SQS delays it 15, then it waits again, not a pass
        long dueAt = System.currentTimeMillis() + 15 * 60_000L;
        assertThat(worker.handleRequest(oneEvent("c-4", event.apply(4), 1, System.currentTimeMillis(), Map.of(
                "groupmsg-passes", "4", "groupmsg-due-at", String.valueOf(dueAt),
                "groupmsg-published-at", String.valueOf(publishedAt), "groupmsg-event-message-id", "m-4")), null)
                .getBatchItemFailures()).isEmpty();
        Resent waiting = sent.getLast();
        assertThat(waiting.delaySeconds()).as("what is left of its wait").isBetween(898, 900);
        assertThat(waiting.attributes()).as("the same pass, due when it was").containsEntry("groupmsg-passes", "4")
                .containsEntry("groupmsg-due-at", String.valueOf(dueAt))
                .containsEntry("groupmsg-published-at", String.valueOf(publishedAt))
                .containsEntry("groupmsg-event-message-id", "m-4");

        // due now: its fifth pass, and the next is an hour later (15 minutes, then waits)
        long before = System.currentTimeMillis();
        assertThat(worker.handleRequest(oneEvent("c-5", event.apply(5), 1, System.currentTimeMillis(), Map.of(
                "groupmsg-passes", "4", "groupmsg-due-at", String.valueOf(before - 100),
                "groupmsg-published-at", String.valueOf(publishedAt), "groupmsg-event-message-id", "m-5")), null)
                .getBatchItemFailures()).isEmpty();
        Resent fifth = sent.getLast();
        assertThat(fifth.delaySeconds()).isEqualTo(900);
        assertThat(fifth.attributes()).containsEntry("groupmsg-passes", "5");
        assertThat(Long.parseLong(fifth.attributes().get("groupmsg-due-at"))).isGreaterThanOrEqualTo(before + 3_600_000L);

        // its last pass goes to the dead-letter queue, its passes not carried (moved back, it starts anew), nor when it
        // was published first: moved back, it goes to the webhooks there are then (one enabled again since among them)
        assertThat(worker.handleRequest(oneEvent("c-last", event.apply(6), 1, System.currentTimeMillis(), Map.of(
                "groupmsg-passes", String.valueOf(last - 1), "groupmsg-published-at", String.valueOf(publishedAt),
                "groupmsg-event-message-id", "m-6")), null).getBatchItemFailures()).isEmpty();
        Resent dead = sent.getLast();
        assertThat(dead.queueUrl()).isEqualTo(deadLetters);
        assertThat(dead.delaySeconds()).isZero();
        assertThat(dead.attributes()).containsOnlyKeys("groupmsg-event-message-id")
                .containsEntry("groupmsg-event-message-id", "m-6");
        var inDeadLetters = runtime.wiring().sqs().receiveMessage(r -> r.queueUrl(deadLetters).maxNumberOfMessages(10)
                .messageAttributeNames("All")).messages();
        assertThat(inDeadLetters).as("in the dead-letter queue").anySatisfy(m -> assertThat(m.body()).isEqualTo(event.apply(6)));

        // a copy due later than any pass's wait (a clock far off set it) is due now: a pass, not a wait every 15
        // minutes for good
        assertThat(worker.handleRequest(oneEvent("c-far", event.apply(7), 1, System.currentTimeMillis(), Map.of(
                "groupmsg-passes", "2", "groupmsg-due-at", String.valueOf(System.currentTimeMillis() + 2 * 86_400_000L))), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(sent.getLast().attributes()).as("its third pass made").containsEntry("groupmsg-passes", "3");

        // with too little of the invocation left to send a copy (one the function's end could cut off after it was
        // made would leave two), the message fails instead: back after the queue's 3 minutes, nothing sent
        int sentSoFar = sent.size();
        var nearlyOut = (com.amazonaws.services.lambda.runtime.Context) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[]{com.amazonaws.services.lambda.runtime.Context.class},
                (proxy, method, args) -> "getRemainingTimeInMillis".equals(method.getName()) ? 3_000 : null);
        assertThat(worker.handleRequest(oneEvent("c-late", event.apply(8), 1, System.currentTimeMillis(), Map.of()), nearlyOut)
                .getBatchItemFailures()).singleElement().satisfies(f -> assertThat(f.getItemIdentifier()).isEqualTo("c-late"));
        assertThat(sent).hasSize(sentSoFar);

        // an endpoint that answers an event as it would again (a 400 for it, while it takes the others, so it is never
        // disabled) is tried on every pass, and given up on the last one rather than the event going to the DLQ
        ApiClient b = api.forNewAccount("Refusing One Co");
        String otherAccount = (String) b.get("/v1/account").jsonObject().get("id");
        String refusing = (String) createWebhook(b, Map.of("url", url("/refusing"), "events", List.of("reply.received"))).get("id");
        String refused = Json.write(Map.of("type", "reply.received", "accountId", otherAccount,
                "inboundId", "inb_01JDREFUSED00000000000000", "from", "+14155550961", "body", "Hi"));
        int sentBefore = sent.size();
        for (int made : List.of(last - 2, last - 1)) {
            assertThat(worker.handleRequest(oneEvent("r-" + made, refused, 1, publishedAt,
                    Map.of("groupmsg-passes", String.valueOf(made))), null).getBatchItemFailures()).isEmpty();
        }
        assertThat(sent.subList(sentBefore, sent.size())).as("sent again after the pass before the last only")
                .singleElement().satisfies(r -> assertThat(r.queueUrl()).isEqualTo(queueUrl));
        assertThat(at("/refusing")).as("one try a pass").hasSize(2);
        assertThat(b.get("/v1/webhooks/" + refusing).jsonObject()).containsEntry("lastFailure", "HTTP 400")
                .containsEntry("enabled", true);
    }

    /**
     * The webhooks queue holds no event an endpoint failed in flight: through the runtime's own queue and worker, a
     * reply's event that its endpoint refuses leaves the queue at once, delayed for its next pass.
     */
    @Test
    void aFailingEndpointsEventIsNotHeldInFlight(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Not In Flight Co");
        String line = linePhone();
        createLine(a, line, "long_code", 50);
        createWebhook(a, Map.of("url", url("/down-in-flight"), "events", List.of("reply.received")));
        text(a, "+14155550971", line, "Anyone there?");
        await(() -> at("/down-in-flight"), l -> l.size() >= 3, 30_000);
        String queueUrl = runtime.queues().get("webhooks").url();
        var sqs = runtime.wiring().sqs();
        java.util.function.Supplier<Map<software.amazon.awssdk.services.sqs.model.QueueAttributeName, String>> counts =
                () -> sqs.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(
                        software.amazon.awssdk.services.sqs.model.QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                        software.amazon.awssdk.services.sqs.model.QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED))
                        .attributes();
        await(counts::get, c -> c.get(software.amazon.awssdk.services.sqs.model.QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)
                .equals("0"), 15_000);
        assertThat(Integer.parseInt(counts.get().get(
                software.amazon.awssdk.services.sqs.model.QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)))
                .as("its copy waits for its next pass").isPositive();
        assertThat(at("/down-in-flight")).as("three tries, then it waits").hasSize(3);
    }

    /**
     * A copy of an event keeps what names it: an event that names neither a message nor a reply is known by its
     * first message's id, so an endpoint that took it is not sent the copy, and the others get it under the same id.
     */
    @Test
    void aCopyOfAnEventIsTheSameEventToTheEndpoints(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Same Event Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        createWebhook(a, Map.of("url", url("/took-it"), "events", List.of("reply.received")));
        // a 401 on the first pass (one try, and no pause: the copy's pass tries it at once), then taken
        failNext.put("/locked-then-took-it", new AtomicInteger(1));
        createWebhook(a, Map.of("url", url("/locked-then-took-it"), "events", List.of("reply.received")));
        List<Resent> sent = new CopyOnWriteArrayList<>();
        var worker = recordingWorker(runtime, sent);
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId, "body", "No id"));
        assertThat(worker.handleRequest(oneEvent("first-message", event, 1, System.currentTimeMillis(), Map.of()), null)
                .getBatchItemFailures()).isEmpty();
        Resent copy = sent.getLast();
        assertThat(copy.attributes()).containsEntry("groupmsg-event-message-id", "first-message");
        // the copy, due, comes as a message of its own
        var attributes = new java.util.HashMap<>(copy.attributes());
        attributes.put("groupmsg-due-at", String.valueOf(System.currentTimeMillis()));
        assertThat(worker.handleRequest(oneEvent("copy-message", event, 1, System.currentTimeMillis(), attributes), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(at("/took-it")).as("taken once").singleElement()
                .satisfies(r -> assertThat(r.eventId()).isEqualTo("reply.received/first-message"));
        assertThat(at("/locked-then-took-it")).as("refused, then taken from the copy").hasSize(2)
                .extracting(Received::eventId).containsOnly("reply.received/first-message");
    }

    /** A message a worker sent to a queue: where, delayed how long, carrying what. */
    private record Resent(String queueUrl, int delaySeconds, Map<String, String> attributes, String body) {}

    /** A webhook worker of the runtime's that records each message it sends to a queue. */
    private static groupmsg.integrations.WebhookWorkerHandler recordingWorker(LocalRuntime runtime, List<Resent> sent) {
        return new groupmsg.integrations.WebhookWorkerHandler(runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes executionAttributes) {
                if (context.request() instanceof software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest r) {
                    for (var e : r.entries()) {
                        var attributes = new java.util.TreeMap<String, String>();
                        e.messageAttributes().forEach((name, value) -> attributes.put(name, value.stringValue()));
                        sent.add(new Resent(r.queueUrl(), e.delaySeconds() == null ? 0 : e.delaySeconds(), attributes,
                                e.messageBody()));
                    }
                }
            }
        }));
    }

    /**
     * An SQS event of one record as the webhooks queue hands it to its worker, received {@code receives} times, sent at
     * {@code sentAt} (null: not said), carrying these message attributes.
     */
    private static com.amazonaws.services.lambda.runtime.events.SQSEvent oneEvent(String messageId, String body, int receives,
                                                                                 Long sentAt, Map<String, String> carried) {
        var record = new com.amazonaws.services.lambda.runtime.events.SQSEvent.SQSMessage();
        record.setMessageId(messageId);
        record.setReceiptHandle("h-" + messageId);
        record.setBody(body);
        var attributes = new java.util.HashMap<String, String>();
        attributes.put("ApproximateReceiveCount", String.valueOf(receives));
        if (sentAt != null) attributes.put("SentTimestamp", String.valueOf(sentAt));
        record.setAttributes(attributes);
        var messageAttributes = new java.util.HashMap<String, com.amazonaws.services.lambda.runtime.events.SQSEvent.MessageAttribute>();
        carried.forEach((name, value) -> {
            var attribute = new com.amazonaws.services.lambda.runtime.events.SQSEvent.MessageAttribute();
            attribute.setDataType("String");
            attribute.setStringValue(value);
            messageAttributes.put(name, attribute);
        });
        record.setMessageAttributes(messageAttributes);
        var event = new com.amazonaws.services.lambda.runtime.events.SQSEvent();
        event.setRecords(List.of(record));
        return event;
    }

    /** The v1 signatures of a delivery, in the order the header gives them. */
    private static List<String> v1s(Received r) {
        return java.util.Arrays.stream(r.signature().split(",")).filter(p -> p.startsWith("v1=")).map(p -> p.substring(3)).toList();
    }

    private static String timestamp(Received r) {
        return r.signature().replaceFirst("^t=(\\d+),.*$", "$1");
    }

    @Test
    void aRotatedSecretSignsBesideTheOldOneUntilTheOldOneExpires(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Rotating Hooks Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var hook = createWebhook(a, Map.of("url", url("/rotating"), "events", List.of("reply.received")));
        String id = (String) hook.get("id");
        String first = (String) hook.get("secret");

        var rotated = a.withHeader("Idempotency-Key", "rotate-1").send("POST", "/v1/webhooks/" + id + "/rotate-secret", "application/json", "");
        assertThat(rotated.status()).as(rotated.body()).isEqualTo(200);
        String second = (String) rotated.jsonObject().get("secret");
        assertThat(second).startsWith("whsec_").isNotEqualTo(first);
        long expires = java.time.Instant.parse((String) rotated.jsonObject().get("previousSecretExpiresAt")).toEpochMilli();
        assertThat(expires - System.currentTimeMillis()).isBetween(23 * 3_600_000L, 24 * 3_600_000L);
        var replay = a.withHeader("Idempotency-Key", "rotate-1").send("POST", "/v1/webhooks/" + id + "/rotate-secret", "application/json", "");
        assertThat(replay.jsonObject()).as("a retry is the same rotation").containsEntry("secret", second);
        var otherAdmin = a.withKey((String) a.post("/v1/api-keys", Map.of("name", "second admin", "role", "admin"))
                .jsonObject().get("key"));
        var fromAnother = otherAdmin.withHeader("Idempotency-Key", "rotate-1")
                .send("POST", "/v1/webhooks/" + id + "/rotate-secret", "application/json", "");
        assertThat(fromAnother.status()).as("another key's same Idempotency-Key").isEqualTo(409);
        assertThat(fromAnother.body()).doesNotContain(second);
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).doesNotContainKey("secret")
                .containsEntry("previousSecretExpiresAt", rotated.jsonObject().get("previousSecretExpiresAt"));

        assertThat(a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject()).containsEntry("delivered", true);
        Received both = at("/rotating").getLast();
        String t = timestamp(both);
        assertThat(v1s(both)).as("the new secret's first, then the old one's")
                .containsExactly(hmacHex(second, t + "." + both.body()), hmacHex(first, t + "." + both.body()));

        // a day later the old one has expired: the next event is signed with the new one only, and the old one is
        // no longer kept
        var dayLater = new groupmsg.integrations.WebhookDispatcher(runtime.wiring().withClock(
                java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(25))));
        dayLater.dispatch(Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDROTATED0000000000000001", "from", "+14155550956", "body", "Later")), "r1");
        Received later = at("/rotating").getLast();
        assertThat(v1s(later)).containsExactly(hmacHex(second, timestamp(later) + "." + later.body()));
        var stored = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                .key(groupmsg.platform.dynamo.Attr.key("ACCT#" + accountId, "WEBHOOK#" + id)).consistentRead(true)).item();
        assertThat(stored).containsKey("secret").doesNotContainKey("previousSecret").doesNotContainKey("previousSecretExpiresAt");
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).containsEntry("previousSecretExpiresAt", null);

        // rotated again with the old one dropped at once: only the newest signs (the first is long gone)
        var third = a.post("/v1/webhooks/" + id + "/rotate-secret", Map.of("previousSecretExpiresInHours", 0));
        assertThat(third.status()).as(third.body()).isEqualTo(200);
        assertThat(third.jsonObject()).containsEntry("previousSecretExpiresAt", null);
        String newest = (String) third.jsonObject().get("secret");
        assertThat(a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject()).containsEntry("delivered", true);
        Received only = at("/rotating").getLast();
        assertThat(v1s(only)).containsExactly(hmacHex(newest, timestamp(only) + "." + only.body()));

        for (Map<String, Object> bad : List.of(Map.<String, Object>of("previousSecretExpiresInHours", 169),
                Map.<String, Object>of("previousSecretExpiresInHours", -1), Map.<String, Object>of("secret", "whsec_mine"))) {
            var r = a.post("/v1/webhooks/" + id + "/rotate-secret", bad);
            assertThat(r.status()).as(bad + ": " + r.body()).isEqualTo(400);
        }
        assertThat(api.forNewAccount("Not Theirs Co").post("/v1/webhooks/" + id + "/rotate-secret", Map.of()).status()).isEqualTo(404);
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("secret", "whsec_mine")).status()).isEqualTo(400);
        assertThat(a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject()).containsEntry("delivered", true);
        Received after = at("/rotating").getLast();
        assertThat(v1s(after)).as("the refused requests changed nothing")
                .containsExactly(hmacHex(newest, timestamp(after) + "." + after.body()));
    }

    /**
     * A rotation committed whose answer was not remembered (a fault after the write): its retry under the same
     * Idempotency-Key answers that rotation. Before, it rotated again, and the secret every receiver still held
     * stopped signing at once.
     */
    @Test
    void aRotationWhoseAnswerWasLostIsTheAnswerToItsRetryNotASecondRotation(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Rotate Fault Co");
        var hook = createWebhook(a, Map.of("url", url("/rotate-fault"), "events", List.of("reply.received")));
        String id = (String) hook.get("id");
        String first = (String) hook.get("secret");
        var handler = new groupmsg.accounts.AdminApiHandler(
                IdempotentRetriesE2eTest.failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));

        assertThat(IdempotentRetriesE2eTest.call(handler, a, "POST /v1/webhooks/{id}/rotate-secret",
                "/v1/webhooks/" + id + "/rotate-secret", Map.of("id", id), Map.of(), "rotate-fault-1").getStatusCode())
                .isEqualTo(500);
        var retry = a.withHeader("Idempotency-Key", "rotate-fault-1").post("/v1/webhooks/" + id + "/rotate-secret", Map.of());
        assertThat(retry.status()).as(retry.body()).isEqualTo(200);
        String second = (String) retry.jsonObject().get("secret");
        assertThat(second).startsWith("whsec_").isNotEqualTo(first);

        assertThat(a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject()).containsEntry("delivered", true);
        Received signed = at("/rotate-fault").getLast();
        String t = timestamp(signed);
        assertThat(v1s(signed)).as("one rotation: the new secret, and the one receivers hold")
                .containsExactly(hmacHex(second, t + "." + signed.body()), hmacHex(first, t + "." + signed.body()));

        // another request (another key) is another rotation
        var next = a.withHeader("Idempotency-Key", "rotate-fault-2").post("/v1/webhooks/" + id + "/rotate-secret", Map.of());
        assertThat(next.status()).isEqualTo(200);
        assertThat(next.jsonObject().get("secret")).isNotEqualTo(second);
    }

    /** A failure after a day without deliveries starts a new stretch: one failure after a quiet spell disables nothing. */
    @Test
    void aFailureAfterAQuietSpellStartsANewStretchInsteadOfDisablingTheWebhook(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Quiet Hooks Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var rare = createWebhook(a, Map.of("url", url("/down-rarely"), "events", List.of("reply.received")));
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDQUIET000000000000000000" + n, "from", "+14155550955", "body", "Hi " + n));
        java.util.function.LongFunction<groupmsg.integrations.WebhookDispatcher> at = offsetMillis ->
                new groupmsg.integrations.WebhookDispatcher(runtime.wiring().withClock(
                        java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofMillis(offsetMillis))));
        long day = 86_400_000L;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> at.apply(0).dispatch(event.apply(1), "q1"))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        String firstStretch = (String) a.get("/v1/webhooks/" + rare.get("id")).jsonObject().get("failingSince");
        assertThat(firstStretch).isNotNull();
        // four days later, its next event fails too: a new stretch, not a disabled webhook
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> at.apply(4 * day).dispatch(event.apply(2), "q2"))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        var after = a.get("/v1/webhooks/" + rare.get("id")).jsonObject();
        assertThat(after).containsEntry("enabled", true).containsEntry("disabledAt", null);
        assertThat(java.time.Instant.parse((String) after.get("failingSince")))
                .isAfter(java.time.Instant.parse(firstStretch).plusMillis(3 * day));
    }

    @Test
    void aWebhookDeletedBetweenTriesGetsNoMoreAndOneMovedGetsTheNextTryAtItsNewUrl(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Moving Hooks Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var deleted = createWebhook(a, Map.of("url", url("/down-then-deleted"), "events", List.of("reply.received")));
        var moved = createWebhook(a, Map.of("url", url("/down-then-moved"), "events", List.of("reply.received")));
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDMOVING0000000000000000", "from", "+14155550958", "body", "Hello"));
        var dispatcher = new groupmsg.integrations.WebhookDispatcher(runtime.wiring());
        var outcome = dispatchedAside(dispatcher, event, "m1");
        // both failed their first try; the next comes a second later
        await(() -> at("/down-then-deleted").size() + at("/down-then-moved").size(), n -> n == 2, 5_000);
        assertThat(a.delete("/v1/webhooks/" + deleted.get("id")).status()).isEqualTo(204);
        assertThat(a.patch("/v1/webhooks/" + moved.get("id"), Map.of("url", url("/moved-here"))).status()).isEqualTo(200);

        assertThat(outcome.get(15, java.util.concurrent.TimeUnit.SECONDS)).as("nothing left to retry").isNull();
        assertThat(at("/down-then-deleted")).as("deleted: no more tries").hasSize(1);
        assertThat(at("/down-then-moved")).as("moved: the next try went to the new URL").hasSize(1);
        assertThat(at("/moved-here")).singleElement().satisfies(r -> assertThat(r.eventId())
                .isEqualTo("reply.received/inb_01JDMOVING0000000000000000"));
        assertThat(a.get("/v1/webhooks/" + moved.get("id")).jsonObject()).containsEntry("failingSince", null);
    }

    /**
     * An endpoint that does not answer in time may still be working on the event and take it: it is not tried again
     * at once (before, three tries a pass made a receiver that answers late get each event up to 30 times).
     */
    @Test
    void anEndpointThatDoesNotAnswerInTimeIsLeftToTheQueuesNextPass(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Late Answer Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var hook = createWebhook(a, Map.of("url", url("/slow-receiver"), "events", List.of("reply.received")));
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDSLOWRECEIVER00000000000", "from", "+14155550958", "body", "Hello"));
        var dispatcher = new groupmsg.integrations.WebhookDispatcher(runtime.wiring(),
                new groupmsg.integrations.WebhookTargets(true), java.time.Duration.ofSeconds(2));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> dispatcher.dispatch(event, "m1"))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        assertThat(at("/slow-receiver")).as("one try this pass").hasSize(1);
        assertThat(a.get("/v1/webhooks/" + hook.get("id")).jsonObject()).containsEntry("lastFailure", "no answer within 2 s");
    }

    /**
     * An account sends at most 10 tests a minute, of all its webhooks: each answer says how a connection to the URL went,
     * and an admin key changing the URL and testing again and again could map a public host's open ports. The 11th
     * is a 429 that says when to retry, and nothing is sent; the next minute takes tests again, and other accounts
     * are not held back.
     */
    @Test
    void anAccountSendsAtMostTenTestsAMinute(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Many Tests Co");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) ids.add((String) createWebhook(a, Map.of("url", url("/tests-" + i))).get("id"));
        long minute = (System.currentTimeMillis() / 60_000 + 10) * 60_000; // a minute of its own, 10 on
        var inTheMinute = runtime.wiring().withClock(java.time.Clock.fixed(java.time.Instant.ofEpochMilli(minute + 45_500),
                java.time.ZoneOffset.UTC));
        var handler = new groupmsg.accounts.AdminApiHandler(inTheMinute);
        for (int i = 0; i < 10; i++) {
            var r = IdempotentRetriesE2eTest.call(handler, a, "POST /v1/webhooks/{id}/test", "/v1/webhooks/" + ids.get(i % 2)
                    + "/test", Map.of("id", ids.get(i % 2)), Map.of(), "test-" + i);
            assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(200);
        }
        assertThat(at("/tests-0").size() + at("/tests-1").size()).isEqualTo(10);
        var refused = IdempotentRetriesE2eTest.call(handler, a, "POST /v1/webhooks/{id}/test", "/v1/webhooks/" + ids.get(0)
                + "/test", Map.of("id", ids.get(0)), Map.of(), "test-10");
        assertThat(refused.getStatusCode()).as(refused.getBody()).isEqualTo(429);
        assertThat(Json.parseObject(refused.getBody())).extractingByKey("error").asString().contains("rate_limited")
                .contains("retry in 15 s");
        assertThat(refused.getHeaders()).containsEntry("retry-after", "15");
        assertThat(at("/tests-0").size() + at("/tests-1").size()).as("nothing sent").isEqualTo(10);
        // the next minute takes tests again
        var nextMinute = new groupmsg.accounts.AdminApiHandler(runtime.wiring().withClock(java.time.Clock.fixed(
                java.time.Instant.ofEpochMilli(minute + 60_000), java.time.ZoneOffset.UTC)));
        assertThat(IdempotentRetriesE2eTest.call(nextMinute, a, "POST /v1/webhooks/{id}/test", "/v1/webhooks/" + ids.get(0)
                + "/test", Map.of("id", ids.get(0)), Map.of(), "test-11").getStatusCode()).isEqualTo(200);
        // another account's tests are its own
        ApiClient b = api.forNewAccount("Other Tests Co");
        String other = (String) createWebhook(b, Map.of("url", url("/tests-other"))).get("id");
        assertThat(IdempotentRetriesE2eTest.call(handler, b, "POST /v1/webhooks/{id}/test", "/v1/webhooks/" + other + "/test",
                Map.of("id", other), Map.of(), "test-b").getStatusCode()).isEqualTo(200);
    }

    @Test
    @SuppressWarnings("unchecked")
    void theWebhooksListPagesAndATestThatFailsStartsNoFailingStretch(ApiClient api) {
        ApiClient a = api.forNewAccount("Listed Hooks Co");
        List<Object> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) ids.add(createWebhook(a, Map.of("url", url("/down-listed-" + i))).get("id"));

        var first = a.get("/v1/webhooks?limit=2").jsonObject();
        assertThat((List<Map<String, Object>>) first.get("items")).extracting(w -> w.get("id")).containsExactly(ids.get(0), ids.get(1));
        assertThat(first.get("nextCursor")).isNotNull();
        var second = a.get("/v1/webhooks?limit=2&cursor=" + first.get("nextCursor")).jsonObject();
        assertThat((List<Map<String, Object>>) second.get("items")).extracting(w -> w.get("id")).containsExactly(ids.get(2));
        assertThat(second.get("nextCursor")).isNull();
        assertThat(api.forNewAccount("Other Listed Co").get("/v1/webhooks?cursor=" + first.get("nextCursor")).status())
                .as("another account's cursor").isEqualTo(400);
        createGroup(a, "Not a webhook");
        createGroup(a, "Nor this");
        Object groupsCursor = a.get("/v1/groups?limit=1").jsonObject().get("nextCursor");
        assertThat(groupsCursor).isNotNull();
        var groupsCursorHere = a.get("/v1/webhooks?cursor=" + groupsCursor);
        assertThat(groupsCursorHere.status()).as("the groups list's cursor: %s", groupsCursorHere.body()).isEqualTo(400);
        for (String bad : List.of("?limit=0", "?limit=abc", "?limit=101", "?lineId=x")) {
            assertThat(a.get("/v1/webhooks" + bad).status()).as(bad).isEqualTo(400);
        }

        // a receiver being built: its failed tests are shown, but only deliveries count toward disabling it
        var tested = a.post("/v1/webhooks/" + ids.get(0) + "/test", Map.of());
        assertThat(tested.jsonObject()).containsEntry("delivered", false).containsEntry("failure", "HTTP 500");
        assertThat(a.get("/v1/webhooks/" + ids.get(0)).jsonObject()).containsEntry("lastFailure", "HTTP 500")
                .containsEntry("failingSince", null).containsEntry("enabled", true).extractingByKey("lastFailedAt").isNotNull();
    }

    /** A receiver that refuses a test but takes events gets the next event at once: a failed test pauses nothing. */
    @Test
    void aFailedTestDoesNotHoldBackTheNextEvent(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Tested Then Sent Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String id = (String) createWebhook(a, Map.of("url", url("/refuses-tests"), "events", List.of("reply.received"))).get("id");
        failNext.put("/refuses-tests", new AtomicInteger(1));
        assertThat(a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject()).containsEntry("failure", "HTTP 503");

        new groupmsg.integrations.WebhookDispatcher(runtime.wiring()).dispatch(Json.write(Map.of("type", "reply.received",
                "accountId", accountId, "inboundId", "inb_01JDTESTED000000000000001", "from", "+14155550958", "body", "Hi")), "t1");
        assertThat(at("/refuses-tests")).extracting(Received::type).containsExactly("webhook.test", "reply.received");
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).extractingByKey("lastDeliveredAt").isNotNull();
    }

    /**
     * A delivery to the old url that fails after the webhook was given a new one is not recorded on it: the new
     * address starts with a clean slate (not paused, no stretch of failures begun by the old one).
     */
    @Test
    void aFailureAtTheOldUrlAfterTheWebhookMovedIsNotRecordedOnIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Moved Mid Try Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String id = (String) createWebhook(a, Map.of("url", url("/slow-old-address"), "events", List.of("reply.received"))).get("id");
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDMOVEDMIDTRY00000000000", "from", "+14155550958", "body", "Hello"));
        var dispatcher = new groupmsg.integrations.WebhookDispatcher(runtime.wiring(),
                new groupmsg.integrations.WebhookTargets(true), java.time.Duration.ofSeconds(5)); // the PATCH below lands within the 5 s
        var outcome = dispatchedAside(dispatcher, event, "m1");
        await(() -> at("/slow-old-address").size(), n -> n == 1, 5_000);
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("url", url("/new-address"))).status()).isEqualTo(200);
        assertThat(outcome.get(10, java.util.concurrent.TimeUnit.SECONDS))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).containsEntry("url", url("/new-address"))
                .containsEntry("lastFailure", null).containsEntry("lastFailedAt", null).containsEntry("failingSince", null);

        // the old address's final answer (a 410) is not the new one's: the event is not given up for the webhook,
        // and its retry goes to the new address
        String moving = (String) createWebhook(a, Map.of("url", url("/late-gone-old"), "events", List.of("reply.received"))).get("id");
        String another = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDMOVEDFINAL0000000000000", "from", "+14155550958", "body", "Hello again"));
        var second = dispatchedAside(dispatcher, another, "m2");
        await(() -> at("/late-gone-old").size(), n -> n == 1, 5_000);
        assertThat(a.patch("/v1/webhooks/" + moving, Map.of("url", url("/new-home"))).status()).isEqualTo(200);
        lateGoneReleased.countDown();
        assertThat(second.get(10, java.util.concurrent.TimeUnit.SECONDS))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        dispatcher.dispatch(another, "m2"); // the queue's retry
        assertThat(at("/new-home")).singleElement().satisfies(r -> assertThat(r.eventId())
                .isEqualTo("reply.received/inb_01JDMOVEDFINAL0000000000000"));
    }

    /**
     * An event goes to the webhooks that took events when it was published (its queue's SentTimestamp): not to one
     * created after it, nor to one disabled then (enabled again since), when its retry comes. Before, a retry brought
     * it to them.
     */
    @Test
    void anEventIsNotDeliveredToAWebhookCreatedOrEnabledAgainAfterItWasPublished(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Later Hooks Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String before = (String) createWebhook(a, Map.of("url", url("/before-it"), "events", List.of("reply.received"))).get("id");
        String toggled = (String) createWebhook(a, Map.of("url", url("/disabled-then"), "events", List.of("reply.received"))).get("id");
        // both made a minute ago; the event reached the queue 20 s ago, while the second was disabled (the 5 s the
        // clocks may be apart are well passed)
        long now = System.currentTimeMillis();
        var w = runtime.wiring();
        for (String id : List.of(before, toggled)) {
            w.dynamo().updateItem(b -> b.tableName(w.config().table(groupmsg.platform.schema.Tables.CORE))
                    .key(groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId), "WEBHOOK#" + id))
                    .updateExpression("SET createdAt = :made").expressionAttributeValues(Map.of(":made",
                            software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN(String.valueOf(now - 60_000)))));
        }
        long publishedAt = now - 20_000;
        assertThat(a.patch("/v1/webhooks/" + toggled, Map.of("enabled", false)).status()).isEqualTo(200);
        assertThat(a.patch("/v1/webhooks/" + toggled, Map.of("enabled", true)).jsonObject()).containsEntry("enabled", true);
        createWebhook(a, Map.of("url", url("/after-it"), "events", List.of("reply.received")));

        java.util.function.BiFunction<String, Long, com.amazonaws.services.lambda.runtime.events.SQSEvent> eventAt = (inboundId, sent) -> {
            var message = new com.amazonaws.services.lambda.runtime.events.SQSEvent.SQSMessage();
            message.setMessageId("m-" + inboundId);
            message.setBody(Json.write(Map.of("type", "reply.received", "accountId", accountId, "inboundId", inboundId,
                    "from", "+14155550958", "body", "Hello")));
            message.setAttributes(Map.of("SentTimestamp", String.valueOf(sent)));
            var event = new com.amazonaws.services.lambda.runtime.events.SQSEvent();
            event.setRecords(List.of(message));
            return event;
        };
        var worker = new groupmsg.integrations.WebhookWorkerHandler(runtime.wiring());
        assertThat(worker.handleRequest(eventAt.apply("inb_01JDPUBLISHEDBEFORE000000000", publishedAt), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(at("/before-it")).hasSize(1);
        assertThat(at("/disabled-then")).as("disabled when it was published").isEmpty();
        assertThat(at("/after-it")).as("created after it was published").isEmpty();

        assertThat(worker.handleRequest(eventAt.apply("inb_01JDPUBLISHEDAFTER0000000000", System.currentTimeMillis()), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(at("/before-it")).hasSize(2);
        assertThat(at("/disabled-then")).hasSize(1);
        assertThat(at("/after-it")).hasSize(1);
    }

    /** A webhook of {@code a} at {@code path} (a 410) that events failed daily for three days: the next disables it. */
    private record FailingHook(String id, String accountId, java.util.function.IntFunction<String> event,
                               java.util.function.LongFunction<groupmsg.platform.config.Wiring> at) {
        static final long DAY = 86_400_000L;
    }

    private FailingHook failingForThreeDays(ApiClient a, LocalRuntime runtime, String path, String inboundPrefix) {
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String id = (String) createWebhook(a, Map.of("url", url(path), "events", List.of("reply.received"))).get("id");
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", inboundPrefix + n, "from", "+14155550959", "body", "Hi " + n));
        java.util.function.LongFunction<groupmsg.platform.config.Wiring> at = movedOn(runtime);
        for (int n = 0; n < 3; n++) new groupmsg.integrations.WebhookDispatcher(at.apply(n * FailingHook.DAY)).dispatch(event.apply(n), "f" + n);
        return new FailingHook(id, accountId, event, at);
    }

    /** The runtime's wiring with its clock moved on by the given milliseconds (a webhook's days of failures). */
    private static java.util.function.LongFunction<groupmsg.platform.config.Wiring> movedOn(LocalRuntime runtime) {
        return offsetMillis -> runtime.wiring().withClock(
                java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofMillis(offsetMillis)));
    }

    /** The webhook.disabled events told of this webhook on the notifications topic. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> toldDisabled(ApiClient a, String webhookId) {
        return ((List<Map<String, Object>>) a.withoutKey().get("/local/events?topic=notifications").jsonObject().get("items"))
                .stream().filter(e -> "webhook.disabled".equals(e.get("type")) && webhookId.equals(e.get("webhookId"))).toList();
    }

    /**
     * The account is told a webhook was disabled also when the first publish failed: the account's next event tells
     * it, once. Before, the publish was tried once, by the run that disabled it.
     */
    @Test
    void aWebhookDisabledWhenTheTopicRefusedItsNoticeIsToldByTheNextEvent(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Untold Disable Co");
        var hook = failingForThreeDays(a, runtime, "/gone-untold", "inb_01JDUNTOLD0000000000000000");
        var real = runtime.wiring().events();
        var refusing = hook.at().apply(3 * FailingHook.DAY + 60_000).withEvents((topic, account, type, body) -> {
            if (type.equals("webhook.disabled")) throw new IllegalStateException("the topic refused it (test)");
            real.publish(topic, account, type, body);
        });
        new groupmsg.integrations.WebhookDispatcher(refusing).dispatch(hook.event().apply(3), "u3");
        assertThat(a.get("/v1/webhooks/" + hook.id()).jsonObject()).containsEntry("enabled", false);
        assertThat(toldDisabled(a, hook.id())).isEmpty();

        new groupmsg.integrations.WebhookDispatcher(runtime.wiring()).dispatch(hook.event().apply(4), "u4");
        new groupmsg.integrations.WebhookDispatcher(runtime.wiring()).dispatch(hook.event().apply(5), "u5");
        assertThat(toldDisabled(a, hook.id())).as("told once, by the next event").singleElement()
                .satisfies(e -> assertThat(e).containsEntry("accountId", hook.accountId()));
    }

    /**
     * The telling of an earlier disable, before the deliveries, comes out of their 20 s: after a publish of 3.5 s, an
     * endpoint answering 503 gets two tries, not three (the third could end past the budget: a try's longest is 13 s,
     * the second pause 3, and 3.5 + 1 of them have passed). Before, each endpoint's
     * 20 s started at its first try, and a slow publish before them and another after (the telling of a disable
     * their failures made) passed the worker's 30 s.
     */
    @Test
    void aSlowTellingOfADisableComesOutOfTheDeliveriesTime(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Slow Telling Co");
        var hook = failingForThreeDays(a, runtime, "/gone-slow-told", "inb_01JDSLOWTOLD00000000000000");
        var real = runtime.wiring().events();
        var refusing = hook.at().apply(3 * FailingHook.DAY + 60_000).withEvents((topic, account, type, body) -> {
            if (type.equals("webhook.disabled")) throw new IllegalStateException("the topic refused it (test)");
            real.publish(topic, account, type, body);
        });
        new groupmsg.integrations.WebhookDispatcher(refusing).dispatch(hook.event().apply(3), "s3");
        assertThat(toldDisabled(a, hook.id())).isEmpty();
        failNext.put("/flaky-after-slow-telling", new AtomicInteger(5));
        createWebhook(a, Map.of("url", url("/flaky-after-slow-telling"), "events", List.of("reply.received")));
        var slow = runtime.wiring().withEvents((topic, account, type, body) -> {
            if (type.equals("webhook.disabled")) {
                try {
                    Thread.sleep(3_500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            real.publish(topic, account, type, body);
        });
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.integrations.WebhookDispatcher(slow)
                .dispatch(hook.event().apply(4), "s4")).isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        assertThat(toldDisabled(a, hook.id())).as("told first").hasSize(1);
        assertThat(at("/flaky-after-slow-telling")).as("two tries in what the telling left of the 20 s").hasSize(2);
    }

    /**
     * Of the account's webhooks disabled untold, an event tells one: each tell costs up to 5 s while the topic
     * refuses, and two or more held the event's deliveries past the worker's 30 s. The next event tells the next.
     */
    @Test
    void anEventTellsOfOneUntoldDisableAtATime(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Two Untold Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String first = (String) createWebhook(a, Map.of("url", url("/gone-untold-1"), "events", List.of("reply.received"))).get("id");
        String second = (String) createWebhook(a, Map.of("url", url("/gone-untold-2"), "events", List.of("reply.received"))).get("id");
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDTWOUNTOLD00000000000000" + n, "from", "+14155550962", "body", "Hi " + n));
        java.util.function.LongFunction<groupmsg.platform.config.Wiring> at = movedOn(runtime);
        for (int n = 0; n < 3; n++) new groupmsg.integrations.WebhookDispatcher(at.apply(n * FailingHook.DAY)).dispatch(event.apply(n), "t" + n);
        var real = runtime.wiring().events();
        var refusing = at.apply(3 * FailingHook.DAY + 60_000).withEvents((topic, account, type, body) -> {
            if (type.equals("webhook.disabled")) throw new IllegalStateException("the topic refused it (test)");
            real.publish(topic, account, type, body);
        });
        new groupmsg.integrations.WebhookDispatcher(refusing).dispatch(event.apply(3), "t3");
        for (String id : List.of(first, second)) {
            assertThat(a.get("/v1/webhooks/" + id).jsonObject()).containsEntry("enabled", false);
            assertThat(toldDisabled(a, id)).isEmpty();
        }

        new groupmsg.integrations.WebhookDispatcher(runtime.wiring()).dispatch(event.apply(4), "t4");
        assertThat(toldDisabled(a, first).size() + toldDisabled(a, second).size()).as("one told").isEqualTo(1);
        new groupmsg.integrations.WebhookDispatcher(runtime.wiring()).dispatch(event.apply(5), "t5");
        assertThat(toldDisabled(a, first)).hasSize(1);
        assertThat(toldDisabled(a, second)).hasSize(1);
    }

    /**
     * A run that claimed telling of a disable and died before telling (its publish and its give-back both failed)
     * leaves a claim that goes stale: an event 5 minutes on tells it, once; one before that does not.
     */
    @Test
    void aDisableNoticeWhoseTellerDiedIsToldOnceItsClaimGoesStale(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Died Telling Co");
        var hook = failingForThreeDays(a, runtime, "/gone-died", "inb_01JDDIEDTELLING00000000000");
        long day = FailingHook.DAY;
        var dying = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
                    @Override
                    public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                                software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                        if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest u
                                && "REMOVE tellingAt".equals(u.updateExpression())) {
                            throw new IllegalStateException("killed (test)");
                        }
                    }
                }).withClock(java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofMillis(3 * day + 60_000)))
                .withEvents((topic, account, type, body) -> {
                    throw new IllegalStateException("the topic refused it (test)");
                });
        new groupmsg.integrations.WebhookDispatcher(dying).dispatch(hook.event().apply(3), "d3");
        assertThat(a.get("/v1/webhooks/" + hook.id()).jsonObject()).containsEntry("enabled", false);

        new groupmsg.integrations.WebhookDispatcher(hook.at().apply(3 * day + 120_000)).dispatch(hook.event().apply(4), "d4");
        assertThat(toldDisabled(a, hook.id())).as("the claim is a minute old: its run may still tell").isEmpty();
        new groupmsg.integrations.WebhookDispatcher(hook.at().apply(3 * day + 420_000)).dispatch(hook.event().apply(5), "d5");
        new groupmsg.integrations.WebhookDispatcher(hook.at().apply(3 * day + 480_000)).dispatch(hook.event().apply(6), "d6");
        assertThat(toldDisabled(a, hook.id())).as("told once the claim went stale, once").hasSize(1);
    }

    /**
     * A webhook given a new URL starts with a clean slate: the old address's stretch of failures does not disable it
     * at the new one's first failure (before, fixed on the third day, it was disabled at its first 503).
     */
    @Test
    void aWebhookGivenANewUrlIsNotDisabledForTheOldOnesFailures(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Moved Stretch Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String id = (String) createWebhook(a, Map.of("url", url("/gone-old-address"), "events", List.of("reply.received"))).get("id");
        java.util.function.LongFunction<groupmsg.platform.config.Wiring> at = movedOn(runtime);
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDMOVEDSTRETCH00000000000" + n, "from", "+14155550959", "body", "Hi " + n));
        long day = 86_400_000L;
        for (int n = 0; n < 3; n++) { // a 410 each day: given up at once, and a stretch of failures
            new groupmsg.integrations.WebhookDispatcher(at.apply(n * day)).dispatch(event.apply(n), "s" + n);
        }
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).containsEntry("lastFailure", "HTTP 410")
                .extractingByKey("failingSince").isNotNull();
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("url", url("/gone-old-address"))).jsonObject())
                .as("the same address: its record stands").containsEntry("lastFailure", "HTTP 410")
                .extractingByKey("failingSince").isNotNull();

        assertThat(a.patch("/v1/webhooks/" + id, Map.of("url", url("/gone-new-address"))).jsonObject())
                .containsEntry("failingSince", null).containsEntry("lastFailure", null).containsEntry("lastFailedAt", null);
        new groupmsg.integrations.WebhookDispatcher(at.apply(3 * day + 60_000)).dispatch(event.apply(3), "s3");
        assertThat(at("/gone-new-address")).hasSize(1);
        var after = a.get("/v1/webhooks/" + id).jsonObject();
        assertThat(after).containsEntry("enabled", true).containsEntry("disabledAt", null).containsEntry("lastFailure", "HTTP 410");
        assertThat(java.time.Instant.parse((String) after.get("failingSince"))).isAfter(java.time.Instant.now().plusMillis(3 * day));
    }

    @Test
    void aFailedTestDoesNotKeepALapsedFailingStretchGoing(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Lapsed Stretch Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String kept = (String) createWebhook(a, Map.of("url", url("/down-lapsed"), "events", List.of("reply.received"))).get("id");
        String legacy = (String) createWebhook(a, Map.of("url", url("/down-lapsed-legacy"), "events", List.of("reply.received"))).get("id");
        java.util.function.LongFunction<groupmsg.platform.config.Wiring> at = movedOn(runtime);
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDLAPSED00000000000000000" + n, "from", "+14155550959", "body", "Hi " + n));
        long day = 86_400_000L;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.integrations.WebhookDispatcher(at.apply(0))
                .dispatch(event.apply(1), "l1")).isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        // one as a webhook failing since before deliveryFailedAt was kept: its item has lastFailedAt alone
        var w = runtime.wiring();
        w.dynamo().updateItem(r -> r.tableName(w.config().table(groupmsg.platform.schema.Tables.CORE))
                .key(groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId), "WEBHOOK#" + legacy))
                .updateExpression("REMOVE deliveryFailedAt"));
        for (String id : List.of(kept, legacy)) {
            String first = (String) a.get("/v1/webhooks/" + id).jsonObject().get("failingSince");
            assertThat(first).isNotNull();

            // two days of quiet (the stretch has lapsed: 36 hours), then a test that fails, then a delivery that fails
            assertThat(new groupmsg.integrations.WebhookService(at.apply(2 * day)).test(accountId, id))
                    .isInstanceOfSatisfying(groupmsg.integrations.WebhookService.Tested.class,
                            tested -> assertThat(tested.attempt().failure()).isEqualTo("HTTP 500"));
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.integrations.WebhookDispatcher(at.apply(3 * day + 60_000))
                .dispatch(event.apply(2), "l2")).isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        for (String id : List.of(kept, legacy)) {
            var after = a.get("/v1/webhooks/" + id).jsonObject();
            assertThat(after).as(id + ": a new stretch, not one three days old").containsEntry("enabled", true)
                    .containsEntry("disabledAt", null);
            assertThat(java.time.Instant.parse((String) after.get("failingSince")))
                    .isAfter(java.time.Instant.now().plusMillis(3 * day - 60_000));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aWebhookFailingForThreeDaysIsDisabledAndGetsNothingUntilEnabledAgain(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Dying Hooks Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var down = createWebhook(a, Map.of("url", url("/down-for-days/T0/B0") + "?token=not-for-the-operator", "events", List.of("reply.received")));
        var good = createWebhook(a, Map.of("url", url("/fine"), "events", List.of("reply.received")));
        failNext.put("/recovering", new AtomicInteger(3));
        var recovering = createWebhook(a, Map.of("url", url("/recovering"), "events", List.of("reply.received")));
        java.util.function.IntFunction<String> event = n -> Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDDYING00000000000000000" + n, "from", "+14155550954", "body", "Hello " + n));
        java.util.function.LongFunction<groupmsg.integrations.WebhookDispatcher> at = offsetMillis ->
                new groupmsg.integrations.WebhookDispatcher(runtime.wiring().withClock(
                        java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofMillis(offsetMillis))));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> at.apply(0).dispatch(event.apply(1), "k1"))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        var failing = a.get("/v1/webhooks/" + down.get("id")).jsonObject();
        assertThat(failing).containsEntry("enabled", true).containsEntry("disabledAt", null);
        assertThat(failing.get("failingSince")).isNotNull();
        assertThat(a.get("/v1/webhooks/" + recovering.get("id")).jsonObject().get("failingSince")).isNotNull();
        assertThat(a.get("/v1/webhooks/" + good.get("id")).jsonObject()).containsEntry("failingSince", null);
        // "enabled: true" sent to an enabled webhook (a client sending its whole object) does not restart its clock
        assertThat(a.patch("/v1/webhooks/" + down.get("id"), Map.of("enabled", true)).jsonObject())
                .containsEntry("failingSince", failing.get("failingSince"));

        // a day later the recovering endpoint takes one: its failing stretch ends; the dead one's goes on
        long day = 86_400_000L;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> at.apply(day).dispatch(event.apply(2), "k2"))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        assertThat(a.get("/v1/webhooks/" + recovering.get("id")).jsonObject()).containsEntry("failingSince", null);
        assertThat(a.get("/v1/webhooks/" + down.get("id")).jsonObject()).containsEntry("enabled", true)
                .containsEntry("failingSince", failing.get("failingSince"));

        // failing at least once a day: the stretch goes on
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> at.apply(2 * day).dispatch(event.apply(4), "k4"))
                .isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        assertThat(a.get("/v1/webhooks/" + down.get("id")).jsonObject()).containsEntry("failingSince", failing.get("failingSince"));

        // three days after its first failure, still failing: disabled, and the event is done with it (a disabled
        // webhook's events are dropped; sent back to the queue, its last receive went to the dead-letter queue)
        at.apply(3 * day + 60_000).dispatch(event.apply(3), "k3");
        var disabled = a.get("/v1/webhooks/" + down.get("id")).jsonObject();
        assertThat(disabled).containsEntry("enabled", false);
        assertThat(disabled.get("disabledAt")).isNotNull();
        assertThat((String) disabled.get("disabledReason")).startsWith("every delivery failed since").contains("HTTP 500");
        int triedBefore = at("/down-for-days/T0/B0").size();
        assertThat(triedBefore).isEqualTo(12);
        // the account is told, through the notifications topic (an operator's email or push subscriber), once
        var told = ((List<Map<String, Object>>) a.withoutKey().get("/local/events?topic=notifications").jsonObject().get("items"))
                .stream().filter(e -> "webhook.disabled".equals(e.get("type")) && accountId.equals(e.get("accountId"))).toList();
        assertThat(told).singleElement().satisfies(e -> assertThat(e).containsEntry("webhookId", down.get("id"))
                .as("its URL's origin only: its path or query may carry a token")
                .containsEntry("url", url("")).containsEntry("disabledReason", disabled.get("disabledReason"))
                .containsEntry("disabledAt", disabled.get("disabledAt")).containsEntry("failingSince", failing.get("failingSince")));

        // the queue's next event skips it, and is done (not sent to the queue again for it)
        List<Resent> sentAgain = new CopyOnWriteArrayList<>();
        assertThat(recordingWorker(runtime, sentAgain).handleRequest(oneEvent("m-4", event.apply(4), 1, null, Map.of()), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(sentAgain).isEmpty();
        assertThat(at("/down-for-days/T0/B0")).hasSize(triedBefore);
        assertThat(at("/fine")).extracting(Received::eventId).contains("reply.received/inb_01JDDYING000000000000000004");

        // enabled again by the account (its clock starts over), then turned off by it
        var enabled = a.patch("/v1/webhooks/" + down.get("id"), Map.of("enabled", true));
        assertThat(enabled.status()).as(enabled.body()).isEqualTo(200);
        assertThat(enabled.jsonObject()).containsEntry("enabled", true).containsEntry("disabledAt", null)
                .containsEntry("disabledReason", null).containsEntry("failingSince", null);
        var off = a.patch("/v1/webhooks/" + good.get("id"), Map.of("enabled", false));
        assertThat(off.jsonObject()).containsEntry("enabled", false).containsEntry("disabledReason", "disabled by the account");
        int fineBefore = at("/fine").size();
        // (the time of the failures above, days ahead: the endpoint's one-minute pause is past only from there)
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> at.apply(3 * day + 180_000).dispatch(event.apply(5), "k5"))
                .as("the enabled dead one is tried and fails again").isInstanceOf(groupmsg.integrations.WebhookDispatcher.NotDelivered.class);
        assertThat(at("/down-for-days/T0/B0")).hasSize(triedBefore + 3);
        assertThat(at("/fine")).as("turned off").hasSize(fineBefore);
        assertThat(a.get("/v1/webhooks/" + down.get("id")).jsonObject()).as("its failing stretch began anew")
                .containsEntry("enabled", true).extractingByKey("failingSince").isNotNull();
        assertThat(a.patch("/v1/webhooks/" + good.get("id"), Map.of("enabled", "yes")).status()).isEqualTo(400);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aWebhookIsTestedOnDemandAndChangedKeepingItsSecret(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Tested Hooks Co");
        var hook = createWebhook(a, Map.of("url", url("/first"), "events", List.of("reply.received"), "description", "Old"));
        String id = (String) hook.get("id");
        String secret = (String) hook.get("secret");

        var tested = a.post("/v1/webhooks/" + id + "/test", Map.of());
        assertThat(tested.status()).as(tested.body()).isEqualTo(200);
        assertThat(tested.jsonObject()).containsEntry("delivered", true).containsEntry("status", 204).containsEntry("failure", null)
                .containsKey("durationMs");
        Received ping = at("/first").getFirst();
        assertThat(ping.type()).isEqualTo("webhook.test");
        assertThat(Json.parseObject(ping.body())).containsEntry("type", "webhook.test").containsEntry("webhookId", id);
        String t = ping.signature().replaceFirst("^t=(\\d+),v1=.*$", "$1");
        assertThat(ping.signature()).isEqualTo("t=" + t + ",v1=" + hmacHex(secret, t + "." + ping.body()));

        var patched = a.send("PATCH", "/v1/webhooks/" + id, "application/json",
                "{\"url\":\"" + url("/second") + "\",\"events\":[\"opt_out.changed\"],\"description\":null}");
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        assertThat(patched.jsonObject()).containsEntry("url", url("/second")).containsEntry("events", List.of("opt_out.changed"))
                .containsEntry("description", null).doesNotContainKey("secret");
        assertThat(a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject()).containsEntry("delivered", true);
        Received second = at("/second").getFirst();
        String t2 = second.signature().replaceFirst("^t=(\\d+),v1=.*$", "$1");
        assertThat(second.signature()).as("the same secret").isEqualTo("t=" + t2 + ",v1=" + hmacHex(secret, t2 + "." + second.body()));
        assertThat(at("/first")).hasSize(1);
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("description", "Renamed")).jsonObject()).containsEntry("description", "Renamed")
                .containsEntry("url", url("/second"));

        for (Map<String, Object> bad : List.of(Map.<String, Object>of(), Map.<String, Object>of("url", "http://example.com/h"),
                Map.<String, Object>of("secret", "mine"), Map.<String, Object>of("events", List.of("nope")),
                Map.<String, Object>of("events", List.of("group_message.sent")),
                Map.<String, Object>of("events", List.of()))) {
            assertThat(a.patch("/v1/webhooks/" + id, bad).status()).as(bad.toString()).isEqualTo(400);
        }
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).containsEntry("url", url("/second")).containsEntry("description", "Renamed");
        assertThat(a.patch("/v1/webhooks/whk_01JDNOSUCHHOOK0000000000000", Map.of("description", "x")).status()).isEqualTo(404);
        assertThat(api.forNewAccount("Other Tested Co").post("/v1/webhooks/" + id + "/test", Map.of()).status()).isEqualTo(404);

        // an endpoint that fails says so, and shows it
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("url", url("/down/now"))).status()).isEqualTo(200);
        var failed = a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject();
        assertThat(failed).containsEntry("delivered", false).containsEntry("status", 500).containsEntry("failure", "HTTP 500");
        assertThat(a.get("/v1/webhooks/" + id).jsonObject()).containsEntry("lastFailure", "HTTP 500");
        // an endpoint that does not answer is cut off at 5 s
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("url", url("/slow"))).status()).isEqualTo(200);
        var slow = a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject();
        assertThat(slow).containsEntry("delivered", false).containsEntry("failure", "no answer within 5 s");
        assertThat(((Number) slow.get("durationMs")).longValue()).isBetween(4_500L, 7_000L);
        // the status line decides: a 200 whose body trickles in is taken at once (the body is not waited for)
        assertThat(a.patch("/v1/webhooks/" + id, Map.of("url", url("/trickle"))).status()).isEqualTo(200);
        var trickled = a.post("/v1/webhooks/" + id + "/test", Map.of()).jsonObject();
        assertThat(trickled).containsEntry("delivered", true).containsEntry("status", 200);
        assertThat(((Number) trickled.get("durationMs")).longValue()).isLessThan(4_000L);
    }

    @Test
    void aNumbersOptOutChangesReachTheWebhooksThatTakeThem(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Opt-out Hooks Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        createWebhook(a, Map.of("url", url("/optouts"), "events", List.of("opt_out.changed")));
        createWebhook(a, Map.of("url", url("/replies-only"), "events", List.of("reply.received")));
        String kim = "+14155550961", lee = "+14155550962";

        text(a, kim, line, "STOP");
        var stop = await(() -> at("/optouts"), l -> !l.isEmpty(), 15_000).getFirst();
        String stopId = (String) inbound(a, "?lineId=" + lineId).getFirst().get("id");
        assertThat(stop.type()).isEqualTo("opt_out.changed");
        assertThat(stop.eventId()).isEqualTo("opt_out.changed/" + stopId);
        assertThat(Json.parseObject(stop.body())).containsEntry("lineId", lineId).containsEntry("phone", kim)
                .containsEntry("optedOut", true).containsEntry("source", "keyword").containsEntry("inboundId", stopId);
        text(a, kim, line, "START");
        await(() -> at("/optouts"), l -> l.size() >= 2, 15_000);
        assertThat(Json.parseObject(at("/optouts").get(1).body())).containsEntry("phone", kim).containsEntry("optedOut", false)
                .containsEntry("source", "keyword");

        // by hand: recorded (once: a repeat changes nothing) and removed
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", lee)).status()).isEqualTo(201);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", lee)).status()).isEqualTo(200);
        assertThat(a.delete("/v1/opt-outs/" + lineId + "/%2B14155550962").status()).isEqualTo(204);
        var all = await(() -> at("/optouts"), l -> l.size() >= 4, 15_000);
        runtime.awaitIdle();
        assertThat(at("/optouts")).hasSize(4);
        assertThat(all.subList(2, 4)).extracting(r -> Json.parseObject(r.body()).get("phone") + " " + Json.parseObject(r.body()).get("optedOut")
                + " " + Json.parseObject(r.body()).get("source")).containsExactlyInAnyOrder(lee + " true manual", lee + " false manual");
        assertThat(at("/replies-only")).as("keywords are no replies").isEmpty();
    }

    @Test
    void aWebhookMustPointAtAPublicHttpsEndpointAndAnAccountHasFiveAtMost(ApiClient api) {
        ApiClient a = api.forNewAccount("Careful Hooks Co");
        for (Object url : List.of("http://example.com/hook", "ftp://example.com/hook", "https://10.1.2.3/hook",
                "https://169.254.169.254/latest/meta-data", "https://[fd00::1]/hook", "https://192.168.0.10/x",
                "https://user:pw@example.com/hook", "/relative", "not a url", "https://example.com/h#frag",
                "https://example.com:70000/hook", 42)) {
            var r = a.post("/v1/webhooks", Map.of("url", url));
            assertThat(r.status()).as(url + ": " + r.body()).isEqualTo(400);
            assertThat(r.body()).contains("url");
        }
        for (Map<String, Object> bad : List.of(Map.<String, Object>of("url", "https://example.com/h", "events", List.of("nope")),
                Map.<String, Object>of("url", "https://example.com/h", "events", List.of()),
                Map.<String, Object>of("url", "https://example.com/h", "secret", "mine"), Map.<String, Object>of())) {
            assertThat(a.post("/v1/webhooks", bad).status()).as(bad.toString()).isEqualTo(400);
        }
        String memberKey = (String) a.post("/v1/api-keys", Map.of("name", "mem", "role", "member")).jsonObject().get("key");
        assertThat(a.withKey(memberKey).post("/v1/webhooks", Map.of("url", "https://example.com/h")).status()).isEqualTo(403);
        assertThat(a.withKey(memberKey).get("/v1/webhooks").status()).isEqualTo(403);

        List<String> made = new ArrayList<>();
        for (int i = 0; i < 5; i++) made.add((String) createWebhook(a, Map.of("url", "https://hooks.example.com/" + i)).get("id"));
        var sixth = a.post("/v1/webhooks", Map.of("url", "https://hooks.example.com/6"));
        assertThat(sixth.status()).isEqualTo(409);
        // an Idempotency-Key retry of a create answers the same webhook, secret included, and makes no second
        assertThat(a.delete("/v1/webhooks/" + made.getFirst()).status()).isEqualTo(204);
        var first = a.withHeader("Idempotency-Key", "hook-7").post("/v1/webhooks", Map.of("url", "https://hooks.example.com/7"));
        var again = a.withHeader("Idempotency-Key", "hook-7").post("/v1/webhooks", Map.of("url", "https://hooks.example.com/7"));
        assertThat(first.status()).isEqualTo(201);
        assertThat(again.jsonObject()).containsEntry("id", first.jsonObject().get("id")).containsEntry("secret", first.jsonObject().get("secret"));
        // to the key that made it only: another admin key using the same Idempotency-Key does not get the secret
        var otherAdmin = a.withKey((String) a.post("/v1/api-keys", Map.of("name", "second admin", "role", "admin"))
                .jsonObject().get("key"));
        var fromAnother = otherAdmin.withHeader("Idempotency-Key", "hook-7").post("/v1/webhooks", Map.of("url", "https://hooks.example.com/7"));
        assertThat(fromAnother.status()).isEqualTo(409);
        assertThat(fromAnother.body()).doesNotContain((String) first.jsonObject().get("secret")).doesNotContain("whsec_");
        assertThat(a.post("/v1/webhooks", Map.of("url", "https://hooks.example.com/8")).status()).as("five again").isEqualTo(409);
    }
}
