package groupmsg.accounts;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.AuthorizerFunction;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2CustomAuthorizerEvent;
import com.amazonaws.services.lambda.runtime.events.SimpleIAMPolicyResponse;
import groupmsg.platform.Log;
import groupmsg.platform.api.Caller;
import groupmsg.platform.config.Wiring;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * HTTP API Lambda REQUEST authorizer (simple responses). Resolves {@code Authorization: Bearer <key>} to the
 * account, key id and role, which API Gateway passes to the route's handler as
 * {@code requestContext.authorizer.lambda}. The stack does not let API Gateway cache the answer, so a revoked key
 * is refused at its next request, in AWS as locally.
 */
public final class AuthorizerHandler implements AuthorizerFunction {
    private final AccountService accounts;

    private final Priming priming;

    public AuthorizerHandler() {
        this(Wiring.fromEnvironment());
    }

    public AuthorizerHandler(Wiring wiring) {
        this.accounts = new AccountService(wiring);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public SimpleIAMPolicyResponse handleRequest(APIGatewayV2CustomAuthorizerEvent event, Context context) {
        Optional<Caller> caller = bearerToken(event).flatMap(accounts::authorize);
        if (caller.isEmpty()) {
            Log.info("authorization_denied", Map.of("routeKey", String.valueOf(event.getRouteKey())));
            return new SimpleIAMPolicyResponse(false, Map.of());
        }
        Caller c = caller.get();
        return new SimpleIAMPolicyResponse(true,
                Map.of("accountId", c.accountId(), "keyId", c.keyId(), "role", c.role().wireName()));
    }

    static Optional<String> bearerToken(APIGatewayV2CustomAuthorizerEvent event) {
        String header = null;
        if (event.getHeaders() != null) {
            for (var e : event.getHeaders().entrySet()) {
                if (e.getKey().equalsIgnoreCase("authorization")) header = e.getValue();
            }
        }
        if (header == null) {
            List<String> source = event.getIdentitySource();
            if (source != null && !source.isEmpty()) header = source.get(0);
        }
        if (header == null) return Optional.empty();
        String trimmed = header.strip();
        if (trimmed.length() < 7 || !trimmed.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return Optional.empty();
        }
        return Optional.of(trimmed.substring(7).strip());
    }
}
