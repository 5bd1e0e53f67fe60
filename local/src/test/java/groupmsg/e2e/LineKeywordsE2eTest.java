package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.HELP_REPLY;
import static groupmsg.e2e.InboundE2eTest.OPT_OUT_REPLY;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.createLine;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.integrationEvents;
import static groupmsg.e2e.InboundE2eTest.sentTo;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A line's own keywords ({@code /v1/lines/{id}/keywords}, an extension of API.md): "Text JOIN to ..." joins the sender
 * to a group and answers them; LEAVE takes them out. Through the emulated carrier, the webhook and the inbound worker.
 */
@ExtendWith(LocalRuntimeExtension.class)
class LineKeywordsE2eTest {

    static Map<String, Object> createKeyword(ApiClient api, String lineId, Map<String, Object> body) {
        var r = api.post("/v1/lines/" + lineId + "/keywords", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.jsonObject();
    }

    /** An account with a line whose keyword {@code keyword} joins its sender to a new group {@code group}. */
    record Joining(ApiClient a, String line, String lineId, String groupId) {}

    static Joining joining(ApiClient api, String account, String group, String keyword) {
        ApiClient a = api.forNewAccount(account);
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String groupId = createGroup(a, group);
        createKeyword(a, lineId, Map.of("keyword", keyword, "action", "join", "groupId", groupId));
        return new Joining(a, line, lineId, groupId);
    }

    @SuppressWarnings("unchecked")
    static List<String> memberPhones(ApiClient api, String groupId) {
        var r = api.get("/v1/groups/" + groupId + "/members?limit=100");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return ((List<Map<String, Object>>) r.jsonObject().get("items")).stream().map(m -> (String) m.get("phone")).toList();
    }

    static Object memberCount(ApiClient api, String groupId) {
        return api.get("/v1/groups/" + groupId).jsonObject().get("memberCount");
    }

    /** The text {@code body} from {@code from} as the inbound list shows it, once its worker recorded a keyword action. */
    static Map<String, Object> actedOn(ApiClient api, String lineId, String from) throws InterruptedException {
        var items = await(() -> inbound(api, "?lineId=" + lineId + "&from=" + from.replace("+", "%2B")),
                l -> !l.isEmpty() && l.get(0).get("keywordAction") != null, 15_000);
        assertThat(items).isNotEmpty();
        return items.get(0);
    }

    @Test
    void textingJoinAddsTheSenderToTheGroupAndAnswersNamingTheGroup(ApiClient api) throws Exception {
        var j = joining(api, "Join Co", "Volunteers", " join ");
        ApiClient a = j.a();
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = j.line();
        String lineId = j.lineId();
        String groupId = j.groupId();
        var keyword = a.get("/v1/lines/" + lineId + "/keywords/join").jsonObject();
        assertThat(keyword).containsEntry("keyword", "JOIN").containsEntry("action", "join").containsEntry("groupId", groupId)
                .containsEntry("lineId", lineId).containsEntry("reply", null);
        // the default answer names the group as it is called when the text comes
        assertThat(a.patch("/v1/groups/" + groupId, Map.of("name", "Weekend Volunteers")).status()).isEqualTo(200);

        String phone = "+14155551201";
        text(a, phone, line, "Join!");
        String answer = "You joined Weekend Volunteers. Reply STOP to opt out.";
        assertThat(await(() -> sentTo(a, line, phone, answer), l -> !l.isEmpty(), 15_000)).hasSize(1);
        assertThat(memberPhones(a, groupId)).containsExactly(phone);
        assertThat(memberCount(a, groupId)).isEqualTo(1);
        var shown = actedOn(a, lineId, phone);
        assertThat(shown).containsEntry("keyword", null).containsEntry("conversationId", null)
                .containsEntry("keywordAction", Map.of("keyword", "JOIN", "action", "join", "groupId", groupId));
        // integrations learn of it as a reply, with what it did (a CRM counting sign-ups)
        var events = await(() -> integrationEvents(a, accountId), l -> !l.isEmpty(), 15_000);
        assertThat(events).hasSize(1);
        assertThat(events.get(0).get("keywordAction")).isEqualTo(Map.of("keyword", "JOIN", "action", "join", "groupId", groupId));

        // a second JOIN is answered again (it asked), and the member is not added twice
        text(a, phone, line, "JOIN");
        assertThat(await(() -> sentTo(a, line, phone, answer), l -> l.size() == 2, 15_000)).hasSize(2);
        assertThat(memberCount(a, groupId)).isEqualTo(1);

        // a member now: the group's messages reach them
        var sent = a.post("/v1/groups/" + groupId + "/messages",
                Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Shift at 9"));
        assertThat(sent.status()).as(sent.body()).isEqualTo(202);
        assertThat(sent.jsonObject().get("recipients")).isEqualTo(1);
        assertThat(await(() -> sentTo(a, line, phone, "Ops: Shift at 9"), l -> !l.isEmpty(), 15_000)).hasSize(1);

        // the answers are billed as the line's keyword replies
        var usage = await(() -> ReceiptsE2eTest.usageOfTheTest(a),
                u -> u.get("byKind").toString().contains("kind=line_keyword_reply, messages=2"), 15_000);
        assertThat(usage.get("byKind").toString()).contains("kind=line_keyword_reply, messages=2");
    }

    @Test
    void leaveTakesTheSenderOutAndTextsThatAreNotTheKeywordAloneAreReplies(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Leave Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String groupId = createGroup(a, "Choir");
        String stays = "+14155551211";
        String leaves = "+14155551212";
        var add = a.post("/v1/groups/" + groupId + "/members", Map.of("members", List.of(Map.of("phone", stays),
                Map.of("phone", leaves))));
        assertThat(add.status()).as(add.body()).isEqualTo(200);
        createKeyword(a, lineId, Map.of("keyword", "Leave Choir", "action", "leave", "groupId", groupId,
                "reply", "You left the choir. Text JOIN to come back."));

        text(a, leaves, line, "leave   choir.");
        assertThat(await(() -> sentTo(a, line, leaves, "You left the choir. Text JOIN to come back."), l -> !l.isEmpty(),
                15_000)).hasSize(1);
        assertThat(memberPhones(a, groupId)).containsExactly(stays);
        assertThat(actedOn(a, lineId, leaves).get("keywordAction"))
                .isEqualTo(Map.of("keyword", "LEAVE CHOIR", "action", "leave", "groupId", groupId));

        // more than the keyword, or half of it: an ordinary reply, nothing done
        text(a, stays, line, "leave choir? never!");
        text(a, stays, line, "leave");
        var items = await(() -> inbound(a, "?lineId=" + lineId + "&from=%2B14155551211"), l -> l.size() == 2, 15_000);
        runtime.awaitIdle();
        items = inbound(a, "?lineId=" + lineId + "&from=%2B14155551211");
        assertThat(items).hasSize(2).allSatisfy(m -> assertThat(m.get("keywordAction")).isNull());
        assertThat(memberPhones(a, groupId)).containsExactly(stays);
        assertThat(carrierMessages(a, line).stream().filter(m -> stays.equals(m.get("to")))).isEmpty();
    }

    /**
     * An opted-out number that texts JOIN joins (it asked) but is not answered: only the carriers' keywords are answered
     * to it, and the group's messages skip it as opted out until it texts START.
     */
    @Test
    void anOptedOutNumberJoinsButGetsNoAnswer(ApiClient api, LocalRuntime runtime) throws Exception {
        var j = joining(api, "Opted Join Co", "Newsletter", "NEWS");
        ApiClient a = j.a();
        String line = j.line();
        String lineId = j.lineId();
        String groupId = j.groupId();
        String phone = "+14155551221";
        text(a, phone, line, "STOP");
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);

        text(a, phone, line, "news");
        actedOn(a, lineId, phone);
        runtime.awaitIdle(); // the action is recorded before the member is added: nothing answered to wait on
        assertThat(memberPhones(a, groupId)).containsExactly(phone);
        assertThat(carrierMessages(a, line).stream().filter(m -> phone.equals(m.get("to"))).map(m -> m.get("body")))
                .containsExactly(OPT_OUT_REPLY);
        text(a, phone, line, "HELP"); // still answered
        assertThat(await(() -> sentTo(a, line, phone, HELP_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    /**
     * A keyword text reviewed as an opt-out (a person read "join" as a request to stop, say) is confirmed as any
     * reviewed opt-out is: before, the join's answer held the confirmation's message id, and it was never sent.
     */
    @Test
    void aKeywordTextReviewedAsAnOptOutIsConfirmed(ApiClient api) throws Exception {
        var j = joining(api, "Review Join Co", "Readers", "READ");
        ApiClient a = j.a();
        String line = j.line();
        String lineId = j.lineId();
        String phone = "+14155551251";
        text(a, phone, line, "read");
        assertThat(await(() -> sentTo(a, line, phone, "You joined Readers. Reply STOP to opt out."), l -> !l.isEmpty(),
                15_000)).hasSize(1);
        String inboundId = (String) actedOn(a, lineId, phone).get("id");
        var review = a.post("/v1/inbound/" + inboundId + "/review", Map.of("decision", "opt_out"));
        assertThat(review.status()).as(review.body()).isEqualTo(200);
        assertThat(await(() -> sentTo(a, line, phone, OPT_OUT_REPLY), l -> !l.isEmpty(), 15_000)).hasSize(1);
    }

    /** In a reply-all conversation "join" is for the other participants to read: relayed, nobody joins anything. */
    @Test
    void aKeywordInAConversationIsRelayedNotActedOn(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Chat Join Co");
        String line = linePhone();
        String lineId = ConversationsE2eTest.groupLine(a, line, 50);
        String groupId = createGroup(a, "Team");
        createKeyword(a, lineId, Map.of("keyword", "JOIN", "action", "join", "groupId", groupId));
        String ann = "+14155551231";
        String bob = "+14155551232";
        ConversationsE2eTest.create(a, lineId, List.of(ann, bob), "Who is in?");
        assertThat(await(() -> sentTo(a, line, bob, "Who is in?"), l -> !l.isEmpty(), 15_000)).hasSize(1);

        text(a, ann, line, "Join");
        assertThat(await(() -> carrierMessages(a, line).stream().filter(m -> bob.equals(m.get("to"))
                && ((String) m.get("body")).endsWith("Join")).toList(), l -> !l.isEmpty(), 15_000)).hasSize(1);
        runtime.awaitIdle();
        assertThat(memberPhones(a, groupId)).isEmpty();
        assertThat(inbound(a, "?lineId=" + lineId + "&from=%2B14155551231").get(0).get("keywordAction")).isNull();
    }

    @Test
    void keywordsAreCheckedListedChangedAndDeleted(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Keyword Rules Co");
        String line = linePhone();
        String lineId = createLine(a, line, "long_code", 20);
        String groupId = createGroup(a, "Youth");
        String otherGroup = createGroup(a, "Seniors");
        String base = "/v1/lines/" + lineId + "/keywords";

        Map<String, Object> good = Map.of("keyword", "Join Youth", "action", "join", "groupId", groupId);
        for (var bad : List.<Map<String, Object>>of(
                with(good, "keyword", "STOP"), with(good, "keyword", "yes"), with(good, "keyword", "stop now"),
                with(good, "keyword", "join-now"), with(good, "keyword", "abcdefghijklmnopqrstu"), with(good, "keyword", " "),
                with(good, "keyword", "please stop"),
                with(good, "action", "subscribe"), with(good, "groupId", "grp_nope"), with(good, "reply", "Welcome!"),
                with(good, "colour", "red"), Map.of("keyword", "JOIN", "action", "join"))) {
            var r = a.post(base, bad);
            assertThat(r.status()).as(bad + " " + r.body()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid_request");
        }
        assertThat(a.get(base).jsonObject().get("items")).isEqualTo(List.of());

        var created = createKeyword(a, lineId, good);
        assertThat(created).containsEntry("keyword", "JOIN YOUTH").containsEntry("groupDeleted", false);
        var again = a.post(base, with(good, "keyword", "join youth"));
        assertThat(again.status()).as(again.body()).isEqualTo(409);
        createKeyword(a, lineId, Map.of("keyword", "BYE", "action", "leave", "groupId", groupId, "reply", "Bye!"));
        assertThat(a.get(base).jsonObject().get("items").toString()).containsSubsequence("keyword=BYE", "keyword=JOIN YOUTH");

        // read and changed by the word as a path gives it, any case, "+" or "%20" for its space
        assertThat(a.get(base + "/join+youth").jsonObject()).containsEntry("keyword", "JOIN YOUTH");
        var changed = a.patch(base + "/Join%20Youth", Map.of("groupId", otherGroup, "reply", "Welcome, senior! Reply STOP to stop."));
        assertThat(changed.status()).as(changed.body()).isEqualTo(200);
        assertThat(changed.jsonObject()).containsEntry("groupId", otherGroup).containsEntry("reply", "Welcome, senior! Reply STOP to stop.");
        assertThat(a.patch(base + "/BYE", Map.of("action", "join")).status()).as("a join's reply must name STOP").isEqualTo(400);
        assertThat(a.patch(base + "/BYE", Map.of("keyword", "CIAO")).status()).isEqualTo(400);
        assertThat(a.patch(base + "/BYE", Map.of()).status()).isEqualTo(400);
        var defaulted = a.send("PATCH", base + "/bye", "application/json", "{\"action\": \"join\", \"reply\": null}");
        assertThat(defaulted.status()).as(defaulted.body()).isEqualTo(200);
        assertThat(defaulted.jsonObject()).containsEntry("action", "join").containsEntry("reply", null);
        assertThat(a.get(base + "/CIAO").status()).isEqualTo(404);
        // a path longer than any keyword reads as, NFKC-expanded past DynamoDB's largest key ("ﷺ" is 18 letters):
        // a 404, not a 500 from the key's size
        String expanding = java.net.URLEncoder.encode("\uFDFA".repeat(150), java.nio.charset.StandardCharsets.UTF_8);
        for (String method : List.of("GET", "PATCH", "DELETE")) {
            var r = a.send(method, base + "/" + expanding, "application/json", "{\"action\": \"leave\"}");
            assertThat(r.status()).as(method + " " + r.body()).isEqualTo(404);
        }

        // listed in pages as any list (limit, cursor)
        var first = a.get(base + "?limit=1").jsonObject();
        assertThat(first.get("items").toString()).contains("keyword=BYE");
        var second = a.get(base + "?limit=1&cursor=" + first.get("nextCursor")).jsonObject();
        assertThat(second.get("items").toString()).contains("keyword=JOIN YOUTH");
        assertThat(a.get(base + "?limit=abc").status()).isEqualTo(400);
        String otherLine = createLine(a, linePhone(), "long_code", 1);
        assertThat(a.get("/v1/lines/" + otherLine + "/keywords?cursor=" + first.get("nextCursor")).status())
                .as("another line's cursor").isEqualTo(400);
        // at most 20 a line (409, as other caps); the keyword it has already is a 409 first
        for (int i = 3; i <= 20; i++) createKeyword(a, lineId, Map.of("keyword", "KW" + i, "action", "join", "groupId", groupId));
        var full = a.post(base, with(good, "keyword", "KW21"));
        assertThat(full.status()).as(full.body()).isEqualTo(409);
        assertThat(full.body()).contains("20 keywords");
        assertThat(a.post(base, with(good, "keyword", "kw3")).body()).contains("has the keyword KW3 already");
        for (int i = 3; i <= 20; i++) assertThat(a.delete(base + "/KW" + i).status()).isEqualTo(204);
        assertThat(a.patch(base + "/NOPE", Map.of()).status()).as("an unknown keyword before the body").isEqualTo(404);

        // a member key reads them, only owners and admins set them up; another account sees no such line
        var memberKey = a.post("/v1/api-keys", Map.of("name", "helper", "role", "member"));
        ApiClient member = a.withKey((String) memberKey.jsonObject().get("key"));
        assertThat(member.get(base).status()).isEqualTo(200);
        assertThat(member.post(base, with(good, "keyword", "HI")).status()).isEqualTo(403);
        ApiClient other = api.forNewAccount("Keyword Rules Other Co");
        assertThat(other.get(base).status()).isEqualTo(404);
        assertThat(other.post(base, with(good, "keyword", "HI")).status()).isEqualTo(404);
        assertThat(other.delete(base + "/BYE").status()).isEqualTo(404);

        // deleted: the word is an ordinary text again
        assertThat(a.delete(base + "/BYE").status()).isEqualTo(204);
        assertThat(a.delete(base + "/BYE").status()).isEqualTo(404);
        String phone = "+14155551241";
        text(a, phone, line, "bye");
        // a keyword whose group was deleted since does nothing either (and answers nothing), and shows so
        assertThat(a.get(base + "/JOIN%20YOUTH").jsonObject()).containsEntry("groupDeleted", false);
        assertThat(a.delete("/v1/groups/" + otherGroup).status()).isEqualTo(204);
        assertThat(a.get(base + "/JOIN%20YOUTH").jsonObject()).containsEntry("groupId", otherGroup).containsEntry("groupDeleted", true);
        @SuppressWarnings("unchecked") var listed = (List<Map<String, Object>>) a.get(base).jsonObject().get("items");
        assertThat(listed).filteredOn(k -> "JOIN YOUTH".equals(k.get("keyword"))).singleElement()
                .satisfies(k -> assertThat(k).containsEntry("groupDeleted", true));
        text(a, phone, line, "join youth");
        await(() -> inbound(a, "?lineId=" + lineId), l -> l.size() == 2, 15_000);
        runtime.awaitIdle();
        assertThat(inbound(a, "?lineId=" + lineId)).hasSize(2).allSatisfy(m -> assertThat(m.get("keywordAction")).isNull());
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(integrationEvents(a, accountId)).as("each published as the reply it is").hasSize(2);
        assertThat(memberPhones(a, groupId)).isEmpty();
        assertThat(carrierMessages(a, line)).isEmpty();
    }

    /** An account's line one keyword short of the most, every keyword joining {@code groupId}. */
    private record OneShort(ApiClient a, String accountId, String lineId, String groupId) {
        static OneShort of(ApiClient api, String account) {
            ApiClient a = api.forNewAccount(account);
            String lineId = createLine(a, linePhone(), "long_code", 1);
            String groupId = createGroup(a, "Racers");
            for (int i = 1; i < groupmsg.lines.LineKeyword.MAX_PER_LINE; i++) {
                createKeyword(a, lineId, Map.of("keyword", "KW" + i, "action", "join", "groupId", groupId));
            }
            return new OneShort(a, (String) a.get("/v1/account").jsonObject().get("id"), lineId, groupId);
        }

        groupmsg.lines.LineKeywordService.KeywordInput join() {
            return new groupmsg.lines.LineKeywordService.KeywordInput(groupmsg.lines.LineKeyword.Action.JOIN, groupId, null);
        }

        /**
         * A keyword service whose first put of a keyword comes after another create of "OTHER", whole (this one
         * counted 19 before it); {@code cutOff}: and the put's answer is lost, as when the function is cut off then.
         */
        groupmsg.lines.LineKeywordService racing(LocalRuntime runtime, java.util.concurrent.atomic.AtomicBoolean raced,
                                                 boolean cutOff) {
            return new groupmsg.lines.LineKeywordService(runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
                @Override
                public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                            software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                    if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.PutItemRequest
                            && raced.compareAndSet(false, true)) {
                        createKeyword(a, lineId, Map.of("keyword", "OTHER", "action", "join", "groupId", groupId));
                    }
                }

                @Override
                public void afterExecution(software.amazon.awssdk.core.interceptor.Context.AfterExecution context,
                                           software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                    if (cutOff && context.request() instanceof software.amazon.awssdk.services.dynamodb.model.PutItemRequest) {
                        throw new IllegalStateException("cut off after the put");
                    }
                }
            }));
        }

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> keywords() {
            return (List<Map<String, Object>>) a.get("/v1/lines/" + lineId + "/keywords?limit=100").jsonObject().get("items");
        }

        /** The line at the most, the other create's keyword kept and this one's taken out. */
        void assertOthersKeptMineOut() {
            assertThat(keywords()).hasSize(groupmsg.lines.LineKeyword.MAX_PER_LINE).extracting(k -> k.get("keyword"))
                    .contains("OTHER").doesNotContain("MINE");
        }
    }

    /**
     * Two creates at once on a line one keyword short of the most: the other's put lands between this one's count and
     * its put, so this one reads the line past the most after its put, takes its keyword out again and answers the 409
     * it would have met alone. Before, the line kept 21.
     */
    @Test
    void aCreateThatFindsTheLinePastTheMostAfterItsPutTakesItsKeywordOut(ApiClient api, LocalRuntime runtime) {
        var line = OneShort.of(api, "Keyword Race Co");
        var raced = new java.util.concurrent.atomic.AtomicBoolean();
        var racing = line.racing(runtime, raced, false);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> racing.create(line.accountId(), line.lineId(), "MINE",
                        line.join(), runtime.wiring().ids().next("")))
                .isInstanceOfSatisfying(groupmsg.platform.api.ApiException.class,
                        e -> assertThat(e.getMessage()).contains("at the same moment").contains("20 keywords"));
        assertThat(raced).isTrue();
        line.assertOthersKeptMineOut();
    }

    /**
     * The same race, this create cut off after its put (before its check): its rerun under the same request id finds
     * its keyword, and the line past the most, and takes it out then.
     */
    @Test
    void aRerunOfACreateCutOffAfterItsPutChecksTheMostToo(ApiClient api, LocalRuntime runtime) {
        var line = OneShort.of(api, "Keyword Rerun Co");
        var cutOff = line.racing(runtime, new java.util.concurrent.atomic.AtomicBoolean(), true);
        String creation = runtime.wiring().ids().next("");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> cutOff.create(line.accountId(), line.lineId(), "MINE",
                        line.join(), creation))
                .hasMessageContaining("cut off");
        assertThat(line.keywords()).as("past the most").hasSize(21);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.lines.LineKeywordService(runtime.wiring())
                        .create(line.accountId(), line.lineId(), "MINE", line.join(), creation))
                .isInstanceOfSatisfying(groupmsg.platform.api.ApiException.class,
                        e -> assertThat(e.getMessage()).contains("at the same moment"));
        line.assertOthersKeptMineOut();
    }

    private static Map<String, Object> with(Map<String, Object> base, String field, Object value) {
        var copy = new LinkedHashMap<>(base);
        copy.put(field, value);
        return copy;
    }
}
