package groupmsg.groups;

/**
 * A broadcast audience. {@code memberCount} is maintained in the same transactions that add and remove members.
 *
 * @param lastSendAt when the latest group message to it was accepted (0: never): member changes commit stamped after it
 */
public record Group(String id, String name, String description, long memberCount, long createdAt, long updatedAt,
                    long lastSendAt) {}
