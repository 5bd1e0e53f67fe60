package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import groupmsg.carrier.CarrierSettings;
import groupmsg.carrier.TwilioSignature;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.config.Wiring;
import groupmsg.webhooks.CarrierWebhookHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rotating the carrier's token without refusing its webhooks: while the secret holds the new token and the one it
 * replaces ({@code previousAuthToken}), a webhook signed with either is taken (Twilio signs with its primary token
 * until the new one is promoted); once the previous one is dropped, only the new one is.
 */
@ExtendWith(LocalRuntimeExtension.class)
class CarrierTokenRotationE2eTest {
    private static final String PATH = "/webhooks/twilio/status";
    private static final Map<String, List<String>> PARAMS = Map.of("MessageSid", List.of("SM" + "b".repeat(32)),
            "MessageStatus", List.of("sent"), "To", List.of("+14155550199"));

    @Test
    void duringARotationWebhooksSignedWithTheNewTokenOrTheOneItReplacesAreTaken(LocalRuntime runtime) {
        var config = runtime.wiring().config();
        var carrier = config.carrier();
        var rotating = handler(runtime, new CarrierSettings(carrier.apiBaseUrl(), carrier.accountSid(), "new-token", "old-token"));
        assertThat(status(rotating, runtime, "old-token")).as("signed with the primary, not yet promoted").isEqualTo(200);
        assertThat(status(rotating, runtime, "new-token")).as("signed with the promoted one").isEqualTo(200);
        assertThat(status(rotating, runtime, "another-token")).isEqualTo(403);

        var rotated = handler(runtime, new CarrierSettings(carrier.apiBaseUrl(), carrier.accountSid(), "new-token"));
        assertThat(status(rotated, runtime, "new-token")).isEqualTo(200);
        assertThat(status(rotated, runtime, "old-token")).as("the previous one dropped").isEqualTo(403);
    }

    private static CarrierWebhookHandler handler(LocalRuntime runtime, CarrierSettings carrier) {
        var config = runtime.wiring().config();
        return new CarrierWebhookHandler(Wiring.create(config.withCarrier(config.publicBaseUrl(), carrier),
                StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local")), List.of()));
    }

    /** The status code of a status callback signed with {@code token} over the runtime's public URL. */
    private static int status(CarrierWebhookHandler handler, LocalRuntime runtime, String token) {
        var event = new APIGatewayV2HTTPEvent();
        event.setRouteKey("POST " + PATH);
        event.setRawPath(PATH);
        event.setHeaders(new HashMap<>(Map.of("content-type", "application/x-www-form-urlencoded",
                "x-twilio-signature", TwilioSignature.compute(runtime.publicBaseUrl() + PATH, PARAMS, token))));
        event.setBody("MessageSid=" + PARAMS.get("MessageSid").getFirst() + "&MessageStatus=sent&To=%2B14155550199");
        var context = new APIGatewayV2HTTPEvent.RequestContext();
        context.setRouteKey("POST " + PATH);
        event.setRequestContext(context);
        return handler.handleRequest(event, null).getStatusCode();
    }
}
