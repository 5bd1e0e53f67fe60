package groupmsg.groups;

/** A present member of a group. */
public record Member(String phone, String name, long addedAt) {}
