package groupmsg.carrier;

/** What the carrier answered to one send. */
public sealed interface SendResult {
    /** Accepted for delivery; {@code status} is the carrier's initial status (e.g. "queued"). */
    record Accepted(String carrierMessageId, String status) implements SendResult {}

    /**
     * Refused: nothing was sent. {@code retryable} when the carrier turned the request away before acting on it
     * (HTTP 429 / Twilio 20429, HTTP 503), so trying again cannot send it twice; {@code recipientOptedOut} when the
     * carrier says the recipient unsubscribed (Twilio 21610). An answer that leaves open whether the message was
     * sent (another 5xx) is not a refusal: the carrier port throws, as for a cut-off answer.
     */
    record Rejected(int httpStatus, String errorCode, String message, boolean retryable, boolean recipientOptedOut)
            implements SendResult {}
}
