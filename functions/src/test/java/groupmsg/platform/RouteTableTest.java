package groupmsg.platform;

import groupmsg.platform.api.HttpApiHandler;
import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Queues;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.net.URI;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class RouteTableTest {
    private static Wiring offlineWiring() {
        var config = new AppConfig("us-east-1", URI.create("http://127.0.0.1:1"), URI.create("http://127.0.0.1:1"),
                Map.of("core", "core", "members", "members", "deliveries", "deliveries"),
                Map.of("imports", "http://127.0.0.1:1/q/imports.fifo", "fanout", "http://127.0.0.1:1/q/fanout",
                        "deliveries", "http://127.0.0.1:1/q/deliveries"));
        return Wiring.create(config, StaticCredentialsProvider.create(AwsBasicCredentials.create("x", "y")), List.of());
    }

    @Test
    void everyHttpHandlerServesExactlyItsRoutesFromTheTable() throws Exception {
        Wiring wiring = offlineWiring();
        // Every HTTP API handler of the handler list (found there, so a new one cannot be forgotten here).
        List<HttpApiHandler> handlers = new java.util.ArrayList<>();
        for (HandlerDef def : Handlers.ALL) {
            Class<?> type = Class.forName(def.className());
            if (HttpApiHandler.class.isAssignableFrom(type)) {
                handlers.add((HttpApiHandler) type.getConstructor(Wiring.class).newInstance(wiring));
            }
        }
        assertThat(handlers).hasSizeGreaterThanOrEqualTo(5);
        Set<String> served = new HashSet<>();
        for (HttpApiHandler handler : handlers) served.addAll(handler.routeKeys());
        Set<String> table = Routes.ALL.stream().filter(RouteDef::authorized).map(RouteDef::key).collect(Collectors.toSet());
        assertThat(served).isEqualTo(table);
    }

    @Test
    void routeKeysAreUniqueAndEveryRouteNamesAnHttpHandler() {
        assertThat(Routes.ALL.stream().map(RouteDef::key).distinct().count()).isEqualTo(Routes.ALL.size());
        for (RouteDef route : Routes.ALL) {
            assertThat(Handlers.byName(route.handler()).trigger()).isEqualTo(HandlerDef.Trigger.HTTP);
            // API key routes live under /v1; only carrier webhooks (signature-checked) go without the authorizer
            assertThat(route.path()).startsWith(route.authorized() ? "/v1/" : "/webhooks/");
        }
    }

    @Test
    void everyQueueConsumerIsAnSqsHandlerAndVisibilityCoversSixTimesItsTimeout() {
        for (var queue : Queues.ALL) {
            HandlerDef consumer = Handlers.byName(queue.consumer());
            assertThat(consumer.trigger()).isEqualTo(HandlerDef.Trigger.SQS);
            assertThat(queue.visibilityTimeoutSeconds()).isGreaterThanOrEqualTo(6 * consumer.timeoutSeconds());
            assertThat(queue.queueName().endsWith(".fifo")).isEqualTo(queue.fifo());
        }
    }

    @Test
    void handlerNamesAreUniqueAndClassesLoad() throws Exception {
        assertThat(Handlers.ALL.stream().map(HandlerDef::name).distinct().count()).isEqualTo(Handlers.ALL.size());
        for (HandlerDef def : Handlers.ALL) {
            Class<?> type = Class.forName(def.className());
            assertThat(com.amazonaws.services.lambda.runtime.RequestHandler.class.isAssignableFrom(type))
                    .as(def.className()).isTrue();
            assertThat(type.getConstructor()).isNotNull();
            assertThat(type.getConstructor(Wiring.class)).isNotNull();
        }
    }
}
