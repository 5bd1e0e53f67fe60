package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Group names and their reservations when a delete or an update works from a read a rename has overtaken (the
 * window between {@link GroupService}'s read and its transaction), on the real DynamoDB Local.
 */
@ExtendWith(LocalRuntimeExtension.class)
class GroupNameRaceE2eTest {

    private static String accountId(ApiClient a) {
        return (String) a.get("/v1/account").jsonObject().get("id");
    }

    private static GroupStore store(LocalRuntime runtime) {
        return new GroupStore(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.CORE));
    }

    /** Every name reservation of the account, as lower-case name -> groupId. */
    private static Map<String, String> reservations(LocalRuntime runtime, String accountId) {
        var items = runtime.wiring().dynamo().query(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .keyConditionExpression("pk = :pk AND begins_with(sk, :p)").consistentRead(true)
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("ACCT#" + accountId),
                        ":p", AttributeValue.fromS("GROUPNAME#")))).items();
        var names = new java.util.TreeMap<String, String>();
        items.forEach(i -> names.put(i.get("sk").s().substring("GROUPNAME#".length()), i.get("groupId").s()));
        return names;
    }

    @Test
    void aDeleteThatReadTheNameBeforeARenameFreesTheNewName(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Race Co");
        String accountId = accountId(a);
        String g = (String) a.post("/v1/groups", Map.of("name", "race-a")).jsonObject().get("id");
        var store = store(runtime);
        Group read = store.get(accountId, g).orElseThrow();
        assertThat(a.patch("/v1/groups/" + g, Map.of("name", "race-b")).status()).isEqualTo(200);

        assertThat(store.delete(accountId, read, java.time.Clock.systemUTC())).isPresent();
        assertThat(store.get(accountId, g)).isEmpty();
        // before, race-b stayed reserved by a group that no longer exists: 409 on that name for good
        assertThat(reservations(runtime, accountId)).isEmpty();
        assertThat(a.post("/v1/groups", Map.of("name", "RACE-B")).status()).isEqualTo(201);
    }

    @Test
    void aDeleteThatReadAnOldNameLeavesAnotherGroupsReservationOfIt(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Race Variant Co");
        String accountId = accountId(a);
        String g = (String) a.post("/v1/groups", Map.of("name", "shared")).jsonObject().get("id");
        var store = store(runtime);
        Group read = store.get(accountId, g).orElseThrow();
        assertThat(a.patch("/v1/groups/" + g, Map.of("name", "moved")).status()).isEqualTo(200);
        String h = (String) a.post("/v1/groups", Map.of("name", "Shared")).jsonObject().get("id");

        assertThat(store.delete(accountId, read, java.time.Clock.systemUTC())).isPresent();
        // before, the delete took H's reservation of "shared": a third group could take the name, and H could
        // never be renamed again
        assertThat(reservations(runtime, accountId)).containsExactly(Map.entry("shared", h));
        assertThat(a.post("/v1/groups", Map.of("name", "SHARED")).status()).isEqualTo(409);
        assertThat(a.patch("/v1/groups/" + h, Map.of("name", "renamed")).status()).isEqualTo(200);
        assertThat(reservations(runtime, accountId)).containsExactly(Map.entry("renamed", h));
    }

    /**
     * A rename leaves the description as it is when the rename commits, not as it was read: a description changed by
     * another request in between stays. Before, the rename wrote back the description it had read, undoing the other
     * request's change with no error.
     */
    @Test
    void aRenameKeepsADescriptionChangedBetweenItsReadAndItsWrite(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Race Description Co");
        String accountId = accountId(a);
        String g = (String) a.post("/v1/groups", Map.of("name", "shift-a", "description", "Saturday shift")).jsonObject()
                .get("id");
        var between = new java.util.concurrent.atomic.AtomicBoolean();
        var wiring = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest
                        && between.compareAndSet(false, true)) {
                    assertThat(a.patch("/v1/groups/" + g, Map.of("description", "Sunday shift")).status()).isEqualTo(200);
                }
            }
        });
        var renamed = new GroupService(wiring).update(accountId, g, "shift-b", null);
        assertThat(between).isTrue();
        assertThat(renamed.name()).isEqualTo("shift-b");
        assertThat(renamed.description()).as("the other request's").isEqualTo("Sunday shift");
        assertThat(a.get("/v1/groups/" + g).jsonObject()).containsEntry("name", "shift-b")
                .containsEntry("description", "Sunday shift");
        // and a description given is written, an empty one removes it
        assertThat(a.patch("/v1/groups/" + g, Map.of("description", "")).jsonObject()).containsEntry("description", null);
    }

    /** Deletes the account's reservation of {@code lowerName}: the group keeps a name nobody reserves. */
    private static void dropReservation(LocalRuntime runtime, String accountId, String lowerName) {
        runtime.wiring().dynamo().deleteItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("ACCT#" + accountId), "sk", AttributeValue.fromS("GROUPNAME#" + lowerName))));
    }

    @Test
    void aGroupWhoseReservationIsNotItsOwnCanStillBeDeleted(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Orphan Co");
        String accountId = accountId(a);
        String g = (String) a.post("/v1/groups", Map.of("name", "lost")).jsonObject().get("id");
        dropReservation(runtime, accountId, "lost"); // as an earlier race left it
        assertThat(a.delete("/v1/groups/" + g).status()).isEqualTo(204);
        assertThat(a.get("/v1/groups/" + g).status()).isEqualTo(404);
    }

    /**
     * A group whose name reservation is gone (an earlier race) can still be renamed: the new name is reserved, the
     * missing one left alone. Before, every rename was a 409 "retry", for good, as the delete's was before it was mended.
     */
    @Test
    void aGroupWhoseReservationIsNotItsOwnCanStillBeRenamed(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Orphan Rename Co");
        String accountId = accountId(a);
        String g = (String) a.post("/v1/groups", Map.of("name", "lost")).jsonObject().get("id");
        dropReservation(runtime, accountId, "lost");

        var renamed = a.patch("/v1/groups/" + g, Map.of("name", "found"));

        assertThat(renamed.status()).as(renamed.body()).isEqualTo(200);
        assertThat(renamed.jsonObject()).containsEntry("name", "found");
        assertThat(reservations(runtime, accountId)).containsExactly(Map.entry("found", g));
        assertThat(a.post("/v1/groups", Map.of("name", "FOUND")).status()).as("its new name is reserved").isEqualTo(409);
    }

    @Test
    void anUpdateFromAReadARenameOvertookChangesNothing(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Stale Update Co");
        String accountId = accountId(a);
        String g = (String) a.post("/v1/groups", Map.of("name", "first", "description", "d1")).jsonObject().get("id");
        var store = store(runtime);
        Group read = store.get(accountId, g).orElseThrow();
        assertThat(a.patch("/v1/groups/" + g, Map.of("name", "second")).status()).isEqualTo(200);

        // a description change writes the name it read: it would have renamed the group back to "first" while
        // "second" stayed reserved; it is refused, and the service reads again and retries
        assertThat(store.update(accountId, read, read.name(), "d2", System.currentTimeMillis())).isFalse();
        assertThat(store.update(accountId, read, "third", null, System.currentTimeMillis())).isFalse();
        assertThat(store.get(accountId, g).orElseThrow().name()).isEqualTo("second");
        assertThat(reservations(runtime, accountId)).containsExactly(Map.entry("second", g));

        var patched = a.patch("/v1/groups/" + g, Map.of("description", "d3"));
        assertThat(patched.jsonObject()).containsEntry("name", "second").containsEntry("description", "d3");
    }
}
