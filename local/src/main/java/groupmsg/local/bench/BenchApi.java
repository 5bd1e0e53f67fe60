package groupmsg.local.bench;

import com.fasterxml.jackson.jr.ob.JSON;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/** The few public API calls the messages, pacing and memory benchmarks make against a local runtime. */
final class BenchApi {
    private static final String[] AREA_CODES = {"415", "212", "202", "617", "312", "213", "305", "206", "512", "303", "646", "718"};

    private static final Duration MAX_WAIT = Duration.ofMinutes(30);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String key;
    /**
     * Status requests {@link #message} made, repeated ones included (each costs the authorizer's and messages-api's
     * requests); set it to 0 to count from a point on.
     */
    int polls;
    /** Status polls answered with a 5xx (and repeated). */
    int failedPolls;

    BenchApi(String base, String key) {
        this.base = base;
        this.key = key;
    }

    /** A long-code sending line; returns its id. */
    String line(String phone, int mps) throws Exception {
        return (String) call("POST", "/v1/lines", "{\"phone\":\"" + phone + "\",\"type\":\"long_code\",\"mps\":" + mps + "}").get("id");
    }

    /**
     * A group of {@code members} distinct valid US numbers starting at number {@code offset} (up to 120,000 in all),
     * each named as most members are ("Member k": the name also rides on each delivery row), added 1,000 per request
     * (the API's batch limit); returns its id.
     */
    String group(String name, int members, int offset) throws Exception {
        String id = (String) call("POST", "/v1/groups", "{\"name\":\"" + name + "\"}").get("id");
        for (int from = 0; from < members; from += 1000) {
            StringBuilder body = new StringBuilder("{\"members\":[");
            for (int i = from; i < Math.min(members, from + 1000); i++) {
                if (i > from) body.append(',');
                body.append("{\"phone\":\"").append(phone(offset + i)).append("\",\"name\":\"Member ").append(offset + i).append("\"}");
            }
            call("POST", "/v1/groups/" + id + "/members", body.append("]}").toString());
        }
        return id;
    }

    static String phone(int k) {
        return "+1" + AREA_CODES[k / 10_000 % AREA_CODES.length] + "555" + String.format("%04d", k % 10_000);
    }

    /** Sends a group message (202); returns the message id. */
    String send(String groupId, String lineId) throws Exception {
        return (String) call("POST", "/v1/groups/" + groupId + "/messages",
                "{\"lineId\":\"" + lineId + "\",\"sender\":\"Bench\",\"title\":\"bench\",\"body\":\"Benchmark message\"}").get("id");
    }

    /** Polls every 100 ms until the message is "sent" (every recipient handed to the carrier or settled). */
    void awaitSent(String messageId) throws Exception {
        long deadline = System.nanoTime() + MAX_WAIT.toNanos();
        while (!"sent".equals(message(messageId).get("status"))) {
            checkDeadline(deadline, messageId);
            Thread.sleep(100);
        }
    }

    /**
     * Polls until every recipient has a final status (the emulator's "delivered" receipts have arrived), or until no
     * new one has come for {@code quiet}: a status callback the gateway failed to take is lost, as with a carrier.
     *
     * @return how many recipients have a final status
     */
    @SuppressWarnings("unchecked")
    long awaitSettled(String messageId, int recipients, Duration quiet) throws Exception {
        long last = -1;
        long changedAt = System.nanoTime();
        while (true) {
            var counts = (Map<String, Number>) message(messageId).get("counts");
            long settled = counts.get("delivered").longValue() + counts.get("failed").longValue() + counts.get("optedOut").longValue();
            if (settled >= recipients) return settled;
            if (settled != last) {
                last = settled;
                changedAt = System.nanoTime();
            } else if (System.nanoTime() - changedAt > quiet.toNanos()) {
                return settled;
            }
            Thread.sleep(250);
        }
    }

    /**
     * The message, for polling: a 5xx (an overloaded runtime's authorizer or handler timing out) is counted in
     * {@link #failedPolls} and the poll is simply repeated, as a client polling for status would.
     */
    Map<String, Object> message(String messageId) throws Exception {
        while (true) {
            try {
                polls++;
                return call("GET", "/v1/messages/" + messageId, null);
            } catch (HttpError e) {
                if (e.status < 500) throw e;
                failedPolls++;
                Thread.sleep(1000);
            }
        }
    }

    /** What a CSV download took: its rows (headers left out), parts, bytes and time. */
    record CsvDownload(long rows, int parts, long bytes, long millis) {
        String summary() {
            return String.format("%d rows in %d part(s), %.2f MB, %.1f s: %.0f rows/s", rows, parts, bytes / 1_048_576.0,
                    millis / 1000.0, rows / (millis / 1000.0));
        }
    }

    /** Downloads a CSV answer part after part (x-next-cursor), as a client of the exports does. */
    CsvDownload csvDownload(String path) throws Exception {
        long start = System.nanoTime();
        long rows = 0;
        long bytes = 0;
        int parts = 0;
        String cursor = null;
        do {
            var request = HttpRequest.newBuilder(URI.create(base + path + (cursor == null ? "" : "?cursor=" + cursor)))
                    .timeout(Duration.ofSeconds(120)).header("authorization", "Bearer " + key).GET().build();
            HttpResponse<String> part = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (part.statusCode() != 200) throw new HttpError(part.statusCode(), "GET " + path + " -> " + part.statusCode());
            parts++;
            bytes += part.body().getBytes(StandardCharsets.UTF_8).length;
            rows += part.body().lines().count() - 1;
            cursor = part.headers().firstValue("x-next-cursor").orElse(null);
        } while (cursor != null);
        return new CsvDownload(rows, parts, bytes, (System.nanoTime() - start) / 1_000_000);
    }

    /** A stuck pipeline fails the benchmark instead of hanging it (100,000 recipients take minutes, not half an hour). */
    private static void checkDeadline(long deadline, String messageId) {
        if (System.nanoTime() > deadline) throw new IllegalStateException("message " + messageId + " not done after " + MAX_WAIT);
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> call(String method, String path, String json) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                .header("authorization", "Bearer " + key)
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) request.header("content-type", "application/json");
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (response.statusCode() >= 300) throw new HttpError(response.statusCode(), method + " " + path + " -> " + response.statusCode() + " " + response.body());
        return (Map<String, Object>) JSON.std.anyFrom(response.body());
    }

    @SuppressWarnings("serial")
    static final class HttpError extends IllegalStateException {
        final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
