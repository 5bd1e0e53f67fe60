package groupmsg.webhooks;

import com.amazonaws.services.lambda.runtime.Context;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** A text's receipt gets the webhook's time left less what its hand-on to the inbound queue may take. */
class ReceiveTimeLimitTest {
    private static Context leaving(int millis) {
        return (Context) Proxy.newProxyInstance(ReceiveTimeLimitTest.class.getClassLoader(), new Class<?>[]{Context.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getRemainingTimeInMillis")) return millis;
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void theFunctionsTimeLeftLessTheHandOnsReserve() {
        assertThat(CarrierWebhookHandler.receiveTimeLimit(leaving(9_500))).isEqualTo(Duration.ofMillis(5_500));
        assertThat(CarrierWebhookHandler.receiveTimeLimit(leaving(3_000))).as("none left: handed on at once")
                .isNegative();
        assertThat(CarrierWebhookHandler.receiveTimeLimit(null)).isEqualTo(Duration.ofSeconds(6));
    }
}
