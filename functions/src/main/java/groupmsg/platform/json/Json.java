package groupmsg.platform.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * JSON in and out with jackson-jr: small and quick to load, which matters for cold starts. Request bodies are
 * read as plain maps and validated field by field (see {@code platform.api.JsonBody}), responses are written
 * from maps and lists, so the wire shape is spelled out where it is built.
 */
public final class Json {
    /**
     * The deepest nesting read (the parser's default is 1,000). Our bodies are a few levels deep; a request of 800 nested
     * arrays (1.6 KB) overflowed the stack in the request hash's walk, which no handler catches: a 500, and the
     * execution environment gone.
     */
    static final int MAX_DEPTH = 64;

    private static final JSON JSON_STD = new JSON(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .build())
            .with(JSON.Feature.READ_ONLY, false)
            .without(JSON.Feature.USE_FIELDS)
            .with(JSON.Feature.FAIL_ON_DUPLICATE_MAP_KEYS)
            .with(JSON.Feature.WRITE_NULL_PROPERTIES);

    /** A parser setting's name in its messages, e.g. ", from `StreamReadConstraints.getMaxNestingDepth()`". */
    private static final Pattern CONFIGURATION_NAME = Pattern.compile(",? from `[^`]*`");
    /** Where an unclosed object or array began, as the parser names it ("start marker at [Source: ...; line: 1, column: 1]"). */
    private static final Pattern START_MARKER = Pattern.compile("\\(start marker at \\[Source: .*?; line: (\\d+), column: (\\d+)\\]\\)");
    /** NaN and the infinities, which the parser names with the setting that would let them through. */
    private static final Pattern NON_NUMERIC_NUMBER = Pattern.compile("^Non-standard token '([^']*)'.*");
    /** A comment (slash-star or slash-slash), which the parser answers with "maybe a (non-standard) comment? ... Feature ...". */
    private static final Pattern COMMENT = Pattern.compile("^Unexpected character \\('/' \\(code 47\\)\\): maybe a \\(non-standard\\) comment\\?.*");
    /** What is left of a parser setting's name in other messages: ": enable `JsonReadFeature.X` to allow", "Feature 'X' ...". */
    private static final Pattern SETTING_HINT = Pattern.compile(
            "\\s*[:;,]?\\s*(?:enable|disable) `[^`]*`(?: to allow)?|\\s*\\([^()]*Feature '[^']*'[^()]*\\)");
    /** What {@link #parse} says of a text with no JSON value in it: empty, or only whitespace. */
    public static final String EMPTY = "no JSON value (the text is empty or only whitespace)";
    /** The parser's words for a text with no value in it (empty, or only whitespace). */
    private static final String NO_CONTENT = "No content to map due to end-of-input";

    private Json() {}

    /** Parses a JSON text; throws {@link JsonSyntaxException} (with the parser's position) when it is not JSON. */
    public static Object parse(String text) {
        try (JsonParser parser = JSON_STD.createParser(text)) {
            Object value = JSON_STD.anyFrom(parser);
            // anyFrom stops after the first value; anything but whitespace after it makes the text not JSON.
            if (parser.nextToken() != null) throw new JsonSyntaxException("unexpected content after the JSON value");
            return value;
        } catch (JsonProcessingException e) {
            throw new JsonSyntaxException(describe(e));
        } catch (IOException e) {
            throw new JsonSyntaxException(firstLine(e.getMessage()));
        }
    }

    /**
     * The parser's reason and where, for the caller's 400: its own message without the location block it appends
     * and without the names of its settings ("exceeds the maximum allowed (1000, from `StreamReadConstraints...`)",
     * "enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"): those are ours to choose, not the caller's.
     * NaN, the infinities and comments, which the parser explains only by naming such a setting, are said plainly.
     */
    private static String describe(JsonProcessingException e) {
        String reason = CONFIGURATION_NAME.matcher(firstLine(e.getOriginalMessage())).replaceAll("");
        reason = START_MARKER.matcher(reason).replaceAll("(opened at line $1, column $2)");
        if (reason.startsWith(NO_CONTENT)) return EMPTY; // its position (past the whitespace) says nothing more
        reason = NON_NUMERIC_NUMBER.matcher(reason).replaceAll("$1 is not a JSON number");
        reason = COMMENT.matcher(reason).replaceAll("comments are not allowed in JSON");
        reason = SETTING_HINT.matcher(reason).replaceAll("");
        JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 1 ? reason : reason + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }

    /**
     * Parses a JSON text that must be an object; throws {@link NotAnObjectException} when it is JSON but not an
     * object ({@code []}, {@code "x"}, {@code 1}, {@code null}), {@link JsonSyntaxException} when it is not JSON.
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object value = parse(text);
        if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
        throw new NotAnObjectException(kind(value));
    }

    /** What a JSON value that is not an object is, as a noun phrase: "an array", "a string", "null"... */
    static String kind(Object value) {
        if (value == null) return "null";
        if (value instanceof List<?>) return "an array";
        if (value instanceof String) return "a string";
        if (value instanceof Number) return "a number";
        if (value instanceof Boolean) return "a boolean";
        return "another kind of value";
    }

    public static String write(Object value) {
        try {
            return JSON_STD.asString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The same JSON with every object's keys sorted and whole numbers in one spelling (1, 1.0 and 1e0 are the same
     * number), for comparing values rather than their spelling.
     */
    public static String writeCanonical(Object value) {
        return write(canonical(value, true));
    }

    /** The canonical form before whole numbers had one spelling (keys sorted only): what records written then hold. */
    public static String writeSortedKeys(Object value) {
        return write(canonical(value, false));
    }

    private static Object canonical(Object value, boolean wholeNumbers) {
        if (value instanceof Map<?, ?> map) {
            var sorted = new TreeMap<String, Object>();
            map.forEach((k, v) -> sorted.put((String) k, canonical(v, wholeNumbers)));
            return sorted;
        }
        if (value instanceof List<?> list) return list.stream().map(v -> canonical(v, wholeNumbers)).toList();
        // a whole number spelt with a fraction or an exponent (read as a Double) is written as the integer is
        if (wholeNumbers && value instanceof Double d && d == Math.rint(d) && Math.abs(d) < 0x1p53) return d.longValue();
        return value;
    }

    private static String firstLine(String message) {
        if (message == null) return "malformed JSON";
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /** A text that is not JSON; its message says what is wrong and where, in words meant for the sender. */
    public static sealed class JsonSyntaxException extends RuntimeException permits NotAnObjectException {
        public JsonSyntaxException(String message) {
            super(message);
        }
    }

    /**
     * Valid JSON that is not the object asked for. A {@link JsonSyntaxException}, so that a caller for whom any bad
     * input is alike catches one type; one that answers a sender tells them apart ("body must be a JSON object",
     * not "body is not valid JSON"). {@link #kind()} is what the value was instead ("an array", "null"...).
     */
    public static final class NotAnObjectException extends JsonSyntaxException {
        private final String kind;

        NotAnObjectException(String kind) {
            super("expected a JSON object, not " + kind);
            this.kind = kind;
        }

        public String kind() {
            return kind;
        }
    }
}
