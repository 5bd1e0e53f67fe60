package groupmsg.carrier;

import java.util.regex.Pattern;

/** Twilio's message ids: SM (SMS) or MM (MMS) and 32 hex digits, unique across all of Twilio's accounts. */
public final class TwilioSids {
    private static final Pattern SID = Pattern.compile("(SM|MM)[0-9a-fA-F]{32}");

    /** Whether {@code sid} is one of Twilio's ids. */
    public static boolean isTwilios(String sid) {
        return SID.matcher(sid).matches();
    }

    /** Whether {@code sid} begins as Twilio's ids do but is not one (longer). */
    public static boolean beginsAsTwiliosButIsNot(String sid) {
        return SID.matcher(sid).lookingAt() && !isTwilios(sid);
    }

    private TwilioSids() {}
}
