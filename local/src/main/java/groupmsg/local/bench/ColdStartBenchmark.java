package groupmsg.local.bench;

import groupmsg.local.InvokeCommand;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

/**
 * Prints every handler's cold start: a fresh JVM per launch runs {@link ColdStartProbe} with the shaded Lambda jar
 * on its class path, configured from the environment as Lambda configures it and pointed at an in-memory local
 * runtime started here. The time is from just before {@code ProcessBuilder.start()} here to the first response in
 * the child (both epoch milliseconds on the same clock; JVM exit is not included), split into launch-to-main,
 * handler construction and first invocation; median of N launches (default 3) next to a hello world launched the
 * same way, without and with a JDK 25 AOT cache (JEP 483/514/515: classes loaded and linked, method profiles; one
 * cache per handler, written by an untimed training launch), and the first invocation after SnapStart priming.
 * Each launch waits for an idle CPU first.
 * Run from the repository root with {@code bin/bench coldstart} (3 launches), or this class with {@code [N]} launches
 * (BENCHMARKS.md, Reproduce). With {@code N --against <Lambda jar>} it
 * instead compares plain launches of this build's jar with another build's, alternating (run to run, this machine's
 * fresh-JVM times move by more than a small change saves).
 */
public final class ColdStartBenchmark {
    /** Lambda's managed Java 17+ runtimes stop tiered compilation at C1 by default. */
    static final List<String> JVM_FLAGS = List.of("-XX:TieredStopAtLevel=1");

    /** @param warm a second invocation's time (primed launches only; -1 otherwise) */
    record Launch(long total, long toMain, long init, long prime, long invoke, long classes, String outcome, long warm) {}

    public static void main(String[] args) {
        BenchMain.runThenExit(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        // "--against <Lambda jar>": each handler's plain launches alternate between this build's jar and another's
        // (a baseline built from an earlier commit), so a change is measured against the same machine state.
        Path baseline = args.length > 2 && args[1].equals("--against") ? Path.of(args[2]) : null;
        // "--primed" after it: the handlers' launches after SnapStart priming instead (first and second invocation).
        boolean primed = baseline != null && args.length > 3 && args[3].equals("--primed");
        Path lambdaJar = find(Path.of("functions/target"), "groupmsg-functions-", "-lambda.jar",
                "build it with: mvn -o -q -pl functions -am -DskipTests package");
        // The Lambda runtime brings its own serialisation library; the shaded jar does not contain it.
        Path serialization = find(Path.of("local/target/lib"), "aws-lambda-java-serialization-", ".jar",
                "build the local module: mvn -o -q -pl local -am -DskipTests install");
        Path work = Files.createTempDirectory("groupmsg-coldstart");
        try {
            // Launches run copies, so a rebuild during the run (another engineer's) cannot change them midway.
            Path jarCopy = Files.copy(lambdaJar, work.resolve(lambdaJar.getFileName()));
            Path serializationCopy = Files.copy(serialization, work.resolve(serialization.getFileName()));
            // AOT caches (like AppCDS archives) take classes from jars only, so the probe's classes go into one too.
            Path probeJar = jarClasses(Path.of("local/target/classes"), work.resolve("probe.jar"));
            String probeAndRuntime = ":" + probeJar + ":" + serializationCopy;
            if (baseline != null) {
                Path baselineCopy = Files.copy(baseline, work.resolve("baseline.jar"));
                compare(repeats, jarCopy + probeAndRuntime, baselineCopy + probeAndRuntime, work, primed);
            } else {
                measure(repeats, lambdaJar, jarCopy + probeAndRuntime, work);
            }
        } finally {
            try (Stream<Path> files = Files.list(work)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(work);
        }
    }

    private static void measure(int repeats, Path lambdaJar, String classPath, Path work) throws Exception {
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            var bench = new ColdStartBenchmark(classPath, lambdaEnvironment(runtime), work);
            System.out.printf("cold start: fresh JVM per launch, launch -> first response, median of %d launches (ms)%n", repeats);
            System.out.printf("  java %s (%s) %s -cp <Lambda jar>:<probe jar>:<aws-lambda-java-serialization jar>%n",
                    System.getProperty("java.version"), System.getProperty("java.vm.name"), String.join(" ", JVM_FLAGS));
            System.out.printf("  Lambda jar %s: %.1f MB, %d classes%n", lambdaJar, Files.size(lambdaJar) / 1_048_576.0,
                    classCount(lambdaJar));
            System.out.printf("  %-18s %-38s | %-35s | %-35s | %-21s | %s%n", "", "", "default (CDS of the JDK only)",
                    "AOT cache per handler (JDK 25)", "primed", "");
            System.out.printf("  %-18s %-38s | %6s %6s %6s %6s %7s | %6s %6s %6s %6s %7s | %6s %6s %6s | %s%n", "handler", "event",
                    "total", "main", "init", "invoke", "classes", "total", "main", "init", "invoke", "cache",
                    "prime", "invoke", "warm", "outcome");
            for (Target target : targets(runtime, work)) bench.row(target.name(), target.event(), target.main(), repeats);
            System.out.println("  main: launch to main(); init: the handler's no-argument constructor (Lambda's init phase);"
                    + " invoke: first handleRequest, JSON in and out");
            System.out.println("  AOT cache: -XX:AOTCache from an untimed training launch (-XX:AOTCacheOutput) of the same handler and event;"
                    + " primed: the handler's SnapStart priming (CRaC beforeCheckpoint) run after init, then the first invoke"
                    + " (what a restored snapshot's first request runs; restoring is Lambda's and not measured here);"
                    + " warm: a second invoke of the same event in that JVM (the work itself, nothing loaded for the first time;"
                    + " -1 if it ended otherwise than the first); prime, invoke and warm are the launch with the median total's");
        }
    }

    /** What is launched: the hello world, then every handler with its first sample event (null for the hello world). */
    private record Target(String name, Path event, List<String> main) {}

    /**
     * @param runtime the runtime the launches run against: a sample naming the placeholder API key is run, as
     *                {@code bin/local invoke} runs it, as the default account's start-up owner key (a copy in
     *                {@code work}), so a write that checks its caller's key is made, not refused
     */
    private static List<Target> targets(LocalRuntime runtime, Path work) throws IOException {
        List<Target> targets = new ArrayList<>(List.of(new Target("hello world", null, List.of(HelloProbe.class.getName()))));
        // The least any handler that calls AWS could take: the authorizer's request with the JDK alone (no SDK, no JSON).
        Path authorizerEvent = firstEvent(Handlers.byName("authorizer"));
        targets.add(new Target("JDK only (floor)", authorizerEvent, List.of(JdkOnlyProbe.class.getName(), authorizerEvent.toString())));
        for (HandlerDef handler : Handlers.ALL) {
            Path sample = firstEvent(handler);
            String text = Files.readString(sample);
            String asStartUpKey = InvokeCommand.asStartUpKey(text, runtime.wiring());
            Path event = asStartUpKey.equals(text) ? sample
                    : Files.writeString(work.resolve(handler.name() + "-" + sample.getFileName()), asStartUpKey);
            targets.add(new Target(handler.name(), event,
                    List.of(ColdStartProbe.class.getName(), handler.name(), event.toString())));
        }
        return targets;
    }

    /**
     * This build's jar against the baseline's, launches alternating: plain launches (the median total shown), or with
     * {@code primed} the handlers' launches after SnapStart priming (the launch with the median first invocation).
     */
    private static void compare(int repeats, String classPath, String baselineClassPath, Path work, boolean primed) throws Exception {
        try (LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests())) {
            var env = lambdaEnvironment(runtime);
            var current = new ColdStartBenchmark(classPath, env, work);
            var baseline = new ColdStartBenchmark(baselineClassPath, env, work);
            if (primed) {
                System.out.printf("first invocation after SnapStart priming against a baseline jar: fresh JVM per launch, alternating,"
                        + " %d launches each, the one with the median first invocation shown (ms)%n", repeats);
                System.out.printf("  %-18s | %-20s | %-27s | %-20s | %s%n", "", "prime", "invoke (first after priming)", "warm (second)", "outcome");
                System.out.printf("  %-18s | %6s %6s %6s | %8s %8s %8s | %6s %6s %6s | %s%n", "handler",
                        "base", "this", "change", "baseline", "this", "change", "base", "this", "change", "");
            } else {
                System.out.printf("cold start against a baseline jar: fresh JVM per launch, alternating, median of %d launches each (ms)%n", repeats);
                System.out.printf("  %-18s | %-27s | %-27s | %-20s | %s%n", "", "total", "init", "classes", "outcome");
                System.out.printf("  %-18s | %8s %8s %8s | %8s %8s %8s | %6s %6s %6s | %s%n", "handler",
                        "baseline", "this", "change", "baseline", "this", "change", "base", "this", "change", "");
            }
            for (Target target : targets(runtime, work)) {
                boolean handler = target.main().getFirst().equals(ColdStartProbe.class.getName());
                if (primed && !handler) continue; // only handlers have priming
                List<String> main = new ArrayList<>(target.main());
                if (primed) main.add("primed");
                if (handler && !hasClass(baselineClassPath, Handlers.byName(target.name()).className())) {
                    // new since the baseline: this build's figures alone
                    List<Launch> only = new ArrayList<>();
                    for (int i = 0; i < repeats; i++) only.add(current.launch(main, List.of()));
                    Launch a = primed ? medianBy(only, Launch::invoke) : median(only);
                    System.out.printf(primed ? "  %-18s | %6s %6d %6s | %8s %8d %8s | %6s %6d %6s | %s (new)%n"
                                    : "  %-18s | %8s %8d %8s | %8s %8d %8s | %6s %6d %6s | %s (new)%n", target.name(),
                            "-", primed ? a.prime : a.total, "", "-", primed ? a.invoke : a.init, "", "-",
                            primed ? a.warm : a.classes, "", a.outcome);
                    continue;
                }
                List<Launch> before = new ArrayList<>();
                List<Launch> after = new ArrayList<>();
                for (int i = 0; i < repeats; i++) {
                    before.add(baseline.launch(main, List.of()));
                    after.add(current.launch(main, List.of()));
                }
                if (primed) {
                    // The launch with the median first invocation (not total), which is what priming is for.
                    Launch b = medianBy(before, Launch::invoke);
                    Launch a = medianBy(after, Launch::invoke);
                    System.out.printf("  %-18s | %6d %6d %+6d | %8d %8d %+8d | %6d %6d %+6d | %s%n", target.name(), b.prime, a.prime,
                            a.prime - b.prime, b.invoke, a.invoke, a.invoke - b.invoke, b.warm, a.warm, a.warm - b.warm, a.outcome);
                } else {
                    Launch b = median(before);
                    Launch a = median(after);
                    System.out.printf("  %-18s | %8d %8d %+8d | %8d %8d %+8d | %6d %6d %+6d | %s%n", target.name(), b.total, a.total,
                            a.total - b.total, b.init, a.init, a.init - b.init, b.classes, a.classes, a.classes - b.classes, a.outcome);
                }
            }
        }
    }

    /** Whether a jar of {@code classPath} holds the class (a handler a baseline build may not have yet). */
    static boolean hasClass(String classPath, String className) throws java.io.IOException {
        String entry = className.replace('.', '/') + ".class";
        for (String part : classPath.split(java.io.File.pathSeparator)) {
            Path path = Path.of(part);
            if (Files.isDirectory(path)) {
                if (Files.exists(path.resolve(entry))) return true;
            } else if (part.endsWith(".jar") && Files.exists(path)) {
                try (var jar = new java.util.jar.JarFile(path.toFile())) {
                    if (jar.getEntry(entry) != null) return true;
                }
            }
        }
        return false;
    }

    private final String classPath;
    private final Map<String, String> environment;
    private final Path work;

    private ColdStartBenchmark(String classPath, Map<String, String> environment, Path work) {
        this.classPath = classPath;
        this.environment = environment;
        this.work = work;
    }

    private void row(String name, Path event, List<String> main, int repeats) throws Exception {
        Launch plain = median(launches(main, List.of(), repeats));
        Path cache = work.resolve(name.replaceAll("[^A-Za-z0-9]+", "-") + ".aot");
        launch(main, List.of("-XX:AOTCacheOutput=" + cache)); // untimed: trains and writes the cache at exit
        Launch cached = median(launches(main, List.of("-XX:AOTCache=" + cache), repeats));
        String cacheSize = Files.exists(cache) ? String.format("%.0f MB", Files.size(cache) / 1_048_576.0) : "none";
        Files.deleteIfExists(cache); // tens of MB each
        String primed = "     -      -      -";
        if (main.getFirst().equals(ColdStartProbe.class.getName())) { // only handlers have priming
            List<String> primedMain = new ArrayList<>(main);
            primedMain.add("primed");
            Launch p = median(launches(primedMain, List.of(), repeats));
            primed = String.format("%6d %6d %6d", p.prime, p.invoke, p.warm);
        }
        System.out.printf("  %-18s %-38s | %6d %6d %6d %6d %7d | %6d %6d %6d %6d %7s | %s | %s%n", name,
                event == null ? "-" : event.getFileName(), plain.total, plain.toMain, plain.init, plain.invoke, plain.classes,
                cached.total, cached.toMain, cached.init, cached.invoke, cacheSize, primed, plain.outcome);
    }

    private List<Launch> launches(List<String> main, List<String> extraFlags, int repeats) throws Exception {
        List<Launch> result = new ArrayList<>();
        for (int i = 0; i < repeats; i++) result.add(launch(main, extraFlags));
        return result;
    }

    /** The launch with the median total, so its parts add up to the total shown. */
    private static Launch median(List<Launch> launches) {
        return medianBy(launches, Launch::total);
    }

    private static Launch medianBy(List<Launch> launches, ToLongFunction<Launch> figure) {
        List<Launch> sorted = launches.stream().sorted(Comparator.comparingLong(figure)).toList();
        return sorted.get((sorted.size() - 1) / 2);
    }

    private Launch launch(List<String> main, List<String> extraFlags) throws Exception {
        List<String> flags = new ArrayList<>(JVM_FLAGS);
        flags.addAll(extraFlags);
        ProbeRun run = runProbe(classPath, flags, main, environment, work, "COLDSTART ");
        long launchedAt = run.launchedAt();
        String[] f = run.line().split(" ");
        long mainAt = Long.parseLong(f[1]);
        long constructedAt = Long.parseLong(f[2]);
        long primedAt = Long.parseLong(f[3]);
        long respondedAt = Long.parseLong(f[4]);
        return new Launch(respondedAt - launchedAt, mainAt - launchedAt, constructedAt - mainAt, primedAt - constructedAt,
                respondedAt - primedAt, Long.parseLong(f[5]), f[6], f.length > 7 ? Long.parseLong(f[7]) : -1);
    }

    /** A probe's launch time (epoch milliseconds, just before the process started) and its result line. */
    record ProbeRun(long launchedAt, String line) {}

    /**
     * Launches {@code main} in a fresh JVM ({@code flags}, {@code classPath}, only {@code environment}) once the
     * machine is idle, and returns its last standard-output line starting with {@code prefix}; without one, fails
     * with the probe's standard error.
     */
    static ProbeRun runProbe(String classPath, List<String> flags, List<String> main, Map<String, String> environment,
                             Path work, String prefix) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(flags);
        command.addAll(List.of("-cp", classPath));
        command.addAll(main);
        Path stderr = work.resolve("stderr.log");
        var builder = new ProcessBuilder(command).redirectError(stderr.toFile());
        builder.environment().clear();
        builder.environment().putAll(environment);

        settle();
        long launchedAt = System.currentTimeMillis();
        Process process = builder.start();
        String result = null;
        try (var reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.startsWith(prefix)) result = line;
            }
        }
        process.waitFor();
        if (result == null) {
            throw new IllegalStateException("no result from " + String.join(" ", main) + " (exit " + process.exitValue()
                    + "):\n" + Files.readString(stderr));
        }
        return new ProbeRun(launchedAt, result);
    }

    /**
     * Waits (up to 10 s) until the machine's CPUs are under 10% busy: right after its start the runtime in this JVM
     * still compiles for seconds, and a handler's call can leave queue work behind; either would slow the next launch.
     */
    static void settle() throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            long[] before = cpuTicks();
            Thread.sleep(500);
            long[] after = cpuTicks();
            if (after[0] - before[0] < 0.1 * (after[1] - before[1])) return;
        }
    }

    /** {busy, total} jiffies of all CPUs, from the first line of /proc/stat (user nice system idle iowait ...). */
    private static long[] cpuTicks() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < Math.min(f.length, 9); i++) total += Long.parseLong(f[i]);
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        return new long[]{total - idle, total};
    }

    /** What the stack sets on a function, pointed at the local runtime's services, emulated carrier and URL. */
    static Map<String, String> lambdaEnvironment(LocalRuntime runtime) {
        Map<String, String> env = new HashMap<>();
        env.put("AWS_REGION", runtime.settings().region());
        env.put("AWS_ACCESS_KEY_ID", "local");
        env.put("AWS_SECRET_ACCESS_KEY", "local");
        env.put("DYNAMODB_ENDPOINT", runtime.dynamoEndpoint().toString());
        env.put("SQS_ENDPOINT", runtime.sqsEndpoint().toString());
        // Priming's request to SNS must not leave the machine; ElasticMQ answers it with an error, as intended.
        env.put("SNS_ENDPOINT", runtime.sqsEndpoint().toString());
        for (TableDef table : Tables.ALL) env.put(table.envVar(), table.name());
        for (QueueDef queue : Queues.ALL) env.put(queue.envVar(), runtime.queues().get(queue.name()).url());
        env.put("PUBLIC_BASE_URL", runtime.publicBaseUrl());
        var carrier = runtime.carrierEmulator().carrierSettings();
        env.put("TWILIO_API_BASE_URL", carrier.apiBaseUrl());
        env.put("TWILIO_ACCOUNT_SID", carrier.accountSid());
        env.put("TWILIO_AUTH_TOKEN", carrier.authToken());
        return env;
    }

    /** The handler's first sample event, alphabetically. */
    private static Path firstEvent(HandlerDef handler) throws IOException {
        try (Stream<Path> files = Files.list(Path.of("events", handler.name()))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().findFirst()
                    .orElseThrow(() -> new IllegalStateException("no sample event in events/" + handler.name()));
        }
    }

    static Path find(Path dir, String prefix, String suffix, String hint) throws IOException {
        try (Stream<Path> files = Files.exists(dir) ? Files.list(dir) : Stream.empty()) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix) && p.getFileName().toString().endsWith(suffix))
                    .findFirst().orElseThrow(() -> new IllegalStateException("no " + prefix + "*" + suffix + " in " + dir + "; " + hint));
        }
    }

    private static long classCount(Path jar) throws IOException {
        try (var zip = new ZipFile(jar.toFile())) {
            return zip.stream().filter(e -> e.getName().endsWith(".class")).count();
        }
    }

    /** The .class files under {@code classes} as a jar (no resources: the probe needs code only). */
    static Path jarClasses(Path classes, Path jar) throws IOException {
        try (OutputStream file = Files.newOutputStream(jar); var out = new JarOutputStream(file);
             Stream<Path> paths = Files.walk(classes)) {
            for (Path p : paths.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(p).toString().replace('\\', '/')));
                Files.copy(p, out);
                out.closeEntry();
            }
        }
        return jar;
    }
}
