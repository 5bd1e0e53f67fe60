package groupmsg.integrations;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which secrets sign a delivery around a rotation, and how the signature header carries them. */
class WebhookSecretsTest {
    private static Webhook rotated(Long previousExpiresAt) {
        return new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "new", 1L, null, null, null,
                "old", previousExpiresAt, null, null, null, null, false, null);
    }

    @Test
    void thePreviousSecretSignsBesideTheNewOneUntilItExpiresAndNotAMillisecondLonger() {
        assertThat(rotated(10_000L).signingSecrets(9_999)).containsExactly("new", "old");
        assertThat(rotated(10_000L).signingSecrets(10_000)).containsExactly("new");
        assertThat(rotated(null).signingSecrets(0)).containsExactly("new");
        assertThat(new Webhook("whk_1", "https://h.example.com", List.of(), null, "only", 1L).signingSecrets(0)).containsExactly("only");
    }

    @Test
    void eachSecretAddsItsOwnV1ToOneTimestamp() {
        String one = WebhookSignature.header("new", 1700000000L, "{}");
        String both = WebhookSignature.header(List.of("new", "old"), 1700000000L, "{}");
        assertThat(one).isEqualTo("t=1700000000,v1=" + WebhookSignature.hmac("new", "1700000000.{}"));
        assertThat(both).isEqualTo(one + ",v1=" + WebhookSignature.hmac("old", "1700000000.{}"));
        assertThat(WebhookSignature.hmac("new", "1700000000.{}")).isNotEqualTo(WebhookSignature.hmac("old", "1700000000.{}"))
                .hasSize(64);
    }

    @Test
    void aWebhookIsEnabledUntilItHasADisabledTime() {
        assertThat(rotated(null).enabled()).isTrue();
        assertThat(new Webhook("whk_1", "https://h.example.com", List.of(), null, "s", 1L, null, 5L, "HTTP 500", null, null,
                1L, 6L, "every delivery failed", null, false, 5L).enabled()).isFalse();
    }

    @Test
    void anEventPublishedBeforeTheWebhookWasCreatedOrEnabledAgainIsNotItsOwn() {
        var created = new Webhook("whk_1", "https://h.example.com", List.of(), null, "s", 100_000L);
        assertThat(created.takesEventPublishedAt(94_999)).isFalse();
        assertThat(created.takesEventPublishedAt(95_000)).as("5 s to spare for the clocks").isTrue();
        assertThat(created.takesEventPublishedAt(100_000)).isTrue();
        var enabledAgain = new Webhook("whk_1", "https://h.example.com", List.of(), null, "s", 100_000L, null, null, null,
                null, null, null, null, null, 500_000L, false, null);
        assertThat(enabledAgain.takesEventPublishedAt(494_999)).as("published while it was disabled").isFalse();
        assertThat(enabledAgain.takesEventPublishedAt(500_000)).isTrue();
    }
}
