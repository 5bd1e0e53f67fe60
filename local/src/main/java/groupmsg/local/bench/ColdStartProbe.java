package groupmsg.local.bench;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import groupmsg.local.FunctionError;
import groupmsg.local.FunctionSpec;
import groupmsg.local.LocalFunction;
import groupmsg.platform.lambda.RequestStreamFunction;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/**
 * One Lambda cold start in a fresh JVM, launched by {@link ColdStartBenchmark} with the shaded Lambda jar on the
 * class path: builds the handler with its no-argument constructor (configuration from the environment, as in
 * Lambda), runs it once on an event file as the Lambda runtime would (a {@link RequestStreamHandler} is handed the
 * bytes on this thread; anything else goes through the local runtime's {@link LocalFunction} and the runtime's
 * serialisers), and prints one line of epoch-millisecond timestamps for the parent to subtract from its launch
 * time. {@code args: <handler> <event.json> [primed]}; primed, it also times a second invocation of the same event
 * (warm: what the work itself takes once nothing is loaded for the first time).
 */
public final class ColdStartProbe {
    public static void main(String[] args) {
        long mainAt = System.currentTimeMillis();
        // A handler that cannot be built fails the launch (exit 1); the AOT cache is written at the exit.
        BenchMain.runThenExit(() -> probe(mainAt, args));
    }

    private static void probe(long mainAt, String[] args) throws Exception {
        HandlerDef def = Handlers.byName(args[0]);
        String event = Files.readString(Path.of(args[1]));
        PrintStream out = System.out;
        // Handlers log to stdout; it is kept for the result line alone.
        System.setOut(System.err);

        var handler = (RequestHandler<?, ?>) Class.forName(def.className()).getConstructor().newInstance();
        long constructedAt = System.currentTimeMillis();
        // "primed": what SnapStart's beforeCheckpoint hook runs, so the invoke below is what a restored snapshot
        // would do on its first request (restoring the snapshot itself is Lambda's and not measured here).
        boolean primed = args.length > 2 && args[2].equals("primed");
        if (primed && handler instanceof RequestStreamFunction function && !function.priming().prime()) {
            throw new IllegalStateException("priming failed (see the log line above)");
        }
        long primedAt = System.currentTimeMillis();
        String outcome = invoke(def, handler, event);
        long respondedAt = System.currentTimeMillis();
        // Counted after the clock stops; the management classes this loads are counted too (hello world's as well).
        long classes = ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        long warmMillis = -1;
        if (primed) {
            long warmStart = System.nanoTime();
            String warmOutcome;
            try {
                warmOutcome = invoke(def, handler, event);
            } catch (Exception e) { // the first invocation's figures stand
                warmOutcome = e.getClass().getSimpleName();
            }
            // the same path as the first, or the figure compares two different things
            if (warmOutcome.equals(outcome)) warmMillis = (System.nanoTime() - warmStart) / 1_000_000;
        }
        out.println("COLDSTART " + mainAt + " " + constructedAt + " " + primedAt + " " + respondedAt + " " + classes + " " + outcome
                + " " + warmMillis);
        out.flush();
    }

    /** One invocation as the Lambda runtime would make it; {@code ok}, or what the handler failed with. */
    private static String invoke(HandlerDef def, RequestHandler<?, ?> handler, String event) throws Exception {
        try {
            if (handler instanceof RequestStreamHandler stream) {
                stream.handleRequest(new ByteArrayInputStream(event.getBytes(StandardCharsets.UTF_8)),
                        new ByteArrayOutputStream(), null);
            } else {
                LocalFunction.of(FunctionSpec.of(def), handler, System.getenv("AWS_REGION"), Clock.systemUTC()).invoke(event);
            }
            return "ok";
        } catch (FunctionError e) {
            // An error document is a response too (the sample events include unknown ids on purpose).
            return e.getCause() == null ? e.kind().name() : e.getCause().getClass().getSimpleName();
        }
    }
}
