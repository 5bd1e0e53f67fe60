package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A function behind an HTTP API route (payload format 2.0). The Lambda runtime prefers {@link RequestStreamHandler} when a class is both, so in
 * AWS (and in the local runtime, which does the same) events pass through {@link LambdaJson}, not the runtime's
 * serialisation library; tests call the typed method.
 */
public interface HttpFunction extends RequestHandler<APIGatewayV2HTTPEvent, APIGatewayV2HTTPResponse>, RequestStreamFunction {
    @Override
    default void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        LambdaJson.write(LambdaJson.httpResponse(handleRequest(LambdaJson.httpEvent(LambdaJson.read(input)), context)), output);
    }
}
