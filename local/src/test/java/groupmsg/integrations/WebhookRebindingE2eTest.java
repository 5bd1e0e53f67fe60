package groupmsg.integrations;

import com.sun.net.httpserver.HttpServer;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.json.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * DNS rebinding, end to end through the dispatcher: a name that answers an allowed address to the check and another
 * one a moment later is called at the address checked (one lookup per try, and the connection made to its answer),
 * and a try whose lookup answers a private address calls nothing.
 */
@ExtendWith(LocalRuntimeExtension.class)
class WebhookRebindingE2eTest {
    private HttpServer server;

    /** A receiver on this machine that takes every POST (204). */
    private static HttpServer receiverAnswering204() throws java.io.IOException {
        return receiverAnswering204(new CopyOnWriteArrayList<>());
    }

    /** ... keeping each body it took in {@code bodies}. */
    private static HttpServer receiverAnswering204(List<String> bodies) throws java.io.IOException {
        var receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/", exchange -> {
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        return receiver;
    }

    @AfterEach
    void stop() {
        if (server != null) server.stop(0);
    }

    /**
     * A name with two addresses whose first does not take the connection (one node of a round-robin pair down) is
     * delivered at its second, as any HTTP client goes down a name's records; before, every try went to the first.
     */
    @Test
    void aNameWhoseFirstAddressIsDownIsDeliveredAtItsNext(LocalRuntime runtime) throws Exception {
        server = receiverAnswering204();
        int port = server.getAddress().getPort();
        // 127.0.0.2 is this machine too, where nothing listens on the port: the connection is refused
        WebhookTargets pair = new WebhookTargets(true, host -> new InetAddress[] {
                InetAddress.getByAddress(new byte[] {127, 0, 0, 2}), InetAddress.getLoopbackAddress()});
        var hook = new Webhook("whk_pair", "http://pair.invalid:" + port + "/hook", List.of("reply.received"), null,
                "whsec_test", 0L);
        var attempt = new WebhookDispatcher(runtime.wiring(), pair).test(hook, "webhook.test", "webhook.test/1",
                "{\"type\":\"webhook.test\"}");
        assertThat(attempt.failure()).isNull();
        assertThat(attempt.status()).isEqualTo(204);

        WebhookTargets bothDown = new WebhookTargets(true, host -> new InetAddress[] {
                InetAddress.getByAddress(new byte[] {127, 0, 0, 2}), InetAddress.getByAddress(new byte[] {127, 0, 0, 3})});
        assertThat(new WebhookDispatcher(runtime.wiring(), bothDown).test(hook, "webhook.test", "webhook.test/2",
                "{\"type\":\"webhook.test\"}").failure()).isEqualTo("could not connect (ConnectException)");
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
            var attempt = dispatcher.test(hook, "webhook.test", "webhook.test/" + i, "{\"type\":\"webhook.test\"}");
            assertThat(attempt.failure()).as("try " + i).isNull();
            assertThat(attempt.status()).isEqualTo(204);
        }
        assertThat(lookups.get()).as("one lookup a try: the connection goes to its answer").isEqualTo(3);
        assertThat(hosts).containsExactly("rebind.invalid:" + port, "rebind.invalid:" + port, "rebind.invalid:" + port);

        // a try whose own lookup answers the private address is refused, and nothing is called
        var refused = dispatcher.test(hook, "webhook.test", "webhook.test/4", "{\"type\":\"webhook.test\"}");
        assertThat(refused.failure()).startsWith("refused: ").contains("non-public");
        assertThat(hosts).hasSize(3);
    }

    /**
     * A lookup that fails (a resolver's outage looks like a name that is gone) is tried again as a failed connection
     * is: the event goes back to its queue and reaches the endpoint once the name resolves. Before, it was given up
     * at once, for good, as a refused address.
     */
    @Test
    void anEventWhoseHostDidNotResolveIsTriedAgainAndArrivesOnceItResolves(LocalRuntime runtime, ApiClient api) throws Exception {
        List<String> bodies = new CopyOnWriteArrayList<>();
        server = receiverAnswering204(bodies);
        ApiClient a = api.forNewAccount("Flaky DNS Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var created = a.post("/v1/webhooks", Map.of("url", "http://localhost:" + server.getAddress().getPort() + "/hook",
                "events", List.of("reply.received")));
        assertThat(created.status()).as(created.body()).isEqualTo(201);

        AtomicInteger lookups = new AtomicInteger();
        WebhookTargets outage = new WebhookTargets(true, host -> {
            if (lookups.incrementAndGet() <= 3) throw new java.net.UnknownHostException(host + ": SERVFAIL");
            return new InetAddress[] {InetAddress.getLoopbackAddress()};
        });
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDFLAKYDNS0000000000000001", "from", "+14155550977", "body", "Hi"));

        assertThatThrownBy(() -> new WebhookDispatcher(runtime.wiring(), outage).dispatch(event, "q1"))
                .as("every try's lookup failed: back to the queue").isInstanceOf(WebhookDispatcher.NotDelivered.class);
        assertThat(bodies).isEmpty();
        assertThat(a.get("/v1/webhooks/" + created.jsonObject().get("id")).jsonObject().get("lastFailure"))
                .isEqualTo("the host did not resolve");

        // the queue's next receive, after the endpoint's minute of pause
        var later = runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofSeconds(61)));
        new WebhookDispatcher(later, outage).dispatch(event, "q1");
        assertThat(bodies).hasSize(1);
        assertThat(bodies.getFirst()).contains("inb_01JDFLAKYDNS0000000000000001");
    }

    /**
     * A name that resolves, for a while, to an address we do not call (a record pointed at an internal balancer during
     * a DNS move) is never connected to, and the event is tried again as a failed connection is: it reaches the
     * endpoint once the name resolves to a public address again. Before, it was given up at once, for good.
     */
    @Test
    void anEventWhoseHostResolvedToAnAddressWeDoNotCallIsTriedAgainAndArrivesOnceItResolvesElsewhere(LocalRuntime runtime, ApiClient api)
            throws Exception {
        List<String> bodies = new CopyOnWriteArrayList<>();
        server = receiverAnswering204(bodies);
        ApiClient a = api.forNewAccount("Moving DNS Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var created = a.post("/v1/webhooks", Map.of("url", "http://localhost:" + server.getAddress().getPort() + "/hook",
                "events", List.of("reply.received")));
        assertThat(created.status()).as(created.body()).isEqualTo(201);

        var moved = new java.util.concurrent.atomic.AtomicBoolean();
        WebhookTargets moving = new WebhookTargets(true, host -> moved.get()
                ? new InetAddress[] {InetAddress.getLoopbackAddress()}
                : new InetAddress[] {InetAddress.getByAddress(host, new byte[] {10, 0, 0, 5})});
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDMOVINGDNS000000000000001", "from", "+14155550979", "body", "Hi"));

        assertThatThrownBy(() -> new WebhookDispatcher(runtime.wiring(), moving).dispatch(event, "q1"))
                .as("refused, not given up: back to the queue").isInstanceOf(WebhookDispatcher.NotDelivered.class);
        assertThat(bodies).isEmpty();
        assertThat((String) a.get("/v1/webhooks/" + created.jsonObject().get("id")).jsonObject().get("lastFailure"))
                .startsWith("refused");

        moved.set(true); // the move done
        var later = runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofSeconds(61)));
        new WebhookDispatcher(later, moving).dispatch(event, "q1");
        assertThat(bodies).hasSize(1);
        assertThat(bodies.getFirst()).contains("inb_01JDMOVINGDNS000000000000001");
    }

    /**
     * A fault of ours while delivering (the table refuses to record the delivery) fails the job as a fault, which
     * the JobFailed alarm sees; an endpoint that is down is NotDelivered, the account's business. Before, both were
     * NotDelivered.
     */
    @Test
    void aFaultOfOursWhileDeliveringIsNoEndpointsFailure(LocalRuntime runtime, ApiClient api) throws Exception {
        server = receiverAnswering204();
        ApiClient a = api.forNewAccount("Refusing Table Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        assertThat(a.post("/v1/webhooks", Map.of("url", "http://localhost:" + server.getAddress().getPort() + "/hook",
                "events", List.of("reply.received"))).status()).isEqualTo(201);
        String event = Json.write(Map.of("type", "reply.received", "accountId", accountId,
                "inboundId", "inb_01JDREFUSINGTABLE000000001", "from", "+14155550978", "body", "Hi"));
        var refusing = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.PutItemRequest put
                        && put.item().containsKey("deliveredAt")) {
                    throw new IllegalStateException("AccessDenied (the test's)");
                }
            }
        });
        assertThatThrownBy(() -> new WebhookDispatcher(refusing, new WebhookTargets(true)).dispatch(event, "q2"))
                .isNotInstanceOf(WebhookDispatcher.NotDelivered.class).hasRootCauseMessage("AccessDenied (the test's)");
    }
}
