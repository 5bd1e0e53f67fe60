package groupmsg.local;

import groupmsg.carrier.TwilioCarrier;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.RequestStreamFunction;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SnapStart priming (what runs in the CRaC beforeCheckpoint hook) on every deployed handler against the real
 * DynamoDB Local and ElasticMQ: it completes, reaches DynamoDB and SQS through the SDK, and only with requests
 * that read nothing and change nothing.
 */
@ExtendWith(LocalRuntimeExtension.class)
class PrimingE2eTest {
    private static final Set<String> PARSE_PHONE_NUMBERS =
            Set.of("admin-api", "groups-api", "import-worker", "inbound-api", "conversations-api", "optout-worker");

    @Test
    void everyHandlerPrimesWithoutChangingAnything(LocalRuntime runtime) throws Exception {
        Queue<String> requests = new ConcurrentLinkedQueue<>();
        ExecutionInterceptor recorder = new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
                requests.add(attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME) + " "
                        + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME)
                        + (Thread.currentThread().isVirtual() ? " (virtual thread)" : ""));
            }
        };
        for (HandlerDef def : Handlers.ALL) {
            Wiring wiring = Wiring.create(runtime.wiring().config(), LocalRuntime.LOCAL_CREDENTIALS, List.of(recorder))
                    .withEvents(runtime.wiring().events());
            var handler = (RequestStreamFunction) Class.forName(def.className()).getConstructor(Wiring.class).newInstance(wiring);
            assertThat(handler.priming()).as(def.name()).isNotNull();
            // the phone-number library is set up where requests parse numbers (its first parse costs 25-34 ms)
            assertThat(handler.priming().addedSteps()).as(def.name() + ": steps added to priming")
                    .isEqualTo(PARSE_PHONE_NUMBERS.contains(def.name()) ? 1 : 0);
            // Lambda's init phase builds no SQS client: handlers that send build it on their first send (or priming)
            assertThat(wiring.sqsClient().built()).as(def.name() + ": SQS client built at init").isFalse();
            // nor the carrier's HTTP client (the runtime gives every handler the emulator's carrier settings)
            var carrier = (TwilioCarrier) wiring.carrier();
            assertThat(carrier.httpClientBuilt()).as(def.name() + ": carrier HTTP client built at init").isFalse();
            requests.clear();
            assertThat(handler.priming().prime()).as(def.name() + " primed").isTrue();
            assertThat(carrier.httpClientBuilt()).as(def.name() + ": carrier HTTP client primed (not-found has no clients)")
                    .isEqualTo(!def.name().equals("not-found"));
            if (def.name().equals("not-found")) {
                assertThat(requests).as("not-found has no SDK clients").isEmpty();
            } else {
                // Exactly the requests to nowhere: nothing read from or written to a real table or queue.
                // the first on a virtual thread, which sets up their scheduler and socket poller for the workers
                assertThat(requests).as(def.name()).containsExactly("DynamoDb GetItem (virtual thread)", "DynamoDb Query", "DynamoDb BatchGetItem",
                        "DynamoDb TransactWriteItems", "Sqs GetQueueUrl");
            }
        }
    }
}
