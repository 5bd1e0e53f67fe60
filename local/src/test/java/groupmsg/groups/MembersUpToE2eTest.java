package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Reading a small group's members (a conversation started from it) past the rows of members removed lately, on the
 * real DynamoDB Local: it stops once as many as the group's count are found, and a read out of time is a 409, not a
 * 500.
 */
@ExtendWith(LocalRuntimeExtension.class)
class MembersUpToE2eTest {

    @Test
    @SuppressWarnings("unchecked")
    void theMembersAreReadUpToTheGroupsCountNotThroughTheRemovedOnesAfterThem(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Few Left Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = (String) a.post("/v1/groups", Map.of("name", "Few left")).jsonObject().get("id");
        List<Map<String, Object>> kept = new ArrayList<>();
        for (int i = 1; i <= 3; i++) kept.add(Map.of("phone", "+1415555000" + i));
        List<Map<String, Object>> gone = new ArrayList<>();
        for (int i = 0; i < 60; i++) gone.add(Map.of("phone", String.format("+141555590%02d", i)));
        var all = new ArrayList<>(kept);
        all.addAll(gone);
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", all)).status()).isEqualTo(200);
        var removed = a.post("/v1/groups/" + group + "/members/remove", Map.of("members", gone));
        assertThat(removed.status()).as(removed.body()).isEqualTo(200);

        var service = new GroupService(runtime.wiring());
        Group read = service.get(accountId, group);
        assertThat(read.memberCount()).isEqualTo(3);
        // the first read (50 rows) holds the three and removed ones after them; a budget spent at once reads no more:
        // the three are all there are. Before, it read on for an eleventh and threw (a 500) when the time ran out.
        assertThat(service.membersUpTo(accountId, read, 11, 1)).extracting(Member::phone)
                .containsExactly("+14155550001", "+14155550002", "+14155550003");

        // a count the rows read in time do not reach: a 409 asking to retry, not a 500
        var stale = new Group(read.id(), read.name(), read.description(), 4, read.createdAt(), read.updatedAt(),
                read.lastSendAt(), read.memberVersion(), read.stampedTo());
        assertThatThrownBy(() -> service.membersUpTo(accountId, stale, 11, 1))
                .isInstanceOfSatisfying(groupmsg.platform.api.ApiException.class,
                        e -> assertThat(e.code()).isEqualTo(groupmsg.platform.api.ErrorCode.CONFLICT));
    }
}
