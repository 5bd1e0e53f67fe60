package groupmsg.platform.config;

import com.sun.net.httpserver.HttpServer;
import groupmsg.notify.Topic;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A publish to an SNS that takes the request and never answers gives up within {@link Wiring#SNS_CALL_TIMEOUT}, so
 * its caller can defer or fail the event itself; on the shared 20 s socket timeout, retried, it outlasted a 30 s worker.
 */
class SnsTimeoutTest {
    @Test
    void aPublishToAnSnsThatNeverAnswersFailsWithinTheCallTimeout() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        AtomicInteger attempts = new AtomicInteger();
        HttpServer silent = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        silent.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        silent.createContext("/", exchange -> {
            attempts.incrementAndGet();
            try {
                stop.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        silent.start();
        URI endpoint = URI.create("http://127.0.0.1:" + silent.getAddress().getPort());
        var config = new AppConfig("us-east-1", URI.create("http://127.0.0.1:1"), URI.create("http://127.0.0.1:1"),
                Map.of("core", "core"), Map.of())
                .withNotifications(endpoint, Map.of(Topic.INTEGRATIONS.name(), "arn:aws:sns:us-east-1:000000000000:integrations"));
        Wiring wiring = Wiring.create(config, StaticCredentialsProvider.create(AwsBasicCredentials.create("x", "y")), List.of());
        try {
            long started = System.nanoTime();
            assertThatThrownBy(() -> wiring.events().publish(Topic.INTEGRATIONS, "acc_1", "reply.received", Map.of("body", "hi")))
                    .isInstanceOf(SdkClientException.class);
            long tookMillis = (System.nanoTime() - started) / 1_000_000;
            assertThat(tookMillis).as("gave up after %d ms", tookMillis)
                    .isGreaterThanOrEqualTo(Wiring.SNS_ATTEMPT_TIMEOUT.toMillis())
                    .isLessThan(Wiring.SNS_CALL_TIMEOUT.toMillis() + 2_000);
            assertThat(attempts.get()).as("retried within the call's time").isBetween(1, 3);
        } finally {
            stop.countDown();
            silent.stop(0);
            wiring.dynamo().close();
        }
    }
}
