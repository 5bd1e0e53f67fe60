package groupmsg.carrier;

/** What the carrier answered to one send. */
public sealed interface SendResult {
    /** Accepted for delivery; {@code status} is the carrier's initial status (e.g. "queued"). */
    record Accepted(String carrierMessageId, String status) implements SendResult {}

    /**
     * Refused. {@code retryable} for throttling (HTTP 429 / Twilio 20429) and carrier-side failures (5xx);
     * {@code recipientOptedOut} when the carrier says the recipient unsubscribed (Twilio 21610).
     */
    record Rejected(int httpStatus, String errorCode, String message, boolean retryable, boolean recipientOptedOut)
            implements SendResult {
        /**
         * Turned away before the carrier acted on it (HTTP 429: rate or concurrency limit), so certainly not sent;
         * a 5xx proves nothing either way.
         */
        public boolean turnedAway() {
            return httpStatus == 429;
        }
    }
}
