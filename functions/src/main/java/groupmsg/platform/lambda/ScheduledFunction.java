package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.amazonaws.services.lambda.runtime.events.ScheduledEvent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;

/**
 * A function run by an EventBridge schedule; it answers a summary of what it did. Events pass through
 * {@link LambdaJson} (see {@link HttpFunction} for why).
 */
public interface ScheduledFunction extends RequestHandler<ScheduledEvent, Map<String, Object>>, RequestStreamFunction {
    @Override
    default void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        LambdaJson.write(handleRequest(LambdaJson.scheduledEvent(LambdaJson.read(input)), context), output);
    }
}
