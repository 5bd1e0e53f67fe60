package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.groups.GroupService;
import groupmsg.groups.UndeliverableMembers;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.carrier.SentLookup;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.DeliveryWorkerHandler;
import groupmsg.messages.FanoutService;
import groupmsg.messages.GroupMessage;
import groupmsg.messages.MessageMaintenance;
import groupmsg.messages.MessageService;
import groupmsg.messages.ReceiptWorkerHandler;
import groupmsg.messages.StatusCallbacks.Receipt;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.GroupsE2eTest.items;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Members whose number cannot receive texts (the carrier said so, at the send or after it) are marked in the group
 * and skipped by its next messages, never sent nor billed, until someone clears the mark; failures that say nothing
 * about the number (a phone switched off) mark nothing. Through the local runtime and its carrier emulator, whose
 * magic numbers fail as Twilio's would.
 */
@ExtendWith(LocalRuntimeExtension.class)
class UndeliverableMembersE2eTest {
    /** Refused at the send: 21614, not a mobile number (Twilio's magic number). */
    static final String NOT_MOBILE = "+15005550009";
    /** Accepted, then undelivered: 30006, a landline (the emulator's). */
    static final String LANDLINE = "+15005550030";
    /** Accepted, then undelivered: 30003, unreachable for now (a phone switched off): not marked. */
    static final String SWITCHED_OFF = "+15005550032";

    /**
     * Twilio fails a message from a long code outside an A2P 10DLC campaign (30034) without sending it: the fault is
     * the sender's, so the recipient fails unbilled (the bill taken back) and is not marked undeliverable.
     */
    @Test
    void aMessageFailedForAnUnregisteredSenderIsNotBilledAndMarksNobody(ApiClient api, LocalRuntime runtime) throws Exception {
        String unregistered = "+15005550033";
        ApiClient a = api.forNewAccount("Unregistered Sender Co");
        String line = createLine(a, linePhone(), 50);
        String group = createGroup(a, "Campaign-less");
        List<String> mobiles = addMembers(a, group, 7300, 2);
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", unregistered))))
                .status()).isEqualTo(200);
        String id = (String) send(a, group, line, "Registered yet?").get("id");
        assertThat(awaitSent(a, id, 20_000).get("status")).isEqualTo("sent");
        await(() -> status(a, id, unregistered), "failed"::equals, 20_000);
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);
        var rows = byPhone(allDeliveries(a, id));
        assertThat(rows.get(unregistered)).containsEntry("status", "failed").containsEntry("error", "carrier 30034");
        for (String p : mobiles) assertThat(rows.get(p).get("status")).isIn("sent", "delivered");
        assertThat(usageOfTheTest(a)).as("the failed one's bill taken back").containsEntry("messages", 2);
        assertThat(member(a, group, unregistered)).doesNotContainKey("undeliverable");
    }

    /**
     * Twilio can report a recipient's unsubscribing (21610) in a status callback, for a message a Messaging Service
     * queued, not only at the send: the row is opted_out, not billed, and the opt-out is recorded for the line (source
     * carrier_error, its event published) as at the send, so the next message skips the number. Before, the row
     * failed ("carrier 21610"), nothing was recorded, and every later message was sent to it again.
     */
    @Test
    void anUnsubscribedRecipientReportedInAReceiptIsOptedOutOfTheLine(ApiClient api, LocalRuntime runtime) throws Exception {
        String unsubscribed = "+15005550035";
        ApiClient a = api.forNewAccount("Queued Unsubscribe Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String linePhone = linePhone();
        String line = createLine(a, linePhone, 50);
        String group = createGroup(a, "Newsletter");
        List<String> mobiles = addMembers(a, group, 7400, 2);
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", unsubscribed))))
                .status()).isEqualTo(200);
        String first = (String) send(a, group, line, "This week's news").get("id");
        assertThat(awaitSent(a, first, 20_000).get("status")).isEqualTo("sent");
        await(() -> status(a, first, unsubscribed), "opted_out"::equals, 20_000);
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);
        assertThat(byPhone(allDeliveries(a, first)).get(unsubscribed)).containsEntry("error", "carrier 21610");
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) a.get("/v1/messages/" + first).jsonObject().get("counts");
        assertThat(counts).containsEntry("optedOut", 1).containsEntry("failed", 0);
        assertThat(usageOfTheTest(a)).as("the unsubscribed one's bill taken back").containsEntry("messages", 2);
        assertThat(InboundE2eTest.optOuts(a, line)).singleElement().satisfies(o -> assertThat(o)
                .containsEntry("phone", unsubscribed).containsEntry("source", "carrier_error"));
        assertThat(await(() -> InboundE2eTest.integrationEvents(a, accountId, "opt_out.changed"), l -> !l.isEmpty(), 15_000))
                .singleElement().satisfies(e -> assertThat(e).containsEntry("phone", unsubscribed)
                        .containsEntry("optedOut", true).containsEntry("source", "carrier_error"));

        // the next message skips the number: opted out, never sent nor billed
        String next = (String) send(a, group, line, "Next week's news").get("id");
        assertThat(awaitSent(a, next, 20_000).get("status")).isEqualTo("sent");
        assertThat(byPhone(allDeliveries(a, next)).get(unsubscribed)).containsEntry("status", "opted_out");
        for (String p : mobiles) assertThat(byPhone(allDeliveries(a, next)).get(p).get("status")).isIn("sent", "delivered");
        assertThat(carrierMessages(a, linePhone).stream().filter(m -> unsubscribed.equals(m.get("to")))).hasSize(1);
    }

    /**
     * 30006 after a send from a short code is not taken to mean the number cannot receive at all (it is also what a
     * carrier that takes no short codes answers): the member stays unmarked, and gets the group's messages from a long
     * code. From a long code it marks the member, as above.
     */
    @Test
    void a30006FromAShortCodeDoesNotMarkTheMember(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Short Code Landline Co");
        String shortCode = String.valueOf(50_000 + (int) (System.nanoTime() % 40_000));
        var line = a.post("/v1/lines", Map.of("phone", shortCode, "type", "short_code", "groupMessaging", false, "mps", 50));
        assertThat(line.status()).as(line.body()).isEqualTo(201);
        String group = createGroup(a, "Short code list");
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", LANDLINE))))
                .status()).isEqualTo(200);
        String first = (String) send(a, group, (String) line.jsonObject().get("id"), "From the short code").get("id");
        assertThat(awaitSent(a, first, 20_000).get("status")).isEqualTo("sent");
        await(() -> MessagesE2eTest.allDeliveries(a, first), rows -> "failed".equals(rows.getFirst().get("status")), 20_000);
        assertThat(MessagesE2eTest.allDeliveries(a, first).getFirst()).containsEntry("error", "carrier 30006");
        // a mark is made by the receipt worker with the receipt's record: once the receipts queue is empty, it ran
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);
        assertThat(undeliverable(a, group)).isEmpty();
    }

    @Test
    void aNumberThatCannotReceiveIsMarkedThenSkippedUntilClearedAndAPhoneSwitchedOffIsNot(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Landlines Co");
        String linePhone = linePhone();
        String line = createLine(a, linePhone, 50);
        String group = createGroup(a, "Volunteers");
        List<String> mobiles = addMembers(a, group, 7100, 3);
        var added = a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(
                Map.of("phone", NOT_MOBILE, "name", "Desk"), Map.of("phone", LANDLINE, "name", "Office"),
                Map.of("phone", SWITCHED_OFF, "name", "Dora"))));
        assertThat(added.status()).as(added.body()).isEqualTo(200);

        // the first message finds out: 21614 at the send, 30006 and 30003 in receipts after it
        String first = (String) send(a, group, line, "Shift tomorrow at 9").get("id");
        assertThat(awaitSent(a, first, 20_000).get("status")).isEqualTo("sent");
        var marked = await(() -> undeliverable(a, group), m -> m.size() == 2, 20_000);
        assertThat(marked.keySet()).containsExactlyInAnyOrder(NOT_MOBILE, LANDLINE);
        assertThat(marked.get(NOT_MOBILE).get("error")).asString().startsWith("carrier 21614");
        assertThat(marked.get(LANDLINE)).containsEntry("error", "carrier 30006").containsEntry("messageId", first);
        assertThat(marked.get(LANDLINE).get("since")).isNotNull();
        // the phone switched off failed too, but nothing says it cannot receive: not marked
        assertThat(await(() -> status(a, first, SWITCHED_OFF), "failed"::equals, 20_000)).isEqualTo("failed");
        assertThat(member(a, group, SWITCHED_OFF)).doesNotContainKey("undeliverable");
        assertThat(member(a, group, mobiles.getFirst())).doesNotContainKey("undeliverable");
        // the filter both ways; any other value is a 400
        assertThat(phones(a, group, "?undeliverable=true")).containsExactlyInAnyOrder(NOT_MOBILE, LANDLINE);
        assertThat(phones(a, group, "?undeliverable=false")).containsExactlyInAnyOrderElementsOf(
                concat(mobiles, List.of(SWITCHED_OFF)));
        assertThat(a.get("/v1/groups/" + group + "/members?undeliverable=yes").status()).isEqualTo(400);
        long landlineSends = sendsTo(a, linePhone, LANDLINE);
        long rejectedNotMobile = rejectedTo(a, linePhone, NOT_MOBILE);
        assertThat(landlineSends).isEqualTo(1);
        assertThat(rejectedNotMobile).isEqualTo(1);

        // the next message skips both: failed as skipped, never sent nor billed; everyone else gets it
        var second = send(a, group, line, "Shift moved to 10");
        String secondId = (String) second.get("id");
        assertThat(second.get("recipients")).isEqualTo(6);
        var done = awaitSent(a, secondId, 20_000);
        assertThat(done.get("status")).isEqualTo("sent");
        var rows = await(() -> byPhone(allDeliveries(a, secondId)), r -> !"sent".equals(r.get(SWITCHED_OFF).get("status")), 20_000);
        assertThat(rows.get(NOT_MOBILE)).containsEntry("status", "failed");
        assertThat(rows.get(NOT_MOBILE).get("error")).asString().startsWith("skipped: undeliverable number (carrier 21614");
        assertThat(rows.get(LANDLINE)).containsEntry("status", "failed")
                .containsEntry("error", "skipped: undeliverable number (carrier 30006)");
        assertThat(sendsTo(a, linePhone, LANDLINE)).isEqualTo(landlineSends);
        assertThat(rejectedTo(a, linePhone, NOT_MOBILE)).isEqualTo(rejectedNotMobile);
        assertThat(sendsTo(a, linePhone, SWITCHED_OFF)).isEqualTo(2); // tried again: it may be back on
        for (String p : mobiles) assertThat(sendsTo(a, linePhone, p)).isEqualTo(2);
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) a.get("/v1/messages/" + secondId).jsonObject().get("counts");
        // the two skipped and the phone switched off (its receipt is in: the rows above are final)
        assertThat(((Number) counts.get("failed")).intValue()).isEqualTo(3);
        assertThat(((Number) counts.get("queued")).intValue()).isZero();

        // cleared (twice: the same answer), the number is sent to again
        assertThat(a.delete("/v1/groups/" + group + "/members/%2B15005550030/undeliverable").status()).isEqualTo(204);
        assertThat(a.delete("/v1/groups/" + group + "/members/%2B15005550030/undeliverable").status()).isEqualTo(204);
        assertThat(member(a, group, LANDLINE)).doesNotContainKey("undeliverable");
        // a receipt for a row final already marks nothing: not the phone switched off (its row failed with 30003)
        receipt(runtime, a, first, SWITCHED_OFF, "carrier 30006");
        assertThat(member(a, group, SWITCHED_OFF)).doesNotContainKey("undeliverable");
        // not a member, no such group, not a number
        assertThat(a.delete("/v1/groups/" + group + "/members/%2B16175559999/undeliverable").status()).isEqualTo(404);
        assertThat(a.delete("/v1/groups/grp_nope/members/%2B15005550030/undeliverable").status()).isEqualTo(404);
        assertThat(a.delete("/v1/groups/" + group + "/members/abc/undeliverable").status()).isEqualTo(400);
        // another account cannot clear (or see) this group's marks
        ApiClient other = api.forNewAccount("Other Co");
        assertThat(other.delete("/v1/groups/" + group + "/members/%2B15005550009/undeliverable").status()).isEqualTo(404);
        assertThat(member(a, group, NOT_MOBILE).get("undeliverable")).isNotNull();

        String third = (String) send(a, group, line, "See you there").get("id");
        assertThat(awaitSent(a, third, 20_000).get("status")).isEqualTo("sent");
        assertThat(sendsTo(a, linePhone, LANDLINE)).isEqualTo(landlineSends + 1);
        // ... and marked again by this message's failure
        var again = await(() -> undeliverable(a, group), m -> m.containsKey(LANDLINE), 20_000);
        assertThat(again.get(LANDLINE)).containsEntry("messageId", third);

        // a member removed and added again is a new membership: unmarked
        assertThat(a.delete("/v1/groups/" + group + "/members/%2B15005550009").status()).isEqualTo(204);
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", NOT_MOBILE))))
                .status()).isEqualTo(200);
        assertThat(member(a, group, NOT_MOBILE)).doesNotContainKey("undeliverable");
    }

    @Test
    void anOptedOutNumberMarkedUndeliverableShowsAsOptedOutAndOtherGroupsAreNotMarked(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Opted Landlines Co");
        String linePhone = linePhone();
        String line = createLine(a, linePhone, 50);
        String group = createGroup(a, "Choir");
        String otherGroup = createGroup(a, "Band");
        addMembers(a, group, 7200, 1);
        for (String g : List.of(group, otherGroup)) {
            assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", NOT_MOBILE))))
                    .status()).isEqualTo(200);
        }
        String first = (String) send(a, group, line, "Rehearsal").get("id");
        assertThat(awaitSent(a, first, 20_000).get("status")).isEqualTo("sent");
        assertThat(member(a, group, NOT_MOBILE).get("undeliverable")).isNotNull();
        // marked in the group whose message failed only (a mailing list's "cleaned" is per list)
        assertThat(member(a, otherGroup, NOT_MOBILE)).doesNotContainKey("undeliverable");

        var optOut = a.post("/v1/opt-outs", Map.of("lineId", line, "phone", NOT_MOBILE));
        assertThat(optOut.status()).as(optOut.body()).isIn(200, 201);
        String second = (String) send(a, group, line, "Rehearsal moved").get("id");
        assertThat(awaitSent(a, second, 20_000).get("status")).isEqualTo("sent");
        assertThat(byPhone(allDeliveries(a, second)).get(NOT_MOBILE)).containsEntry("status", "opted_out");
    }

    @Test
    void aFanOutJobNamesItsMarkedMembersAndRedeliveredSkipsThemOnceUnbilled(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Skip Once Co", 7300, 4);
        String marked = t.phones().get(1);
        long now = System.currentTimeMillis();
        assertThat(t.marks().mark(t.accountId(), t.group(), marked, now, "msg_earlier", "carrier 30006", now)).isTrue();
        // the first failure is kept; a number that is not a member is not marked (nor made one)
        assertThat(t.marks().mark(t.accountId(), t.group(), marked, now, "msg_later", "carrier 30005", now)).isFalse();
        assertThat(t.marks().mark(t.accountId(), t.group(), "+16175559998", now, "msg_later", "carrier 30005", now)).isFalse();
        assertThat(t.api().get("/v1/groups/" + t.group() + "/members/%2B16175559998").status()).isEqualTo(404);
        long billedBefore = ReceiptsE2eTest.billedMessages(t.api());

        var queue = new DeliveryFaultsTest.CapturingQueue();
        var message = t.acceptAndFanOut(queue);
        assertThat(queue.deliveries).hasSize(1);
        assertThat(queue.deliveries.getFirst()).containsEntry("skip", Map.of(marked, "carrier 30006"));

        var worker = new DeliveryWorkerHandler(t.wiring(), queue);
        for (int delivery = 0; delivery < 2; delivery++) deliverJob(worker, queue.deliveries.getFirst()); // at least once
        assertThat(t.carrier().calls(marked)).isZero();
        for (String p : t.phones()) if (!p.equals(marked)) assertThat(t.carrier().calls(p)).isEqualTo(1);
        var rows = byPhone(allDeliveries(t.api(), message.id()));
        assertThat(rows.get(marked)).containsEntry("status", "failed")
                .containsEntry("error", "skipped: undeliverable number (carrier 30006)");
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) awaitSent(t.api(), message.id(), 10_000).get("counts");
        assertThat(counts).containsEntry("failed", 1).containsEntry("sent", 3).containsEntry("queued", 0);
        assertThat(ReceiptsE2eTest.billedMessages(t.api()) - billedBefore).isEqualTo(3);

        // the carrier reports two of the sent ones undeliverable: one member's mark was cleared by a person after
        // this message was accepted (so this older failure does not mark it again), the other's is made
        String cleared = t.phones().get(2), reported = t.phones().get(3);
        long later = System.currentTimeMillis();
        assertThat(t.marks().mark(t.accountId(), t.group(), cleared, later, "msg_another", "carrier 30005", later)).isTrue();
        assertThat(t.api().delete("/v1/groups/" + t.group() + "/members/" + cleared.replace("+", "%2B") + "/undeliverable").status())
                .isEqualTo(204);
        // clearing a member that has no mark changes nothing: its failure still marks it
        assertThat(t.api().delete("/v1/groups/" + t.group() + "/members/" + reported.replace("+", "%2B") + "/undeliverable").status())
                .isEqualTo(204);
        receipt(runtime, t.api(), message.id(), cleared, "carrier 30006");
        receipt(runtime, t.api(), message.id(), reported, "carrier 30006");
        assertThat(member(t.api(), t.group(), cleared)).doesNotContainKey("undeliverable");
        @SuppressWarnings("unchecked")
        var mark = (Map<String, Object>) member(t.api(), t.group(), reported).get("undeliverable");
        assertThat(mark).containsEntry("error", "carrier 30006").containsEntry("messageId", message.id());
        assertThat(byPhone(allDeliveries(t.api(), message.id())).get(cleared)).containsEntry("status", "failed");
    }

    @Test
    void jobsMaintenanceMakesAgainForLostOnesStillSkipTheMarkedMembers(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Lost Jobs Co", 7500, 3);
        String marked = t.phones().get(0);
        long now = System.currentTimeMillis();
        t.marks().mark(t.accountId(), t.group(), marked, now, "msg_earlier",
                "carrier 21614: 'To' number is not a valid mobile number", now);
        var lost = new DeliveryFaultsTest.CapturingQueue(); // the fan-out's jobs never reach a worker
        var message = t.acceptAndFanOut(lost);
        // a skip names the carrier's code alone, however long the error that marked the member
        assertThat(lost.deliveries.getFirst()).containsEntry("skip", Map.of(marked, "carrier 21614"));

        var requeued = new DeliveryFaultsTest.CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))), requeued).sweep();
        var jobs = requeued.deliveries.stream().filter(j -> message.id().equals(j.get("messageId"))).toList();
        assertThat(jobs).singleElement().satisfies(j -> assertThat(j).containsEntry("skip", Map.of(marked, "carrier 21614")));
        deliverJob(new DeliveryWorkerHandler(t.wiring(), requeued), jobs.getFirst());
        assertThat(t.carrier().calls(marked)).isZero();
        assertThat(t.carrier().calls(t.phones().get(1))).isEqualTo(1);
        assertThat(byPhone(allDeliveries(t.api(), message.id())).get(marked))
                .containsEntry("status", "failed").containsEntry("error", "skipped: undeliverable number (carrier 21614)");
    }

    @Test
    void aRowMaintenanceSettlesFromTheCarriersRecordAsALandlineMarksTheMember(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Records Co", 7600, 2);
        String landline = t.phones().get(0), switchedOff = t.phones().get(1);
        // the carrier took both but its answers were lost: the rows stay in sending until maintenance asks
        var lostAnswer = new java.io.UncheckedIOException(new java.io.IOException("read timed out"));
        t.carrier().script.put(landline, List.of(lostAnswer));
        t.carrier().script.put(switchedOff, List.of(lostAnswer));
        t.carrier().lookups.put(landline, new SentLookup.Found("SMlandline", "undelivered", "30006"));
        t.carrier().lookups.put(switchedOff, new SentLookup.Found("SMoff", "undelivered", "30003"));
        var message = t.acceptAndFanOut(new DeliveryFaultsTest.CapturingQueue());
        new DeliveryService(t.wiring()).deliver(t.accountId(), message.id(), 0, t.phones());

        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))),
                new DeliveryFaultsTest.CapturingQueue()).sweep();
        var rows = byPhone(allDeliveries(t.api(), message.id()));
        assertThat(rows.get(landline)).containsEntry("status", "failed").containsEntry("error", "carrier 30006");
        assertThat(rows.get(switchedOff)).containsEntry("status", "failed").containsEntry("error", "carrier 30003");
        @SuppressWarnings("unchecked")
        var mark = (Map<String, Object>) member(t.api(), t.group(), landline).get("undeliverable");
        assertThat(mark).containsEntry("error", "carrier 30006").containsEntry("messageId", message.id());
        assertThat(member(t.api(), t.group(), switchedOff)).doesNotContainKey("undeliverable");
    }

    /** An account with a 1,000 mps line and a group of {@code count} members, on a scripted carrier. */
    record Scene(ApiClient api, DeliveryFaultsTest.ScriptedCarrier carrier, Wiring wiring, String accountId, String line,
                 String group, List<String> phones, UndeliverableMembers marks) {
        /** A group message accepted and fanned out, its delivery jobs left in {@code queue}. */
        GroupMessage acceptAndFanOut(DeliveryFaultsTest.CapturingQueue queue) {
            var groups = new GroupService(wiring, queue);
            var message = new MessageService(wiring, groups, queue).send(accountId, group,
                    new MessageService.SendRequest(line, "Ops", "test", "Hello", List.of()));
            new FanoutService(wiring, groups, queue).run(accountId, message.id());
            return message;
        }
    }

    static Scene scene(ApiClient api, LocalRuntime runtime, String accountName, int firstMember, int count) {
        ApiClient a = api.forNewAccount(accountName);
        var carrier = new DeliveryFaultsTest.ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        String line = createLine(a, linePhone(), 1000);
        String group = createGroup(a, accountName);
        List<String> phones = addMembers(a, group, firstMember, count);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        return new Scene(a, carrier, wiring, accountId, line, group, phones,
                new UndeliverableMembers(wiring.dynamo(), wiring.config().table(Tables.MEMBERS)));
    }

    /** Hands a delivery job, as queued, to the worker with a minute to go; it must not fail. */
    private static void deliverJob(DeliveryWorkerHandler worker, Map<String, Object> job) {
        var message = new SQSEvent.SQSMessage();
        message.setMessageId("job-" + System.nanoTime());
        message.setBody(Json.write(job));
        var event = new SQSEvent();
        event.setRecords(List.of(message));
        Context aMinute = (Context) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[]{Context.class},
                (proxy, method, args) -> method.getName().equals("getRemainingTimeInMillis") ? 60_000 : null);
        assertThat(worker.handleRequest(event, aMinute).getBatchItemFailures()).isEmpty();
    }

    /** A receipt as the webhook queues it, handed to the receipt worker. */
    private static void receipt(LocalRuntime runtime, ApiClient a, String messageId, String phone, String error) {
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var message = new SQSEvent.SQSMessage();
        message.setMessageId("late-" + System.nanoTime());
        message.setBody(new Receipt(accountId, messageId, 0, phone, null, "failed", error, System.currentTimeMillis()).toJson());
        var event = new SQSEvent();
        event.setRecords(List.of(message));
        var response = new ReceiptWorkerHandler(runtime.wiring()).handleRequest(event, null);
        assertThat(response.getBatchItemFailures()).isEmpty();
    }

    private static Map<String, Object> member(ApiClient a, String group, String phone) {
        var r = a.get("/v1/groups/" + group + "/members/" + phone.replace("+", "%2B"));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.jsonObject();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> undeliverable(ApiClient a, String group) {
        var r = a.get("/v1/groups/" + group + "/members?undeliverable=true");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return items(r).stream().collect(Collectors.toMap(m -> (String) m.get("phone"),
                m -> (Map<String, Object>) m.get("undeliverable")));
    }

    private static List<String> phones(ApiClient a, String group, String query) {
        var r = a.get("/v1/groups/" + group + "/members" + query);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return items(r).stream().map(m -> (String) m.get("phone")).toList();
    }

    private static String status(ApiClient a, String messageId, String phone) {
        return (String) byPhone(allDeliveries(a, messageId)).get(phone).get("status");
    }

    private static Map<String, Map<String, Object>> byPhone(List<Map<String, Object>> rows) {
        return rows.stream().collect(Collectors.toMap(r -> (String) r.get("phone"), r -> r));
    }

    private static long sendsTo(ApiClient a, String linePhone, String to) {
        return carrierMessages(a, linePhone).stream().filter(m -> to.equals(m.get("to"))).count();
    }

    private static long rejectedTo(ApiClient a, String linePhone, String to) {
        return ((Number) a.withoutKey().get("/local/carrier/messages?from=" + linePhone.replace("+", "%2B")
                + "&to=" + to.replace("+", "%2B")).jsonObject().get("rejected")).longValue();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
