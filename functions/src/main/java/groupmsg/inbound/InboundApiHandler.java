package groupmsg.inbound;

import groupmsg.platform.api.Text;
import groupmsg.groups.GroupService;
import groupmsg.groups.GroupsApiHandler;
import groupmsg.carrier.OutboundMessage;
import groupmsg.groups.PhoneNumbers;
import groupmsg.messages.DirectReplies;
import groupmsg.optout.OptOut;
import groupmsg.optout.OptOutService;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.api.ApiException;
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
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.Cursor;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What phones sent ({@code GET /v1/inbound}) and who asked for nothing more ({@code /v1/opt-outs}). */
public final class InboundApiHandler extends HttpApiHandler {
    private final InboundService inbound;
    private final OptOutService optOuts;
    private final ReplyService replies;
    private final MessageAnswers answers;
    private final Ids ids;

    public InboundApiHandler() {
        this(Wiring.fromEnvironment());
    }

    public InboundApiHandler(Wiring wiring) {
        super(Handlers.INBOUND_API.name(),
                new IdempotencyStore(wiring.dynamo(), wiring.config().table(Tables.CORE), wiring.clock()), wiring);
        priming().also(PhoneNumbers::prime); // its requests parse phone numbers; the priming event does not
        var queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.inbound = new InboundService(wiring, queue);
        this.optOuts = new OptOutService(wiring, queue);
        this.replies = new ReplyService(wiring, queue);
        this.answers = new MessageAnswers(wiring);
        this.ids = wiring.ids();
        on("GET /v1/inbound", this::listInbound);
        on("GET /v1/inbound/{id}", r -> {
            String id = r.path("id");
            if (!id.startsWith(InboundMessage.ID_PREFIX)) throw ApiException.notFound("inbound message");
            return ApiResponse.ok(json(inbound.get(r.accountId(), id).orElseThrow(() -> ApiException.notFound("inbound message"))));
        });
        on("POST /v1/inbound/{id}/replies", this::reply);
        on("GET /v1/inbound/{id}/replies", this::listReplies);
        on("POST /v1/inbound/{id}/review", this::review);
        on("POST /v1/lines/{id}/messages", this::sendFromLine);
        on("GET /v1/lines/{id}/messages", this::listFromLine);
        on("GET /v1/lines/{id}/messages/{messageId}", r -> ApiResponse.ok(DirectReplies.json(
                replies.getFromLine(r.accountId(), r.path("id"), r.path("messageId")), null)));
        on("GET /v1/messages/{id}/replies", this::listAnswers);
        on("GET /v1/messages/{id}/opt-outs", this::listOptOutAnswers);
        on("GET /v1/opt-outs", this::listOptOuts);
        on("GET /v1/opt-outs.csv", this::exportOptOuts);
        on("POST /v1/opt-outs", this::createOptOut);
        on("DELETE /v1/opt-outs/{lineId}/{phone}", r -> {
            optOuts.remove(r.accountId(), r.path("lineId"), r.path("phone"));
            return ApiResponse.noContent();
        });
    }

    private ApiResponse reply(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("body", "mediaUrls").nullsAsAbsent();
        List<String> media = body.optionalHttpsUrls("mediaUrls", OutboundMessage.MAX_MEDIA_URLS);
        String text = body.textUnlessMedia("body", OutboundMessage.MAX_BODY_CHARS, media);
        body.check("body", text, OutboundMessage::tooLongToSend);
        body.validate();
        String inboundId = request.path("id");
        var reply = replies.reply(request.accountId(), inboundId, text, media,
                request.creationUlid(ids, u -> replies.stored(request.accountId(), inboundId, u)));
        return ApiResponse.accepted(DirectReplies.json(reply, inboundId));
    }

    /** An extension: {@code {to, country?, body, mediaUrls?}}, see {@link ReplyService#sendFromLine}. */
    private ApiResponse sendFromLine(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("to", "country", "body", "mediaUrls").nullsAsAbsent();
        String to = body.requiredString("to", 1, PhoneNumbers.MAX_INPUT_LENGTH);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        List<String> media = body.optionalHttpsUrls("mediaUrls", OutboundMessage.MAX_MEDIA_URLS);
        String text = body.textUnlessMedia("body", OutboundMessage.MAX_BODY_CHARS, media);
        body.check("body", text, OutboundMessage::tooLongToSend);
        body.validate();
        String lineId = request.path("id");
        var sent = replies.sendFromLine(request.accountId(), lineId, to, country, text, media,
                request.creationUlid(ids, u -> replies.storedFromLine(request.accountId(), lineId, u)));
        return ApiResponse.accepted(DirectReplies.json(sent, null));
    }

    private ApiResponse listFromLine(ApiRequest request) {
        Paging paging = Paging.from(request, "to", "country");
        var start = Cursor.decode(paging.cursor(), "pk", Attr.accountPk(request.accountId()));
        // an extension: only the messages to one number (E.164, or national with country=)
        String to = PhoneNumbers.e164FromQuery(request, "to");
        var page = replies.listFromLine(request.accountId(), request.path("id"), to, paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.replies().forEach(r -> items.add(DirectReplies.json(r, null)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** An extension: {@code {decision: "opt_out" | "not_opt_out"}}, see {@link OptOutService#review}. */
    private ApiResponse review(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("decision");
        String decision = body.requiredString("decision", 1, 20);
        body.check("decision", decision, d -> d.equals("opt_out") || d.equals("not_opt_out") ? null : "must be opt_out or not_opt_out");
        body.validate();
        var reviewed = optOuts.review(request.accountId(), request.path("id"), decision.equals("opt_out"),
                request.requireCaller().keyId());
        return ApiResponse.ok(json(reviewed));
    }

    private ApiResponse listReplies(ApiRequest request) {
        Paging paging = Paging.from(request);
        String inboundId = request.path("id");
        var start = Cursor.decode(paging.cursor(), "pk", Attr.accountPk(request.accountId()));
        var page = replies.list(request.accountId(), inboundId, paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.replies().forEach(r -> items.add(DirectReplies.json(r, inboundId)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** An extension: the texts linked to a group message as answers to it, oldest first, as the inbound list shows them. */
    private ApiResponse listAnswers(ApiRequest request) {
        Paging paging = Paging.from(request);
        String messageId = request.path("id");
        var start = Cursor.decode(paging.cursor(), "pk", MessageAnswers.partition(request.accountId(), messageId));
        var page = answers.list(request.accountId(), messageId, paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.messages().forEach(m -> items.add(json(m)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    /** An extension: the numbers that opted out in answer to a group message (their STOP linked to it), in number order. */
    private ApiResponse listOptOutAnswers(ApiRequest request) {
        Paging paging = Paging.from(request);
        String messageId = request.path("id");
        var start = Cursor.decode(paging.cursor(), "pk", MessageAnswers.optOutsPartition(request.accountId(), messageId));
        var page = answers.optOuts(request.accountId(), messageId, paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.optOuts().forEach(o -> {
            var json = new LinkedHashMap<String, Object>();
            json.put("phone", o.phone());
            json.put("lineId", o.lineId());
            json.put("inboundId", o.inboundId());
            json.put("createdAt", Timestamps.format(o.createdAt()));
            items.add(json);
        });
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    private ApiResponse listInbound(ApiRequest request) {
        Paging paging = Paging.from(request, "lineId", "country", "from", "possibleOptOut", "keyword", "reviewed");
        String lineId = request.queryId("lineId").orElse(null);
        String from = PhoneNumbers.e164FromQuery(request, "from");
        var partition = InboundService.listPartition(request.accountId(), lineId, from);
        var start = Cursor.decode(paging.cursor(), partition.getKey(), partition.getValue());
        Boolean possibleOptOut = request.queryTrueOrFalse("possibleOptOut");
        // an extension of API.md: the keyword the list shows, or none ("show me every STOP")
        var keyword = request.query("keyword").map(v -> switch (v) {
            case "none" -> new InboundService.KeywordFilter(null);
            case "opt_out", "opt_in", "help" -> new InboundService.KeywordFilter(Keywords.Keyword.fromWire(v));
            default -> throw ApiException.invalid("keyword must be opt_out, opt_in, help or none");
        }).orElse(null);
        // an extension of API.md: texts a person has reviewed, or not yet (with possibleOptOut=true: what awaits review)
        Boolean reviewed = request.queryTrueOrFalse("reviewed");
        var page = inbound.list(request.accountId(), lineId, from, new InboundService.ListFilter(possibleOptOut, keyword, reviewed),
                paging.limit(), start);
        List<Object> items = new ArrayList<>();
        page.messages().forEach(m -> items.add(json(m)));
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    private ApiResponse listOptOuts(ApiRequest request) {
        Paging paging = Paging.from(request, "lineId", "phone", "country");
        String lineId = request.queryId("lineId").orElse(null);
        // an extension of API.md: one number's opt-outs (E.164, or national with country=), of the line or of every line
        String phone = PhoneNumbers.e164FromQuery(request, "phone");
        List<OptOut> listed;
        String nextCursor;
        if (phone != null) {
            if (paging.cursor() != null) throw ApiException.invalid("cursor: a number's opt-outs are one page");
            listed = optOuts.ofNumber(request.accountId(), lineId, phone);
            nextCursor = null;
        } else if (lineId == null) {
            var all = optOuts.listAll(request.accountId(), paging.limit(), paging.cursor());
            listed = all.optOuts();
            nextCursor = all.nextCursor();
        } else {
            var start = Cursor.decode(paging.cursor(), "pk", OptOutStore.listPartition(lineId));
            var page = optOuts.list(request.accountId(), lineId, paging.limit(), start);
            listed = page.optOuts();
            nextCursor = Cursor.encode(page.lastKey());
        }
        List<Object> items = new ArrayList<>();
        listed.forEach(o -> items.add(json(o)));
        return ApiResponse.ok(ApiResponse.page(items, nextCursor));
    }

    /**
     * An extension: the opt-outs as CSV (a do-not-text list to keep elsewhere), the account's or with {@code lineId=}
     * a line's, in parts of up to {@code ?limit=} (1..50,000, the default) rows and {@link Csv#MAX_ANSWER_BYTES}.
     */
    private ApiResponse exportOptOuts(ApiRequest request) {
        // the list's other filters (phone, country) are not the export's
        Paging paging = Paging.from(request, OptOutService.EXPORT_MAX_ROWS, OptOutService.EXPORT_MAX_ROWS, "lineId");
        String lineId = request.queryId("lineId").orElse(null);
        var part = optOuts.export(request.accountId(), lineId, paging.limit(), paging.cursor(), Csv.MAX_ANSWER_BYTES);
        var query = new LinkedHashMap<String, String>();
        query.put("lineId", lineId);
        query.put("limit", paging.limit() == OptOutService.EXPORT_MAX_ROWS ? null : String.valueOf(paging.limit()));
        return Csv.download(part.csv(), lineId == null ? "opt-outs.csv" : lineId + "-opt-outs.csv", part.nextCursor(),
                "/v1/opt-outs.csv", query);
    }

    /**
     * Entries of a bulk opt-out ({@code phones}): each is a transaction, a queued event and its conversations' blocks
     * (about five requests), 16 at a time, so that 100 end well within the function's 10 s.
     */
    static final int MAX_BULK_OPT_OUTS = 100;

    private ApiResponse createOptOut(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("lineId", "phone", "phones", "country").nullsAsAbsent();
        if (body.has("phones")) return createOptOuts(request, body);
        String lineId = body.requiredString("lineId", 1, 100);
        String phone = body.requiredString("phone", 1, PhoneNumbers.MAX_INPUT_LENGTH);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        body.validate();
        var recorded = optOuts.optOut(request.accountId(), lineId, phone, country);
        return ApiResponse.json(recorded.created() ? 201 : 200, json(recorded.optOut()));
    }

    /**
     * An extension: {@code {lineId, phones: [phone...] (1..100), country?}} opts each number out as a manual opt-out
     * does: 200 {@code {added, alreadyOptedOut, invalid: [{index, phone, reason}]}}, the valid ones recorded even when
     * others are invalid (as a members add).
     */
    private ApiResponse createOptOuts(ApiRequest request, JsonBody body) {
        String lineId = body.requiredString("lineId", 1, 100);
        String country = body.optionalString("country", 0, 8).filter(c -> !c.isEmpty()).orElse(null);
        body.check("country", country, PhoneNumbers::countryProblem); // once for all: not 100 invalid entries
        if (body.has("phone")) body.problem("phone", "give phone or phones, not both");
        List<GroupService.MemberInput> inputs = new ArrayList<>();
        if (!(body.raw("phones") instanceof List<?> raw) || raw.isEmpty() || raw.size() > MAX_BULK_OPT_OUTS) {
            body.problem("phones", "must be an array of 1.." + MAX_BULK_OPT_OUTS + " phone numbers (more in further requests)");
        } else {
            // a malformed entry is listed as invalid, not a 400: the others are still opted out
            for (Object entry : raw) {
                String phone = entry instanceof String given ? given : null;
                String problem = phone == null ? "must be a phone number (a string)" : Text.problem(phone);
                inputs.add(problem == null ? new GroupService.MemberInput(phone, null, null)
                        : GroupService.MemberInput.malformed(phone != null && phone.length() <= PhoneNumbers.MAX_INPUT_LENGTH
                                ? phone : null, problem));
            }
        }
        body.validate();
        var result = optOuts.optOutAll(request.accountId(), lineId, inputs, country);
        var json = new LinkedHashMap<String, Object>();
        json.put("added", result.added());
        json.put("alreadyOptedOut", result.alreadyOptedOut());
        return ApiResponse.ok(GroupsApiHandler.withInvalid(json, result.invalid()));
    }

    static Map<String, Object> json(InboundMessage m) {
        var json = new LinkedHashMap<String, Object>();
        json.put("id", m.id());
        json.put("lineId", m.lineId());
        json.put("from", m.from());
        json.put("fromName", m.fromName()); // an extension: the sender's name in its conversation or answered group
        json.put("body", m.body());
        json.put("mediaUrls", m.mediaUrls());
        json.put("keyword", m.keyword() == null ? null : m.keyword().wireName());
        json.put("possibleOptOut", m.possibleOptOut());
        json.put("conversationId", m.conversationId());
        json.put("inReplyTo", AnswerLinks.json(m.inReplyTo())); // an extension: the group message a reply or STOP answers
        // an extension: what it did as one of its line's own keywords (JOIN: its sender joined the group)
        json.put("keywordAction", InboundRouter.keywordActionJson(m.keywordAction()));
        json.put("review", review(m.review())); // an extension: a person's reading of it, or null
        json.put("fromLine", m.fromLine()); // an extension: sent by another account's line (a business, not a person)
        json.put("createdAt", Timestamps.format(m.createdAt()));
        return json;
    }

    private static Map<String, Object> review(InboundMessage.Review review) {
        if (review == null) return null;
        var json = new LinkedHashMap<String, Object>();
        json.put("decision", review.decision());
        json.put("reviewedAt", Timestamps.format(review.reviewedAt()));
        json.put("reviewedBy", review.reviewedBy());
        return json;
    }

    static Map<String, Object> json(OptOut o) {
        var json = new LinkedHashMap<String, Object>();
        json.put("lineId", o.lineId());
        json.put("phone", o.phone());
        json.put("source", o.source());
        json.put("createdAt", Timestamps.format(o.createdAt()));
        return json;
    }
}
