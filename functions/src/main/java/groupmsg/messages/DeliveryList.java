package groupmsg.messages;

import groupmsg.platform.Sha256;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.Paging;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Tables;

import java.nio.charset.StandardCharsets;
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

    public DeliveryList(Wiring wiring) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.messages = new MessageStore(ops, wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
    }

    /** The page the request asks for, of the account's message {@code messageId}; empty when there is no such message. */
    public Optional<ApiResponse> respond(ApiRequest request, String accountId, String messageId) {
        Paging paging = Paging.from(request);
        String status = request.query("status").orElse(null);
        if (status != null && !STATUSES.contains(status)) throw ApiException.invalid("status must be one of " + STATUSES);
        var message = messages.get(accountId, messageId);
        // a bad cursor is a 400 even for a message that went to nobody (no rows to page through)
        if (message.isEmpty() && paging.cursor() != null) DeliveryCursor.decode(paging.cursor(), messageId, Integer.MAX_VALUE);
        return message.map(m -> page(m, paging, status));
    }

    private ApiResponse page(GroupMessage m, Paging paging, String status) {
        DeliveryCursor from = DeliveryCursor.decode(paging.cursor(), m.id(), m.shards());
        var page = deliveries.list(m.id(), m.shards(), from.shard(), from.afterPhone(), paging.limit(), status);
        String next = page.lastPhone() == null ? null : new DeliveryCursor(page.shard(), page.lastPhone()).encode(m.id());
        List<Object> items = new ArrayList<>();
        page.deliveries().forEach(d -> items.add(MessagesJson.delivery(d)));
        return ApiResponse.ok(ApiResponse.page(items, next));
    }

    /**
     * Where a page ended: a shard and the last phone read in it, and (since the sixth session of 2026-12-02) the
     * message it belongs to, so another message's cursor is refused rather than followed. Cursors without it, handed
     * out before, are still taken.
     */
    record DeliveryCursor(int shard, String afterPhone) {
        private static final Pattern E164 = Pattern.compile("\\+[1-9][0-9]{1,14}");

        String encode(String messageId) {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    Json.write(Map.of("s", shard, "p", afterPhone, "m", tag(messageId))).getBytes(StandardCharsets.UTF_8));
        }

        /** What names the message in its cursors: short, and not the id itself. */
        private static String tag(String messageId) {
            return Sha256.hex(messageId).substring(0, 12);
        }

        static DeliveryCursor decode(String cursor, String messageId, int shards) {
            if (cursor == null || cursor.isEmpty()) return new DeliveryCursor(0, null);
            try {
                var map = Json.parseObject(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
                int shard = ((Number) map.get("s")).intValue();
                String phone = (String) map.get("p");
                // A row's key is an E.164 number: anything else (an edited cursor) DynamoDB could refuse as a key.
                if (shard < 0 || shard >= shards || phone == null || !E164.matcher(phone).matches()) throw new IllegalArgumentException();
                if (map.containsKey("m") && !tag(messageId).equals(map.get("m"))) {
                    throw new IllegalArgumentException("another message's cursor");
                }
                return new DeliveryCursor(shard, phone);
            } catch (RuntimeException e) {
                throw ApiException.invalid("cursor is not valid");
            }
        }
    }
}
