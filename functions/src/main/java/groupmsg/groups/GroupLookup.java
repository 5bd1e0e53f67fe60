package groupmsg.groups;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;

import java.util.Optional;

/**
 * Whether the account has a group, for a function that otherwise has nothing to do with groups (the admin API setting
 * up a line's keywords): the group's row alone, without {@link GroupService}'s members table and queue client.
 */
public final class GroupLookup {
    private final GroupStore groups;

    public GroupLookup(Wiring wiring) {
        this.groups = new GroupStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
    }

    /**
     * Of {@code groupIds}, those that are no group of the account now (deleted since; null among them for none):
     * one BatchGetItem per 100.
     */
    public java.util.Set<String> gone(String accountId, java.util.Collection<String> groupIds) {
        var found = groups.getAll(accountId, groupIds);
        var gone = new java.util.HashSet<String>();
        for (String id : groupIds) if (!found.containsKey(id)) gone.add(id);
        return gone;
    }

    /** The account's group; empty for an unknown id, another account's or one deleted. */
    public Optional<Group> find(String accountId, String groupId) {
        if (groupId == null || !groupId.startsWith("grp_")) return Optional.empty();
        return groups.get(accountId, groupId);
    }
}
