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
    private static final JSON JSON_STD = JSON.std.with(JSON.Feature.READ_ONLY, false)
            .without(JSON.Feature.USE_FIELDS)
            .with(JSON.Feature.FAIL_ON_DUPLICATE_MAP_KEYS)
            .with(JSON.Feature.WRITE_NULL_PROPERTIES);

    /** A parser setting's name in its messages, e.g. ", from `StreamReadConstraints.getMaxNestingDepth()`". */
    private static final Pattern CONFIGURATION_NAME = Pattern.compile(",? from `[^`]*`");
    /** Where an unclosed object or array began, as the parser names it ("start marker at [Source: ...; line: 1, column: 1]"). */
    private static final Pattern START_MARKER = Pattern.compile("\\(start marker at \\[Source: .*?; line: (\\d+), column: (\\d+)\\]\\)");

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
     * and without the names of its settings ("exceeds the maximum allowed (1000, from `StreamReadConstraints...`)").
     */
    private static String describe(JsonProcessingException e) {
        String reason = CONFIGURATION_NAME.matcher(firstLine(e.getOriginalMessage())).replaceAll("");
        reason = START_MARKER.matcher(reason).replaceAll("(opened at line $1, column $2)");
        JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 1 ? reason : reason + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object value = parse(text);
        if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
        throw new JsonSyntaxException("expected a JSON object");
    }

    public static String write(Object value) {
        try {
            return JSON_STD.asString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The same JSON with every object's keys sorted, for comparing values rather than their spelling. */
    public static String writeCanonical(Object value) {
        return write(sortedKeys(value));
    }

    private static Object sortedKeys(Object value) {
        if (value instanceof Map<?, ?> map) {
            var sorted = new TreeMap<String, Object>();
            map.forEach((k, v) -> sorted.put((String) k, sortedKeys(v)));
            return sorted;
        }
        if (value instanceof List<?> list) return list.stream().map(Json::sortedKeys).toList();
        return value;
    }

    private static String firstLine(String message) {
        if (message == null) return "malformed JSON";
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    public static final class JsonSyntaxException extends RuntimeException {
        public JsonSyntaxException(String message) {
            super(message);
        }
    }
}
