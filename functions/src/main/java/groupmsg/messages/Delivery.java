package groupmsg.messages;

/**
 * One recipient's delivery of a group message.
 *
 * @param claimedAt when a worker last claimed it for sending (just before the carrier was called): null while it was
 *                  never claimed, and on rows claimed before this was kept
 * @param name      the member's name in the group as the fan-out read it, moments after the message was accepted
 *                  (null: none, not a group message, or a row written before names were kept)
 */
public record Delivery(String phone, String status, String carrierMessageId, String error, long updatedAt, Long claimedAt,
                       String name) {
    public static final String QUEUED = "queued";
    public static final String SENDING = "sending";
    public static final String SENT = "sent";
    public static final String DELIVERED = "delivered";
    public static final String FAILED = "failed";
    public static final String OPTED_OUT = "opted_out";
    /**
     * The error of a row maintenance failed after it stayed in sending and the carrier could not say for an hour
     * whether it holds the message: it may well have taken it, and a final receipt that comes after all still settles
     * it (and bills it). The text is matched as it is stored: never reword it.
     */
    public static final String OUTCOME_UNKNOWN =
            "delivery outcome unknown: claimed for sending, but no answer of the carrier was recorded (the worker stopped,"
                    + " or the answer was lost or unclear) and no receipt came; it may not have been sent, and is not resent"
                    + " so that nobody gets it twice";

    /** Status only moves forward: queued -> sending -> sent -> delivered | failed; opted_out is terminal. */
    static int rank(String status) {
        return switch (status) {
            case QUEUED -> 0;
            case SENDING -> 1;
            case SENT -> 2;
            case DELIVERED, FAILED, OPTED_OUT -> 3;
            default -> -1;
        };
    }
}
