package groupmsg.local.bench;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Prints what the first successful DynamoDB requests after SnapStart priming cost: {@link FirstRequestsProbe} in a
 * fresh JVM per launch (the shaded Lambda jar, flags and environment as {@link ColdStartBenchmark} launches handlers,
 * against an in-memory local runtime started here), per operation the median over N launches of its first and its
 * second request. The cold-start table's sample events mostly meet unknown ids, so their first invocation parses
 * error answers; this measures the answers a working function gets. {@code N [--against <Lambda jar>]}: with a
 * baseline jar its launches alternate with this build's, and both are shown.
 */
public final class FirstRequestsBenchmark {
    private static final String HANDLER = "receipt-worker";

    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Path baseline = args.length > 2 && args[1].equals("--against") ? Path.of(args[2]) : null;
        Path lambdaJar = ColdStartBenchmark.find(Path.of("functions/target"), "groupmsg-functions-", "-lambda.jar",
                "build it with: mvn -o -q -pl functions -am -DskipTests package");
        Path work = Files.createTempDirectory("groupmsg-first-requests");
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            Path probeJar = ColdStartBenchmark.jarClasses(Path.of("local/target/classes"), work.resolve("probe.jar"));
            String current = Files.copy(lambdaJar, work.resolve("this.jar")) + ":" + probeJar;
            String before = baseline == null ? null : Files.copy(baseline, work.resolve("baseline.jar")) + ":" + probeJar;
            Map<String, String> env = ColdStartBenchmark.lambdaEnvironment(runtime);
            List<Map<String, long[]>> these = new ArrayList<>();
            List<Map<String, long[]>> baselines = new ArrayList<>();
            for (int i = 0; i < repeats; i++) {
                if (before != null) baselines.add(launch(before, env, work));
                these.add(launch(current, env, work));
            }
            System.out.printf("first DynamoDB requests after SnapStart priming (%s's): fresh JVM per launch%s, median of %d launches (ms)%n",
                    HANDLER, before == null ? "" : ", alternating with a baseline jar", repeats);
            System.out.printf("  %-29s | %-15s%s%n", "", "this build", before == null ? "" : " | baseline");
            System.out.printf("  %-29s | %7s %7s%s%n", "operation", "first", "second", before == null ? "" : " | " + String.format("%7s %7s", "first", "second"));
            for (String op : these.getFirst().keySet()) {
                System.out.printf("  %-29s | %7.1f %7.1f%s%n", op, median(these, op, 0), median(these, op, 1),
                        before == null ? "" : " | " + String.format("%7.1f %7.1f", median(baselines, op, 0), median(baselines, op, 1)));
            }
            System.out.printf("  %-29s | %7.1f %7.1f%s%n", "all (median of the sums)", medianSum(these, 0), medianSum(these, 1),
                    before == null ? "" : " | " + String.format("%7.1f %7.1f", medianSum(baselines, 0), medianSum(baselines, 1)));
            System.out.println("  first: the operation's first request in the JVM, after priming (what a restored snapshot's first"
                    + " requests pay); second: the same again (the request itself)");
        } finally {
            try (Stream<Path> files = Files.list(work)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(work);
        }
    }

    /** One launch: operation -> {first, second} in microseconds. */
    private static Map<String, long[]> launch(String classPath, Map<String, String> env, Path work) throws Exception {
        String result = ColdStartBenchmark.runProbe(classPath, ColdStartBenchmark.JVM_FLAGS,
                List.of(FirstRequestsProbe.class.getName(), HANDLER), env, work, "FIRSTREQUESTS ").line();
        Map<String, long[]> micros = new LinkedHashMap<>();
        for (String field : result.substring("FIRSTREQUESTS ".length()).split(" ")) {
            String[] opAndTimes = field.split("=");
            String[] times = opAndTimes[1].split("/");
            micros.put(opAndTimes[0], new long[]{Long.parseLong(times[0]), Long.parseLong(times[1])});
        }
        return micros;
    }

    private static double median(List<Map<String, long[]>> launches, String op, int round) {
        return median(launches.stream().mapToLong(l -> l.get(op)[round]).sorted().toArray());
    }

    private static double medianSum(List<Map<String, long[]>> launches, int round) {
        return median(launches.stream().mapToLong(l -> l.values().stream().mapToLong(t -> t[round]).sum()).sorted().toArray());
    }

    private static double median(long[] sortedMicros) {
        return sortedMicros[(sortedMicros.length - 1) / 2] / 1000.0;
    }
}
