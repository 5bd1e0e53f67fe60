package groupmsg.accounts;

import groupmsg.groups.PhoneNumbers;
import groupmsg.integrations.Webhook;
import groupmsg.integrations.WebhookService;
import groupmsg.integrations.WebhookTargets;
import groupmsg.inbound.Keywords;
import groupmsg.lines.Line;
import groupmsg.lines.LineKeyword;
import groupmsg.lines.LineKeywordService;
import groupmsg.lines.LineRules;
import groupmsg.lines.LineService;
import groupmsg.lines.LineType;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.HttpApiHandler;
import groupmsg.platform.api.IdempotencyStore;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.api.Paging;
import groupmsg.platform.api.Role;
import groupmsg.platform.api.Text;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Cursor;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;
import groupmsg.usage.Usage;
import groupmsg.usage.UsageStore;
import groupmsg.usage.UsageService;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Account settings, API keys, lines and usage ({@code /v1/account}, {@code /v1/api-keys}, {@code /v1/lines}, {@code /v1/usage}). */
public final class AdminApiHandler extends HttpApiHandler {
    private final AccountService accounts;
    private final LineService lines;
    private final UsageService usage;
    /** Built on first use, as the webhooks' service. */
    private final Lazy<LineKeywordService> keywords;
    /** Built on first use: most of this function's requests are not about webhooks. */
    private final Lazy<WebhookService> webhooks;
    private final Ids ids;
    private final java.time.Clock clock;

    public AdminApiHandler() {
        this(Wiring.fromEnvironment());
    }

    public AdminApiHandler(Wiring wiring) {
        super(Handlers.ADMIN_API.name(),
                new IdempotencyStore(wiring.dynamo(), wiring.config().table(Tables.CORE), wiring.clock()), wiring);
        priming().also(PhoneNumbers::prime); // its requests parse phone numbers; the priming event does not
        this.accounts = new AccountService(wiring);
        this.lines = new LineService(wiring);
        this.usage = new UsageService(wiring, lines);
        this.ids = wiring.ids();
        this.clock = wiring.clock();
        on("GET /v1/account", this::getAccount);
        on("PATCH /v1/account", this::patchAccount);
        on("POST /v1/api-keys", this::createKey, AdminApiHandler::withoutSecret);
        on("GET /v1/api-keys", this::listKeys);
        on("DELETE /v1/api-keys/{id}", this::revokeKey);
        on("POST /v1/lines", this::createLine);
        on("GET /v1/lines", this::listLines);
        on("GET /v1/lines/{id}", r -> ApiResponse.ok(lineJson(lines.get(r.accountId(), r.path("id")))));
        on("PATCH /v1/lines/{id}", this::updateLine);
        on("DELETE /v1/lines/{id}", r -> {
            lines.delete(r.requireCaller(), r.path("id"), Boolean.TRUE.equals(r.queryTrueOrFalse("force")));
            return ApiResponse.noContent();
        });
        on("GET /v1/usage", this::getUsage);
        this.keywords = new Lazy<>(() -> new LineKeywordService(wiring));
        on("POST /v1/lines/{id}/keywords", this::createKeyword);
        on("GET /v1/lines/{id}/keywords", this::listKeywords);
        on("GET /v1/lines/{id}/keywords/{keyword}", r -> ApiResponse.ok(keywordView(r.accountId(),
                keywords.get().get(r.accountId(), r.path("id"), r.path("keyword")))));
        on("PATCH /v1/lines/{id}/keywords/{keyword}", this::updateKeyword);
        on("DELETE /v1/lines/{id}/keywords/{keyword}", r -> {
            keywords.get().delete(r.accountId(), r.path("id"), r.path("keyword"));
            return ApiResponse.noContent();
        });
        this.webhooks = new Lazy<>(() -> new WebhookService(wiring));
        onShowingSecret("POST /v1/webhooks", this::createWebhook);
        on("GET /v1/webhooks", this::listWebhooks);
        on("GET /v1/webhooks/{id}", r -> ApiResponse.ok(webhookJson(webhooks.get().get(r.accountId(), r.path("id")), false)));
        on("PATCH /v1/webhooks/{id}", this::updateWebhook);
        on("POST /v1/webhooks/{id}/test", r -> {
            r.optionalJsonBody().allowOnly().validate(); // it takes nothing: a field a client expected to choose with is said so
            var outcome = webhooks.get().test(r.accountId(), r.path("id"));
            if (outcome instanceof WebhookService.TooManyTests tooMany) {
                return ApiResponse.error(ErrorCode.RATE_LIMITED, "the account sent " + WebhookService.MAX_TESTS_PER_MINUTE
                        + " webhook tests this minute, the most it may; retry in " + tooMany.retryAfterSeconds() + " s", List.of())
                        .withHeader("retry-after", String.valueOf(tooMany.retryAfterSeconds()));
            }
            var attempt = ((WebhookService.Tested) outcome).attempt();
            var json = new LinkedHashMap<String, Object>();
            json.put("delivered", attempt.failure() == null);
            json.put("status", attempt.status() == 0 ? null : attempt.status());
            json.put("failure", attempt.failure());
            json.put("durationMs", attempt.millis());
            return ApiResponse.ok(json);
        });
        onShowingSecret("POST /v1/webhooks/{id}/rotate-secret", this::rotateWebhookSecret);
        on("DELETE /v1/webhooks/{id}", r -> {
            webhooks.get().delete(r.requireCaller(), r.path("id"));
            return ApiResponse.noContent();
        });
    }

    /**
     * {@code POST /v1/webhooks {url, events?, description?}} (an extension of API.md): the account's events of those
     * types (by default reply.received and opt_out.changed) are POSTed to {@code url}, signed with the {@code secret} this answer shows (and a
     * replay of it under its Idempotency-Key); listing and getting show everything else.
     */
    private ApiResponse createWebhook(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("url", "events", "description").nullsAsAbsent();
        String url = body.requiredString("url", 1, WebhookTargets.MAX_URL);
        if (url != null) webhooks.get().targets().problem(url).ifPresent(p -> body.problem("url", p));
        List<String> events = webhookEvents(body).orElse(WebhookService.DEFAULT_EVENT_TYPES);
        String description = body.optionalString("description", 0, 200).filter(d -> !d.isEmpty()).orElse(null);
        body.check("description", description, Text::nameShapeProblem);
        body.validate();
        var webhook = webhooks.get().create(request.requireCaller(), url, events.stream().distinct().toList(), description,
                request.creationUlid(ids, u -> webhooks.get().existsOrDeleted(request.accountId(), Webhook.ID_PREFIX + u)));
        return secretShown(ApiResponse.created(webhookJson(webhook, true)));
    }

    /**
     * {@code PATCH /v1/webhooks/{id} {url?, events?, description?, enabled?}}: what is given changes (the secret stays:
     * see rotate-secret).
     */
    private ApiResponse updateWebhook(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("url", "events", "description", "enabled", "secret");
        if (body.has("secret")) body.problem("secret", "cannot be set (POST /v1/webhooks/{id}/rotate-secret makes a new one)");
        String url = body.optionalString("url", 1, WebhookTargets.MAX_URL).orElse(null);
        if (url != null) webhooks.get().targets().problem(url).ifPresent(p -> body.problem("url", p));
        List<String> events = webhookEvents(body).orElse(null);
        String description = body.clearableString("description", 200).orElse(null); // null or "" removes it
        body.check("description", description == null || description.isEmpty() ? null : description, Text::nameShapeProblem);
        Boolean enabled = body.optionalBoolean("enabled").orElse(null);
        if (url == null && events == null && description == null && enabled == null && body.valid()) {
            body.problem("url", "nothing to change: give url, events, description and/or enabled");
        }
        body.validate();
        return ApiResponse.ok(webhookJson(webhooks.get().update(request.requireCaller(), request.path("id"), url,
                events == null ? null : events.stream().distinct().toList(), description, enabled), false));
    }

    /**
     * {@code POST /v1/webhooks/{id}/rotate-secret {previousSecretExpiresInHours?}} (body optional; default 24, 0..168):
     * a new secret, shown in the answer as at creation; the old one still signs deliveries until it expires.
     */
    private ApiResponse rotateWebhookSecret(ApiRequest request) {
        JsonBody body = request.optionalJsonBody().allowOnly("previousSecretExpiresInHours");
        long hours = body.optionalInteger("previousSecretExpiresInHours", 0, WebhookService.MAX_PREVIOUS_SECRET_HOURS)
                .orElse(24L);
        body.validate();
        String id = request.path("id");
        String rotation = request.creationUlid(ids, u -> webhooks.get().rotatedUnder(request.accountId(), id, u));
        return secretShown(ApiResponse.ok(webhookJson(webhooks.get().rotateSecret(request.requireCaller(), id, (int) hours, rotation), true)));
    }

    /** A webhook body's {@code events}: 1.. of the known types, each problem recorded. */
    private static Optional<List<String>> webhookEvents(JsonBody body) {
        var events = body.optionalStringList("events", 1, 10, 50);
        for (String e : events.orElse(List.of())) {
            if (WebhookService.GROUP_MESSAGE_EVENTS.contains(e)) {
                body.problem("events", e + " is not forwarded to integrations (group messages go to the notifications"
                        + " topic only); known: " + String.join(", ", WebhookService.EVENT_TYPES));
            } else if (!WebhookService.EVENT_TYPES.contains(e)) body.problem("events", "unknown event type " + e + " (known: "
                    + String.join(", ", WebhookService.EVENT_TYPES) + ")");
        }
        return events;
    }

    private Map<String, Object> webhookJson(Webhook w, boolean withSecret) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", w.id());
        json.put("url", w.url());
        json.put("events", w.events().stream().filter(WebhookService.EVENT_TYPES::contains).toList());
        json.put("description", w.description());
        if (withSecret) json.put("secret", w.secret());
        json.put("createdAt", Timestamps.format(w.createdAt()));
        json.put("lastDeliveredAt", w.lastDeliveredAt() == null ? null : Timestamps.format(w.lastDeliveredAt()));
        json.put("lastFailedAt", w.lastFailedAt() == null ? null : Timestamps.format(w.lastFailedAt()));
        json.put("lastFailure", w.lastFailure());
        json.put("enabled", w.enabled());
        json.put("disabledAt", w.disabledAt() == null ? null : Timestamps.format(w.disabledAt()));
        json.put("disabledReason", w.disabledReason());
        json.put("failingSince", w.failingSince() == null ? null : Timestamps.format(w.failingSince()));
        long now = clock.millis();
        json.put("previousSecretExpiresAt", w.previousSecretLive(now) ? Timestamps.format(w.previousSecretExpiresAt()) : null);
        return json;
    }

    private ApiResponse getAccount(ApiRequest request) {
        return ApiResponse.ok(accountJson(accounts.account(request.accountId())));
    }

    private ApiResponse patchAccount(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "settings");
        // kept as group names are: NFC, no invisible characters at its ends
        Optional<String> name = Optional.ofNullable(body.name("name", body.optionalString("name", 1, 100).orElse(null), 100));
        Optional<JsonBody> settingsBody = body.optionalObject("settings");
        body.validate();
        AccountSettings.Change settings = settingsBody.map(AdminApiHandler::settingsChange)
                .orElse(new AccountSettings.Change(null, null, null, null));
        body.validate();
        return ApiResponse.ok(accountJson(accounts.updateAccount(request.accountId(), name, settings)));
    }

    /** The settings a PATCH gives, validated; those it does not give are null (left as they are). */
    private static AccountSettings.Change settingsChange(JsonBody body) {
        body.allowOnly("groupChatRoles", "maxConversationParticipants", "conversationOptOutPolicy", "groupMessageAnswers");
        Set<Role> roles = null;
        // a role given twice is the role (a set): "must have 0..3 items" said nothing of what was wrong
        var roleNames = body.optionalStringList("groupChatRoles", 0, 10, 20);
        if (roleNames.isPresent()) {
            Set<Role> parsed = EnumSet.noneOf(Role.class);
            for (String name : roleNames.get()) {
                Role.fromWire(name).ifPresentOrElse(parsed::add,
                        () -> body.problem("groupChatRoles", "unknown role '" + name + "' (owner, admin, member)"));
            }
            roles = parsed;
        }
        Integer max = body.optionalInteger("maxConversationParticipants", AccountSettings.MIN_PARTICIPANTS,
                AccountSettings.MAX_PARTICIPANTS).map(Long::intValue).orElse(null);
        String policy = body.optionalString("conversationOptOutPolicy", 1, 40).orElse(null);
        if (policy != null && !AccountSettings.OPT_OUT_POLICIES.contains(policy)) {
            body.problem("conversationOptOutPolicy", "must be one of " + AccountSettings.OPT_OUT_POLICIES);
        }
        String answers = body.optionalString("groupMessageAnswers", 1, 40).orElse(null);
        if (answers != null && !AccountSettings.GROUP_MESSAGE_ANSWERS.contains(answers)) {
            body.problem("groupMessageAnswers", "must be one of " + AccountSettings.GROUP_MESSAGE_ANSWERS);
        }
        return new AccountSettings.Change(roles, max, policy, answers);
    }

    private ApiResponse createKey(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "role").nullsAsAbsent();
        String name = body.name("name", body.requiredString("name", 1, 100), 100);
        // the local runtime replaces the keys of these names at each start: one made through the API would go too
        if (name != null && AccountService.startUpKeyName(name)) {
            body.problem("name", "is reserved for the local runtime's start-up owner key; choose another");
        }
        String roleName = body.requiredString("role", 1, 20);
        Optional<Role> role = Role.fromWire(roleName);
        if (roleName != null && role.isEmpty()) body.problem("role", "must be one of owner, admin, member");
        body.validate();
        String keyId = ApiKeyView.ID_PREFIX + request.creationUlid(ids,
                u -> accounts.keyExistsOrRevoked(request.accountId(), ApiKeyView.ID_PREFIX + u));
        var created = accounts.createKey(request.accountId(), keyId, name, role.orElseThrow(), request.requireCaller());
        Map<String, Object> json = keyJson(created.key());
        json.put("key", created.secret());
        return secretShown(ApiResponse.created(json));
    }

    /** An answer that shows a secret: no cache or proxy on the way may keep it. */
    private static ApiResponse secretShown(ApiResponse response) {
        return response.withHeader("cache-control", "no-store");
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

    /**
     * {@code GET /v1/webhooks?limit=&cursor=}: oldest first. At most {@link WebhookService#MAX_PER_ACCOUNT} exist, so
     * they are read at once and paged here; the cursor names the last one shown.
     */
    private ApiResponse listWebhooks(ApiRequest request) {
        Paging paging = Paging.from(request);
        String partition = AccountService.accountPartition(request.accountId());
        var after = Cursor.decode(paging.cursor(), "pk", partition);
        String afterId = after == null ? null : after.get("sk").s();
        // another list's cursor of this account (a group's sk) would skip or repeat webhooks without a word
        if (afterId != null && !afterId.startsWith(Webhook.ID_PREFIX)) throw ApiException.invalid("cursor is not valid for this list");
        List<Webhook> all = webhooks.get().list(request.accountId());
        List<Webhook> rest = all.stream().filter(w -> afterId == null || w.id().compareTo(afterId) > 0).toList();
        List<Webhook> page = rest.subList(0, Math.min(paging.limit(), rest.size()));
        String next = page.size() < rest.size() ? Cursor.encode(Map.of("pk", AttributeValue.fromS(partition),
                "sk", AttributeValue.fromS(page.getLast().id()))) : null;
        return ApiResponse.ok(ApiResponse.page(page.stream().map(w -> (Object) webhookJson(w, false)).toList(), next));
    }

    private ApiResponse revokeKey(ApiRequest request) {
        String keyId = request.path("id");
        if (!keyId.startsWith("key_")) throw ApiException.notFound("API key");
        accounts.revokeKey(request.accountId(), keyId, request.requireCaller());
        return ApiResponse.noContent();
    }

    private ApiResponse createLine(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("phone", "country", "type", "groupMessaging", "mps",
                "optOutReply", "optInReply", "helpReply", "optOutNotice").nullsAsAbsent();
        String phone = body.requiredString("phone", 1, 64);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        String typeName = body.requiredString("type", 1, 20);
        Optional<LineType> type = LineType.fromWire(typeName);
        if (typeName != null && type.isEmpty()) body.problem("type", "must be one of long_code, toll_free, short_code");
        boolean groupMessaging = body.optionalBoolean("groupMessaging").orElse(false);
        Double mps = mps(body);
        Replies replies = replies(body);
        // an extension: how to opt out, added at the end of the line's group messages
        String optOutNotice = body.optionalText("optOutNotice", LineRules.MAX_OPT_OUT_NOTICE_LENGTH).orElse(null);
        body.check("optOutNotice", optOutNotice, LineRules::optOutNoticeProblem);
        body.validate();
        // a rerun under an Idempotency-Key after a run that stored the line (its answer lost) answers that line
        String ulid = request.creationUlid(ids, u -> lines.createdBy(request.accountId(), u).isPresent());
        Line line = lines.create(request.accountId(), new LineService.NewLine(phone, country, type.orElseThrow(),
                groupMessaging, mps, replies.optOut(), replies.optIn(), replies.help(), optOutNotice), ulid);
        return ApiResponse.created(lineJson(line));
    }

    private ApiResponse listLines(ApiRequest request) {
        Paging paging = Paging.from(request, "groupMessaging", "type", "deleted");
        var start = Cursor.decode(paging.cursor(), "pk", LineService.accountPartition(request.accountId()));
        // extensions of API.md: only the lines that can (groupMessaging=true) or cannot do group messaging, or of a
        // type; deleted=true lists the deleted ones instead (kept for their history, with deletedAt)
        Boolean groupMessaging = request.queryTrueOrFalse("groupMessaging");
        LineType type = request.query("type").filter(v -> !v.isBlank()).map(v -> LineType.fromWire(v)
                .orElseThrow(() -> ApiException.invalid("type must be long_code, toll_free or short_code"))).orElse(null);
        boolean deleted = Boolean.TRUE.equals(request.queryTrueOrFalse("deleted"));
        var page = lines.list(request.accountId(), l -> l.deleted() == deleted
                && (groupMessaging == null || l.groupMessagingAllowed() == groupMessaging)
                && (type == null || l.type() == type), paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.lines().forEach(l -> items.add(lineJson(l)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    private ApiResponse updateLine(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("groupMessaging", "mps", "optOutReply", "optInReply",
                "helpReply", "optOutNotice", "phone", "country", "type");
        for (String immutable : List.of("phone", "country", "type")) {
            if (body.has(immutable)) body.problem(immutable, "cannot be changed (create a new line instead)");
        }
        Boolean groupMessaging = body.optionalBoolean("groupMessaging").orElse(null);
        Double mps = mps(body);
        // null puts a reply back to the default a new line gets
        Replies replies = new Replies(patchedReply(body, "optOutReply", LineRules.DEFAULT_OPT_OUT_REPLY),
                patchedReply(body, "optInReply", LineRules.DEFAULT_OPT_IN_REPLY),
                patchedReply(body, "helpReply", LineRules.DEFAULT_HELP_REPLY));
        String optOutNotice = body.clearableString("optOutNotice", LineRules.MAX_OPT_OUT_NOTICE_LENGTH).map(Text::stripInvisible)
                .orElse(null); // null or "" removes it
        body.check("optOutNotice", optOutNotice, LineRules::optOutNoticeProblem);
        body.validate();
        return ApiResponse.ok(lineJson(lines.update(request.accountId(), request.path("id"),
                new LineService.LineChanges(groupMessaging, mps, replies.optOut(), replies.optIn(), replies.help(),
                        optOutNotice))));
    }

    private static Double mps(JsonBody body) {
        Double mps = body.optionalNumber("mps", LineRules.MIN_MPS, LineRules.MAX_MPS).orElse(null);
        if (mps != null && !LineRules.validMps(mps)) body.problem("mps", LineService.MPS_PROBLEM);
        return mps;
    }

    /** A line's keyword replies as given; null where absent. */
    private record Replies(String optOut, String optIn, String help) {}

    private static Replies replies(JsonBody body) {
        return new Replies(reply(body, "optOutReply"), reply(body, "optInReply"), reply(body, "helpReply"));
    }

    private static String reply(JsonBody body, String name) {
        return body.optionalText(name, LineRules.MAX_REPLY_LENGTH).orElse(null);
    }

    /** A PATCH's reply: {@code fallback} (the default) for null, else as {@link #reply}. */
    private static String patchedReply(JsonBody body, String name, String fallback) {
        return body.has(name) && body.raw(name) == null ? fallback : reply(body, name);
    }

    private static List<Object> kindsJson(Map<String, UsageStore.Counts> byKind) {
        List<Object> kinds = new ArrayList<>();
        byKind.forEach((kind, c) -> {
            var k = new LinkedHashMap<String, Object>();
            k.put("kind", kind);
            k.put("messages", c.messages());
            k.put("segments", c.segments());
            k.put("mms", c.mms());
            kinds.add(k);
        });
        return kinds;
    }

    private ApiResponse getUsage(ApiRequest request) {
        // a filter it does not take (?lineId=, ?from=) would otherwise answer the whole account's current month
        request.onlyQuery("month");
        Usage result = usage.usage(request.accountId(), request.query("month").orElse(null));
        var json = new LinkedHashMap<String, Object>();
        json.put("month", result.month());
        json.put("messages", result.messages());
        json.put("segments", result.segments());
        json.put("mms", result.mms());
        // an extension of API.md: the same counters by kind of message (group, conversation, direct_reply,
        // keyword_reply, opt_in_reply, line_keyword_reply), as recorded since usage had kinds
        json.put("byKind", kindsJson(result.byKind()));
        List<Object> byLine = new ArrayList<>();
        for (var line : result.byLine()) {
            var l = new LinkedHashMap<String, Object>();
            l.put("lineId", line.lineId());
            l.put("phone", line.phone());
            l.put("messages", line.messages());
            l.put("segments", line.segments());
            l.put("mms", line.mms());
            l.put("byKind", kindsJson(line.byKind()));
            byLine.add(l);
        }
        json.put("byLine", byLine);
        return ApiResponse.ok(json);
    }

    /**
     * {@code POST /v1/lines/{id}/keywords {keyword, action: "join"|"leave", groupId, reply?}} (an extension of API.md):
     * a text of that word alone to the line joins its sender to the group (or takes them out), answered with
     * {@code reply} (null or absent: the default, which names the group).
     */
    private ApiResponse createKeyword(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("keyword", "action", "groupId", "reply");
        String keyword = body.requiredString("keyword", 1, 100);
        body.check("keyword", keyword, Keywords::lineKeywordProblem);
        LineKeyword.Action action = keywordAction(body, body.requiredString("action", 1, 20));
        String groupId = body.requiredString("groupId", 1, 100);
        String reply = keywordReply(body);
        body.validate();
        // a rerun under an Idempotency-Key after a run that stored the keyword (its answer lost) answers that keyword
        String creation = request.creationUlid(ids, u -> keywords.get().createdBy(request.accountId(), request.path("id"), u)
                .isPresent());
        var created = keywords.get().create(request.accountId(), request.path("id"), keyword,
                new LineKeywordService.KeywordInput(action, groupId, reply.equals(LineKeywordService.DEFAULT_REPLY) ? null : reply),
                creation);
        return ApiResponse.created(keywordView(request.accountId(), created)); // (a rerun's group may be gone since)
    }

    private ApiResponse listKeywords(ApiRequest request) {
        Paging paging = Paging.from(request);
        var start = Cursor.decode(paging.cursor(), "pk", LineKeywordService.listPartition(request.accountId()));
        var page = keywords.get().list(request.accountId(), request.path("id"), paging.limit(), start);
        List<Object> items = new ArrayList<>();
        var gone = keywords.get().groupsGone(request.accountId(), page.keywords());
        page.keywords().forEach(k -> items.add(keywordJson(k, gone.contains(k.groupId()))));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** {@code PATCH /v1/lines/{id}/keywords/{keyword} {action?, groupId?, reply?}}: the word itself stays. */
    private ApiResponse updateKeyword(ApiRequest request) {
        keywords.get().get(request.accountId(), request.path("id"), request.path("keyword")); // 404 before the body's 400
        JsonBody body = request.jsonBody().allowOnly("action", "groupId", "reply", "keyword");
        if (body.has("keyword")) body.problem("keyword", "cannot be changed (create the new keyword, delete this one)");
        LineKeyword.Action action = keywordAction(body, body.optionalString("action", 1, 20).orElse(null));
        String groupId = body.optionalString("groupId", 1, 100).orElse(null);
        String reply = body.has("reply") ? keywordReply(body) : null;
        if (action == null && groupId == null && reply == null && body.valid()) {
            body.problem("action", "nothing to change: give action, groupId and/or reply");
        }
        body.validate();
        var updated = keywords.get().update(request.accountId(), request.path("id"), request.path("keyword"),
                new LineKeywordService.KeywordInput(action, groupId, reply));
        return ApiResponse.ok(keywordView(request.accountId(), updated));
    }

    private static LineKeyword.Action keywordAction(JsonBody body, String typed) {
        if (typed == null) return null;
        var action = LineKeyword.Action.fromWire(typed);
        if (action.isEmpty()) body.problem("action", "must be join or leave");
        return action.orElse(null);
    }

    /** A keyword's own answer as given; {@link LineKeywordService#DEFAULT_REPLY} for none (absent or null; blank is a 400). */
    private static String keywordReply(JsonBody body) {
        if (body.raw("reply") == null) return LineKeywordService.DEFAULT_REPLY;
        return body.optionalText("reply", LineRules.MAX_REPLY_LENGTH).orElse(LineKeywordService.DEFAULT_REPLY);
    }

    /** A keyword as the API shows it, its group looked up ({@link #keywordJson}'s groupDeleted). */
    private Map<String, Object> keywordView(String accountId, LineKeyword k) {
        return keywordJson(k, keywords.get().groupsGone(accountId, List.of(k)).contains(k.groupId()));
    }

    /**
     * @param groupDeleted its group was deleted since it was set up (an extension): its texts do nothing, unanswered,
     *                     until it is given another group or deleted
     */
    private static Map<String, Object> keywordJson(LineKeyword k, boolean groupDeleted) {
        var json = new LinkedHashMap<String, Object>();
        json.put("lineId", k.lineId());
        json.put("keyword", k.keyword());
        json.put("action", k.action().wireName());
        json.put("groupId", k.groupId());
        json.put("groupDeleted", groupDeleted);
        json.put("reply", k.reply()); // null: the default, naming the group
        json.put("createdAt", Timestamps.format(k.createdAt()));
        json.put("updatedAt", Timestamps.format(k.updatedAt()));
        return json;
    }

    private static Map<String, Object> lineJson(Line line) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", line.id());
        json.put("phone", line.phone());
        json.put("type", line.type().wireName());
        // what the line can do: one stored with it on before the rule that its number cannot shows false
        json.put("groupMessaging", line.groupMessagingAllowed());
        json.put("mps", LineRules.mpsJson(line.mps()));
        json.put("optOutReply", line.optOutReply());
        json.put("optInReply", line.optInReply());
        json.put("helpReply", line.helpReply());
        json.put("optOutNotice", line.optOutNotice());
        json.put("createdAt", Timestamps.format(line.createdAt()));
        json.put("updatedAt", Timestamps.format(line.updatedAt()));
        if (line.deleted()) json.put("deletedAt", Timestamps.format(line.deletedAt()));
        return json;
    }

    private static Map<String, Object> accountJson(Account account) {
        var settings = new LinkedHashMap<String, Object>();
        settings.put("groupChatRoles", account.settings().groupChatRoles().stream().sorted().map(Role::wireName).toList());
        settings.put("maxConversationParticipants", account.settings().maxConversationParticipants());
        settings.put("conversationOptOutPolicy", account.settings().conversationOptOutPolicy());
        settings.put("groupMessageAnswers", account.settings().groupMessageAnswers());
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
