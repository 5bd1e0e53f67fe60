package groupmsg.messages;

import groupmsg.messages.StatusCallbacks.Receipt;
import groupmsg.platform.CapturedStdout;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Receipts that fail because the line is not registered to send (30034 an unregistered 10DLC long code, 30032 an
 * unverified toll-free number), or because the carrier account or the line's rate stopped them (30002 suspended, 63038
 * the daily limit, 30001 the queue overflowing) page a person, as a refusal of the sender at the send does: one line per message and
 * code of a batch, with the metric; other failures are the recipients' own and say nothing.
 */
class SenderStoppedReportTest {
    private static Receipt failed(String messageId, String phone, String code) {
        return new Receipt("acct_1", messageId, 0, phone, "SM" + phone.substring(1), Delivery.FAILED, "carrier " + code, 1);
    }

    @Test
    void oneLinePerMessageAndCodeWithTheMetricThatPages() {
        String out = CapturedStdout.of(() -> ReceiptWorkerHandler.reportSendersStopped(List.of(
                failed("msg_1", "+14155550101", "30034"), failed("msg_1", "+14155550102", "30034"),
                failed("msg_1", "+14155550103", "30003"), failed("msg_2", "+14155550104", "30032"),
                new Receipt(null, null, -1, "+14155550105", "SMx", Delivery.FAILED, "carrier 30034", 1),
                new Receipt("acct_1", "msg_3", 0, "+14155550106", "SMy", Delivery.DELIVERED, null, 1),
                // the carrier account suspended, at its daily limit; the line's queue overflowing
                failed("msg_4", "+14155550107", "30002"), failed("msg_4", "+14155550108", "63038"),
                failed("msg_5", "+14155550109", "30001"))));

        List<Map<String, Object>> lines = out.lines().map(Json::parseObject).toList();
        assertThat(lines).extracting(l -> l.get("event")).containsOnly("carrier_refused_sender_after_send");
        assertThat(lines).extracting(l -> l.get("messageId") + " " + l.get("errorCode") + " " + l.get("receipts"))
                .containsExactlyInAnyOrder("msg_1 30034 2", "msg_2 30032 1", "(a receipt by sid) 30034 1", "msg_4 30002 1",
                        "msg_4 63038 1", "msg_5 30001 1");
        assertThat(lines).allSatisfy(l -> assertThat(l).containsEntry("metric", "CarrierRefusedSender").containsEntry("level", "ERROR"));
    }

    @Test
    void aBatchWithoutSuchFailuresSaysNothing() {
        assertThat(CapturedStdout.of(() -> ReceiptWorkerHandler.reportSendersStopped(List.of(
                failed("msg_1", "+14155550101", "30003"), failed("msg_1", "+14155550102", "30007"),
                failed("msg_1", "+14155550103", "30005"), failed("msg_1", "+14155550104", "30008"))))).isEmpty();
    }
}
