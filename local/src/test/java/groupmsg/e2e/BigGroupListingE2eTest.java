package groupmsg.e2e;

import groupmsg.groups.GroupService;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Member lists and searches of a group far larger than one read: a page answers with what the request was for,
 * not with nothing and a cursor (which clients take for "no results"), as one did after 10,000 rows read.
 */
@ExtendWith(LocalRuntimeExtension.class)
class BigGroupListingE2eTest {

    /** Writes member rows straight to the table (12,000 through the API would take the suite far longer). */
    private static void writeRows(LocalRuntime runtime, String accountId, String groupId, int count, String prefix, boolean removed) {
        String table = runtime.wiring().config().table(Tables.MEMBERS);
        List<WriteRequest> batch = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String phone = prefix + String.format("%06d", i);
            var item = new HashMap<String, AttributeValue>();
            item.put("pk", AttributeValue.fromS(GroupService.membersPartition(accountId, groupId)));
            item.put("sk", AttributeValue.fromS(phone));
            item.put("phone", AttributeValue.fromS(phone));
            item.put("digits", AttributeValue.fromS(phone.substring(1)));
            item.put("name", AttributeValue.fromS("Member " + i));
            item.put("nameLower", AttributeValue.fromS("member " + i));
            item.put("addedAt", AttributeValue.fromN("1"));
            if (removed) item.put("removedAt", AttributeValue.fromN("2"));
            batch.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item).build()).build());
            if (batch.size() == 25 || i == count - 1) {
                var unprocessed = Map.of(table, List.copyOf(batch));
                while (!unprocessed.isEmpty()) {
                    var pending = unprocessed;
                    unprocessed = runtime.wiring().dynamo().batchWriteItem(b -> b.requestItems(pending)).unprocessedItems();
                }
                batch.clear();
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aSearchOrListFindsMembersBehindTwelveThousandRowsInOneRequest(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Big Group Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");

        String big = createGroup(a, "Big");
        writeRows(runtime, accountId, big, 12_000, "+1415200", false);
        assertThat(a.post("/v1/groups/" + big + "/members", Map.of("members", List.of(Map.of("phone", "+19175550100", "name", "Zed"))))
                .status()).isEqualTo(200);
        var found = a.get("/v1/groups/" + big + "/members?search=zed").jsonObject();
        assertThat((List<Map<String, Object>>) found.get("items")).singleElement()
                .satisfies(m -> assertThat(m).containsEntry("phone", "+19175550100"));
        assertThat(found.get("nextCursor")).isNull();

        // 12,000 members removed (their rows stay 30 days), then three: a list and a conversation from the group
        // find all three
        String thinned = createGroup(a, "Thinned");
        writeRows(runtime, accountId, thinned, 12_000, "+1415300", true);
        List<Object> left = List.of(Map.of("phone", "+19175550201"), Map.of("phone", "+19175550202"), Map.of("phone", "+19175550203"));
        assertThat(a.post("/v1/groups/" + thinned + "/members", Map.of("members", left)).status()).isEqualTo(200);
        var listed = a.get("/v1/groups/" + thinned + "/members?limit=2").jsonObject();
        assertThat((List<Map<String, Object>>) listed.get("items")).extracting(m -> m.get("phone"))
                .containsExactly("+19175550201", "+19175550202");
        String lineId = (String) a.post("/v1/lines", Map.of("phone", linePhone(), "type", "long_code", "groupMessaging", true, "mps", 50))
                .jsonObject().get("id");
        var created = a.post("/v1/conversations", Map.of("lineId", lineId, "groupId", thinned, "body", "Hi all"));
        assertThat(created.status()).isEqualTo(201);
        assertThat((List<Map<String, Object>>) created.jsonObject().get("participants")).extracting(p -> p.get("phone"))
                .containsExactlyInAnyOrder("+19175550201", "+19175550202", "+19175550203");
    }
}
