package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A function behind an SQS event source (with partial batch responses). The Lambda runtime prefers {@link RequestStreamHandler} when a class is both, so in
 * AWS (and in the local runtime, which does the same) events pass through {@link LambdaJson}, not the runtime's
 * serialisation library; tests call the typed method.
 */
public interface QueueFunction extends RequestHandler<SQSEvent, SQSBatchResponse>, RequestStreamFunction {
    @Override
    default void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        LambdaJson.write(LambdaJson.batchResponse(handleRequest(LambdaJson.sqsEvent(LambdaJson.read(input)), context)), output);
    }
}
