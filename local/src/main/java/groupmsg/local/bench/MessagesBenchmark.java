package groupmsg.local.bench;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Prints group-message figures on an in-memory local runtime: send accept latency for groups of 10 and N members,
 * end-to-end deliveries per second for N recipients on an unthrottled (1,000 mps) line, and the raw
 * BatchWriteItem rate of the same DynamoDB Local. Run with {@code bin/bench-messages [N]} (default 10,000).
 */
public final class MessagesBenchmark {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String key;

    private MessagesBenchmark(String base, String key) {
        this.base = base;
        this.key = key;
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            var bench = new MessagesBenchmark(runtime.baseUrl(), runtime.defaultApiKey());
            String lineId = (String) bench.call("POST", "/v1/lines", "{\"phone\":\"+12125550999\",\"type\":\"long_code\",\"mps\":1000}").get("id");
            String small = bench.group("bench small", 10, 0);
            String large = bench.group("bench large", n, 100_000);

            List<Long> smallAccept = new ArrayList<>();
            for (int i = 0; i < 5; i++) smallAccept.add(bench.timedSend(small, lineId).acceptMs());
            for (int i = 0; i < 5; i++) bench.awaitSentCount(5);
            var first = bench.timedSend(large, lineId);
            long start = first.startNanos();
            bench.awaitSent(first.id());
            double seconds = (System.nanoTime() - start) / 1e9;

            double raw = rawBatchWriteRate(runtime, Math.max(n, 10_000));

            Collections.sort(smallAccept);
            System.out.printf("send accept, 10 members: p50 %d ms, max %d ms (5 sends)%n", smallAccept.get(2), smallAccept.get(4));
            System.out.printf("send accept, %d members: %d ms%n", n, first.acceptMs());
            System.out.printf("end to end, %d recipients on a 1000 mps line: %.1f s = %.0f deliveries/s%n", n, seconds, n / seconds);
            System.out.printf("raw BatchWriteItem (4 threads, 25 items) on the same DynamoDB Local: %.0f items/s; ratio %.2f%n",
                    raw, (n / seconds) / raw);
        }
        System.exit(0);
    }

    record Sent(String id, long acceptMs, long startNanos) {}

    private Sent timedSend(String groupId, String lineId) throws Exception {
        long t = System.nanoTime();
        var r = call("POST", "/v1/groups/" + groupId + "/messages",
                "{\"lineId\":\"" + lineId + "\",\"sender\":\"Bench\",\"title\":\"bench\",\"body\":\"Benchmark message\"}");
        return new Sent((String) r.get("id"), (System.nanoTime() - t) / 1_000_000, t);
    }

    private void awaitSent(String messageId) throws Exception {
        while (!"sent".equals(call("GET", "/v1/messages/" + messageId, null).get("status"))) Thread.sleep(250);
    }

    @SuppressWarnings("unchecked")
    private void awaitSentCount(int count) throws Exception {
        for (int i = 0; i < 240; i++) {
            var items = (List<Map<String, Object>>) call("GET", "/v1/messages?limit=100", null).get("items");
            if (items.stream().filter(m -> "sent".equals(m.get("status"))).count() >= count) return;
            Thread.sleep(250);
        }
    }

    private String group(String name, int members, int offset) throws Exception {
        String id = (String) call("POST", "/v1/groups", "{\"name\":\"" + name + "\"}").get("id");
        for (int from = 0; from < members; from += 1000) {
            StringBuilder body = new StringBuilder("{\"members\":[");
            for (int i = from; i < Math.min(members, from + 1000); i++) {
                if (i > from) body.append(',');
                int k = offset + i;
                body.append("{\"phone\":\"+1").append(new String[]{"415", "212", "202", "617", "312", "213", "305", "206", "512", "303", "646", "718"}[k / 10_000 % 12])
                        .append("555").append(String.format("%04d", k % 10_000)).append("\"}");
            }
            call("POST", "/v1/groups/" + id + "/members", body.append("]}").toString());
        }
        return id;
    }

    private static double rawBatchWriteRate(LocalRuntime runtime, int items) throws Exception {
        var dynamo = runtime.wiring().dynamo();
        long t = System.nanoTime();
        try (var pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int from = 0; from < items; from += 25) {
                int start = from;
                futures.add(pool.submit(() -> {
                    List<WriteRequest> writes = new ArrayList<>();
                    for (int i = start; i < Math.min(items, start + 25); i++) {
                        writes.add(WriteRequest.builder().putRequest(PutRequest.builder().item(Map.of(
                                "pk", AttributeValue.fromS("BENCH#" + (i % 50)), "sk", AttributeValue.fromS("+1" + (4150000000L + i)),
                                "status", AttributeValue.fromS("queued"))).build()).build());
                    }
                    dynamo.batchWriteItem(b -> b.requestItems(Map.of("deliveries", writes)));
                }));
            }
            for (var f : futures) f.get();
        }
        return items / ((System.nanoTime() - t) / 1e9);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> call(String method, String path, String json) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                .header("authorization", "Bearer " + key)
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) request.header("content-type", "application/json");
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (response.statusCode() >= 300) throw new IllegalStateException(method + " " + path + " -> " + response.statusCode() + " " + response.body());
        return (Map<String, Object>) JSON.std.anyFrom(response.body());
    }
}
