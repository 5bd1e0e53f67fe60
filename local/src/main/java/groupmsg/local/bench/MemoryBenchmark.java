package groupmsg.local.bench;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Prints the local runtime's resident memory around one large fan-out: a send to a group of N members (default
 * 10,000) on an unthrottled (1,000 mps) line. The runtime (DynamoDB Local, ElasticMQ, gateway, handlers, carrier
 * emulator) runs in this JVM, so this process's /proc/self/status is the runtime's. Figures are printed as they are
 * taken. Run with {@code bin/bench memory [N]}.
 */
public final class MemoryBenchmark {
    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            var api = new BenchApi(runtime.baseUrl(), runtime.defaultApiKey());
            System.out.printf("memory: %d-member send, RSS of the in-process local runtime (JVM max heap %d MB, %d CPUs)%n",
                    n, Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors());
            String lineId = api.line("+12125559999", 1000);
            long t = System.nanoTime();
            String groupId = api.group("memory " + n, n, 0);
            double buildSeconds = (System.nanoTime() - t) / 1e9;
            long[] kb = kb();
            System.out.printf("  %-17s RSS %5d MB; peak so far %5d MB (startup and adding %d members in %.1f s)%n",
                    "before the send:", kb[0] >> 10, kb[1] >> 10, n, buildSeconds);
            // The peak so far includes building the group; reset it so the next peak is the send's alone.
            String peak = resetPeak() ? "peak since the send" : "peak since start (VmHWM could not be reset)";

            t = System.nanoTime();
            String messageId = api.send(groupId, lineId);
            api.awaitSent(messageId);
            kb = kb();
            System.out.printf("  %-17s RSS %5d MB; %s %5d MB (%.1f s after the send)%n", "at \"sent\":",
                    kb[0] >> 10, peak, kb[1] >> 10, (System.nanoTime() - t) / 1e9);
            long settled = api.awaitSettled(messageId, n, Duration.ofSeconds(15));
            kb = kb();
            System.out.printf("  %-17s RSS %5d MB; %s %5d MB (%.1f s after the send; %d of %d recipients settled)%n",
                    "receipts in:", kb[0] >> 10, peak, kb[1] >> 10, (System.nanoTime() - t) / 1e9, settled, n);

            if (api.failedPolls > 0) {
                System.out.printf("  %d status polls were answered 500 (authorizer or handler timing out) and repeated%n", api.failedPolls);
            }
            // Tells a large live set from a heap the JVM simply grew (and keeps) because the default maximum allows it.
            MemoryUsage committed = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            System.gc();
            MemoryUsage afterGc = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            System.out.printf("  %-17s committed %d MB, live after a full GC %d MB%n", "heap then:",
                    committed.getCommitted() >> 20, afterGc.getUsed() >> 20);
        }
    }

    /** {VmRSS, VmHWM} in kB. */
    private static long[] kb() throws IOException {
        long rss = -1;
        long hwm = -1;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("\\D", ""));
            if (line.startsWith("VmHWM:")) hwm = Long.parseLong(line.replaceAll("\\D", ""));
        }
        return new long[]{rss, hwm};
    }

    /** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+). */
    private static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
