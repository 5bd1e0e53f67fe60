package groupmsg.platform.api;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What the API accepts in text it stores and sends: well-formed Unicode without control characters but tab and line
 * breaks.
 */
public final class Text {
    /** The reason given for text with a control character in it. */
    public static final String CONTROL_CHARACTER_PROBLEM = "must not contain control characters (tab and line breaks are allowed)";
    /** The reason given for text with half of a UTF-16 surrogate pair (JSON can carry one as a lone escape, "\ud800"). */
    public static final String UNPAIRED_SURROGATE_PROBLEM = "must be valid Unicode (it has an unpaired surrogate escape)";

    /** The reason given for a name (or a sender) with a line break in it. */
    public static final String LINE_BREAK_PROBLEM = "must be one line (no line breaks)";

    private Text() {
    }

    /**
     * Why text meant as a name cannot be taken ({@link #problem}, or {@link #nameShapeProblem}), or null when it can.
     */
    public static String nameProblem(String text) {
        String problem = problem(text);
        return problem != null ? problem : nameShapeProblem(text);
    }

    /**
     * Leading and trailing invisible characters: white space, zero-width space, byte-order mark, word joiner, the
     * left-to-right and right-to-left marks, the Mongolian vowel separator. Not every format character: a flag's tag
     * characters (England's, Scotland's) end a name and are part of it.
     */
    private static boolean invisible(int c) {
        return whiteSpace(c) || c == 0x200B || c == 0xFEFF || c == 0x2060 || c == 0x200E || c == 0x200F || c == 0x180E;
    }

    /** Unicode's White_Space: the separators (a no-break space too), tab to carriage return, and NEL. */
    public static boolean whiteSpace(int c) {
        return Character.isSpaceChar(c) || c >= 0x09 && c <= 0x0D || c == 0x85;
    }

    /**
     * {@code text} without the characters {@code drop} takes at its ends. A scan from each end, not a pattern: a
     * pattern anchored at the end retries from every character of a run inside the text, quadratic in a long run (a
     * 2 MB body of spaces between two letters would hold a function for minutes).
     */
    public static String stripEnds(String text, java.util.function.IntPredicate drop) {
        int start = 0;
        while (start < text.length() && drop.test(text.codePointAt(start))) start += Character.charCount(text.codePointAt(start));
        return withoutTrailing(text.substring(start), drop);
    }

    /** {@code text} without the run of characters {@code drop} takes at its end (a scan back from it, as {@link #stripEnds}). */
    public static String withoutTrailing(String text, java.util.function.IntPredicate drop) {
        int end = text.length();
        while (end > 0 && drop.test(text.codePointBefore(end))) end -= Character.charCount(text.codePointBefore(end));
        return text.substring(0, end);
    }

    /**
     * {@code text} without invisible characters at its ends (see {@link #invisible}): a message's text, where one
     * pasted with it (a zero-width space, a byte-order mark) made the whole text UCS-2, up to three times the segments
     * for nothing anyone sees. Those inside it stay as typed.
     */
    public static String stripInvisible(String text) {
        return text == null ? null : stripEnds(text, Text::invisible);
    }

    /** Whether {@code text} holds nothing but invisible characters (white space, zero-width and direction marks...). */
    public static boolean blank(String text) {
        return stripInvisible(text).isEmpty();
    }

    /**
     * {@code text} without white space at its ends, Unicode's (a no-break space too: {@link String#strip} keeps it, so a
     * body of only U+00A0 was sent, as UCS-2) as well as Java's.
     */
    public static String stripWhiteSpace(String text) {
        return stripEnds(text, c -> whiteSpace(c) || Character.isWhitespace(c));
    }

    /**
     * A name as it is kept and compared: NFC (one spelling for "é", whichever the keyboard sent) and without invisible
     * characters at its ends ("G1\u200b" was a second group beside "G1").
     */
    public static String tidyName(String name) {
        return name == null ? null : stripEnds(Normalizer.normalize(name, Normalizer.Form.NFC), Text::invisible);
    }

    /**
     * A message's text in Unicode's composed form (NFC), as it is sent: "e" + U+0301 becomes "é", the same text, which
     * GSM-7 carries where the decomposed form forces UCS-2 (twice the segments). Never longer than typed: the few
     * characters NFC spells longer (U+0958) leave the text as it was, so it stays within the limits it was checked
     * against. Text below U+0300 has no combining marks and is composed already, so the normalizer is used only when
     * some character could change.
     */
    public static String composed(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= '\u0300') {
                String composed = Normalizer.normalize(text, Normalizer.Form.NFC);
                return composed.length() <= text.length() ? composed : text;
            }
        }
        return text;
    }

    /**
     * Why a name read as a string cannot be a name: a line break (a sender "a\nb" reached every recipient as "a",
     * then "b: hello"), or nothing visible in it; null when it can.
     */
    public static String nameShapeProblem(String name) {
        String lineBreak = lineBreakProblem(name);
        if (lineBreak != null) return lineBreak;
        return !name.isEmpty() && blank(name) ? "must not be blank" : null;
    }

    /**
     * Why a name is too long as it is kept ({@link #tidyName}), or null: a few characters spell longer in NFC (U+0958
     * is two code points composed), so a name within {@code max} as sent could be kept longer than the limit.
     */
    public static String tidiedLengthProblem(String name, int max) {
        String tidied = tidyName(name);
        int length = tidied.codePointCount(0, tidied.length());
        return length > max ? "must be at most " + max + " characters as it is kept (in NFC it is " + length + ")" : null;
    }

    /** {@link #LINE_BREAK_PROBLEM} when {@code text} has a line break (CR, LF, or Unicode's line and paragraph separators). */
    public static String lineBreakProblem(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029') return LINE_BREAK_PROBLEM;
        }
        return null;
    }

    /**
     * {@code text} as an answer or a record repeats it: whole if at most {@code max} UTF-16 units, else its first
     * {@code max} (one fewer rather than half a surrogate pair) and "...". Null stays null.
     */
    public static String cut(String text, int max) {
        if (text == null || text.length() <= max) return text;
        int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
        return text.substring(0, end) + "...";
    }

    /**
     * Why the text cannot be taken, or null when it can:
     * <ul>
     *   <li>a control character other than tab, line feed and carriage return: NUL, escape, DEL and the C1 range have
     *       no place in a name or an SMS, and would reach carriers, consoles and logs as they are;</li>
     *   <li>an unpaired surrogate: it is no character, it is stored and sent as '?', and the text's encoding and
     *       segments (what a message is billed by) would be worked out on something else than what is sent.</li>
     * </ul>
     */
    public static String problem(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (refusedControl(c)) return CONTROL_CHARACTER_PROBLEM;
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++; // a pair: one character
            } else if (Character.isSurrogate(c)) {
                return UNPAIRED_SURROGATE_PROBLEM;
            }
        }
        return null;
    }

    /** A control character text may not hold: all but tab and the line breaks. */
    private static boolean refusedControl(char c) {
        return Character.isISOControl(c) && c != '\t' && c != '\n' && c != '\r';
    }

    /**
     * Text from outside that cannot be refused (an SMS someone sent), made what {@link #problem} accepts: control
     * characters but tab and line breaks dropped, an unpaired surrogate replaced by U+FFFD. Relayed as it came, a
     * NUL reached the other participants of a conversation, and the integrations' events.
     */
    public static String clean(String text) {
        if (text == null || problem(text) == null) return text;
        var out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (refusedControl(c)) continue;
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(++i));
            } else {
                out.append(Character.isSurrogate(c) ? '\ufffd' : c);
            }
        }
        return out.toString();
    }

    /**
     * Whether {@code text} (a name, a title; null: none) holds {@code needle}, a search already in {@link #searchForm}.
     * A search that folds to nothing (a lone accent, a variation selector) is in no text, not in every one.
     */
    public static boolean searchMatches(String text, String needle) {
        return text != null && !needle.isEmpty() && searchForm(text).contains(needle);
    }

    /**
     * Text as searches compare it (a member's is stored as {@code nameLower}): lower case, accents dropped, so "jose"
     * finds "José" and "Jose\u0301" alike. Letters that carry no separable accent are written as a keyboard without
     * them would ("soren" finds "Søren", "strasse" "Straße", "lodz" "Łódź"), a final sigma as a sigma (upper-case
     * "ΟΔΥΣ" lower-cases to "οδυς", which is in no word), and any space as a space.
     */
    public static String searchForm(String text) {
        String folded = withoutAccents(text).toLowerCase(Locale.ROOT);
        if (folded.chars().allMatch(c -> c < 0x80)) return folded;
        StringBuilder out = new StringBuilder(folded.length() + 4);
        folded.codePoints().forEach(c -> {
            switch (c) {
                case 'ø' -> out.append('o');
                case 'ł' -> out.append('l');
                case 'đ', 'ð' -> out.append('d');
                case 'ħ' -> out.append('h');
                case 'ı' -> out.append('i');
                case 'ŧ' -> out.append('t');
                case 'æ' -> out.append("ae");
                case 'œ' -> out.append("oe");
                case 'ß' -> out.append("ss");
                case 'þ' -> out.append("th");
                case 'ς' -> out.append('σ');
                default -> {
                    if (Character.getType(c) == Character.SPACE_SEPARATOR) out.append(' ');
                    else out.appendCodePoint(c);
                }
            }
        });
        return out.toString();
    }

    /**
     * Lower case with every combining mark dropped, the letters left as they are: the search form of names stored
     * before 2026-12-05 (a member's {@code nameLower} is not rewritten), which a search still matches ("Łódź" is
     * {@code łodz} there).
     */
    public static String accentlessLowerCase(String text) {
        return COMBINING_MARKS.matcher(Normalizer.normalize(text, Normalizer.Form.NFD)).replaceAll("").toLowerCase(Locale.ROOT);
    }

    private static final Pattern COMBINING_MARKS = Pattern.compile("\\p{M}+");

    /**
     * {@code text} without its accents, then composed (NFC): the combining diacritics of the Latin, Greek and Cyrillic
     * scripts, and the optional vowel points of Hebrew and Arabic. Not every combining mark, as names of before
     * 2026-12-06 were searched: a Devanagari vowel sign, a Thai vowel or a kana's voicing mark is part of its letter
     * ("रीमा" and "राम" were one search, "ガトウ" found "カトウ").
     */
    static String withoutAccents(String text) {
        return Normalizer.normalize(ACCENTS.matcher(Normalizer.normalize(text, Normalizer.Form.NFD)).replaceAll(""),
                Normalizer.Form.NFC);
    }

    private static final Pattern ACCENTS = Pattern.compile("[\\p{M}&&[\\u0300-\\u036f\\u0483-\\u0489\\u0591-\\u05c7"
            + "\\u0610-\\u061a\\u064b-\\u065f\\u0670\\u06d6-\\u06ed\\u1ab0-\\u1aff\\u1dc0-\\u1dff\\u20d0-\\u20ff\\ufe20-\\ufe2f]]+"); // marks only: Hebrew's maqaf stays
}
