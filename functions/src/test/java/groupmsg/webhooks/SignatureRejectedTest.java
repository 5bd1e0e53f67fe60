package groupmsg.webhooks;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import groupmsg.platform.CapturedStdout;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A webhook that came signed but does not verify (a wrong publicBaseUrl or auth token refuses every callback, which
 * Twilio does not send again) pages on the first; an unsigned post (a scanner) is logged, not paged.
 */
class SignatureRejectedTest {
    private static Map<String, Object> logged(boolean signed) {
        var event = new APIGatewayV2HTTPEvent();
        event.setRawPath("/webhooks/twilio/inbound");
        String out = CapturedStdout.of(() -> assertThat(CarrierWebhookHandler.signatureRejected(event, signed).getMessage())
                .isEqualTo("invalid or missing X-Twilio-Signature"));
        return Json.parseObject(out.strip());
    }

    @Test
    void aSignedPostThatDoesNotVerifyCarriesThePagedMetric() {
        assertThat(logged(true)).containsEntry("event", "webhook_signature_rejected")
                .containsEntry("path", "/webhooks/twilio/inbound")
                .containsEntry("metric", HandledFailures.WEBHOOK_SIGNATURE_MISMATCH);
        assertThat(logged(false)).containsEntry("event", "webhook_signature_rejected").doesNotContainKey("metric");
    }
}
