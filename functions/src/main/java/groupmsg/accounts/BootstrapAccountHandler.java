package groupmsg.accounts;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.InvokeFunction;
import groupmsg.platform.lambda.Priming;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Creates an account and its first owner key: {@code {"name": "Acme"}} -> {@code {"accountId", "apiKey"}}. A deployed
 * stack's API needs a key for every call, so this is how the first one comes to be; nothing routes to it; an
 * operator with {@code lambda:InvokeFunction} on it invokes it (infra/DEPLOY.md, "Create your first account"). The
 * answer is the only place the key's secret ever appears: it is stored as a hash and never logged.
 *
 * <p>Each invocation creates a new account (there is nothing to de-duplicate on that would be safe to keep: a replay
 * could not show the secret again). Bad input gets an error result ({@code {"error": {"code": "invalid_request",
 * ...}}}), not a failed invocation; a storage failure fails the invocation (Lambda's error, the function's alarm).
 */
public final class BootstrapAccountHandler implements InvokeFunction {
    /** Same bounds as an account's name everywhere else (PATCH /v1/account, the local runtime's POST /local/accounts). */
    static final int MAX_NAME_LENGTH = 100;

    private final AccountService accounts;
    private final Priming priming;

    public BootstrapAccountHandler() {
        this(Wiring.fromEnvironment());
    }

    public BootstrapAccountHandler(Wiring wiring) {
        this.accounts = new AccountService(wiring);
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        // Unknown fields are refused, as the API does: a misspelt "name" is reported, not silently ignored.
        JsonBody body = new JsonBody(event == null ? Map.of() : event, "").allowOnly("name");
        String name = body.name("name", body.requiredString("name", 1, MAX_NAME_LENGTH), MAX_NAME_LENGTH);
        try {
            body.validate();
        } catch (ApiException e) {
            // Only how many problems: field names and values come from the payload, which could hold anything pasted.
            Log.info("account_bootstrap_refused", Map.of("problems", e.details().size()));
            return InvokeFunction.error(e.code().wire(), e.getMessage(), e.details());
        }
        CreatedAccount created = accounts.createAccount(name);
        Log.info("account_bootstrapped", Map.of("accountId", created.accountId()));
        var result = new LinkedHashMap<String, Object>();
        result.put("accountId", created.accountId());
        result.put("apiKey", created.apiKey());
        return result;
    }
}
