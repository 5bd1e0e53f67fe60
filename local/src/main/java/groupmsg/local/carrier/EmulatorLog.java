package groupmsg.local.carrier;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** The emulator's log lines: one JSON object per line on stderr, the local runtime's shape. Never secrets. */
final class EmulatorLog {
    private EmulatorLog() {}

    static void info(String event, Map<String, ?> fields) {
        write("INFO", event, fields, null);
    }

    static void warn(String event, Map<String, ?> fields, Throwable error) {
        write("WARN", event, fields, error);
    }

    private static void write(String level, String event, Map<String, ?> fields, Throwable error) {
        var line = new LinkedHashMap<String, Object>();
        line.put("time", Instant.now().toString());
        line.put("level", level);
        line.put("source", "carrier-emulator");
        line.put("event", event);
        line.putAll(fields);
        if (error != null) {
            line.put("errorType", error.getClass().getName());
            line.put("error", String.valueOf(error.getMessage()));
        }
        String text;
        try {
            text = JSON.std.asString(line);
        } catch (IOException e) {
            text = line.toString();
        }
        System.err.println(text);
    }
}
