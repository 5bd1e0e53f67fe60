package groupmsg.messages;

import groupmsg.usage.UsageStore;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

/** What recipients the carrier took cost: one message each, and the message's segments (SMS) or one MMS each. */
final class Billing {
    private Billing() {}

    /** The usage update for {@code recipients} of {@code m} the carrier took, to commit with their rows' transitions. */
    static TransactWriteItem carrierTook(UsageStore usage, GroupMessage m, long at, long recipients) {
        return usage.recordAction(m.accountId(), m.lineId(), m.kind().wireName(), at, recipients,
                m.mms() ? 0 : recipients * m.segments(), m.mms() ? recipients : 0);
    }

    /** The usage update taking back what {@link #carrierTook} billed at {@code billedAt} for {@code recipients}. */
    static TransactWriteItem carrierRefunded(UsageStore usage, GroupMessage m, long billedAt, long recipients) {
        return usage.refundAction(m.accountId(), m.lineId(), m.kind().wireName(), billedAt, recipients,
                m.mms() ? 0 : recipients * m.segments(), m.mms() ? recipients : 0);
    }
}
