package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2CustomAuthorizerEvent;
import com.amazonaws.services.lambda.runtime.events.SimpleIAMPolicyResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A function behind the HTTP API's Lambda authorizer (simple responses). The Lambda runtime prefers {@link RequestStreamHandler} when a class is both, so in
 * AWS (and in the local runtime, which does the same) events pass through {@link LambdaJson}, not the runtime's
 * serialisation library; tests call the typed method.
 */
public interface AuthorizerFunction extends RequestHandler<APIGatewayV2CustomAuthorizerEvent, SimpleIAMPolicyResponse>, RequestStreamFunction {
    @Override
    default void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        LambdaJson.write(LambdaJson.authorizerResponse(handleRequest(LambdaJson.authorizerEvent(LambdaJson.read(input)), context)), output);
    }
}
