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
import java.util.List;
import java.util.Map;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Billing counters in the core table, one item per account, UTC month and line:
 * {@code ACCT#a#USAGE#<YYYY-MM> / LINE#<lineId>} with {@code messages} (recipients billed), {@code segments}
 * (SMS segments) and {@code mms} (MMS sent), each moved by an atomic {@code ADD}.
 *
 * <p>{@code ADD} is not idempotent: record a recipient's usage once, when its delivery is claimed or moves to
 * sent, not on every retry. {@link #recordAction} gives the same update as one action of the transaction that
 * moves the delivery's status, so that the count and the status move together or not at all.
 */
public final class UsageStore {
    static final String LINE_PREFIX = "LINE#";

    private static final String ADD_EXPRESSION = "ADD #messages :messages, #segments :segments, #mms :mms"
            + " SET #lineId = :lineId";
    private static final Map<String, String> NAMES = Map.of("#messages", "messages", "#segments", "segments",
            "#mms", "mms", "#lineId", "lineId");

    private final DynamoDbClient dynamo;
    private final String table;

    public UsageStore(DynamoDbClient dynamo, String coreTable) {
        this.dynamo = dynamo;
        this.table = coreTable;
    }

    /** Adds to the line's counters for the UTC month of {@code atEpochMillis}: one UpdateItem. */
    public void record(String accountId, String lineId, long atEpochMillis, long messages, long segments, long mms) {
        checkCounts(messages, segments, mms);
        dynamo.updateItem(b -> b.tableName(table).key(key(accountId, monthOf(atEpochMillis), lineId))
                .updateExpression(ADD_EXPRESSION)
                .expressionAttributeNames(NAMES)
                .expressionAttributeValues(values(lineId, messages, segments, mms)));
    }

    /** The same update as {@link #record}, as one action of a TransactWriteItems. */
    public TransactWriteItem recordAction(String accountId, String lineId, long atEpochMillis, long messages,
                                          long segments, long mms) {
        checkCounts(messages, segments, mms);
        return TransactWriteItem.builder().update(u -> u.tableName(table)
                .key(key(accountId, monthOf(atEpochMillis), lineId))
                .updateExpression(ADD_EXPRESSION)
                .expressionAttributeNames(NAMES)
                .expressionAttributeValues(values(lineId, messages, segments, mms))).build();
    }

    /** One line's counters in one month. */
    public record LineCounts(String lineId, long messages, long segments, long mms) {}

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
                    .exclusiveStartKey(from));
            for (var item : page.items()) {
                out.add(new LineCounts(Attr.str(item, "sk").substring(LINE_PREFIX.length()),
                        Attr.num(item, "messages", 0), Attr.num(item, "segments", 0), Attr.num(item, "mms", 0)));
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

    private static Map<String, AttributeValue> values(String lineId, long messages, long segments, long mms) {
        return Map.of(":messages", n(messages), ":segments", n(segments), ":mms", n(mms), ":lineId", s(lineId));
    }

    private static void checkCounts(long messages, long segments, long mms) {
        if (messages < 0 || segments < 0 || mms < 0) {
            throw new IllegalArgumentException("usage counts must not be negative");
        }
    }
}
