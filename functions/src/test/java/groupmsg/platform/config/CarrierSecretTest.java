package groupmsg.platform.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The carrier's secret as Secrets Manager gives it: read, and a malformed one refused without quoting it. */
class CarrierSecretTest {
    @Test
    void aSecretIsReadWithTheEnvironmentsOverrides() {
        var settings = Wiring.carrierFromSecretString(
                "{\"accountSid\":\"AC123\",\"authToken\":\"tok\",\"previousAuthToken\":\"old\"}", Map.of());
        assertThat(settings.accountSid()).isEqualTo("AC123");
        assertThat(settings.signingTokens()).containsExactly("tok", "old");
        assertThat(Wiring.carrierFromSecretString("{\"authToken\":\"tok\"}",
                Map.of("TWILIO_ACCOUNT_SID", "ACenv", "TWILIO_API_BASE_URL", "http://127.0.0.1:9")).accountSid()).isEqualTo("ACenv");
    }

    @Test
    void aMalformedSecretFailsWithoutQuotingIt() {
        for (String bad : List.of("abc123supersecrettoken", "{\"authToken\":abc123supersecrettoken}",
                "{\"authToken\":\"abc123supersecrettoken\"", "[\"abc123supersecrettoken\"]")) {
            assertThatThrownBy(() -> Wiring.carrierFromSecretString(bad, Map.of())).as(bad)
                    .isInstanceOf(IllegalStateException.class).hasNoCause()
                    .hasMessageContaining("not a JSON object").hasMessageNotContaining("abc123");
        }
        assertThatThrownBy(() -> Wiring.carrierFromSecretString("{\"authToken\":12345678}", Map.of()))
                .hasNoCause().hasMessageContaining("authToken must be a string").hasMessageNotContaining("12345678");
    }
}
