package groupmsg.platform;

/**
 * Names of failures a function handles and logs with a {@code metric} field that the deployed stack pages on (it
 * counts them from the logs): some on the first, each wanting a person; some when they last, as each says. One place,
 * so that the alarms and the log lines agree.
 */
public final class HandledFailures {
    /**
     * The carrier refused a line as a sender (credentials, account, number): its messages wait, queued; or failed a
     * line's messages afterwards as not registered to send (30034, 30032): each recipient fails until it is mended.
     */
    public static final String CARRIER_REFUSED_SENDER = "CarrierRefusedSender";
    /**
     * Maintenance gave rows an hour in sending up as outcome unknown because the carrier would not answer its lookups
     * (credentials, read access to Messages, an outage), and asks about the rest no sooner than it answers.
     */
    public static final String CARRIER_LOOKUPS_FAILING = "CarrierLookupsFailing";
    /**
     * A carrier webhook came signed but its signature did not verify: a {@code publicBaseUrl} other than the URL
     * Twilio calls, an auth token changed at Twilio and not here (or none configured): every inbound text (STOPs among
     * them) and receipt is refused, and Twilio does not send them again.
     */
    public static final String WEBHOOK_SIGNATURE_MISMATCH = "WebhookSignatureMismatch";

    /**
     * A queue worker failed a job for a fault ({@link Log#jobFailed}), or maintenance one message's repair, a relay
     * redrive or a receipt check (the run goes on and does not fail for it); paged when it happens in 3 of 10 minutes
     * (a broken deploy, a missing permission, a table or topic that refuses), not on a passing throttle.
     */
    public static final String JOB_FAILED = "JobFailed";
    /**
     * The carrier turned a job's sends away on their every try (throttled, unreachable): its recipients wait,
     * queued; paged when it happens in 3 of 10 minutes.
     */
    public static final String CARRIER_UNAVAILABLE = "CarrierUnavailable";
    /**
     * A maintenance run could not do its minute's work: the message sweep ran out of its time (repairs, completions
     * and lookups left for the next), or the overdue receipts' step had no time left at all. A run now and then is
     * a burst; paged when it lasts, 10 of 15 minutes (a backlog growing faster than the runs clear it, every alarm
     * else quiet: receipt checks starved for 7 days expire, their rows {@code sent} for good).
     */
    public static final String MAINTENANCE_BEHIND = "MaintenanceBehind";

    private HandledFailures() {}
}
