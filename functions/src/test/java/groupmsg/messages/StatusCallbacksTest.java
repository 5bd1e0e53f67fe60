package groupmsg.messages;

import groupmsg.messages.StatusCallbacks.Receipt;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a status callback becomes: a queued receipt only for final statuses, with our routing parameters or a sid. */
class StatusCallbacksTest {
    private static final String SID = "SM0123456789abcdef0123456789abcdef";

    @Test
    void finalStatusesBecomeReceiptsWithTheirError() {
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "3", "+14155550100", SID, "delivered", null, 42))
                .contains(new Receipt("acct_1", "msg_1", 3, "+14155550100", SID, Delivery.DELIVERED, null, 42));
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", SID, "read", null, 1).orElseThrow().status())
                .isEqualTo(Delivery.DELIVERED);
        // some parts of a long message reached the handset: final, and it reached the person
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", SID, "partially_delivered", null, 1)
                .orElseThrow().status()).isEqualTo(Delivery.DELIVERED);
        var undelivered = StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", SID, "undelivered", "30003", 1).orElseThrow();
        assertThat(undelivered.status()).isEqualTo(Delivery.FAILED);
        assertThat(undelivered.error()).isEqualTo("carrier 30003");
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", null, "failed", null, 1).orElseThrow().error())
                .isEqualTo("carrier error");
        // Twilio's "failed" (could not be sent) is not charged; "undelivered" (the network's report) is
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", SID, "failed", "30001", 1).orElseThrow().uncharged()).isTrue();
        assertThat(undelivered.uncharged()).isFalse();
        assertThat(StatusCallbacks.receipt(null, null, null, "+14155550100", SID, "failed", "30001", 1).orElseThrow().uncharged()).isTrue();
        var failed = StatusCallbacks.receipt("acct_1", "msg_1", "2", "+14155550100", SID, "failed", "30001", 1).orElseThrow();
        assertThat(Receipt.fromJson(failed.toJson())).isEqualTo(failed);
    }

    @Test
    void statusesWeDoNotActOnAndMissingOrBadRoutingAreNothing() {
        for (String status : new String[]{"queued", "accepted", "sending", "sent", "bogus", null}) {
            assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", SID, status, null, 1)).as(status).isEmpty();
        }
        assertThat(StatusCallbacks.receipt(null, "msg_1", "0", "+14155550100", SID, "delivered", null, 1)).isEmpty();
        assertThat(StatusCallbacks.receipt("acct_1", "", "0", "+14155550100", SID, "delivered", null, 1)).isEmpty();
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", null, SID, "delivered", null, 1)).isEmpty();
        // the row key is an E.164 number: anything else is not ours (and "#COUNTS" would be the shard's counter item)
        for (String to : new String[]{"#COUNTS", "4155550100", "+0155550100", "+1", "whatsapp:+14155550100", "+1415555010012345"}) {
            assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", to, SID, "delivered", null, 1)).as(to).isEmpty();
        }
        for (String shard : new String[]{null, "x", "-1", "100", "1e3"}) {
            assertThat(StatusCallbacks.receipt("acct_1", "msg_1", shard, "+14155550100", SID, "delivered", null, 1)).as(shard).isEmpty();
        }
        // shards of any earlier version (up to 100) are still accepted
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "99", "+14155550100", SID, "delivered", null, 1)).isPresent();
    }

    @Test
    void aCallbackWithoutOurParametersIsAReceiptByItsSid() {
        assertThat(StatusCallbacks.receipt(null, null, null, "+14155550100", SID, "undelivered", "30003", 9))
                .contains(new Receipt(null, null, -1, "+14155550100", SID, Delivery.FAILED, "carrier 30003", 9))
                .hasValueSatisfying(r -> assertThat(r.routed()).isFalse());
        // its number only checks the row found: one that cannot be a row's key is left out
        assertThat(StatusCallbacks.receipt("", null, "", "whatsapp:+14155550100", SID, "delivered", null, 9))
                .contains(new Receipt(null, null, -1, null, SID, Delivery.DELIVERED, null, 9));
        assertThat(StatusCallbacks.receipt(null, null, null, "+14155550100", null, "delivered", null, 9)).isEmpty();
        assertThat(StatusCallbacks.receipt(null, null, null, "+14155550100", SID, "sent", null, 9)).isEmpty();
        assertThat(StatusCallbacks.receipt("acct_1", "msg_1", "0", "+14155550100", SID, "delivered", null, 1).orElseThrow().routed()).isTrue();

        var bySid = new Receipt(null, null, -1, "+14155550100", SID, Delivery.FAILED, "carrier 30003", 9);
        assertThat(Receipt.fromJson(bySid.toJson())).isEqualTo(bySid);
        var noNumber = new Receipt(null, null, -1, null, SID, Delivery.DELIVERED, null, 9);
        assertThat(Receipt.fromJson(noNumber.toJson())).isEqualTo(noNumber);
        assertThatThrownBy(() -> Receipt.fromJson("{\"phone\":\"+14155550100\",\"status\":\"delivered\",\"receivedAt\":1}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("neither");
    }

    @Test
    void aReceiptSurvivesTheQueueAndForeignBodiesAreRefused() {
        var failed = new Receipt("acct_1", "msg_1", 4, "+14155550100", SID, Delivery.FAILED, "carrier 30005", 1795428931123L);
        assertThat(Receipt.fromJson(failed.toJson())).isEqualTo(failed);
        var delivered = new Receipt("acct_1", "msg_1", 0, "+14155550100", null, Delivery.DELIVERED, null, 7);
        assertThat(Receipt.fromJson(delivered.toJson())).isEqualTo(delivered);

        assertThatThrownBy(() -> Receipt.fromJson(delivered.toJson().replace("\"delivered\"", "\"sent\"")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("status");
        assertThatThrownBy(() -> Receipt.fromJson("{\"accountId\":\"acct_1\",\"messageId\":\"msg_1\",\"phone\":\"+1\",\"status\":\"delivered\",\"receivedAt\":1}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shard");
        assertThatThrownBy(() -> Receipt.fromJson("{\"messageId\":\"msg_1\",\"shard\":0,\"phone\":\"+1\",\"status\":\"delivered\",\"receivedAt\":1}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("accountId");
        assertThatThrownBy(() -> Receipt.fromJson("not json")).isInstanceOf(groupmsg.platform.json.Json.JsonSyntaxException.class);
    }
}
