package groupmsg.platform.queue;

/**
 * A job's failure that is part of the normal flow, not a fault: the job waits for its line's room, or for a
 * carrier whose trouble was logged where it happened. Its queue brings it back all the same, but it is not logged as
 * a failed job ({@link groupmsg.platform.Log#jobFailed}), whose alarm is for faults.
 */
public interface ExpectedRetry {
}
