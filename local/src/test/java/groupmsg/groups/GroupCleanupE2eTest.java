package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A deleted group's clean-up, on the real DynamoDB Local: its batches written side by side, every row tombstoned once. */
@ExtendWith(LocalRuntimeExtension.class)
class GroupCleanupE2eTest {

    @Test
    void everyRowIsTombstonedOnceWhateverLaneItFallsIn(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Cleanup Lanes Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = (String) a.post("/v1/groups", Map.of("name", "Many")).jsonObject().get("id");
        // 1,013: four lanes of whole 25-row batches (275, 275, 275, 188), the last batch short
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 1013; i++) {
            batch.add(Map.of("phone", String.format("+1415555%04d", i)));
            if (batch.size() == 1000 || i == 1012) {
                assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", batch)).status()).isEqualTo(200);
                batch = new ArrayList<>();
            }
        }
        var store = new GroupService(runtime.wiring()).memberStore();
        long deletedAt = System.currentTimeMillis();
        assertThat(store.tombstoneAll(accountId, group, deletedAt)).isEqualTo(1013);
        var rows = runtime.wiring().dynamo().queryPaginator(b -> b.tableName(runtime.wiring().config().table(Tables.MEMBERS))
                .keyConditionExpression("pk = :pk").consistentRead(true)
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(MemberStore.groupPk(accountId, group)))))
                .items().stream().toList();
        assertThat(rows).hasSize(1013).allSatisfy(r -> assertThat(r.get("removedAt").n()).isEqualTo(String.valueOf(deletedAt)));
        assertThat(store.tombstoneAll(accountId, group, deletedAt + 1)).as("done: nothing more").isZero();
    }
}
