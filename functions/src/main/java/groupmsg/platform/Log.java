package groupmsg.platform;

import groupmsg.platform.json.Json;
import groupmsg.platform.queue.ExpectedRetry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One JSON object per line on stdout, which Lambda's JSON log format and CloudWatch Logs Insights read as
 * fields. Never pass secrets or request bodies.
 */
public final class Log {
    private Log() {}

    public static void info(String event, Map<String, ?> fields) {
        write("INFO", event, fields, null);
    }

    public static void warn(String event, Map<String, ?> fields) {
        write("WARN", event, fields, null);
    }

    public static void error(String event, Map<String, ?> fields, Throwable error) {
        write("ERROR", event, fields, error);
    }

    /**
     * A queue job that failed for a fault (it comes back after its queue's visibility timeout, and lands in the
     * dead-letter queue after its retries), or maintenance's repair of one message, a relay redrive or a receipt check
     * (tried again the next minute): an error with the {@link HandledFailures#JOB_FAILED} metric, which pages when jobs
     * fail minute after minute (a broken deploy, a missing permission) long before a dead-letter queue fills.
     */
    public static void jobFailed(String event, Map<String, ?> fields, Throwable error) {
        if (ExpectedRetry.causedByInterrupt(error)) {
            // the invocation being stopped (the local runtime winding down): it comes again, no fault
            write("INFO", event, fields, error);
            return;
        }
        var withMetric = new LinkedHashMap<String, Object>(fields);
        withMetric.put("metric", HandledFailures.JOB_FAILED);
        write("ERROR", event, withMetric, error);
    }

    private static void write(String level, String event, Map<String, ?> fields, Throwable error) {
        var line = new LinkedHashMap<String, Object>();
        line.put("level", level);
        line.put("event", event);
        line.putAll(fields);
        if (error != null) {
            line.put("errorType", error.getClass().getName());
            line.put("error", String.valueOf(error.getMessage()));
            StackTraceElement[] trace = error.getStackTrace();
            if (trace.length > 0) line.put("at", trace[0].toString());
        }
        System.out.println(Json.write(line));
    }
}
