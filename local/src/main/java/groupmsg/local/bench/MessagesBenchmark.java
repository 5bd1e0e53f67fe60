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
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Prints group-message figures on an in-memory local runtime: send accept latency for groups of 10 and N members,
 * end-to-end deliveries per second for N recipients on an unthrottled (1,000 mps) line, the AWS requests that
 * send made per 1,000 recipients, and the raw BatchWriteItem rate of the same DynamoDB Local.
 * Run with {@code bin/bench-messages [N [mps]]} (default 10,000 on a 1,000 mps line).
 */
public final class MessagesBenchmark {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String key;
    private int statusPolls;

    private MessagesBenchmark(String base, String key) {
        this.base = base;
        this.key = key;
    }

    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int mps = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        var requests = new RequestCounter();
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests(), List.of(requests))) {
            var bench = new MessagesBenchmark(runtime.baseUrl(), runtime.defaultApiKey());
            String lineId = (String) bench.call("POST", "/v1/lines", "{\"phone\":\"+12125550999\",\"type\":\"long_code\",\"mps\":" + mps + "}").get("id");
            String small = bench.group("bench small", 10, 0);
            String large = bench.group("bench large", n, 100_000);

            List<Long> smallAccept = new ArrayList<>();
            String smallId = null;
            for (int i = 0; i < 5; i++) {
                var sent = bench.timedSend(small, lineId);
                smallAccept.add(sent.acceptMs());
                smallId = sent.id();
            }
            bench.awaitSentCount(5);
            // What one status poll of this benchmark costs (the authorizer's and messages-api's requests: receipts
            // of the small sends may still land in the same moment), so its share below can be told apart.
            requests.reset();
            bench.status(smallId);
            long pollCost = requests.snapshot().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("authorizer ") || e.getKey().startsWith("messages-api "))
                    .mapToLong(Map.Entry::getValue).sum();

            // Counted from here: the large send's requests, with the pollers' idle receives and the status polls.
            requests.reset();
            bench.statusPolls = 0;
            var first = bench.timedSend(large, lineId);
            bench.awaitSent(first.id());
            double seconds = (System.nanoTime() - first.startNanos()) / 1e9;
            Map<String, Long> untilSent = requests.snapshot();
            // Delivery receipts keep arriving after "sent"; they are per-recipient requests too.
            bench.awaitReceipts(first.id(), n);
            Map<String, Long> withReceipts = requests.snapshot();
            int polls = bench.statusPolls;

            double raw = rawBatchWriteRate(runtime, Math.max(n, 10_000));

            // More large-group accepts, after the timed run and the raw measurement so they slow neither: the third
            // is accepted while the second fans out. Their deliveries are not waited for (the runtime is in memory
            // and ends with this JVM), which keeps a 100,000-member run from delivering 300,000 messages.
            List<Long> largeAccept = new ArrayList<>(List.of(first.acceptMs()));
            for (int i = 0; i < 2; i++) largeAccept.add(bench.timedSend(large, lineId).acceptMs());

            System.out.printf("send accept, 10 members: %s (5 sends)%n", percentiles(smallAccept));
            System.out.printf("send accept, %d members: %s (3 sends; the 3rd accepted while the 2nd fans out)%n", n, percentiles(largeAccept));
            System.out.printf("end to end, %d recipients on a %d mps line: %.1f s = %.0f deliveries/s%n", n, mps, seconds, n / seconds);
            System.out.printf("AWS requests per 1,000 recipients, %d-member send, by origin (until \"sent\" / with the late receipts):%n", n);
            System.out.printf("  %-52s %10s %12s%n", "origin service operation", "until sent", "+ receipts");
            for (String op : withReceipts.keySet()) {
                System.out.printf("  %-52s %10.1f %12.1f%n", op, perThousand(untilSent.getOrDefault(op, 0L), n),
                        perThousand(withReceipts.get(op), n));
            }
            long benchPolls = (long) polls * pollCost;
            long receipts = byOrigin(withReceipts, "carrier-webhook");
            long polling = byOrigin(withReceipts, "runtime");
            long sendPath = total(withReceipts) - receipts - polling - benchPolls;
            System.out.printf("  send path (accept, fan-out, delivery; without the rows below): %.1f per 1,000 recipients%n", perThousand(sendPath, n));
            System.out.printf("  delivery receipts (carrier-webhook, one per recipient and final status): %.1f%n", perThousand(receipts, n));
            System.out.printf("  event-source polling by the local runtime (ReceiveMessage/DeleteMessageBatch; Lambda's pollers in AWS): %.1f%n",
                    perThousand(polling, n));
            System.out.printf("  this benchmark's %d status polls (%d DynamoDB requests each): %.1f%n", polls, pollCost, perThousand(benchPolls, n));
            System.out.printf("  total: %.1f%n", perThousand(total(withReceipts), n));
            System.out.printf("raw BatchWriteItem (4 threads, 25 items) on the same DynamoDB Local: %.0f items/s; ratio %.2f%n",
                    raw, (n / seconds) / raw);
            System.out.printf("peak RSS of this JVM (runtime, handlers and benchmark in one process; default JVM flags): %d MB%n",
                    peakRssMb());
        }
    }

    private static long peakRssMb() throws java.io.IOException {
        return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("VmHWM:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")) >> 10)
                .findFirst().orElse(-1);
    }

    /** Nearest-rank p50 and p95: with 3 or 5 samples p95 is the slowest one. */
    private static String percentiles(List<Long> millis) {
        List<Long> sorted = millis.stream().sorted().toList();
        return "p50 " + sorted.get((int) Math.ceil(0.50 * sorted.size()) - 1) + " ms, p95 "
                + sorted.get((int) Math.ceil(0.95 * sorted.size()) - 1) + " ms";
    }

    private static double perThousand(long count, int recipients) {
        return count * 1000.0 / recipients;
    }

    private static long byOrigin(Map<String, Long> counts, String origin) {
        return counts.entrySet().stream().filter(e -> e.getKey().startsWith(origin + " ")).mapToLong(Map.Entry::getValue).sum();
    }

    private static long total(Map<String, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    record Sent(String id, long acceptMs, long startNanos) {}

    private Sent timedSend(String groupId, String lineId) throws Exception {
        long t = System.nanoTime();
        var r = call("POST", "/v1/groups/" + groupId + "/messages",
                "{\"lineId\":\"" + lineId + "\",\"sender\":\"Bench\",\"title\":\"bench\",\"body\":\"Benchmark message\"}");
        return new Sent((String) r.get("id"), (System.nanoTime() - t) / 1_000_000, t);
    }

    private Map<String, Object> status(String messageId) throws Exception {
        statusPolls++;
        return call("GET", "/v1/messages/" + messageId, null);
    }

    private void awaitSent(String messageId) throws Exception {
        while (!"sent".equals(status(messageId).get("status"))) Thread.sleep(250);
    }

    /** Waits until the message is sent and every recipient has a final status (the emulator reports "delivered"). */
    @SuppressWarnings("unchecked")
    private void awaitReceipts(String messageId, int recipients) throws Exception {
        while (true) {
            var m = status(messageId);
            var counts = (Map<String, Number>) m.get("counts");
            long settled = counts.get("delivered").longValue() + counts.get("failed").longValue() + counts.get("optedOut").longValue();
            if ("sent".equals(m.get("status")) && settled >= recipients) return;
            Thread.sleep(250);
        }
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
