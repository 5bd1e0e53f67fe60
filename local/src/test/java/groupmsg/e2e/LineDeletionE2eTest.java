package groupmsg.e2e;

import groupmsg.accounts.AdminApiHandler;
import groupmsg.groups.GroupService;
import groupmsg.inbound.InboundApiHandler;
import groupmsg.inbound.InboundService;
import groupmsg.lines.LineService;
import groupmsg.messages.MessageService;
import groupmsg.platform.config.Wiring;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.platform.queue.SqsQueueSender;
import software.amazon.awssdk.core.exception.SdkClientException;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.GroupsE2eTest.items;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.optOuts;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Deleting a line: nothing goes from it or comes in to it any more and its number is free for any account; its
 * history, usage and opt-outs stay under its id, and the account's own number added again brings the line back
 * with them (a STOP stays a STOP).
 */
@ExtendWith(LocalRuntimeExtension.class)
class LineDeletionE2eTest {

    @Test
    void aLineWithMessagesStillBeingSentCannotBeDeletedUntilTheyAreOut(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Busy Line Co");
        String line = createLine(a, linePhone(), 2);
        String group = createGroup(a, "Many");
        addMembers(a, group, 7800, 6);
        String sending = (String) send(a, group, line, "Slowly, at 2 a second").get("id");
        var refused = a.delete("/v1/lines/" + line);
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.body()).contains("still being sent");
        assertThat(a.get("/v1/lines/" + line).status()).isEqualTo(200);
        assertThat(awaitSent(a, sending, 30_000)).containsEntry("status", "sent");
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);
    }

    /**
     * A line deleted with a large message's jobs holding places hours ahead in its waiting line, then brought back:
     * its new message is sent at once, not after those places (the old message's jobs are failed when they come).
     */
    @Test
    void aLineBroughtBackHasNoWaitingLineLeftFromBeforeItsDeletion(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Waiting Line Co");
        String phone = linePhone();
        String line = createLine(a, phone, 2);
        // as a 50,000-recipient message on it left the cursor: places given until six hours from now
        var w = runtime.wiring();
        String core = w.config().table(groupmsg.platform.schema.Tables.CORE);
        long now = System.currentTimeMillis() * 1000;
        long sixHours = 6L * 3600 * 1_000_000;
        w.dynamo().putItem(r -> r.tableName(core).item(new java.util.HashMap<>(Map.of(
                "pk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("RATE#" + line),
                "sk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("cursor"),
                "nextAt", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN(Long.toString(now)),
                "waitAt", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN(Long.toString(now + sixHours)),
                "waitMps", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN("2"),
                "expiresAt", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromN(Long.toString(now / 1_000_000 + 30_000))))));
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);
        var back = a.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "mps", 2));
        assertThat(back.status()).as(back.body()).isEqualTo(201);
        assertThat(back.jsonObject()).containsEntry("id", line);

        var cursor = w.dynamo().getItem(r -> r.tableName(core).consistentRead(true).key(LineService.rateCursorKey(line))).item();
        assertThat(cursor).as("the spacing stays").containsKey("nextAt").doesNotContainKeys("waitAt", "waitMps");
        String group = createGroup(a, "Back again");
        addMembers(a, group, 7790, 6);
        String sent = (String) send(a, group, line, "We are back").get("id");
        assertThat(awaitSent(a, sent, 30_000)).as("sent in seconds, not after six hours of places").containsEntry("status", "sent");
    }

    /**
     * A forced deletion while a message's jobs hold places hours ahead: each job that comes back before its place
     * (every 15 minutes) fails its rows as not sent and the message is sent (complete), rather than "sending" until
     * each place comes.
     */
    @Test
    void aForcedDeletionEndsAMessageWaitingHoursAheadWhenItsJobsComeBack(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Forced Deletion Co");
        String phone = linePhone();
        String line = createLine(a, phone, 2);
        // accepted and fanned out, its delivery jobs kept from the queue: its rows wait, queued
        var setup = DeliveryFaultsTest.acceptAndFanOut(a, runtime.wiring(), 3, line);
        assertThat(allDeliveries(a, setup.messageId())).hasSize(3)
                .allSatisfy(d -> assertThat(d).containsEntry("status", "queued"));
        assertThat(a.delete("/v1/lines/" + line + "?force=true").status()).isEqualTo(204);

        // its job back from its first 15 minutes, its place still hours ahead
        long sixHours = 6L * 3600 * 1_000_000;
        String job = groupmsg.platform.json.Json.write(Map.of("accountId", setup.accountId(), "messageId", setup.messageId(),
                "shard", 0, "phones", setup.phones(), "ticketAt", System.currentTimeMillis() * 1000 + sixHours));
        assertThat(runtime.functions().get("delivery-worker").invoke(InboundFaultsTest.sqsEvent("deliveries",
                new groupmsg.platform.queue.QueueMessage(job, null, null)))).contains("\"batchItemFailures\":[]");
        assertThat(allDeliveries(a, setup.messageId())).allSatisfy(d -> assertThat(d)
                .containsEntry("status", "failed").containsEntry("error", "not sent: the line was deleted"));
        assertThat(awaitSent(a, setup.messageId(), 15_000)).containsEntry("status", "sent");
        assertThat(carrierMessages(a, phone)).isEmpty();
    }

    /**
     * A job placed at the line's old rate, back before its place after the rate was raised (the carrier granted the
     * line more throughput), is sent then, not at its place: the places keep the old spacing, so a broadcast on a
     * line raised from 1 to 50 mps went on at 1 mps for hours. A job placed at the rate the line still has waits.
     */
    @Test
    void aJobPlacedBeforeItsLinesRateWasRaisedIsSentWhenItComesBack(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Raised Rate Co");
        String phone = linePhone();
        String line = createLine(a, phone, 1);
        var setup = DeliveryFaultsTest.acceptAndFanOut(a, runtime.wiring(), 4, line);
        long tenMinutes = 600L * 1_000_000;
        java.util.function.Function<List<String>, String> placedAtOneMps = phones -> groupmsg.platform.json.Json.write(Map.of(
                "accountId", setup.accountId(), "messageId", setup.messageId(), "shard", 0, "phones", phones,
                "ticketAt", System.currentTimeMillis() * 1000 + tenMinutes, "placeMps", 1));
        List<String> waiting = setup.phones().subList(0, 2);
        List<String> going = setup.phones().subList(2, 4);
        // at the rate it was placed at: back early, it waits again
        assertThat(runtime.functions().get("delivery-worker").invoke(InboundFaultsTest.sqsEvent("deliveries",
                new groupmsg.platform.queue.QueueMessage(placedAtOneMps.apply(waiting), null, null)))).contains("\"batchItemFailures\":[]");
        assertThat(carrierMessages(a, phone)).isEmpty();

        assertThat(a.patch("/v1/lines/" + line, Map.of("mps", 50)).status()).isEqualTo(200);
        assertThat(runtime.functions().get("delivery-worker").invoke(InboundFaultsTest.sqsEvent("deliveries",
                new groupmsg.platform.queue.QueueMessage(placedAtOneMps.apply(going), null, null)))).contains("\"batchItemFailures\":[]");

        assertThat(carrierMessages(a, phone)).extracting(m -> m.get("to")).containsExactlyInAnyOrderElementsOf(going);
        assertThat(allDeliveries(a, setup.messageId())).filteredOn(d -> going.contains(d.get("phone")))
                .allSatisfy(d -> assertThat(d.get("status")).isIn("sent", "delivered"));
    }

    @Test
    void aDeletedLinesNumberIsFreeAndTheSameAccountGettingItBackGetsTheLineWithItsOptOuts(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Retiring Co");
        ApiClient other = api.forNewAccount("Next Owner Co");
        String phone = linePhone();
        String line = createLine(a, phone, 50);
        String createdAt = (String) a.get("/v1/lines/" + line).jsonObject().get("createdAt");
        String group = createGroup(a, "Regulars");
        List<String> members = addMembers(a, group, 7700, 3);
        String optedOut = members.getFirst();
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", line, "phone", optedOut)).status()).isEqualTo(201);
        String sent = (String) send(a, group, line, "Last call from this number").get("id");
        assertThat(awaitSent(a, sent, 15_000)).containsEntry("status", "sent");
        var direct = a.post("/v1/lines/" + line + "/messages", Map.of("to", members.get(1), "body", "Just you"));
        assertThat(direct.status()).as(direct.body()).isEqualTo(202);
        String directId = (String) direct.jsonObject().get("id");
        assertThat(InboundE2eTest.await(() -> a.get("/v1/lines/" + line + "/messages/" + directId).jsonObject().get("status"),
                "delivered"::equals, 15_000)).isEqualTo("delivered");

        // a STOP that came before the deletion, its job still waiting (SQS refused it): handled after it, recorded
        // and published, with no reply from the line that is gone
        String stopper = members.getLast();
        var noQueue = IdempotentRetriesE2eTest.failing(runtime, IdempotentRetriesE2eTest.sendsTo("optouts"), 1,
                () -> SdkClientException.create("injected fault (test)"));
        var stored = new InboundService(noQueue, new SqsQueueSender(noQueue.sqsClient(), noQueue.config()))
                .receive(new InboundService.InboundSms(InboundE2eTest.sid(), stopper, phone, "STOP", List.of()));
        assertThat(stored).isInstanceOf(InboundService.Stored.class);

        // only the account's owner or admin, and only its own line
        assertThat(other.delete("/v1/lines/" + line).status()).isEqualTo(404);
        assertThat(a.delete("/v1/lines/line_nope").status()).isEqualTo(404);
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(404);
        assertThat(a.get("/v1/lines/" + line).status()).isEqualTo(404);
        assertThat(a.patch("/v1/lines/" + line, Map.of("mps", 5)).status()).isEqualTo(404);
        assertThat(items(a.get("/v1/lines"))).extracting(l -> l.get("id")).doesNotContain(line);
        assertThat(items(a.get("/v1/lines?deleted=false"))).extracting(l -> l.get("id")).doesNotContain(line);
        // listed among the deleted ones, with when; its history and opt-outs are still read, never changed
        var deletedLines = items(a.get("/v1/lines?deleted=true"));
        assertThat(deletedLines).singleElement().satisfies(l -> assertThat(l).containsEntry("id", line)
                .containsEntry("phone", phone).containsKey("deletedAt"));
        assertThat(items(other.get("/v1/lines?deleted=true"))).isEmpty();
        assertThat(a.get("/v1/lines?deleted=yes").status()).isEqualTo(400);
        assertThat(a.get("/v1/lines/" + line + "/messages/" + directId).jsonObject())
                .containsEntry("to", members.get(1)).containsEntry("status", "delivered");
        assertThat(items(a.get("/v1/lines/" + line + "/messages"))).extracting(m -> m.get("id")).containsExactly(directId);
        assertThat(other.get("/v1/lines/" + line + "/messages").status()).isEqualTo(404);
        assertThat(a.post("/v1/lines/" + line + "/messages", Map.of("to", members.get(1), "body", "Again")).status()).isEqualTo(404);
        assertThat(optOuts(a, line)).extracting(o -> o.get("phone")).contains(optedOut); // (and the STOP's, once handled)
        assertThat(items(a.get("/v1/opt-outs?lineId=" + line + "&phone=" + optedOut.replace("+", "%2B")))).hasSize(1);
        assertThat(other.get("/v1/opt-outs?lineId=" + line).status()).isEqualTo(404);
        assertThat(a.delete("/v1/opt-outs/" + line + "/" + optedOut.replace("+", "%2B")).status()).isEqualTo(404);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", line, "phone", members.get(1))).status()).isEqualTo(400);
        var refused = a.post("/v1/groups/" + group + "/messages", Map.of("lineId", line, "sender", "Bar", "title", "t", "body", "Hi"));
        assertThat(refused.status()).isEqualTo(400);
        IdempotentRetriesE2eTest.redriveOutbox(runtime);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(InboundE2eTest.await(() -> InboundE2eTest.integrationEvents(a, accountId, "opt_out.changed").stream()
                .filter(e -> stopper.equals(e.get("phone"))).toList(), e -> !e.isEmpty(), 15_000)).hasSize(1);
        runtime.awaitIdle();
        assertThat(carrierMessages(a, phone).stream().filter(m -> stopper.equals(m.get("to")))
                .map(m -> (String) m.get("body")).toList()).containsExactly("Food Bank: Last call from this number");
        // what it sent stays in the history and the usage
        assertThat(a.get("/v1/messages/" + sent).jsonObject()).containsEntry("lineId", line);
        @SuppressWarnings("unchecked")
        var byLine = (List<Map<String, Object>>) usageOfTheTest(a).get("byLine");
        assertThat(byLine).anySatisfy(l -> assertThat(l).containsEntry("lineId", line).containsEntry("phone", phone));
        // a text to the number is not taken
        int before = inbound(a, "").size();
        text(a, members.getLast(), phone, "Are you still there?");
        runtime.awaitIdle();
        assertThat(inbound(a, "")).hasSize(before);

        // the number is free: another account's line takes it, and gives it up again
        var theirs = other.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "mps", 5));
        assertThat(theirs.status()).as(theirs.body()).isEqualTo(201);
        String theirLine = (String) theirs.jsonObject().get("id");
        assertThat(theirLine).isNotEqualTo(line);
        assertThat(optOuts(other, theirLine)).isEmpty(); // another business: its own consent
        assertThat(a.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "mps", 5)).status()).isEqualTo(409);
        assertThat(other.delete("/v1/lines/" + theirLine).status()).isEqualTo(204);

        // the account adds its number again: the same line, with new settings, its opt-outs and history
        var back = a.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "mps", 20, "optOutNotice", "Reply STOP to opt out."));
        assertThat(back.status()).as(back.body()).isEqualTo(201);
        assertThat(back.jsonObject()).containsEntry("id", line).containsEntry("mps", 20).containsEntry("createdAt", createdAt)
                .containsEntry("optOutNotice", "Reply STOP to opt out.");
        assertThat(items(a.get("/v1/lines"))).extracting(l -> l.get("id")).contains(line);
        assertThat(a.get("/v1/lines/" + line).jsonObject()).doesNotContainKey("deletedAt");
        assertThat(items(a.get("/v1/lines?deleted=true"))).isEmpty();
        assertThat(optOuts(a, line)).extracting(o -> o.get("phone")).containsExactlyInAnyOrder(optedOut, stopper);
        String again = (String) send(a, group, line, "We are back").get("id");
        assertThat(awaitSent(a, again, 15_000)).containsEntry("status", "sent");
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) a.get("/v1/messages/" + again).jsonObject().get("counts");
        assertThat(counts).containsEntry("optedOut", 2);
        // and it takes texts again
        text(a, members.getLast(), phone, "Welcome back");
        assertThat(InboundE2eTest.await(() -> inbound(a, ""), l -> l.size() == before + 1, 15_000)).hasSize(before + 1);
    }

    /**
     * A STOP or START texted to a deleted line's number (a person answering an old broadcast) is still recorded for
     * that line, with nothing sent from it: its opt-outs come back with it when the account takes the number again,
     * and a STOP must stay a STOP. Before, no line had the number, and the text was dropped. Anything else is dropped
     * as before; once another account's line has the number, its texts are that line's.
     */
    @Test
    void aStopToADeletedLinesNumberIsStillRecordedForThatLine(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Deleted Number Stop Co");
        String phone = linePhone();
        String line = createLine(a, phone, 20);
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);
        var arrivals = new InboundService(runtime.wiring(), new SqsQueueSender(runtime.wiring().sqsClient(), runtime.wiring().config()));
        String stopper = "+14155550881", chatter = "+14155550882", comesBack = "+14155550883";

        assertThat(arrivals.receive(new InboundService.InboundSms(InboundE2eTest.sid(), stopper, phone, "STOP", List.of())))
                .isInstanceOf(InboundService.Stored.class);
        assertThat(arrivals.receive(new InboundService.InboundSms(InboundE2eTest.sid(), comesBack, phone, "Unsubscribe", List.of())))
                .isInstanceOf(InboundService.Stored.class);
        for (String body : List.of("hello?", "HELP", "Yes")) {
            assertThat(arrivals.receive(new InboundService.InboundSms(InboundE2eTest.sid(), chatter, phone, body, List.of())))
                    .as(body).isInstanceOf(InboundService.UnknownLine.class);
        }
        assertThat(InboundE2eTest.await(() -> optOuts(a, line), l -> l.size() == 2, 15_000))
                .extracting(o -> o.get("phone") + " " + o.get("source")).containsExactlyInAnyOrder(stopper + " keyword", comesBack + " keyword");
        // "Yes" from a number opted out of that line is its opt-in, as on any line
        assertThat(arrivals.receive(new InboundService.InboundSms(InboundE2eTest.sid(), comesBack, phone, "Yes", List.of())))
                .isInstanceOf(InboundService.Stored.class);
        assertThat(InboundE2eTest.await(() -> optOuts(a, line), l -> l.size() == 1, 15_000))
                .extracting(o -> o.get("phone")).containsExactly(stopper);
        runtime.awaitIdle();
        assertThat(carrierMessages(a, phone)).as("nothing sent from the deleted line").isEmpty();

        // the account takes the number again: the line comes back with the STOP's opt-out
        assertThat(createLine(a, phone, 20)).isEqualTo(line);
        assertThat(optOuts(a, line)).extracting(o -> o.get("phone")).containsExactly(stopper);
        // deleted again, and another account's line takes the number: texts to it are that line's, not the old one's
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);
        ApiClient b = api.forNewAccount("Number Taker Co");
        String taken = createLine(b, phone, 20);
        var stored = arrivals.receive(new InboundService.InboundSms(InboundE2eTest.sid(), chatter, phone, "STOP", List.of()));
        assertThat(stored).isInstanceOf(InboundService.Stored.class);
        assertThat(((InboundService.Stored) stored).message().lineId()).isEqualTo(taken);
        assertThat(InboundE2eTest.await(() -> optOuts(b, taken), l -> l.size() == 1, 15_000)).extracting(o -> o.get("phone")).containsExactly(chatter);
        assertThat(optOuts(a, line)).extracting(o -> o.get("phone")).containsExactly(stopper);
    }

    /**
     * The line's deletion commits between the send's read of the line and its acceptance (so the deletion found
     * nothing being sent): the message is accepted, but nothing goes from the number, which may be another
     * account's by then; every recipient shows why, and the message completes.
     */
    @Test
    void aMessageAcceptedAsItsLineIsDeletedIsNotSentFromTheNumber(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Racing Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String phone = linePhone();
        String line = createLine(a, phone, 50);
        String group = createGroup(a, "Racers");
        List<String> members = addMembers(a, group, 7500, 3);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", line, "phone", members.getFirst())).status()).isEqualTo(201);
        var deleted = new AtomicBoolean();
        ExecutionInterceptor deleteAsTheSendIsAccepted = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest t && t.transactItems().stream()
                        .anyMatch(item -> item.put() != null && item.put().item().get("sk").s().startsWith("MSG#msg_"))
                        && deleted.compareAndSet(false, true)) {
                    new LineService(runtime.wiring()).delete(accountId, line);
                }
            }
        };
        Wiring racing = runtime.wiringWith(deleteAsTheSendIsAccepted);
        var queue = new SqsQueueSender(racing.sqsClient(), racing.config());
        String message = new MessageService(racing, new GroupService(racing, queue), queue).send(accountId, group,
                new MessageService.SendRequest(line, "Racer", "race", "Sent from a gone line?", List.of())).id();
        assertThat(deleted).isTrue();
        assertThat(a.get("/v1/lines/" + line).status()).isEqualTo(404);

        assertThat(awaitSent(a, message, 15_000)).containsEntry("status", "sent");
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) a.get("/v1/messages/" + message).jsonObject().get("counts");
        assertThat(counts).containsEntry("failed", 2).containsEntry("optedOut", 1).containsEntry("sent", 0).containsEntry("delivered", 0);
        var rows = allDeliveries(a, message);
        assertThat(rows).filteredOn(d -> members.getFirst().equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("status", "opted_out"));
        assertThat(rows).filteredOn(d -> !members.getFirst().equals(d.get("phone"))).hasSize(2).allSatisfy(d -> assertThat(d)
                .containsEntry("status", "failed").containsEntry("error", "not sent: the line was deleted"));
        assertThat(carrierMessages(a, phone)).noneSatisfy(m -> assertThat(members).contains((String) m.get("to")));
    }

    /**
     * A line's message stored by a request whose answer was lost (a 500), then the line deleted once it was sent:
     * the request's retry under its Idempotency-Key still answers that message, and nothing is sent again.
     */
    @Test
    void aRetryOfALinesMessageAnswersItAlsoOnceTheLineIsDeleted(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Lost Answer Line Co");
        String phone = linePhone();
        String line = createLine(a, phone, 20);
        var handler = new InboundApiHandler(IdempotentRetriesE2eTest.failingOnce(runtime,
                IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("to", "+16175557800", "body", "Your table is ready");
        var first = IdempotentRetriesE2eTest.call(handler, a, "POST /v1/lines/{id}/messages", "/v1/lines/" + line + "/messages",
                Map.of("id", line), body, "table-1");
        assertThat(first.getStatusCode()).isEqualTo(500);
        var listed = InboundE2eTest.await(() -> items(a.get("/v1/lines/" + line + "/messages")),
                l -> l.size() == 1 && "delivered".equals(l.getFirst().get("status")), 15_000);
        String id = (String) listed.getFirst().get("id");
        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);

        var retry = a.withHeader("Idempotency-Key", "table-1").post("/v1/lines/" + line + "/messages", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(202);
        assertThat(retry.jsonObject()).containsEntry("id", id).containsEntry("status", "delivered");
        assertThat(a.withHeader("Idempotency-Key", "table-2").post("/v1/lines/" + line + "/messages", body).status())
                .as("a new message from the deleted line").isEqualTo(404);
        runtime.awaitIdle();
        assertThat(carrierMessages(a, phone)).filteredOn(m -> "+16175557800".equals(m.get("to"))).hasSize(1);
    }

    /**
     * A line created (and later one brought back) by a request whose answer was lost (a 500): its retry under the
     * Idempotency-Key answers that line, not a 409 for the number it took itself; a new request for it is a 409.
     */
    @Test
    void aRetryOfALineCreateWhoseAnswerWasLostAnswersTheLine(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Lost Line Co");
        String phone = linePhone();
        Map<String, Object> body = Map.of("phone", phone, "type", "long_code", "mps", 4);
        var created = IdempotentRetriesE2eTest.call(new AdminApiHandler(IdempotentRetriesE2eTest.failingOnce(runtime,
                IdempotentRetriesE2eTest::completesAnIdempotencyRecord)), a, "POST /v1/lines", "/v1/lines", Map.of(), body, "line-1");
        assertThat(created.getStatusCode()).isEqualTo(500);
        var retry = a.withHeader("Idempotency-Key", "line-1").post("/v1/lines", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        String line = (String) retry.jsonObject().get("id");
        assertThat(items(a.get("/v1/lines"))).extracting(l -> l.get("id")).containsExactly(line);
        assertThat(a.withHeader("Idempotency-Key", "line-2").post("/v1/lines", body).status()).isEqualTo(409);

        assertThat(a.delete("/v1/lines/" + line).status()).isEqualTo(204);
        Map<String, Object> again = Map.of("phone", phone, "type", "long_code", "mps", 9);
        var revived = IdempotentRetriesE2eTest.call(new AdminApiHandler(IdempotentRetriesE2eTest.failingOnce(runtime,
                IdempotentRetriesE2eTest::completesAnIdempotencyRecord)), a, "POST /v1/lines", "/v1/lines", Map.of(), again, "line-3");
        assertThat(revived.getStatusCode()).isEqualTo(500);
        var retried = a.withHeader("Idempotency-Key", "line-3").post("/v1/lines", again);
        assertThat(retried.status()).as(retried.body()).isEqualTo(201);
        assertThat(retried.jsonObject()).containsEntry("id", line).containsEntry("mps", 9);
        assertThat(a.withHeader("Idempotency-Key", "line-3").post("/v1/lines", again).header("idempotent-replayed")).isEqualTo("true");
    }
}
