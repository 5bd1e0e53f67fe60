package groupmsg.groups;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.Csv;
import groupmsg.platform.api.HttpApiHandler;
import groupmsg.platform.api.IdempotencyStore;
import groupmsg.platform.api.JsonBody;
import groupmsg.platform.api.Paging;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Cursor;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Groups, members and CSV imports ({@code /v1/groups...}). */
public final class GroupsApiHandler extends HttpApiHandler {
    /** An import's invalid lines shown at once, and at most per page. */
    private static final int MAX_INVALID_PAGE = 1_000;
    /** The longest phone input read (national format with spaces and punctuation included). */
    private static final int MAX_PHONE_INPUT = 64;
    /** An answer larger than this is made smaller: an Idempotency-Key's record holds it in a 400 KB item. */
    private static final int MAX_RECORDED_RESPONSE_BYTES = 300 * 1024;

    private static final Set<String> CSV_TYPES = Set.of("text/csv", "application/csv", "text/plain",
            "application/vnd.ms-excel");

    private final GroupService groups;
    private final ImportService imports;
    private final Ids ids;

    public GroupsApiHandler() {
        this(Wiring.fromEnvironment());
    }

    public GroupsApiHandler(Wiring wiring) {
        super(Handlers.GROUPS_API.name(),
                new IdempotencyStore(wiring.dynamo(), wiring.config().table(Tables.CORE), wiring.clock(), wiring.ids()), wiring);
        this.ids = wiring.ids();
        priming().also(PhoneNumbers::prime); // its requests parse phone numbers; the priming event does not
        var queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.groups = new GroupService(wiring, queue);
        this.imports = new ImportService(wiring, groups, queue);
        on("POST /v1/groups", this::createGroup);
        on("GET /v1/groups", this::listGroups);
        on("GET /v1/groups/import-template.csv", this::importTemplate);
        on("GET /v1/groups/{id}/members.csv", this::exportMembers);
        on("GET /v1/groups/{id}", r -> ApiResponse.ok(groupJson(groups.get(r.accountId(), r.path("id")))));
        on("PATCH /v1/groups/{id}", this::updateGroup);
        on("DELETE /v1/groups/{id}", this::deleteGroup);
        on("POST /v1/groups/{id}/members", this::addMembers);
        on("GET /v1/groups/{id}/members", this::listMembers);
        on("PATCH /v1/groups/{id}/members/{phone}", this::renameMember);
        on("GET /v1/groups/{id}/members/{phone}", r -> ApiResponse.ok(memberJson(
                groups.member(r.accountId(), r.path("id"), memberPhone(r, "GET")))));
        on("DELETE /v1/groups/{id}/members/{phone}", this::removeMember);
        on("DELETE /v1/groups/{id}/members/{phone}/undeliverable", r -> {
            groups.clearUndeliverable(r.accountId(), r.path("id"), r.path("phone"));
            return ApiResponse.noContent();
        });
        on("POST /v1/groups/{id}/members/remove", this::removeMembers);
        on("POST /v1/groups/{id}/imports", this::startImport);
        on("GET /v1/groups/{id}/imports", this::listImports);
        on("GET /v1/groups/{id}/imports/{importId}", this::getImport);
        on("POST /v1/members", this::addToGroups);
        on("POST /v1/members/remove", this::removeFromAllGroups);
    }

    /**
     * {@code POST /v1/members} {@code {phone, country?, name?, groupIds: [1..100]}}: one person into several groups
     * (an extension of API.md) -> {@code {phone, addedTo, alreadyIn}} (the groups, {@code {id, name}}; a present member
     * given another name is renamed and listed in {@code addedTo}).
     */
    private ApiResponse addToGroups(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("phone", "country", "name", "groupIds").nullsAsAbsent();
        String phone = body.requiredString("phone", 1, MAX_PHONE_INPUT);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        String name = body.optionalString("name", 0, 100).filter(n -> !n.isEmpty()).orElse(null);
        name = body.optionalName("name", name, MAX_NAME); // as every member name is kept
        List<String> groupIds = body.optionalStringList("groupIds", 1, GroupService.MAX_GROUPS_PER_REQUEST, 100).orElse(null);
        if (groupIds == null && !body.has("groupIds")) body.problem("groupIds", "is required");
        String e164 = phone == null ? null : bodyPhone(body, PhoneNumbers.normalize(phone, country));
        body.validate();
        var result = groups.addToGroups(request.accountId(), e164, name, groupIds);
        return ApiResponse.ok(acrossJson(result, "addedTo", "alreadyIn"));
    }

    /**
     * {@code POST /v1/members/remove} {@code {phone, country?}}: the number out of every group of the account it is in
     * (an extension of API.md) -> {@code {phone, removedFrom}} (empty when it was in none: a retry says so); with
     * {@code groupIds} (1..100) out of those groups only -> {@code {phone, removedFrom, notIn}}, as {@code POST
     * /v1/members} adds it to chosen ones.
     */
    private ApiResponse removeFromAllGroups(ApiRequest request) {
        JsonBody given = request.jsonBody().allowOnly("phone", "country", "cursor", "groupIds");
        // groupIds null is no "every group": a client that writes an unset list as null meant some groups, not all
        if (given.has("groupIds") && given.raw("groupIds") == null) {
            given.problem("groupIds", "must be a list of 1.." + GroupService.MAX_GROUPS_PER_REQUEST + " group ids, not null");
        }
        JsonBody body = given.nullsAsAbsent();
        String phone = body.requiredString("phone", 1, MAX_PHONE_INPUT);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        String cursor = body.optionalString("cursor", 1, 4000).orElse(null);
        List<String> groupIds = body.optionalStringList("groupIds", 1, GroupService.MAX_GROUPS_PER_REQUEST, 100).orElse(null);
        if (groupIds != null && cursor != null) body.problem("cursor", "goes with a removal from every group, not with groupIds");
        String e164 = phone == null ? null : bodyPhone(body, PhoneNumbers.normalizeExisting(phone, country));
        body.validate();
        if (groupIds != null) {
            return ApiResponse.ok(acrossJson(groups.removeFromGroups(request.accountId(), e164, groupIds), "removedFrom", "notIn"));
        }
        var start = Cursor.decode(cursor, "pk", GroupService.accountPartition(request.accountId()));
        var result = groups.removeFromAllGroups(request.accountId(), e164, start);
        var json = acrossJson(result, "removedFrom", null);
        // set when the account has so many groups that one request did not read them all: call again with it
        json.put("nextCursor", Cursor.encode(result.next()));
        return ApiResponse.ok(json);
    }

    /** A body's phone in E.164 as read, or null with the problem recorded on {@code phone}. */
    private static String bodyPhone(JsonBody body, PhoneNumbers.Result read) {
        return switch (read) {
            case PhoneNumbers.Valid ok -> ok.e164();
            case PhoneNumbers.Invalid bad -> {
                body.problem("phone", bad.reason());
                yield null;
            }
        };
    }

    private static Map<String, Object> acrossJson(GroupService.AcrossGroups result, String changed, String unchanged) {
        var json = new LinkedHashMap<String, Object>();
        json.put("phone", result.phone());
        json.put(changed, result.changed().stream().map(g -> (Object) Map.of("id", g.id(), "name", g.name())).toList());
        if (unchanged != null) {
            json.put(unchanged, result.unchanged().stream().map(g -> (Object) Map.of("id", g.id(), "name", g.name())).toList());
        }
        return json;
    }

    /** A group name's most characters (API.md), as sent and as kept. */
    private static final int MAX_NAME = 100;

    private ApiResponse createGroup(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "description", "members");
        String name = body.requiredString("name", 1, MAX_NAME);
        name = body.name("name", name, MAX_NAME);
        String description = body.optionalNullableString("description", 0, 1000).orElse(null);
        // an extension of API.md: its first members (0..1000 entries as for adding), added once it is created
        boolean withMembers = body.has("members") && body.raw("members") != null;
        List<JsonBody> entries = withMembers ? body.requiredEntries("members", 0, GroupService.MAX_MEMBERS_PER_REQUEST) : List.of();
        body.validate();
        List<GroupService.MemberInput> inputs = memberInputs(body, entries, false);
        Group group = groups.create(request.accountId(), name,
                description == null || description.isEmpty() ? null : description,
                request.creationUlid(ids, u -> groups.existsOrDeleted(request.accountId(), "grp_" + u)));
        if (!withMembers) return ApiResponse.created(groupJson(group));
        // Each unit of the add is its own transaction after the group's: should one fail, the group stands with the
        // units before it, and the request's retry under its Idempotency-Key finds the group and adds the rest (also
        // after a 409 for contention: answered as a change-nothing 4xx, the retry made a new group id and met the
        // group's own name, 409 for good).
        GroupService.AddResult added;
        Group after;
        try {
            added = groups.addMembers(request.accountId(), group.id(), inputs);
            after = groups.get(request.accountId(), group.id());
        } catch (ApiException e) {
            // Both keep the request's claim, and its ids: a retry after contention adds the rest; one after the group
            // was deleted meanwhile meets its mark, a 409 (released, as a 404 that changed nothing, the retry took a
            // fresh id and made the group again)
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw ApiException.conflict("the group this request created (" + group.id() + ") was deleted while its"
                        + " members were added").afterPartOfTheWork();
            }
            throw e.code() == ErrorCode.CONFLICT ? e.afterPartOfTheWork() : e;
        }
        var json = new LinkedHashMap<String, Object>(groupJson(after));
        json.put("members", addedJson(added));
        return ApiResponse.created(json);
    }

    private ApiResponse listGroups(ApiRequest request) {
        Paging paging = Paging.from(request, "member", "country", "search");
        var start = Cursor.decode(paging.cursor(), "pk", GroupService.accountPartition(request.accountId()));
        // an extension of API.md: the groups a number is a member of now (E.164, or national with country=)
        String member = PhoneNumbers.e164FromQuery(request, "member");
        // an extension too: groups whose name contains search (ignoring case and accents), as the member list's search
        String search = request.query("search").map(String::strip).filter(v -> !v.isEmpty()).orElse(null);
        if (search != null && search.length() > MAX_NAME) {
            throw ApiException.invalid("search must be at most " + MAX_NAME + " characters");
        }
        var page = member == null && search == null ? groups.list(request.accountId(), paging.limit(), start)
                : groups.listMatching(request.accountId(), member, search, paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.groups().forEach(g -> items.add(groupJson(g)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /**
     * An extension: the group's members as CSV in the import template's columns. A group too large for one answer
     * (or than {@code ?limit=}, 1..50,000) comes in parts: {@code x-next-cursor} (and a {@code link} rel="next")
     * names the next one, {@code ?cursor=}.
     */
    private ApiResponse exportMembers(ApiRequest request) {
        String groupId = request.path("id");
        // the list's filters (search, undeliverable, lineId) are not the export's
        Paging paging = Paging.from(request, GroupService.EXPORT_MAX_MEMBERS, GroupService.EXPORT_MAX_MEMBERS);
        var start = Cursor.decode(paging.cursor(), "pk", GroupService.membersPartition(request.accountId(), groupId));
        var export = groups.exportMembers(request.accountId(), groupId, paging.limit(), Csv.MAX_ANSWER_BYTES, start);
        var query = new LinkedHashMap<String, String>();
        query.put("limit", paging.limit() == GroupService.EXPORT_MAX_MEMBERS ? null : String.valueOf(paging.limit()));
        return Csv.download(export.csv(), groupId + "-members.csv", Cursor.encode(export.lastKey()),
                "/v1/groups/" + groupId + "/members.csv", query);
    }

    private ApiResponse importTemplate(ApiRequest request) {
        return ApiResponse.text(200, "text/csv; charset=utf-8", ImportCsv.TEMPLATE,
                Map.of("content-disposition", "attachment; filename=\"import-template.csv\""));
    }

    private ApiResponse updateGroup(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name", "description");
        String name = body.optionalString("name", 1, MAX_NAME).orElse(null);
        name = body.name("name", name, MAX_NAME);
        String description = body.clearableString("description", 1000).orElse(null);
        body.validate();
        if (name == null && description == null) throw ApiException.invalid("nothing to change: give name and/or description");
        return ApiResponse.ok(groupJson(groups.update(request.accountId(), request.path("id"), name, description)));
    }

    private ApiResponse deleteGroup(ApiRequest request) {
        groups.delete(request.accountId(), request.path("id"));
        return ApiResponse.noContent();
    }

    private ApiResponse addMembers(ApiRequest request) {
        var result = groups.addMembers(request.accountId(), request.path("id"), memberInputs(request, false));
        return ApiResponse.ok(addedJson(result));
    }

    private static Map<String, Object> addedJson(GroupService.AddResult result) {
        var json = new LinkedHashMap<String, Object>();
        json.put("added", result.added());
        json.put("alreadyMembers", result.alreadyMembers());
        json.put("updated", result.updated());
        return withInvalid(json, result.invalid());
    }

    /**
     * {@code POST /v1/groups/{id}/members/remove} {@code {members: [{phone, country?}]}} (1..1000; a name is taken and
     * ignored, so the list used to add them serves): 200 {@code {removed, notMembers, invalid}}.
     */
    private ApiResponse removeMembers(ApiRequest request) {
        var result = groups.removeMembers(request.accountId(), request.path("id"), memberInputs(request, true));
        var json = new LinkedHashMap<String, Object>();
        json.put("removed", result.removed());
        json.put("notMembers", result.notMembers());
        return ApiResponse.ok(withInvalid(json, result.invalid()));
    }

    /** An answer with its invalid entries, in the shape that keeps it recordable for an Idempotency-Key. */
    public static Map<String, Object> withInvalid(LinkedHashMap<String, Object> json, List<GroupService.InvalidEntry> entries) {
        json.put("invalid", invalidJson(entries, false));
        if (!entries.isEmpty() && Json.write(json).getBytes(StandardCharsets.UTF_8).length > MAX_RECORDED_RESPONSE_BYTES) {
            json.put("invalid", invalidJson(entries, true));
        }
        return json;
    }

    /**
     * The {@code members} entries of an add or a removal, each valid or with the problem it is reported with; a
     * removal ({@code namesIgnored}) takes a name as it comes and reads nothing of it.
     */
    private static List<GroupService.MemberInput> memberInputs(ApiRequest request, boolean namesIgnored) {
        JsonBody body = request.jsonBody().allowOnly("members");
        // Valid entries are taken even when others are invalid (API.md): a malformed entry is reported in
        // "invalid" like an unparseable number; only the array itself can make the request a 400.
        List<JsonBody> entries = body.requiredEntries("members", 1, GroupService.MAX_MEMBERS_PER_REQUEST);
        body.validate();
        return memberInputs(body, entries, namesIgnored);
    }

    private static List<GroupService.MemberInput> memberInputs(JsonBody body, List<JsonBody> entries, boolean namesIgnored) {
        List<GroupService.MemberInput> inputs = new ArrayList<>(entries.size());
        List<?> raw = (List<?>) body.raw("members");
        for (int i = 0; i < entries.size(); i++) {
            JsonBody entry = entries.get(i);
            if (entry == null) { // a bare string is most likely a phone number: echo it
                inputs.add(GroupService.MemberInput.malformed(echoedPhone(raw.get(i)), "must be an object {phone, country?, name?}"));
                continue;
            }
            entry.allowOnly("phone", "country", "name");
            String phone = entry.requiredString("phone", 0, MAX_PHONE_INPUT);
            String country = entry.optionalNullableString("country", 0, 8).orElse(null);
            String name = namesIgnored ? null : entry.optionalNullableString("name", 0, 100).orElse(null);
            name = entry.optionalName("name", name, MAX_NAME); // kept as group names are: NFC, no invisible characters at its ends
            if (!entry.valid()) {
                inputs.add(GroupService.MemberInput.malformed(echoedPhone(entry.raw("phone")), entry.firstProblem()));
                continue;
            }
            inputs.add(new GroupService.MemberInput(phone, country == null || country.isEmpty() ? null : country,
                    name == null || name.isEmpty() ? null : name));
        }
        return inputs;
    }

    /**
     * The invalid entries as the answer lists them; {@code plain} keeps only printable ASCII of what they echo (a
     * phone that is not is left out, a reason's other characters become '?', cut at 100), which bounds each entry
     * to about 200 bytes: 1,000 entries of echoed escapes could otherwise make an answer over 400 KB, too large to
     * be recorded for an Idempotency-Key.
     */
    private static List<Object> invalidJson(List<GroupService.InvalidEntry> entries, boolean plain) {
        List<Object> invalid = new ArrayList<>(entries.size());
        for (var entry : entries) {
            var e = new LinkedHashMap<String, Object>();
            e.put("index", entry.index());
            e.put("phone", plain ? (entry.phone() != null && plainAscii(entry.phone()) ? entry.phone() : null) : entry.phone());
            e.put("reason", plain ? asPlainAscii(entry.reason(), 100) : entry.reason());
            invalid.add(e);
        }
        return invalid;
    }

    private static boolean plainAscii(String s) {
        return s.chars().allMatch(GroupsApiHandler::plainAscii);
    }

    private static boolean plainAscii(int c) {
        return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
    }

    private static String asPlainAscii(String s, int max) {
        var sb = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && sb.length() < max; i++) sb.append(plainAscii(s.charAt(i)) ? s.charAt(i) : '?');
        return sb.toString();
    }

    /** What an invalid entry shows as its phone: the given text if it is short enough to be one, else null. */
    private static String echoedPhone(Object given) {
        return given instanceof String s && s.length() <= MAX_PHONE_INPUT ? s : null;
    }

    private ApiResponse listMembers(ApiRequest request) {
        String groupId = request.path("id");
        Paging paging = Paging.from(request, "lineId", "undeliverable", "search");
        var start = Cursor.decode(paging.cursor(), "pk", GroupService.membersPartition(request.accountId(), groupId));
        // an extension: with lineId=, whether each member has opted out of that line (a send from it skips them)
        String lineId = request.queryId("lineId").orElse(null);
        // an extension: only the members marked undeliverable (true), or only the others (false)
        Boolean undeliverable = request.queryTrueOrFalse("undeliverable");
        var page = groups.listMembers(request.accountId(), groupId, request.query("search"), undeliverable,
                paging.limit(), start);
        var optedOut = lineId == null ? null : groups.optedOutOf(request.accountId(), lineId,
                page.members().stream().map(Member::phone).toList());
        List<Object> items = new ArrayList<>();
        for (Member m : page.members()) {
            var json = memberJson(m);
            if (optedOut != null) json.put("optedOut", optedOut.contains(m.phone()));
            items.add(json);
        }
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** An extension: {@code {name}} gives the member another name; {@code null} or "" takes its name away. */
    private ApiResponse renameMember(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("name");
        if (!body.has("name")) throw ApiException.invalid("name: required (null or \"\" takes the name away)");
        String name = body.optionalNullableString("name", 0, MAX_NAME).filter(n -> !n.isEmpty()).orElse(null);
        name = body.optionalName("name", name, MAX_NAME); // as every member name is kept
        body.validate();
        return ApiResponse.ok(memberJson(groups.renameMember(request.accountId(), request.path("id"), memberPhone(request, "PATCH"), name)));
    }

    private static Map<String, Object> memberJson(Member m) {
        var json = new LinkedHashMap<String, Object>();
        json.put("phone", m.phone());
        json.put("name", m.name());
        json.put("addedAt", Timestamps.format(m.addedAt()));
        // an extension, only on a marked member (the others are as API.md shows them): the number could not receive
        // the group's message (a landline, a number that does not exist), so later messages skip it until cleared
        if (m.undeliverable() != null) {
            json.put("undeliverable", Map.of("error", m.undeliverable().error(), "messageId", m.undeliverable().messageId(),
                    "since", Timestamps.format(m.undeliverable().since())));
        }
        return json;
    }

    private ApiResponse removeMember(ApiRequest request) {
        groups.removeMember(request.accountId(), request.path("id"), memberPhone(request, "DELETE"));
        return ApiResponse.noContent();
    }

    /**
     * The member's phone of a path; {@code .../members/remove} is no member but the batch removal's route, which only
     * takes POST: said so, rather than "phone contains letters".
     */
    private static String memberPhone(ApiRequest request, String method) {
        String raw = request.path("phone");
        if ("remove".equals(raw)) {
            throw new ApiException(ErrorCode.NOT_FOUND, "no route for " + method + " /v1/groups/{id}/members/remove (POST removes members)");
        }
        return PhoneNumbers.decodePath(raw);
    }


    private ApiResponse startImport(ApiRequest request) {
        String type = request.mediaType();
        if (!CSV_TYPES.contains(type)) {
            throw ApiException.invalid("content type must be text/csv" + (type.isEmpty() ? "" : ", got " + type));
        }
        ImportJob job = imports.start(request.accountId(), request.path("id"), request.body(), request.charset().orElse(null),
                request.creationUlid(ids, u -> imports.exists(request.accountId(), "imp_" + u)));
        var json = new LinkedHashMap<String, Object>();
        json.put("id", job.id());
        json.put("groupId", job.groupId());
        json.put("status", job.status());
        json.put("total", job.total());
        json.put("createdAt", Timestamps.format(job.createdAt()));
        return ApiResponse.accepted(json);
    }

    private ApiResponse getImport(ApiRequest request) {
        String importId = request.path("importId");
        ImportJob job = imports.get(request.accountId(), request.path("id"), importId);
        // API.md shows `invalid` as the import's list: whole up to 1,000 lines (an upload's part), paged beyond.
        Paging paging = Paging.from(request, MAX_INVALID_PAGE, MAX_INVALID_PAGE);
        var start = Cursor.decode(paging.cursor(), "pk", ImportService.invalidRowsPartition(request.accountId(), importId));
        var invalid = imports.invalidRows(request.accountId(), importId, paging.limit(), start);
        var json = importJson(job);
        List<Object> rows = new ArrayList<>();
        for (var row : invalid.rows()) {
            var r = new LinkedHashMap<String, Object>();
            r.put("line", row.line());
            r.put("phone", row.phone());
            r.put("reason", row.reason());
            rows.add(r);
        }
        json.put("invalid", rows);
        json.put("nextCursor", Cursor.encode(invalid.lastKey()));
        if (job.error() != null) json.put("error", job.error());
        json.put("createdAt", Timestamps.format(job.createdAt()));
        return ApiResponse.ok(json);
    }

    /** An extension: the group's imports of the last 30 days, newest first, each as one shows without its invalid lines. */
    private ApiResponse listImports(ApiRequest request) {
        Paging paging = Paging.from(request);
        var start = Cursor.decode(paging.cursor(), "pk", ImportService.listPartition(request.accountId()));
        var page = imports.list(request.accountId(), request.path("id"), paging.limit(), start);
        List<Object> items = new ArrayList<>();
        for (ImportJob job : page.imports()) {
            var json = importJson(job);
            if (job.error() != null) json.put("error", job.error());
            json.put("createdAt", Timestamps.format(job.createdAt()));
            items.add(json);
        }
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** An import's progress, as its GET and the list show it (the GET adds its invalid lines, then error and createdAt). */
    private static LinkedHashMap<String, Object> importJson(ImportJob job) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", job.id());
        json.put("groupId", job.groupId());
        json.put("status", job.status());
        json.put("total", job.total());
        json.put("processed", job.processed());
        json.put("added", job.added());
        json.put("alreadyMembers", job.alreadyMembers());
        json.put("updated", job.updated());
        json.put("invalidCount", job.invalidCount());
        return json;
    }

    static Map<String, Object> groupJson(Group group) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", group.id());
        json.put("name", group.name());
        json.put("description", group.description());
        json.put("memberCount", group.memberCount());
        json.put("createdAt", Timestamps.format(group.createdAt()));
        json.put("updatedAt", Timestamps.format(group.updatedAt()));
        return json;
    }
}
