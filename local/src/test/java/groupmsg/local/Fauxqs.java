package groupmsg.local;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * fauxqs (an SNS + SQS API emulator on node, npm package {@code fauxqs}) as a child process, for tests that need a
 * real SNS API. Installed by {@code bin/install-test-tools} into {@code .tools/} at the repository root; when it is
 * missing, {@link #start()} fails with the command to run (tests do not skip).
 *
 * <p>Started through fauxqs's documented library entry ({@code startFauxqs({port: 0})}) so the OS picks a free
 * port (no probe-then-bind race) and the child reports it on stdout, on 127.0.0.1 only (see {@link #LAUNCHER}). The child exits when its stdin closes, so it never outlives the test JVM, even a killed one.
 */
final class Fauxqs implements AutoCloseable {
    static final String INSTALL_HINT = "run bin/install-test-tools (installs node 22 and fauxqs into .tools/)";
    private static final String PORT_LINE = "FAUXQS_PORT=";
    /** Printed for each server fauxqs starts, with the address it is bound to. */
    private static final String BOUND_LINE = "FAUXQS_BOUND=";
    /**
     * Imports fauxqs by file URL, starts it on a free port, prints the port, exits when stdin closes. fauxqs listens on
     * every interface ({@code host: "0.0.0.0"}, no option to change it): the launcher's own {@code listen} keeps it to
     * this machine, so an unauthenticated SNS/SQS emulator is never reachable from the network while the tests run.
     */
    private static final String LAUNCHER = """
            import net from "node:net";
            import { pathToFileURL } from "node:url";
            const listen = net.Server.prototype.listen;
            net.Server.prototype.listen = function (options, ...rest) {
              if (options && typeof options === "object" && (options.host === "0.0.0.0" || options.host === "::")) {
                options = { ...options, host: "127.0.0.1" };
              }
              this.once("listening", () => console.log("%s" + this.address().address));
              return listen.call(this, options, ...rest);
            };
            const { startFauxqs } = await import(pathToFileURL(process.argv[1]).href);
            const server = await startFauxqs({ port: 0, logger: false });
            console.log("%s" + server.port);
            process.stdin.on("end", () => process.exit(0));
            process.stdin.resume();
            """.formatted(BOUND_LINE, PORT_LINE);

    private final Process process;
    private final URI endpoint;
    private final List<String> boundAddresses;

    private Fauxqs(Process process, URI endpoint, List<String> boundAddresses) {
        this.process = process;
        this.endpoint = endpoint;
        this.boundAddresses = boundAddresses;
    }

    /** The addresses fauxqs's servers are bound to, as node reports them once each listens. */
    List<String> boundAddresses() {
        return List.copyOf(boundAddresses);
    }

    /** {@code http://127.0.0.1:<port>}: the SNS and SQS endpoint (one for both). */
    URI endpoint() {
        return endpoint;
    }

    static Fauxqs start() {
        Path root = repositoryRoot();
        Path tools = root.resolve(".tools/node_modules");
        Path node = tools.resolve("node/bin/node");
        Path app = tools.resolve("fauxqs/dist/app.js");
        if (!Files.isExecutable(node) || !Files.isRegularFile(app)) {
            throw new AssertionError("fauxqs is not installed (" + (Files.isExecutable(node) ? app : node)
                    + " is missing): " + INSTALL_HINT);
        }
        Path log = root.resolve("local/target/fauxqs.log");
        Process process;
        try {
            Files.createDirectories(log.getParent());
            process = new ProcessBuilder(List.of(node.toString(), "--disable-warning=ExperimentalWarning",
                    "--input-type=module", "-e", LAUNCHER, app.toString()))
                    .directory(root.resolve(".tools").toFile())
                    .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + node + "; " + INSTALL_HINT, e);
        }
        CompletableFuture<Integer> port = new CompletableFuture<>();
        List<String> bound = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread.ofPlatform().daemon().name("fauxqs-stdout").start(() -> {
            try (var out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    if (line.startsWith(BOUND_LINE)) bound.add(line.substring(BOUND_LINE.length()).strip());
                    if (!port.isDone() && line.startsWith(PORT_LINE)) port.complete(Integer.parseInt(line.substring(PORT_LINE.length()).strip()));
                }
            } catch (IOException | RuntimeException e) {
                port.completeExceptionally(e);
            }
            port.completeExceptionally(new IllegalStateException("fauxqs exited before it was listening; see " + log));
        });
        try {
            return new Fauxqs(process, URI.create("http://127.0.0.1:" + port.get(20, TimeUnit.SECONDS)), bound);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(process);
            throw new IllegalStateException("interrupted while starting fauxqs", e);
        } catch (ExecutionException | TimeoutException e) {
            stop(process);
            throw new IllegalStateException("fauxqs did not start (see " + log + "): " + e.getMessage(), e);
        }
    }

    /** The directory holding {@code .ci/run}, at or above the working directory (Maven runs tests in local/). */
    static Path repositoryRoot() {
        Path start = Path.of("").toAbsolutePath().normalize();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve(".ci/run"))) return dir;
        }
        throw new AssertionError("cannot find the repository root (a directory with .ci/run) at or above " + start);
    }

    @Override
    public void close() {
        stop(process);
    }

    private static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
