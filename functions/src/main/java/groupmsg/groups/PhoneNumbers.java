package groupmsg.groups;

import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.PhoneNumberUtil.PhoneNumberFormat;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Turns what people type as a phone number into E.164, or says in a few words why it cannot.
 *
 * <p>Accepted input: E.164 ({@code +14155550123}); international with spaces, dashes, dots, slashes or
 * parentheses ({@code +1 (415) 555-0123}, {@code +44 (0)20 7946 0018}); {@code 00}-prefixed international
 * ({@code 00 44 20 7946 0018}); or a national number together with an ISO 3166-1 alpha-2 {@code country}
 * ({@code (415) 555-0123} with {@code US}, {@code 020 7946 0018} with {@code GB}, or {@code UK}, which ISO 3166-1
 * reserves for GB). An international number wins over a known country; an unknown country code is refused even
 * beside one (it is a mistake in the input, and the row's other numbers may depend on it). The number must be a valid number per libphonenumber's metadata, which rules out
 * short codes, letters (vanity numbers) and extensions.
 *
 * <p>Stateless and thread-safe.
 */
public final class PhoneNumbers {

    /** The longest input looked at; longer input is rejected as "too long" before any parsing. */
    public static final int MAX_INPUT_LENGTH = 32;

    private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();
    private static final String UNKNOWN_REGION = "ZZ";
    private static final int MAX_ECHOED_COUNTRY = 16;
    /** A number as a spreadsheet writes it in scientific notation: one digit, maybe more after a point, E, exponent. */
    private static final Pattern SCIENTIFIC = Pattern.compile("([1-9])(?:[.,]([0-9]+))?[eE]\\+?([0-9]{1,2})");

    private PhoneNumbers() {
    }

    /** The outcome of {@link #normalize}. */
    public sealed interface Result permits Valid, Invalid {
    }

    /** A valid number in E.164, e.g. {@code +14155550123}. */
    public record Valid(String e164) implements Result {
        public Valid {
            Objects.requireNonNull(e164, "e164");
        }
    }

    /** Why the input is not a usable number: a short, lower-case sentence without a trailing period. */
    public record Invalid(String reason) implements Result {
        public Invalid {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * Sets up the phone-number library (SnapStart priming): its tables and the metadata of the commonest region are
     * loaded on the first parse in a JVM, which took 25-34 ms in a fresh JVM here (later parses well under 1 ms).
     */
    public static void prime() {
        normalize("+14155550123", null);
        normalize("(415) 555-0123", "US");
    }

    /**
     * A number given in a query parameter, normalized as {@link #normalize} does (a filter's typo is said so, not an
     * empty list): a literal "+" arrives as a space when the client did not encode it.
     */
    public static Result fromQuery(String raw, String country) {
        String value = raw.strip();
        if (raw.startsWith(" ") && !value.isEmpty() && Character.isDigit(value.charAt(0))) value = "+" + value;
        return normalize(value, country);
    }

    /**
     * A phone as a URL path gave it. The gateway has percent-decoded it already (API Gateway HTTP APIs and the local
     * gateway both do); one that still holds escapes was encoded twice by its client ({@code %252B14155550123}), so
     * they are decoded once more. A '%' that starts no escape is kept as text: no phone number holds one, so the
     * service answers 400 for it (after a 404 for an unknown group), where a strict decoder threw (a 500). A literal
     * '+' stays '+' (it is not form encoding).
     */
    public static String decodePath(String raw) {
        if (raw.indexOf('%') < 0) return raw.strip();
        var bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); ) {
            int hi = raw.charAt(i) == '%' && i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
            int lo = hi < 0 ? -1 : Character.digit(raw.charAt(i + 2), 16);
            if (lo >= 0) {
                bytes.write(hi << 4 | lo);
                i += 3;
            } else {
                int codePoint = raw.codePointAt(i);
                bytes.writeBytes(Character.toString(codePoint).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(codePoint);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8).strip();
    }

    /**
     * A number given in a URL path ({@link #decodePath}) as E.164, or the 400 saying how to give it. Every path's
     * number names a row that may exist (a member, a participant, an opt-out): read as {@link #normalizeExisting}.
     */
    public static String e164FromPath(String raw) {
        return switch (normalizeExisting(decodePath(raw), null)) {
            case Valid ok -> ok.e164();
            case Invalid bad -> throw ApiException.invalid("phone " + bad.reason()
                    + " (give it URL-encoded E.164, e.g. %2B14155550123)");
        };
    }

    /**
     * The number of the query parameter {@code parameter} as E.164 (national with {@code country=}), or null when it is
     * not given (or blank); a 400 naming what is wrong with it, and for a {@code country} without the number (it
     * would be ignored: a client that meant to filter got the whole list).
     */
    public static String e164FromQuery(ApiRequest request, String parameter) {
        String raw = request.query(parameter).filter(v -> !v.isBlank()).orElse(null);
        String country = request.query("country").orElse(null);
        if (raw == null) {
            if (country != null && !country.isBlank()) throw ApiException.invalid("country is read only with " + parameter + " (a national number's country)");
            return null;
        }
        return e164FromQuery(parameter, raw, country);
    }

    /** {@link #fromQuery}'s E.164, or the 400 naming the parameter and what is wrong with the number. */
    public static String e164FromQuery(String parameter, String raw, String country) {
        return e164Or400(parameter, fromQuery(raw, country));
    }

    /** A number given in a JSON body field, as E.164 ({@link #normalize}), or the 400 naming the field and what is wrong. */
    public static String e164FromBody(String field, String input, String country) {
        return e164Or400(field, normalize(input, country));
    }

    private static String e164Or400(String name, Result result) {
        return switch (result) {
            case Valid v -> v.e164();
            case Invalid i -> throw ApiException.invalid(name + ": " + i.reason());
        };
    }

    /** What is wrong with {@code country} as {@link #normalize} reads it, or null (none given is fine). */
    public static String countryProblem(String country) {
        if (country == null || country.isBlank()) return null;
        String code = country.strip().toUpperCase(Locale.ROOT);
        return code.equals("UK") || UTIL.getSupportedRegions().contains(code) ? null
                : "unknown country '" + echo(country.strip()) + "'";
    }

    /**
     * A number that names a row that may exist, to look up, rename or remove (not to add): as {@link #normalize} reads
     * it, or a number in E.164 that today's metadata refuses as it is given. Such a number was stored when an earlier
     * libphonenumber took it (its country renumbered since, or reclassified its range), and would otherwise stay a
     * member for good, getting every group message, with every way to remove it a 400; one never stored is not found.
     */
    public static Result normalizeExisting(String input, String country) {
        Result read = normalize(input, country);
        String given = input == null ? "" : input.strip();
        return read instanceof Invalid && E164.looksLike(given) ? new Valid(given) : read;
    }

    /**
     * A CSV import's phone cell, {@link #normalize}d as spreadsheets and other systems' exports write one: a text
     * marker before it ({@code '+14155550123}: OWASP's guard against CSV injection, which some exports put before every
     * "+") and Excel's text formula around it ({@code ="+14155550123"}, written to keep a leading 0 or "+") are not
     * part of the number; a number Excel wrote in scientific notation is read when its mantissa holds every digit
     * ({@code 1.4155550123E+10}), and else its row says that its digits were lost ({@code 4.47911E+11}), where
     * "contains letters" sent people looking for a letter.
     */
    public static Result normalizeCell(String cell, String country) {
        String phone = cell == null ? "" : cell.strip();
        if (phone.length() > 3 && phone.startsWith("=\"") && phone.endsWith("\"")) {
            phone = phone.substring(2, phone.length() - 1).strip();
        }
        if (phone.startsWith("'")) phone = phone.substring(1).strip();
        var scientific = SCIENTIFIC.matcher(phone);
        if (scientific.matches()) {
            String digits = scientific.group(1) + (scientific.group(2) == null ? "" : scientific.group(2));
            int exponent = Integer.parseInt(scientific.group(3));
            if (digits.length() != exponent + 1) {
                return new Invalid("written in scientific notation, its digits lost (format the column as text in the "
                        + "spreadsheet and export it again)");
            }
            phone = digits;
        }
        return normalize(phone, country);
    }

    /**
     * Normalizes {@code input} to E.164.
     *
     * @param input   what was typed; null is treated as empty
     * @param country ISO 3166-1 alpha-2 code (any case, surrounding whitespace ignored) used for national
     *                numbers; null or blank when the input must be international
     */
    public static Result normalize(String input, String country) {
        String typed = input == null ? "" : input.strip();
        if (typed.isEmpty()) {
            return new Invalid("phone is required");
        }
        if (typed.length() > MAX_INPUT_LENGTH) {
            return new Invalid("too long");
        }
        String region = null;
        if (country != null && !country.isBlank()) {
            String problem = countryProblem(country);
            if (problem != null) return new Invalid(problem);
            String code = country.strip().toUpperCase(Locale.ROOT);
            // "UK" is what people write for GB (ISO 3166-1 reserves it for GB for that reason)
            region = code.equals("UK") ? "GB" : code;
        }
        String text = canonicalChars(typed);
        if (text == null) {
            return new Invalid(typed.codePoints().anyMatch(Character::isLetter) ? "contains letters" : "not a phone number");
        }
        PhoneNumber number = null;
        if (text.startsWith("00") && region != null) {
            PhoneNumber viaPrefix = dialledAbroadFrom(text, region);
            PhoneNumber viaPlus = viaPrefix == null ? null : validInternational("+" + text.substring(2));
            if (viaPrefix != null && viaPlus != null && !sameNumber(viaPrefix, viaPlus)
                    && !region.equals(UTIL.getRegionCodeForNumber(viaPlus))) {
                // Both readings are real numbers (CO 0058 412 123 4567: Venezuela's +58 by "00", Vietnam's +84 by CO's
                // own 005): a guess texts a stranger either way.
                return new Invalid("ambiguous: 00 reads two ways; write it with +");
            }
            // the country's own code after "00" is that country's number ("0057 ..." from CO is +57, not 005 + 7)
            if (viaPlus == null) number = viaPrefix;
        }
        if (number == null) {
            if (text.startsWith("00")) text = "+" + text.substring(2);
            boolean international = text.indexOf('+') >= 0; // first, or after an opening parenthesis
            if (!international && region == null) {
                return new Invalid("national number needs a country");
            }
            try {
                number = UTIL.parse(text, international ? UNKNOWN_REGION : region);
            } catch (NumberParseException e) {
                return new Invalid(e.getErrorType() == NumberParseException.ErrorType.INVALID_COUNTRY_CODE && international
                        ? "unknown country calling code"
                        : "not a phone number");
            }
            if (!international) number = internationalWithoutPlus(text, region, number);
        }
        if (number.hasExtension()) {
            return new Invalid("extensions are not supported");
        }
        if (!UTIL.isValidNumber(number)) {
            return new Invalid("not a valid number for " + describeRegion(number, region));
        }
        String e164 = e164(number);
        // the metadata takes a few national numbers longer than E.164 allows (DE "21000000000000": +49 and 14 digits),
        // which no carrier sends to and the E.164 form every store keys on cannot hold
        if (e164.length() > 16) return new Invalid("longer than E.164's 15 digits");
        return new Valid(e164);
    }

    /** {@code text} ("+" first) as a valid international number, or null. */
    private static PhoneNumber validInternational(String text) {
        try {
            PhoneNumber number = UTIL.parse(text, UNKNOWN_REGION);
            return UTIL.isValidNumber(number) ? number : null;
        } catch (NumberParseException e) {
            return null;
        }
    }

    private static boolean sameNumber(PhoneNumber a, PhoneNumber b) {
        return e164(a).equals(e164(b));
    }

    private static String e164(PhoneNumber number) {
        return UTIL.format(number, PhoneNumberFormat.E164);
    }

    /**
     * A number dialled from {@code region} to abroad with that country's own prefix ({@code 0011 44 20 7946 0018} from
     * AU, {@code 0021 1 415 555 0123} from BR), when that reading is a valid number; else null, and a leading "00"
     * stands for "+" as in most countries. Read as "+" at once, these were refused. Where both readings are valid
     * numbers and differ ({@code 009 1 415 555 0123} from CO: +1 415 by CO's 009, or +91 4155550123 in India, which
     * it silently was) the number is refused as ambiguous, unless the "+" reading is the country's own ("0057 ..."
     * from CO).
     */
    private static PhoneNumber dialledAbroadFrom(String text, String region) {
        try {
            PhoneNumber number = UTIL.parseAndKeepRawInput(text, region);
            return number.getCountryCodeSource() == PhoneNumber.CountryCodeSource.FROM_NUMBER_WITH_IDD
                    && UTIL.isValidNumber(number) ? number : null;
        } catch (NumberParseException e) {
            return null;
        }
    }

    /**
     * A mobile number written in international form without its "+" (a spreadsheet drops it from a members export,
     * which then imports again): in a country whose national numbers begin with a trunk prefix ("0" in DE), digits
     * that do not, but begin with its calling code ({@code DE 4917612345678}), are that international number when it
     * is a mobile of the country and the national reading is not one. Read as national, they were another valid
     * number ({@code +494917612345678}), added and texted in the member's place. A national reading that is a mobile
     * stays ({@code IN 9118005192}, as Indians write their mobiles; {@code BR (55) 90058-8740}): a group's members
     * are texted, so a mobile is what was meant.
     */
    private static PhoneNumber internationalWithoutPlus(String text, String region, PhoneNumber national) {
        String digits = text.replaceAll("[^0-9]", "");
        String trunk = UTIL.getNddPrefixForRegion(region, true);
        String callingCode = Integer.toString(UTIL.getCountryCodeForRegion(region));
        if (trunk == null || trunk.isEmpty() || digits.startsWith(trunk) || !digits.startsWith(callingCode)) return national;
        if (isMobile(national) && UTIL.isValidNumber(national)) return national;
        try {
            PhoneNumber international = UTIL.parse("+" + digits, UNKNOWN_REGION);
            return UTIL.isValidNumberForRegion(international, region) && isMobile(international) ? international : national;
        } catch (NumberParseException e) {
            return national;
        }
    }

    private static boolean isMobile(PhoneNumber number) {
        var type = UTIL.getNumberType(number);
        return type == PhoneNumberUtil.PhoneNumberType.MOBILE || type == PhoneNumberUtil.PhoneNumberType.FIXED_LINE_OR_MOBILE;
    }

    /**
     * The fewest digits a search needs before a leading 0 (or 00) is also tried as a trunk (or international) prefix.
     * API.md's search is a substring of the digits: with fewer, the number without its 0 is a substring of too many
     * others ("0123" would also list every number with "123" in it).
     */
    private static final int MIN_NATIONAL_DIGITS = 7;

    /**
     * The digits of a number typed as its owner writes it, as they are stored (E.164 without "+"): "00 33 6..." (the
     * international prefix) is "336...", "07911 1..." (the trunk 0) "79111..."; null when typed otherwise, or too
     * short to mean a number's start (a 0 and two digits would match most of the list).
     */
    static String internationalDigits(String digits) {
        if (digits.length() < MIN_NATIONAL_DIGITS) return null;
        if (digits.startsWith("00")) return digits.substring(2);
        return digits.startsWith("0") ? digits.substring(1) : null;
    }

    /**
     * The digits a search for a number looks for in a number's ({@code search} as typed: "+44 (0)20 7946 0018",
     * "030/12345678", no-break spaces, Unicode dashes, any script's digits and fullwidth forms, read as a number is
     * when added), or null when it holds none. A whole international number is looked for as it is stored:
     * "+49 030 12345678" is +493012345678 (the trunk 0 is not dialled after the country code); so is the start of
     * one of {@link #MIN_NATIONAL_DIGITS} digits or more with a trunk 0 after its code ("+44 07911" is 447911,
     * "0044 07911" too). Shorter, or another trunk prefix (Russia's 8, which also starts its area codes: "+7 812"), it
     * is looked for as typed ("0012": the last digits of a number).
     */
    public static String searchDigits(String search) {
        String number = canonicalChars(search);
        String digits = number == null ? "" : number.replace("(0)", "").replaceAll("[^0-9]", "");
        boolean plus = number != null && number.indexOf('+') >= 0;
        if (plus || number != null && number.strip().startsWith("00")) {
            if (normalize(search, null) instanceof Valid valid) {
                digits = valid.e164().substring(1);
            } else {
                String international = plus ? digits : digits.substring(2);
                if (international.length() >= MIN_NATIONAL_DIGITS) digits = withoutTrunkZero(international);
            }
        }
        return digits.isEmpty() ? null : digits;
    }

    /**
     * International digits ({@code 44} then the rest) without a trunk 0 after the calling code of a country whose
     * trunk prefix it is ({@code 4407911} -> {@code 447911}), as the number is stored; as they are otherwise (Italy's
     * numbers keep their 0: it has no trunk prefix).
     */
    private static String withoutTrunkZero(String digits) {
        // calling codes are prefix-free: at most one of the first 1..3 digits is one
        for (int length = 1; length <= 3 && length < digits.length(); length++) {
            String region = UTIL.getRegionCodeForCountryCode(Integer.parseInt(digits.substring(0, length)));
            if (UNKNOWN_REGION.equals(region)) continue;
            return "0".equals(UTIL.getNddPrefixForRegion(region, true)) && digits.charAt(length) == '0'
                    ? digits.substring(0, length) + digits.substring(length + 1) : digits;
        }
        return digits;
    }

    /**
     * Whether the number {@code e164} holds {@code needle} ({@link #searchDigits}'s) among its digits, or the number
     * its owner typed with a leading 0 or 00 ({@link #internationalDigits}): a group's member search, done in memory.
     */
    public static boolean digitsMatch(String e164, String needle) {
        String digits = e164.startsWith("+") ? e164.substring(1) : e164;
        if (digits.contains(needle)) return true;
        String international = internationalDigits(needle);
        return international != null && digits.contains(international);
    }

    /**
     * The digits of an E.164 number without the {@code +} ({@code +14155550123} -> {@code 14155550123}).
     *
     * @throws IllegalArgumentException when {@code e164} is not {@code +} followed by 1 to 15 ASCII digits
     */
    public static String digits(String e164) {
        Objects.requireNonNull(e164, "e164");
        int n = e164.length();
        if (n < 2 || n > 16 || e164.charAt(0) != '+') {
            throw new IllegalArgumentException("not an E.164 number");
        }
        for (int i = 1; i < n; i++) {
            char c = e164.charAt(i);
            if (c < '0' || c > '9') {
                throw new IllegalArgumentException("not an E.164 number");
            }
        }
        return e164.substring(1);
    }

    /**
     * Maps the input to ASCII digits, a leading '+' and the punctuation people put in numbers (space, - . / ( )),
     * or returns null when it holds anything else (letters, '#', '*', ',', a '+' after a digit or another '+'...). Unicode decimal digits, fullwidth forms, Unicode dashes and no-break spaces are accepted;
     * {@link #harmlessInvisible} characters are dropped.
     */
    static String canonicalChars(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                out.append(c);
            } else if (Character.isDigit(c)) {
                out.append((char) ('0' + Character.digit(c, 10)));
            } else if (c == '+' || c == '\uFF0B') {
                // before any digit, once: "(+44) 20 7946 0018" is written so
                if (out.chars().anyMatch(d -> d == '+' || (d >= '0' && d <= '9'))) {
                    return null;
                }
                out.append('+');
            } else if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')') {
                out.append(c);
            } else if (Character.isSpaceChar(c) || c == '\t') {
                out.append(' ');
            } else if ((c >= '\u2010' && c <= '\u2015') || c == '\u2212' || c == '\uFF0D') {
                out.append('-');
            } else if (c == '\uFF08') {
                out.append('(');
            } else if (c == '\uFF09') {
                out.append(')');
            } else if (c == '\uFF0E') {
                out.append('.');
            } else if (c == '\uFF0F') {
                out.append('/');
            } else if (harmlessInvisible(c)) {
                // the left-to-right marks and embeddings iOS, Outlook and WhatsApp wrap a copied number in, a
                // zero-width space or byte-order mark a web page or file adds
                continue;
            } else {
                return null;
            }
        }
        return out.toString();
    }

    /**
     * Invisible characters a copied number comes with that cannot change how its digits read: not the right-to-left
     * controls (U+202E before "4123555212" shows 2125553214, and another number would be texted than the one seen).
     */
    private static boolean harmlessInvisible(char c) {
        return c == '\u00AD' || (c >= '\u200B' && c <= '\u200E') || c == '\u2060' || c == '\uFEFF'
                || c == '\u202A' || c == '\u202C' || c == '\u202D' || c == '\u2066' || c == '\u2068' || c == '\u2069';
    }

    /**
     * The country (ISO 3166-1 alpha-2) an E.164 number belongs to ({@code +16045550123} -> {@code CA}); empty when
     * it names none (a non-geographic number) or is not one.
     */
    public static String regionOf(String e164) {
        try {
            String region = UTIL.getRegionCodeForNumber(UTIL.parse(e164, UNKNOWN_REGION));
            return region == null || region.equals(PhoneNumberUtil.REGION_CODE_FOR_NON_GEO_ENTITY) ? "" : region;
        } catch (NumberParseException e) {
            return "";
        }
    }

    /** The region to name in "not a valid number for ...": the given country when it applies, else one region or +CC. */
    private static String describeRegion(PhoneNumber number, String region) {
        int cc = number.getCountryCode();
        if (region != null && UTIL.getCountryCodeForRegion(region) == cc) {
            return region;
        }
        List<String> regions = UTIL.getRegionCodesForCountryCode(cc);
        if (regions.size() == 1 && !regions.get(0).equals(PhoneNumberUtil.REGION_CODE_FOR_NON_GEO_ENTITY)) {
            return regions.get(0);
        }
        return "+" + cc;
    }

    private static String echo(String s) {
        return s.length() <= MAX_ECHOED_COUNTRY ? s : s.substring(0, MAX_ECHOED_COUNTRY) + "...";
    }
}
