package groupmsg.carrier;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a carrier's error code says about the recipient's number. Twilio's codes (the carriers to come map theirs
 * onto the same meanings).
 */
public final class CarrierErrors {
    /**
     * The number can never receive a text, however often it is tried: 21211 not a valid phone number, 21614 not a
     * mobile number (a landline; refused at the send), 30005 unknown destination handset (the number does not exist),
     * 30006 landline or unreachable carrier (after the send). Not 30003 (unreachable: a phone switched off, which
     * comes back), 30004/30007 (blocked or filtered: the content or the sender, not the number), 21610 (the recipient
     * unsubscribed: an opt-out, handled as one) nor 21408/21612 (the sender's permissions or routing).
     */
    private static final Set<String> NUMBER_CANNOT_RECEIVE = Set.of("21211", "21614", "30005", "30006");

    /**
     * The line cannot send at all, whoever the recipient: 30032 (a toll-free number not verified) and 30034 (a US long
     * code not registered for A2P 10DLC). Twilio accepts such a message and fails it afterwards, in its status
     * callback: every recipient of every message from the line fails so until the registration is mended.
     */
    private static final Set<String> SENDER_NOT_REGISTERED = Set.of("30032", "30034");

    /**
     * The carrier account, or the line's rate, stopped the message after Twilio accepted it, whoever the recipient:
     * 30002 the account suspended (a negative balance, a review), 63038 the account's daily message limit (a trial's or
     * a new account's), 30001 the sender's queue overflowed (sent faster than the number's throughput: the line's
     * {@code mps} set too high). As the send's own refusals of the sender (20003, 20005, 21611), each wants a person;
     * the recipient is failed as the carrier says.
     */
    private static final Set<String> SENDING_STOPPED = Set.of("30001", "30002", "63038");

    /** The code in an error we record ({@code "carrier <code>"} or {@code "carrier <code>: <message>"}). */
    private static final Pattern RECORDED = Pattern.compile("^carrier ([0-9]{3,6})(?::.*)?$", Pattern.DOTALL);

    private CarrierErrors() {}

    /** Whether the carrier's error code means the number cannot receive texts at all. */
    public static boolean numberCannotReceive(String errorCode) {
        return errorCode != null && NUMBER_CANNOT_RECEIVE.contains(errorCode);
    }

    /** Whether the carrier's error code says the recipient unsubscribed (Twilio 21610): an opt-out, handled as one. */
    public static boolean recipientUnsubscribed(String errorCode) {
        return TwilioCarrier.ERROR_UNSUBSCRIBED_RECIPIENT.equals(errorCode);
    }

    /** Whether the carrier's error code says the sending line is not registered (or verified) to send at all. */
    public static boolean senderNotRegistered(String errorCode) {
        return errorCode != null && SENDER_NOT_REGISTERED.contains(errorCode);
    }

    /**
     * Whether a receipt's error code fails the message for the sender's reason, not the recipient's: a line not
     * registered ({@link #senderNotRegistered}), the carrier account stopped or the line's queue overflowing: every
     * later message would fail so until a person mends it.
     */
    public static boolean senderStoppedAfterSend(String errorCode) {
        return senderNotRegistered(errorCode) || errorCode != null && SENDING_STOPPED.contains(errorCode);
    }

    /** The carrier's code in an error as a delivery row records it; empty for any other error. */
    public static Optional<String> codeOf(String recordedError) {
        if (recordedError == null) return Optional.empty();
        Matcher m = RECORDED.matcher(recordedError);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }
}
