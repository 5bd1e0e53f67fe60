package groupmsg.local.bench;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import groupmsg.local.FunctionError;
import groupmsg.local.FunctionSpec;
import groupmsg.local.LocalFunction;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/**
 * One Lambda cold start in a fresh JVM, launched by {@link ColdStartBenchmark} with the shaded Lambda jar on the
 * class path: builds the handler with its no-argument constructor (configuration from the environment, as in
 * Lambda), runs it once on an event file through the local runtime's {@link LocalFunction} (the Lambda runtime's
 * serialisers, in and out), and prints one line of epoch-millisecond timestamps for the parent to subtract from
 * its launch time. {@code args: <handler> <event.json>}
 */
public final class ColdStartProbe {
    public static void main(String[] args) {
        long mainAt = System.currentTimeMillis();
        try {
            probe(mainAt, args);
        } catch (Throwable t) {
            // A handler that cannot be built fails the launch; its SDK threads must not keep this JVM up.
            t.printStackTrace();
            System.exit(1);
        }
        // The SDK's idle-connection threads would keep the JVM up; an AppCDS archive is written at this exit.
        System.exit(0);
    }

    private static void probe(long mainAt, String[] args) throws Exception {
        HandlerDef def = Handlers.byName(args[0]);
        String event = Files.readString(Path.of(args[1]));
        PrintStream out = System.out;
        // Handlers log to stdout; it is kept for the result line alone.
        System.setOut(System.err);

        var handler = (RequestHandler<?, ?>) Class.forName(def.className()).getConstructor().newInstance();
        long constructedAt = System.currentTimeMillis();
        String outcome = "ok";
        try {
            LocalFunction.of(FunctionSpec.of(def), handler, System.getenv("AWS_REGION"), Clock.systemUTC()).invoke(event);
        } catch (FunctionError e) {
            // An error document is a response too (the sample events include unknown ids on purpose).
            outcome = e.getCause() == null ? e.kind().name() : e.getCause().getClass().getSimpleName();
        }
        long respondedAt = System.currentTimeMillis();
        // Counted after the clock stops; the management classes this loads are counted too (hello world's as well).
        long classes = ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        out.println("COLDSTART " + mainAt + " " + constructedAt + " " + respondedAt + " " + classes + " " + outcome);
        out.flush();
    }
}
