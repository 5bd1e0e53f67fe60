package groupmsg.webhooks;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import groupmsg.carrier.TwilioSignature;
import groupmsg.messages.StatusCallbacks;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.config.Wiring;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Twilio's webhooks ({@code /webhooks/twilio/...}; no API key: the X-Twilio-Signature is the credential,
 * checked over PUBLIC_BASE_URL + path + query). Nothing is read or stored before the signature checks out.
 * Answers empty TwiML.
 */
public final class CarrierWebhookHandler implements RequestHandler<APIGatewayV2HTTPEvent, APIGatewayV2HTTPResponse> {
    static final int MAX_BODY_BYTES = 64 * 1024;
    private static final String EMPTY_TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

    private final StatusCallbacks statuses;
    private final String publicBaseUrl;
    private final String authToken;

    public CarrierWebhookHandler() {
        this(Wiring.fromEnvironment());
    }

    public CarrierWebhookHandler(Wiring wiring) {
        this.statuses = new StatusCallbacks(wiring);
        this.publicBaseUrl = wiring.config().publicBaseUrl();
        this.authToken = wiring.config().carrier() == null ? null : wiring.config().carrier().authToken();
    }

    @Override
    public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        ApiResponse response;
        try {
            response = handle(event);
        } catch (ApiException e) {
            response = ApiResponse.error(e);
        } catch (RuntimeException e) {
            Log.error("webhook_failed", Map.of("path", String.valueOf(event.getRawPath())), e);
            response = ApiResponse.error(ErrorCode.INTERNAL, "internal error", List.of());
        }
        return APIGatewayV2HTTPResponse.builder().withStatusCode(response.status()).withHeaders(response.headers())
                .withBody(response.body()).build();
    }

    private ApiResponse handle(APIGatewayV2HTTPEvent event) {
        ApiRequest request = ApiRequest.from(event);
        if (request.body().length > MAX_BODY_BYTES) throw ApiException.tooLarge("webhook body over " + MAX_BODY_BYTES + " bytes");
        if (!"application/x-www-form-urlencoded".equals(request.mediaType())) {
            throw new ApiException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "content type must be application/x-www-form-urlencoded");
        }
        Map<String, List<String>> params = parseForm(ApiRequest.utf8(request.body()));
        String query = event.getRawQueryString() == null || event.getRawQueryString().isEmpty() ? "" : "?" + event.getRawQueryString();
        String url = publicBaseUrl + event.getRawPath() + query;
        String signature = request.header(TwilioSignature.HEADER.toLowerCase(Locale.ROOT)).orElse(null);
        if (authToken == null || publicBaseUrl == null || signature == null
                || !TwilioSignature.verify(url, params, authToken, signature)) {
            Log.warn("webhook_signature_rejected", Map.of("path", String.valueOf(event.getRawPath())));
            throw ApiException.forbidden("invalid or missing X-Twilio-Signature");
        }
        if ("POST /webhooks/twilio/status".equals(event.getRouteKey())) {
            statuses.apply(request.query("a").orElse(null), request.query("m").orElse(null), request.query("s").orElse(null),
                    first(params, "To"), first(params, "MessageSid"), first(params, "MessageStatus"), first(params, "ErrorCode"));
        } else {
            throw ApiException.notFound("webhook " + event.getRouteKey());
        }
        return ApiResponse.text(200, "text/xml; charset=utf-8", EMPTY_TWIML, Map.of());
    }

    static Map<String, List<String>> parseForm(String body) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (body.isEmpty()) return params;
        for (String pair : body.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            try {
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                params.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("body is not valid form encoding");
            }
        }
        return params;
    }

    private static String first(Map<String, List<String>> params, String name) {
        List<String> values = params.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
