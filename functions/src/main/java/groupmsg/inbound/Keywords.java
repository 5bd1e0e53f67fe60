package groupmsg.inbound;

import groupmsg.platform.api.Text;

import java.text.Normalizer;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Classifies an inbound text as a carrier keyword (API.md "Opt-out, opt-in, help"): the whole message, after
 * trimming, dropping trailing punctuation, folding case and collapsing inner whitespace, must be one of the
 * keywords. A longer message that starts with an opt-out keyword as a word ("stop texting me") is no keyword
 * but is flagged {@code possibleOptOut} for a person to review.
 * <p>
 * The text is read as the person sees it on their phone: compatibility forms are folded (NFKC: full-width
 * letters, no-break and other Unicode spaces), invisible format characters (zero-width space, byte-order mark) are
 * dropped, accents are removed ("ARRÊT" however it is encoded), any Unicode whitespace counts as whitespace, dashes
 * count as "-", and quotes around the message ({@code "STOP"}, {@code “STOP”}) are not part of it. Nothing else
 * is dropped at its start: {@code "!STOP"} is no keyword, but a possible opt-out (flagged for a person to review).
 */
public final class Keywords {
    public enum Keyword {
        OPT_OUT("opt_out"), OPT_IN("opt_in"), HELP("help");

        private final String wireName;

        Keyword(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        public static Keyword fromWire(String value) {
            if (value == null) return null;
            for (Keyword k : values()) if (k.wireName.equals(value)) return k;
            throw new IllegalArgumentException("unknown keyword " + value);
        }
    }

    /** {@code keyword} is null for an ordinary message. */
    public record Classification(Keyword keyword, boolean possibleOptOut) {
        static final Classification NONE = new Classification(null, false);
    }

    static final Set<String> OPT_OUT = Set.of("STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
            "OPTOUT", "OPT OUT", "OPT-OUT", "REVOKE", "REMOVE", "ARRET", "TD");
    static final Set<String> OPT_IN = Set.of("START", "UNSTOP", "YES");

    /**
     * Whether {@code text} names an opt-out keyword in capitals, as a word or phrase of its own ("Reply STOP to opt
     * out", "Text OPT-OUT", "ARRÊT"): what a line's opt-out notice must do (carriers want a message to say how to stop
     * the messages, and write the keyword so). Lower case is refused: "end" or "cancel" in a sentence tells nothing.
     */
    public static boolean namesAnOptOutKeyword(String text) {
        String folded = COMBINING_MARKS.matcher(Normalizer.normalize(text, Normalizer.Form.NFD)).replaceAll("");
        folded = WHITESPACE.matcher(DASHES.matcher(folded).replaceAll("-")).replaceAll(" ");
        return OPT_OUT_IN_CAPITALS.matcher(folded).find();
    }
    static final Set<String> HELP = Set.of("HELP", "INFO");
    /**
     * Opt-in keywords that are also everyday answers: from a number that is not opted out on the line, a "Yes" also
     * answers a question (in a conversation, to the others), and is relayed as well as handled as an opt-in.
     */
    static final Set<String> EVERYDAY_ANSWERS = Set.of("YES");

    /** Zero-width spaces, joiners, the byte-order mark, bidi controls: invisible, so not part of what was typed. */
    private static final Pattern FORMAT_CHARACTERS = Pattern.compile("\\p{Cf}+");
    /** Accents left as combining marks after canonical decomposition (ARRÊT as Ê, or as E + U+0302). */
    private static final Pattern COMBINING_MARKS = Pattern.compile("\\p{M}+");
    /** Every dash (hyphen, non-breaking hyphen, en dash, ...): "OPT–OUT" as an autocorrecting keyboard writes it. */
    private static final Pattern DASHES = Pattern.compile("\\p{Pd}");
    /** Whitespace and quotes before the text: straight, curly, low-9 („STOP“) and angle («STOP») quotes. */
    private static final Pattern LEADING_WHITESPACE_AND_QUOTES =
            Pattern.compile("^[\\p{IsWhite_Space}\"'`\\p{Pi}\\p{Pf}\u201A\u201E]+");
    /**
     * Punctuation (closing quotes included), symbols and emoji (with their variation selectors and modifiers, marks),
     * and whitespace after the text: what an opt-out keyword may be followed by ("stop 🙏", "STOP ❤️"). Taken off by
     * a scan back from the end ({@link Text#withoutTrailing}): a pattern anchored there retried from each character of
     * a run, and compatibility folding makes some characters four ("⨌"), so a 1,600-character text held the webhook
     * about a second.
     */
    private static boolean trailingPunctuationOrSymbol(int c) {
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION, Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL,
                 Character.OTHER_SYMBOL, Character.NON_SPACING_MARK, Character.ENCLOSING_MARK,
                 Character.COMBINING_SPACING_MARK -> true;
            default -> Text.whiteSpace(c);
        };
    }

    /** A letter or a digit (any script's): what ends the text of a message, before its closing punctuation. */
    private static boolean letterOrNumber(int c) {
        return Character.isLetter(c) || switch (Character.getType(c)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    /**
     * What START, YES and HELP may be followed by: sentence punctuation (the ellipsis a phone makes of "...", the
     * ideographic full stop and comma, their full-width and half-width forms), closing quotes as each language writes them (”, “ after „, ‘, », « after », ›, ‹) and
     * whitespace. "Yes ❤️", "Yes :)" or "Yes ‼️" in a conversation is a reply to relay, not a request to be subscribed
     * again (which would also lift an opt-out).
     */
    private static final Pattern PLAIN_ENDING = Pattern.compile(
            "[.!?,;:'\"\u2026\u3001\u3002\uFF61\u2018\u2019\u201C\u201D\u00AB\u00BB\u2039\u203A"
                    + "\uFF01\uFF02\uFF07\uFF0C\uFF0E\uFF1A\uFF1B\uFF1F\\p{IsWhite_Space}]*");
    /** Any run of Unicode whitespace (String.strip and \s miss the no-break space, U+3000, ...). */
    private static final Pattern WHITESPACE = Pattern.compile("\\p{IsWhite_Space}+");
    /** Any opt-out keyword followed by something that is not a letter or digit (so "STOPWATCH" is not one). */
    private static final String OPT_OUT_ALTERNATIVES =
            "(STOP ALL|STOPALL|STOP|UNSUBSCRIBE|CANCEL|END|QUIT|OPTOUT|OPT OUT|OPT-OUT|REVOKE|REMOVE|ARRET|TD)";
    private static final Pattern STARTS_WITH_OPT_OUT = Pattern.compile("^" + OPT_OUT_ALTERNATIVES + "(?![\\p{L}\\p{N}]).+");
    /** An opt-out keyword anywhere, neither preceded nor followed by a letter or digit. */
    private static final Pattern OPT_OUT_IN_CAPITALS =
            Pattern.compile("(?<![\\p{L}\\p{N}])" + OPT_OUT_ALTERNATIVES + "(?![\\p{L}\\p{N}])");

    private Keywords() {}

    /**
     * {@code ours} ({@link #classify(String)}'s), and where that is no keyword, the one the carrier took the text for
     * (Twilio's {@code OptOutType}: with Advanced Opt-Out, an account's own words, "ALTO" say, which the carrier acts
     * on: a STOP blocks the number at the carrier, so it is an opt-out here too; taken for a reply, it was relayed and
     * none recorded).
     */
    public static Classification withCarrierKeyword(Classification ours, String carrierKeyword) {
        if (ours.keyword() != null || carrierKeyword == null) return ours;
        return switch (carrierKeyword.strip().toUpperCase(java.util.Locale.ROOT)) {
            case "STOP" -> new Classification(Keyword.OPT_OUT, false);
            case "START" -> new Classification(Keyword.OPT_IN, false);
            case "HELP" -> new Classification(Keyword.HELP, false);
            default -> ours;
        };
    }

    public static Classification classify(String body) {
        if (body == null) return Classification.NONE;
        String text = normalize(body);
        if (text.isEmpty()) return Classification.NONE;
        // Generous for opt-outs (a STOP missed is a compliance failure), strict for the others (a reply taken for
        // an opt-in is lost from its conversation and lifts the number's opt-out).
        if (OPT_OUT.contains(text)) return new Classification(Keyword.OPT_OUT, false);
        // "Yes" is an everyday answer: only sentence punctuation after it; START, UNSTOP, HELP and INFO any
        // punctuation ("HELP)", "START*", "info~" was no keyword: HELP unanswered, START not subscribing again)
        boolean ends = EVERYDAY_ANSWERS.contains(text) ? endsPlainly(body) : endsInPunctuation(body);
        if (ends && OPT_IN.contains(text)) return new Classification(Keyword.OPT_IN, false);
        if (ends && HELP.contains(text)) return new Classification(Keyword.HELP, false);
        return new Classification(null, STARTS_WITH_OPT_OUT.matcher(text).matches() || optOutAfterLeadingSymbols(text));
    }

    /**
     * {@code text} without the symbols, punctuation and list numbers before its first letter ("¡", "🛑 ", "(", "1. ",
     * "> "); a bare number stays ("2 cancel" answers "reply 1 to confirm, 2 to cancel"). A loop, not a regular
     * expression: an alternation repeated per character overflows the stack on a long run of symbols.
     */
    private static String withoutLeadingSymbols(String text) {
        int i = 0;
        while (i < text.length()) {
            int c = text.codePointAt(i);
            if (!Character.isLetterOrDigit(c)) {
                i += Character.charCount(c);
                continue;
            }
            if (!Character.isDigit(c)) break;
            int j = i;
            while (j < text.length() && Character.isDigit(text.codePointAt(j))) j += Character.charCount(text.codePointAt(j));
            if (j == text.length() || (text.charAt(j) != '.' && text.charAt(j) != ')')) break;
            i = j + 1;
        }
        return text.substring(i);
    }

    /**
     * Whether {@code text} (normalized) is an opt-out keyword, or begins with one, behind symbols or punctuation:
     * "¡STOP!", "🛑 STOP", "(STOP)", "*STOP*", "1. STOP". Not taken for an opt-out (the carriers match the word
     * alone), but flagged for a person to read: before, they passed as ordinary replies, reviewed by nobody.
     */
    private static boolean optOutAfterLeadingSymbols(String text) {
        String rest = withoutLeadingSymbols(text);
        return rest.length() < text.length() && (OPT_OUT.contains(rest) || STARTS_WITH_OPT_OUT.matcher(rest).matches());
    }

    /**
     * Whether a US toll-free number's network acts on {@code body} itself, blocking the number and answering it: the
     * word STOP alone (any case, whitespace around), the one opt-out word that network knows. It neither blocks nor
     * answers the other opt-out words ours are ("UNSUBSCRIBE", "REMOVE", "STOP ALL", "Stop 🙏"), whose confirmation
     * is then ours to send. Narrow on purpose: a confirmation of ours to a number the network did block is refused,
     * harmless; one left to a network that did not answer is never sent.
     */
    public static boolean networkOptOut(String body) {
        return body != null && "STOP".equalsIgnoreCase(Text.stripEnds(body, Text::whiteSpace));
    }

    /**
     * Whether a toll-free network may have blocked the number for {@code body}: what {@link #networkOptOut} answers
     * for, but read broadly ("STOP.", "Stop!", "Stop 🙏": the word with trailing punctuation or symbols), or what the
     * carrier itself said it took for STOP ({@code carrierKeyword}, Twilio's OptOutType). The other side of that
     * question: taken for blocked, a later "Yes" does not lift the opt-out (the number can text START); taken for not
     * blocked when it was, a "Yes" would lift ours while the network goes on refusing every message.
     */
    public static boolean mayBeNetworkOptOut(String body, String carrierKeyword) {
        if (carrierKeyword != null && "STOP".equalsIgnoreCase(carrierKeyword.strip())) return true;
        return body != null && "STOP".equals(normalize(body));
    }

    /** Whether {@code c}, the classification of {@code body}, is an opt-in that is also an everyday answer ("Yes"). */
    public static boolean alsoAnEverydayAnswer(Classification c, String body) {
        return c.keyword() == Keyword.OPT_IN && EVERYDAY_ANSWERS.contains(normalize(body));
    }

    /**
     * Whether a toll-free network may take the opt-in {@code body} for its own START (and answer it, lifting its
     * block): the word with sentence punctuation at most. One with more ("START*", a keyword here since any
     * punctuation counts) it is not known to take: ours is answered, and its block, if any, stays.
     */
    public static boolean networkMayTakeOptIn(String body) {
        return body != null && endsPlainly(body);
    }

    /**
     * Whether {@code body} ends as {@link #endsPlainly} allows, or with one more punctuation mark of any kind among
     * that (")", "*", "-", "/", "~", "¿": "HELP)", "Help -", "START*", "HELP.)"), with no eyes (":", ";", "=") beside
     * it: a face drawn in punctuation ("help :-(", "Start ;)", "help -_-", "Help ._.") is a reply, as "Help 😂" is.
     */
    static boolean endsInPunctuation(String body) {
        return punctuationOnly(afterLastLetterOrDigit(body));
    }

    /** {@link #endsInPunctuation}'s reading of what follows a text's last word. */
    private static boolean punctuationOnly(String after) {
        if (PLAIN_ENDING.matcher(after).matches()) return true;
        int[] others = after.codePoints().filter(c -> !PLAIN_ENDING.matcher(Character.toString(c)).matches()).toArray();
        if (others.length != 1 || after.matches("(?s).*[:;=].*")) return false;
        int c = others[0];
        return c == '~' || switch (Character.getType(c)) {
            case Character.DASH_PUNCTUATION, Character.START_PUNCTUATION, Character.END_PUNCTUATION,
                 Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> true;
            default -> false; // "_" too: "._." is a face
        };
    }

    /**
     * Whether {@code body} ends in nothing but sentence punctuation, closing quotes and whitespace after its last
     * letter or digit ({@link #PLAIN_ENDING}): what YES may be followed by.
     */
    static boolean endsPlainly(String body) {
        return PLAIN_ENDING.matcher(afterLastLetterOrDigit(body)).matches();
    }

    /** What {@code body} ends with after its last letter or digit, its invisible format characters left out. */
    private static String afterLastLetterOrDigit(String body) {
        String text = FORMAT_CHARACTERS.matcher(body).replaceAll("");
        return text.substring(Text.withoutTrailing(text, c -> !letterOrNumber(c)).length());
    }

    /** The longest keyword a line may have of its own (JOIN, VOLUNTEER, "JOIN YOUTH"): a word or a few. */
    public static final int MAX_LINE_KEYWORD_LENGTH = 20;
    /**
     * A line's own keyword as stored: words of letters and digits (with the marks on them: a Devanagari vowel sign, a
     * Japanese dakuten) separated by single spaces.
     */
    private static final Pattern LINE_KEYWORD_SHAPE =
            Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N}\\p{M}]*( [\\p{L}\\p{N}][\\p{L}\\p{N}\\p{M}]*)*");
    /** Accents on Latin and Greek letters ("Jóin", "Ναί"), folded as the carriers fold ARRÊT; other scripts' marks stay. */
    private static final Pattern FOLDED_ACCENTS = Pattern.compile("([\\p{IsLatin}\\p{IsGreek}])\\p{M}+");

    /**
     * A line's own keyword as it is stored and matched: case, accents on Latin and Greek letters, widths and spaces
     * folded, so "join", "Jóin" and "ＪＯＩＮ" are one keyword `JOIN`. Unlike a carrier keyword's reading
     * ({@link #normalize}) the marks of other scripts stay: dropped, "जुड़ें" (Hindi "join") was read as "जड", another
     * word, and "ジョイン" as "ショイン". Punctuation after it is not part of it. Composed again (Hangul stays syllables).
     */
    public static String lineKeyword(String typed) {
        String text = FORMAT_CHARACTERS.matcher(typed).replaceAll("");
        text = text.substring(0, wordEnd(text));
        text = Normalizer.normalize(Normalizer.normalize(text, Normalizer.Form.NFKC), Normalizer.Form.NFD);
        text = FOLDED_ACCENTS.matcher(text).replaceAll("$1");
        text = DASHES.matcher(text).replaceAll("-");
        text = LEADING_WHITESPACE_AND_QUOTES.matcher(text).replaceAll("");
        text = WHITESPACE.matcher(text).replaceAll(" ").strip();
        return Normalizer.normalize(text.toUpperCase(Locale.ROOT), Normalizer.Form.NFC);
    }

    /**
     * Where the words of {@code text} end: after its last letter or digit, a combining mark on one counting as part of
     * it (a Devanagari vowel sign at a word's end), a mark on a symbol not, nor an emoji's ({@link #wordMark}).
     */
    private static int wordEnd(String text) {
        int end = text.length();
        while (end > 0) {
            int c = text.codePointBefore(end);
            if (letterOrNumber(c)) return end;
            if (wordMark(c)) {
                int base = end;
                while (base > 0 && wordMark(text.codePointBefore(base))) base -= Character.charCount(text.codePointBefore(base));
                if (base > 0 && letterOrNumber(text.codePointBefore(base))) return end;
                end = base;
                continue;
            }
            end -= Character.charCount(c);
        }
        return 0;
    }

    /**
     * A combining mark that may belong to a letter: not an enclosing one (the keycap of "1️⃣", a circle) nor a variation
     * selector (an emoji's presentation), which go with the symbol they make.
     */
    private static boolean wordMark(int c) {
        if (c >= 0xFE00 && c <= 0xFE0F || c >= 0xE0100 && c <= 0xE01EF) return false;
        return switch (Character.getType(c)) {
            case Character.NON_SPACING_MARK, Character.COMBINING_SPACING_MARK -> true;
            default -> false;
        };
    }

    /** Characters (UTF-16 units) past which a text is no line keyword, read no further: a keyword and its punctuation. */
    private static final int MAX_LINE_KEYWORD_TEXT = 100;

    private static int characters(String text) {
        return text.codePointCount(0, text.length());
    }

    /**
     * Why {@code typed} cannot be a line's own keyword, or null. The carriers' keywords are theirs (a text "STOP" must
     * opt out whatever a line says), and one that holds an opt-out word ("STOP NOW", "PLEASE STOP") reads as an opt-out:
     * joining its sender to a group would turn an unsubscribe into a subscription.
     */
    public static String lineKeywordProblem(String typed) {
        String keyword = lineKeyword(typed);
        if (keyword.isEmpty()) return "is required";
        if (characters(keyword) > MAX_LINE_KEYWORD_LENGTH) return "must be at most " + MAX_LINE_KEYWORD_LENGTH + " characters";
        if (!LINE_KEYWORD_SHAPE.matcher(keyword).matches()) return "must be letters and digits (words separated by spaces)";
        if (OPT_OUT.contains(keyword) || OPT_IN.contains(keyword) || HELP.contains(keyword)) {
            return "is a carrier keyword (STOP, START, HELP and their kin are answered by every line as API.md says)";
        }
        if (OPT_OUT_IN_CAPITALS.matcher(keyword).find()) {
            return "holds an opt-out keyword (STOP, QUIT, END, ...), so a text of it reads as an opt-out";
        }
        return null;
    }

    /**
     * The line keyword {@code body} may be, or null when it can be none: the whole text, followed by punctuation at
     * most ("Join!", "join." but not "join us", "Join :)"), as HELP is matched. Whether the line has that keyword is
     * its store's to say.
     */
    public static String asLineKeyword(String body) {
        // most replies are longer than any keyword: not read through (normalizing 1,600 characters of marks took 17 ms)
        if (body == null || body.length() > MAX_LINE_KEYWORD_TEXT) return null;
        String text = FORMAT_CHARACTERS.matcher(body).replaceAll("");
        if (!punctuationOnly(text.substring(wordEnd(text)))) return null;
        String keyword = lineKeyword(text);
        return !keyword.isEmpty() && characters(keyword) <= MAX_LINE_KEYWORD_LENGTH
                && LINE_KEYWORD_SHAPE.matcher(keyword).matches() ? keyword : null;
    }

    static String normalize(String body) {
        String text = FORMAT_CHARACTERS.matcher(body).replaceAll("");
        // Trailing symbols go before compatibility folding too, which would make letters of some ("STOP™" -> "STOPTM").
        text = Text.withoutTrailing(text, Keywords::trailingPunctuationOrSymbol);
        // Full-width letters become ASCII, no-break and ideographic spaces plain ones.
        text = Normalizer.normalize(text, Normalizer.Form.NFKC);
        // Phones send the French ARRÊT with its accent (precomposed or not); fold it like the carriers do.
        text = COMBINING_MARKS.matcher(Normalizer.normalize(text, Normalizer.Form.NFD)).replaceAll("");
        text = DASHES.matcher(text).replaceAll("-");
        text = LEADING_WHITESPACE_AND_QUOTES.matcher(text).replaceAll("");
        text = Text.withoutTrailing(text, Keywords::trailingPunctuationOrSymbol);
        text = WHITESPACE.matcher(text).replaceAll(" ");
        return text.toUpperCase(Locale.ROOT);
    }
}
