package groupmsg.local;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.json.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;

/**
 * How a handler that {@code invoke} runs against a running runtime publishes: to that runtime's
 * {@code POST /local/events}, so its events are recorded there ({@code GET /local/events}) and reach its webhooks
 * queue and SNS topics as the runtime's own handlers' do. A publish the runtime did not take throws, as a failed SNS
 * publish does, so the handler's own retry rules apply.
 */
final class RuntimeEventPublisher implements EventPublisher, AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final URI endpoint;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    RuntimeEventPublisher(String runtimeBaseUrl) {
        this.endpoint = URI.create(runtimeBaseUrl + "/local/events");
    }

    @Override
    public void publish(Topic topic, String accountId, String type, java.util.Map<String, Object> event) {
        var body = new LinkedHashMap<String, Object>();
        body.put("topic", topic.wireName());
        body.put("accountId", accountId);
        body.put("type", type);
        body.put("event", event);
        HttpResponse<String> response;
        try {
            response = http.send(HttpRequest.newBuilder(endpoint).timeout(TIMEOUT)
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Json.write(body))).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("the local runtime at " + endpoint + " did not take the event", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing to " + endpoint, e);
        }
        if (response.statusCode() != 202) {
            throw new IllegalStateException("the local runtime refused the event: HTTP " + response.statusCode() + " " + response.body());
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
