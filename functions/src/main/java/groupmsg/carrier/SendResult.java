package groupmsg.carrier;

/** What the carrier answered to one send. */
public sealed interface SendResult {
    /** Accepted for delivery; {@code status} is the carrier's initial status (e.g. "queued"). */
    record Accepted(String carrierMessageId, String status) implements SendResult {}

    /**
     * Refused: nothing was sent. {@code retryable} when the carrier turned the request away before acting on it
     * (HTTP 429 / Twilio 20429, HTTP 503), so trying again cannot send it twice; {@code recipientOptedOut} when the
     * carrier says the recipient unsubscribed (Twilio 21610); {@code senderRefused} when the refusal is of the
     * sender, not the recipient (credentials, a suspended account, a number that is not the account's or cannot send,
     * its queue full): every message from the line would be refused alike until someone mends it, so none of its
     * recipients is failed for it. An answer that leaves open whether the message was sent (another 5xx) is not a
     * refusal: the carrier port throws, as for a cut-off answer.
     */
    record Rejected(int httpStatus, String errorCode, String message, boolean retryable, boolean recipientOptedOut,
                    boolean senderRefused) implements SendResult {
        public Rejected(int httpStatus, String errorCode, String message, boolean retryable, boolean recipientOptedOut) {
            this(httpStatus, errorCode, message, retryable, recipientOptedOut, false);
        }
    }
}
