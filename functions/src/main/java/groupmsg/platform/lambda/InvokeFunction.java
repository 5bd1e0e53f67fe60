package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import groupmsg.platform.json.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A function an operator invokes directly ({@code aws lambda invoke --payload '{...}'}), behind no route or event
 * source: a JSON object in, a JSON object out. Events pass through {@link LambdaJson} (see {@link HttpFunction} for
 * why). A payload that is not a JSON object is answered with an {@link #error error result} rather than thrown, so
 * the operator reads what was wrong instead of a stack trace; implementations answer bad fields the same way. Like a
 * schedule's, its run has effects, so SnapStart priming runs no event through it and primes its clients only.
 */
public interface InvokeFunction extends RequestHandler<Map<String, Object>, Map<String, Object>>, RequestStreamFunction {
    @Override
    default void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        Map<String, Object> event;
        try {
            event = LambdaJson.read(input);
        } catch (Json.NotAnObjectException e) {
            LambdaJson.write(error("invalid_request", "the payload must be a JSON object, not " + e.kind(), List.of()),
                    output);
            return;
        } catch (Json.JsonSyntaxException e) {
            LambdaJson.write(error("invalid_request", "the payload is not valid JSON: " + e.getMessage(), List.of()),
                    output);
            return;
        }
        LambdaJson.write(handleRequest(event, context), output);
    }

    /** The API's error body ({@code {"error": {code, message, details}}}), so an operator reads one format everywhere. */
    static Map<String, Object> error(String code, String message, List<Map<String, Object>> details) {
        var error = new LinkedHashMap<String, Object>();
        error.put("code", code);
        error.put("message", message);
        error.put("details", details);
        return Map.of("error", error);
    }
}
