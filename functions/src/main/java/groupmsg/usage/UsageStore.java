package groupmsg.usage;

import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Billing counters in the core table, one item per account, UTC month and line:
 * {@code ACCT#a#USAGE#<YYYY-MM> / LINE#<lineId>} with {@code messages} (recipients billed), {@code segments}
 * (SMS segments) and {@code mms} (MMS sent), each moved by an atomic {@code ADD}, and the same three per kind of
 * message ({@code messages:<kind>}, ...; flat attributes, which ADD creates, where a map's entry would need the map
 * to exist first) in the same update.
 *
 * <p>{@code ADD} is not idempotent: record a recipient's usage once, when its delivery is claimed or moves to
 * sent, not on every retry. {@link #recordAction} gives the same update as one action of the transaction that
 * moves the delivery's status, so that the count and the status move together or not at all.
 */
public final class UsageStore {
    static final String LINE_PREFIX = "LINE#";

    private static final String ADD_EXPRESSION = "ADD #messages :messages, #segments :segments, #mms :mms,"
            + " #kindMessages :messages, #kindSegments :segments, #kindMms :mms SET #lineId = :lineId";

    private final DynamoDbClient dynamo;
    private final String table;

    public UsageStore(DynamoDbClient dynamo, String coreTable) {
        this.dynamo = dynamo;
        this.table = coreTable;
    }

    /**
     * Adds to the line's counters (and its {@code kind}'s) for the UTC month of {@code atEpochMillis}: one UpdateItem.
     *
     * @param kind what was sent, as a message's kind names it on the wire ({@code group}, {@code conversation}, ...)
     */
    public void record(String accountId, String lineId, String kind, long atEpochMillis, long messages, long segments,
                       long mms) {
        checkCounts(messages, segments, mms);
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, monthOf(atEpochMillis), lineId))
                .updateExpression(ADD_EXPRESSION)
                .expressionAttributeNames(names(kind))
                .expressionAttributeValues(values(lineId, messages, segments, mms)));
    }

    /** The same update as {@link #record}, as one action of a TransactWriteItems. */
    public TransactWriteItem recordAction(String accountId, String lineId, String kind, long atEpochMillis,
                                          long messages, long segments, long mms) {
        checkCounts(messages, segments, mms);
        return addAction(accountId, lineId, kind, atEpochMillis, messages, segments, mms);
    }

    /**
     * As {@link #recordAction}, taking counts back: what was billed for recipients the carrier then said it never
     * sent (Twilio's {@code failed}, which it does not charge), in the month they were billed.
     */
    public TransactWriteItem refundAction(String accountId, String lineId, String kind, long billedAtEpochMillis,
                                          long messages, long segments, long mms) {
        checkCounts(messages, segments, mms);
        return addAction(accountId, lineId, kind, billedAtEpochMillis, -messages, -segments, -mms);
    }

    /** The line's (and kind's) counters of the month of {@code atEpochMillis} plus these counts, as one action. */
    private TransactWriteItem addAction(String accountId, String lineId, String kind, long atEpochMillis,
                                        long messages, long segments, long mms) {
        return TransactWriteItem.builder().update(u -> u.tableName(table)
                .key(key(accountId, monthOf(atEpochMillis), lineId))
                .updateExpression(ADD_EXPRESSION)
                .expressionAttributeNames(names(kind))
                .expressionAttributeValues(values(lineId, messages, segments, mms))).build();
    }

    /** Counters: recipients billed, SMS segments, MMS. */
    public record Counts(long messages, long segments, long mms) {}

    /**
     * One line's counters in one month, and its kinds' (those recorded since usage had kinds: their sum can be less
     * than the line's), by kind in name order.
     */
    public record LineCounts(String lineId, long messages, long segments, long mms, Map<String, Counts> byKind) {}

    /** Every line's counters of the account in {@code month}, in line id order (oldest line first). */
    public List<LineCounts> month(String accountId, YearMonth month) {
        List<LineCounts> out = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            QueryResponse page = dynamo.query(b -> b.tableName(table)
                    .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                    .expressionAttributeValues(Map.of(":pk", s(partition(accountId, month.toString())),
                            ":prefix", s(LINE_PREFIX)))
                    .consistentRead(true) // a message just settled is counted (its status shows it sent already)
                    .exclusiveStartKey(from));
            for (var item : page.items()) {
                out.add(new LineCounts(Attr.str(item, "sk").substring(LINE_PREFIX.length()),
                        Attr.num(item, "messages", 0), Attr.num(item, "segments", 0), Attr.num(item, "mms", 0),
                        byKind(item)));
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return out;
    }

    /** The UTC month of an instant, as {@code YYYY-MM}. */
    public static String monthOf(long epochMillis) {
        return YearMonth.from(Instant.ofEpochMilli(epochMillis).atOffset(ZoneOffset.UTC)).toString();
    }

    static String partition(String accountId, String month) {
        return Attr.accountPk(accountId) + "#USAGE#" + month;
    }

    static Map<String, AttributeValue> key(String accountId, String month, String lineId) {
        return Attr.key(partition(accountId, month), LINE_PREFIX + lineId);
    }

    private static Map<String, String> names(String kind) {
        if (kind == null || kind.isEmpty() || kind.contains(":")) throw new IllegalArgumentException("bad usage kind " + kind);
        var names = new HashMap<String, String>(Map.of("#messages", "messages", "#segments", "segments", "#mms", "mms",
                "#lineId", "lineId"));
        names.put("#kindMessages", "messages:" + kind);
        names.put("#kindSegments", "segments:" + kind);
        names.put("#kindMms", "mms:" + kind);
        return names;
    }

    private static Map<String, Counts> byKind(Map<String, AttributeValue> item) {
        Map<String, Counts> kinds = new TreeMap<>();
        for (String attribute : item.keySet()) {
            if (!attribute.startsWith("messages:")) continue;
            String kind = attribute.substring("messages:".length());
            kinds.put(kind, new Counts(Attr.num(item, "messages:" + kind, 0), Attr.num(item, "segments:" + kind, 0),
                    Attr.num(item, "mms:" + kind, 0)));
        }
        return kinds;
    }

    private static Map<String, AttributeValue> values(String lineId, long messages, long segments, long mms) {
        return Map.of(":messages", n(messages), ":segments", n(segments), ":mms", n(mms), ":lineId", s(lineId));
    }

    private static void checkCounts(long messages, long segments, long mms) {
        if (messages < 0 || segments < 0 || mms < 0) {
            throw new IllegalArgumentException("usage counts must not be negative");
        }
    }
}
