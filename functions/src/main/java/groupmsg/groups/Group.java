package groupmsg.groups;

/** A broadcast audience. {@code memberCount} is maintained in the same transactions that add and remove members. */
public record Group(String id, String name, String description, long memberCount, long createdAt, long updatedAt) {}
