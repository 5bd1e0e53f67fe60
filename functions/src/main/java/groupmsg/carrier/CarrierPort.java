package groupmsg.carrier;

/** Sends one message through a carrier, and finds one it sent. Implementations: {@link TwilioCarrier} (the local emulator speaks the same API). */
public interface CarrierPort {
    /**
     * Asks the carrier to send. A clear answer is a {@link SendResult}. Throws {@link java.io.UncheckedIOException}
     * when the carrier could not be reached (the cause a {@link java.net.ConnectException} or
     * {@link java.net.http.HttpConnectTimeoutException}: nothing was sent), and when the answer was cut off or leaves
     * open whether the message was sent (a 5xx other than 503, a 2xx other than 200/201): then it may or may not
     * have been.
     */
    SendResult send(OutboundMessage message);

    /**
     * Asks the carrier whether it holds a message we may have sent (see {@link SentLookup}). Never throws for the
     * carrier's own failures: those are {@link SentLookup.Unanswered}. A carrier that cannot be asked answers so.
     */
    default SentLookup findSent(SentLookup.Query query) {
        return new SentLookup.Unanswered("this carrier cannot be asked what it sent", true);
    }

    /**
     * Asks the carrier what became of a message it took, by the id it gave ({@link SendResult.Accepted}): Found with
     * its status now, NotFound when it holds no message with that id, Unanswered when it could not say. Asked when a
     * final status callback is overdue (it was lost on the way, or never sent). Never throws for the carrier's own
     * failures.
     */
    default SentLookup findById(String carrierMessageId) {
        return new SentLookup.Unanswered("this carrier cannot be asked what became of a message", true);
    }

    /** Prepares what a first send needs, without sending anything (SnapStart priming). */
    default void prime() {}
}
