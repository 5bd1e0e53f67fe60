package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The group item orders acceptances of group messages and membership changes, on the real DynamoDB Local: a
 * message is accepted only on the membership it read, and a change commits only stamped after every acceptance and
 * every earlier change, whatever the writer's clock said.
 */
@ExtendWith(LocalRuntimeExtension.class)
class AcceptFenceE2eTest {

    @Test
    void aMessageIsAcceptedOnlyOnTheMembershipItReadEvenWhenTheCountCameBack(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Fence Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = (String) a.post("/v1/groups", Map.of("name", "Fenced")).jsonObject().get("id");
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550801"), Map.of("phone", "+14155550802"))));
        var ops = new DynamoOps(runtime.wiring().dynamo());
        var store = new GroupStore(ops, runtime.wiring().config().table(Tables.CORE));
        Group seen = store.get(accountId, g).orElseThrow();
        assertThat(seen.memberCount()).isEqualTo(2);

        // one added and one removed since the read: the count is the one read, the membership is not
        a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550803"))));
        assertThat(a.delete("/v1/groups/" + g + "/members/%2B14155550801").status()).isEqualTo(204);
        Group now = store.get(accountId, g).orElseThrow();
        assertThat(now.memberCount()).isEqualTo(2);
        long t = Math.max(System.currentTimeMillis(), now.stampedTo()) + 1;
        assertThat(ops.transact(List.of(store.acceptFence(accountId, seen, t)))).as("accepted on a stale read")
                .isInstanceOf(DynamoOps.Cancelled.class);
        assertThat(ops.transact(List.of(store.acceptFence(accountId, now, t)))).isInstanceOf(DynamoOps.Committed.class);

        // a change stamped at or before the acceptance, or before an earlier change's stamp, cannot commit
        assertThat(ops.transact(List.of(store.counterDelta(accountId, g, 0, t)))).isInstanceOf(DynamoOps.Cancelled.class);
        assertThat(ops.transact(List.of(store.counterDelta(accountId, g, 0, t + 10)))).isInstanceOf(DynamoOps.Committed.class);
        assertThat(ops.transact(List.of(store.counterDelta(accountId, g, 0, t + 5)))).as("behind the latest stamp")
                .isInstanceOf(DynamoOps.Cancelled.class);
        Group after = store.get(accountId, g).orElseThrow();
        assertThat(GroupStore.restamp(after, t)).isEqualTo(t + 10);

        // a delete stamped before the acceptance commits stamped after it (its clean-up tombstones with that stamp)
        long deletedAt = store.delete(accountId, after, java.time.Clock.fixed(java.time.Instant.ofEpochMilli(t - 1000), java.time.ZoneOffset.UTC)).orElseThrow();
        assertThat(deletedAt).isGreaterThanOrEqualTo(t + 10);
        assertThat(store.get(accountId, g)).isEmpty();
        assertThat(store.delete(accountId, after, java.time.Clock.fixed(java.time.Instant.ofEpochMilli(t + 100), java.time.ZoneOffset.UTC))).as("already gone").isEmpty();
    }
}
