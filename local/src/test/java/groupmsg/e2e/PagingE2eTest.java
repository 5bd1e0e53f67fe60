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
}
