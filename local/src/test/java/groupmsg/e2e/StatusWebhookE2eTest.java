package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.local.QueueCounts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/** /webhooks/twilio/status: signature checked over PUBLIC_BASE_URL, forward only, unknown sids a no-op. */
@ExtendWith(LocalRuntimeExtension.class)
public class StatusWebhookE2eTest {

    private static ApiClient.Response post(ApiClient api, LocalRuntime runtime, String pathAndQuery,
                                           Map<String, String> params, String signatureOverride) {
        return TwilioWebhooks.post(api, runtime, pathAndQuery, params, signatureOverride);
    }

    @Test
    void forgedOrMissingSignaturesAre403AndChangeNothing(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Webhook Co");
        String lineId = createLine(a, linePhone(), 50);
        String g = createGroup(a, "Hooks");
        String phone = addMembers(a, g, 800, 1).get(0);
        String id = (String) send(a, g, lineId, "hook").get("id");
        assertThat(awaitSent(a, id, 30_000)).containsEntry("status", "sent");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String path = "/webhooks/twilio/status?a=" + accountId + "&m=" + id + "&s=0";
        var failed = Map.of("MessageSid", "SMforged", "MessageStatus", "failed", "To", phone, "ErrorCode", "30003");

        assertThat(post(a, runtime, path, failed, "bm90LWEtc2lnbmF0dXJl").status()).isEqualTo(403);
        assertThat(a.withoutKey().send("POST", path, "application/x-www-form-urlencoded", "MessageStatus=failed").status()).isEqualTo(403);
        // the callback from the emulator said delivered; a later (even validly signed) "failed" cannot move it back
        awaitDelivered(a, id, phone);
        assertThat(post(a, runtime, path, failed, null).status()).isEqualTo(200);
        assertThat(post(a, runtime, path, Map.of("MessageSid", "SMx", "MessageStatus", "sent", "To", phone), null).status()).isEqualTo(200);
        awaitReceiptsApplied(runtime);
        assertThat(allDeliveries(a, id).get(0)).containsEntry("status", "delivered");

        // unknown message, unknown number, no routing parameters: 2xx no-ops
        assertThat(post(a, runtime, "/webhooks/twilio/status?a=" + accountId + "&m=msg_unknown&s=0", failed, null).status()).isEqualTo(200);
        assertThat(post(a, runtime, "/webhooks/twilio/status", failed, null).status()).isEqualTo(200);
        // unsigned junk: 403 before anything else is looked at; signed, a wrong content type is a 400
        assertThat(a.withoutKey().send("POST", path, "application/json", "{}").status()).isEqualTo(403);
        assertThat(a.withoutKey().send("POST", path, "application/x-www-form-urlencoded", "MessageStatus=%zz").status()).isEqualTo(403);
        assertThat(InboundE2eTest.signedWithContentType(a, runtime, path, failed, "application/json").status()).isEqualTo(400);
        // a signed callback whose sid could not be one is a 400 and changes nothing
        var badSid = Map.of("MessageSid", "SM" + "0".repeat(70), "MessageStatus", "failed", "To", phone, "ErrorCode", "30003");
        assertThat(post(a, runtime, path, badSid, null).status()).isEqualTo(400);
        awaitReceiptsApplied(runtime);
        assertThat(allDeliveries(a, id).get(0)).containsEntry("status", "delivered");
    }

    /**
     * The rows the fan-out and a line's own messages write name their account, so a callback to the bare URL finds
     * them by sid (the deliveries table's keys-only {@code sid} index: account, message and shard, phone).
     */
    @Test
    void rowsOfRealMessagesAreInTheSidIndexUnderTheirAccount(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Sid Index Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), 50);
        String g = createGroup(a, "Indexed");
        List<String> members = addMembers(a, g, 830, 3);
        String group = (String) send(a, g, lineId, "indexed").get("id");
        assertThat(awaitSent(a, group, 30_000)).containsEntry("status", "sent");
        var direct = a.post("/v1/lines/" + lineId + "/messages", Map.of("to", members.get(0), "body", "just you"));
        assertThat(direct.status()).as(direct.body()).isEqualTo(202);
        String directId = (String) direct.jsonObject().get("id");

        var rows = allDeliveries(a, group);
        assertThat(rows).extracting(row -> row.get("phone")).containsExactlyInAnyOrderElementsOf(members);
        for (var row : rows) {
            assertThat(bySid(runtime, (String) row.get("carrierMessageId"))).as(row.toString())
                    .containsExactly(accountId, "MSG#" + group + "#0", row.get("phone"));
        }
        String directSid = InboundE2eTest.await(() -> (String) a.get("/v1/lines/" + lineId + "/messages/" + directId)
                .jsonObject().get("carrierMessageId"), java.util.Objects::nonNull, 15_000);
        assertThat(bySid(runtime, directSid)).containsExactly(accountId, "MSG#" + directId + "#0", members.get(0));
    }

    /** [accountId, pk, sk] of the rows the sid index has for a sid. */
    private static List<Object> bySid(LocalRuntime runtime, String sid) {
        var items = runtime.wiring().dynamo().query(q -> q.tableName(runtime.wiring().config().table(Tables.DELIVERIES))
                .indexName(Tables.DELIVERIES_BY_SID).keyConditionExpression("carrierMessageId = :sid")
                .expressionAttributeValues(Map.of(":sid", AttributeValue.fromS(sid)))).items();
        assertThat(items).as(sid).hasSize(1);
        var item = items.getFirst();
        return List.of(item.get("accountId").s(), item.get("pk").s(), item.get("sk").s());
    }

    /** Receipts are applied by the receipt worker: waits until it has taken every queued one. */
    public static void awaitReceiptsApplied(LocalRuntime runtime) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (QueueCounts.of(runtime, "receipts").empty()) return;
            Thread.sleep(50);
        }
        throw new AssertionError("receipts still queued after 30 s");
    }

    private static void awaitDelivered(ApiClient a, String id, String phone) throws InterruptedException {
        for (long deadline = System.currentTimeMillis() + 30_000; System.currentTimeMillis() < deadline; ) {
            if ("delivered".equals(allDeliveries(a, id).get(0).get("status"))) return;
            Thread.sleep(100);
        }
        assertThat(allDeliveries(a, id).get(0)).as(phone).containsEntry("status", "delivered");
    }
}
