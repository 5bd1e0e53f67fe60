package groupmsg.accounts;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.HttpApiHandler;
import groupmsg.platform.api.IdempotencyStore;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.api.Paging;
import groupmsg.platform.api.Role;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Cursor;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Account settings and API keys ({@code /v1/account}, {@code /v1/api-keys}). */
public final class AdminApiHandler extends HttpApiHandler {
    private final AccountService accounts;

    public AdminApiHandler() {
        this(Wiring.fromEnvironment());
    }

    public AdminApiHandler(Wiring wiring) {
        super(Handlers.ADMIN_API.name(),
                new IdempotencyStore(wiring.dynamo(), wiring.config().table(Tables.CORE), wiring.clock()));
        this.accounts = new AccountService(wiring);
        on("GET /v1/account", this::getAccount);
        on("PATCH /v1/account", this::patchAccount);
        on("POST /v1/api-keys", this::createKey, AdminApiHandler::withoutSecret);
        on("GET /v1/api-keys", this::listKeys);
        on("DELETE /v1/api-keys/{id}", this::revokeKey);
    }

    private ApiResponse getAccount(ApiRequest request) {
        return ApiResponse.ok(accountJson(accounts.account(request.accountId())));
    }

    private ApiResponse patchAccount(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "settings");
        Optional<String> name = body.optionalString("name", 1, 100);
        Optional<JsonBody> settingsBody = body.optionalObject("settings");
        body.validate();
        Optional<AccountSettings> settings = settingsBody.map(s -> settings(s, accounts.account(request.accountId()).settings()));
        body.validate();
        return ApiResponse.ok(accountJson(accounts.updateAccount(request.accountId(), name, settings)));
    }

    private static AccountSettings settings(JsonBody body, AccountSettings current) {
        body.allowOnly("groupChatRoles", "maxConversationParticipants", "conversationOptOutPolicy");
        Set<Role> roles = current.groupChatRoles();
        var roleNames = body.optionalStringList("groupChatRoles", 0, 3, 20);
        if (roleNames.isPresent()) {
            Set<Role> parsed = EnumSet.noneOf(Role.class);
            for (String name : roleNames.get()) {
                Role.fromWire(name).ifPresentOrElse(parsed::add,
                        () -> body.problem("groupChatRoles", "unknown role '" + name + "' (owner, admin, member)"));
            }
            roles = parsed;
        }
        int max = body.optionalInteger("maxConversationParticipants", AccountSettings.MIN_PARTICIPANTS,
                AccountSettings.MAX_PARTICIPANTS).map(Long::intValue).orElse(current.maxConversationParticipants());
        String policy = body.optionalString("conversationOptOutPolicy", 1, 40).orElse(current.conversationOptOutPolicy());
        if (!AccountSettings.OPT_OUT_POLICIES.contains(policy)) {
            body.problem("conversationOptOutPolicy", "must be one of " + AccountSettings.OPT_OUT_POLICIES);
        }
        return new AccountSettings(roles, max, policy);
    }

    private ApiResponse createKey(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "role");
        String name = body.requiredString("name", 1, 100);
        String roleName = body.requiredString("role", 1, 20);
        Optional<Role> role = Role.fromWire(roleName);
        if (roleName != null && role.isEmpty()) body.problem("role", "must be one of owner, admin, member");
        body.validate();
        var created = accounts.createKey(request.accountId(), name, role.orElseThrow());
        Map<String, Object> json = keyJson(created.key());
        json.put("key", created.secret());
        return ApiResponse.created(json);
    }

    /** An idempotent replay of key creation cannot show the secret again: it was never stored. */
    private static String withoutSecret(String body) {
        Map<String, Object> json = Json.parseObject(body);
        if (json.containsKey("key")) json.put("key", null);
        return Json.write(json);
    }

    private ApiResponse listKeys(ApiRequest request) {
        Paging paging = Paging.from(request);
        var start = Cursor.decode(paging.cursor(), "pk", AccountService.accountPartition(request.accountId()));
        var page = accounts.listKeys(request.accountId(), paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.keys().forEach(k -> items.add(keyJson(k)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    private ApiResponse revokeKey(ApiRequest request) {
        String keyId = request.path("id");
        if (!keyId.startsWith("key_")) throw ApiException.notFound("API key");
        accounts.revokeKey(request.accountId(), keyId);
        return ApiResponse.noContent();
    }

    private static Map<String, Object> accountJson(Account account) {
        var settings = new LinkedHashMap<String, Object>();
        settings.put("groupChatRoles", account.settings().groupChatRoles().stream().sorted().map(Role::wireName).toList());
        settings.put("maxConversationParticipants", account.settings().maxConversationParticipants());
        settings.put("conversationOptOutPolicy", account.settings().conversationOptOutPolicy());
        var json = new LinkedHashMap<String, Object>();
        json.put("id", account.id());
        json.put("name", account.name());
        json.put("settings", settings);
        json.put("createdAt", Timestamps.format(account.createdAt()));
        return json;
    }

    private static Map<String, Object> keyJson(ApiKeyView key) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", key.id());
        json.put("name", key.name());
        json.put("role", key.role().wireName());
        json.put("last4", key.last4());
        json.put("createdAt", Timestamps.format(key.createdAt()));
        return json;
    }
}
