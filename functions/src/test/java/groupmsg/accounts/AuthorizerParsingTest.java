package groupmsg.accounts;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2CustomAuthorizerEvent;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AuthorizerParsingTest {
    private static APIGatewayV2CustomAuthorizerEvent withHeader(String value) {
        var event = new APIGatewayV2CustomAuthorizerEvent();
        event.setHeaders(value == null ? Map.of() : Map.of("authorization", value));
        return event;
    }

    @Test
    void takesTheBearerTokenCaseInsensitively() {
        assertThat(AuthorizerHandler.bearerToken(withHeader("Bearer gmk_abc"))).contains("gmk_abc");
        assertThat(AuthorizerHandler.bearerToken(withHeader("bearer   gmk_abc  "))).contains("gmk_abc");
    }

    @Test
    void otherSchemesAndMissingHeadersGiveNothing() {
        assertThat(AuthorizerHandler.bearerToken(withHeader("Basic dXNlcjpwYXNz"))).isEmpty();
        assertThat(AuthorizerHandler.bearerToken(withHeader("gmk_abc"))).isEmpty();
        assertThat(AuthorizerHandler.bearerToken(withHeader(null))).isEmpty();
    }

    @Test
    void fallsBackToTheIdentitySource() {
        var event = new APIGatewayV2CustomAuthorizerEvent();
        event.setIdentitySource(List.of("Bearer gmk_xyz"));
        assertThat(AuthorizerHandler.bearerToken(event)).contains("gmk_xyz");
    }

    @Test
    void keysAreRandomPrefixedAndHashedToHex() {
        ApiKeys keys = new ApiKeys();
        String a = keys.generate();
        String b = keys.generate();
        assertThat(a).startsWith("gmk_").hasSize(4 + 43).isNotEqualTo(b);
        assertThat(ApiKeys.hash(a)).matches("[0-9a-f]{64}").isEqualTo(ApiKeys.hash(a)).isNotEqualTo(ApiKeys.hash(b));
        assertThat(ApiKeys.plausible(a)).isTrue();
        assertThat(ApiKeys.plausible("test-key")).as("an operator's short local key").isTrue();
        assertThat(ApiKeys.plausible("")).isFalse();
        assertThat(ApiKeys.plausible("x".repeat(257))).isFalse();
        assertThat(ApiKeys.plausible("has a space in it, long enough")).isFalse();
        assertThat(ApiKeys.plausible("caf\u00e9-key")).isFalse();
        assertThat(ApiKeys.last4(a)).isEqualTo(a.substring(a.length() - 4));
        assertThat(ApiKeys.last4("test-key")).as("a short key shows none of itself").isEmpty();
    }
}
