package groupmsg.platform.dynamo;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.Map;

/** Short builders and readers for DynamoDB attribute values. */
public final class Attr {
    private Attr() {}

    public static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }

    public static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }

    /** A decimal number as DynamoDB keeps it: {@code 20} for a whole one (as {@link #n(long)} writes it), else {@code 1.25}. */
    public static AttributeValue n(double value) {
        return AttributeValue.fromN(java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString());
    }

    public static AttributeValue bool(boolean value) {
        return AttributeValue.fromBool(value);
    }

    public static String str(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null ? null : v.s();
    }

    public static long num(Map<String, AttributeValue> item, String name, long fallback) {
        AttributeValue v = item.get(name);
        return v == null || v.n() == null ? fallback : Long.parseLong(v.n());
    }

    /** A number that may have a fraction (a line's rate). */
    public static double decimal(Map<String, AttributeValue> item, String name, double fallback) {
        AttributeValue v = item.get(name);
        return v == null || v.n() == null ? fallback : Double.parseDouble(v.n());
    }

    public static Long numOrNull(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null || v.n() == null ? null : Long.parseLong(v.n());
    }

    public static boolean flag(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v != null && Boolean.TRUE.equals(v.bool());
    }

    /**
     * The partition key of an account's own items, and the prefix of every other key of tenant data
     * ({@code ACCT#<accountId>#...}): the account id always comes from the authorizer.
     */
    public static String accountPk(String accountId) {
        return "ACCT#" + accountId;
    }

    public static Map<String, AttributeValue> key(String pk, String sk) {
        return Map.of("pk", s(pk), "sk", s(sk));
    }
}
