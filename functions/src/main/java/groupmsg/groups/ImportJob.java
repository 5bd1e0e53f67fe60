package groupmsg.groups;

/**
 * Progress of one CSV import; {@code updated} counts those of {@code alreadyMembers} whose name the import changed.
 */
public record ImportJob(String id, String groupId, String status, long total, long processed, long added,
                        long alreadyMembers, long updated, long invalidCount, String error, long createdAt) {
    public static final String RUNNING = "running";
    public static final String DONE = "done";
    public static final String FAILED = "failed";
}
