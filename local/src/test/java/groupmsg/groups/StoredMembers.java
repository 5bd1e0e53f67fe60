package groupmsg.groups;

import groupmsg.platform.config.Wiring;

import java.util.List;

/** Tests' way to store members as an earlier version did, past today's validation (a number it took then). */
public final class StoredMembers {
    private StoredMembers() {}

    /** Adds {@code phones} (nameless) to the group in one transaction with its count, as an add then did. */
    public static void storeAsBefore(Wiring wiring, String accountId, String groupId, List<String> phones) {
        new GroupService(wiring).memberStore().addUnit(accountId, groupId,
                phones.stream().map(p -> new MemberStore.Candidate(p, null)).toList(), null, wiring.clock().millis());
    }
}
