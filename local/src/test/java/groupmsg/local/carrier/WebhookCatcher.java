package groupmsg.local.carrier;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/** A tiny HTTP server on 127.0.0.1 that records every request and answers 204 (or a chosen status). */
final class WebhookCatcher implements AutoCloseable {
    /** One request as received. */
    record Caught(String method, String pathAndQuery, String signature, String contentType, String body) {
        Map<String, List<String>> form() {
            return Form.parse(body);
        }

        String field(String name) {
            return Form.first(form(), name);
        }
    }

    private final HttpServer server;
    private final List<Caught> requests = new CopyOnWriteArrayList<>();
    private volatile int status = 204;

    WebhookCatcher() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            try (exchange) {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                var uri = exchange.getRequestURI();
                requests.add(new Caught(exchange.getRequestMethod(),
                        uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()),
                        exchange.getRequestHeaders().getFirst("X-Twilio-Signature"),
                        exchange.getRequestHeaders().getFirst("Content-Type"), body));
                exchange.sendResponseHeaders(status, -1);
            }
        });
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void answer(int status) {
        this.status = status;
    }

    List<Caught> requests() {
        return List.copyOf(requests);
    }

    /** Waits until at least {@code count} requests arrived and returns them all; fails if they did not within the timeout. */
    List<Caught> await(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (requests.size() < count && System.nanoTime() < deadline) Thread.sleep(20);
        List<Caught> caught = requests();
        if (caught.size() < count) throw new AssertionError(count + " requests expected within " + timeout + ", " + caught.size() + " came: " + caught);
        return caught;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
