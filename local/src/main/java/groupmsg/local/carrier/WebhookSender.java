package groupmsg.local.carrier;

import groupmsg.carrier.TwilioSignature;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * POSTs Twilio-style webhooks: form-encoded, {@code X-Twilio-Signature} over the URL exactly as configured plus
 * the parameters. {@code route} may send the request somewhere else than the signed URL (the local runtime
 * delivers its own public URL straight to itself), as a reverse proxy in front of the app would.
 */
final class WebhookSender {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final HttpClient http;
    private final String authToken;
    private final UnaryOperator<String> route;

    WebhookSender(String authToken, UnaryOperator<String> route) {
        this.authToken = authToken;
        this.route = route;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /**
     * Sends and returns the HTTP status; throws {@link IOException} when the URL cannot be reached.
     *
     * @param url the URL as the app configured it (signed over exactly this)
     */
    int post(String url, Map<String, List<String>> params) throws IOException, InterruptedException {
        String signature = TwilioSignature.compute(url, params, authToken);
        HttpRequest request = HttpRequest.newBuilder(URI.create(route.apply(url)))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
                .header("User-Agent", "TwilioProxy/1.1 (groupmsg local carrier emulator)")
                .header(TwilioSignature.HEADER, signature)
                .POST(HttpRequest.BodyPublishers.ofString(Form.encode(params), StandardCharsets.UTF_8))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** Sends and logs the outcome; never throws. Returns the HTTP status, or -1 when not delivered. */
    int postLogged(String kind, String url, Map<String, List<String>> params, String messageSid) {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("kind", kind);
        fields.put("messageSid", messageSid);
        fields.put("url", url);
        try {
            int status = post(url, params);
            fields.put("status", status);
            if (status >= 200 && status < 300) {
                EmulatorLog.info("webhook_delivered", fields);
            } else {
                EmulatorLog.warn("webhook_refused", fields, null);
            }
            return status;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } catch (IOException | IllegalArgumentException e) {
            EmulatorLog.warn("webhook_failed", fields, e);
            return -1;
        }
    }

    /** Closes the HTTP client (its selector thread would outlive the emulator). */
    void close() {
        http.close();
    }
}
