package groupmsg.e2e;

import groupmsg.inbound.InboundService;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.local.TestFaults.throttling;
import static groupmsg.e2e.InboundE2eTest.OPT_IN_REPLY;
import static groupmsg.e2e.InboundE2eTest.OPT_OUT_REPLY;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.createLine;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.integrationEvents;
import static groupmsg.e2e.InboundE2eTest.optOuts;
import static groupmsg.e2e.InboundE2eTest.sentTo;
import static groupmsg.e2e.InboundE2eTest.sid;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/** Inbound faults: a lost enqueue is recovered from the outbox; a job run twice has one effect. */
@ExtendWith(LocalRuntimeExtension.class)
class InboundFaultsTest {

    /** Fails every send, as an SQS outage right after the webhook's transaction would. */
    static final class DownQueue implements QueueSender {
        final List<String> attempted = new CopyOnWriteArrayList<>();

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            attempted.add(queue.name());
            throw new IllegalStateException("SQS is down");
        }
    }

    /** A routing read: a Query of a number's conversations on a line ({@code CNVP#} rows). */
    static boolean routingRead(software.amazon.awssdk.core.SdkRequest request) {
        return request instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q
                && q.expressionAttributeValues().get(":pk") != null && q.expressionAttributeValues().get(":pk").s().startsWith("CNVP#");
    }

    /** A line's read by its number ({@code LINEPHONE#}: the line a text came to, or whether its sender is a line). */
    static boolean lineRead(software.amazon.awssdk.core.SdkRequest request) {
        return request instanceof software.amazon.awssdk.services.dynamodb.model.GetItemRequest g
                && g.key().get("pk") != null && g.key().get("pk").s().startsWith("LINEPHONE#");
    }

    /** Whether the account has a message of this id (a keyword's reply is stored before anything is queued for it). */
    static boolean messageExists(LocalRuntime runtime, String accountId, String messageId) {
        var w = runtime.wiring();
        return w.dynamo().getItem(b -> b.tableName(w.config().table(groupmsg.platform.schema.Tables.CORE)).consistentRead(true)
                .key(groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId), "MSG#" + messageId)))
                .hasItem();
    }

    /** Whether the opt-out worker has finished with an inbound keyword ({@code handledAt} on its item). */
    static boolean handled(LocalRuntime runtime, String accountId, String inboundId) {
        var item = inboundItem(runtime, accountId, inboundId);
        return item != null && item.containsKey("handledAt");
    }

    /** An inbound message's item as stored (a consistent read; null when there is none). */
    static Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> inboundItem(LocalRuntime runtime,
                                                                                                 String accountId, String inboundId) {
        var w = runtime.wiring();
        var item = w.dynamo().getItem(b -> b.tableName(w.config().table(groupmsg.platform.schema.Tables.CORE)).consistentRead(true)
                .key(groupmsg.platform.dynamo.Attr.key(groupmsg.platform.dynamo.Attr.accountPk(accountId), "IN#" + inboundId))).item();
        return item == null || item.isEmpty() ? null : item;
    }

    /** An SQS event of one message, as Lambda hands it to the queue's worker (a standard queue's has no group). */
    static String sqsEvent(String queueName, QueueMessage m) {
        var attributes = new java.util.HashMap<String, String>(Map.of("ApproximateReceiveCount", "1"));
        if (m.groupId() != null) attributes.put("MessageGroupId", m.groupId());
        if (m.deduplicationId() != null) attributes.put("MessageDeduplicationId", m.deduplicationId());
        var record = Map.of("messageId", java.util.UUID.randomUUID().toString(), "receiptHandle", "rh", "body", m.body(),
                "attributes", attributes,
                "messageAttributes", Map.of(), "eventSource", "aws:sqs",
                "eventSourceARN", "arn:aws:sqs:us-east-1:000000000000:" + queueName, "awsRegion", "us-east-1");
        return Json.write(Map.of("Records", List.of(record)));
    }

    @Test
    void aStopWhoseEnqueueWasLostIsSentByMaintenanceAndHandledOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Outbox Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550601";

        var down = new DownQueue();
        var webhook = new InboundService(runtime.wiring(), down);
        var received = webhook.receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));
        assertThat(received).isInstanceOf(InboundService.Stored.class);
        assertThat(down.attempted).containsExactly("optouts");
        runtime.awaitIdle();
        assertThat(inbound(a, "")).hasSize(1);
        // The opt-out is recorded with the message, at once (API.md); its confirmation waits for the worker.
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("phone", phone));
        assertThat(sentTo(a, line, phone, OPT_OUT_REPLY)).as("nothing was enqueued, so no confirmation yet").isEmpty();
        // and a group message sent now skips the number
        String g = GroupsE2eTest.createGroup(a, "After STOP");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", phone)))).status()).isEqualTo(200);
        String sent = (String) MessagesE2eTest.send(a, g, lineId, "Pantry opens at 9").get("id");
        assertThat(MessagesE2eTest.awaitSent(a, sent, 15_000)).containsEntry("status", "sent");
        assertThat(MessagesE2eTest.allDeliveries(a, sent)).singleElement().satisfies(d -> assertThat(d).containsEntry("status", "opted_out"));
        assertThat(sentTo(a, line, phone, "Food Bank: Pantry opens at 9")).isEmpty();

        // Maintenance, 31 s later (the grace period is 30 s): the staged message goes out, once.
        var core = runtime.wiring().config().table(Tables.CORE);
        var sqs = new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var later = new Outbox(runtime.wiring().dynamo(), core, sqs, Clock.offset(Clock.systemUTC(), Duration.ofSeconds(31)));
        assertThat(later.redrive(Duration.ofSeconds(30), 100)).isGreaterThanOrEqualTo(1);
        assertThat(later.redrive(Duration.ofSeconds(30), 100)).as("the row is gone once sent").isZero();

        assertThat(await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    /**
     * An opt-out cannot be removed by hand between a STOP's arrival and its job (409): the job, finding it lifted after
     * the STOP, would send no confirmation to a person who has just asked to be unsubscribed, and they would get more
     * texts. Before, the removal went through, for a number opted out by hand before its STOP too (its row keeps that
     * source until the job), and the STOP was never confirmed. Once handled, the removal goes through.
     */
    @Test
    void anOptOutCannotBeRemovedWhileItsStopIsUnhandled(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Removed Early Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String stopped = "+14155550606";
        String byHandFirst = "+14155550607";
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", byHandFirst)).status()).isEqualTo(201);
        var arrivals = new InboundService(runtime.wiring(), new DownQueue()); // the jobs wait (in the outbox)
        var stops = List.of(
                (InboundService.Stored) arrivals.receive(new InboundService.InboundSms(sid(), stopped, line, "STOP", List.of())),
                (InboundService.Stored) arrivals.receive(new InboundService.InboundSms(sid(), byHandFirst, line, "STOP", List.of())));
        assertThat(optOuts(a, lineId)).hasSize(2);
        for (String phone : List.of(stopped, byHandFirst)) {
            var refused = a.delete("/v1/opt-outs/" + lineId + "/" + phone.replace("+", "%2B"));
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(refused.body()).contains("STOP");
        }
        assertThat(optOuts(a, lineId)).hasSize(2);

        var worker = new groupmsg.optout.OptOutService(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        for (var stop : stops) worker.handleKeyword(accountId, stop.message().id());
        runtime.awaitIdle();
        for (String phone : List.of(stopped, byHandFirst)) {
            assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
            assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + phone.replace("+", "%2B")).status()).isEqualTo(204);
        }
        assertThat(optOuts(a, lineId)).isEmpty();
    }

    /** A keyword's reply goes to the relays queue in its line and number's group: after that number's earlier answers. */
    @Test
    void aKeywordsReplyJoinsItsNumbersAnswersInTheRelaysQueue(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Ordered Reply Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550605";
        var stop = (InboundService.Stored) new InboundService(runtime.wiring(), new DownQueue())
                .receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));
        var sent = new java.util.ArrayList<String>();
        new groupmsg.optout.OptOutService(runtime.wiring(), (queue, messages) -> messages.forEach(m ->
                sent.add(queue.name() + " " + m.groupId() + " " + m.deduplicationId()))).handleKeyword(accountId, stop.message().id());
        assertThat(sent).containsExactly("relays " + lineId + "#" + phone + " rpl_" + stop.message().id());
    }

    /**
     * STOP, START, STOP, the last STOP's job run before the START's (the START's queueing redriven after it): that
     * STOP found the opt-out still the first one's and sent no confirmation; the START's job, leaving the opt-out to
     * it, confirms it (its reply id, so one message), before its own answer (which the opt-out then stops).
     */
    @Test
    void aStopWhoseJobRanBeforeTheEarlierStartsIsStillConfirmed(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Late Start Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550608";
        var webhook = new InboundService(runtime.wiring(), new DownQueue());
        var sent = new java.util.ArrayList<String>();
        var worker = new groupmsg.optout.OptOutService(runtime.wiring(), (queue, messages) -> messages.forEach(m ->
                sent.add(queue.name() + " " + m.deduplicationId())));
        var first = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));
        worker.handleKeyword(accountId, first.message().id());
        var start = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "START", List.of()));
        var last = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "Stop", List.of()));
        worker.handleKeyword(accountId, last.message().id());
        assertThat(sent).containsExactly("relays rpl_" + first.message().id());

        worker.handleKeyword(accountId, start.message().id());
        assertThat(sent).containsExactly("relays rpl_" + first.message().id(), "relays rpl_" + last.message().id(),
                "relays rpl_" + start.message().id());
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "keyword"));

        // START, STOP, STOP, the START's job last: the first STOP after it was confirmed, the repeated one is not
        String again = "+14155550609";
        var held = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), again, line, "START", List.of()));
        var stopA = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), again, line, "STOP", List.of()));
        var stopB = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), again, line, "STOP", List.of()));
        sent.clear();
        worker.handleKeyword(accountId, stopA.message().id());
        worker.handleKeyword(accountId, stopB.message().id());
        worker.handleKeyword(accountId, held.message().id());
        assertThat(sent).contains("relays rpl_" + stopA.message().id()).doesNotContain("relays rpl_" + stopB.message().id());
    }

    @Test
    void theSameJobTwiceSendsOneReplyAndPublishesOneEvent(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Twice Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550602";

        // Store without enqueueing (the queue is "down"), then run each worker by hand, twice, as a redelivery would.
        var down = new DownQueue();
        var webhook = new InboundService(runtime.wiring(), down);
        var stop = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "stop", List.of()));
        var reply = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "On my way", List.of()));
        var optoutJob = new QueueMessage(Json.write(Map.of("accountId", accountId, "inboundId", stop.message().id())),
                lineId + "#" + phone, stop.message().id());
        var inboundJob = new QueueMessage(Json.write(Map.of("accountId", accountId, "inboundId", reply.message().id())),
                lineId + "#" + phone, reply.message().id());
        for (int i = 0; i < 2; i++) {
            assertThat(runtime.functions().get("optout-worker").invoke(sqsEvent("optouts.fifo", optoutJob)))
                    .contains("\"batchItemFailures\":[]");
            assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", inboundJob)))
                    .contains("\"batchItemFailures\":[]");
        }
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(await(() -> integrationEvents(a, accountId), l -> !l.isEmpty(), 5_000)).hasSize(1);
        runtime.awaitIdle(); // a wrong second reply would have gone by now
        assertThat(sentTo(a, line, phone, OPT_OUT_REPLY)).hasSize(1);
        assertThat(integrationEvents(a, accountId)).hasSize(1);
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "keyword"));
        assertThat(((Number) usageOfTheTest(a).get("messages")).longValue()).as("one reply billed").isEqualTo(1);
    }

    /**
     * A START's job run again after it lifted the opt-out (its first run's publish failed, say) still tells it: the
     * mark the lift left on the START finds what the opt-out row, gone, no longer says. At least once, so twice here.
     */
    @Test
    void aStartHandledAgainAfterItLiftedTheOptOutStillTellsIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Start Again Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        createLine(a, line, "long_code", 20);
        String phone = "+14155550604";
        var webhook = new InboundService(runtime.wiring(), new DownQueue());
        var optOutWorker = new groupmsg.optout.OptOutService(runtime.wiring(), (queue, messages) -> { /* replies wait */ });
        var stop = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));
        optOutWorker.handleKeyword(accountId, stop.message().id());
        var start = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "START", List.of()));
        optOutWorker.handleKeyword(accountId, start.message().id());
        optOutWorker.handleKeyword(accountId, start.message().id());

        assertThat(await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() >= 3, 15_000))
                .extracting(e -> e.get("optedOut")).containsExactly(true, false, false);
    }

    @Test
    void aStartsReplyThatWouldReachTheNumberAfterItsNextStopIsNotSent(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Start Stop Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550603";
        var down = new DownQueue();
        var webhook = new InboundService(runtime.wiring(), down);
        var optOutWorker = new groupmsg.optout.OptOutService(runtime.wiring(), (queue, messages) -> { /* the reply's job waits */ });

        // START is handled (the opt-out goes, its reply is created), but the reply's job has not run yet ...
        var start = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "START", List.of()));
        optOutWorker.handleKeyword(accountId, start.message().id());
        // ... when the number texts STOP: an opt-out from the moment it is stored
        webhook.receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));
        assertThat(optOuts(a, lineId)).hasSize(1);

        // the START reply's job runs now: it finds the number opted out, and sends nothing
        // (a keyword's reply goes through the relays queue, in order per line and number: its worker delivers it whole)
        var job = new QueueMessage(Json.write(Map.of("accountId", accountId, "messageId", "rpl_" + start.message().id())),
                lineId + "#" + phone, "rpl_" + start.message().id());
        assertThat(runtime.functions().get("relay-worker").invoke(sqsEvent("relays.fifo", job))).isEqualTo("{\"batchItemFailures\":[]}");
        assertThat(DeliveryFaultsTest.storedStatus(runtime.wiring(), "rpl_" + start.message().id(), 0, phone)).as("its one row: not sent")
                .isIn("opted_out", "failed");
        assertThat(sentTo(a, line, phone, OPT_IN_REPLY)).isEmpty();
        // HELP is still answered
        var help = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "HELP", List.of()));
        new groupmsg.optout.OptOutService(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()))
                .handleKeyword(accountId, help.message().id());
        assertThat(await(() -> sentTo(a, line, phone, InboundE2eTest.HELP_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    /**
     * A "Yes" from a number that was not opted out lifts nothing: an opt-out the business records between its arrival
     * and its handling stands, and no "subscribed again" goes out.
     */
    @Test
    void aYesFromANumberNotOptedOutNeverLiftsAnOptOutRecordedAfterIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Yes Then Manual Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550604";
        var webhook = new InboundService(runtime.wiring(), new DownQueue());
        var yes = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "Yes", List.of()));
        assertThat(yes.message().alsoAReply()).isTrue();
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", phone)).status()).isEqualTo(201);

        new groupmsg.optout.OptOutService(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()))
                .handleKeyword(accountId, yes.message().id());
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "manual"));
        // a reply would have been made by the handling itself (its message stored before its job is queued)
        assertThat(messageExists(runtime, accountId, "rpl_" + yes.message().id())).as("no \"subscribed again\"").isFalse();
        assertThat(sentTo(a, line, phone, OPT_IN_REPLY)).isEmpty();
    }

    /**
     * Routing at the webhook failing (DynamoDB throttled, say) must not lose the text: Twilio does not resend a webhook
     * answered 500. It is stored unrouted, queued per line and sender, and the inbound worker routes it as it did
     * before routing on arrival.
     */
    @Test
    void aReplyWhoseRoutingFailsOnArrivalIsStoredAndRoutedByTheWorker(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Routing Down Co");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String ann = "+14155550751";
        String bob = "+14155550752";
        String conversationId = (String) ConversationsE2eTest.create(a, lineId,
                List.<Object>of(Map.of("phone", ann, "name", "Ann"), bob), "Hi both").get("id");
        var routingDown = throttling(InboundFaultsTest::routingRead);
        var down = runtime.wiringWith(routingDown);
        var queued = new CopyOnWriteArrayList<QueueMessage>();
        QueueSender capture = (queue, messages) -> queued.addAll(messages);

        var stored = new InboundService(down, capture).receive(new InboundService.InboundSms(sid(), ann, line, "On my way", List.of()));

        assertThat(stored).isInstanceOf(InboundService.Stored.class);
        var message = ((InboundService.Stored) stored).message();
        assertThat(message.conversationId()).isNull();
        assertThat(message.routed()).isFalse();
        assertThat(queued).singleElement().satisfies(job -> assertThat(job.groupId()).isEqualTo(lineId + "#" + ann));

        assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", queued.getFirst())))
                .contains("\"batchItemFailures\":[]");
        assertThat(await(() -> ConversationsE2eTest.bodiesTo(a, line, bob), l -> l.size() == 2, 15_000)).last().isEqualTo("Ann: On my way");
        // named as in the conversation, as a reply routed on arrival is (its event too)
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement().satisfies(i -> assertThat(i)
                .containsEntry("conversationId", conversationId).containsEntry("fromName", "Ann"));
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(await(() -> integrationEvents(a, accountId, "reply.received"), l -> !l.isEmpty(), 15_000))
                .singleElement().satisfies(e -> assertThat(e).containsEntry("fromName", "Ann"));
    }

    /**
     * A text handed on keeps when it came: its time, and its routing, which puts it into no conversation the business
     * started after it came (the worker's own time did, and relayed it to people it was not written to). With no time
     * left it is handed on at once, nothing else tried; and on an interrupted thread too (the SDK gives up a call made
     * on one: the hand-on was lost, and the text with it), the interrupt kept for the caller.
     */
    @Test
    void aTextHandedOnKeepsWhenItCame(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Handed On Time Co");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String ann = "+14155550763";
        String bob = "+14155550764";
        var sqs = new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var captured = new CopyOnWriteArrayList<QueueMessage>();
        long before = System.currentTimeMillis();
        var requests = new java.util.concurrent.atomic.AtomicInteger();
        var counted = runtime.wiringWith(groupmsg.local.TestFaults.counting(requests));
        assertThat(new InboundService(counted, (queue, messages) -> captured.addAll(messages))
                .receiveOrDefer(new InboundService.InboundSms(sid(), ann, line, "Is the pantry open today?", List.of()),
                        Duration.ZERO)).isInstanceOf(InboundService.Deferred.class);
        Thread.sleep(300);
        assertThat(requests).as("no time: nothing tried, not a read").hasValue(0);
        assertThat(inbound(a, "?lineId=" + lineId)).isEmpty();
        var conversation = ConversationsE2eTest.create(a, lineId, List.<Object>of(ann, bob), "Welcome, both of you");
        long started = java.time.Instant.parse((String) conversation.get("createdAt")).toEpochMilli();
        assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", captured.getFirst())))
                .contains("\"batchItemFailures\":[]");
        runtime.awaitIdle();
        var stored = inbound(a, "?lineId=" + lineId);
        assertThat(stored).singleElement().satisfies(i -> assertThat(i).containsEntry("conversationId", null));
        assertThat(java.time.Instant.parse((String) stored.getFirst().get("createdAt")).toEpochMilli())
                .as("when it came, before the conversation").isBetween(before, started - 1);
        assertThat(ConversationsE2eTest.bodiesTo(a, line, bob)).containsExactly("Welcome, both of you");

        // interrupted: handed on through the real queue all the same, the interrupt set again
        Thread.currentThread().interrupt();
        try {
            assertThat(new InboundService(runtime.wiring(), sqs).receiveOrDefer(
                    new InboundService.InboundSms(sid(), bob, line, "STOP", List.of()), Duration.ofSeconds(5)))
                    .isInstanceOf(InboundService.Deferred.class);
        } finally {
            assertThat(Thread.interrupted()).as("the interrupt kept").isTrue();
        }
        assertThat(await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000)).extracting(o -> o.get("phone")).containsExactly(bob);
    }

    /**
     * A START handed on (its store throttled) is stored by the inbound worker after a STOP the number sent later,
     * stored at once: it stands where it came, before that STOP, and lifts nothing. Taken where its id put it (when it
     * was stored), the opt-out of the number's last word was lifted, and "Remove" is no word Twilio blocks by itself.
     */
    @Test
    void aStartHandedOnNeverLiftsAStopSentAfterIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Handed On Start Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550765";
        var webhook = new groupmsg.webhooks.CarrierWebhookHandler(runtime.wiring());
        assertThat(webhook.handleRequest(signedInbound(runtime, phone, line, "STOP"), null).getStatusCode()).isEqualTo(200);
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        runtime.awaitIdle();

        var captured = new CopyOnWriteArrayList<QueueMessage>();
        var storeDown = throttling(request -> request instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest);
        assertThat(new InboundService(runtime.wiringWith(storeDown), (queue, messages) -> captured.addAll(messages))
                .receiveOrDefer(new InboundService.InboundSms(sid(), phone, line, "START", List.of()), Duration.ofSeconds(5)))
                .isInstanceOf(InboundService.Deferred.class);
        Thread.sleep(5);
        assertThat(webhook.handleRequest(signedInbound(runtime, phone, line, "Remove"), null).getStatusCode()).isEqualTo(200);
        runtime.awaitIdle(); // opted out still: a repeated STOP is not confirmed again
        assertThat(inbound(a, "?lineId=" + lineId)).extracting(i -> i.get("body")).containsExactly("Remove", "STOP");
        // however soon its worker stores it: within 500 ms of when it came its own id, after the STOP's, lifted it

        assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", captured.getFirst())))
                .contains("\"batchItemFailures\":[]");
        runtime.awaitIdle();
        assertThat(optOuts(a, lineId)).as("the last word was Remove").extracting(o -> o.get("phone")).containsExactly(phone);
        assertThat(sentTo(a, line, phone, OPT_IN_REPLY)).isEmpty();
        var texts = inbound(a, "?lineId=" + lineId);
        assertThat(texts).as("newest first, as stored; each shows when it came")
                .extracting(i -> i.get("body")).containsExactly("START", "Remove", "STOP");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(inboundItem(runtime, accountId, (String) texts.get(0).get("id"))).as("stored from its hand-on")
                .containsKey("handedOn");
        assertThat(inboundItem(runtime, accountId, (String) texts.get(1).get("id"))).doesNotContainKey("handedOn");
        var reader = new InboundService(runtime.wiring(), (queue, messages) -> {});
        assertThat(reader.get(accountId, (String) texts.get(0).get("id")).orElseThrow().handedOn()).isTrue();
        assertThat(reader.get(accountId, (String) texts.get(1).get("id")).orElseThrow().handedOn()).isFalse();
    }

    /** The text's job routed by the inbound worker: it stays a direct reply, and the other participant got the welcome alone. */
    private static void routeLateIntoNoConversation(ApiClient a, LocalRuntime runtime, QueueMessage job, String line,
                                                    String lineId, String other) throws Exception {
        assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", job))).contains("\"batchItemFailures\":[]");
        runtime.awaitIdle();
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement().satisfies(i -> assertThat(i)
                .containsEntry("body", "Is the pantry open today?").containsEntry("conversationId", null));
        assertThat(ConversationsE2eTest.bodiesTo(a, line, other)).containsExactly("Welcome, both of you");
    }

    /**
     * A reply its worker routes late (its routing failed as it came) goes into no conversation created after it came:
     * it was a direct reply, and a conversation the business started meanwhile had it relayed to people it was not
     * written to.
     */
    @Test
    void aReplyRoutedLateGoesIntoNoConversationCreatedAfterIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Late Route Co");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String ann = "+14155550761";
        String bob = "+14155550762";
        var routingDown = throttling(InboundFaultsTest::routingRead);
        var queued = new CopyOnWriteArrayList<QueueMessage>();
        var stored = new InboundService(runtime.wiringWith(routingDown), (queue, messages) -> queued.addAll(messages))
                .receive(new InboundService.InboundSms(sid(), ann, line, "Is the pantry open today?", List.of()));
        assertThat(((InboundService.Stored) stored).message().routed()).isFalse();
        Thread.sleep(5);
        ConversationsE2eTest.create(a, lineId, List.<Object>of(ann, bob), "Welcome, both of you");

        routeLateIntoNoConversation(a, runtime, queued.getFirst(), line, lineId, bob);
    }

    /**
     * A conversation from a group reads its members (for seconds) after its id is made: a text that came meanwhile,
     * routed late by its worker, goes into no conversation stored after it came. The id's time was taken for when it
     * was created, and such a text was relayed into a conversation that did not exist when it was written.
     */
    @Test
    void aReplyRoutedLateGoesIntoNoConversationStoredAfterItEvenIfItsIdIsOlder(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Slow Group Chat Co");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String ann = "+14155550766";
        String bob = "+14155550767";
        String crew = GroupsE2eTest.createGroup(a, "Crew");
        assertThat(a.post("/v1/groups/" + crew + "/members", Map.of("members", List.of(Map.of("phone", ann),
                Map.of("phone", bob)))).status()).isEqualTo(200);
        var queued = new CopyOnWriteArrayList<QueueMessage>();
        var routingDown = throttling(InboundFaultsTest::routingRead);
        var texted = new java.util.concurrent.atomic.AtomicBoolean();
        // the text comes while the create reads the group's members, and its routing fails as it comes
        var handler = ConversationsE2eTest.onFirstMemberRead(runtime, () -> {
            texted.set(true);
            try {
                Thread.sleep(5);
                var stored = new InboundService(runtime.wiringWith(routingDown), (queue, messages) -> queued.addAll(messages))
                        .receive(new InboundService.InboundSms(sid(), ann, line, "Is the pantry open today?", List.of()));
                assertThat(((InboundService.Stored) stored).message().routed()).isFalse();
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        var created = IdempotentRetriesE2eTest.call(handler, a, "POST /v1/conversations", "/v1/conversations", Map.of(),
                Map.of("lineId", lineId, "groupId", crew, "body", "Welcome, both of you"), "slow-crew");
        assertThat(texted).isTrue();
        assertThat(created.getStatusCode()).as(created.getBody()).isEqualTo(201);

        routeLateIntoNoConversation(a, runtime, queued.getFirst(), line, lineId, bob);
    }

    /**
     * A keyword is stored (a STOP with its opt-out) without reading conversations as it arrives: a number in hundreds of
     * them took up to 5 s to route, and its sends went on meanwhile. Its worker finds the conversation it came from
     * (under block_conversation too, which its opt-out blocks): the API shows it there, and a retry keeps it.
     */
    @Test
    void aStopIsStoredWithoutRoutingAndItsWorkerFindsItsConversation(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Stop Routing Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String ann = "+14155550781";
        String bob = "+14155550782";
        String conversationId = (String) ConversationsE2eTest.create(a, lineId,
                List.<Object>of(ann, Map.of("phone", bob, "name", "Bob")), "Hi both").get("id");
        // a later conversation of Bob's, blocked by Cat's STOP before his: the one his STOP came from is the first,
        // which his own opt-out (recorded as it came) must not make look blocked too
        String cat = "+14155550783";
        String blockedLater = (String) ConversationsE2eTest.create(a, lineId, List.<Object>of(bob, cat), "Hi Bob and Cat").get("id");
        InboundE2eTest.text(a, cat, line, "STOP");
        await(() -> a.get("/v1/conversations/" + blockedLater).jsonObject(), c -> c.get("blockedAt") != null, 15_000);
        var conversationReads = new java.util.concurrent.atomic.AtomicInteger();
        var readsCounted = runtime.wiringWith(throttling(request -> routingRead(request) && conversationReads.incrementAndGet() > 0));
        var queued = new CopyOnWriteArrayList<QueueMessage>();
        QueueSender capture = (queue, messages) -> queued.addAll(messages);

        var stored = new InboundService(readsCounted, capture).receive(new InboundService.InboundSms(sid(), bob, line, "STOP", List.of()));

        assertThat(stored).isInstanceOf(InboundService.Stored.class);
        var message = ((InboundService.Stored) stored).message();
        assertThat(conversationReads).as("conversations read on arrival").hasValue(0);
        assertThat(message.routed()).isFalse();
        assertThat(message.conversationId()).isNull();
        assertThat(optOuts(a, lineId)).as("opted out as it is stored").extracting(o -> o.get("phone")).contains(bob);
        assertThat(queued).singleElement().satisfies(job -> assertThat(job.groupId()).isEqualTo(lineId + "#" + bob));

        for (int run = 0; run < 2; run++) { // the second: a retry of the job
            assertThat(runtime.functions().get("optout-worker").invoke(sqsEvent("optouts.fifo", queued.getFirst())))
                    .contains("\"batchItemFailures\":[]");
            assertThat(inbound(a, "?lineId=" + lineId + "&from=" + bob.replace("+", "%2B"))).singleElement().satisfies(i -> assertThat(i)
                    .containsEntry("conversationId", conversationId).containsEntry("fromName", "Bob"));
        }
        assertThat(a.get("/v1/conversations/" + conversationId).jsonObject()).as("blocked by Bob's STOP")
                .extractingByKey("blockedAt").isNotNull();

        // Ann's STOP, whose routing fails in its worker (its first read of conversations throttled): handled all the
        // same, unrouted
        var stopOfAnn = new InboundService(runtime.wiring(), capture).receive(new InboundService.InboundSms(sid(), ann, line, "STOP", List.of()));
        String annsId = ((InboundService.Stored) stopOfAnn).message().id();
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var reads = new java.util.concurrent.atomic.AtomicInteger();
        var firstReadFails = runtime.wiringWith(throttling(request -> routingRead(request) && reads.incrementAndGet() == 1));
        new groupmsg.optout.OptOutService(firstReadFails, capture).handleKeyword(accountId, annsId);
        assertThat(reads).as("its routing read").hasValueGreaterThanOrEqualTo(1);
        assertThat(handled(runtime, accountId, annsId)).as("handled though its routing failed").isTrue();
        assertThat(messageExists(runtime, accountId, "rpl_" + annsId)).as("her confirmation").isTrue();
        assertThat(inbound(a, "?lineId=" + lineId)).filteredOn(i -> annsId.equals(i.get("id"))).singleElement()
                .satisfies(i -> assertThat(i).containsEntry("conversationId", null));
    }

    /**
     * The opt-out reads at the webhook failing (DynamoDB throttled, say) must not lose a keyword either: Twilio does not
     * resend a webhook answered 500. A "Yes" is then taken for the reply most who answer "Yes" mean (relayed,
     * published), and lifts nothing: one from a number opted out stays opted out (it can text START), the safe side;
     * a STOP in another word is recorded and confirmed. Before, both answered 500 and were lost.
     */
    @Test
    void keywordsWhoseOptOutReadsFailOnArrivalAreStoredAndHandled(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Opt-out Reads Down Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String answers = "+14155550770";
        String staysOut = "+14155550771";
        String leaves = "+14155550772";
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", staysOut)).status()).isEqualTo(201);
        var optOutReadsDown = throttling(request -> request instanceof software.amazon.awssdk.services.dynamodb.model.GetItemRequest g
                && g.key().get("pk") != null && g.key().get("pk").s().startsWith("OPTOUT#"));
        var arrivals = new InboundService(runtime.wiringWith(optOutReadsDown),
                new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));

        for (String phone : List.of(answers, staysOut)) {
            assertThat(arrivals.receive(new InboundService.InboundSms(sid(), phone, line, "Yes", List.of())))
                    .isInstanceOf(InboundService.Stored.class);
        }
        assertThat(arrivals.receive(new InboundService.InboundSms(sid(), leaves, line, "Unsubscribe", List.of())))
                .isInstanceOf(InboundService.Stored.class);

        assertThat(await(() -> sentTo(a, line, leaves, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(await(() -> integrationEvents(a, accountId, "reply.received"), l -> l.size() == 2, 15_000))
                .extracting(e -> e.get("from")).containsExactlyInAnyOrder(answers, staysOut);
        runtime.awaitIdle();
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone") + " " + o.get("source"))
                .containsExactlyInAnyOrder(staysOut + " manual", leaves + " keyword");
        assertThat(sentTo(a, line, staysOut, OPT_IN_REPLY)).isEmpty();
    }

    /**
     * A text whose receipt fails for a fault of ours (its line's read or its store throttled, after the SDK's retries)
     * is handed whole to the inbound queue, and its worker receives it: Twilio does not resend a webhook answered 500,
     * and a STOP in a word it does not block by itself ("Remove") was lost, the number's broadcasts going on. So is one
     * to a deleted line's number whose read fails (before, taken for no line's and dropped with a 200).
     */
    @Test
    void aTextWhoseReceiptFailsIsHandedToTheInboundQueueAndReceivedByItsWorker(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Store Down Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String leaves = "+14155550781";
        var lineReadsDown = throttling(InboundFaultsTest::lineRead);

        // through the webhook, as Twilio calls it: a 200, and the job in the runtime's own inbound queue
        var webhook = new groupmsg.webhooks.CarrierWebhookHandler(runtime.wiringWith(lineReadsDown));
        assertThat(webhook.handleRequest(signedInbound(runtime, leaves, line, "Remove"), null).getStatusCode()).isEqualTo(200);
        assertThat(await(() -> sentTo(a, line, leaves, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        runtime.awaitIdle();
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone") + " " + o.get("source")).containsExactly(leaves + " keyword");
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement().satisfies(i -> assertThat(i)
                .containsEntry("body", "Remove").containsEntry("keyword", "opt_out"));

        // its store throttled: handed on as it came, in a message group of its own; received once, however often
        var captured = new CopyOnWriteArrayList<QueueMessage>();
        var storeDown = throttling(request -> request instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest);
        String replySid = sid();
        String answers = "+14155550782";
        var sms = new InboundService.InboundSms(replySid, answers, line, "Count me in", List.of("https://example.com/a.jpg"), "HELP");
        assertThat(new InboundService(runtime.wiringWith(storeDown), (queue, messages) -> {
            assertThat(queue.name()).isEqualTo("inbound");
            captured.addAll(messages);
        }).receiveOrDefer(sms, Duration.ofSeconds(5))).isInstanceOf(InboundService.Deferred.class);
        assertThat(captured).singleElement().satisfies(job -> {
            assertThat(job.groupId()).isEqualTo("arrived#" + line + "#" + answers);
            assertThat(job.deduplicationId()).isEqualTo("arrived-" + replySid);
        });
        for (int run = 0; run < 2; run++) {
            assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", captured.getFirst())))
                    .contains("\"batchItemFailures\":[]");
        }
        runtime.awaitIdle();
        assertThat(inbound(a, "?lineId=" + lineId + "&from=" + answers.replace("+", "%2B"))).singleElement()
                .satisfies(i -> assertThat(i).containsEntry("body", "Count me in")
                        .containsEntry("mediaUrls", List.of("https://example.com/a.jpg")).containsEntry("keyword", "help"));

        // the queue refusing too: nothing else to do but the 500
        var refused = new InboundService(runtime.wiringWith(storeDown), new DownQueue());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> refused.receiveOrDefer(
                new InboundService.InboundSms(sid(), answers, line, "Again", List.of()), Duration.ofSeconds(5)))
                .hasMessageContaining("SQS is down");

        // a deleted line's number, its former line's read failing: handed on, not dropped
        assertThat(a.delete("/v1/lines/" + lineId).status()).isEqualTo(204);
        var formerReadsDown = throttling(request -> request instanceof software.amazon.awssdk.services.dynamodb.model.GetItemRequest g
                && g.key().get("sk") != null && "FORMER".equals(g.key().get("sk").s()));
        String alsoLeaves = "+14155550783";
        captured.clear();
        assertThat(new InboundService(runtime.wiringWith(formerReadsDown), (queue, messages) -> captured.addAll(messages))
                .receiveOrDefer(new InboundService.InboundSms(sid(), alsoLeaves, line, "STOP", List.of()), Duration.ofSeconds(5)))
                .isInstanceOf(InboundService.Deferred.class);
        assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", captured.getFirst())))
                .contains("\"batchItemFailures\":[]");
        runtime.awaitIdle();
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).contains(alsoLeaves);
    }

    /** An inbound text's webhook event as Twilio signs it over the runtime's public URL. */
    static com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent signedInbound(LocalRuntime runtime, String from,
                                                                                          String to, String body) {
        String path = "/webhooks/twilio/inbound";
        var params = new java.util.LinkedHashMap<String, List<String>>();
        InboundE2eTest.twilioInbound(sid(), from, to, body).forEach((k, v) -> params.put(k, List.of(v)));
        var event = new com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent();
        event.setRouteKey("POST " + path);
        event.setRawPath(path);
        event.setHeaders(new java.util.HashMap<>(Map.of("content-type", "application/x-www-form-urlencoded",
                "x-twilio-signature", groupmsg.carrier.TwilioSignature.compute(runtime.publicBaseUrl() + path, params,
                        runtime.settings().twilioAuthToken()))));
        event.setBody(String.join("&", params.entrySet().stream().map(e -> java.net.URLEncoder.encode(e.getKey(),
                java.nio.charset.StandardCharsets.UTF_8) + "=" + java.net.URLEncoder.encode(e.getValue().getFirst(),
                java.nio.charset.StandardCharsets.UTF_8)).toList()));
        var context = new com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent.RequestContext();
        context.setRouteKey("POST " + path);
        event.setRequestContext(context);
        return event;
    }

    /**
     * A webhook that came signed by our carrier account but does not verify (signed for another URL: a wrong
     * publicBaseUrl; or with another token) logs the metric that pages; one with no signature (a scanner's post), one
     * that is no form, or a stranger's forgery (another AccountSid, which ours it cannot know) does not.
     */
    @Test
    void aSignedWebhookThatDoesNotVerifyIsLoggedToPage(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Mismatch Co");
        String line = linePhone();
        createLine(a, line, "long_code", 10);
        var webhook = new groupmsg.webhooks.CarrierWebhookHandler(runtime.wiring());
        String ours = runtime.wiring().config().carrier().accountSid();
        var otherUrl = signedElsewhere(runtime, line, ours);
        var stranger = signedElsewhere(runtime, line, "AC" + "f".repeat(32));
        var unsigned = signedInbound(runtime, "+14155550772", line, "STOP");
        unsigned.getHeaders().remove("x-twilio-signature");
        var notAForm = signedInbound(runtime, "+14155550773", line, "STOP");
        notAForm.setBody("%zz");

        var original = System.out;
        var captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            for (var event : List.of(otherUrl, stranger, unsigned, notAForm)) {
                assertThat(webhook.handleRequest(event, null).getStatusCode()).isEqualTo(403);
            }
        } finally {
            System.setOut(original);
        }
        var rejected = captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains("\"webhook_signature_rejected\"")).toList();
        assertThat(rejected).hasSize(4);
        assertThat(rejected.stream().filter(l -> l.contains("\"metric\":\"WebhookSignatureMismatch\""))).hasSize(1);
        assertThat(rejected.getFirst()).contains("\"metric\":\"WebhookSignatureMismatch\"");
    }

    /** An inbound webhook from {@code accountSid}'s account, signed for another URL than ours. */
    private static com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent signedElsewhere(LocalRuntime runtime,
                                                                                                String line, String accountSid) {
        var event = signedInbound(runtime, "+14155550771", line, "STOP");
        var params = new java.util.LinkedHashMap<String, List<String>>();
        for (String pair : event.getBody().split("&")) {
            String[] kv = pair.split("=", 2);
            params.put(java.net.URLDecoder.decode(kv[0], java.nio.charset.StandardCharsets.UTF_8),
                    List.of(java.net.URLDecoder.decode(kv[1], java.nio.charset.StandardCharsets.UTF_8)));
        }
        params.put("AccountSid", List.of(accountSid));
        event.setBody(String.join("&", params.entrySet().stream().map(e -> java.net.URLEncoder.encode(e.getKey(),
                java.nio.charset.StandardCharsets.UTF_8) + "=" + java.net.URLEncoder.encode(e.getValue().getFirst(),
                java.nio.charset.StandardCharsets.UTF_8)).toList()));
        event.getHeaders().put("x-twilio-signature", groupmsg.carrier.TwilioSignature.compute(
                "https://old-domain.example/webhooks/twilio/inbound", params, runtime.settings().twilioAuthToken()));
        return event;
    }

    /**
     * The webhook gives a text's receipt its invocation's time left less the hand-on's 4 s: with 4.3 s left and a
     * line read slowed 2.5 s, it answers in well under that, the text handed on (and stored by the worker).
     */
    @Test
    void theWebhookHandsOnWithinItsInvocationsTime(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Webhook Time Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        var slow = groupmsg.local.TestFaults.slowing(InboundFaultsTest::lineRead, 2_500);
        var webhook = new groupmsg.webhooks.CarrierWebhookHandler(runtime.wiringWith(slow));
        var leftWithLittle = (com.amazonaws.services.lambda.runtime.Context) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[]{com.amazonaws.services.lambda.runtime.Context.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getRemainingTimeInMillis" -> 4_300;
                    case "getAwsRequestId" -> "req-webhook-time";
                    default -> null;
                });
        long start = System.nanoTime();
        assertThat(webhook.handleRequest(signedInbound(runtime, "+14155550793", line, "Running late"), leftWithLittle)
                .getStatusCode()).isEqualTo(200);
        // not even one slowed read waited for (the hand-on's time is 0.3 s)
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2_400));
        assertThat(await(() -> inbound(a, "?lineId=" + lineId), l -> !l.isEmpty(), 15_000)).singleElement()
                .satisfies(i -> assertThat(i).containsEntry("body", "Running late"));
    }

    /**
     * A receipt slowed past its time (a throttle's backoff, seconds a call) is handed on in time for the webhook's 200;
     * the receipt going on meanwhile stores nothing once it sees the hand-on (had it stored first, the worker's would
     * be a duplicate: one claim of the carrier id wins).
     */
    @Test
    void aSlowReceiptIsHandedOnInTimeAndTheTextIsStoredOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Slow Store Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        var lineReadsEnded = new java.util.concurrent.atomic.AtomicInteger();
        var slowLineRead = groupmsg.local.TestFaults.slowing(InboundFaultsTest::lineRead, 2_500, lineReadsEnded);
        var captured = new CopyOnWriteArrayList<QueueMessage>();
        long start = System.nanoTime();
        assertThat(new InboundService(runtime.wiringWith(slowLineRead), (queue, messages) -> captured.addAll(messages))
                .receiveOrDefer(new InboundService.InboundSms(sid(), "+14155550791", line, "Running late", List.of()),
                        Duration.ofMillis(500))).isInstanceOf(InboundService.Deferred.class);
        // handed on after its 0.5 s, not after the slowed read
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2_400));
        assertThat(captured).hasSize(1);
        // the slow receipt ends meanwhile, sees the hand-on and stores nothing (no second try of a throttled store);
        // the worker stores it, once however often it runs
        for (long deadline = System.currentTimeMillis() + 30_000; lineReadsEnded.get() < 2; Thread.sleep(50)) {
            assertThat(System.currentTimeMillis()).as("the receipt's two line reads ended").isLessThan(deadline);
        }
        Thread.sleep(500); // after its last read, the receipt looks at the hand-on (in memory) and ends
        assertThat(inbound(a, "?lineId=" + lineId)).isEmpty();
        for (int run = 0; run < 2; run++) {
            assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", captured.getFirst())))
                    .contains("\"batchItemFailures\":[]");
        }
        runtime.awaitIdle();
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement().satisfies(i -> assertThat(i).containsEntry("body", "Running late"));
    }

    /**
     * A reply whose {@code reply.received} the topic refuses (an outage, a throttle, a permission) is still relayed, and
     * its job succeeds: the publish goes to a job of its own in the inbound queue (its own message group), which
     * publishes it once the topic takes it. Before, the job failed, and the conversation's later replies waited behind
     * its retries (3 minutes each), each failing the same way.
     */
    @Test
    void aReplyWhosePublishIsRefusedIsRelayedAndPublishedByAJobOfItsOwn(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Topic Down Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String ann = "+14155550753";
        String bob = "+14155550754";
        String conversationId = (String) ConversationsE2eTest.create(a, lineId,
                List.<Object>of(Map.of("phone", ann, "name", "Ann"), bob), "Hi both").get("id");
        var queued = new CopyOnWriteArrayList<QueueMessage>();
        QueueSender capture = (queue, messages) -> queued.addAll(messages);
        var stored = (InboundService.Stored) new InboundService(runtime.wiring(), capture)
                .receive(new InboundService.InboundSms(sid(), ann, line, "Running late", List.of()));
        assertThat(queued).singleElement().satisfies(job -> assertThat(job.groupId()).isEqualTo(conversationId));
        List<String> refused = new CopyOnWriteArrayList<>();
        groupmsg.notify.EventPublisher topicDown = (topic, account, type, event) -> {
            refused.add(type);
            throw new IllegalStateException("SNS refused the publish (test)");
        };
        var job = new com.amazonaws.services.lambda.runtime.events.SQSEvent.SQSMessage();
        job.setMessageId(java.util.UUID.randomUUID().toString());
        job.setBody(queued.getFirst().body());
        job.setAttributes(Map.of("MessageGroupId", conversationId, "ApproximateReceiveCount", "1"));
        var event = new com.amazonaws.services.lambda.runtime.events.SQSEvent();
        event.setRecords(List.of(job));

        var answer = new groupmsg.inbound.InboundWorkerHandler(runtime.wiring().withEvents(topicDown)).handleRequest(event, null);

        assertThat(refused).containsExactly("reply.received");
        assertThat(answer.getBatchItemFailures()).as("the conversation's next replies do not wait for it").isEmpty();
        assertThat(await(() -> ConversationsE2eTest.bodiesTo(a, line, bob), l -> l.size() == 2, 15_000)).last().isEqualTo("Ann: Running late");
        // the job of its own, taken by the runtime's inbound worker with the topic up
        assertThat(await(() -> integrationEvents(a, accountId, "reply.received"), l -> !l.isEmpty(), 15_000))
                .singleElement().satisfies(e -> assertThat(e).containsEntry("inboundId", stored.message().id())
                        .containsEntry("conversationId", conversationId));
        runtime.awaitIdle();
        assertThat(integrationEvents(a, accountId, "reply.received")).hasSize(1);
        assertThat(ConversationsE2eTest.bodiesTo(a, line, bob)).filteredOn("Ann: Running late"::equals).hasSize(1);
    }

    /**
     * A STOP or START whose {@code opt_out.changed} the topic refuses still gets its reply at once: the event is
     * published after it, and the job's retry publishes it (the reply is not sent twice). Before, the reply waited
     * behind every retry of the publish (3 minutes each) and was lost with the last.
     */
    @Test
    void aKeywordWhosePublishIsRefusedIsAnsweredAtOnceAndPublishedOnItsRetry(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Topic Down Keywords Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        String phone = "+14155550761";
        List<String> refused = new CopyOnWriteArrayList<>();
        groupmsg.notify.EventPublisher topicDown = (topic, account, type, event) -> {
            refused.add(type);
            throw new IllegalStateException("SNS refused the publish (test)");
        };
        for (var keyword : List.of(Map.entry("STOP", OPT_OUT_REPLY), Map.entry("START", OPT_IN_REPLY))) {
            var queued = new CopyOnWriteArrayList<QueueMessage>();
            QueueSender capture = (queue, messages) -> queued.addAll(messages);
            new InboundService(runtime.wiring(), capture).receive(new InboundService.InboundSms(sid(), phone, line, keyword.getKey(), List.of()));
            var job = new com.amazonaws.services.lambda.runtime.events.SQSEvent.SQSMessage();
            job.setMessageId(java.util.UUID.randomUUID().toString());
            job.setBody(queued.getFirst().body());
            job.setAttributes(Map.of("MessageGroupId", queued.getFirst().groupId(), "ApproximateReceiveCount", "1"));
            var event = new com.amazonaws.services.lambda.runtime.events.SQSEvent();
            event.setRecords(List.of(job));

            var failed = new groupmsg.optout.OptOutWorkerHandler(runtime.wiring().withEvents(topicDown)).handleRequest(event, null);

            assertThat(failed.getBatchItemFailures()).as("retried for its event").hasSize(1);
            assertThat(refused).last().isEqualTo("opt_out.changed");
            assertThat(await(() -> sentTo(a, line, phone, keyword.getValue()), l -> !l.isEmpty(), 15_000))
                    .as("%s answered while the topic refuses", keyword.getKey()).hasSize(1);
            assertThat(integrationEvents(a, accountId, "opt_out.changed")).hasSize(keyword.getKey().equals("STOP") ? 0 : 1);

            var retried = new groupmsg.optout.OptOutWorkerHandler(runtime.wiring()).handleRequest(event, null);

            assertThat(retried.getBatchItemFailures()).isEmpty();
            runtime.awaitIdle();
            assertThat(sentTo(a, line, phone, keyword.getValue())).as("%s answered once", keyword.getKey()).hasSize(1);
        }
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).extracting(e -> e.get("optedOut")).containsExactly(true, false);
        assertThat(optOuts(a, lineId)).isEmpty();
    }

    /**
     * A START lifts the number's carrier refusals on the account's other long-code lines too (Twilio keeps opt-outs per
     * Messaging Service: its START to one number lifts the block on all of them), each told by an event; not an opt-out
     * the number asked for on another line (its STOP), one by hand, nor a toll-free line's (its network blocks it
     * until START is texted to it). Before, the other lines kept refusing it to the number for good.
     */
    @Test
    void aStartLiftsTheNumbersCarrierRefusalsOnTheAccountsOtherLines(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Service Wide Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineA = linePhone();
        String lineAId = createLine(a, lineA, "long_code", 20);
        String refusedId = createLine(a, linePhone(), "long_code", 20);
        String stoppedLine = linePhone();
        String stoppedId = createLine(a, stoppedLine, "long_code", 20);
        String byHandId = createLine(a, linePhone(), "long_code", 20);
        String tollFreeId = createLine(a, LinesE2eTest.newTollFree(), "toll_free", 20);
        String phone = "+14155550611";
        var store = new groupmsg.optout.OptOutStore(new groupmsg.platform.dynamo.DynamoOps(runtime.wiring().dynamo()),
                runtime.wiring().config().table(Tables.CORE));
        long before = System.currentTimeMillis() - 60_000;
        assertThat(store.recordCarrierRefusal(accountId, lineAId, phone, before, null)).isTrue();
        assertThat(store.recordCarrierRefusal(accountId, refusedId, phone, before, null)).isTrue();
        assertThat(store.recordCarrierRefusal(accountId, tollFreeId, phone, before, null)).isTrue();
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", byHandId, "phone", phone)).status()).isEqualTo(201);
        InboundE2eTest.text(a, phone, stoppedLine, "STOP");
        await(() -> optOuts(a, stoppedId), l -> !l.isEmpty(), 15_000);

        InboundE2eTest.text(a, phone, lineA, "START");

        assertThat(await(() -> optOuts(a, refusedId), List::isEmpty, 15_000)).as("the refusal on the other line").isEmpty();
        var lifted = await(() -> integrationEvents(a, accountId, "opt_out.changed").stream()
                .filter(e -> refusedId.equals(e.get("lineId"))).toList(), l -> !l.isEmpty(), 15_000);
        assertThat(lifted).singleElement().satisfies(e -> assertThat(e).containsEntry("optedOut", false)
                .containsEntry("source", "keyword").containsEntry("phone", phone));
        runtime.awaitIdle(); // every line visited, and every event out
        assertThat(optOuts(a, lineAId)).isEmpty();
        assertThat(optOuts(a, stoppedId)).as("its STOP there").hasSize(1);
        assertThat(optOuts(a, byHandId)).as("by hand").hasSize(1);
        assertThat(optOuts(a, tollFreeId)).as("toll-free").hasSize(1);
        var told = integrationEvents(a, accountId, "opt_out.changed");
        assertThat(told.stream().filter(e -> refusedId.equals(e.get("lineId")))).hasSize(1);
        assertThat(told).as("nothing lifted there").noneMatch(e -> Boolean.FALSE.equals(e.get("optedOut"))
                && List.of(stoppedId, byHandId, tollFreeId).contains(e.get("lineId")));

        // refused there again; a "Yes" handled as a reply (not opted out of line A) is an opt-in to the carrier too
        assertThat(store.recordCarrierRefusal(accountId, refusedId, phone, System.currentTimeMillis() - 1_000, null)).isTrue();
        InboundE2eTest.text(a, phone, lineA, "Yes");
        assertThat(await(() -> optOuts(a, refusedId), List::isEmpty, 15_000)).isEmpty();
        assertThat(optOuts(a, stoppedId)).hasSize(1);
    }

    /**
     * A START whose number texted STOP again before its job ran stays opted out of its line (the STOP was recorded as it
     * came), and lifts nothing elsewhere: the STOP is the carrier's last word too, and a lift would tell a CRM of an
     * opt-in that is not.
     */
    @Test
    void aStartOvertakenByAStopLiftsNothingElsewhere(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Start Then Stop Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String refusedId = createLine(a, linePhone(), "long_code", 20);
        String phone = "+14155550612";
        var store = new groupmsg.optout.OptOutStore(new groupmsg.platform.dynamo.DynamoOps(runtime.wiring().dynamo()),
                runtime.wiring().config().table(Tables.CORE));
        assertThat(store.recordCarrierRefusal(accountId, refusedId, phone, System.currentTimeMillis() - 60_000, null)).isTrue();
        var webhook = new InboundService(runtime.wiring(), new DownQueue());
        var start = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "START", List.of()));
        webhook.receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));

        var startJob = new QueueMessage(Json.write(Map.of("accountId", accountId, "inboundId", start.message().id())),
                lineId + "#" + phone, start.message().id());
        assertThat(runtime.functions().get("optout-worker").invoke(sqsEvent("optouts.fifo", startJob)))
                .contains("\"batchItemFailures\":[]");

        assertThat(optOuts(a, lineId)).as("the later STOP's").hasSize(1);
        assertThat(optOuts(a, refusedId)).as("not lifted").singleElement()
                .satisfies(o -> assertThat(o).containsEntry("source", "carrier_error"));
        runtime.awaitIdle();
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).noneMatch(e -> refusedId.equals(e.get("lineId")));
    }

    @Test
    void aJobThatCannotBeParsedIsReportedFailedSoItEndsInTheDeadLetterQueue(LocalRuntime runtime) throws Exception {
        var garbage = new QueueMessage("{not json", "g1", "d1");
        assertThat(runtime.functions().get("optout-worker").invoke(sqsEvent("optouts.fifo", garbage)))
                .contains("batchItemFailures").doesNotContain("\"batchItemFailures\":[]");
        var noIds = new QueueMessage("{\"accountId\":\"acct_x\"}", "g1", "d2");
        assertThat(runtime.functions().get("inbound-worker").invoke(sqsEvent("inbound.fifo", noIds)))
                .doesNotContain("\"batchItemFailures\":[]");
    }

    /**
     * A manual opt-out, and its removal, are told by an event staged with the change in one transaction: with the queue
     * down when the request ends, the change stands and its event goes out once the outbox is redriven (maintenance
     * does so). Before, the event was published in the request: a failed publish was lost for good (its retry found
     * the change made: a second POST created nothing, a second DELETE was a 404).
     */
    @Test
    void aManualOptOutChangeIsToldEvenWhenTheQueueIsDownAsTheRequestEnds(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Manual Publish Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550607";
        var down = new DownQueue();
        var service = new groupmsg.optout.OptOutService(runtime.wiring(), down);

        assertThat(service.optOut(accountId, lineId, phone, null).created()).isTrue();
        assertThat(optOuts(a, lineId)).hasSize(1);
        assertThat(down.attempted).containsExactly("optouts");
        runtime.awaitIdle();
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).as("not told yet").isEmpty();
        IdempotentRetriesE2eTest.redriveOutbox(runtime);
        assertThat(await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> !l.isEmpty(), 15_000))
                .extracting(e -> e.get("optedOut"), e -> e.get("source"))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(true, "manual"));

        service.remove(accountId, lineId, phone);
        assertThat(optOuts(a, lineId)).isEmpty();
        assertThat(down.attempted).containsExactly("optouts", "optouts");
        IdempotentRetriesE2eTest.redriveOutbox(runtime);
        assertThat(await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() >= 2, 15_000))
                .extracting(e -> e.get("optedOut"), e -> e.get("source"))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(true, "manual"), org.assertj.core.groups.Tuple.tuple(false, "manual"));
        // a removal of nothing is a 404 that tells nothing
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.remove(accountId, lineId, phone))
                .isInstanceOf(groupmsg.platform.api.ApiException.class);
        runtime.awaitIdle();
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).hasSize(2);
    }

    /**
     * A manual opt-out recorded after a START arrived, but before its job ran, is newer than the START and stands: the
     * START lifts only what was recorded before it came. Before, it lifted the manual opt-out too.
     */
    @Test
    void aManualOptOutRecordedAfterAStartArrivedStandsWhenTheStartIsHandled(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Start Then Manual Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String phone = "+14155550608";
        var webhook = new InboundService(runtime.wiring(), new DownQueue());
        var queue = new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config());
        var service = new groupmsg.optout.OptOutService(runtime.wiring(), queue);
        var stop = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "STOP", List.of()));
        service.handleKeyword(accountId, stop.message().id());
        var start = (InboundService.Stored) webhook.receive(new InboundService.InboundSms(sid(), phone, line, "START", List.of()));
        Thread.sleep(5); // the manual changes come after the START arrived
        service.remove(accountId, lineId, phone);
        assertThat(service.optOut(accountId, lineId, phone, null).created()).isTrue();

        new groupmsg.optout.OptOutService(runtime.wiring(), (q, messages) -> { }).handleKeyword(accountId, start.message().id());
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "manual"));
        // and the last event a receiver got says opted out, as on record
        var events = await(() -> integrationEvents(a, accountId, "opt_out.changed"),
                l -> !l.isEmpty() && "manual".equals(l.getLast().get("source")) && Boolean.TRUE.equals(l.getLast().get("optedOut")), 15_000);
        assertThat(events.getLast()).containsEntry("optedOut", true).containsEntry("source", "manual");
        runtime.awaitIdle();
        assertThat(integrationEvents(a, accountId, "opt_out.changed").getLast()).as("nothing after it").isEqualTo(events.getLast());
        assertThat(events.getLast().get("changeId")).asString().startsWith("manual-" + lineId);
    }

    /**
     * A carrier's "unsubscribed" is told (with its changeId, the same on every publish) while the opt-out it recorded
     * stands; once a START lifted it, the job (run late, after the START's) tells nothing: the START told that.
     */
    @Test
    void aCarrierOptOutIsToldWithItsChangeIdWhileItStands(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Carrier Told Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), "long_code", 20);
        String phone = "+14155550609";
        var service = new groupmsg.optout.OptOutService(runtime.wiring(), (q, messages) -> { });
        var store = new groupmsg.optout.OptOutStore(new groupmsg.platform.dynamo.DynamoOps(runtime.wiring().dynamo()),
                runtime.wiring().config().table(Tables.CORE));

        service.afterCarrierOptOut(accountId, lineId, phone, 1_000);
        assertThat(store.recordCarrierRefusal(accountId, lineId, phone, 2_000, null)).isTrue();
        service.afterCarrierOptOut(accountId, lineId, phone, 2_000);
        service.afterCarrierOptOut(accountId, lineId, phone, 2_000);
        var told = await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() >= 2, 15_000);
        assertThat(told).hasSize(2).allSatisfy(e -> assertThat(e).containsEntry("source", "carrier_error")
                .containsEntry("changeId", "carrier-" + lineId + "-14155550609-2000"));
    }
}
