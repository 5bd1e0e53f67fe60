package groupmsg.platform.api;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.HttpFunction;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import groupmsg.platform.config.Wiring;

import java.util.List;

/**
 * The HTTP API's {@code $default} route: any method and path that no route matches gets the contract's 404
 * body (rather than API Gateway's bare one), naming what was asked for.
 */
public final class NotFoundHandler implements HttpFunction {

    private final Priming priming = Priming.register(this, null);

    public NotFoundHandler() {}

    /** Same constructor shape as every handler; this one needs none of the wiring. */
    public NotFoundHandler(Wiring wiring) {}

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        String method = event.getRequestContext() != null && event.getRequestContext().getHttp() != null
                ? event.getRequestContext().getHttp().getMethod() : "?";
        String path = sanitize(event.getRawPath());
        ApiResponse response = ApiResponse.error(ErrorCode.NOT_FOUND,
                "no route for " + method + " " + path, List.of());
        return APIGatewayV2HTTPResponse.builder().withStatusCode(response.status())
                .withHeaders(response.headers()).withBody(response.body()).build();
    }

    private static String sanitize(String path) {
        if (path == null) return "/";
        String cut = path.length() > 200 ? path.substring(0, 200) + "..." : path;
        return cut.replaceAll("[^\\x20-\\x7E]", "?");
    }
}
