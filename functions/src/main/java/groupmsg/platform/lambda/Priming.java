package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import groupmsg.platform.Log;
import groupmsg.platform.config.Wiring;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * SnapStart priming. Lambda snapshots a function after its init and restores that snapshot for every cold start,
 * so whatever runs before the snapshot is free afterwards. Just before it (the CRaC {@code beforeCheckpoint}
 * hook) this builds every SDK client the function might use, sends each requests that cannot succeed or
 * change anything (reads and a transaction on a table, a queue and a topic that do not exist: the SDK's
 * marshalling, signing, HTTP and error paths run, and nothing needs a permission; the first from a virtual thread),
 * sends each operation once more through clients that get canned successful answers without a network
 * ({@link SuccessPriming}),
 * runs the set-up steps the function added ({@link #also}: libraries its requests use) and runs the function once on
 * an event that does nothing (an unknown route, an empty batch, a request without credentials). Without a CRaC-capable JVM (tests, the local
 * runtime) the hook never runs; the cold-start benchmark calls {@link #prime()} itself to measure its effect.
 */
public final class Priming implements Resource {
    /** Events that run a function's code path without effect, by kind of function. */
    static final String HTTP_EVENT = "{\"version\":\"2.0\",\"routeKey\":\"GET /priming\",\"rawPath\":\"/priming\","
            + "\"rawQueryString\":\"\",\"headers\":{\"host\":\"priming\"},\"isBase64Encoded\":false,"
            + "\"requestContext\":{\"http\":{\"method\":\"GET\",\"path\":\"/priming\"},\"requestId\":\"priming\"}}";
    static final String AUTHORIZER_EVENT = "{\"version\":\"2.0\",\"type\":\"REQUEST\",\"routeKey\":\"GET /priming\","
            + "\"rawPath\":\"/priming\",\"headers\":{\"host\":\"priming\"}}";
    static final String QUEUE_EVENT = "{\"Records\":[]}";
    private static final String NOWHERE = "groupmsg-priming";

    // Typed as the Lambda interface on purpose: the grants analysis (infra's HandlerNeeds) follows calls on our own
    // types into every implementation, and this one only ever calls back into the function that registered it.
    private final RequestStreamHandler function;
    private final Wiring wiring;
    private final String event;
    /** A function's own libraries' first-use set-up (added by {@link #also}), run after the clients. */
    private final List<Runnable> warmUps = new ArrayList<>();

    private Priming(RequestStreamHandler function, Wiring wiring, String event) {
        this.function = function;
        this.wiring = wiring;
        this.event = event;
    }

    /**
     * Registers the hook for a function. CRaC holds resources weakly: the function keeps the returned object.
     *
     * @param wiring null for a function without SDK clients
     */
    public static Priming register(RequestStreamFunction function, Wiring wiring) {
        String event = switch (function) {
            case HttpFunction h -> HTTP_EVENT;
            case AuthorizerFunction a -> AUTHORIZER_EVENT;
            case QueueFunction q -> QUEUE_EVENT;
            default -> null; // a schedule's run has effects: only the clients are primed
        };
        var priming = new Priming(function, wiring, event);
        Core.getGlobalContext().register(priming);
        return priming;
    }

    /**
     * Adds a step that sets up a library the function uses on its requests but the priming event never reaches
     * (its first use is paid by the first request after a restore otherwise); it must have no effect outside the JVM.
     * Called while the function is built.
     */
    public Priming also(Runnable warmUp) {
        warmUps.add(warmUp);
        return this;
    }

    /** How many steps the function added with {@link #also} (tests check who sets up what). */
    public int addedSteps() {
        return warmUps.size();
    }

    /**
     * Does what {@code beforeCheckpoint} does; never throws (a failed priming only costs the first request).
     *
     * @return whether every step ran (expected failures of the requests to nowhere count as ran)
     */
    public boolean prime() {
        long start = System.nanoTime();
        try {
            if (wiring != null) primeClients();
            warmUps.forEach(Runnable::run);
            if (event != null) {
                function.handleRequest(new ByteArrayInputStream(event.getBytes(StandardCharsets.UTF_8)),
                        new ByteArrayOutputStream(), null);
            }
            // Last, so that if it fails everything above has still run. Every answer to the requests to nowhere
            // is an error; the parsers of successful answers are primed without a network.
            if (wiring != null) SuccessPriming.run(Region.of(wiring.config().region()));
        } catch (Exception | LinkageError e) {
            Log.warn("priming_failed", Map.of("error", e.getClass().getSimpleName()));
            return false;
        }
        Log.info("primed", Map.of("ms", (System.nanoTime() - start) / 1_000_000));
        return true;
    }

    private void primeClients() {
        Map<String, AttributeValue> key = Map.of("pk", AttributeValue.fromS(NOWHERE), "sk", AttributeValue.fromS(NOWHERE));
        var dynamo = wiring.dynamo();
        // Each operation has its own marshaller and response parser; these are the ones the functions use most.
        // On a virtual thread: the delivery and receipt workers run their blocks and shards on virtual threads, and
        // the JVM sets up their scheduler on the first one and their socket poller on its first blocking I/O
        // (the scheduler alone took 20-25 ms in a fresh JVM here; later threads well under 1 ms).
        onVirtualThread(() -> toNowhere(() -> dynamo.getItem(b -> b.tableName(NOWHERE).key(key))));
        // The list routes' and the workers' first reads; measured, classes loaded by the first invocation after
        // priming without and with these two: inbound-api 133 -> 83 (30-44 -> 22-26 ms), receipt worker 240 -> 205.
        toNowhere(() -> dynamo.query(b -> b.tableName(NOWHERE).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(NOWHERE))).limit(1)));
        toNowhere(() -> dynamo.batchGetItem(b -> b.requestItems(Map.of(NOWHERE, KeysAndAttributes.builder().keys(key).build()))));
        // The delivery path's kind of write: its marshalling is most of a worker's first request (measured: the
        // receipt worker's first invocation after priming took 156-207 ms without it).
        toNowhere(() -> dynamo.transactWriteItems(b -> b.transactItems(TransactWriteItem.builder().update(u -> u
                .tableName(NOWHERE).key(key).updateExpression("SET #n = :n").conditionExpression("attribute_exists(pk)")
                .expressionAttributeNames(Map.of("#n", "n")).expressionAttributeValues(Map.of(":n", AttributeValue.fromN("1"))))
                .build())));
        toNowhere(() -> wiring.sqs().getQueueUrl(b -> b.queueName(NOWHERE)));
        wiring.events().prime();
        wiring.primeCarrier();
    }

    /** Runs the step on a virtual thread started the way the workers start theirs, and waits for it. */
    private static void onVirtualThread(Runnable step) {
        try (ExecutorService pool = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("priming-", 0).factory())) {
            pool.submit(step).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while priming", e); // prime() reports it failed
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error error) throw error; // a LinkageError is logged by its own name
            throw new IllegalStateException(e.getCause());
        }
    }

    /** A request to a table or queue that does not exist: it fails (no such resource, or no permission on it) after
     * the SDK's marshalling, signing, HTTP and error paths ran, which is what priming is for. */
    private static void toNowhere(Runnable request) {
        try {
            request.run();
        } catch (RuntimeException expected) {
            // as intended
        }
    }

    @Override
    public void beforeCheckpoint(Context<? extends Resource> context) {
        prime();
    }

    @Override
    public void afterRestore(Context<? extends Resource> context) {
        // Nothing to renew: clients hold no credentials of their own (read from the environment per request) and
        // pooled connections that went stale in the snapshot are replaced by the HTTP client on first use.
    }
}
