package groupmsg.groups;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ErrorCode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Reading a small group's members (a conversation started from it) past the rows of members removed lately, on the
 * real DynamoDB Local: it stops once as many as the group's count are found, a read out of time is a 409, not a 500,
 * and so are members that changed while they were read.
 */
@ExtendWith(LocalRuntimeExtension.class)
class MembersUpToE2eTest {

    /** A group of three members (the first numbers) and 60 removed ones after them. */
    private static String fewLeft(ApiClient a) {
        String group = (String) a.post("/v1/groups", Map.of("name", "Few left")).jsonObject().get("id");
        List<Map<String, Object>> all = new ArrayList<>();
        for (int i = 1; i <= 3; i++) all.add(Map.of("phone", "+1415555000" + i));
        List<Map<String, Object>> gone = new ArrayList<>();
        for (int i = 0; i < 60; i++) gone.add(Map.of("phone", String.format("+141555590%02d", i)));
        all.addAll(gone);
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", all)).status()).isEqualTo(200);
        var removed = a.post("/v1/groups/" + group + "/members/remove", Map.of("members", gone));
        assertThat(removed.status()).as(removed.body()).isEqualTo(200);
        return group;
    }

    @Test
    void theMembersAreReadUpToTheGroupsCountNotThroughTheRemovedOnesAfterThem(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Few Left Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = fewLeft(a);
        var service = new GroupService(runtime.wiring().withClock(groupmsg.local.TestClocks.steppingBy(1_000)));
        Group read = service.get(accountId, group);
        assertThat(read.memberCount()).isEqualTo(3);
        // the first read (50 rows) holds the three and removed ones after them, and the budget is spent by then: the
        // three are all there are. Before, it read on for an eleventh and threw (a 500) when the time ran out.
        assertThat(service.membersUpTo(accountId, read, 11, 1_500)).extracting(Member::phone)
                .containsExactly("+14155550001", "+14155550002", "+14155550003");

        // a count the rows read in time do not reach: a 409 asking to retry, not a 500
        var stale = new Group(read.id(), read.name(), read.description(), 4, read.createdAt(), read.updatedAt(),
                read.lastSendAt(), read.memberVersion(), read.stampedTo());
        assertThatThrownBy(() -> service.membersUpTo(accountId, stale, 11, 1_500))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
    }

    /**
     * A member added between the group's read and its members' (one that sorts first): the three read are not the
     * group's members at any moment, so it is a 409 asking to retry, not a conversation without the one pushed out.
     */
    @Test
    void membersThatChangeWhileTheyAreReadAreA409(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Changing Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String group = fewLeft(a);
        var added = new AtomicBoolean();
        var wiring = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof QueryRequest && added.compareAndSet(false, true)) {
                    var r = a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", "+14155550000"))));
                    assertThat(r.status()).as(r.body()).isEqualTo(200);
                }
            }
        });
        var service = new GroupService(wiring);
        Group read = service.get(accountId, group);
        assertThatThrownBy(() -> service.membersUpTo(accountId, read, 11, 6_000))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThat(added).isTrue();
        assertThat(service.membersUpTo(accountId, service.get(accountId, group), 11, 6_000)).hasSize(4);

        // the group deleted while its members were read: not found (the conversation's 400 "no such group")
        Group before = service.get(accountId, group);
        var deleted = new AtomicBoolean();
        var deleting = new GroupService(runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof QueryRequest && deleted.compareAndSet(false, true)) {
                    assertThat(a.delete("/v1/groups/" + group).status()).isEqualTo(204);
                }
            }
        }));
        assertThatThrownBy(() -> deleting.membersUpTo(accountId, before, 11, 6_000))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }
}
