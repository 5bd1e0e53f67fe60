package groupmsg.messages;

import groupmsg.carrier.OutboundMessage;
import groupmsg.groups.GroupService;
import groupmsg.groups.PhoneNumbers;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.Csv;
import groupmsg.platform.api.ErrorCode;
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


/** Group messages: send (202), list, get with counts, deliveries; they cannot be cancelled (405). */
public final class MessagesApiHandler extends HttpApiHandler {
    static final int MAX_BODY = OutboundMessage.MAX_BODY_CHARS;
    static final int MAX_MEDIA = OutboundMessage.MAX_MEDIA_URLS;

    private final MessageService messages;
    private final DeliveryList deliveryList;
    private final Ids ids;

    public MessagesApiHandler() {
        this(Wiring.fromEnvironment());
    }

    public MessagesApiHandler(Wiring wiring) {
        super(Handlers.MESSAGES_API.name(),
                new IdempotencyStore(wiring.dynamo(), wiring.config().table(Tables.CORE), wiring.clock(), wiring.ids()), wiring);
        this.ids = wiring.ids();
        var queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.messages = new MessageService(wiring, new GroupService(wiring, queue), queue);
        this.deliveryList = new DeliveryList(wiring);
        on("POST /v1/groups/{id}/messages", this::send);
        on("GET /v1/messages", this::list);
        on("GET /v1/messages/{id}", r -> {
            var view = messages.get(r.accountId(), r.path("id"));
            return ApiResponse.ok(MessagesJson.message(view.message(), view.counts()));
        });
        on("POST /v1/groups/{id}/messages/preview", this::preview);
        on("GET /v1/messages/{id}/deliveries", this::deliveries);
        on("GET /v1/messages/{id}/deliveries.csv", this::deliveryReport);
        on("DELETE /v1/messages/{id}", r -> {
            messages.get(r.accountId(), r.path("id"));
            throw new ApiException(ErrorCode.NOT_CANCELLABLE, "group messages are sent at once and cannot be cancelled");
        });
    }

    private ApiResponse send(ApiRequest request) {
        var message = messages.send(request.accountId(), request.path("id"), sendRequest(request),
                request.creationUlid(ids, u -> messages.exists(request.accountId(), MessageStore.GROUP_ID_PREFIX + u)));
        return ApiResponse.accepted(MessagesJson.message(message, null));
    }

    /**
     * An extension: what {@code POST /v1/groups/{id}/messages} with the same body would send now (the text as each
     * recipient gets it, its encoding and segments, the members it would go to), without sending, storing or billing
     * anything: a group message cannot be cancelled once accepted.
     */
    private ApiResponse preview(ApiRequest request) {
        var preview = messages.preview(request.accountId(), request.path("id"), sendRequest(request));
        long recipients = preview.group().memberCount();
        int segments = preview.mms() ? 1 : preview.sms().segments();
        var json = new LinkedHashMap<String, Object>();
        json.put("groupId", preview.group().id());
        json.put("groupName", preview.group().name());
        json.put("lineId", preview.line().id());
        json.put("text", preview.text());
        json.put("encoding", preview.sms().encoding().wire());
        json.put("segments", segments);
        json.put("recipients", recipients);
        // billed per recipient (API.md): at most this, as opted-out and undeliverable members are skipped unbilled
        var estimate = new LinkedHashMap<String, Object>();
        estimate.put("messages", recipients);
        estimate.put("segments", preview.mms() ? 0 : recipients * segments);
        estimate.put("mms", preview.mms() ? recipients : 0);
        json.put("estimate", estimate);
        return ApiResponse.ok(json);
    }

    /** The body of a group message's send (or preview), checked; 400 with every problem found. */
    private static MessageService.SendRequest sendRequest(ApiRequest request) {
        JsonBody body = request.jsonBody().allowOnly("lineId", "sender", "title", "body", "mediaUrls", "optOutNotice")
                .nullsAsAbsent();
        String lineId = body.requiredString("lineId", 1, 100);
        // as a name is kept: an invisible character at its end would make it UCS-2
        String sender = body.name("sender", body.requiredString("sender", 1, 50), 50);
        String title = body.requiredString("title", 1, 200);
        String text = body.requiredText("body", MAX_BODY);
        List<String> media = body.optionalHttpsUrls("mediaUrls", MAX_MEDIA);
        body.check("body", text, OutboundMessage::tooLongToSend);
        // an extension: end the text with how to opt out (true), or not even with the line's notice (false)
        Boolean optOutNotice = body.optionalBoolean("optOutNotice").orElse(null);
        body.validate();
        return new MessageService.SendRequest(lineId, sender, title, text, media, request.requireCaller().keyId(), optOutNotice);
    }


    /** Longest title search: a title is at most 200 characters. */
    static final int MAX_SEARCH = 200;

    private ApiResponse list(ApiRequest request) {
        // a misspelt filter (groupid, group_id) must not answer the whole account's messages
        Paging paging = Paging.from(request, "groupId", "lineId", "search", "status", "since", "until", "phone", "country");
        String groupId = request.queryId("groupId").orElse(null);
        // extensions of API.md: narrowed by line, title, status and time of sending
        String lineId = request.queryId("lineId").orElse(null);
        String search = request.query("search").map(String::strip).filter(v -> !v.isEmpty()).orElse(null);
        if (search != null && search.length() > MAX_SEARCH) {
            throw ApiException.invalid("search must be at most " + MAX_SEARCH + " characters");
        }
        String status = request.query("status").filter(v -> !v.isBlank()).orElse(null);
        if (status != null && !List.of(GroupMessage.SENDING, GroupMessage.SENT).contains(status)) {
            throw ApiException.invalid("status must be sending or sent");
        }
        Long since = request.query("since").filter(v -> !v.isBlank()).map(v -> Timestamps.parseQuery("since", v)).orElse(null);
        Long until = request.query("until").filter(v -> !v.isBlank()).map(v -> Timestamps.parseQuery("until", v)).orElse(null);
        if (since != null && until != null && since > until) throw ApiException.invalid("since must not be after until");
        // and to the messages sent to one number (E.164, or national with country=), each with that number's delivery
        String phone = PhoneNumbers.e164FromQuery(request, "phone");
        String partition = groupId == null ? Attr.accountPk(request.accountId())
                : MessageStore.groupIndexPk(request.accountId(), groupId);
        var start = Cursor.decode(paging.cursor(), groupId == null ? "pk" : "gsi1pk", partition);
        var page = messages.list(request.accountId(),
                new MessageService.ListFilter(groupId, lineId, search, status, since, until, phone), paging.limit(), start);
        List<Object> items = new ArrayList<>();
        for (var v : page.messages()) {
            var json = MessagesJson.message(v.message(), v.counts());
            if (v.recipient() != null) json.put("delivery", MessagesJson.delivery(v.recipient()));
            items.add(json);
        }
        return ApiResponse.ok(ApiResponse.page(items, Cursor.encode(page.lastKey())));
    }

    private ApiResponse deliveries(ApiRequest request) {
        String id = request.path("id");
        // a group message's (conversation messages' are listed under their conversation)
        if (!id.startsWith(MessageStore.GROUP_ID_PREFIX)) throw ApiException.notFound("message");
        return deliveryList.respond(request, request.accountId(), id).orElseThrow(() -> ApiException.notFound("message"));
    }

    /**
     * An extension: the deliveries as CSV (a report to download; {@code ?status=} as the list's), in parts of up to
     * {@code ?limit=} (1..50,000, the default) rows and {@link Csv#MAX_ANSWER_BYTES}: {@code x-next-cursor} (and a
     * {@code link} rel="next") names the next part, {@code ?cursor=}.
     */
    private ApiResponse deliveryReport(ApiRequest request) {
        String id = request.path("id");
        if (!id.startsWith(MessageStore.GROUP_ID_PREFIX)) throw ApiException.notFound("message");
        Paging paging = Paging.from(request, DeliveryList.REPORT_MAX_ROWS, DeliveryList.REPORT_MAX_ROWS, "status");
        String status = request.query("status").orElse(null);
        var part = deliveryList.report(request.accountId(), id, paging.limit(), paging.cursor(), status, Csv.MAX_ANSWER_BYTES)
                .orElseThrow(() -> ApiException.notFound("message"));
        var query = new LinkedHashMap<String, String>();
        query.put("limit", paging.limit() == DeliveryList.REPORT_MAX_ROWS ? null : String.valueOf(paging.limit()));
        query.put("status", status);
        return Csv.download(part.csv(), id + "-deliveries.csv", part.nextCursor(), "/v1/messages/" + id + "/deliveries.csv", query);
    }

}
