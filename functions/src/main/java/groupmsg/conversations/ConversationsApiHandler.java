package groupmsg.conversations;

import groupmsg.accounts.AccountSettings;
import groupmsg.carrier.OutboundMessage;
import groupmsg.groups.Group;
import groupmsg.groups.GroupService;
import groupmsg.groups.Member;
import groupmsg.groups.PhoneNumbers;
import groupmsg.messages.DeliveryList;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.HttpApiHandler;
import groupmsg.platform.api.IdempotencyStore;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.api.Text;
import groupmsg.platform.api.Paging;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.Cursor;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reply-all conversations ({@code /v1/conversations...}); see {@link ConversationService}. */
public final class ConversationsApiHandler extends HttpApiHandler {
    static final int MAX_BODY = OutboundMessage.MAX_BODY_CHARS;
    static final int MAX_MEDIA = OutboundMessage.MAX_MEDIA_URLS;
    static final int MAX_NAME = 100;

    private final ConversationService conversations;
    private final DeliveryList deliveryList;
    private final Ids ids;
    /** Built for the first conversation started from a group. */
    private final Lazy<GroupService> groups;

    public ConversationsApiHandler() {
        this(Wiring.fromEnvironment());
    }

    public ConversationsApiHandler(Wiring wiring) {
        super(Handlers.CONVERSATIONS_API.name(),
                new IdempotencyStore(wiring.dynamo(), wiring.config().table(Tables.CORE), wiring.clock(), wiring.ids()), wiring);
        this.groups = new Lazy<>(() -> new GroupService(wiring));
        this.ids = wiring.ids();
        priming().also(PhoneNumbers::prime); // its requests parse phone numbers; the priming event does not
        this.conversations = new ConversationService(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()));
        this.deliveryList = new DeliveryList(wiring);
        on("POST /v1/conversations", this::create);
        on("GET /v1/conversations", this::list);
        on("GET /v1/conversations/{id}", r -> ApiResponse.ok(json(conversations.get(r.accountId(), r.path("id")))));
        on("PATCH /v1/conversations/{id}", this::update);
        on("POST /v1/conversations/{id}/participants", r -> {
            conversations.changeParticipants(r.requireCaller(), r.path("id"));
            return ApiResponse.noContent();
        });
        on("PATCH /v1/conversations/{id}/participants/{phone}", this::renameParticipant);
        on("DELETE /v1/conversations/{id}/participants/{phone}", r -> {
            conversations.changeParticipants(r.requireCaller(), r.path("id"));
            return ApiResponse.noContent();
        });
        on("POST /v1/conversations/{id}/messages", this::send);
        on("GET /v1/conversations/{id}/messages", this::messages);
        on("GET /v1/conversations/{id}/messages/{messageId}", r -> {
            var page = conversations.message(r.accountId(), r.path("id"), r.path("messageId"));
            return ApiResponse.ok(json(page.messages().getFirst(), authorNames(page.conversation())));
        });
        on("GET /v1/conversations/{id}/messages/{messageId}/deliveries", this::deliveries);
    }

    /**
     * Who a thread message reached: one row per participant it was sent to (not its author, not those opted out
     * then), named as in the conversation, as {@code GET /v1/messages/{id}/deliveries} lists a group message's. Empty when it went to nobody (every
     * other participant opted out, or the conversation was blocked).
     */
    private ApiResponse deliveries(ApiRequest request) {
        var sentAs = conversations.deliveredAs(request.accountId(), request.path("id"), request.path("messageId"));
        // each row named as its participant is in the conversation (a copy's row keeps no name of its own)
        return deliveryList.respond(request, request.accountId(), sentAs.messageId(), sentAs.names()::get)
                .orElseGet(() -> ApiResponse.ok(ApiResponse.page(List.of(), null)));
    }

    private ApiResponse create(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("lineId", "name", "participants", "groupId", "country", "sender", "body",
                "mediaUrls").nullsAsAbsent();
        String lineId = body.requiredString("lineId", 1, 100);
        String name = body.name("name", body.optionalString("name", 1, MAX_NAME).orElse(null), MAX_NAME);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        // an extension of API.md: the participants are a (small) group's members now, under their names in it
        String groupId = body.optionalString("groupId", 1, 100).orElse(null);
        if (groupId != null && body.has("participants")) body.problem("groupId", "give participants or groupId, not both");
        List<Conversation.Participant> participants = groupId != null ? List.of() : participants(body, country);
        String sender = sender(body);
        String text = body.requiredText("body", MAX_BODY);
        List<String> media = body.optionalHttpsUrls("mediaUrls", MAX_MEDIA);
        body.check("body", text, OutboundMessage::tooLongToSend);
        body.validate();
        if (participants == null) { // too many to read: answered after the other fields, as the service answers a count
            throw conversations.tooManyParticipants(request.requireCaller(), ((List<?>) body.raw("participants")).size());
        }
        String ulid = request.creationUlid(ids, u -> conversations.exists(request.accountId(), Conversation.ID_PREFIX + u));
        // the group is read for a conversation not created yet: a retry of one whose first run created it is answered
        // with it (and its first message sent), even if the group was deleted or grew since
        if (groupId != null && !conversations.exists(request.accountId(), Conversation.ID_PREFIX + ulid)) {
            conversations.requireMayWrite(request.requireCaller()); // before the group is read: a 403, not its 400 or 409
            participants = groupParticipants(request, groupId);
        }
        var view = conversations.create(request.requireCaller(),
                new ConversationService.NewConversation(lineId, name, participants, text, media, sender), ulid);
        return ApiResponse.created(json(view));
    }

    /** How long a conversation from a group reads its member rows, within this function's 10 s. */
    private static final long GROUP_READ_MILLIS = 6_000;

    /**
     * The group's members now, with their names in it, as participants: a group of more than any account allows is
     * refused as such a list would be (the service words the count with the account's own maximum); an unknown group
     * is a 400, as an unknown line is.
     */
    private List<Conversation.Participant> groupParticipants(ApiRequest request, String groupId) {
        int enough = AccountSettings.MAX_PARTICIPANTS + 1;
        Group group = noSuchGroupIsInvalid(() -> groups.get().get(request.accountId(), groupId));
        // its count is exact (kept with every change of members): too many is refused without reading them
        if (group.memberCount() >= enough) throw conversations.tooManyParticipants(request.requireCaller(), (int) group.memberCount());
        // deleted while its members were read: the same 400
        List<Member> members = noSuchGroupIsInvalid(() -> groups.get().membersUpTo(request.accountId(), group, enough,
                GROUP_READ_MILLIS));
        if (members.size() > AccountSettings.MAX_PARTICIPANTS) {
            throw conversations.tooManyParticipants(request.requireCaller(), members.size());
        }
        return members.stream().map(m -> new Conversation.Participant(m.phone(), m.name())).toList();
    }

    /** What {@code read} answers; its 404 for the group a 400, as an unknown line is in a body. */
    private static <T> T noSuchGroupIsInvalid(java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (ApiException e) {
            if (e.code() == ErrorCode.NOT_FOUND) throw ApiException.invalid("groupId: no such group in this account");
            throw e;
        }
    }

    /**
     * Participants as numbers or {@code {phone, country?, name?}} (a national number's country: the entry's own, else
     * the request's {@code country}); each problem is reported with its index. Null for a list longer than any
     * account allows, which is not read: the service words that 400 with the account's own maximum.
     */
    private static List<Conversation.Participant> participants(JsonBody body, String country) {
        Object raw = body.raw("participants");
        if (raw == null) {
            body.problem("participants", "is required");
            return List.of();
        }
        if (!(raw instanceof List<?> list)) {
            body.problem("participants", "must be an array");
            return List.of();
        }
        if (list.size() > AccountSettings.MAX_PARTICIPANTS) return null;
        List<Conversation.Participant> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String field = "participants[" + i + "]";
            String phone;
            String name = null;
            String phoneCountry = country;
            if (list.get(i) instanceof String s) {
                phone = s;
            } else if (list.get(i) instanceof Map<?, ?> m) {
                if (!(m.get("phone") instanceof String p)) {
                    body.problem(field + ".phone", "is required");
                    continue;
                }
                phone = p;
                for (Object k : m.keySet()) {
                    if (!"phone".equals(k) && !"name".equals(k) && !"country".equals(k)) {
                        body.problem(field + "." + JsonBody.echoedName(String.valueOf(k)), "is not a known field");
                    }
                }
                if (m.get("country") != null) {
                    if (m.get("country") instanceof String c && c.length() <= 8) {
                        phoneCountry = c.isBlank() ? country : c.strip();
                    } else {
                        body.problem(field + ".country", "must be an ISO 3166-1 alpha-2 country code");
                        continue; // the number cannot be judged without it
                    }
                }
                if (m.get("name") != null) {
                    String stripped = m.get("name") instanceof String n ? n.strip() : "";
                    // its length first: nameProblem normalizes, quadratic in a long run of combining marks
                    String textProblem = stripped.length() > 6 * MAX_NAME ? "must be a string of 1.." + MAX_NAME + " characters"
                            : Text.nameProblem(stripped);
                    if (textProblem != null) {
                        body.problem(field + ".name", textProblem);
                    } else if (m.get("name") instanceof String && stripped.isEmpty()) {
                        body.problem(field + ".name", "must not be blank");
                    } else if (stripped.isEmpty()) {
                        body.problem(field + ".name", "must be a string of 1.." + MAX_NAME + " characters");
                    } else {
                        // kept as every name a request sets is: NFC, no invisible characters at its ends (a no-break
                        // space after it made each relay UCS-2, and "Ann\u00a0" another Ann)
                        name = body.name(field + ".name", stripped, MAX_NAME);
                    }
                }
            } else {
                body.problem(field, "must be a phone number or {phone, country?, name?}");
                continue;
            }
            switch (PhoneNumbers.normalize(phone, phoneCountry)) {
                case PhoneNumbers.Valid v -> out.add(new Conversation.Participant(v.e164(), name));
                case PhoneNumbers.Invalid inv -> body.problem(field, inv.reason());
            }
        }
        return out;
    }


    private ApiResponse list(ApiRequest request) {
        Paging paging = Paging.from(request, "order", "lineId", "participant", "country", "status", "search");
        // an extension of API.md: order=activity lists the most recently active first (a reply or a message moves one up)
        String orderParam = request.query("order").filter(v -> !v.isBlank()).orElse("created");
        var order = switch (orderParam) {
            case "created" -> ConversationService.ListOrder.CREATED;
            case "activity" -> ConversationService.ListOrder.ACTIVITY;
            default -> throw ApiException.invalid("order must be created or activity");
        };
        var partition = ConversationService.listPartition(request.accountId(), order);
        var start = Cursor.decode(paging.cursor(), partition.getKey(), partition.getValue());
        // extensions of API.md: only a line's, a number's (E.164, or national with country=), active or blocked ones
        String lineId = request.queryId("lineId").orElse(null);
        String participant = PhoneNumbers.e164FromQuery(request, "participant");
        String status = request.query("status").filter(v -> !v.isBlank()).orElse(null);
        if (status != null && !List.of(ConversationService.ACTIVE, ConversationService.BLOCKED, ConversationService.CLOSED)
                .contains(status)) {
            throw ApiException.invalid("status must be active, blocked or closed");
        }
        // and those whose name, or a participant's, contains search (ignoring case and accents), as groups' search
        String search = request.query("search").map(String::strip).filter(v -> !v.isEmpty()).orElse(null);
        if (search != null && search.length() > MAX_NAME) {
            throw ApiException.invalid("search must be at most " + MAX_NAME + " characters");
        }
        var page = conversations.list(request.accountId(), new ConversationService.ListFilter(lineId, participant, status,
                search == null ? null : Text.searchForm(search)), order, paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.conversations().forEach(v -> items.add(json(v)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** {@code {name}} renames; {@code {name: null}} clears the name (a conversation may have none, as created without). */
    private ApiResponse update(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "status");
        boolean rename = body.has("name") || !body.has("status");
        boolean clear = rename && body.has("name") && body.raw("name") == null;
        String name = body.name("name", rename && !clear ? body.requiredString("name", 1, MAX_NAME) : null, MAX_NAME);
        // an extension: {"status": "closed"} closes it for good (the only change of status there is)
        String status = body.optionalString("status", 1, 20).orElse(null);
        body.check("status", status, s -> ConversationService.CLOSED.equals(s) ? null
                : "can only be set to \"closed\" (a closed conversation stays closed)");
        body.validate();
        Caller caller = request.requireCaller();
        String id = request.path("id");
        ConversationService.View view = null;
        if (rename) view = conversations.rename(caller, id, name);
        if (status != null) view = conversations.close(caller, id);
        return ApiResponse.ok(json(view));
    }

    /** {@code {name}} names a participant; {@code {name: null}} leaves the number alone to show. */
    private ApiResponse renameParticipant(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name");
        boolean clear = body.has("name") && body.raw("name") == null;
        String name = body.name("name", clear ? null : body.requiredString("name", 1, MAX_NAME), MAX_NAME);
        body.check("name", name, n -> n.isBlank() ? "must not be blank" : null);
        body.validate();
        String phone = PhoneNumbers.e164FromPath(request.path("phone"));
        return ApiResponse.ok(json(conversations.renameParticipant(request.requireCaller(), request.path("id"), phone,
                name)));
    }

    private ApiResponse send(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("sender", "body", "mediaUrls").nullsAsAbsent();
        String sender = sender(body);
        List<String> media = body.optionalHttpsUrls("mediaUrls", MAX_MEDIA);
        String text = body.textUnlessMedia("body", MAX_BODY, media); // an extension: a picture alone
        body.check("body", text, OutboundMessage::tooLongToSend);
        body.validate();
        String conversationId = request.path("id");
        var message = conversations.send(request.requireCaller(), conversationId, sender, text, media, request.creationUlid(ids,
                u -> conversations.messageExists(request.accountId(), conversationId, ThreadMessage.ID_PREFIX + u)));
        return ApiResponse.accepted(json(message));
    }

    /** Longest name a business message is signed with, as a group message's {@code sender}. */
    static final int MAX_SENDER = 50;

    /**
     * An extension of API.md: the name the business's message is signed with, as a group message's: the participants
     * receive "<sender>: <body>" (null: the body alone).
     */
    private static String sender(JsonBody body) {
        String sender = body.optionalString("sender", 1, MAX_SENDER).orElse(null);
        return body.name("sender", sender, MAX_SENDER); // as a name is kept: an invisible character at its end would make it UCS-2
    }

    /**
     * The thread, oldest first as API.md has it; extensions: {@code order=newest} lists it from its latest message (a
     * chat opens there), and {@code after=<messageId>} from the message after that one in the order asked, a position
     * (newest first, what came before the oldest a client shows): a reply's place is given when it is routed and it
     * is stored when relayed, so a poll for what is new asks from a few minutes back and skips what it has.
     */
    private ApiResponse messages(ApiRequest request) {
        Paging paging = Paging.from(request, "order", "after");
        String id = request.path("id");
        boolean newestFirst = switch (request.query("order").filter(v -> !v.isBlank()).orElse("oldest")) {
            case "oldest" -> false;
            case "newest" -> true;
            default -> throw ApiException.invalid("order must be oldest or newest");
        };
        String partition = ConversationService.threadPartition(request.accountId(), id);
        var start = Cursor.decode(paging.cursor(), "pk", partition);
        String after = request.queryId("after").orElse(null);
        if (after != null) {
            if (start != null) throw ApiException.invalid("after and cursor cannot both be given");
            if (!after.startsWith(ThreadMessage.ID_PREFIX) || after.length() == ThreadMessage.ID_PREFIX.length()) {
                throw ApiException.invalid("after must be a message id of the thread (" + ThreadMessage.ID_PREFIX + "...)");
            }
            start = Attr.key(partition, after);
        }
        var page = conversations.messages(request.accountId(), id, paging.limit(), start, newestFirst);
        List<Object> items = new ArrayList<>();
        Map<String, String> names = authorNames(page.conversation());
        page.messages().forEach(m -> items.add(json(m, names)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** The participants' names by phone (those without one are shown by their number). */
    private static Map<String, String> authorNames(Conversation c) {
        Map<String, String> names = new HashMap<>();
        c.participants().forEach(p -> {
            if (p.name() != null) names.put(p.phone(), p.name());
        });
        return names;
    }

    static Map<String, Object> json(ConversationService.View view) {
        Conversation c = view.conversation();
        var json = new LinkedHashMap<String, Object>();
        json.put("id", c.id());
        json.put("name", c.name());
        json.put("lineId", c.lineId());
        List<Object> participants = new ArrayList<>();
        for (var p : c.participants()) {
            var pj = new LinkedHashMap<String, Object>();
            pj.put("phone", p.phone());
            pj.put("name", p.name());
            pj.put("optedOut", view.optedOut().contains(p.phone()));
            // an extension: since when (the opt-out on record now; null while not opted out)
            Long optedOutAt = view.optedOutAt().get(p.phone());
            pj.put("optedOutAt", optedOutAt == null ? null : Timestamps.format(optedOutAt));
            participants.add(pj);
        }
        json.put("participants", participants);
        json.put("status", view.status());
        json.put("blockedAt", c.blockedAt() == null ? null : Timestamps.format(c.blockedAt()));
        json.put("closedAt", c.closedAt() == null ? null : Timestamps.format(c.closedAt()));
        json.put("createdAt", Timestamps.format(c.createdAt()));
        json.put("updatedAt", Timestamps.format(c.updatedAt()));
        json.put("lastActivityAt", Timestamps.format(c.lastActivityAt()));
        json.put("lastMessage", lastMessage(c)); // an extension: what a conversation list shows under its name
        return json;
    }

    /** The thread's latest message in brief, as the thread lists it but with a {@code preview} for its body. */
    private static Map<String, Object> lastMessage(Conversation c) {
        var m = c.lastMessage();
        if (m == null) return null;
        var json = new LinkedHashMap<String, Object>();
        json.put("id", m.id());
        json.put("direction", m.direction());
        json.put("author", m.authorPhone() != null ? Map.of("phone", m.authorPhone()) : Map.of("apiKeyId", m.authorKeyId()));
        // a reply's: the participant's name now, as the thread shows it; the business's: its sender
        json.put("authorName", m.authorPhone() == null ? m.authorName() : c.participants().stream()
                .filter(p -> p.phone().equals(m.authorPhone())).findFirst().map(Conversation.Participant::name).orElse(null));
        json.put("preview", m.preview());
        json.put("mediaCount", m.mediaCount());
        json.put("createdAt", Timestamps.format(m.createdAt()));
        return json;
    }

    static Map<String, Object> json(ThreadMessage m) {
        return json(m, Map.of());
    }

    /**
     * @param names participants' names by phone: a reply's {@code authorName} is the name the others see it under
     *              (an extension of API.md, beside {@code author}, whose shape the contract fixes; null when none)
     */
    static Map<String, Object> json(ThreadMessage m, Map<String, String> names) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", m.id());
        json.put("conversationId", m.conversationId());
        json.put("direction", m.direction());
        json.put("author", m.authorPhone() != null ? Map.of("phone", m.authorPhone()) : Map.of("apiKeyId", m.authorKeyId()));
        // a reply's: the participant's name; the business's: the name it was signed with (sender)
        json.put("authorName", m.authorPhone() == null ? m.authorName() : names.get(m.authorPhone()));
        // a reply's inbound message and when it reached the line (its createdAt is when it joined the thread)
        json.put("inboundId", m.inboundId());
        json.put("receivedAt", m.receivedAt() == null ? null : Timestamps.format(m.receivedAt()));
        json.put("body", m.body());
        json.put("mediaUrls", m.mediaUrls());
        // a reply's: whether the others got it, and if not why (blocked, closed, line_off); null for the business's
        // and for replies stored before it was kept
        boolean decided = ThreadMessage.INBOUND.equals(m.direction()) && m.outcome() != null;
        json.put("relayed", decided ? ConversationService.ACTIVE.equals(m.outcome()) : null);
        json.put("notRelayedBecause", decided && !ConversationService.ACTIVE.equals(m.outcome()) ? m.outcome() : null);
        json.put("createdAt", Timestamps.format(m.createdAt()));
        return json;
    }
}
