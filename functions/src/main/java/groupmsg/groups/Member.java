package groupmsg.groups;

/** A present member of a group; {@code undeliverable} null unless its number was found unable to receive texts. */
public record Member(String phone, String name, long addedAt, Undeliverable undeliverable) {}
