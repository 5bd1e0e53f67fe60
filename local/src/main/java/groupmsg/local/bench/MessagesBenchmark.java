package groupmsg.local.bench;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

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
    /** Carriers do not resend a status callback the gateway failed to take, so a lost receipt ends the wait. */
    private static final Duration RECEIPTS_QUIET = Duration.ofSeconds(60);
    private static final int WARM_UP_SENDS = 20;
    private static final int SMALL_SENDS = 10;

    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int mps = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        var requests = new RequestCounter();
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests(), List.of(requests))) {
            var api = new BenchApi(runtime.baseUrl(), runtime.defaultApiKey());
            String lineId = api.line("+12125550999", mps);
            String small = api.group("bench small", 10, 0);
            String large = api.group("bench large", n, 100_000);

            // Untimed first: the JVM's first sends load and compile the whole path, which a large group's accepts
            // (timed later) no longer pay; timing these would make the large group look faster than it is.
            for (int i = 0; i < WARM_UP_SENDS; i++) api.awaitSent(timedSend(api, small, lineId).id());
            List<Long> smallAccept = new ArrayList<>();
            List<String> smallIds = new ArrayList<>();
            for (int i = 0; i < SMALL_SENDS; i++) {
                var sent = timedSend(api, small, lineId);
                smallAccept.add(sent.acceptMs());
                smallIds.add(sent.id());
                api.awaitSent(sent.id()); // one at a time, as the large group's first accept is timed on an idle runtime
            }
            // What one status poll of this benchmark costs (the authorizer's and messages-api's requests: receipts
            // of the small sends may still land in the same moment), so its share below can be told apart.
            requests.reset();
            api.message(smallIds.getLast());
            long pollCost = requests.snapshot().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("authorizer ") || e.getKey().startsWith("messages-api "))
                    .mapToLong(Map.Entry::getValue).sum();

            // Counted from here: the large send's requests, with the pollers' idle receives and the status polls.
            requests.reset();
            api.polls = 0;
            var first = timedSend(api, large, lineId);
            api.awaitSent(first.id());
            double seconds = (System.nanoTime() - first.startNanos()) / 1e9;
            Map<String, Long> untilSent = requests.snapshot();
            // Delivery receipts keep arriving after "sent"; they are per-recipient requests too.
            long settled = api.awaitSettled(first.id(), n, RECEIPTS_QUIET);
            Map<String, Long> withReceipts = requests.snapshot();
            int polls = api.polls;
            BenchApi.CsvDownload report = api.csvDownload("/v1/messages/" + first.id() + "/deliveries.csv");

            int rawItems = Math.max(n, 10_000);
            double raw = rawBatchWriteRate(runtime, rawItems);
            double conditional = rawClaimRate(runtime, rawItems);
            CarrierRate carrier = rawCarrierRate(runtime, api, CARRIER_SENDS);

            // More large-group accepts, after the timed run and the raw measurement so they slow neither: the third
            // is accepted while the second fans out. Their deliveries are not waited for (the runtime is in memory
            // and ends with this JVM), which keeps a 100,000-member run from delivering 300,000 messages.
            List<Long> largeAccept = new ArrayList<>(List.of(first.acceptMs()));
            for (int i = 0; i < 2; i++) largeAccept.add(timedSend(api, large, lineId).acceptMs());

            System.out.printf("send accept, 10 members: %s (%d sends, after %d untimed ones)%n", percentiles(smallAccept),
                    SMALL_SENDS, WARM_UP_SENDS);
            System.out.printf("send accept, %d members: %s (3 sends; the 3rd accepted while the 2nd fans out)%n", n, percentiles(largeAccept));
            System.out.printf("end to end, %d recipients on a %d mps line: %.1f s = %.0f deliveries/s%n", n, mps, seconds, n / seconds);
            if (settled < n) {
                System.out.printf("delivery receipts: %d of %d in (%d not received within %d s of the last one)%n",
                        settled, n, n - settled, RECEIPTS_QUIET.toSeconds());
            } else {
                System.out.printf("delivery receipts: all %d in%n", n);
            }
            System.out.printf("delivery report (GET .../deliveries.csv) of the %d-recipient message: %s%n", n, report.summary());
            System.out.printf("AWS requests per 1,000 recipients, %d-member send, by origin (until \"sent\" / with the late receipts):%n", n);
            System.out.printf("  %-52s %10s %12s%n", "origin service operation", "until sent", "+ receipts");
            for (String op : withReceipts.keySet()) {
                System.out.printf("  %-52s %10.1f %12.1f%n", op, perThousand(untilSent.getOrDefault(op, 0L), n),
                        perThousand(withReceipts.get(op), n));
            }
            long benchPolls = (long) polls * pollCost;
            // The carrier webhook applies receipts, or hands them to a receipt worker that does: both count.
            long receipts = byOrigin(withReceipts, "carrier-webhook") + byOrigin(withReceipts, "receipt-worker");
            long polling = byOrigin(withReceipts, "runtime");
            long sendPath = total(withReceipts) - receipts - polling - benchPolls;
            System.out.printf("  send path (accept, fan-out, delivery; without the rows below): %.1f per 1,000 recipients%n", perThousand(sendPath, n));
            System.out.printf("  delivery receipts (carrier-webhook and receipt-worker): %.1f%n", perThousand(receipts, n));
            System.out.printf("  event-source polling by the local runtime (ReceiveMessage/DeleteMessageBatch; Lambda's pollers in AWS): %.1f%n",
                    perThousand(polling, n));
            System.out.printf("  this benchmark's %d status polls (%d DynamoDB requests each): %.1f%n", polls, pollCost, perThousand(benchPolls, n));
            System.out.printf("  total: %.1f%n", perThousand(total(withReceipts), n));
            System.out.printf("raw BatchWriteItem (4 threads, 25 items) on the same DynamoDB Local: %.0f items/s; ratio %.2f%n",
                    raw, (n / seconds) / raw);
            // DynamoDB Local takes one write at a time (a global write lock), so its time per recipient bounds the
            // pipeline: one row batch-written at fan-out, three conditional updates in transactions (claim, record,
            // receipt).
            double bound = 1 / (1 / raw + 3 / conditional);
            System.out.printf("raw TransactWriteItems (4 threads, 98 conditional updates, as a claim) on the same DynamoDB Local: %.0f rows/s%n",
                    conditional);
            System.out.printf("DynamoDB Local alone bounds a pipeline of 1 batch-written + 3 conditional rows per recipient at %.0f deliveries/s"
                    + " (ratio %.2f); measured %.0f = %.0f%% of that%n", bound, bound / raw, n / seconds, 100 * (n / seconds) / bound);
            // Every delivery is at least one carrier request: the emulator's own rate, measured alone, bounds the
            // pipeline on this machine whatever the storage does.
            System.out.printf("raw carrier sends (%d threads, %d senders, no status callback) on the same emulator: %.0f sends/s"
                    + " (%d refused); ratio %.2f to raw BatchWriteItem: at ratio 0.5 (%.0f deliveries/s) the carrier requests"
                    + " alone would take %.0f%% of this machine, before their status callbacks and any storage%n",
                    CARRIER_THREADS, CARRIER_SENDERS, carrier.perSecond(), carrier.refused(), carrier.perSecond() / raw,
                    raw / 2, 100 * (raw / 2) / carrier.perSecond());
            System.out.printf("peak RSS of this JVM (runtime, handlers and benchmark in one process; default JVM flags): %d MB%n",
                    peakRssMb());
        }
    }

    private static long peakRssMb() throws java.io.IOException {
        return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("VmHWM:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")) >> 10)
                .findFirst().orElse(-1);
    }

    /** Nearest-rank p50 and p95: with 3 or 10 samples p95 is the slowest one. */
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

    private static Sent timedSend(BenchApi api, String groupId, String lineId) throws Exception {
        long t = System.nanoTime();
        String id = api.send(groupId, lineId);
        return new Sent(id, (System.nanoTime() - t) / 1_000_000, t);
    }

    /**
     * Moves the rows {@link #rawBatchWriteRate} wrote from queued to sending, 98 per transaction with the claim's
     * condition: the delivery pipeline's kind of write (each recipient has three of them).
     */
    private static double rawClaimRate(LocalRuntime runtime, int items) throws Exception {
        var dynamo = runtime.wiring().dynamo();
        return rowsPerSecond(items, 98, (from, to) -> {
            List<TransactWriteItem> updates = new ArrayList<>();
            for (int i = from; i < to; i++) {
                var key = benchKey(i);
                updates.add(TransactWriteItem.builder().update(u -> u.tableName("deliveries").key(key)
                        .updateExpression("SET #status = :to, updatedAt = :at").conditionExpression("#status = :from")
                        .expressionAttributeNames(Map.of("#status", "status"))
                        .expressionAttributeValues(Map.of(":from", AttributeValue.fromS("queued"),
                                ":to", AttributeValue.fromS("sending"), ":at", AttributeValue.fromN("1")))).build());
            }
            dynamo.transactWriteItems(b -> b.transactItems(updates));
        });
    }

    private static double rawBatchWriteRate(LocalRuntime runtime, int items) throws Exception {
        var dynamo = runtime.wiring().dynamo();
        return rowsPerSecond(items, 25, (from, to) -> {
            List<WriteRequest> writes = new ArrayList<>();
            for (int i = from; i < to; i++) {
                var item = new java.util.HashMap<>(benchKey(i));
                item.put("status", AttributeValue.fromS("queued"));
                writes.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item).build()).build());
            }
            dynamo.batchWriteItem(b -> b.requestItems(Map.of("deliveries", writes)));
        });
    }

    static final int CARRIER_THREADS = 16;
    /**
     * Senders spread the sends: the emulator holds each to its line's rate (1,000 mps here), and with 8 it refused
     * sends at 7,141/s in a 100,000 run, which capped the figure.
     */
    static final int CARRIER_SENDERS = 32;
    /** Enough for a rate; not so many that the emulator's memory of them moves the run's peak RSS. */
    static final int CARRIER_SENDS = 20_000;

    record CarrierRate(double perSecond, long refused) {}

    /**
     * Sends {@code sends} messages through the runtime's carrier client to the emulator, from {@link #CARRIER_SENDERS}
     * lines of 1,000 mps, without status callbacks: the HTTP request every delivery makes, and nothing else.
     */
    private static CarrierRate rawCarrierRate(LocalRuntime runtime, BenchApi api, int sends) throws Exception {
        List<String> senders = new ArrayList<>();
        for (int i = 0; i < CARRIER_SENDERS; i++) {
            String phone = "+1212555" + (2000 + i);
            api.line(phone, 1000);
            senders.add(phone);
        }
        var carrier = runtime.wiring().carrier();
        var next = new java.util.concurrent.atomic.AtomicInteger();
        var refused = new java.util.concurrent.atomic.AtomicLong();
        long t = System.nanoTime();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int thread = 0; thread < CARRIER_THREADS; thread++) {
                futures.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < sends; i = next.getAndIncrement()) {
                        var message = new groupmsg.carrier.OutboundMessage(senders.get(i % senders.size()),
                                "+1" + (4255550000L + i), "Benchmark message", List.of(), null);
                        try {
                            if (carrier.send(message) instanceof groupmsg.carrier.SendResult.Rejected r) {
                                if (refused.getAndIncrement() == 0) System.err.println("first carrier refusal: " + r);
                            }
                        } catch (java.io.UncheckedIOException e) {
                            if (refused.getAndIncrement() == 0) System.err.println("first carrier failure: " + e.getMessage());
                        }
                    }
                    return null;
                }));
            }
            for (var f : futures) f.get();
        }
        return new CarrierRate((sends - refused.get()) / ((System.nanoTime() - t) / 1e9), refused.get());
    }

    /** Row {@code i} of the raw measurements, spread over 50 partitions of the deliveries table. */
    private static Map<String, AttributeValue> benchKey(int i) {
        return Map.of("pk", AttributeValue.fromS("BENCH#" + (i % 50)), "sk", AttributeValue.fromS("+1" + (4150000000L + i)));
    }

    /** Writes rows {@code [0, items)} in chunks of {@code chunk} on 4 threads; returns rows per second. */
    private static double rowsPerSecond(int items, int chunk, java.util.function.BiConsumer<Integer, Integer> writeRows)
            throws Exception {
        long t = System.nanoTime();
        try (var pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int from = 0; from < items; from += chunk) {
                int start = from;
                futures.add(pool.submit(() -> writeRows.accept(start, Math.min(items, start + chunk))));
            }
            for (var f : futures) f.get();
        }
        return items / ((System.nanoTime() - t) / 1e9);
    }
}
