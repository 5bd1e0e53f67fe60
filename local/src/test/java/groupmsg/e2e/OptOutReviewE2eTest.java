package groupmsg.e2e;

import groupmsg.inbound.InboundApiHandler;
import groupmsg.inbound.InboundService;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Tables;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static groupmsg.e2e.BroadcastRepliesE2eTest.received;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.integrationEvents;
import static groupmsg.e2e.InboundE2eTest.optOuts;
import static groupmsg.e2e.InboundE2eTest.sentTo;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A text no keyword matched, such as "stop texting me", is kept for a person to review ({@code possibleOptOut});
 * {@code POST /v1/inbound/{id}/review} records what they decided, and an opt-out is then handled as a STOP would be.
 */
@ExtendWith(LocalRuntimeExtension.class)
class OptOutReviewE2eTest {

    private static ApiClient.Response review(ApiClient a, Object inboundId, String decision) {
        return a.post("/v1/inbound/" + inboundId + "/review", Map.of("decision", decision));
    }

    private static List<Object> ids(List<Map<String, Object>> items) {
        return items.stream().map(m -> m.get("id")).toList();
    }

    @Test
    @SuppressWarnings("unchecked")
    void aTextReviewedAsAnOptOutIsHandledAsItsStopWouldBeAndTheFirstDecisionStands(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Review Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String phone = linePhone();
        String lineId = createLine(a, phone, 50);
        String optOutReply = (String) a.get("/v1/lines/" + lineId).jsonObject().get("optOutReply");
        String g = createGroup(a, "Reviewed");
        List<String> members = addMembers(a, g, 7300, 3);
        String ann = members.get(0), bob = members.get(1), cat = members.get(2);
        String m = (String) send(a, g, lineId, "Choir practice moved to Thursday").get("id");
        assertThat(awaitSent(a, m, 15_000)).containsEntry("status", "sent");

        text(a, ann, phone, "stop texting me");
        text(a, bob, phone, "Stop by at 6?");
        text(a, cat, phone, "STOP");
        await(() -> integrationEvents(a, accountId), l -> l.size() >= 2, 15_000); // the replies linked, then published
        var annsText = received(a, lineId, ann, "stop texting me");
        var bobsText = received(a, lineId, bob, "Stop by at 6?");
        var catsStop = received(a, lineId, cat, "STOP");
        assertThat(annsText).containsEntry("possibleOptOut", true).containsEntry("review", null);
        assertThat(bobsText).containsEntry("possibleOptOut", true);
        assertThat(ids(inbound(a, "?possibleOptOut=true&reviewed=false"))).containsExactlyInAnyOrder(annsText.get("id"), bobsText.get("id"));

        // Bob asked about stopping by: not an opt-out
        var notOne = review(a, bobsText.get("id"), "not_opt_out");
        assertThat(notOne.status()).as(notOne.body()).isEqualTo(200);
        var bobsReview = (Map<String, Object>) notOne.jsonObject().get("review");
        assertThat(bobsReview).containsEntry("decision", "not_opt_out").containsKeys("reviewedAt", "reviewedBy");
        assertThat((String) bobsReview.get("reviewedBy")).startsWith("key_");

        // Ann's is, and a member (who may send) may say so
        String memberKey = (String) a.post("/v1/api-keys", Map.of("name", "desk", "role", "member")).jsonObject().get("key");
        var optedOut = review(a.withKey(memberKey), annsText.get("id"), "opt_out");
        assertThat(optedOut.status()).as(optedOut.body()).isEqualTo(200);
        assertThat(optedOut.jsonObject()).containsEntry("id", annsText.get("id")).containsEntry("from", ann);
        assertThat((Map<String, Object>) optedOut.jsonObject().get("review")).containsEntry("decision", "opt_out");
        assertThat(optOuts(a, lineId)).filteredOn(o -> ann.equals(o.get("phone"))).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("source", "review"));
        // confirmed as a STOP is: she used no keyword her carrier knows
        assertThat(await(() -> sentTo(a, phone, ann, optOutReply), l -> !l.isEmpty(), 15_000)).hasSize(1);
        var changed = await(() -> integrationEvents(a, accountId, "opt_out.changed").stream()
                .filter(e -> ann.equals(e.get("phone"))).toList(), l -> !l.isEmpty(), 15_000);
        assertThat(changed).singleElement().satisfies(e -> {
            assertThat(e).containsEntry("source", "review").containsEntry("inboundId", annsText.get("id")).containsEntry("optedOut", true);
            assertThat((Map<String, Object>) e.get("inReplyTo")).containsEntry("messageId", m);
        });
        // the group message counts her among its opt-outs, with Cat's STOP
        var counted = await(() -> a.get("/v1/messages/" + m).jsonObject(), j -> ((Number) j.get("optOuts")).intValue() == 2, 15_000);
        assertThat(((Number) counted.get("optOuts")).intValue()).isEqualTo(2);
        var listed = (List<Map<String, Object>>) a.get("/v1/messages/" + m + "/opt-outs").jsonObject().get("items");
        assertThat(listed).extracting(o -> o.get("phone")).containsExactlyInAnyOrder(ann, cat);
        assertThat(listed).filteredOn(o -> ann.equals(o.get("phone"))).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("inboundId", annsText.get("id")));

        // nothing awaits review now; the reviewed list shows both
        assertThat(inbound(a, "?possibleOptOut=true&reviewed=false")).isEmpty();
        assertThat(ids(inbound(a, "?reviewed=true"))).containsExactlyInAnyOrder(annsText.get("id"), bobsText.get("id"));
        assertThat(a.get("/v1/inbound?reviewed=maybe").status()).isEqualTo(400);

        // the same decision again changes nothing; the other one is a 409 and the first stands
        var again = review(a, annsText.get("id"), "opt_out");
        assertThat(again.status()).isEqualTo(200);
        assertThat((Map<String, Object>) again.jsonObject().get("review")).isEqualTo(optedOut.jsonObject().get("review"));
        var otherwise = review(a, annsText.get("id"), "not_opt_out");
        assertThat(otherwise.status()).isEqualTo(409);
        assertThat(otherwise.body()).contains("reviewed as opt_out").doesNotContain(memberKey);
        assertThat(review(a, bobsText.get("id"), "opt_out").status()).isEqualTo(409);
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).doesNotContain(bob);
        runtime.awaitIdle();
        assertThat(sentTo(a, phone, ann, optOutReply)).as("one confirmation").hasSize(1);
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).filteredOn(e -> ann.equals(e.get("phone"))).hasSize(1);
        assertThat(((Number) a.get("/v1/messages/" + m).jsonObject().get("optOuts")).intValue()).isEqualTo(2);

        // what cannot be reviewed
        assertThat(review(a, catsStop.get("id"), "opt_out").status()).as("a keyword is handled as one").isEqualTo(409);
        assertThat(review(a, "inb_01JZZZZZZZZZZZZZZZZZZZZZZZ", "opt_out").status()).isEqualTo(404);
        assertThat(review(a, "msg_1", "opt_out").status()).isEqualTo(404);
        assertThat(review(api.forNewAccount("Other Co"), annsText.get("id"), "opt_out").status()).isEqualTo(404);
        assertThat(review(a, annsText.get("id"), "maybe").status()).isEqualTo(400);
        assertThat(a.post("/v1/inbound/" + annsText.get("id") + "/review", Map.of()).status()).isEqualTo(400);

        // a STOP after the reviewed opt-out: still an opt-out, and no second confirmation (the review sent one)
        text(a, ann, phone, "STOP");
        String stopId = (String) await(() -> inbound(a, "?lineId=" + lineId).stream()
                .filter(t -> ann.equals(t.get("from")) && "STOP".equals(t.get("body"))).toList(), l -> !l.isEmpty(), 10_000)
                .getFirst().get("id");
        // handled: a confirmation would have been stored by its handling (rpl_<its id>) before anything was queued
        assertThat(await(() -> InboundFaultsTest.handled(runtime, accountId, stopId), Boolean::booleanValue, 15_000))
                .as("the STOP handled").isTrue();
        assertThat(InboundFaultsTest.messageExists(runtime, accountId, "rpl_" + stopId)).as("no second confirmation").isFalse();
        assertThat(sentTo(a, phone, ann, optOutReply)).as("one confirmation").hasSize(1);
        assertThat(optOuts(a, lineId)).filteredOn(o -> ann.equals(o.get("phone"))).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("source", "review"));
    }

    @Test
    void aTextFollowedByStartIsNoOptOutAnyMoreAndANumberOptedOutAlreadyGetsNoSecondConfirmation(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Changed Mind Co");
        String phone = linePhone();
        String lineId = createLine(a, phone, 50);
        String optOutReply = (String) a.get("/v1/lines/" + lineId).jsonObject().get("optOutReply");
        String dan = "+14155557390", eve = "+14155557391";

        text(a, dan, phone, "stop sending these");
        var dansText = received(a, lineId, dan, "stop sending these");
        text(a, dan, phone, "START");
        received(a, lineId, dan, "START");
        var refused = review(a, dansText.get("id"), "opt_out");
        assertThat(refused.status()).as(refused.body()).isEqualTo(409);
        assertThat(refused.body()).contains("texted START");
        assertThat(optOuts(a, lineId)).isEmpty();
        assertThat(inbound(a, "?possibleOptOut=true&reviewed=false")).extracting(m -> m.get("id")).contains(dansText.get("id"));

        // Eve texted STOP, then "stop it": she was confirmed once, by her STOP
        text(a, eve, phone, "STOP");
        assertThat(await(() -> sentTo(a, phone, eve, optOutReply), l -> !l.isEmpty(), 15_000)).hasSize(1);
        text(a, eve, phone, "stop it");
        var evesText = received(a, lineId, eve, "stop it");
        assertThat(review(a, evesText.get("id"), "opt_out").status()).isEqualTo(200);
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("phone", eve).containsEntry("source", "keyword"));
        runtime.awaitIdle();
        assertThat(sentTo(a, phone, eve, optOutReply)).hasSize(1);

        // Gus was opted out by hand (never confirmed); his "stop it now" reviewed as an opt-out is confirmed, as a STOP is
        String gus = "+14155557393";
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", gus)).status()).isEqualTo(201);
        text(a, gus, phone, "stop it now");
        var gusText = received(a, lineId, gus, "stop it now");
        assertThat(review(a, gusText.get("id"), "opt_out").status()).isEqualTo(200);
        assertThat(optOuts(a, lineId)).filteredOn(o -> gus.equals(o.get("phone"))).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("source", "review"));
        assertThat(await(() -> sentTo(a, phone, gus, optOutReply), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    /** The sender index is filled after the write: a START it does not show yet still makes the review a 409. */
    @Test
    void aStartTheSenderIndexDoesNotShowYetStillRefusesTheReview(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Index Lag Co");
        String phone = linePhone();
        String lineId = createLine(a, phone, 50);
        String ida = "+14155557394";
        text(a, ida, phone, "stop sending me this");
        var idasText = received(a, lineId, ida, "stop sending me this");
        text(a, ida, phone, "START");
        var start = received(a, lineId, ida, "START");
        runtime.awaitIdle(); // the START's own handling done (it writes the item again)
        // as an index that has not caught up yet: the START's item is not in the sender index
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        runtime.wiring().dynamo().updateItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Attr.key(Attr.accountPk(accountId), "IN#" + start.get("id"))).updateExpression("REMOVE gsi2pk, gsi2sk"));
        assertThat(inbound(a, "?from=%2B14155557394")).extracting(m -> m.get("body")).containsExactly("stop sending me this");

        var refused = review(a, idasText.get("id"), "opt_out");
        assertThat(refused.status()).as(refused.body()).isEqualTo(409);
        assertThat(refused.body()).contains("texted START");
        assertThat(optOuts(a, lineId)).isEmpty();
    }

    @Test
    @SuppressWarnings("unchecked")
    void aReviewCutOffPartWayHoldsItsDecisionUntilTheSameOneCompletesIt(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Cut Off Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String phone = linePhone();
        String lineId = createLine(a, phone, 50);
        String optOutReply = (String) a.get("/v1/lines/" + lineId).jsonObject().get("optOutReply");
        String fay = "+14155557392";
        text(a, fay, phone, "stop messaging me");
        String id = (String) received(a, lineId, fay, "stop messaging me").get("id");

        // the opt-out is recorded, then staging its confirmation fails: a 5xx, and no review yet
        var cutOff = new InboundApiHandler(IdempotentRetriesE2eTest.failing(runtime, r -> r instanceof TransactWriteItemsRequest, 1,
                () -> SdkClientException.create("injected fault (test)")));
        var failed = IdempotentRetriesE2eTest.call(cutOff, a, "POST /v1/inbound/{id}/review", "/v1/inbound/" + id + "/review",
                Map.of("id", id), Map.of("decision", "opt_out"), "review-cut-off");
        assertThat(failed.getStatusCode()).as(failed.getBody()).isGreaterThanOrEqualTo(500);
        assertThat(a.get("/v1/inbound/" + id).jsonObject()).containsEntry("review", null);
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "review"));

        // the other decision is refused: the number is opted out, and the text must not read "not an opt-out"
        var other = review(a, id, "not_opt_out");
        assertThat(other.status()).as(other.body()).isEqualTo(409);
        assertThat(other.body()).contains("being reviewed as opt_out");
        assertThat(a.get("/v1/inbound/" + id).jsonObject()).containsEntry("review", null);

        // the same decision again completes it: one confirmation, the review recorded
        var again = review(a, id, "opt_out");
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        assertThat((Map<String, Object>) again.jsonObject().get("review")).containsEntry("decision", "opt_out");
        assertThat(await(() -> sentTo(a, phone, fay, optOutReply), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).isNotEmpty()
                .allSatisfy(e -> assertThat(e).containsEntry("source", "review").containsEntry("inboundId", id));
        runtime.awaitIdle();
        assertThat(sentTo(a, phone, fay, optOutReply)).hasSize(1);
        assertThat(review(a, id, "not_opt_out").status()).isEqualTo(409);
    }

    /**
     * A review whose {@code opt_out.changed} the topic refuses is a 5xx, but the number's confirmation is on its way
     * already (staged before the event); the same decision again publishes it and sends nothing more. Before, the
     * confirmation waited for a retry that a client might never make.
     */
    @Test
    void aReviewWhosePublishIsRefusedHasSentItsConfirmationAndItsRetryPublishes(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Review Topic Down Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String phone = linePhone();
        String lineId = createLine(a, phone, 50);
        String optOutReply = (String) a.get("/v1/lines/" + lineId).jsonObject().get("optOutReply");
        String hal = "+14155557395";
        text(a, hal, phone, "stop messaging me please");
        String id = (String) received(a, lineId, hal, "stop messaging me please").get("id");
        groupmsg.notify.EventPublisher topicDown = (topic, account, type, event) -> {
            throw new IllegalStateException("SNS refused the publish (test)");
        };

        var failed = IdempotentRetriesE2eTest.call(new InboundApiHandler(runtime.wiring().withEvents(topicDown)), a,
                "POST /v1/inbound/{id}/review", "/v1/inbound/" + id + "/review", Map.of("id", id), Map.of("decision", "opt_out"),
                "review-topic-down");

        assertThat(failed.getStatusCode()).as(failed.getBody()).isGreaterThanOrEqualTo(500);
        assertThat(await(() -> sentTo(a, phone, hal, optOutReply), l -> !l.isEmpty(), 15_000)).as("confirmed while the topic refuses").hasSize(1);
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).isEmpty();

        var again = review(a, id, "opt_out");
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("source", "review").containsEntry("inboundId", id));
        runtime.awaitIdle();
        assertThat(sentTo(a, phone, hal, optOutReply)).hasSize(1);
    }

    /** Reviewed before the inbound worker took it up: the review links it as an opt-out, the worker still counts the reply. */
    @Test
    void aReplyReviewedAsAnOptOutBeforeTheInboundWorkerRanIsStillCountedAsAReply(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Early Review Co");
        String phone = linePhone();
        String lineId = createLine(a, phone, 50);
        String g = createGroup(a, "Early");
        String hal = addMembers(a, g, 7310, 1).getFirst();
        String m = (String) send(a, g, lineId, "Bake sale on Sunday").get("id");
        assertThat(awaitSent(a, m, 15_000)).containsEntry("status", "sent");

        // stored as the carrier webhook stores it, its job left in the outbox: SQS refused it
        var noQueue = IdempotentRetriesE2eTest.failing(runtime, IdempotentRetriesE2eTest.sendsTo("inbound"), 1,
                () -> SdkClientException.create("injected fault (test)"));
        var stored = new InboundService(noQueue, new SqsQueueSender(noQueue.sqsClient(), noQueue.config()))
                .receive(new InboundService.InboundSms(InboundE2eTest.sid(), hal, phone, "please stop texting me", List.of()));
        String id = ((InboundService.Stored) stored).message().id();
        var reviewed = review(a, id, "opt_out");
        assertThat(reviewed.status()).as(reviewed.body()).isEqualTo(200);
        var before = a.get("/v1/messages/" + m).jsonObject();
        assertThat(((Number) before.get("optOuts")).intValue()).isEqualTo(1);
        assertThat(((Number) before.get("replies")).intValue()).as("the worker has not run").isZero();

        // the worker takes it up: the text, linked already, is counted as the answer it is too (once)
        IdempotentRetriesE2eTest.redriveOutbox(runtime);
        var after = await(() -> a.get("/v1/messages/" + m).jsonObject(), j -> ((Number) j.get("replies")).intValue() == 1, 15_000);
        assertThat(((Number) after.get("replies")).intValue()).isEqualTo(1);
        assertThat(((Number) after.get("optOuts")).intValue()).isEqualTo(1);
        @SuppressWarnings("unchecked")
        var answers = (List<Map<String, Object>>) a.get("/v1/messages/" + m + "/replies").jsonObject().get("items");
        assertThat(answers).singleElement().satisfies(r -> assertThat(r).containsEntry("id", id).containsEntry("fromName", "M7310"));
    }
}
