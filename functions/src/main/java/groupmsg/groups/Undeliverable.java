package groupmsg.groups;

import groupmsg.platform.dynamo.Attr;
import java.util.Map;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * A member whose number the carrier said can never receive a text (a landline, a number that does not exist): later
 * group messages to the group skip it until someone clears the mark.
 *
 * @param error     the delivery's error that marked it ({@code carrier 30006}, {@code carrier 21614: ...})
 * @param messageId the group message whose delivery failed so
 * @param since     when it was marked (epoch ms)
 */
public record Undeliverable(String error, String messageId, long since) {
    /** The membership row's attribute. */
    static final String ATTRIBUTE = "undeliverable";
    /** When a person last cleared the mark: a failure of a message accepted before then does not mark it again. */
    static final String CLEARED_AT = "undeliverableClearedAt";

    AttributeValue toAttribute() {
        return AttributeValue.fromM(Map.of("error", Attr.s(error), "messageId", Attr.s(messageId), "at", Attr.n(since)));
    }

    /**
     * The error as a skipped delivery names it: the carrier's code alone ({@code carrier 21614}) when it has one, else
     * the error cut short. Delivery jobs carry it for every marked member of theirs, so it stays small.
     */
    public String brief() {
        return groupmsg.carrier.CarrierErrors.codeOf(error).map(code -> "carrier " + code)
                .orElseGet(() -> groupmsg.platform.api.Text.cut(error, 60));
    }

    /** The mark on a membership row; null when it has none. */
    static Undeliverable of(Map<String, AttributeValue> row) {
        AttributeValue v = row.get(ATTRIBUTE);
        if (v == null || !v.hasM()) return null;
        var m = v.m();
        return new Undeliverable(Attr.str(m, "error"), Attr.str(m, "messageId"), Attr.num(m, "at", 0));
    }
}
