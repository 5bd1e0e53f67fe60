package groupmsg.groups;

/**
 * A broadcast audience. {@code memberCount} is maintained in the same transactions that add and remove members.
 *
 * @param lastSendAt    when the latest group message to it was accepted (0: never): member changes commit stamped after it
 * @param memberVersion how many membership changes it has seen (a message is accepted only on the version it read)
 * @param stampedTo     the latest stamp a membership change committed with (stamps only move forward, whatever the
 *                      writers' clocks)
 */
public record Group(String id, String name, String description, long memberCount, long createdAt, long updatedAt,
                    long lastSendAt, long memberVersion, long stampedTo) {}
