package groupmsg.local.bench;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;
import groupmsg.local.carrier.CarrierEmulator;
import groupmsg.local.carrier.EmulatedMessage;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Prints how closely delivery keeps to a line's configured rate: for lines of 1, 20 and 100 mps, one group send
 * sized to last about 10-15 s at that rate, measured at the carrier emulator (when it accepted each message):
 * achieved rate (n-1)/(last-first), the busiest sliding 1-second window, and the carrier's 429s (attempts over the
 * line's rate, which the pipeline then has to retry). Run with {@code bin/bench pacing}.
 */
public final class PacingBenchmark {
    /**
     * mps, recipients: about 11-12 s of sending each (the 1 mps group's first message goes at once); and a backlog
     * of 66 s at 4 mps, whose jobs (20 recipients, 5.5 s each) mostly cannot be sent within a worker's 15 s hold: they
     * take places in the line's waiting line and come back for them, so it measures the hand-over's pacing.
     */
    private static final int[][] CASES = {{1, 12}, {20, 200}, {100, 1000}, {4, 240}};

    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            var api = new BenchApi(runtime.baseUrl(), runtime.defaultApiKey());
            var carrier = runtime.carrierEmulator();
            System.out.println("pacing: one group send per line, timed at the carrier emulator (accepted = not refused with 429)");
            System.out.printf("  %4s %6s %8s %6s %5s %7s %8s %6s %11s %11s %8s %8s %9s%n", "mps", "recips", "accepted", "failed",
                    "429s", "span s", "achieved", "of mps", "busiest 1 s", "1 s tries", "first at", "sent at", "max gap");
            int offset = 0;
            for (int[] c : CASES) {
                int mps = c[0];
                int recipients = c[1];
                String phone = "+1212555" + String.format("%04d", 9000 + mps);
                String lineId = api.line(phone, mps);
                String groupId = api.group("pacing " + mps, recipients, offset);
                offset += recipients;

                long t0 = System.nanoTime();
                Instant sentAt = Instant.now();
                String messageId = api.send(groupId, lineId);
                api.awaitSent(messageId);
                double sentAfter = (System.nanoTime() - t0) / 1e9;
                var counts = (Map<?, ?>) api.call("GET", "/v1/messages/" + messageId, null).get("counts");

                List<Instant> accepted = carrier.messages(null, phone).stream().map(EmulatedMessage::createdAt).sorted().toList();
                List<Instant> refused = carrier.rejections(null, phone).stream().map(CarrierEmulator.Rejection::at).toList();
                List<Instant> tries = Stream.concat(accepted.stream(), refused.stream()).sorted().toList();
                int n = accepted.size();
                double span = n < 2 ? 0 : nanosBetween(accepted.getFirst(), accepted.getLast()) / 1e9;
                double achieved = n < 2 ? 0 : (n - 1) / span;
                double firstAfter = n == 0 ? 0 : nanosBetween(sentAt, accepted.getFirst()) / 1e9;
                System.out.printf("  %4d %6d %8d %6s %5d %7.2f %8.2f %5.0f%% %11d %11d %7.2fs %7.2fs %8.2fs%n", mps, recipients, n,
                        counts.get("failed"), refused.size(), span, achieved, 100 * achieved / mps, busiestSecond(accepted),
                        busiestSecond(tries), firstAfter, sentAfter, largestGap(accepted) / 1e9);
                if (((Number) counts.get("failed")).intValue() > 0) {
                    var failed = (List<?>) api.call("GET", "/v1/messages/" + messageId + "/deliveries?status=failed&limit=3", null).get("items");
                    System.out.printf("       failed deliveries (up to 3): %s%n", failed);
                }
            }
            System.out.println("  achieved = (accepted-1)/span; busiest 1 s: most accepted in any 1 s window (the emulator caps it"
                    + " at mps), 1 s tries: accepted + 429s in the busiest window; first/sent at: seconds after the send request;"
                    + " max gap: the longest time between two accepted sends (the rate's spacing is 1.1 s / mps)");
        }
    }

    /** The longest time between two consecutive messages, in nanoseconds. */
    static long largestGap(List<Instant> sorted) {
        long gap = 0;
        for (int i = 1; i < sorted.size(); i++) gap = Math.max(gap, nanosBetween(sorted.get(i - 1), sorted.get(i)));
        return gap;
    }

    /** The most messages in any window [t, t + 1 s), t at a message (a window's maximum always starts at one). */
    static int busiestSecond(List<Instant> sorted) {
        int best = 0;
        for (int start = 0, end = 0; start < sorted.size(); start++) {
            while (end < sorted.size() && nanosBetween(sorted.get(start), sorted.get(end)) < 1_000_000_000L) end++;
            best = Math.max(best, end - start);
        }
        return best;
    }

    private static long nanosBetween(Instant a, Instant b) {
        return Duration.between(a, b).toNanos();
    }
}
