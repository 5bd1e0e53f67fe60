package groupmsg.messages;

import groupmsg.carrier.CarrierErrors;
import groupmsg.groups.UndeliverableMembers;
import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.schema.Tables;

import java.util.List;
import java.util.Map;

/**
 * A group message's recipients whose number cannot receive texts, marked in the group wherever a delivery is found
 * to have failed so: at the send (the delivery worker), in a receipt (the receipt worker, maintenance's overdue
 * checks), in the carrier's record (maintenance). Only group messages mark; a mark that cannot be written is logged
 * ({@code undeliverable_not_marked}) and made by the number's next failure: the delivery's own outcome comes first.
 */
final class UndeliverableRecipients {
    private final Lazy<UndeliverableMembers> members;

    /** @param members built at the first mark (rare) */
    UndeliverableRecipients(Lazy<UndeliverableMembers> members) {
        this.members = members;
    }

    static UndeliverableRecipients of(Wiring wiring) {
        return new UndeliverableRecipients(new Lazy<>(() ->
                new UndeliverableMembers(wiring.dynamo(), wiring.config().table(Tables.MEMBERS))));
    }

    /** Whether a delivery row's error ({@code carrier <code>[: ...]}) says the number cannot receive texts. */
    static boolean cannotReceive(String recordedError) {
        return CarrierErrors.codeOf(recordedError).filter(CarrierErrors::numberCannotReceive).isPresent();
    }

    /** Marks {@code phone} in {@code m}'s group when {@code m} is a group message and the error says so. */
    void markIfCannotReceive(GroupMessage m, String phone, String error, long at) {
        if (m.kind() != MessageKind.GROUP || !cannotReceive(error)) return;
        // 30006 from a short code is also a carrier that takes no short codes (some prepaid and smaller carriers):
        // the number may well get the group's messages from a long code, so it is not marked for them all
        if (!m.linePhone().startsWith("+") && CarrierErrors.codeOf(error).filter("30006"::equals).isPresent()) return;
        try {
            members.get().mark(m.accountId(), m.groupId(), phone, m.acceptedAt(), m.id(), error, at);
        } catch (RuntimeException e) {
            Log.error("undeliverable_not_marked", Map.of("messageId", m.id()), e);
        }
    }

    /** Those of {@code phones} marked in {@code m}'s group (none for other kinds of message), to be skipped. */
    Map<String, String> marked(GroupMessage m, List<String> phones) {
        if (m.kind() != MessageKind.GROUP || phones.isEmpty()) return Map.of();
        return members.get().marked(m.accountId(), m.groupId(), phones);
    }
}
