package groupmsg.local;

import com.amazonaws.services.dynamodbv2.local.main.CommandLineInput;
import com.amazonaws.services.dynamodbv2.local.server.LocalDynamoDBRequestHandler;
import com.amazonaws.services.dynamodbv2.local.server.LocalDynamoDBServerHandler;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;

import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * DynamoDB Local 2.x in this JVM, listening on 127.0.0.1 only.
 *
 * <p>{@code ServerRunner.createServerFromCommandLineArgs} builds a {@code DynamoDBProxyServer} whose Jetty server
 * listens on every interface (it has no host option) and sends start-up telemetry. So this class parses the same
 * command line with DynamoDB Local's own {@link CommandLineInput}, builds the same request and server handlers as
 * {@code ServerRunner.createServer} does, and mounts them on a Jetty server with one connector bound to
 * 127.0.0.1 and an ephemeral port (no free-port guessing, no race). Telemetry is never configured, so nothing
 * leaves the machine.
 */
public final class EmbeddedDynamoDb implements AutoCloseable {
    private static final String LOOPBACK = "127.0.0.1";

    private final Server server;
    private final LocalDynamoDBServerHandler handler;
    private final URI endpoint;

    private EmbeddedDynamoDb(Server server, LocalDynamoDBServerHandler handler, URI endpoint) {
        this.server = server;
        this.handler = handler;
        this.endpoint = endpoint;
    }

    /**
     * @param dataDir where the database file lives ({@code shared-local-instance.db}); null keeps it in memory
     */
    public static EmbeddedDynamoDb start(Path dataDir) {
        List<String> args = new ArrayList<>();
        if (dataDir == null) {
            args.add("-inMemory");
        } else {
            createDirectories(dataDir);
            args.add("-dbPath");
            args.add(dataDir.toString());
        }
        // One database whatever credentials or region a client signs with: the AWS CLI, NoSQL Workbench and the
        // runtime all see the same tables.
        args.add("-sharedDb");
        args.add("-disableTelemetry");

        Server server = new Server();
        LocalDynamoDBServerHandler handler = null;
        try {
            CommandLineInput cli = new CommandLineInput(args.toArray(String[]::new));
            if (!cli.init()) throw new IllegalStateException("DynamoDB Local rejected its arguments " + args);
            var requests = new LocalDynamoDBRequestHandler(0, cli.isInMemory(), cli.getDbPath(), cli.getSharedDb(),
                    cli.shouldDelayTransientStatuses());
            handler = new LocalDynamoDBServerHandler(requests, cli.getCorsParams());

            ServerConnector connector = new ServerConnector(server);
            connector.setHost(LOOPBACK);
            connector.setPort(0);
            server.addConnector(connector);
            ContextHandler context = new ContextHandler();
            context.setHandler(new RefusingWebPages(handler));
            server.setHandler(new ContextHandlerCollection(context));
            server.start();
            return new EmbeddedDynamoDb(server, handler, URI.create("http://" + LOOPBACK + ":" + connector.getLocalPort()));
        } catch (Exception e) {
            stopQuietly(server, handler);
            throw new IllegalStateException("DynamoDB Local did not start: " + e.getMessage(), e);
        }
    }

    public URI endpoint() {
        return endpoint;
    }

    @Override
    public void close() {
        stopQuietly(server, handler);
    }

    private static void stopQuietly(Server server, LocalDynamoDBServerHandler handler) {
        try {
            server.stop();
        } catch (Exception e) {
            LocalLog.warn("dynamodb_local_stop_failed", e);
        }
        // Closes the SQLite connections, which flushes the database file.
        if (handler != null) handler.close();
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create DATA_DIR " + dir, e);
        }
    }

    /**
     * Refuses what a web page open in the developer's browser could send: DynamoDB Local answers any origin's CORS
     * preflight and takes any signature, so a page that found its port could read every member's number or write an
     * owner key's hash. As the API's gateway does (HttpGateway#refusal): a Host that is not this machine (a name
     * rebound to 127.0.0.1) or an Origin of another site gets a 403; the SDKs, the AWS CLI and local tools send neither.
     */
    static final class RefusingWebPages extends Handler.Wrapper {
        RefusingWebPages(Handler inner) {
            super(inner);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            String refused = HttpGateway.refusal(request.getHeaders().get(HttpHeader.HOST),
                    request.getHeaders().get(HttpHeader.ORIGIN), "/", null, false, false);
            if (refused == null) return super.handle(request, response, callback);
            Response.writeError(request, response, callback, 403, refused);
            return true;
        }
    }
}
