package groupmsg.platform.config;

import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.net.URI;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A function deployed without its carrier settings refuses each send as the sender's problem, so the delivery worker
 * keeps every recipient queued (and raises CarrierRefusedSender) until the deploy is mended; before, the send threw
 * and every recipient of every message in flight was failed for good.
 */
class NoCarrierTest {
    @Test
    void aFunctionWithoutCarrierSettingsRefusesEachSendAsTheSendersProblem() {
        var config = new AppConfig("us-east-1", URI.create("http://127.0.0.1:1"), URI.create("http://127.0.0.1:1"),
                Map.of("core", "core"), Map.of());
        Wiring wiring = Wiring.create(config, StaticCredentialsProvider.create(AwsBasicCredentials.create("x", "y")), List.of());
        try {
            SendResult result = wiring.carrier().send(new OutboundMessage("+14155550100", "+14155550101", "hi", List.of(), null));
            assertThat(result).isInstanceOfSatisfying(SendResult.Rejected.class, r -> {
                assertThat(r.senderRefused()).isTrue();
                assertThat(r.recipientOptedOut()).isFalse();
                assertThat(r.errorCode()).isEqualTo("carrier_not_configured");
            });
        } finally {
            wiring.dynamo().close();
        }
    }
}
