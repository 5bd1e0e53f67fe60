package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A line's opt-out notice ends its group messages ("Reply STOP to opt out."), as carriers expect of messages a
 * business sends to a list; a message can ask for the standard one, or go without.
 */
@ExtendWith(LocalRuntimeExtension.class)
class OptOutNoticeE2eTest {

    @Test
    void aLinesNoticeEndsItsGroupMessagesUnlessOneGoesWithoutAndAMessageCanAskForTheStandardOne(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Notice Co");
        String phone = linePhone();
        // the notice must tell how to opt out, on one line
        var refused = a.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "mps", 50, "optOutNotice", "Thanks!"));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.body()).contains("optOutNotice").contains("STOP");
        var created = a.post("/v1/lines", Map.of("phone", phone, "type", "long_code", "mps", 50,
                "optOutNotice", "Text END to leave the list"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.jsonObject()).containsEntry("optOutNotice", "Text END to leave the list");
        String line = (String) created.jsonObject().get("id");
        String group = createGroup(a, "Neighbours");
        List<String> members = addMembers(a, group, 7400, 2);

        var first = send(a, group, line, "Street party Saturday", null);
        assertThat(first.status()).as(first.body()).isEqualTo(202);
        assertThat(first.jsonObject()).containsEntry("body", "Street party Saturday")
                .containsEntry("text", "Block Club: Street party Saturday\nText END to leave the list");
        String firstId = (String) first.jsonObject().get("id");
        assertThat(awaitSent(a, firstId, 15_000)).containsEntry("status", "sent");
        assertThat(bodiesTo(a, phone, members.getFirst()))
                .containsExactly("Block Club: Street party Saturday\nText END to leave the list");

        // a message can go without it
        var without = send(a, group, line, "Bring chairs", false);
        assertThat(without.jsonObject()).containsEntry("text", "Block Club: Bring chairs");

        // removed from the line (null), none is added; a message may still ask for the standard one
        var patched = a.send("PATCH", "/v1/lines/" + line, "application/json", "{\"optOutNotice\":null}");
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        assertThat(patched.jsonObject()).containsEntry("optOutNotice", null);
        assertThat(send(a, group, line, "Rain date Sunday", null).jsonObject()).containsEntry("text", "Block Club: Rain date Sunday");
        var asked = send(a, group, line, "Music at 6", true);
        assertThat(asked.jsonObject()).containsEntry("text", "Block Club: Music at 6\nReply STOP to opt out.");
        String askedId = (String) asked.jsonObject().get("id");
        assertThat(awaitSent(a, askedId, 15_000)).containsEntry("status", "sent");
        assertThat(await(() -> bodiesTo(a, phone, members.getLast()), b -> b.size() == 4, 15_000))
                .containsExactlyInAnyOrder("Block Club: Street party Saturday\nText END to leave the list", "Block Club: Bring chairs",
                        "Block Club: Rain date Sunday", "Block Club: Music at 6\nReply STOP to opt out.");

        // a body that fits alone but not with the notice is a 400 that says so, and nothing is sent
        int messagesBefore = GroupsE2eTest.items(a.get("/v1/messages?groupId=" + group + "&limit=100")).size();
        var tooLong = send(a, group, line, "x".repeat(1590), true);
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.body()).contains("optOutNotice");
        assertThat(GroupsE2eTest.items(a.get("/v1/messages?groupId=" + group + "&limit=100"))).hasSize(messagesBefore);
        assertThat(send(a, group, line, "x".repeat(1590), false).status()).isEqualTo(202);
        // a PATCH's notice is checked as a create's; not a boolean is a 400
        assertThat(a.patch("/v1/lines/" + line, Map.of("optOutNotice", "Reply\nSTOP")).status()).isEqualTo(400);
        assertThat(a.patch("/v1/lines/" + line, Map.of("optOutNotice", "Reply STOP to quit")).jsonObject())
                .containsEntry("optOutNotice", "Reply STOP to quit");
        assertThat(send(a, group, line, "Hi", "yes").status()).isEqualTo(400);
    }

    private static ApiClient.Response send(ApiClient a, String group, String line, String body, Object optOutNotice) {
        var request = new HashMap<String, Object>(Map.of("lineId", line, "sender", "Block Club", "title", "t", "body", body));
        if (optOutNotice != null) request.put("optOutNotice", optOutNotice);
        return a.post("/v1/groups/" + group + "/messages", request);
    }

    private static List<String> bodiesTo(ApiClient a, String linePhone, String to) {
        return carrierMessages(a, linePhone).stream().filter(m -> to.equals(m.get("to"))).map(m -> (String) m.get("body")).toList();
    }
}
