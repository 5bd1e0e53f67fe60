package groupmsg.inbound;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Classifies an inbound text as a carrier keyword (API.md "Opt-out, opt-in, help"): the whole message, after
 * trimming, dropping trailing punctuation, folding case and collapsing inner whitespace, must be one of the
 * keywords. A longer message that starts with an opt-out keyword as a word ("stop texting me") is no keyword
 * but is flagged {@code possibleOptOut} for a person to review.
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
    static final Set<String> HELP = Set.of("HELP", "INFO");

    private static final Pattern TRAILING_PUNCTUATION = Pattern.compile("[\\p{P}\\p{S}\\s]+$");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    /** Any opt-out keyword followed by something that is not a letter or digit (so "STOPWATCH" is not one). */
    private static final Pattern STARTS_WITH_OPT_OUT = Pattern.compile(
            "^(STOP ALL|STOPALL|STOP|UNSUBSCRIBE|CANCEL|END|QUIT|OPTOUT|OPT OUT|OPT-OUT|REVOKE|REMOVE|ARRET|TD)(?![\\p{L}\\p{N}]).+");

    private Keywords() {}

    public static Classification classify(String body) {
        if (body == null) return Classification.NONE;
        String text = normalize(body);
        if (text.isEmpty()) return Classification.NONE;
        if (OPT_OUT.contains(text)) return new Classification(Keyword.OPT_OUT, false);
        if (OPT_IN.contains(text)) return new Classification(Keyword.OPT_IN, false);
        if (HELP.contains(text)) return new Classification(Keyword.HELP, false);
        return new Classification(null, STARTS_WITH_OPT_OUT.matcher(text).matches());
    }

    static String normalize(String body) {
        String text = TRAILING_PUNCTUATION.matcher(body.strip()).replaceAll("");
        text = WHITESPACE.matcher(text).replaceAll(" ");
        // Phones send the French ARRÊT with its accent; fold it like the carriers do.
        return text.toUpperCase(Locale.ROOT).replace('Ê', 'E');
    }
}
