package groupmsg.carrier;

import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.json.Json;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@link CarrierPort} over Twilio's REST Messages API ({@code POST /2010-04-01/Accounts/{sid}/Messages.json},
 * form-encoded, HTTP basic auth with the account SID and auth token). The local runtime points
 * {@link CarrierSettings#apiBaseUrl()} at its emulator, which speaks the same API.
 *
 * <p>One {@link HttpClient} per instance (HTTP/1.1; 2 s to connect, 10 s per request), built on the first send
 * or in {@link #prime()}: building it loads about 1,200 JDK classes and took 160-190 ms of a fresh JVM here,
 * which the init of a function that never sends (a webhook only checking signatures) should not pay. The auth
 * token is only ever put in the Authorization header, never logged.
 */
public final class TwilioCarrier implements CarrierPort {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /** Twilio: the recipient replied STOP (or is otherwise unsubscribed from this sender). */
    public static final String ERROR_UNSUBSCRIBED_RECIPIENT = "21610";
    /** Twilio: too many requests. */
    public static final String ERROR_TOO_MANY_REQUESTS = "20429";

    private final Lazy<HttpClient> http;
    private final URI messagesUri;
    private final String accountSid;
    private final String authorization;
    private final Duration requestTimeout;

    public TwilioCarrier(CarrierSettings settings) {
        this(settings, REQUEST_TIMEOUT);
    }

    /** With another per-request timeout (tests). */
    TwilioCarrier(CarrierSettings settings, Duration requestTimeout) {
        Objects.requireNonNull(settings, "settings");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        requireText(settings.apiBaseUrl(), "apiBaseUrl");
        requireText(settings.accountSid(), "accountSid");
        requireText(settings.authToken(), "authToken");
        String base = settings.apiBaseUrl().endsWith("/")
                ? settings.apiBaseUrl().substring(0, settings.apiBaseUrl().length() - 1)
                : settings.apiBaseUrl();
        this.accountSid = settings.accountSid();
        this.messagesUri = URI.create(base + "/2010-04-01/Accounts/"
                + URLEncoder.encode(settings.accountSid(), StandardCharsets.UTF_8) + "/Messages.json");
        this.authorization = "Basic " + Base64.getEncoder().encodeToString(
                (settings.accountSid() + ":" + settings.authToken()).getBytes(StandardCharsets.UTF_8));
        this.http = new Lazy<>(() -> HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build());
    }

    /** Builds the HTTP client and a request like a send's; sends nothing (a send has effects and costs). */
    @Override
    public void prime() {
        http.get();
        request(new OutboundMessage("+10000000000", "+10000000001", "priming", List.of(), null));
    }

    /** Whether the HTTP client has been built (for tests). */
    public boolean httpClientBuilt() {
        return http.built();
    }

    @Override
    public SendResult send(OutboundMessage message) {
        Objects.requireNonNull(message, "message");
        HttpRequest request = request(message);
        HttpResponse<String> response;
        try {
            response = http.get().send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("carrier request failed: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new InterruptedIOException("interrupted while calling the carrier"));
        }
        return interpret(response.statusCode(), response.body());
    }

    private HttpRequest request(OutboundMessage message) {
        return HttpRequest.newBuilder(messagesUri)
                .timeout(requestTimeout)
                .header("Authorization", authorization)
                .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(formBody(message), StandardCharsets.UTF_8))
                .build();
    }

    /** The form body: To, From, Body, each MediaUrl, StatusCallback (skipping absent values). */
    static String formBody(OutboundMessage message) {
        StringBuilder form = new StringBuilder();
        field(form, "To", message.to());
        field(form, "From", message.from());
        field(form, "Body", message.body());
        for (String mediaUrl : message.mediaUrls()) field(form, "MediaUrl", mediaUrl);
        field(form, "StatusCallback", message.statusCallbackUrl());
        return form.toString();
    }

    private static void field(StringBuilder form, String name, String value) {
        if (value == null) return;
        if (!form.isEmpty()) form.append('&');
        form.append(URLEncoder.encode(name, StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }

    private SendResult interpret(int status, String body) {
        Map<String, Object> json = parseQuietly(body);
        if (status == 200 || status == 201) {
            Object sid = json.get("sid");
            if (!(sid instanceof String s) || s.isBlank()) {
                // Accepted by status code, but no id: treat like a cut-off answer (may or may not have been sent).
                throw new UncheckedIOException(new IOException("carrier answered " + status + " without a message sid"));
            }
            Object initial = json.get("status");
            return new SendResult.Accepted(s, initial instanceof String st ? st : "queued");
        }
        String code = json.get("code") == null ? String.valueOf(status) : codeText(json.get("code"));
        Object rawMessage = json.get("message");
        String message = rawMessage instanceof String m && !m.isBlank() ? m : "HTTP " + status;
        // Turned away before the carrier acted on it (rate or concurrency limit, service unavailable): certainly not
        // sent, safe to try again.
        boolean turnedAway = status == 429 || status == 503 || ERROR_TOO_MANY_REQUESTS.equals(code);
        if (!turnedAway && (status >= 500 || status < 300)) {
            // Any other 5xx, or a success other than 200/201: the message may have been created. Twilio's own advice
            // (error 20500): a POST that sends an SMS and answers 500 may have sent it, and retrying can send it
            // twice. Treated like a cut-off answer: the receipt or maintenance settles it, and it is never resent.
            Log.warn("carrier_answer_unclear", answerFields(status, code));
            throw new UncheckedIOException(new IOException("carrier answered " + status + " (" + code + "): the message may have been sent"));
        }
        boolean optedOut = ERROR_UNSUBSCRIBED_RECIPIENT.equals(code);
        if (status != 429) {
            // Throttling is ordinary flow control under load; everything else is worth a line (never the token).
            Map<String, Object> fields = answerFields(status, code);
            fields.put("retryable", turnedAway);
            Log.info("carrier_rejected", fields);
        }
        return new SendResult.Rejected(status, code, message, turnedAway, optedOut);
    }

    /** What a log line says of a carrier's answer (never the token). */
    private Map<String, Object> answerFields(int status, String code) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("accountSid", accountSid);
        fields.put("httpStatus", status);
        fields.put("errorCode", code);
        return fields;
    }

    private static String codeText(Object code) {
        if (code instanceof Number n) return String.valueOf(n.longValue());
        return String.valueOf(code);
    }

    private static Map<String, Object> parseQuietly(String body) {
        if (body == null || body.isBlank()) return Map.of();
        try {
            return Json.parseObject(body);
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    private static void requireText(String value, String name) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException("carrier " + name + " is required");
    }

    @Override
    public String toString() {
        return "TwilioCarrier[" + messagesUri + "]";
    }
}
