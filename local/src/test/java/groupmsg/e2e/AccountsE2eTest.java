package groupmsg.e2e;

import groupmsg.accounts.AccountService;
import groupmsg.local.ApiClient;
import groupmsg.local.JustBefore;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Accounts, keys, roles and the authorizer, through the local runtime's HTTP API. */
@ExtendWith(LocalRuntimeExtension.class)
class AccountsE2eTest {

    @Test
    @SuppressWarnings("unchecked")
    void accountHasDefaultSettingsAndCanBePatched(ApiClient api) {
        ApiClient owner = api.forNewAccount("Settings Co");
        var account = owner.get("/v1/account");
        assertThat(account.status()).isEqualTo(200);
        assertThat(account.jsonObject()).containsEntry("name", "Settings Co");
        @SuppressWarnings("unchecked") var settings = (Map<String, Object>) account.jsonObject().get("settings");
        assertThat(settings).containsEntry("maxConversationParticipants", 9)
                .containsEntry("conversationOptOutPolicy", "exclude_participant").containsEntry("groupMessageAnswers", "conversation");
        assertThat((List<Object>) settings.get("groupChatRoles")).containsExactlyInAnyOrder("owner", "admin", "member");

        var patched = owner.patch("/v1/account", Map.of("name", "Renamed Co",
                "settings", Map.of("maxConversationParticipants", 10, "groupChatRoles", List.of("owner"))));
        assertThat(patched.status()).isEqualTo(200);
        assertThat(owner.get("/v1/account").body()).contains("Renamed Co").contains("\"maxConversationParticipants\":10");

        var bad = owner.patch("/v1/account", Map.of("settings", Map.of("maxConversationParticipants", 11,
                "conversationOptOutPolicy", "nope", "groupChatRoles", List.of("root"))));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.errorCode()).isEqualTo("invalid_request");
        assertThat(owner.get("/v1/account").body()).contains("\"maxConversationParticipants\":10");

        // a role given twice is that role
        var twice = owner.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of("member", "member", "admin", "owner"))));
        assertThat(twice.status()).as(twice.body()).isEqualTo(200);
        assertThat((List<Object>) ((Map<String, Object>) twice.jsonObject().get("settings")).get("groupChatRoles"))
                .containsExactlyInAnyOrder("owner", "admin", "member");
    }

    /** The names the local runtime gives its start-up owner keys (and replaces at each start) are not for keys made here. */
    /**
     * A key revoked while a retried creation gives it a new secret (between the revocation's read and its write) is
     * revoked with that secret: before, the revocation deleted the old secret's lookup row, and the new one went on
     * working for a key no longer listed, which no second revocation could find.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aKeyRevokedWhileItsSecretIsReplacedStopsWorkingWithEither(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Replaced Secret Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var created = a.post("/v1/api-keys", Map.of("name", "ci", "role", "admin"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String keyId = (String) created.jsonObject().get("id");
        var service = new AccountService(runtime.wiring());
        var replaced = new java.util.concurrent.atomic.AtomicReference<String>();
        // just before the revocation writes, the same creation runs again and replaces the secret
        var racing = JustBefore.transaction(tx -> tx.transactItems().stream()
                        .anyMatch(i -> i.delete() != null && ("KEY#" + keyId).equals(i.delete().key().get("sk").s())),
                () -> replaced.set(service.createKey(accountId, keyId, "ci", groupmsg.platform.api.Role.ADMIN, null).secret()));
        new AccountService(runtime.wiringWith(racing)).revokeKey(accountId, keyId, null);

        assertThat(replaced.get()).as("the race happened").isNotNull();
        assertThat(a.withKey(replaced.get()).get("/v1/account").status()).isEqualTo(403);
        assertThat(a.withKey((String) created.jsonObject().get("key")).get("/v1/account").status()).isEqualTo(403);
        assertThat((List<Map<String, Object>>) a.get("/v1/api-keys").jsonObject().get("items"))
                .extracting(k -> k.get("id")).doesNotContain(keyId);
    }

    /** Account and key names are kept as group names are: NFC, and no invisible characters at their ends. */
    @Test
    @SuppressWarnings("unchecked")
    void accountAndKeyNamesAreKeptWithoutInvisibleEnds(ApiClient api) {
        ApiClient owner = api.forNewAccount("Tidy Names Co");
        var patched = owner.patch("/v1/account", Map.of("name", "Acme\u200b "));
        assertThat(patched.status()).isEqualTo(200);
        assertThat(patched.jsonObject()).containsEntry("name", "Acme");
        assertThat(owner.get("/v1/account").jsonObject()).containsEntry("name", "Acme");
        assertThat(owner.patch("/v1/account", Map.of("name", "Cafe\u0301")).jsonObject()).containsEntry("name", "Caf\u00e9");
        var key = owner.post("/v1/api-keys", Map.of("name", "\ufeffci\u200b", "role", "member"));
        assertThat(key.status()).isEqualTo(201);
        assertThat(key.jsonObject()).containsEntry("name", "ci");
        assertThat((List<Map<String, Object>>) owner.get("/v1/api-keys").jsonObject().get("items"))
                .anySatisfy(k -> assertThat(k).containsEntry("id", key.jsonObject().get("id")).containsEntry("name", "ci"));
        assertThat(owner.patch("/v1/account", Map.of("name", "\u200b")).status()).as("nothing visible").isEqualTo(400);
    }

    @Test
    void aKeyCannotTakeTheNameOfTheLocalRuntimesStartUpKey(ApiClient api) {
        ApiClient owner = api.forNewAccount("Reserved Names Co");
        for (String name : List.of("local owner (generated)", "local owner (LOCAL_API_KEY)", "local owner (generated)\u200b")) {
            var r = owner.post("/v1/api-keys", Map.of("name", name, "role", "member"));
            assertThat(r.status()).as(name).isEqualTo(400);
            assertThat(r.body()).contains("reserved");
        }
        assertThat(owner.post("/v1/api-keys", Map.of("name", "local owner", "role", "member")).status()).isEqualTo(201);
    }

    /** Two PATCHes of different settings at once: both stand (each writes only what it names). */
    @Test
    @SuppressWarnings("unchecked")
    void patchesOfDifferentSettingsAtOnceBothStand(ApiClient api) throws Exception {
        ApiClient owner = api.forNewAccount("Busy Settings Co");
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(3)) {
            for (int round = 0; round < 8; round++) {
                int max = 3 + round % 7;
                String name = "Busy " + round;
                String policy = round % 2 == 0 ? "block_conversation" : "exclude_participant";
                List<String> roles = round % 2 == 0 ? List.of("owner", "admin") : List.of("owner");
                var start = new java.util.concurrent.CountDownLatch(1);
                var answers = List.of(
                        pool.submit(() -> { start.await(); return owner.patch("/v1/account", Map.of("settings", Map.of("maxConversationParticipants", max))).status(); }),
                        pool.submit(() -> { start.await(); return owner.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", policy))).status(); }),
                        pool.submit(() -> { start.await(); return owner.patch("/v1/account", Map.of("name", name, "settings", Map.of("groupChatRoles", roles))).status(); }));
                start.countDown();
                for (var answer : answers) assertThat(answer.get()).isEqualTo(200);
                var account = owner.get("/v1/account").jsonObject();
                var settings = (Map<String, Object>) account.get("settings");
                assertThat(account).as("round " + round).containsEntry("name", name);
                assertThat(settings).as("round " + round).containsEntry("maxConversationParticipants", max)
                        .containsEntry("conversationOptOutPolicy", policy);
                assertThat((List<Object>) settings.get("groupChatRoles")).as("round " + round).containsExactlyInAnyOrderElementsOf(roles);
            }
        }
        // a PATCH of nothing changes nothing and answers the account
        var none = owner.patch("/v1/account", Map.of());
        assertThat(none.status()).isEqualTo(200);
        assertThat(none.jsonObject()).containsEntry("name", "Busy 7");
    }

    @Test
    void keysAreShownOnceListedWithoutSecretsAndRevokedAtOnce(ApiClient api) {
        ApiClient owner = api.forNewAccount("Keys Co");
        var created = owner.post("/v1/api-keys", Map.of("name", "ci", "role", "admin"));
        assertThat(created.status()).isEqualTo(201);
        String secret = (String) created.jsonObject().get("key");
        String keyId = (String) created.jsonObject().get("id");
        assertThat(secret).startsWith("gmk_");
        assertThat(keyId).startsWith("key_");

        var list = owner.get("/v1/api-keys");
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.body()).contains(keyId).doesNotContain(secret);

        ApiClient admin = owner.withKey(secret);
        assertThat(admin.get("/v1/account").status()).isEqualTo(200);
        assertThat(owner.delete("/v1/api-keys/" + keyId).status()).isEqualTo(204);
        var revoked = admin.get("/v1/account");
        assertThat(revoked.status()).isEqualTo(403);
        assertThat(revoked.body()).isEqualTo("{\"message\":\"Forbidden\"}");
        assertThat(owner.delete("/v1/api-keys/" + keyId).status()).isEqualTo(404);
    }

    @Test
    void rolesAreEnforced(ApiClient api) {
        ApiClient owner = api.forNewAccount("Roles Co");
        ApiClient admin = owner.withKey((String) owner.post("/v1/api-keys", Map.of("name", "a", "role", "admin")).jsonObject().get("key"));
        ApiClient member = owner.withKey((String) owner.post("/v1/api-keys", Map.of("name", "m", "role", "member")).jsonObject().get("key"));

        var adminKeys = admin.post("/v1/api-keys", Map.of("name", "x", "role", "owner"));
        assertThat(adminKeys.status()).isEqualTo(403);
        assertThat(adminKeys.errorCode()).isEqualTo("forbidden");
        assertThat(admin.patch("/v1/account", Map.of("name", "by admin")).status()).isEqualTo(200);

        assertThat(member.get("/v1/account").status()).isEqualTo(200);
        assertThat(member.patch("/v1/account", Map.of("name", "by member")).errorCode()).isEqualTo("forbidden");
        assertThat(member.get("/v1/api-keys").status()).isEqualTo(403);
        assertThat(member.post("/v1/groups", Map.of("name", "members may manage groups")).status()).isEqualTo(201);
    }

    /** An operator's own short LOCAL_API_KEY works as the default account's owner key, and is never shown back. */
    @Test
    @SuppressWarnings("unchecked")
    void aShortLocalApiKeyChosenByTheOperatorIsTheDefaultAccountsOwnerKey(ApiClient api, LocalRuntime runtime) {
        String key = "test-key-" + System.nanoTime() % 1000;
        new AccountService(runtime.wiring()).bootstrapDefaultAccount("Local", key);
        ApiClient owner = api.withKey(key);
        var account = owner.get("/v1/account");
        assertThat(account.status()).as(account.body()).isEqualTo(200);
        assertThat(account.jsonObject()).containsEntry("id", "acct_default");
        var keys = (List<Map<String, Object>>) owner.get("/v1/api-keys?limit=100").jsonObject().get("items");
        assertThat(keys).extracting(k -> k.get("last4")).doesNotContain(key.substring(key.length() - 4));
        assertThat(api.withKey("test-key-x").get("/v1/account").status()).isEqualTo(403);
    }

    /** A member key given as LOCAL_API_KEY is refused: the start-up key is the owner's, and no key is revoked for it. */
    @Test
    void aMemberKeyGivenAsTheLocalApiKeyIsRefusedAndRevokesNothing(ApiClient api, LocalRuntime runtime) {
        var service = new AccountService(runtime.wiring());
        String ownerKey = "test-owner-" + System.nanoTime();
        service.bootstrapDefaultAccount("Local", ownerKey);
        ApiClient owner = api.withKey(ownerKey);
        var member = owner.post("/v1/api-keys", Map.of("name", "helper", "role", "member"));
        assertThat(member.status()).as(member.body()).isEqualTo(201);
        String memberKey = (String) member.jsonObject().get("key");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.bootstrapDefaultAccount("Local", memberKey))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("member").hasMessageContaining("owner key")
                .hasMessageNotContaining(memberKey);
        assertThat(owner.get("/v1/api-keys").status()).as("the owner key is not revoked").isEqualTo(200);
        assertThat(api.withKey(memberKey).get("/v1/account").status()).isEqualTo(200);
    }

    /**
     * A leaked owner key's requests under way when the owner revokes it change nothing: it mints no key, revokes no
     * other key, creates, re-points or deletes no webhook, deletes no line (each answered 403). Before, they committed after the revocation's 204.
     */
    @Test
    @SuppressWarnings("unchecked")
    void requestsOfAKeyRevokedWhileTheyRunChangeNothing(ApiClient api, LocalRuntime runtime) {
        ApiClient owner = api.forNewAccount("Leaked Key Co");
        String accountId = (String) owner.get("/v1/account").jsonObject().get("id");
        var leaked = owner.post("/v1/api-keys", Map.of("name", "leaked", "role", "owner"));
        var other = owner.post("/v1/api-keys", Map.of("name", "other owner", "role", "owner"));
        assertThat(List.of(leaked.status(), other.status())).containsOnly(201);
        String leakedId = (String) leaked.jsonObject().get("id");
        String otherId = (String) other.jsonObject().get("id");
        var hook = owner.post("/v1/webhooks", Map.of("url", "https://example.com/hooks"));
        assertThat(hook.status()).as(hook.body()).isEqualTo(201);
        String hookId = (String) hook.jsonObject().get("id");
        // answers that show a secret are kept by no cache on the way
        var rotated = owner.post("/v1/webhooks/" + hookId + "/rotate-secret", Map.of());
        assertThat(rotated.status()).as(rotated.body()).isEqualTo(200);
        for (var shown : List.of(leaked, hook, rotated)) assertThat(shown.header("cache-control")).isEqualTo("no-store");
        // a replay under an Idempotency-Key shows the webhook's secret again: not kept by a cache either
        var made = owner.withHeader("Idempotency-Key", "hook-replay").post("/v1/webhooks", Map.of("url", "https://example.com/other"));
        var replayed = owner.withHeader("Idempotency-Key", "hook-replay").post("/v1/webhooks", Map.of("url", "https://example.com/other"));
        assertThat(replayed.header("idempotent-replayed")).isEqualTo("true");
        assertThat(List.of(made.header("cache-control"), replayed.header("cache-control"))).containsOnly("no-store");
        assertThat(owner.delete("/v1/webhooks/" + made.jsonObject().get("id")).status()).isEqualTo(204);
        assertThat(owner.get("/v1/api-keys").header("cache-control")).isNull();
        var caller = new groupmsg.platform.api.Caller(accountId, leakedId, groupmsg.platform.api.Role.OWNER);
        var plain = new AccountService(runtime.wiring());
        Runnable revokeLeaked = () -> plain.revokeKey(accountId, leakedId, null);
        // each request's write comes just after the owner revoked the key it came with
        var revokingFirst = runtime.wiringWith(JustBefore.transaction(tx -> true, revokeLeaked));

        var minting = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> new AccountService(revokingFirst).createKey(accountId, runtime.wiring().ids().next("key_"), "minted",
                        groupmsg.platform.api.Role.OWNER, caller));
        assertThat(minting.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        assertThat(minting.getMessage()).contains("revoked");
        var keys = (List<Map<String, Object>>) owner.get("/v1/api-keys?limit=100").jsonObject().get("items");
        assertThat(keys).extracting(k -> k.get("name")).containsExactlyInAnyOrder("owner", "other owner");

        // the same for a revocation, a webhook's creation and its change (the key is revoked already now)
        var revoking = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> plain.revokeKey(accountId, otherId, caller));
        assertThat(revoking.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        assertThat(owner.withKey((String) other.jsonObject().get("key")).get("/v1/account").status()).isEqualTo(200);
        var webhooks = new groupmsg.integrations.WebhookService(runtime.wiring());
        var creating = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> webhooks.create(caller, "https://attacker.example/x", List.of("reply.received"), null,
                        runtime.wiring().ids().next("")));
        assertThat(creating.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        var repointing = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> webhooks.update(caller, hookId, "https://attacker.example/y", null, null, null));
        assertThat(repointing.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        String secret = webhooks.get(accountId, hookId).secret();
        var rotating = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> webhooks.rotateSecret(caller, hookId, 0, "rotation-by-a-revoked-key"));
        assertThat(rotating.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        assertThat(webhooks.get(accountId, hookId).secret()).as("no secret handed to the revoked key").isEqualTo(secret);
        var deleting = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> webhooks.delete(caller, hookId));
        assertThat(deleting.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        var hooks = (List<Map<String, Object>>) owner.get("/v1/webhooks").jsonObject().get("items");
        assertThat(hooks).singleElement().satisfies(h -> assertThat(h).containsEntry("url", "https://example.com/hooks"));
        // nor does it delete a line (forced: every message of it not sent yet would fail)
        var line = owner.post("/v1/lines", Map.of("phone", MessagesE2eTest.linePhone(), "type", "long_code"));
        assertThat(line.status()).as(line.body()).isEqualTo(201);
        String lineId = (String) line.jsonObject().get("id");
        var deletingLine = org.assertj.core.api.Assertions.catchThrowableOfType(groupmsg.platform.api.ApiException.class,
                () -> new groupmsg.lines.LineService(runtime.wiring()).delete(caller, lineId, true));
        assertThat(deletingLine.code()).isEqualTo(groupmsg.platform.api.ErrorCode.FORBIDDEN);
        var kept = owner.get("/v1/lines/" + lineId);
        assertThat(kept.status()).isEqualTo(200);
        assertThat(kept.jsonObject()).doesNotContainKey("deletedAt");

        // a key that is still the account's does all of it
        var live = new groupmsg.platform.api.Caller(accountId, otherId, groupmsg.platform.api.Role.OWNER);
        assertThat(webhooks.update(live, hookId, "https://example.com/hooks2", null, null, null).url()).isEqualTo("https://example.com/hooks2");
        assertThat(plain.createKey(accountId, runtime.wiring().ids().next("key_"), "made", groupmsg.platform.api.Role.MEMBER, live).secret()).isNotBlank();
    }

    /** An account has at most 100 API keys at once (a leaked owner key could make millions); a revocation makes room. */
    @Test
    void anAccountHasAtMostAHundredKeys(ApiClient api) {
        ApiClient owner = api.forNewAccount("Many Keys Co");
        String last = null;
        for (int i = 2; i <= 100; i++) {
            var made = owner.post("/v1/api-keys", Map.of("name", "key " + i, "role", "member"));
            assertThat(made.status()).as(i + ": " + made.body()).isEqualTo(201);
            last = (String) made.jsonObject().get("id");
        }
        var refused = owner.post("/v1/api-keys", Map.of("name", "one too many", "role", "member"));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.body()).contains("100 API keys");
        assertThat(owner.get("/v1/api-keys?limit=100").jsonObject().get("nextCursor")).isNull();

        assertThat(owner.delete("/v1/api-keys/" + last).status()).isEqualTo(204);
        assertThat(owner.post("/v1/api-keys", Map.of("name", "room again", "role", "member")).status()).isEqualTo(201);
        assertThat(owner.post("/v1/api-keys", Map.of("name", "one too many", "role", "member")).status()).isEqualTo(409);
    }

    /** An account from before the key count (no count item) is counted at its next key: its keys then count too. */
    @Test
    @SuppressWarnings("unchecked")
    void anAccountFromBeforeTheKeyCountIsCountedAtItsNextKey(ApiClient api, LocalRuntime runtime) {
        ApiClient owner = api.forNewAccount("Older Keys Co");
        String accountId = (String) owner.get("/v1/account").jsonObject().get("id");
        for (int i = 2; i <= 60; i++) {
            assertThat(owner.post("/v1/api-keys", Map.of("name", "old " + i, "role", "member")).status()).isEqualTo(201);
        }
        // as an account created before the count kept none
        runtime.wiring().dynamo().deleteItem(b -> b.tableName(runtime.wiring().config().table(groupmsg.platform.schema.Tables.CORE))
                .key(Map.of("pk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("ACCT#" + accountId),
                        "sk", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("KEY-COUNT"))));
        // its first change a revocation (which moves the count too): 59 keys left, counted
        var keys = (List<Map<String, Object>>) owner.get("/v1/api-keys?limit=100").jsonObject().get("items");
        assertThat(owner.delete("/v1/api-keys/" + keys.getLast().get("id")).status()).isEqualTo(204);
        for (int i = 60; i <= 100; i++) {
            var made = owner.post("/v1/api-keys", Map.of("name", "new " + i, "role", "member"));
            assertThat(made.status()).as(i + ": " + made.body()).isEqualTo(201);
        }
        assertThat(owner.post("/v1/api-keys", Map.of("name", "one too many", "role", "member")).status()).isEqualTo(409);
        assertThat((List<?>) owner.get("/v1/api-keys?limit=100").jsonObject().get("items")).hasSize(100);
    }

    /** A key may revoke itself while another owner key remains: its own delete is its caller check. */
    @Test
    @SuppressWarnings("unchecked")
    void aKeyRevokesItself(ApiClient api) {
        ApiClient owner = api.forNewAccount("Self Revoking Co");
        var second = owner.post("/v1/api-keys", Map.of("name", "second owner", "role", "owner"));
        assertThat(second.status()).as(second.body()).isEqualTo(201);
        ApiClient self = owner.withKey((String) second.jsonObject().get("key"));
        var revoked = self.delete("/v1/api-keys/" + second.jsonObject().get("id"));
        assertThat(revoked.status()).as(revoked.body()).isEqualTo(204);
        assertThat(self.get("/v1/account").status()).isEqualTo(403);
        assertThat((List<Map<String, Object>>) owner.get("/v1/api-keys").jsonObject().get("items"))
                .extracting(k -> k.get("name")).containsExactly("owner");
    }

    @Test
    void theLastOwnerKeyCannotBeRevoked(ApiClient api) {
        ApiClient owner = api.forNewAccount("Lonely Co");
        var keys = owner.get("/v1/api-keys").jsonObject();
        @SuppressWarnings("unchecked") var items = (List<Map<String, Object>>) keys.get("items");
        assertThat(items).hasSize(1);
        var refused = owner.delete("/v1/api-keys/" + items.get(0).get("id"));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(owner.get("/v1/account").status()).isEqualTo(200);
    }

    @Test
    @SuppressWarnings("unchecked")
    void twoOwnerKeysRevokingEachOtherSideBySideLeaveOneOwner(ApiClient api) throws Exception {
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            for (int round = 0; round < 12; round++) {
                ApiClient first = api.forNewAccount("Revoke Race Co " + round);
                String firstId = (String) ((List<Map<String, Object>>) first.get("/v1/api-keys").jsonObject().get("items")).getFirst().get("id");
                var created = first.post("/v1/api-keys", Map.of("name", "second owner", "role", "owner")).jsonObject();
                ApiClient second = first.withKey((String) created.get("key"));
                String secondId = (String) created.get("id");

                var a = pool.submit(() -> first.delete("/v1/api-keys/" + secondId).status());
                var b = pool.submit(() -> second.delete("/v1/api-keys/" + firstId).status());
                List<Integer> statuses = List.of(a.get(), b.get());

                // one of them revoked the other; the other was refused (409 as the last owner, or 403 once revoked)
                assertThat(statuses).as("round " + round).containsOnlyOnce(204);
                var owners = ((List<Map<String, Object>>) (first.get("/v1/account").status() == 200 ? first : second)
                        .get("/v1/api-keys").jsonObject().get("items")).stream().filter(k -> "owner".equals(k.get("role"))).toList();
                assertThat(owners).as("round " + round).hasSize(1);
            }
        }
    }

    @Test
    void authFailuresUseApiGatewaysOwnBodies(ApiClient api) {
        var none = api.withoutKey().get("/v1/groups");
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.body()).isEqualTo("{\"message\":\"Unauthorized\"}");
        var unknown = api.withKey("gmk_this_key_does_not_exist_at_all_000000000").get("/v1/groups");
        assertThat(unknown.status()).isEqualTo(403);
        assertThat(unknown.body()).isEqualTo("{\"message\":\"Forbidden\"}");
        assertThat(api.withKey("x").get("/v1/groups").status()).isEqualTo(403);
    }

    @Test
    void idempotentKeyCreationReplaysWithoutTheSecret(ApiClient api) {
        ApiClient owner = api.forNewAccount("Idem Keys Co").withHeader("Idempotency-Key", "create-ci-key");
        var first = owner.post("/v1/api-keys", Map.of("name", "ci", "role", "member"));
        var replay = owner.post("/v1/api-keys", Map.of("name", "ci", "role", "member"));
        assertThat(first.status()).isEqualTo(201);
        assertThat(replay.status()).isEqualTo(201);
        assertThat(replay.jsonObject().get("id")).isEqualTo(first.jsonObject().get("id"));
        assertThat(replay.jsonObject().get("key")).isNull();
        assertThat(owner.get("/v1/api-keys").body().split("key_").length - 1).isEqualTo(2);
    }
}
