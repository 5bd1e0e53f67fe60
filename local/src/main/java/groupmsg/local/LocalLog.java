package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The runtime's own log: one JSON object per line, the same shape the handlers log in, on stderr. Stderr keeps
 * stdout for what a user asked for (the banner, the response printed by {@code invoke}) and lets
 * {@code bin/local invoke ... | jq} work.
 */
final class LocalLog {
    private LocalLog() {}

    static void info(String event, Map<String, ?> fields) {
        write("INFO", event, fields, null);
    }

    static void warn(String event, Map<String, ?> fields) {
        write("WARN", event, fields, null);
    }

    static void warn(String event, Throwable error) {
        write("WARN", event, Map.of(), error);
    }

    static void warn(String event, Map<String, ?> fields, Throwable error) {
        write("WARN", event, fields, error);
    }

    /** Errors carry the whole stack trace: locally, finding the bug matters more than a tidy line. */
    static void error(String event, Map<String, ?> fields, Throwable error) {
        write("ERROR", event, fields, error);
    }

    private static void write(String level, String event, Map<String, ?> fields, Throwable error) {
        var line = new LinkedHashMap<String, Object>();
        line.put("time", Instant.now().toString());
        line.put("level", level);
        line.put("source", "local-runtime");
        line.put("event", event);
        line.putAll(fields);
        if (error != null) {
            line.put("errorType", error.getClass().getName());
            line.put("error", String.valueOf(error.getMessage()));
            if ("ERROR".equals(level)) line.put("stackTrace", stackTrace(error));
        }
        String text;
        try {
            text = JSON.std.asString(line);
        } catch (IOException e) {
            text = line.toString();
        }
        System.err.println(text);
    }

    private static String stackTrace(Throwable error) {
        var out = new StringWriter();
        error.printStackTrace(new PrintWriter(out));
        return out.toString();
    }
}
