package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Lists whose size is an exact multiple of the page size end on a full page with {@code nextCursor: null}: DynamoDB
 * hands back a next key whenever a query stops at its limit, which used to send clients to an empty last page.
 */
@ExtendWith(LocalRuntimeExtension.class)
class PagingE2eTest {

    /** Every page of a list at {@code limit}; asserts each is full but the last, and that the last has no cursor. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> pages(ApiClient api, String path, int limit, List<Integer> sizes) {
        List<Map<String, Object>> all = new ArrayList<>();
        String cursor = null;
        do {
            String separator = path.contains("?") ? "&" : "?";
            var r = api.get(path + separator + "limit=" + limit + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.status()).as(path + ": " + r.body()).isEqualTo(200);
            List<Map<String, Object>> items = (List<Map<String, Object>>) r.jsonObject().get("items");
            sizes.add(items.size());
            all.addAll(items);
            cursor = (String) r.jsonObject().get("nextCursor");
        } while (cursor != null && sizes.size() < 50);
        return all;
    }

    private static void assertExactPages(ApiClient api, String path, int limit, int total) {
        List<Integer> sizes = new ArrayList<>();
        var items = pages(api, path, limit, sizes);
        assertThat(sizes).as(path + ": page sizes").containsOnly(limit).hasSize(total / limit);
        assertThat(items).as(path).hasSize(total);
        assertThat(new HashSet<>(items)).as(path + ": no item twice").hasSize(total);
    }

    @Test
    void listsOfAnExactMultipleOfTheLimitEndOnAFullPage(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Exact Pages Co");
        for (int i = 0; i < 4; i++) createGroup(a, "Exact " + i);
        assertExactPages(a, "/v1/groups", 2, 4);

        String g = createGroup(a, "Members");
        addMembers(a, g, 7000, 6);
        assertExactPages(a, "/v1/groups/" + g + "/members", 3, 6);
        assertExactPages(a, "/v1/groups/" + g + "/members?search=" + "555", 2, 6);

        String lineId = createLine(a, linePhone(), 1000);
        createLine(a, linePhone(), 1000);
        assertExactPages(a, "/v1/lines", 1, 2);
        for (String phone : List.of("+14155550901", "+14155550902")) {
            assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", phone)).status()).isEqualTo(201);
        }
        assertExactPages(a, "/v1/opt-outs?lineId=" + lineId, 1, 2);
        assertThat(a.post("/v1/api-keys", Map.of("name", "second", "role", "admin")).status()).isEqualTo(201);
        assertExactPages(a, "/v1/api-keys", 1, 2);

        String first = (String) send(a, g, lineId, "One").get("id");
        String second = (String) send(a, g, lineId, "Two").get("id");
        assertExactPages(a, "/v1/messages", 1, 2);
        assertExactPages(a, "/v1/messages?groupId=" + g, 2, 2);
        awaitSent(a, first, 60_000);
        awaitSent(a, second, 60_000);
        assertExactPages(a, "/v1/messages/" + first + "/deliveries", 3, 6);
        assertExactPages(a, "/v1/messages/" + first + "/deliveries", 2, 6);
        // a page's cursor belongs to its message
        String cursor = (String) a.get("/v1/messages/" + first + "/deliveries?limit=2").jsonObject().get("nextCursor");
        assertThat(a.get("/v1/messages/" + first + "/deliveries?limit=2&cursor=" + cursor).status()).isEqualTo(200);
        assertThat(a.get("/v1/messages/" + second + "/deliveries?limit=2&cursor=" + cursor).status()).isEqualTo(400);
    }

    /**
     * A list takes its own filters and nothing else: a misspelt or foreign one (the lines "filtered" by phone=) is a
     * 400 naming it, not the whole list answered as if it were the filtered one.
     */
    @Test
    void everyListRefusesAQueryParameterItDoesNotTakeAndTakesEachOfItsOwn(ApiClient api) {
        ApiClient a = api.forNewAccount("Strict Lists Co");
        String g = createGroup(a, "Strict");
        addMembers(a, g, 7100, 2);
        String lineId = createLine(a, linePhone(), 1000);
        String message = (String) send(a, g, lineId, "Hello").get("id");
        String conversation = (String) ConversationsE2eTest.create(a, ConversationsE2eTest.groupLine(a, linePhone(), 100),
                List.of("+14155557201", "+14155557202"), "Hi both").get("id");
        String threadMessage = (String) ConversationsE2eTest.thread(a, conversation).getFirst().get("id");
        String inbound = "in_01JZZZZZZZZZZZZZZZZZZZZZZZ";
        // each list with every filter it takes (all accepted), then with one it does not
        Map<String, String> lists = new java.util.LinkedHashMap<>();
        lists.put("/v1/api-keys", "");
        lists.put("/v1/groups", "member=4155557100&country=US&search=str");
        lists.put("/v1/groups/" + g + "/members", "lineId=" + lineId + "&undeliverable=false&search=555");
        lists.put("/v1/groups/" + g + "/imports", "");
        lists.put("/v1/lines", "groupMessaging=false&type=long_code&deleted=false");
        lists.put("/v1/lines/" + lineId + "/messages", "to=4155557100&country=US");
        lists.put("/v1/webhooks", "");
        lists.put("/v1/messages", "groupId=" + g + "&lineId=" + lineId + "&search=hel&status=sending&since=2026-01-01T00:00:00Z"
                + "&until=2099-01-01T00:00:00Z&phone=4155557100&country=US");
        lists.put("/v1/messages/" + message + "/deliveries", "status=sent");
        lists.put("/v1/messages/" + message + "/replies", "");
        lists.put("/v1/messages/" + message + "/opt-outs", "");
        lists.put("/v1/conversations", "order=activity&lineId=" + lineId + "&participant=4155557100&country=US&status=active");
        lists.put("/v1/conversations/" + conversation + "/messages", "");
        lists.put("/v1/conversations/" + conversation + "/messages/" + threadMessage + "/deliveries", "status=sent");
        lists.put("/v1/opt-outs", "lineId=" + lineId + "&phone=4155557100&country=US");
        lists.put("/v1/inbound", "lineId=" + lineId + "&from=4155557100&country=US&possibleOptOut=false&keyword=none&reviewed=false");
        lists.put("/v1/inbound/" + inbound + "/replies", "");
        // the paged downloads, and an import's invalid lines (paged inside the import)
        lists.put("/v1/groups/" + g + "/members.csv", "");
        lists.put("/v1/messages/" + message + "/deliveries.csv", "status=sent");
        lists.put("/v1/opt-outs.csv", "lineId=" + lineId);
        String importId = (String) a.send("POST", "/v1/groups/" + g + "/imports", "text/csv", "phone,name\n+14155557150,Ann\n")
                .jsonObject().get("id");
        lists.put("/v1/groups/" + g + "/imports/" + importId, "");
        lists.forEach((path, filters) -> {
            String own = path + "?limit=5" + (filters.isEmpty() ? "" : "&" + filters);
            var ok = a.get(own);
            assertThat(ok.status()).as(own + ": " + ok.body()).isEqualTo(path.startsWith("/v1/inbound/") ? 404 : 200);
            var refused = a.get(own + "&phonenumber=4155557100");
            assertThat(refused.status()).as(path + " with a parameter it does not take: " + refused.body()).isEqualTo(400);
            assertThat(refused.errorCode()).isEqualTo("invalid_request");
            assertThat(refused.body()).contains("phonenumber");
        });
        // a number's country without the number: ignored, the whole list answered as if filtered
        int withCountry = 0;
        for (var list : lists.entrySet()) {
            if (!list.getValue().contains("country=US")) continue;
            String withoutNumber = list.getValue().replaceAll("(member|to|phone|participant|from)=4155557100&?", "");
            var refused = a.get(list.getKey() + "?" + withoutNumber);
            assertThat(refused.status()).as(list.getKey() + "?" + withoutNumber + ": " + refused.body()).isEqualTo(400);
            assertThat(refused.body()).contains("country");
            withCountry++;
        }
        assertThat(withCountry).isEqualTo(6);
        // a line looked up by phone= answered every line, the first of them taken for the one asked for
        assertThat(a.get("/v1/lines?phone=%2B14155550123").status()).isEqualTo(400);
    }
}
