package groupmsg.carrier;

/** Sends one message through a carrier. Implementations: {@link TwilioCarrier} (the local emulator speaks the same API). */
public interface CarrierPort {
    /**
     * Asks the carrier to send; never throws for a carrier's answer (that is a {@link SendResult}). Throws
     * {@link java.io.UncheckedIOException} only when the carrier could not be reached or the answer was cut off,
     * in which case the message may or may not have been accepted.
     */
    SendResult send(OutboundMessage message);

    /** Prepares what a first send needs, without sending anything (SnapStart priming). */
    default void prime() {}
}
