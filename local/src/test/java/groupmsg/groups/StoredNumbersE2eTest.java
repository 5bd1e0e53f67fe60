package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Members stored under numbers today's libphonenumber metadata refuses (taken by an earlier version, before their
 * country renumbered): each can still be read, renamed and removed, one at a time, in a batch, from every group, by
 * the API; before, each was a 400, and the member got every group message until the group was deleted.
 */
@ExtendWith(LocalRuntimeExtension.class)
class StoredNumbersE2eTest {

    private static final List<String> REFUSED_NOW = List.of("+15555550101", "+15555550102", "+15555550103", "+15555550104");

    @Test
    void aMemberWhoseNumberTheMetadataNoLongerTakesCanBeRemoved(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Renumbered Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = (String) a.post("/v1/groups", Map.of("name", "Old numbers")).jsonObject().get("id");
        String other = (String) a.post("/v1/groups", Map.of("name", "Also there")).jsonObject().get("id");
        // stored as an earlier version stored them (its validation took them)
        StoredMembers.storeAsBefore(runtime.wiring(), accountId, group, REFUSED_NOW);
        StoredMembers.storeAsBefore(runtime.wiring(), accountId, other, List.of(REFUSED_NOW.get(3)));
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", "+15555550105"))))
                .jsonObject()).as("not added today").containsEntry("added", 0);

        assertThat(a.get("/v1/groups/" + group + "/members/%2B15555550101").jsonObject()).containsEntry("phone", "+15555550101");
        assertThat(a.patch("/v1/groups/" + group + "/members/%2B15555550101", Map.of("name", "Renamed")).status()).isEqualTo(200);
        assertThat(a.delete("/v1/groups/" + group + "/members/%2B15555550101").status()).isEqualTo(204);
        var batch = a.post("/v1/groups/" + group + "/members/remove", Map.of("members", List.of(
                Map.of("phone", "+15555550102"), Map.of("phone", "+15555550199"), Map.of("phone", "555 555 0103", "country", "US"))));
        assertThat(batch.jsonObject()).as(batch.body()).containsEntry("removed", 1).containsEntry("notMembers", 1);
        assertThat(batch.jsonObject().get("invalid")).asList().hasSize(1);
        var everywhere = a.post("/v1/members/remove", Map.of("phone", "+15555550104"));
        assertThat(everywhere.status()).as(everywhere.body()).isEqualTo(200);
        assertThat(everywhere.jsonObject().get("removedFrom")).asList().hasSize(2);

        assertThat(a.get("/v1/groups/" + group + "/members").jsonObject().get("items")).asList()
                .singleElement().satisfies(m -> assertThat(((Map<?, ?>) m).get("phone")).isEqualTo("+15555550103"));
        assertThat(a.delete("/v1/groups/" + group + "/members/%2B15555550103/undeliverable").status()).as("a member, unmarked")
                .isEqualTo(204);
        assertThat(a.get("/v1/groups/" + group).jsonObject()).containsEntry("memberCount", 1);
        assertThat(a.get("/v1/groups/" + other).jsonObject()).containsEntry("memberCount", 0);
        // a list's filter and a manual opt-out still say what is wrong with such a number (a typo's answer matters
        // more there: an empty list, or an opt-out of a number that is not the person's)
        assertThat(a.get("/v1/groups?member=%2B15555550103").status()).isEqualTo(400);
        String lineId = (String) a.post("/v1/lines", Map.of("phone", "+15035550177",
                "type", "long_code", "mps", 5)).jsonObject().get("id");
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+15555550103")).status()).isEqualTo(400);
        // a number in no E.164 form is still the caller's mistake, said so
        assertThat(a.delete("/v1/groups/" + group + "/members/555").status()).isEqualTo(400);
    }
}
