package groupmsg.integrations;

import com.sun.net.httpserver.HttpServer;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DNS rebinding, end to end through the dispatcher: a name that answers an allowed address to the check and another
 * one a moment later is called at the address checked (one lookup per try, and the connection made to its answer),
 * and a try whose lookup answers a private address calls nothing.
 */
@ExtendWith(LocalRuntimeExtension.class)
class WebhookRebindingE2eTest {
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) server.stop(0);
    }

    @Test
    void aNameThatRebindsAfterTheCheckIsCalledAtTheAddressChecked(LocalRuntime runtime) throws Exception {
        List<String> hosts = new CopyOnWriteArrayList<>();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            hosts.add(exchange.getRequestHeaders().getFirst("Host"));
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        int port = server.getAddress().getPort();

        // the attacker's name server: this machine (allowed here, as loopback is locally) for the first lookup of
        // each try, a private address for any lookup after it; nobody else resolves "rebind.invalid"
        AtomicInteger lookups = new AtomicInteger();
        AtomicInteger tries = new AtomicInteger();
        WebhookTargets rebinding = new WebhookTargets(true, host -> {
            assertThat(host).isEqualTo("rebind.invalid");
            return lookups.incrementAndGet() <= tries.get()
                    ? new InetAddress[] {InetAddress.getLoopbackAddress()}
                    : new InetAddress[] {InetAddress.getByAddress(new byte[] {10, 0, 0, 7})};
        });
        var dispatcher = new WebhookDispatcher(runtime.wiring(), rebinding);
        var hook = new Webhook("whk_rebind", "http://rebind.invalid:" + port + "/hook", List.of("reply.received"), null,
                "whsec_test", 0L);

        for (int i = 1; i <= 3; i++) {
            tries.set(i);
            var attempt = dispatcher.attempt(hook, "webhook.test", "webhook.test/" + i, "{\"type\":\"webhook.test\"}");
            assertThat(attempt.failure()).as("try " + i).isNull();
            assertThat(attempt.status()).isEqualTo(204);
        }
        assertThat(lookups.get()).as("one lookup a try: the connection goes to its answer").isEqualTo(3);
        assertThat(hosts).containsExactly("rebind.invalid:" + port, "rebind.invalid:" + port, "rebind.invalid:" + port);

        // a try whose own lookup answers the private address is refused, and nothing is called
        var refused = dispatcher.attempt(hook, "webhook.test", "webhook.test/4", "{\"type\":\"webhook.test\"}");
        assertThat(refused.failure()).startsWith("refused: ").contains("non-public");
        assertThat(hosts).hasSize(3);
    }
}
