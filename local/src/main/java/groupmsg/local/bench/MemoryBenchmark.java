package groupmsg.local.bench;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Prints the local runtime's resident memory around one large fan-out: a send to a group of N members (default
 * 10,000) on an unthrottled (1,000 mps) line. The runtime (DynamoDB Local, ElasticMQ, gateway, handlers, carrier
 * emulator) runs in this JVM, so this process's /proc/self/status is the runtime's. Run with
 * {@code bin/bench memory [N]}.
 */
public final class MemoryBenchmark {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            var api = new BenchApi(runtime.baseUrl(), runtime.defaultApiKey());
            String lineId = api.line("+12125559999", 1000);
            long t = System.nanoTime();
            String groupId = api.group("memory " + n, n, 0);
            double buildSeconds = (System.nanoTime() - t) / 1e9;
            long[] before = kb();
            // The peak so far includes building the group; reset it so the next peak is the send's alone.
            boolean reset = resetPeak();

            t = System.nanoTime();
            String messageId = api.send(groupId, lineId);
            api.awaitSent(messageId);
            double sentSeconds = (System.nanoTime() - t) / 1e9;
            long[] atSent = kb();
            api.awaitSettled(messageId, n);
            double settledSeconds = (System.nanoTime() - t) / 1e9;
            long[] settled = kb();

            System.out.printf("memory: %d-member send, RSS of the in-process local runtime (JVM max heap %d MB, %d CPUs)%n",
                    n, Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors());
            System.out.printf("  before the send:  RSS %5d MB; peak so far %5d MB (startup and adding %d members in %.1f s)%n",
                    before[0] >> 10, before[1] >> 10, n, buildSeconds);
            String peak = reset ? "peak since the send" : "peak since start (VmHWM could not be reset)";
            System.out.printf("  at \"sent\":       RSS %5d MB; %s %5d MB (%.1f s after the send)%n",
                    atSent[0] >> 10, peak, atSent[1] >> 10, sentSeconds);
            System.out.printf("  all receipts in: RSS %5d MB; %s %5d MB (%.1f s after the send)%n",
                    settled[0] >> 10, peak, settled[1] >> 10, settledSeconds);
        }
        System.exit(0);
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
