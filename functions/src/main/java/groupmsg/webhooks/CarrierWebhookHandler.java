package groupmsg.webhooks;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.lambda.HttpFunction;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import groupmsg.carrier.TwilioSids;
import groupmsg.carrier.TwilioSignature;
import groupmsg.inbound.InboundService;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.messages.StatusCallbacks;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.ApiRequest;
import groupmsg.platform.api.ApiResponse;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.Text;
import groupmsg.platform.config.Wiring;

import java.net.URLDecoder;
import java.time.Duration;
import java.time.Clock;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Twilio's webhooks ({@code /webhooks/twilio/...}; no API key: the X-Twilio-Signature is the credential,
 * checked over PUBLIC_BASE_URL + path + query). Nothing is read or stored before the signature checks out: a body
 * over 64 KB is a 413 unread; a missing signature, a body that cannot be read as a form (so cannot be verified) or a
 * wrong signature is a 403; only a signed request hears about its content type or Twilio's fields (400).
 * Answers empty TwiML. Delivery receipts are queued for the receipt worker, which applies them in bulk; inbound
 * messages are stored and queued (see {@link InboundService}).
 */
public final class CarrierWebhookHandler implements HttpFunction {
    static final int MAX_BODY_BYTES = 64 * 1024;
    private static final String EMPTY_TWIML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

    /** Twilio's own limit on an inbound SMS body. */
    static final int MAX_INBOUND_BODY = 1600;
    static final int MAX_MEDIA = 10;
    private static final String FORM = "application/x-www-form-urlencoded";
    static final int MAX_SID = 64;
    /**
     * The carrier's message id, our dedupe key ({@code INSID#<sid>}). Twilio's are SM/MM + 32 hex, but the signature
     * already proves who sent the request, so any plausible id is taken (test tools and other Twilio-dialect
     * carriers make up their own); only what could not be an id at all is refused.
     */
    private static final Pattern MESSAGE_SID = Pattern.compile("[A-Za-z0-9]{2," + MAX_SID + "}");
    private static final Pattern ADDRESS = Pattern.compile("\\+?[0-9A-Za-z]{3,20}");

    private final QueueSender queue;
    private final InboundService inbound;
    private final String publicBaseUrl;
    /** The carrier's token, and during a rotation the one it replaces (see CarrierSettings). */
    private final List<String> signingTokens;
    /** The carrier account's id: a request that names it but does not verify is ours misconfigured, not a stranger's. */
    private final String accountSid;
    private final Clock clock;

    private final Priming priming;

    public CarrierWebhookHandler() {
        this(Wiring.fromEnvironment());
    }

    public CarrierWebhookHandler(Wiring wiring) {
        this.queue = new SqsQueueSender(wiring.sqsClient(), wiring.config());
        this.inbound = new InboundService(wiring, queue);
        this.clock = wiring.clock();
        this.publicBaseUrl = wiring.config().publicBaseUrl();
        this.signingTokens = wiring.config().carrier() == null ? List.of() : wiring.config().carrier().signingTokens();
        this.accountSid = wiring.config().carrier() == null ? null : wiring.config().carrier().accountSid();
        // forgotten after a rotation, the replaced token would go on signing webhooks for good
        if (signingTokens.size() > 1) Log.warn("carrier_previous_token_taken", Map.of("until", "previousAuthToken leaves the secret"));
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public Priming priming() {
        return priming;
    }

    @Override
    public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        ApiResponse response;
        try {
            response = handle(event, context);
        } catch (ApiException e) {
            response = ApiResponse.error(e);
        } catch (RuntimeException e) {
            Log.error("webhook_failed", Map.of("path", String.valueOf(event.getRawPath())), e);
            response = ApiResponse.error(ErrorCode.INTERNAL, "internal error", List.of());
        }
        return APIGatewayV2HTTPResponse.builder().withStatusCode(response.status()).withHeaders(response.headers())
                .withBody(response.body()).build();
    }

    /**
     * How long a text's receipt may take before it is handed to the inbound queue instead: the function's time left
     * less what the send may take (its SDK retries included), so Twilio gets its 200 rather than the function's end.
     */
    static Duration receiveTimeLimit(Context context) {
        return context == null ? RECEIVE_TIME_LIMIT
                : Duration.ofMillis(context.getRemainingTimeInMillis()).minus(HAND_ON_RESERVE);
    }

    /** What a hand-on to the inbound queue is left of the function's 10 s; the time limit without a context (tests). */
    static final Duration HAND_ON_RESERVE = Duration.ofSeconds(4);
    static final Duration RECEIVE_TIME_LIMIT = Duration.ofSeconds(6);

    private ApiResponse handle(APIGatewayV2HTTPEvent event, Context context) {
        ApiRequest request = ApiRequest.from(event);
        // Refused unread: the size is known without looking at the body.
        if (request.body().length > MAX_BODY_BYTES) throw ApiException.tooLarge("webhook body over " + MAX_BODY_BYTES + " bytes");
        // The signature before anything else about the request (API.md: bad or missing -> 403): an unsigned caller
        // learns nothing about which other check its request would fail.
        String signature = request.header(TwilioSignature.HEADER.toLowerCase(Locale.ROOT)).orElse("");
        if (signature.isBlank()) throw signatureRejected(event, false);
        if (signingTokens.isEmpty() || publicBaseUrl == null) throw signatureRejected(event, true);
        // The signature covers the form's parameters: a body that cannot be read as a form cannot be verified (and is
        // no carrier's: not paged)
        Map<String, List<String>> params = readForm(request.body()).orElseThrow(() -> signatureRejected(event, false));
        String query = event.getRawQueryString() == null || event.getRawQueryString().isEmpty() ? "" : "?" + event.getRawQueryString();
        boolean signed = false;
        for (String url : signedUrls(publicBaseUrl, event.getRawPath())) {
            for (String token : signingTokens) signed |= TwilioSignature.verify(url + query, params, token, signature); // each, in constant time
        }
        // paged when it names our carrier account: a scanner's post, or a forgery that does not name it, pages nobody
        // (the id is no secret, though: Twilio's media URLs carry it, so someone who has seen one can still page)
        if (!signed) throw signatureRejected(event, accountSid != null && accountSid.equals(first(params, "AccountSid")));
        // Signed, so the carrier (or whoever holds the token) sent it: now it may hear what is wrong with it.
        if (!FORM.equals(request.mediaType())) {
            throw ApiException.invalid("content type must be " + FORM);
        }
        if ("POST /webhooks/twilio/inbound".equals(event.getRouteKey())) {
            inbound.receiveOrDefer(inboundSms(params), receiveTimeLimit(context));
        } else if ("POST /webhooks/twilio/status".equals(event.getRouteKey())) {
            StatusCallbacks.receipt(request.query("a").orElse(null), request.query("m").orElse(null),
                    request.query("s").orElse(null), first(params, "To"), statusSid(params),
                    first(params, "MessageStatus"), first(params, "ErrorCode"), clock.millis())
                    .ifPresent(r -> queue.send(Queues.RECEIPTS, List.of(new QueueMessage(r.toJson(), null, null))));
        } else {
            throw ApiException.notFound("webhook " + event.getRouteKey());
        }
        return ApiResponse.text(200, "text/xml; charset=utf-8", EMPTY_TWIML, Map.of());
    }

    /**
     * The URLs Twilio may have called, for its signature: the public base URL and the request's path; and when the
     * base URL has a path the request's already starts with, also with that path once (a custom domain's API mapping,
     * {@code https://api.example.com/sms}, whose key API Gateway keeps in {@code rawPath}), first. Both, as a proxy
     * in front that strips a base path such as {@code /webhooks} leaves a request's path that starts with it too.
     */
    static List<String> signedUrls(String publicBaseUrl, String rawPath) {
        String path = rawPath == null ? "" : rawPath;
        String appended = publicBaseUrl + path;
        int schemeEnd = publicBaseUrl.indexOf("://");
        int pathStart = schemeEnd < 0 ? -1 : publicBaseUrl.indexOf('/', schemeEnd + 3);
        if (pathStart > 0) {
            String basePath = publicBaseUrl.substring(pathStart);
            if (path.equals(basePath) || path.startsWith(basePath + "/")) {
                return List.of(publicBaseUrl.substring(0, pathStart) + path, appended);
            }
        }
        return List.of(appended);
    }

    /**
     * Twilio's inbound fields, checked after the signature: a malformed request from the carrier is a 400 (never
     * stored), while fields we do not use are ignored (Twilio adds fields over time, and they are signed too).
     */
    static InboundService.InboundSms inboundSms(Map<String, List<String>> params) {
        String sid = first(params, "MessageSid");
        if (sid == null || sid.isBlank()) sid = first(params, "SmsMessageSid");
        if (sid == null || !MESSAGE_SID.matcher(sid).matches()) {
            throw ApiException.invalid("MessageSid missing or malformed (2.." + MAX_SID + " letters and digits)");
        }
        // The signature is over names and values run together, so a captured request cut anew keeps it: with
        // MessageSid=SM<32 hex>NumMedia0 and no NumMedia it signs the same, and a new id would store it again (a
        // START lifting a later STOP). Twilio's ids are exactly 34 characters, and its three copies of one agree.
        if (TwilioSids.beginsAsTwiliosButIsNot(sid)) {
            throw ApiException.invalid("MessageSid malformed (Twilio's are SM or MM and 32 hex digits)");
        }
        for (String copy : List.of("SmsMessageSid", "SmsSid")) {
            String other = first(params, copy);
            if (other != null && !other.isBlank() && !other.equals(sid)) {
                throw ApiException.invalid(copy + " is not the MessageSid");
            }
        }
        String from = first(params, "From");
        String to = first(params, "To");
        if (from == null || !ADDRESS.matcher(from.strip()).matches()) throw ApiException.invalid("From missing or malformed");
        if (to == null || !ADDRESS.matcher(to.strip()).matches()) throw ApiException.invalid("To missing or malformed");
        // someone's SMS is taken whatever it holds, but not a NUL or an escape to relay to others and publish
        String body = Text.clean(first(params, "Body"));
        if (body == null) body = "";
        // characters, as Twilio counts its 1,600: 801 emoji are 1,602 UTF-16 units, and a real text from a phone
        if (body.codePointCount(0, body.length()) > MAX_INBOUND_BODY) {
            throw ApiException.invalid("Body over " + MAX_INBOUND_BODY + " characters");
        }
        int numMedia;
        try {
            numMedia = Integer.parseInt(Optional.ofNullable(first(params, "NumMedia")).orElse("0").strip());
        } catch (NumberFormatException e) {
            throw ApiException.invalid("NumMedia must be a number");
        }
        if (numMedia < 0 || numMedia > MAX_MEDIA) throw ApiException.invalid("NumMedia must be 0.." + MAX_MEDIA);
        List<String> media = new ArrayList<>();
        for (int i = 0; i < numMedia; i++) {
            String url = first(params, "MediaUrl" + i);
            if (url == null || !(url.startsWith("https://") || url.startsWith("http://")) || url.length() > 2048) {
                throw ApiException.invalid("MediaUrl" + i + " missing or not a URL");
            }
            media.add(url);
        }
        if (body.isBlank() && media.isEmpty()) throw ApiException.invalid("message has neither Body nor media");
        return new InboundService.InboundSms(sid, from.strip(), to.strip(), body, List.copyOf(media), first(params, "OptOutType"));
    }

    /**
     * The MessageSid of a status callback: recorded on the delivery row when the row is found by our callback URL's
     * parameters, and how the row is found without them (a callback to the bare URL). None is fine, a malformed
     * one is a 400.
     */
    static String statusSid(Map<String, List<String>> params) {
        String sid = first(params, "MessageSid");
        if (sid == null || sid.isBlank()) return null;
        if (!MESSAGE_SID.matcher(sid).matches()) {
            throw ApiException.invalid("MessageSid malformed (2.." + MAX_SID + " letters and digits)");
        }
        return sid;
    }

    /**
     * The body's form parameters, whatever the content type says (the signature is checked before it); empty when
     * the body is not a form: not UTF-8, or a bad {@code %} escape.
     */
    static Optional<Map<String, List<String>>> readForm(byte[] body) {
        try {
            return Optional.of(parseForm(ApiRequest.utf8(body)));
        } catch (ApiException e) {
            return Optional.empty();
        }
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

    /**
     * The 403 for a request whose signature is missing or does not verify. One that came signed by our carrier
     * account ({@code paged}: its {@code AccountSid}, or any signed one when no token is configured) is paged on
     * ({@link HandledFailures#WEBHOOK_SIGNATURE_MISMATCH}): what a wrong {@code publicBaseUrl} or auth token makes of
     * every callback, which Twilio does not send again (STOPs lost), where a small account's few an hour stayed under
     * the webhooks' 4xx alarm; an unsigned post (a scanner) or a stranger's forgery is not.
     */
    static ApiException signatureRejected(APIGatewayV2HTTPEvent event, boolean paged) {
        var fields = new java.util.LinkedHashMap<String, Object>();
        fields.put("path", String.valueOf(event.getRawPath()));
        if (paged) fields.put("metric", HandledFailures.WEBHOOK_SIGNATURE_MISMATCH);
        Log.warn("webhook_signature_rejected", fields);
        return ApiException.forbidden("invalid or missing X-Twilio-Signature");
    }

    private static String first(Map<String, List<String>> params, String name) {
        List<String> values = params.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
