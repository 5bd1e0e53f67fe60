package groupmsg.local.bench;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Prints the foundation's figures: local runtime start time, and the time to import N members (default 100,000)
 * by CSV through the HTTP API, the imports queue and the import worker, on an in-memory local runtime.
 * Run with {@code bin/bench-import [rows] [--phones-only]}: rows of a country, a number and a name (about 52 bytes), or
 * of a number alone (13 bytes: the densest file of real numbers the 5 MB can hold, about 400,000 rows).
 */
public final class ImportBenchmark {
    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        int rows = args.length > 0 && !args[0].startsWith("--") ? Integer.parseInt(args[0]) : 100_000;
        boolean phonesOnly = java.util.Arrays.asList(args).contains("--phones-only");
        long t0 = System.nanoTime();
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            long startMs = (System.nanoTime() - t0) / 1_000_000;
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = runtime.baseUrl();
            String key = runtime.defaultApiKey();

            Map<String, Object> group = call(http, "POST", base + "/v1/groups", key, "application/json",
                    ("{\"name\":\"bench " + System.currentTimeMillis() + "\"}").getBytes(StandardCharsets.UTF_8));
            String groupId = (String) group.get("id");

            StringBuilder csv = new StringBuilder(rows * 52).append(phonesOnly ? "phone\n" : "country,phone,name\n");
            for (int i = 0; i < rows; i++) {
                if (phonesOnly) {
                    // 415-200-0000 on: 800,000 distinct valid numbers
                    csv.append("+1415").append(2_000_000 + i).append('\n');
                    continue;
                }
                csv.append("US,+1").append(areaCode(i)).append("555").append(String.format("%04d", i % 10_000))
                        .append(",Benchmark Person Number ").append(i).append('\n');
            }
            byte[] body = csv.toString().getBytes(StandardCharsets.UTF_8);

            long postStart = System.nanoTime();
            Map<String, Object> started = call(http, "POST", base + "/v1/groups/" + groupId + "/imports", key, "text/csv", body);
            long acceptMs = (System.nanoTime() - postStart) / 1_000_000;
            String importId = (String) started.get("id");
            Map<String, Object> progress;
            do {
                Thread.sleep(250);
                progress = call(http, "GET", base + "/v1/groups/" + groupId + "/imports/" + importId, key, null, null);
            } while ("running".equals(progress.get("status")));
            long totalMs = (System.nanoTime() - postStart) / 1_000_000;
            Map<String, Object> after = call(http, "GET", base + "/v1/groups/" + groupId, key, null, null);

            System.out.printf("local runtime start (in-process, memory): %d ms (runtime's own figure %d ms)%n",
                    startMs, runtime.startupMillis());
            System.out.printf("CSV: %d rows, %.2f MB%n", rows, body.length / 1_048_576.0);
            System.out.printf("import accepted (202) in %d ms%n", acceptMs);
            System.out.printf("import %s in %.1f s: %.0f rows/s; added %s, invalid %s, memberCount %s%n",
                    progress.get("status"), totalMs / 1000.0, rows / (totalMs / 1000.0), progress.get("added"),
                    progress.get("invalidCount"), after.get("memberCount"));

            // the members exported again as CSV (GET .../members.csv), part after part
            var export = new BenchApi(base, key).csvDownload("/v1/groups/" + groupId + "/members.csv");
            System.out.printf("export (members.csv): %s%n", export.summary());
        }
    }

    /** 10 valid US area codes, so 100,000 distinct valid numbers. */
    private static String areaCode(int i) {
        String[] codes = {"415", "212", "202", "617", "312", "213", "305", "206", "512", "303"};
        return codes[(i / 10_000) % codes.length];
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> call(HttpClient http, String method, String url, String key, String type, byte[] body)
            throws Exception {
        var request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120))
                .header("authorization", "Bearer " + key)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (type != null) request.header("content-type", type);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() >= 300) throw new IllegalStateException(method + " " + url + " -> " + response.statusCode() + " " + response.body());
        return (Map<String, Object>) JSON.std.anyFrom(response.body());
    }
}
