package groupmsg.e2e;

import groupmsg.carrier.TwilioSignature;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.carrier.CarrierEmulator;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Inbound end to end: a phone replies through the carrier emulator -> signed webhook -> stored, queued ->
 * opt-out worker (STOP/START/HELP, replies through the delivery pipeline) or inbound worker (integrations).
 */
@ExtendWith(LocalRuntimeExtension.class)
class InboundE2eTest {
    static final String OPT_OUT_REPLY = "Unsubscribed from Food Bank. Reply START to come back.";
    static final String OPT_IN_REPLY = "Welcome back to Food Bank.";
    static final String HELP_REPLY = "Food Bank alerts. Reply STOP to stop.";

    static String createLine(ApiClient api, String phone, String type, int mps) {
        var body = new LinkedHashMap<String, Object>();
        body.put("phone", phone);
        body.put("type", type);
        body.put("mps", mps);
        body.put("optOutReply", OPT_OUT_REPLY);
        body.put("optInReply", OPT_IN_REPLY);
        body.put("helpReply", HELP_REPLY);
        var r = api.post("/v1/lines", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return (String) r.jsonObject().get("id");
    }

    /** A phone texting the line, through the emulator (which signs and posts the webhook). */
    static void text(ApiClient api, String from, String to, String body) {
        var r = api.withoutKey().post("/local/carrier/inbound", Map.of("from", from, "to", to, "body", body));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> inbound(ApiClient api, String query) {
        var r = api.get("/v1/inbound" + query);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> optOuts(ApiClient api, String lineId) {
        var r = api.get("/v1/opt-outs?lineId=" + lineId);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return (List<Map<String, Object>>) r.jsonObject().get("items");
    }

    static List<Map<String, Object>> sentTo(ApiClient api, String line, String to, String body) {
        return carrierMessages(api, line).stream().filter(m -> to.equals(m.get("to")) && body.equals(m.get("body"))).toList();
    }

    /**
     * The least any {@link #await} waits before it gives up: it returns as soon as its condition holds, so a long
     * patience costs a passing run nothing, and a busy CI machine gets the time it needs.
     */
    static final long PATIENCE_MILLIS = 30_000;

    /** Polls {@code probe} until {@code done} holds (or the patience runs out) and returns its last value. */
    static <T> T await(Supplier<T> probe, java.util.function.Predicate<T> done, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + Math.max(timeoutMillis, PATIENCE_MILLIS);
        T value = probe.get();
        while (!done.test(value) && System.currentTimeMillis() < deadline) {
            Thread.sleep(150);
            value = probe.get();
        }
        return value;
    }

    /** The replies published to the integrations topic for the account ({@code reply.received}). */
    static List<Map<String, Object>> integrationEvents(ApiClient api, String accountId) {
        return integrationEvents(api, accountId, "reply.received");
    }

    /** The account's events of one type on the integrations topic, oldest first. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> integrationEvents(ApiClient api, String accountId, String type) {
        var items = (List<Map<String, Object>>) api.withoutKey().get("/local/events?topic=integrations").jsonObject().get("items");
        return items.stream().filter(e -> accountId.equals(e.get("accountId")) && type.equals(e.get("type"))).toList();
    }

    /**
     * A START from a number that was never opted out is answered (the line's optInReply) but tells integrations
     * nothing: no opt-out changed. One that lifts an opt-out tells it, once.
     */
    @Test
    void aStartFromANumberNeverOptedOutIsAnsweredButTellsNothing(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Start Only Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = MessagesE2eTest.linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String number = "+14155550993";

        text(a, number, line, "START");
        assertThat(await(() -> sentTo(a, line, number, OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        // its event would have been published before the answer was queued
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).isEmpty();

        text(a, number, line, "STOP");
        await(() -> optOuts(a, lineId), l -> l.size() == 1, 15_000);
        text(a, number, line, "START");
        assertThat(await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() == 2, 15_000))
                .extracting(e -> e.get("optedOut")).containsExactly(true, false);
        assertThat(optOuts(a, lineId)).isEmpty();
    }

    /**
     * A carrier that handles opt-outs itself refuses the line's STOP confirmation and HELP answer with 21610: the
     * number was opted out by its STOP already, so nothing follows a second time (before, each refusal published
     * another opt_out.changed, source carrier_error, which integrations counted as a new opt-out).
     */
    @Test
    void theCarrierRefusingAnOptedOutNumbersKeywordAnswersTellsNothingNew(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Refused Answers Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = MessagesE2eTest.linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String unsubscribed = "+15005550004"; // the emulator refuses every message to it with 21610
        var emulator = runtime.carrierEmulator();

        text(a, unsubscribed, line, "STOP");
        await(() -> emulator.rejections(unsubscribed, line), l -> l.size() == 1, 15_000);
        text(a, unsubscribed, line, "HELP");
        assertThat(await(() -> emulator.rejections(unsubscribed, line), l -> l.size() == 2, 15_000))
                .extracting(CarrierEmulator.Rejection::code).containsExactly(21610, 21610);
        // what a second event would have taken: the delivery worker's opt-out job, then the opt-out worker's publish
        runtime.awaitIdle();

        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "keyword"));
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("phone", unsubscribed).containsEntry("optedOut", true)
                        .containsEntry("source", "keyword"));
    }

    @Test
    void anIdFilterLongerThanAnyIdIsA400NotALookupOfAnOversizedKey(ApiClient api) {
        ApiClient a = api.forNewAccount("Long Filter Co");
        String longId = "line_" + "x".repeat(1100); // over DynamoDB's 1,024-byte sort key once prefixed
        for (String path : List.of("/v1/opt-outs?lineId=" + longId, "/v1/inbound?lineId=" + longId,
                "/v1/inbound?lineId=" + "y".repeat(2100), "/v1/messages?groupId=grp_" + "z".repeat(2100))) {
            var r = a.get(path);
            assertThat(r.status()).as(path.substring(0, 30) + ": " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        // an id of a sensible length that names none of the account's lines: 404 for both (the inbound list answered an
        // empty 200, which looked like "no texts" for a mistyped id); another account's line is as unknown
        assertThat(a.get("/v1/opt-outs?lineId=line_nope").status()).isEqualTo(404);
        assertThat(a.get("/v1/inbound?lineId=line_nope").status()).isEqualTo(404);
        String theirs = createLine(api.forNewAccount("Long Filter Other Co"), MessagesE2eTest.linePhone(), "long_code", 1);
        assertThat(a.get("/v1/inbound?lineId=" + theirs).status()).isEqualTo(404);
    }

    @Test
    void stopIsRecordedAnsweredOnceAndHonouredUntilStartWhileHelpIsAlwaysAnswered(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Keyword Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        String g = createGroup(a, "Keyword group");
        List<String> members = addMembers(a, g, 2000, 3);
        String quitter = members.get(0);

        text(a, quitter, line, "  Stop! ");
        var opted = await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000);
        assertThat(opted).singleElement().satisfies(o -> assertThat(o).containsEntry("phone", quitter)
                .containsEntry("source", "keyword").containsEntry("lineId", lineId));
        assertThat(await(() -> sentTo(a, line, quitter, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);

        // A second STOP from a number already opted out: stored, but no second confirmation.
        text(a, quitter, line, "STOP");
        var stops = await(() -> inbound(a, "?from=" + quitter.replace("+", "%2B")), l -> l.size() == 2, 10_000);
        String firstStop = (String) stops.get(1).get("id");
        String secondStop = (String) stops.get(0).get("id");
        var stored = inbound(a, "?lineId=" + lineId);
        assertThat(stored).hasSize(2).allSatisfy(m -> assertThat(m).containsEntry("keyword", "opt_out")
                .containsEntry("possibleOptOut", false).containsEntry("from", quitter).containsEntry("conversationId", null));

        // Every later group message skips the opted-out number.
        String first = (String) send(a, g, lineId, "After the STOP").get("id");
        assertThat(awaitSent(a, first, 30_000)).containsEntry("status", "sent");
        var deliveries = allDeliveries(a, first);
        assertThat(deliveries).filteredOn(d -> quitter.equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("status", "opted_out"));
        assertThat(sentTo(a, line, quitter, "Food Bank: After the STOP")).isEmpty();
        assertThat(sentTo(a, line, members.get(1), "Food Bank: After the STOP")).hasSize(1);

        // HELP is answered although the number is opted out; it stays opted out.
        text(a, quitter, line, "help");
        assertThat(await(() -> sentTo(a, line, quitter, HELP_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(optOuts(a, lineId)).hasSize(1);
        // the HELP's job ran after the second STOP's (one FIFO group per line and number), which made no confirmation
        // (a keyword's reply is stored by its handling, before anything is queued)
        assertThat(InboundFaultsTest.messageExists(runtime, accountId, "rpl_" + firstStop)).isTrue();
        assertThat(InboundFaultsTest.messageExists(runtime, accountId, "rpl_" + secondStop)).as("a second confirmation").isFalse();
        assertThat(sentTo(a, line, quitter, OPT_OUT_REPLY)).hasSize(1);

        // START removes the opt-out and confirms; the next message reaches the number again.
        text(a, quitter, line, "Start.");
        assertThat(await(() -> sentTo(a, line, quitter, OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(optOuts(a, lineId)).isEmpty();
        String second = (String) send(a, g, lineId, "Welcome back").get("id");
        assertThat(awaitSent(a, second, 30_000)).containsEntry("status", "sent");
        assertThat(sentTo(a, line, quitter, "Food Bank: Welcome back")).hasSize(1);

        // Keywords never go to integrations as replies, but each change of the number's opt-out does (the second STOP
        // states it again); replies are billed like any message (2 group messages: 2 + 3 recipients, plus 3 keyword
        // replies).
        assertThat(integrationEvents(a, accountId)).isEmpty();
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).extracting(e -> e.get("phone") + " " + e.get("optedOut"))
                .containsExactly(quitter + " true", quitter + " true", quitter + " false");
        var usage = usageOfTheTest(a);
        assertThat(((Number) usage.get("messages")).longValue()).isEqualTo(2 + 3 + 3);
        // by kind: the group messages' recipients, the STOP and HELP answers, the START answer
        @SuppressWarnings("unchecked")
        var kinds = (List<Map<String, Object>>) usage.get("byKind");
        assertThat(kinds).extracting(k -> k.get("kind") + "=" + k.get("messages")).containsExactly("group=5", "keyword_reply=2", "opt_in_reply=1");
        // The replies are not group messages.
        @SuppressWarnings("unchecked")
        var listed = (List<Map<String, Object>>) a.get("/v1/messages").jsonObject().get("items");
        assertThat(listed).extracting(m -> m.get("id")).containsExactlyInAnyOrder(first, second);

        // "Yes" from a number never opted out, in no conversation: an opt-in as API.md has it, so confirmed (as in a
        // conversation, see ConversationsE2eTest)
        text(a, members.get(1), line, "Yes");
        assertThat(await(() -> sentTo(a, line, members.get(1), OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        // ... every time, to the line itself (only a Yes in a conversation is confirmed once a day)
        text(a, members.get(1), line, "yes!");
        assertThat(await(() -> sentTo(a, line, members.get(1), OPT_IN_REPLY), l -> l.size() == 2, 15_000)).hasSize(2);

        // the list by keyword (an extension): every STOP, every HELP, the texts without one
        text(a, members.get(2), line, "Thanks!");
        await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 7, 10_000);
        assertThat(inbound(a, "?lineId=" + lineId + "&keyword=opt_out")).hasSize(2)
                .allSatisfy(m -> assertThat(m).containsEntry("keyword", "opt_out").containsEntry("from", quitter));
        assertThat(inbound(a, "?lineId=" + lineId + "&keyword=help")).extracting(m -> m.get("body")).containsExactly("help");
        assertThat(inbound(a, "?lineId=" + lineId + "&keyword=opt_in")).extracting(m -> m.get("body")).containsExactly("yes!", "Yes", "Start.");
        assertThat(inbound(a, "?keyword=none")).extracting(m -> m.get("body")).containsExactly("Thanks!");
        var bad = a.get("/v1/inbound?keyword=stop");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("keyword must be opt_out, opt_in, help or none");
    }

    /**
     * A number the business opted out by hand never got the line's confirmation: its first STOP gets it, once, and
     * a repeated STOP nothing more (as for a number whose first STOP recorded the opt-out).
     */
    @Test
    void aStopFromANumberOptedOutByHandIsConfirmedOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Manual Then Stop Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        String phone = "+14155550421";
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", phone)).status()).isEqualTo(201);
        var manual = optOuts(a, lineId).getFirst();
        assertThat(manual).containsEntry("source", "manual");

        text(a, phone, line, "STOP");
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        // now a keyword opt-out, still dated from when the number first opted out
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("phone", phone)
                .containsEntry("source", "keyword").containsEntry("createdAt", manual.get("createdAt")));

        text(a, phone, line, "stop");
        String secondStop = (String) await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 2, 10_000).getFirst().get("id");
        text(a, phone, line, "HELP"); // a later reply to the number: the second STOP's job ran before it
        assertThat(await(() -> sentTo(a, line, phone, HELP_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(InboundFaultsTest.messageExists(runtime, accountId, "rpl_" + secondStop)).as("no second confirmation").isFalse();
        assertThat(sentTo(a, line, phone, OPT_OUT_REPLY)).hasSize(1);
        // a manual opt-out recorded again changes nothing
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", phone)).status()).isEqualTo(200);
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("source", "keyword"));
        // the line's own number is no recipient to opt out
        var own = a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", line));
        assertThat(own.status()).isEqualTo(400);
        assertThat(own.body()).contains("phone: is the line's own number");
        assertThat(optOuts(a, lineId)).hasSize(1);
    }

    @Test
    void aFilteredInboundListEndsOnItsLastMatch(ApiClient api) throws Exception {
        // by sender and line: the sender's oldest message, on another line, is read past the page but filtered out
        ApiClient a = api.forNewAccount("Filtered Replies Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String otherLine = linePhone();
        createLine(a, otherLine, "long_code", 10);
        String ann = "+14155550311";
        text(a, ann, otherLine, "Wrong number?");
        await(() -> inbound(a, ""), l -> l.size() == 1, 10_000);
        text(a, ann, line, "First");
        await(() -> inbound(a, ""), l -> l.size() == 2, 10_000);
        text(a, ann, line, "Second");
        await(() -> inbound(a, ""), l -> l.size() == 3, 10_000);
        var page = a.get("/v1/inbound?from=%2B14155550311&lineId=" + lineId + "&limit=2").jsonObject();
        assertThat((List<?>) page.get("items")).hasSize(2);
        assertThat(page.get("nextCursor")).as("no further match").isNull();
        var first = a.get("/v1/inbound?from=%2B14155550311&lineId=" + lineId + "&limit=1").jsonObject();
        assertThat(first.get("nextCursor")).as("one more match follows").isNotNull();
        var rest = a.get("/v1/inbound?from=%2B14155550311&lineId=" + lineId + "&limit=1&cursor=" + first.get("nextCursor")).jsonObject();
        assertThat((List<?>) rest.get("items")).hasSize(1);
        assertThat(rest.get("nextCursor")).isNull();
    }

    @Test
    void repliesAreStoredListedNewestFirstAndPublishedToIntegrations(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Reply Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String otherLine = linePhone();
        String otherLineId = createLine(a, otherLine, "long_code", 10);
        String ann = "+14155550301", bob = "+14155550302";

        // The emulator posts webhooks asynchronously: wait for each before the next, so the order is known.
        text(a, ann, line, "Thanks, see you Saturday");
        await(() -> inbound(a, ""), l -> l.size() == 1, 10_000);
        text(a, ann, line, "stop texting me please");
        await(() -> inbound(a, ""), l -> l.size() == 2, 10_000);
        text(a, bob, otherLine, "Ça marche 👍");
        var all = await(() -> inbound(a, ""), l -> l.size() == 3, 10_000);
        assertThat(all).hasSize(3);
        assertThat(all.get(0)).containsEntry("body", "Ça marche 👍").containsEntry("lineId", otherLineId);
        assertThat(all.get(2)).containsEntry("body", "Thanks, see you Saturday").containsEntry("keyword", null)
                .containsEntry("possibleOptOut", false).containsEntry("mediaUrls", List.of());
        assertThat(all.get(1)).containsEntry("possibleOptOut", true).containsEntry("keyword", null);
        assertThat(((String) all.get(0).get("id"))).startsWith("inb_");
        assertThat((String) all.get(0).get("createdAt")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");

        // Filters and paging.
        assertThat(inbound(a, "?lineId=" + lineId)).extracting(m -> m.get("from")).containsOnly(ann).hasSize(2);
        assertThat(inbound(a, "?from=%2B14155550302")).singleElement().satisfies(m -> assertThat(m).containsEntry("from", bob));
        assertThat(inbound(a, "?from=%2B14155550302&lineId=" + lineId)).isEmpty();
        // the texts kept for a person to review (an extension of API.md), alone or with the other filters
        assertThat(inbound(a, "?possibleOptOut=true")).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("body", "stop texting me please"));
        assertThat(inbound(a, "?possibleOptOut=true&lineId=" + otherLineId)).isEmpty();
        assertThat(inbound(a, "?possibleOptOut=true&from=%2B14155550301&lineId=" + lineId)).hasSize(1);
        assertThat(inbound(a, "?possibleOptOut=false")).hasSize(2);
        assertThat(a.get("/v1/inbound?possibleOptOut=yes").status()).isEqualTo(400);
        assertThat(inbound(a, "?from=(415)%20555-0302&country=US")).as("a national number with its country")
                .singleElement().satisfies(m -> assertThat(m).containsEntry("from", bob));
        var page = a.get("/v1/inbound?limit=2").jsonObject();
        assertThat((List<?>) page.get("items")).hasSize(2);
        var rest = a.get("/v1/inbound?limit=2&cursor=" + page.get("nextCursor")).jsonObject();
        assertThat((List<?>) rest.get("items")).hasSize(1);
        assertThat(a.get("/v1/inbound?from=notaphone").status()).isEqualTo(400);
        assertThat(a.get("/v1/inbound?limit=0").status()).isEqualTo(400);

        // A "possible opt-out" is not an opt-out: a person reviews it.
        assertThat(optOuts(a, lineId)).isEmpty();

        // Replies (not keywords) go to integrations, once each, with what an integration needs.
        var events = await(() -> integrationEvents(a, accountId), l -> l.size() == 3, 10_000);
        assertThat(events).hasSize(3).allSatisfy(e -> assertThat(e).containsEntry("type", "reply.received"));
        assertThat(events).filteredOn(e -> "Thanks, see you Saturday".equals(e.get("body"))).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("lineId", lineId).containsEntry("linePhone", line)
                        .containsEntry("from", ann).containsEntry("mediaUrls", List.of()).containsEntry("conversationId", null)
                        .containsKey("inboundId"));

        // One by its id (an extension of API.md), as listed.
        var one = a.get("/v1/inbound/" + all.get(0).get("id"));
        assertThat(one.status()).as(one.body()).isEqualTo(200);
        assertThat(one.jsonObject()).isEqualTo(all.get(0));
        assertThat(a.get("/v1/inbound/inb_00000000000000000000000000").status()).isEqualTo(404);
        assertThat(a.get("/v1/inbound/grp_00000000000000000000000000").status()).isEqualTo(404);

        // Another account sees none of it.
        ApiClient other = api.forNewAccount("Nosy Co");
        assertThat(other.get("/v1/inbound/" + all.get(0).get("id")).status()).isEqualTo(404);
        assertThat(inbound(other, "")).isEmpty();
        assertThat(other.get("/v1/inbound?lineId=" + lineId).status()).isEqualTo(404);
        assertThat(other.get("/v1/opt-outs?lineId=" + lineId).status()).isEqualTo(404);
    }

    /**
     * A STOP and a START a moment later: the phone hears "unsubscribed", then "resubscribed", in that order (the
     * replies go through one FIFO group per line and number; as fresh jobs each, the START's could take the line's
     * first slot and the STOP's confirmation come last, while the number is subscribed).
     */
    @Test
    void aStopAndAStartAreAnsweredInTheOrderTheyCame(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Stop Start Order Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 1);
        String phone = "+14155550431";
        text(a, phone, line, "STOP");
        await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 1, 10_000);
        text(a, phone, line, "START");
        var bodies = await(() -> ConversationsE2eTest.bodiesTo(a, line, phone), l -> l.size() == 2, 20_000);
        assertThat(bodies).containsExactly(OPT_OUT_REPLY, OPT_IN_REPLY);
        assertThat(optOuts(a, lineId)).isEmpty();
    }

    @Test
    void tollFreeLinesRecordTheOptOutButLeaveTheAnswerToTheCarrier(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Toll Free Co");
        String line = "+1833555" + String.format("%04d", (int) (Math.random() * 10_000));
        String lineId = createLine(a, line, "toll_free", 3);
        String phone = "+14155550401";
        text(a, phone, line, "Stop");
        assertThat(await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000)).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("source", "keyword"));
        text(a, phone, line, "HELP");
        assertThat(await(() -> sentTo(a, line, phone, HELP_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        runtime.awaitIdle();
        assertThat(sentTo(a, line, phone, OPT_OUT_REPLY)).isEmpty();
    }

    /**
     * The toll-free network knows one opt-out word, STOP: our others (UNSUBSCRIBE, REMOVE, "Stop 🙏") it neither
     * answers nor blocks, so the confirmation is ours, and a "Yes" later opts the number back in as on any line.
     */
    @Test
    @SuppressWarnings("unchecked")
    void onATollFreeLineOurOtherOptOutWordsAreConfirmedByUs(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Toll Free Words Co");
        String line = "+1855555" + String.format("%04d", (int) (Math.random() * 10_000));
        String lineId = createLine(a, line, "toll_free", 3);
        for (String[] sent : new String[][] {{"+14155550406", "UNSUBSCRIBE"}, {"+14155550407", "REMOVE"}, {"+14155550408", "Stop 🙏"}}) {
            String phone = sent[0];
            text(a, phone, line, sent[1]);
            assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).as(sent[1]).hasSize(1);
        }
        assertThat(optOuts(a, lineId)).hasSize(3);
        runtime.awaitIdle();
        assertThat((List<Map<String, Object>>) a.withoutKey().get("/local/carrier/messages?from=" + line.replace("+", "%2B"))
                .jsonObject().get("carrierReplies")).as("the network answered none of them").isEmpty();
        // not blocked by the network: a "Yes" lifts ours and is answered
        String phone = "+14155550407";
        text(a, phone, line, "Yes");
        assertThat(await(() -> sentTo(a, line, phone, OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(optOuts(a, lineId)).noneMatch(o -> phone.equals(o.get("phone")));
    }

    /** Locally the emulator stands in for the toll-free network, which answers STOP and START itself. */
    @Test
    @SuppressWarnings("unchecked")
    void theEmulatedNetworkAnswersATollFreeStopAndStart(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Toll Free Network Co");
        String line = "+1844555" + String.format("%04d", (int) (Math.random() * 10_000));
        String lineId = createLine(a, line, "toll_free", 3);
        String phone = "+14155550403";
        java.util.function.Supplier<List<Map<String, Object>>> networkReplies = () -> (List<Map<String, Object>>) a.withoutKey()
                .get("/local/carrier/messages?to=" + phone.replace("+", "%2B")).jsonObject().get("carrierReplies");

        text(a, phone, line, "STOP");
        assertThat(await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(await(networkReplies, l -> !l.isEmpty(), 15_000)).singleElement().satisfies(r -> assertThat(r)
                .containsEntry("from", line).containsEntry("body", "NETWORK MSG: You replied with the word \"stop\" which"
                        + " blocks all texts sent from this number. Text back \"unstop\" to receive messages again."));
        // "Yes" is no network keyword: the network keeps blocking the number, so it lifts nothing of ours either;
        // START, handled after it (one FIFO group per line and number), lifts both
        text(a, phone, line, "Yes");
        await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 2, 10_000); // the carrier posts texts side by side
        text(a, phone, line, "START");
        await(() -> optOuts(a, lineId), List::isEmpty, 15_000);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String startId = (String) inbound(a, "?lineId=" + lineId).stream().filter(m -> "START".equals(m.get("body")))
                .findFirst().orElseThrow().get("id");
        assertThat(await(() -> integrationEvents(a, accountId, "opt_out.changed"), l -> l.size() == 2, 15_000))
                .filteredOn(e -> Boolean.FALSE.equals(e.get("optedOut"))).singleElement()
                .satisfies(e -> assertThat(e).as("lifted by the START, not the Yes").containsEntry("inboundId", startId));
        assertThat(await(networkReplies, l -> l.size() == 2, 15_000)).extracting(r -> r.get("body")).last()
                .isEqualTo("NETWORK MSG: You have replied \"unstop\" and will begin receiving messages again from this number.");
        assertThat(carrierMessages(a, line)).as("no reply of ours, and the network's are not among what it was asked to send").isEmpty();
        // a "Yes" from a number never opted out is answered by us: the network does not know the word
        String other = "+14155550404";
        text(a, other, line, "Yes");
        assertThat(await(() -> sentTo(a, line, other, OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        // ... and so is one from a number opted out by hand, which the network knows nothing of: opted back in
        String byHand = "+14155550405";
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", byHand)).status()).isEqualTo(201);
        text(a, byHand, line, "Yes");
        assertThat(await(() -> sentTo(a, line, byHand, OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(optOuts(a, lineId)).noneMatch(o -> byHand.equals(o.get("phone")));
        // one opted out by a review who then texted STOP is blocked by the network all the same: its "Yes" lifts nothing
        String reviewed = "+14155550406";
        text(a, reviewed, line, "stop texting me please");
        var possible = await(() -> inbound(a, "?from=" + reviewed.replace("+", "%2B")), l -> !l.isEmpty(), 10_000);
        assertThat(a.post("/v1/inbound/" + possible.getFirst().get("id") + "/review", Map.of("decision", "opt_out")).status())
                .isEqualTo(200);
        text(a, reviewed, line, "STOP");
        await(() -> inbound(a, "?from=" + reviewed.replace("+", "%2B")), l -> l.size() == 2, 10_000);
        text(a, reviewed, line, "Yes");
        var reviewedTexts = await(() -> inbound(a, "?from=" + reviewed.replace("+", "%2B")), l -> l.size() == 3, 10_000);
        assertThat(reviewedTexts).as("the Yes received").hasSize(3);
        String yesId = (String) reviewedTexts.getFirst().get("id");
        assertThat(await(() -> InboundFaultsTest.handled(runtime, accountId, yesId), Boolean::booleanValue, 15_000))
                .as("the Yes handled").isTrue();
        assertThat(optOuts(a, lineId)).anyMatch(o -> reviewed.equals(o.get("phone")));
        // a long code gets no network reply
        String longCode = linePhone();
        createLine(a, longCode, "long_code", 1);
        text(a, phone, longCode, "STOP");
        assertThat(await(() -> sentTo(a, longCode, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000))
                .as("the long code's own confirmation").hasSize(1);
        assertThat(networkReplies.get()).hasSize(2);

        // "START*" is an opt-in here (any punctuation after it) but not a word the network is known to take: from a
        // number its STOP blocked, ours stays as its block does; from one never opted out, our reply answers it
        String blocked = "+14155550407";
        text(a, blocked, line, "STOP");
        await(() -> optOuts(a, lineId), l -> l.stream().anyMatch(o -> blocked.equals(o.get("phone"))), 15_000);
        text(a, blocked, line, "START*");
        var startStar = await(() -> inbound(a, "?from=" + blocked.replace("+", "%2B")), l -> l.size() == 2, 10_000);
        assertThat(startStar.getFirst()).containsEntry("keyword", "opt_in");
        assertThat(await(() -> InboundFaultsTest.handled(runtime, accountId, (String) startStar.getFirst().get("id")),
                Boolean::booleanValue, 15_000)).as("the START* handled").isTrue();
        assertThat(optOuts(a, lineId)).anyMatch(o -> blocked.equals(o.get("phone")));
        String fresh = "+14155550408";
        text(a, fresh, line, "Start -");
        assertThat(await(() -> sentTo(a, line, fresh, OPT_IN_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    /**
     * A do-not-text list brought from another system: {@code phones} opts each number out as a manual opt-out does
     * (listed, skipped by the next group message, told to integrations), the valid ones even when others are not; a
     * number given twice or opted out already is counted so; a retry under its Idempotency-Key gives the same answer.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aListOfNumbersIsOptedOutInOneRequest(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Bulk Opt-Out Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550901")).status()).isEqualTo(201);
        var body = Map.of("lineId", lineId, "country", "US", "phones", List.of(
                "+14155550901", "(415) 555-0902", "+14155550903", "+14155550902", "not a number", 42, line, "+44 20 7946 0018"));
        var r = a.withHeader("Idempotency-Key", "bulk-1").post("/v1/opt-outs", body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.jsonObject()).containsEntry("added", 3).containsEntry("alreadyOptedOut", 2);
        assertThat((List<Map<String, Object>>) r.jsonObject().get("invalid")).extracting(e -> e.get("index"))
                .containsExactly(4, 5, 6);
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone"))
                .containsExactlyInAnyOrder("+14155550901", "+14155550902", "+14155550903", "+442079460018");
        var replay = a.withHeader("Idempotency-Key", "bulk-1").post("/v1/opt-outs", body);
        assertThat(replay.header("idempotent-replayed")).isEqualTo("true");
        assertThat(replay.jsonObject()).isEqualTo(r.jsonObject());

        // the next group message skips them
        String g = createGroup(a, "Bulk");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550903"),
                Map.of("phone", "+14155550904")))).status()).isEqualTo(200);
        String id = (String) send(a, g, lineId, "After the list").get("id");
        assertThat(awaitSent(a, id, 20_000)).containsEntry("status", "sent");
        assertThat(allDeliveries(a, id)).extracting(d -> d.get("phone"), d -> d.get("status")).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("+14155550903", "opted_out"), org.assertj.core.groups.Tuple.tuple("+14155550904", "sent"));

        // the list itself is checked: none, too many, with phone too, another account's line
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phones", List.of())).status()).isEqualTo(400);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phones", java.util.Collections.nCopies(101, "+14155550905")))
                .status()).isEqualTo(400);
        var badCountry = a.post("/v1/opt-outs", Map.of("lineId", lineId, "country", "ZZ", "phones", List.of("4155550909")));
        assertThat(badCountry.status()).isEqualTo(400);
        assertThat(badCountry.body()).contains("unknown country");
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550906", "phones", List.of("+14155550907")))
                .status()).isEqualTo(400);
        assertThat(api.forNewAccount("Other Bulk Co").post("/v1/opt-outs", Map.of("lineId", lineId, "phones", List.of("+14155550908")))
                .status()).isEqualTo(400);
        assertThat(optOuts(a, lineId)).hasSize(4);
    }

    /**
     * A word the carrier itself takes for a keyword (Twilio's Advanced Opt-Out: "ALTO" configured as an opt-out, sent
     * as {@code OptOutType=STOP}) is one here too: the number is opted out, the text is no reply. Before, it was taken
     * for a reply while the carrier blocked the number.
     */
    @Test
    void aKeywordTheCarrierTookForAnOptOutOptsTheNumberOut(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Carrier Keyword Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String from = "+14155550877";
        var alto = twilioInbound(sid(), from, line, "ALTO");
        alto.put("OptOutType", "STOP");
        assertThat(postInbound(a, runtime, alto, null).status()).isEqualTo(200);
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).containsExactly(from);
        var stored = await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 1, 5_000).getFirst();
        assertThat(stored).containsEntry("keyword", "opt_out").containsEntry("body", "ALTO");
        // without the carrier's word, the same text is a reply
        String other = "+14155550878";
        assertThat(postInbound(a, runtime, twilioInbound(sid(), other, line, "ALTO"), null).status()).isEqualTo(200);
        assertThat(await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 2, 5_000).getFirst())
                .containsEntry("from", other).containsEntry("keyword", null);
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).containsExactly(from);
    }

    /**
     * A sender name's or a short code's STOP or HELP is a text like any other: no answer (the carrier refuses one to
     * such a sender), no opt-out of a "number" nothing is sent to, no event saying so; it goes to integrations.
     */
    @Test
    void aKeywordFromASenderThatIsNoNumberIsAnOrdinaryText(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Sender Name Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        for (String sender : List.of("AMAZON", "22395")) {
            for (String word : List.of("STOP", "HELP")) {
                var carrierWord = twilioInbound(sid(), sender, line, word);
                if (word.equals("STOP")) carrierWord.put("OptOutType", "STOP");
                assertThat(postInbound(a, runtime, carrierWord, null).status()).isEqualTo(200);
            }
        }
        text(a, "+14155550879", line, "STOP"); // a number's, after them: its worker ran after theirs
        await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000);
        runtime.awaitIdle();
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).containsExactly("+14155550879");
        var texts = inbound(a, "?lineId=" + lineId).stream().filter(m -> !"+14155550879".equals(m.get("from"))).toList();
        assertThat(texts).hasSize(4).allSatisfy(m -> assertThat(m).containsEntry("keyword", null));
        assertThat(carrierMessages(a, line)).extracting(m -> m.get("to")).containsExactly("+14155550879");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(await(() -> integrationEvents(a, accountId), l -> l.size() == 4, 15_000))
                .extracting(e -> e.get("from") + " " + e.get("body"))
                .containsExactlyInAnyOrder("AMAZON STOP", "AMAZON HELP", "22395 STOP", "22395 HELP");
        assertThat(integrationEvents(a, accountId, "opt_out.changed")).extracting(e -> e.get("phone"))
                .containsExactly("+14155550879");
    }

    @Test
    void aTextFromTheLinesOwnNumberIsTakenAndIgnored(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Self Text Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), line, line, "STOP"), null).status()).isEqualTo(200);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), line, line, "hello me"), null).status()).isEqualTo(200);
        // another line of the account (its number in a group or a conversation of this line): its own message
        String otherLine = linePhone();
        createLine(a, otherLine, "long_code", 10);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), otherLine, line, "Acme: our group message"), null).status())
                .isEqualTo(200);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), otherLine, line, "STOP"), null).status()).isEqualTo(200);
        // another account's line is someone else writing: kept (a person's number another account registered as a
        // line must not be silenced), though not for integrations
        String theirs = linePhone();
        createLine(api.forNewAccount("Other Business Co"), theirs, "long_code", 10);
        text(a, theirs, line, "Hello from another business");
        text(a, "+14155550404", line, "STOP"); // a later text, to know the worker had its chance
        await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000);
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).containsExactly("+14155550404");
        assertThat(inbound(a, "?lineId=" + lineId)).extracting(m -> m.get("from")).containsExactlyInAnyOrder("+14155550404", theirs);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        runtime.awaitIdle(); // the text's own worker done too
        assertThat(integrationEvents(a, accountId)).as("a business's text: none for integrations").isEmpty();
        assertThat(await(() -> carrierMessages(a, line), l -> !l.isEmpty(), 15_000)).extracting(m -> m.get("to"))
                .as("only the other number's confirmation").containsExactly("+14155550404");
    }

    /**
     * A text from another account's line is kept (its STOP too), marked {@code fromLine}, but never goes into a
     * conversation nor to integrations: two accounts' conversations that held each other's line relayed each reply back
     * and forth for ever, billed on both sides, and two accounts' bots answering each reply would too.
     */
    @Test
    void aTextFromAnotherAccountsLineIsADirectReplyNeverRelayed(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Loop Guard Co");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String theirs = linePhone();
        ConversationsE2eTest.groupLine(api.forNewAccount("Other Loop Co"), theirs, 50);
        String person = "+14155550406";
        ConversationsE2eTest.create(a, lineId, List.<Object>of(theirs, person), "Both of you");
        assertThat(await(() -> ConversationsE2eTest.bodiesTo(a, line, person), l -> !l.isEmpty(), 15_000)).hasSize(1);

        text(a, theirs, line, "Other Co: a relay from our own conversation");
        text(a, theirs, line, "STOP");
        await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000);
        runtime.awaitIdle();
        assertThat(optOuts(a, lineId)).extracting(o -> o.get("phone")).containsExactly(theirs);
        assertThat(inbound(a, "?lineId=" + lineId)).hasSize(2).allSatisfy(m -> assertThat(m)
                .containsEntry("from", theirs).containsEntry("conversationId", null).containsEntry("fromLine", true));
        assertThat(ConversationsE2eTest.bodiesTo(a, line, person)).as("nothing relayed").containsExactly("Both of you");
        // a person's reply in the same conversation still goes round, and to integrations; the line's never did
        text(a, person, line, "Hi");
        assertThat(await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 3, 15_000).getFirst())
                .containsEntry("fromLine", false).extractingByKey("conversationId").isNotNull();
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(await(() -> integrationEvents(a, accountId), l -> !l.isEmpty(), 15_000)).extracting(e -> e.get("body"))
                .containsExactly("Hi");
    }

    @Test
    void aLongCodeDeclaredTollFreeStillConfirmsOptOuts(ApiClient api) throws Exception {
        // No carrier answers STOP for a number that is not toll-free, whatever type the line was given.
        ApiClient a = api.forNewAccount("Declared Toll Free Co");
        String line = linePhone();
        String lineId = createLine(a, line, "toll_free", 3);
        String phone = "+14155550402";
        text(a, phone, line, "STOP");
        assertThat(await(() -> optOuts(a, lineId), l -> !l.isEmpty(), 15_000)).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("source", "keyword"));
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    @Test
    void anOptOutRecordedWhileAMessageSendsStopsItsLaterSends(ApiClient api) throws Exception {
        // A 2 mps line spaces a block of 12 over 6 s: the opt-outs recorded a second in must hold for what is left.
        ApiClient a = api.forNewAccount("Mid Send Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 2);
        String g = createGroup(a, "Slow line");
        List<String> members = addMembers(a, g, 3300, 12);
        String id = (String) send(a, g, lineId, "Long broadcast").get("id");
        await(() -> carrierMessages(a, line), l -> l.size() >= 2, 15_000);
        Set<String> reached = new HashSet<>(carrierMessages(a, line).stream().map(m -> (String) m.get("to")).toList());
        List<String> stopping = members.stream().filter(p -> !reached.contains(p)).toList();
        Map<String, Long> recordedAt = new HashMap<>();
        for (String p : stopping) {
            assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", p)).status()).isEqualTo(201);
            recordedAt.put(p, System.currentTimeMillis());
        }
        var done = awaitSent(a, id, 60_000);

        // what went to a number after its opt-out was recorded can only be what was due within the freshness second
        // (a send's look at opt-outs is at most 1 s old), plus the carrier request's own time
        var sent = carrierMessages(a, line);
        var lateSends = sent.stream().filter(m -> stopping.contains((String) m.get("to")))
                .filter(m -> Instant.parse((String) m.get("createdAt")).toEpochMilli() > recordedAt.get((String) m.get("to")) + 2_000)
                .toList();
        assertThat(lateSends).as("sent after the opt-out was recorded").isEmpty();
        long spared = stopping.stream().filter(p -> sent.stream().noneMatch(m -> p.equals(m.get("to")))).count();
        assertThat(spared).as("spared of the %d opted out", stopping.size()).isGreaterThanOrEqualTo(stopping.size() / 2);
        @SuppressWarnings("unchecked") var counts = (Map<String, Object>) done.get("counts");
        assertThat(((Number) counts.get("optedOut")).longValue()).isEqualTo(spared);
        assertThat(allDeliveries(a, id).stream().filter(d -> "opted_out".equals(d.get("status"))).map(d -> d.get("phone")).toList())
                .allSatisfy(p -> assertThat(stopping).contains((String) p));
        var usage = await(() -> usageOfTheTest(a), u -> ((Number) u.get("messages")).longValue() >= 12 - spared, 10_000);
        assertThat(((Number) usage.get("messages")).longValue()).as("opted-out recipients are not billed").isEqualTo(12 - spared);
    }

    /**
     * Without {@code lineId}, the account's opt-outs on all its lines: line by line, oldest line first, each in number
     * order, paged across lines; another account's cursor is a 400 and shows nothing.
     */
    @Test
    @SuppressWarnings("unchecked")
    void theAccountsOptOutsAreListedAcrossItsLines(ApiClient api) {
        ApiClient a = api.forNewAccount("Many Lines Co");
        String first = createLine(a, linePhone(), "long_code", 5);
        String empty = createLine(a, linePhone(), "long_code", 5);
        String second = createLine(a, linePhone(), "long_code", 5);
        for (String p : List.of("+14155550932", "+14155550931")) {
            assertThat(a.post("/v1/opt-outs", Map.of("lineId", first, "phone", p)).status()).isEqualTo(201);
        }
        for (String p : List.of("+14155550933", "+14155550931")) {
            assertThat(a.post("/v1/opt-outs", Map.of("lineId", second, "phone", p)).status()).isEqualTo(201);
        }
        List<String> expected = List.of(first + " +14155550931", first + " +14155550932", second + " +14155550931",
                second + " +14155550933");
        var all = a.get("/v1/opt-outs").jsonObject();
        assertThat((List<Map<String, Object>>) all.get("items")).extracting(o -> o.get("lineId") + " " + o.get("phone"))
                .containsExactlyElementsOf(expected);
        assertThat(all.get("nextCursor")).isNull();
        // a page that ends with the last opt-out there is is the last page, even at a line's end
        var exact = a.get("/v1/opt-outs?limit=4").jsonObject();
        assertThat((List<?>) exact.get("items")).hasSize(4);
        assertThat(exact.get("nextCursor")).isNull();
        var firstLine = a.get("/v1/opt-outs?limit=2").jsonObject();
        assertThat((List<Map<String, Object>>) firstLine.get("items")).extracting(o -> o.get("lineId")).containsOnly(first);
        assertThat(firstLine.get("nextCursor")).as("a later line has more").isNotNull();
        for (int limit : List.of(1, 2, 3)) {
            List<String> walked = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                var page = a.get("/v1/opt-outs?limit=" + limit + (cursor == null ? "" : "&cursor=" + cursor)).jsonObject();
                var items = (List<Map<String, Object>>) page.get("items");
                assertThat(items.size()).isLessThanOrEqualTo(limit);
                items.forEach(o -> walked.add(o.get("lineId") + " " + o.get("phone")));
                cursor = (String) page.get("nextCursor");
                assertThat(++pages).isLessThan(10);
            } while (cursor != null);
            assertThat(walked).as("limit %d", limit).containsExactlyElementsOf(expected);
        }
        assertThat(empty).isNotNull();
        String cursor = (String) a.get("/v1/opt-outs?limit=1").jsonObject().get("nextCursor");
        ApiClient other = api.forNewAccount("Other Lines Co");
        assertThat(other.get("/v1/opt-outs?cursor=" + cursor).status()).isEqualTo(400);
        assertThat((List<?>) other.get("/v1/opt-outs").jsonObject().get("items")).isEmpty();
        assertThat(a.get("/v1/opt-outs?cursor=bm90LWEtY3Vyc29y").status()).isEqualTo(400);

        // the first line deleted between two pages: the cursor into it goes on with the next line (a deleted line's
        // opt-outs, kept for it, are listed by ?lineId= only); before, it was a 400
        String into = (String) a.get("/v1/opt-outs?limit=1").jsonObject().get("nextCursor");
        assertThat(a.delete("/v1/lines/" + first).status()).isEqualTo(204);
        var after = a.get("/v1/opt-outs?limit=10&cursor=" + into);
        assertThat(after.status()).as(after.body()).isEqualTo(200);
        assertThat((List<Map<String, Object>>) after.jsonObject().get("items")).extracting(o -> o.get("lineId") + " " + o.get("phone"))
                .containsExactlyElementsOf(expected.subList(2, expected.size()));
        assertThat(after.jsonObject().get("nextCursor")).isNull();
        assertThat(other.get("/v1/opt-outs?cursor=" + into).status()).as("still not another account's").isEqualTo(400);
    }

    @Test
    @SuppressWarnings("unchecked")
    void oneNumbersOptOutsAreListedAcrossTheLinesOrForOne(ApiClient api) {
        ApiClient a = api.forNewAccount("One Number Co");
        String first = createLine(a, linePhone(), "long_code", 5);
        String untouched = createLine(a, linePhone(), "long_code", 5);
        String third = createLine(a, linePhone(), "long_code", 5);
        String kim = "+14155550941";
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", third, "phone", kim)).status()).isEqualTo(201);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", first, "phone", kim)).status()).isEqualTo(201);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", untouched, "phone", "+14155550942")).status()).isEqualTo(201);
        ApiClient other = api.forNewAccount("Other One Number Co");
        assertThat(other.post("/v1/opt-outs", Map.of("lineId", createLine(other, linePhone(), "long_code", 5), "phone", kim))
                .status()).isEqualTo(201);

        var all = a.get("/v1/opt-outs?phone=%2B14155550941").jsonObject();
        assertThat((List<Map<String, Object>>) all.get("items")).as("the account's lines only, oldest line first")
                .extracting(o -> o.get("lineId") + " " + o.get("phone") + " " + o.get("source"))
                .containsExactly(first + " " + kim + " manual", third + " " + kim + " manual");
        assertThat(all.get("nextCursor")).isNull();
        assertThat((List<?>) a.get("/v1/opt-outs?phone=(415)%20555-0941&country=US").jsonObject().get("items")).hasSize(2);
        assertThat((List<Map<String, Object>>) a.get("/v1/opt-outs?phone=%2B14155550941&lineId=" + third).jsonObject().get("items"))
                .extracting(o -> o.get("lineId")).containsExactly(third);
        assertThat((List<?>) a.get("/v1/opt-outs?phone=%2B14155550941&lineId=" + untouched).jsonObject().get("items")).isEmpty();
        assertThat((List<?>) a.get("/v1/opt-outs?phone=%2B14155550943").jsonObject().get("items")).isEmpty();
        // removed on one line: listed on the other only
        assertThat(a.delete("/v1/opt-outs/" + first + "/%2B14155550941").status()).isEqualTo(204);
        assertThat((List<Map<String, Object>>) a.get("/v1/opt-outs?phone=%2B14155550941").jsonObject().get("items"))
                .extracting(o -> o.get("lineId")).containsExactly(third);

        assertThat(a.get("/v1/opt-outs?phone=12").status()).isEqualTo(400);
        assertThat(a.get("/v1/opt-outs?phone=%2B14155550941&cursor=abc").status()).isEqualTo(400);
        assertThat(a.get("/v1/opt-outs?phone=%2B14155550941&lineId=line_nope").status()).isEqualTo(404);
    }

    @Test
    void manualOptOutsAreListedRemovedAndHonoured(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Manual Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 50);
        String g = createGroup(a, "Manual group");
        List<String> members = addMembers(a, g, 2100, 2);

        var created = a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "(617) 555-2100", "country", "US"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.jsonObject()).containsEntry("phone", members.get(0)).containsEntry("source", "manual")
                .containsEntry("lineId", lineId);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", members.get(0))).status()).isEqualTo(200);
        assertThat(optOuts(a, lineId)).singleElement().satisfies(o -> assertThat(o).containsEntry("phone", members.get(0)));

        // Bad input: 400 and nothing recorded; roles; tenancy.
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "12")).status()).isEqualTo(400);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId)).status()).isEqualTo(400);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", "line_nope", "phone", "+14155550000")).status()).isEqualTo(400);
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550000", "extra", 1)).status()).isEqualTo(400);
        assertThat(a.get("/v1/opt-outs?lineId=line_nope").status()).isEqualTo(404);
        var memberKey = (String) a.post("/v1/api-keys", Map.of("name", "m", "role", "member")).jsonObject().get("key");
        ApiClient member = a.withKey(memberKey);
        assertThat(member.get("/v1/opt-outs?lineId=" + lineId).status()).isEqualTo(200);
        assertThat(member.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550000")).status()).isEqualTo(403);
        assertThat(member.delete("/v1/opt-outs/" + lineId + "/" + members.get(0)).status()).isEqualTo(403);
        ApiClient other = api.forNewAccount("Other Manual Co");
        assertThat(other.delete("/v1/opt-outs/" + lineId + "/" + members.get(0).replace("+", "%2B")).status()).isEqualTo(404);
        assertThat(optOuts(a, lineId)).hasSize(1);

        String id = (String) send(a, g, lineId, "Manual check").get("id");
        assertThat(awaitSent(a, id, 30_000)).containsEntry("status", "sent");
        assertThat(allDeliveries(a, id)).filteredOn(d -> members.get(0).equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("status", "opted_out"));
        // A manual opt-out sends no confirmation.
        assertThat(carrierMessages(a, line)).noneMatch(m -> members.get(0).equals(m.get("to")));

        // the number encoded twice by its client, as a member's path takes it
        assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + members.get(0).replace("+", "%252B")).status()).isEqualTo(204);
        assertThat(a.delete("/v1/opt-outs/" + lineId + "/" + members.get(0).replace("+", "%2B")).status()).isEqualTo(404);
        assertThat(optOuts(a, lineId)).isEmpty();
    }

    // ------------------------------------------------------------------ the webhook itself

    static ApiClient.Response postInbound(ApiClient api, LocalRuntime runtime, Map<String, String> params, String signature) {
        return TwilioWebhooks.post(api, runtime, "/webhooks/twilio/inbound", params, signature);
    }

    static Map<String, String> twilioInbound(String sid, String from, String to, String body) {
        var p = new LinkedHashMap<String, String>();
        p.put("ToCountry", "US");
        p.put("SmsMessageSid", sid);
        p.put("NumMedia", "0");
        p.put("SmsSid", sid);
        p.put("SmsStatus", "received");
        p.put("Body", body);
        p.put("To", to);
        p.put("MessageSid", sid);
        p.put("AccountSid", "AC00000000000000000000000000000000");
        p.put("From", from);
        p.put("ApiVersion", "2010-04-01");
        return p;
    }

    static String sid() {
        return "SM" + UUID.randomUUID().toString().replace("-", "");
    }

    @Test
    void theWebhookChecksTheSignatureDeDuplicatesAndRefusesBadInputWithoutStoringAnything(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Webhook Inbound Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String from = "+14155550501";

        var good = twilioInbound(sid(), from, line, "Hello there");
        var forged = postInbound(a, runtime, good, "bm90LWEtc2lnbmF0dXJl");
        assertThat(forged.status()).isEqualTo(403);
        assertThat(a.withoutKey().send("POST", "/webhooks/twilio/inbound", "application/x-www-form-urlencoded",
                "Body=hi&From=%2B14155550501&To=" + line.replace("+", "%2B")).status()).as("no signature").isEqualTo(403);
        // signed for another URL (a replay against another route or host)
        var multi = new LinkedHashMap<String, List<String>>();
        good.forEach((k, v) -> multi.put(k, List.of(v)));
        String wrongUrl = TwilioSignature.compute("https://evil.example/webhooks/twilio/inbound", multi, runtime.settings().twilioAuthToken());
        assertThat(postInbound(a, runtime, good, wrongUrl).status()).isEqualTo(403);
        runtime.awaitIdle();
        assertThat(inbound(a, "")).isEmpty();

        // The real one: 200 with empty TwiML, fast; the same MessageSid again has no second effect.
        long t = System.nanoTime();
        var ok = postInbound(a, runtime, good, null);
        long ms = (System.nanoTime() - t) / 1_000_000;
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.header("content-type")).startsWith("text/xml");
        assertThat(ok.body()).contains("<Response></Response>");
        assertThat(ms).as("answered in ms (Twilio waits 15 s)").isLessThan(5_000);
        assertThat(postInbound(a, runtime, good, null).status()).isEqualTo(200);
        assertThat(postInbound(a, runtime, good, null).status()).isEqualTo(200);
        await(() -> integrationEvents(a, accountId), l -> !l.isEmpty(), 10_000);
        runtime.awaitIdle();
        assertThat(inbound(a, "")).singleElement().satisfies(m -> assertThat(m).containsEntry("body", "Hello there"));
        assertThat(integrationEvents(a, accountId)).hasSize(1);

        // MMS: media URLs kept in order.
        var mms = twilioInbound(sid().replaceFirst("SM", "MM"), from, line, "");
        mms.put("NumMedia", "2");
        mms.put("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME1");
        mms.put("MediaContentType0", "image/jpeg");
        mms.put("MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME2");
        assertThat(postInbound(a, runtime, mms, null).status()).isEqualTo(200);
        assertThat(await(() -> inbound(a, ""), l -> l.size() == 2, 5_000).get(0).get("mediaUrls"))
                .isEqualTo(List.of(mms.get("MediaUrl0"), mms.get("MediaUrl1")));

        // A number that is no line of any account: 2xx, nothing stored anywhere.
        assertThat(postInbound(a, runtime, twilioInbound(sid(), from, "+19995550000", "who is this"), null).status()).isEqualTo(200);

        // Signed but malformed: 400, nothing stored.
        List<Map<String, String>> bad = new ArrayList<>();
        bad.add(twilioInbound("not-a-sid", from, line, "x"));
        var noFrom = twilioInbound(sid(), from, line, "x");
        noFrom.remove("From");
        bad.add(noFrom);
        bad.add(twilioInbound(sid(), from, line, "x".repeat(1601)));
        var badMedia = twilioInbound(sid(), from, line, "x");
        badMedia.put("NumMedia", "3");
        bad.add(badMedia);
        var nanMedia = twilioInbound(sid(), from, line, "x");
        nanMedia.put("NumMedia", "lots");
        bad.add(nanMedia);
        bad.add(twilioInbound(sid(), from, line, ""));
        for (var params : bad) {
            var r = postInbound(a, runtime, params, null);
            assertThat(r.status()).as(params.toString()).isEqualTo(400);
            assertThat(r.body()).doesNotContain("Exception");
        }
        // Unsigned junk is a 403 whatever else is wrong with it (the signature is checked first); only the size is
        // known before: over 64 KB is a 413 unread.
        assertThat(a.withoutKey().send("POST", "/webhooks/twilio/inbound", "application/json", "{\"Body\":\"hi\"}").status()).isEqualTo(403);
        assertThat(a.withoutKey().send("POST", "/webhooks/twilio/inbound", "application/x-www-form-urlencoded",
                "Body=%zz&From=%2B14155550501").status()).isEqualTo(403);
        assertThat(a.withoutKey().send("POST", "/webhooks/twilio/inbound", "application/x-www-form-urlencoded",
                "Body=" + "x".repeat(70_000)).status()).isEqualTo(413);
        assertThat(a.withoutKey().send("POST", "/webhooks/twilio/inbound", "application/x-www-form-urlencoded",
                new byte[]{0, 1, 2, (byte) 0xff, (byte) 0xfe}).status()).isEqualTo(403);
        assertThat(a.withoutKey().send("POST", "/webhooks/twilio/inbound", "application/x-www-form-urlencoded", "").status()).isEqualTo(403);
        assertThat(a.withoutKey().withHeader(TwilioSignature.HEADER, " ").send("POST", "/webhooks/twilio/inbound",
                "application/x-www-form-urlencoded", "Body=hi").status()).as("blank signature").isEqualTo(403);
        // A body that is no form cannot be verified, whatever signature comes with it.
        assertThat(a.withoutKey().withHeader(TwilioSignature.HEADER, "bm90LWEtc2lnbmF0dXJl").send("POST", "/webhooks/twilio/inbound",
                "application/x-www-form-urlencoded", "Body=%zz").status()).isEqualTo(403);
        // Signed, but not declared a form: now the caller may hear what is wrong.
        var signedText = signedWithContentType(a, runtime, "/webhooks/twilio/inbound", twilioInbound(sid(), from, line, "x"), "text/plain");
        assertThat(signedText.status()).as(signedText.body()).isEqualTo(400);
        runtime.awaitIdle();
        assertThat(inbound(a, "")).hasSize(2);
    }

    /** A signed webhook whose body is a form but whose content type says otherwise. */
    static ApiClient.Response signedWithContentType(ApiClient api, LocalRuntime runtime, String path, Map<String, String> params,
                                                    String contentType) {
        var multi = new LinkedHashMap<String, List<String>>();
        params.forEach((k, v) -> multi.put(k, List.of(v)));
        String form = String.join("&", params.entrySet().stream().map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8)).toList());
        String signature = TwilioSignature.compute(runtime.publicBaseUrl() + path, multi, runtime.settings().twilioAuthToken());
        return api.withoutKey().withHeader(TwilioSignature.HEADER, signature).send("POST", path, contentType, form);
    }

    /**
     * The MessageSid is only a dedupe key, and the signature proves who sent the request: a signed webhook with a sid
     * that is not Twilio-shaped (as test tools make up) is stored once, and its resend is a no-op.
     */
    @Test
    void aSignedWebhookWithAnyPlausibleMessageSidIsStoredOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Short Sid Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 10);
        String from = "+14155550511";
        String sid = "SMabc" + UUID.randomUUID().toString().substring(0, 8).replace("-", "");
        var hello = twilioInbound(sid, from, line, "Hello from a test tool");
        assertThat(postInbound(a, runtime, hello, null).status()).isEqualTo(200);
        assertThat(postInbound(a, runtime, hello, null).status()).as("the resend").isEqualTo(200);
        assertThat(await(() -> integrationEvents(a, accountId), l -> !l.isEmpty(), 10_000)).hasSize(1);
        runtime.awaitIdle();
        assertThat(inbound(a, "?lineId=" + lineId)).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("body", "Hello from a test tool").containsEntry("from", from));
        assertThat(integrationEvents(a, accountId)).hasSize(1);

        // ...while what could not be an id at all is still refused, and stores nothing
        for (String bad : List.of("S", "SM" + "a".repeat(63), "SM 1", "SM/../1")) {
            assertThat(postInbound(a, runtime, twilioInbound(bad, from, line, "x"), null).status()).as(bad).isEqualTo(400);
        }
        var blank = twilioInbound(" ", from, line, "x");
        blank.put("SmsMessageSid", " ");
        blank.put("SmsSid", " ");
        assertThat(postInbound(a, runtime, blank, null).status()).isEqualTo(400);
        runtime.awaitIdle();
        assertThat(inbound(a, "?lineId=" + lineId)).hasSize(1);

        // a made-up id is one message per line it was sent to: another line's text with the same id is its own
        String otherLine = linePhone();
        String otherLineId = createLine(a, otherLine, "long_code", 10);
        assertThat(postInbound(a, runtime, twilioInbound(sid, from, otherLine, "Hello to the other line"), null).status())
                .isEqualTo(200);
        assertThat(await(() -> inbound(a, "?lineId=" + otherLineId), l -> !l.isEmpty(), 5_000)).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("body", "Hello to the other line"));
    }
}
