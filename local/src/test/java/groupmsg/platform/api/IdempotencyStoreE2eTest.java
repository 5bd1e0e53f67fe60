package groupmsg.platform.api;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;

import static org.assertj.core.api.Assertions.assertThat;

/** Idempotency records on the real DynamoDB Local: a record written with an earlier form of the hash still replays. */
@ExtendWith(LocalRuntimeExtension.class)
class IdempotencyStoreE2eTest {
    @Test
    void aRecordHoldingTheEarlierFormOfTheHashStillReplaysAndADifferentRequestIsStillRefused(LocalRuntime runtime) {
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), Clock.systemUTC());
        String account = "acct_idem_" + System.nanoTime();
        // written before the deploy: the hash of the raw bytes, unmarked
        assertThat(store.claim(account, "POST /v1/groups k1", "rawhash")).isInstanceOf(IdempotencyStore.Claimed.class);
        store.complete(account, "POST /v1/groups k1", 201, "{\"id\":\"grp_1\"}");

        assertThat(store.claim(account, "POST /v1/groups k1", "v2:canonical", "rawhash"))
                .isEqualTo(new IdempotencyStore.Replay(201, "{\"id\":\"grp_1\"}"));
        assertThat(store.claim(account, "POST /v1/groups k1", "v2:canonical", "otherraw"))
                .isInstanceOf(IdempotencyStore.Mismatch.class);
        // a record written with the new form matches on it alone
        assertThat(store.claim(account, "POST /v1/groups k2", "v2:canonical", "rawhash")).isInstanceOf(IdempotencyStore.Claimed.class);
        store.complete(account, "POST /v1/groups k2", 201, "{\"id\":\"grp_2\"}");
        assertThat(store.claim(account, "POST /v1/groups k2", "v2:canonical", "spelt-otherwise"))
                .isEqualTo(new IdempotencyStore.Replay(201, "{\"id\":\"grp_2\"}"));
    }
}
