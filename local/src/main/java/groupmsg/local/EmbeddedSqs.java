package groupmsg.local;

import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;

import java.net.URI;

/**
 * ElasticMQ (an SQS-compatible server) in this JVM, on 127.0.0.1 and a free port. Queues and messages live in
 * memory: after a restart provisioning creates the queues again. What they held at a clean stop is kept in DATA_DIR
 * and sent again ({@link QueueSnapshot}); after a crash it is gone, and the restart's sweep and maintenance repair
 * the work that was cut short, as they must in AWS too.
 */
public final class EmbeddedSqs implements AutoCloseable {
    private static final String LOOPBACK = "127.0.0.1";

    private final SQSRestServer server;
    private final URI endpoint;

    private EmbeddedSqs(SQSRestServer server, URI endpoint) {
        this.server = server;
        this.endpoint = endpoint;
    }

    /**
     * @param region    put into queue ARNs, so {@code eventSourceARN} looks like AWS's
     * @param accountId put into queue ARNs and URLs
     */
    public static EmbeddedSqs start(String region, String accountId) {
        SQSRestServer server = SQSRestServerBuilder
                .withInterface(LOOPBACK)
                .withDynamicPort()
                .withAWSRegion(region)
                .withAWSAccountId(accountId)
                .start();
        try {
            int port = server.waitUntilStarted().localAddress().getPort();
            return new EmbeddedSqs(server, URI.create("http://" + LOOPBACK + ":" + port));
        } catch (RuntimeException e) {
            server.stopAndWait();
            throw new IllegalStateException("ElasticMQ did not start: " + e.getMessage(), e);
        }
    }

    public URI endpoint() {
        return endpoint;
    }

    @Override
    public void close() {
        try {
            server.stopAndWait();
        } catch (RuntimeException e) {
            LocalLog.warn("elasticmq_stop_failed", e);
        }
    }
}
