package groupmsg.messages;

/**
 * How a text travels as SMS: GSM-7 when every character is in the GSM 03.38 basic set or its extension table
 * (extension characters take two septets), else UCS-2 (UTF-16 units; a character outside the BMP takes two).
 * One segment holds 160 septets / 70 units; a concatenated message holds 153 / 67 per segment, and a segment
 * never splits an extension escape pair or a surrogate pair.
 */
public record SmsText(Encoding encoding, int segments, int units) {

    public enum Encoding {
        GSM_7("GSM-7"), UCS_2("UCS-2");

        private final String wire;

        Encoding(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }
    }

    private static final String GSM_BASIC =
            "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001BÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                    + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    private static final String GSM_EXTENSION = "^{}\\[~]|€\f";

    public static SmsText of(String text) {
        boolean gsm = true;
        for (int i = 0; i < text.length() && gsm; i++) {
            char c = text.charAt(i);
            gsm = c != '\u001B' && (GSM_BASIC.indexOf(c) >= 0 || GSM_EXTENSION.indexOf(c) >= 0);
        }
        return gsm ? gsm7(text) : ucs2(text);
    }

    private static SmsText gsm7(String text) {
        int septets = 0;
        for (int i = 0; i < text.length(); i++) septets += GSM_EXTENSION.indexOf(text.charAt(i)) >= 0 ? 2 : 1;
        if (septets <= 160) return new SmsText(Encoding.GSM_7, 1, septets);
        int segments = 1;
        int used = 0;
        for (int i = 0; i < text.length(); i++) {
            int width = GSM_EXTENSION.indexOf(text.charAt(i)) >= 0 ? 2 : 1;
            if (used + width > 153) {
                segments++;
                used = 0;
            }
            used += width;
        }
        return new SmsText(Encoding.GSM_7, segments, septets);
    }

    private static SmsText ucs2(String text) {
        int units = text.length();
        if (units <= 70) return new SmsText(Encoding.UCS_2, 1, units);
        int segments = 1;
        int used = 0;
        for (int i = 0; i < text.length(); i++) {
            int width = Character.isHighSurrogate(text.charAt(i)) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1)) ? 2 : 1;
            if (used + width > 67) {
                segments++;
                used = 0;
            }
            used += width;
            i += width - 1;
        }
        return new SmsText(Encoding.UCS_2, segments, units);
    }
}
