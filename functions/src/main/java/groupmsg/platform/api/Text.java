package groupmsg.platform.api;

/** What the API accepts in text it stores and sends: no control characters but tab and line breaks. */
public final class Text {
    /** The reason given for text with a control character in it. */
    public static final String CONTROL_CHARACTER_PROBLEM = "must not contain control characters (tab and line breaks are allowed)";

    private Text() {
    }

    /**
     * Whether the text holds a control character other than tab, line feed and carriage return: NUL, escape, DEL and
     * the C1 range have no place in a name or an SMS, and would reach carriers, consoles and logs as they are.
     */
    public static boolean hasControlCharacter(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) && c != '\t' && c != '\n' && c != '\r') return true;
        }
        return false;
    }
}
