package groupmsg.messages;

import groupmsg.messages.DeliveryStore.Position;
import groupmsg.platform.Sha256;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.Csv;
import groupmsg.platform.api.CsvPart;
import groupmsg.platform.api.Paging;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Tables;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An outbound message's per-recipient delivery status, page by page ({@code ?limit=&cursor=&status=}): the list of
 * {@code GET /v1/messages/{id}/deliveries} for group messages and of
 * {@code GET /v1/conversations/{id}/messages/{messageId}/deliveries} for conversation messages, which go through
 * the same pipeline.
 */
public final class DeliveryList {
    static final Set<String> STATUSES = Set.of("queued", "sent", "delivered", "failed", "opted_out");

    private final MessageStore messages;
    private final DeliveryStore deliveries;

    /** Rows one filtered JSON page reads at most (ten queries), and one filtered report part (about a second's worth). */
    public static final long LIST_READ_BUDGET = 10_000, REPORT_READ_BUDGET = 100_000;
    /**
     * How long one report part reads at most: its 50,000 rows (or 100,000 read for a filter) are tens of 1 MB queries,
     * which a function with a fraction of a vCPU can take longer to parse than its 10 s; the part ends after the query
     * that goes past this, and the next part goes on from there.
     */
    public static final long REPORT_READ_MILLIS = 5_000;

    private final long listReadBudget;
    private final long reportReadBudget;
    private final long reportReadMillis;
    private final Clock clock;

    public DeliveryList(Wiring wiring) {
        this(wiring, LIST_READ_BUDGET, REPORT_READ_BUDGET, REPORT_READ_MILLIS);
    }

    /** With other read budgets than the deployed ones (tests, to see a budget end a page without 10,000 rows). */
    public DeliveryList(Wiring wiring, long listReadBudget, long reportReadBudget, long reportReadMillis) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.listReadBudget = listReadBudget;
        this.reportReadBudget = reportReadBudget;
        this.reportReadMillis = reportReadMillis;
        this.clock = wiring.clock();
    }

    /** The page the request asks for, of the account's message {@code messageId}; empty when there is no such message. */
    public Optional<ApiResponse> respond(ApiRequest request, String accountId, String messageId) {
        return respond(request, accountId, messageId, phone -> null);
    }

    /** As {@link #respond(ApiRequest, String, String)}, a row without a name of its own given {@code nameOf} its number's. */
    public Optional<ApiResponse> respond(ApiRequest request, String accountId, String messageId,
                                         java.util.function.Function<String, String> nameOf) {
        Paging paging = Paging.from(request, "status");
        String status = request.query("status").orElse(null);
        if (status != null && !STATUSES.contains(status)) throw ApiException.invalid("status must be one of " + STATUSES);
        var message = messages.get(accountId, messageId);
        // a bad cursor is a 400 even for a message that went to nobody (no rows to page through)
        if (message.isEmpty() && paging.cursor() != null) DeliveryCursor.decode(paging.cursor(), messageId, Integer.MAX_VALUE);
        return message.map(m -> page(m, paging, status, nameOf));
    }

    /** The most recipients one part of a delivery report holds. */
    public static final int REPORT_MAX_ROWS = 50_000;
    /** The report's columns; name last, so the columns of reports before it keep their places. */
    static final String REPORT_HEADER = "phone,status,error,carrierMessageId,updatedAt,name\n";

    /** One part of a delivery report: CSV text, and the cursor of the next part (null: none). */
    public record ReportPart(String csv, String nextCursor) {}

    /**
     * The message's deliveries as CSV ({@code status} narrows them, as the list's), shard after shard in number
     * order, from {@code cursor}, until the part holds {@code limit} rows or its next row would take it over
     * {@code maxBytes} as the answer carries it; the next part starts after its last row. Empty when there is no
     * such message.
     */
    public Optional<ReportPart> report(String accountId, String messageId, int limit, String cursor, String status, long maxBytes) {
        if (status != null && !STATUSES.contains(status)) throw ApiException.invalid("status must be one of " + STATUSES);
        var message = messages.get(accountId, messageId);
        if (message.isEmpty() && cursor != null) DeliveryCursor.decode(cursor, messageId, Integer.MAX_VALUE);
        return message.map(m -> report(m, limit, cursor, status, maxBytes));
    }

    private ReportPart report(GroupMessage m, int limit, String cursor, String status, long maxBytes) {
        var part = new CsvPart(REPORT_HEADER, maxBytes);
        Position from = DeliveryCursor.decode(cursor, m.id(), m.shards());
        long budget = reportReadBudget;
        long readUntil = clock.millis() + reportReadMillis;
        java.util.function.BooleanSupplier outOfTime = () -> clock.millis() >= readUntil;
        Delivery last = null;
        while (true) {
            var page = deliveries.list(m.id(), m.shards(), from, limit - part.rows(), status,
                    budget, outOfTime); // one call a part: a filtered list confirms each page's end with a query of its own
            for (Delivery d : page.deliveries()) {
                if (!part.add(row(d))) {
                    // rows go shard after shard, by number: the next part starts after the last one in this
                    return new ReportPart(part.text(), DeliveryCursor.encode(
                            new Position(DeliveryStore.shardOf(last.phone(), m.shards()), last.phone()), m.id()));
                }
                last = d;
            }
            if (page.next() == null) return new ReportPart(part.text(), null);
            from = page.next();
            budget -= page.rowsRead();
            // a full part, a filtered one that read its share of the message, or one out of its reading time: the
            // next part goes on from here
            if (part.rows() >= limit || budget <= 0 || outOfTime.getAsBoolean()) {
                return new ReportPart(part.text(), DeliveryCursor.encode(from, m.id()));
            }
        }
    }

    private static String row(Delivery d) {
        var row = MessagesJson.delivery(d);
        return row.get("phone") + "," + row.get("status") + "," + Csv.cell((String) row.get("error")) + ","
                + Csv.cell((String) row.get("carrierMessageId")) + "," + row.get("updatedAt") + "," + Csv.cell((String) row.get("name"));
    }

    private ApiResponse page(GroupMessage m, Paging paging, String status, java.util.function.Function<String, String> nameOf) {
        Position from = DeliveryCursor.decode(paging.cursor(), m.id(), m.shards());
        var page = deliveries.list(m.id(), m.shards(), from, paging.limit(), status, listReadBudget);
        String next = page.next() == null ? null : DeliveryCursor.encode(page.next(), m.id());
        List<Object> items = new ArrayList<>();
        for (Delivery d : page.deliveries()) {
            var row = MessagesJson.delivery(d);
            if (row.get("name") == null) row.put("name", nameOf.apply(d.phone()));
            items.add(row);
        }
        return ApiResponse.ok(ApiResponse.page(items, next));
    }

    /**
     * A cursor names where the next page starts: a shard and the last phone read in it (none: the shard's start, where
     * a filtered page that read its budget can end), and (since the sixth session of 2026-12-02) the message it
     * belongs to, so another message's cursor is refused rather than followed. Cursors without it, handed out
     * before, are still taken.
     */
    static final class DeliveryCursor {
        private static final Pattern E164 = Pattern.compile("\\+[1-9][0-9]{1,14}");

        private DeliveryCursor() {}

        static String encode(Position next, String messageId) {
            var map = new java.util.LinkedHashMap<String, Object>();
            map.put("s", next.shard());
            if (next.afterPhone() != null) map.put("p", next.afterPhone());
            map.put("m", tag(messageId));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(Json.write(map).getBytes(StandardCharsets.UTF_8));
        }

        /** What names the message in its cursors: short, and not the id itself. */
        private static String tag(String messageId) {
            return Sha256.hex(messageId).substring(0, 12);
        }

        static Position decode(String cursor, String messageId, int shards) {
            if (cursor == null || cursor.isEmpty()) return Position.START;
            try {
                var map = Json.parseObject(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
                int shard = ((Number) map.get("s")).intValue();
                String phone = (String) map.get("p");
                // A row's key is an E.164 number: anything else (an edited cursor) DynamoDB could refuse as a key.
                if (shard < 0 || shard >= shards || (phone != null && !E164.matcher(phone).matches())) throw new IllegalArgumentException();
                if (map.containsKey("m") && !tag(messageId).equals(map.get("m"))) {
                    throw new IllegalArgumentException("another message's cursor");
                }
                return new Position(shard, phone);
            } catch (RuntimeException e) {
                throw ApiException.invalid("cursor is not valid");
            }
        }
    }
}
