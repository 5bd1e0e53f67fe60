package groupmsg.platform.api;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A JSON object from a request body, read field by field. Problems are collected (field path + message) so one
 * 400 lists all of them; call {@link #validate()} once everything has been read.
 */
public final class JsonBody {
    /** The longest unknown field name a problem repeats. */
    private static final int MAX_ECHOED_NAME = 64;
    /**
     * The most problems one 400 lists in {@code details}: a body of a hundred thousand made-up keys would otherwise
     * be answered with megabytes (over the 6 MB a Lambda may return); the message still says how many there were.
     */
    static final int MAX_LISTED_PROBLEMS = 100;

    private final Map<String, Object> fields;
    private final String path;
    private final List<Map<String, Object>> problems;

    public JsonBody(Map<String, Object> fields, String path) {
        this(fields, path, new ArrayList<>());
    }

    private JsonBody(Map<String, Object> fields, String path, List<Map<String, Object>> problems) {
        this.fields = fields;
        this.path = path;
        this.problems = problems;
    }

    /**
     * This body with its JSON nulls dropped: for a create, where {@code "name": null} means "not given", as clients
     * that write every field of their model send it (our own answers show such nulls). A required field sent as null
     * is then "required", like one left out. PATCH bodies keep their nulls: there null clears a field or is refused.
     * Call it after {@link #allowOnly}, so that a misspelt field sent as null is still named.
     */
    public JsonBody nullsAsAbsent() {
        var present = new LinkedHashMap<String, Object>();
        fields.forEach((k, v) -> {
            if (v != null) present.put(k, v);
        });
        return new JsonBody(present, path, problems);
    }

    /** Unknown fields are refused (like Stripe) so that a misspelt field is not silently ignored. */
    public JsonBody allowOnly(String... names) {
        Set<String> allowed = Set.of(names);
        for (String key : fields.keySet()) {
            if (!allowed.contains(key)) problem(echoedName(key), "unknown field");
        }
        return this;
    }

    /**
     * An unknown field's name as a problem names it: cut at {@value #MAX_ECHOED_NAME} characters, since a body of
     * long made-up keys would otherwise come back whole in the answer (and a response over 400 KB cannot be recorded
     * for an Idempotency-Key).
     */
    public static String echoedName(String key) {
        return Text.cut(key, MAX_ECHOED_NAME);
    }

    public boolean has(String name) {
        return fields.containsKey(name);
    }

    public String requiredString(String name, int minLength, int maxLength) {
        if (!fields.containsKey(name) || fields.get(name) == null) {
            problem(name, "is required");
            return null;
        }
        return string(name, minLength, maxLength);
    }

    /** A message's text: as {@link #requiredString} (1 to {@code maxLength}), without invisible characters at its ends. */
    public String requiredText(String name, int maxLength) {
        return Text.stripInvisible(requiredString(name, 1, maxLength));
    }

    /**
     * A one-to-one or thread message's text: required (as {@link #requiredText}) unless it carries {@code media}, when
     * a picture may go alone, as a participant's may: absent, "" or blank is none ("": the carrier gets no body, only
     * the media).
     */
    public String textUnlessMedia(String name, int maxLength, List<String> media) {
        if (!media.isEmpty() && (!has(name) || fields.get(name) instanceof String s && Text.blank(s))) return "";
        return requiredText(name, maxLength);
    }

    /** A message's optional text: as {@link #optionalString} (1 to {@code maxLength}), as {@link #requiredText} keeps it. */
    public Optional<String> optionalText(String name, int maxLength) {
        return optionalString(name, 1, maxLength).map(Text::stripInvisible);
    }

    /** Absent -> empty; present (not null) -> validated string. */
    public Optional<String> optionalString(String name, int minLength, int maxLength) {
        if (!fields.containsKey(name)) return Optional.empty();
        if (fields.get(name) == null) {
            problem(name, "must be a string, not null");
            return Optional.empty();
        }
        return Optional.ofNullable(string(name, minLength, maxLength));
    }

    /**
     * Absent or JSON null -> empty; present (not null) -> validated string. For optional fields of a create, where
     * null means "not given", as clients that write every field of their model send it (our own answers show
     * {@code "name": null}).
     */
    public Optional<String> optionalNullableString(String name, int minLength, int maxLength) {
        if (fields.get(name) == null) return Optional.empty();
        return Optional.ofNullable(string(name, minLength, maxLength));
    }

    /** For PATCH fields that may be cleared: absent -> null Optional, JSON null -> Optional.of(""). */
    public Optional<String> clearableString(String name, int maxLength) {
        if (!fields.containsKey(name)) return Optional.empty();
        if (fields.get(name) == null) return Optional.of("");
        return Optional.ofNullable(string(name, 0, maxLength));
    }

    public Optional<Boolean> optionalBoolean(String name) {
        if (!fields.containsKey(name)) return Optional.empty();
        if (fields.get(name) instanceof Boolean b) return Optional.of(b);
        problem(name, "must be true or false");
        return Optional.empty();
    }

    /**
     * Absent -> empty; an integer in min..max -> it. A whole number out of the range is "must be between min and
     * max" however large: {@code 1e400} (read as infinity) or {@code 1000000000000000000000000000000} (too large for
     * a long) is outside the range, not "not an integer".
     */
    public Optional<Long> optionalInteger(String name, long min, long max) {
        if (!fields.containsKey(name)) return Optional.empty();
        Object value = fields.get(name);
        // 1.0 is the integer 1 (JSON has one number type; some serialisers write every number with a fraction).
        // Json reads fractions and exponents as Double (it does not use BigDecimal), integers past a long as BigInteger.
        if (value instanceof Double d && d == Math.rint(d)) { // infinities too: rint leaves them as they are
            if (d < min || d > max) return outOfRange(name, min, max);
            value = d.longValue();
        }
        if (value instanceof BigInteger) return outOfRange(name, min, max);
        if (value instanceof Integer || value instanceof Long) {
            long n = ((Number) value).longValue();
            if (n < min || n > max) return outOfRange(name, min, max);
            return Optional.of(n);
        }
        problem(name, "must be an integer");
        return Optional.empty();
    }

    /**
     * Absent -> empty; a number (whole or with a fraction) in min..max -> it. Anything else, infinities included, is
     * a problem; so is a whole number too large for a long (out of the range).
     */
    public Optional<Double> optionalNumber(String name, double min, double max) {
        if (!fields.containsKey(name)) return Optional.empty();
        Object value = fields.get(name);
        if (value instanceof BigInteger || value instanceof Double d && Double.isInfinite(d)
                || value instanceof Number n && (n.doubleValue() < min || n.doubleValue() > max)) {
            problem(name, "must be between " + plain(min) + " and " + plain(max));
            return Optional.empty();
        }
        if (value instanceof Double || value instanceof Integer || value instanceof Long) {
            return Optional.of(((Number) value).doubleValue());
        }
        problem(name, "must be a number");
        return Optional.empty();
    }

    private static String plain(double d) {
        return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }

    private Optional<Long> outOfRange(String name, long min, long max) {
        problem(name, "must be between " + min + " and " + max);
        return Optional.empty();
    }

    public Optional<List<String>> optionalStringList(String name, int minItems, int maxItems, int maxLength) {
        if (!fields.containsKey(name)) return Optional.empty();
        if (!(fields.get(name) instanceof List<?> list)) {
            problem(name, "must be an array of strings");
            return Optional.empty();
        }
        if (list.size() < minItems || list.size() > maxItems) {
            problem(name, "must have " + minItems + ".." + maxItems + " items");
            return Optional.empty();
        }
        List<String> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof String s) || s.length() > maxLength) {
                problem(name + "[" + i + "]", "must be a string of at most " + maxLength + " characters");
                continue;
            }
            String textProblem = Text.problem(s);
            if (textProblem != null) {
                problem(name + "[" + i + "]", textProblem);
            } else {
                out.add(s);
            }
        }
        return Optional.of(out);
    }

    /** Media URLs: an optional array of https URLs (what carriers fetch MMS media from). */
    public List<String> optionalHttpsUrls(String name, int maxItems) {
        List<String> urls = optionalStringList(name, 0, maxItems, 2048).orElse(List.of());
        // each at its index in the request: the list above leaves out the entries that are not strings
        List<?> given = fields.get(name) instanceof List<?> list ? list : List.of();
        for (int i = 0; i < given.size(); i++) {
            if (given.get(i) instanceof String url && urls.contains(url) && !httpsUrl(url)) {
                problem(name + "[" + i + "]", "must be an https URL with a host (a port up to 65535, no user:password@)");
            }
        }
        return urls;
    }

    /**
     * An https URL the carrier can fetch: a host, a port in range (99999 is no port), and no credentials (they would go
     * to the carrier and into its logs with the URL).
     */
    static boolean httpsUrl(String value) {
        try {
            java.net.URI uri = java.net.URI.create(value);
            if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getRawUserInfo() != null) return false;
            if (uri.getHost() != null) return !uri.getHost().isEmpty() && uri.getPort() <= 65_535 && uri.getPort() != 0;
            // a host java.net.URI does not take for a server's (an underscore in it, as old S3 bucket names have; a
            // name in another script): read from the authority as it is
            String authority = uri.getRawAuthority();
            return authority != null && registryAuthority(authority);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * A host name of two labels or more, each of letters (any script's), digits, '_' and inner '-', and maybe a port
     * (1..65535): no credentials. Read label by label, not by a regular expression, whose repeated group recursed once
     * a label: the 679 labels that fit in 2,048 characters overflowed a 1 MB thread stack (a 500 for bad input).
     */
    private static boolean registryAuthority(String authority) {
        String host = authority;
        int colon = authority.lastIndexOf(':');
        if (colon >= 0) {
            String port = authority.substring(colon + 1);
            if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) return false;
            int number = Integer.parseInt(port);
            if (number < 1 || number > 65_535) return false;
            host = authority.substring(0, colon);
        }
        String[] labels = host.split("\\.", -1);
        if (labels.length < 2) return false;
        for (String label : labels) {
            if (label.isEmpty() || label.startsWith("-") || label.endsWith("-")) return false;
            if (!label.codePoints().allMatch(c -> c == '_' || c == '-' || Character.isLetter(c) || isNumber(c))) return false;
        }
        return true;
    }

    /** A regular expression's {@code \\p{N}}: a digit, a letter-like number (Ⅻ) or another (½, ²). */
    private static boolean isNumber(int c) {
        int type = Character.getType(c);
        return type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER || type == Character.OTHER_NUMBER;
    }

    /**
     * An array whose entries are judged one by one: each object entry comes back as a body with problems of its own
     * (see {@link #firstProblem()}), an entry that is not an object as null; only a missing array, or one of the
     * wrong size, is a problem of this body.
     */
    public List<JsonBody> requiredEntries(String name, int minItems, int maxItems) {
        Object value = fields.get(name);
        if (value == null) {
            problem(name, "is required");
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            problem(name, "must be an array");
            return List.of();
        }
        if (list.size() < minItems || list.size() > maxItems) {
            problem(name, "must have " + minItems + ".." + maxItems + " entries, got " + list.size());
            return List.of();
        }
        List<JsonBody> out = new ArrayList<>(list.size());
        for (Object entry : list) {
            if (entry instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked") Map<String, Object> typed = (Map<String, Object>) m;
                out.add(new JsonBody(typed, ""));
            } else {
                out.add(null);
            }
        }
        return out;
    }

    /** The first problem found, as "field message", or null when there is none. */
    public String firstProblem() {
        if (problems.isEmpty()) return null;
        Map<String, Object> first = problems.get(0);
        return first.get("field") + " " + first.get("message");
    }

    public Optional<JsonBody> optionalObject(String name) {
        if (!fields.containsKey(name)) return Optional.empty();
        if (fields.get(name) instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked") Map<String, Object> typed = (Map<String, Object>) m;
            return Optional.of(new JsonBody(typed, qualified(name), problems));
        }
        problem(name, "must be an object");
        return Optional.empty();
    }

    public Object raw(String name) {
        return fields.get(name);
    }

        /**
     * {@link #name} for a name that may be left out (a member's): one of nothing but invisible characters (a
     * zero-width space) is no name, as spaces alone are and as a CSV import's cell is, not a 400.
     */
    public String optionalName(String field, String value, int max) {
        if (value != null && Text.lineBreakProblem(value) == null && Text.blank(value)) return null;
        return name(field, value, max);
    }

/**
     * {@code value} as a name is kept ({@link Text#tidyName}: NFC, no invisible characters at its ends), after
     * recording why it cannot be one: a line break, nothing visible, or over {@code max} characters as kept. Null
     * stays null.
     */
    public String name(String field, String value, int max) {
        check(field, value, Text::nameShapeProblem);
        check(field, value, n -> Text.tidiedLengthProblem(n, max));
        return Text.tidyName(value);
    }

    /** Records what {@code rule} says is wrong with a value read before (null: nothing; an unread value is skipped). */
    public <T> void check(String field, T value, Function<T, String> rule) {
        if (value == null) return;
        String problem = rule.apply(value);
        if (problem != null) problem(field, problem);
    }

    /** Records a problem found by the caller's own checks. */
    public void problem(String field, String message) {
        problems.add(detail(qualified(field), message));
    }

    public boolean valid() {
        return problems.isEmpty();
    }

    /** Throws one 400 naming every problem found so far. */
    public void validate() {
        if (problems.isEmpty()) return;
        int more = problems.size() - 1;
        String message = firstProblem() + (more == 0 ? "" : " (and " + more + " more problem" + (more == 1 ? "" : "s")
                + (problems.size() > MAX_LISTED_PROBLEMS ? ", the first " + MAX_LISTED_PROBLEMS + " listed in details" : "")
                + ")");
        throw ApiException.invalid(message, List.copyOf(problems.subList(0, Math.min(problems.size(), MAX_LISTED_PROBLEMS))));
    }

    private String string(String name, int minLength, int maxLength) {
        if (!(fields.get(name) instanceof String s)) {
            problem(name, "must be a string");
            return null;
        }
        // far over the limit before anything else: normalizing (NFC) is quadratic in a run of combining marks, and
        // no character of NFC is made of more than six UTF-16 units (Unicode 16's Kirat Rai: three supplementary code
        // points), so a string over six per character (and some white space) is too long whatever it composes to
        if (s.length() > 6L * maxLength + 64) {
            problem(name, "must be " + (minLength == maxLength ? minLength : minLength + ".." + maxLength) + " characters");
            return null;
        }
        String stripped = Text.stripWhiteSpace(s);
        String textProblem = Text.problem(stripped);
        if (textProblem != null) {
            problem(name, textProblem);
            return null;
        }
        // in NFC, as it is kept and sent: "e" + U+0301 is one character ("é"), counted once against the limits
        String trimmed = Text.composed(stripped);
        if (minLength >= 1 && Text.blank(trimmed)) {
            // "   " (or only invisible characters) is nothing: "1..100 characters" would leave its sender counting three
            problem(name, "must not be blank");
            return null;
        }
        int length = trimmed.codePointCount(0, trimmed.length());
        if (length < minLength || length > maxLength) {
            problem(name, minLength == maxLength ? "must be " + minLength + " characters"
                    : "must be " + minLength + ".." + maxLength + " characters");
            return null;
        }
        return trimmed;
    }

    private String qualified(String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    private static Map<String, Object> detail(String field, String message) {
        var d = new LinkedHashMap<String, Object>();
        d.put("field", field);
        d.put("message", message);
        return d;
    }
}
