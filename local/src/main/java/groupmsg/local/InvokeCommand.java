package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.local.carrier.CarrierEmulator;
import groupmsg.notify.SnsEventPublisher;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code invoke <handler> <event.json>}: runs one handler once on an event file, as {@code sam local invoke}
 * does, and prints its response (or Lambda's error document) as JSON on stdout; the handler's own log lines go
 * to stderr so the output can be piped.
 *
 * <p>"Against the same data": when {@code DATA_DIR/runtime.json} names services that answer, the handler uses
 * the running runtime's DynamoDB and queues (messages it sends are processed by that runtime's pollers), its carrier
 * emulator (with this process's TWILIO_AUTH_TOKEN, which must be the runtime's) and its events (published through
 * its {@code POST /local/events}). Otherwise it starts the services itself on {@code DATA_DIR}, provisioned as the
 * runtime would; queued messages are then dropped when the command ends, sends are refused as the sender's problem
 * (their recipients stay queued for a runtime to send), and events are printed to stderr.
 */
public final class InvokeCommand {
    /** The key id the sample HTTP events (events/) name in their authorizer context: a placeholder. */
    public static final String SAMPLE_KEY_ID = "key_01JDSAMPLE0000000000000000";

    /**
     * The event as the default account's start-up owner key sends it: a sample's placeholder key id is replaced by
     * that key's, so a write that checks its caller's key (a new API key, a webhook: CallerKey) is made, not refused
     * as by a revoked key. An event without the placeholder, or a store without the key, is left as it is.
     */
    public static String asStartUpKey(String event, Wiring wiring) {
        if (!event.contains(SAMPLE_KEY_ID)) return event;
        return new groupmsg.accounts.AccountService(wiring).startUpKeyId().map(id -> event.replace(SAMPLE_KEY_ID, id)).orElse(event);
    }

    private InvokeCommand() {}

    /** @return the process exit code: 0 response printed, 1 the function failed, 2 bad usage */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length != 2) {
            err.println("usage: invoke <handler> <event.json>");
            LocalRuntime.printUsage(err);
            return 2;
        }
        HandlerDef handler;
        try {
            handler = Handlers.byName(args[0]);
        } catch (IllegalArgumentException e) {
            err.println("unknown handler '" + args[0] + "'; one of: "
                    + String.join(", ", Handlers.ALL.stream().map(HandlerDef::name).toList()));
            return 2;
        }
        String event;
        try {
            event = Files.readString(Path.of(args[1]));
        } catch (NoSuchFileException e) {
            err.println("no event file " + args[1]);
            return 2;
        } catch (IOException e) {
            err.println("cannot read " + args[1] + ": " + e.getMessage());
            return 2;
        }

        LocalSettings settings = LocalSettings.fromEnvironment(env);
        LocalServices services = null;
        DataDirLock lock = null;
        RuntimeEventPublisher runtimeEvents = null;
        Wiring wiring;
        Optional<RuntimeFile> running = settings.inMemory() ? Optional.empty()
                : RuntimeFile.read(RuntimeFile.pathIn(settings.dataDir())).filter(RuntimeFile::runtimeIsUp);
        if (running.isPresent()) {
            RuntimeFile r = running.get();
            err.println("invoke: using the running local runtime (pid " + r.pid() + ", " + r.baseUrl() + ")");
            runtimeEvents = new RuntimeEventPublisher(r.baseUrl());
            wiring = wiringFor(r, settings, runtimeEvents);
        } else {
            err.println("invoke: no running local runtime on " + (settings.inMemory() ? "DATA_DIR=memory"
                    : settings.dataDir()) + "; starting the services for this call (queued messages are dropped at exit,"
                    + " sends are refused and their recipients stay queued, events are printed here)");
            // held for the call: a runtime starting meanwhile (its runtime file not written yet) would open the same
            // database beside this one, and this one beside it
            if (!settings.inMemory()) {
                try {
                    lock = DataDirLock.acquire(settings.dataDir());
                } catch (IllegalStateException e) {
                    err.println("invoke: a local runtime is starting on " + settings.dataDir() + "; try again once it is ready");
                    return 1;
                }
            }
            try {
                services = LocalServices.start(settings);
            } catch (RuntimeException e) {
                if (lock != null) lock.close();
                throw e;
            }
            Wiring bootstrap = LocalRuntime.wiring(settings.region(), services.dynamoEndpoint(), services.sqsEndpoint(), Map.of());
            var queues = new LinkedHashMap<String, ProvisionedQueue>();
            try {
                LocalRuntime.provision(new Provisioner(bootstrap.dynamo(), bootstrap.sqs()), queues);
            } finally {
                LocalRuntime.closeClients(bootstrap);
            }
            var queueUrls = ProvisionedQueue.urls(queues);
            // Webhook signatures are checked as a runtime on these settings would; with no emulator to send through,
            // sends are refused as by a carrier not configured (nothing is failed for it).
            wiring = withEmulator(settings, settings.region(), services.dynamoEndpoint(), services.sqsEndpoint(), queueUrls,
                    settings.publicBaseUrlFor(settings.port()), "http://127.0.0.1:" + settings.port())
                    .withCarrier(Wiring.NO_CARRIER)
                    .withEvents((topic, accountId, type, published) -> err.println("invoke: published to " + topic.wireName()
                            + ": " + Json.write(SnsEventPublisher.envelope(accountId, type, published))));
        }

        try {
            event = asStartUpKey(event, wiring);
            LocalFunction function = LocalFunctions.load(handler, wiring);
            PrintStream stdout = System.out;
            // Handlers log to System.out; keep stdout for the response alone.
            System.setOut(err);
            try {
                String response = function.invoke(event);
                out.println(response);
                return 0;
            } catch (FunctionError e) {
                out.println(errorDocument(e));
                return 1;
            } finally {
                System.setOut(stdout);
            }
        } finally {
            LocalRuntime.closeClients(wiring);
            if (runtimeEvents != null) runtimeEvents.close();
            try {
                if (services != null) services.close();
            } finally {
                if (lock != null) lock.close();
            }
        }
    }

    /** What the running runtime's own handlers have: its emulator as the carrier, its events endpoint as the topics. */
    static Wiring wiringFor(RuntimeFile r, LocalSettings settings, RuntimeEventPublisher events) {
        String publicBaseUrl = r.publicBaseUrl() != null ? r.publicBaseUrl()
                : settings.publicBaseUrlFor(URI.create(r.baseUrl()).getPort());
        return withEmulator(settings, r.region(), r.dynamoEndpoint(), r.sqsEndpoint(), r.queueUrls(), publicBaseUrl,
                r.baseUrl()).withEvents(events);
    }

    /**
     * Handlers' wiring whose carrier is the emulator a runtime serves at {@code emulatorBaseUrl} (with this process's
     * TWILIO_AUTH_TOKEN), and whose carrier webhooks are signed over {@code publicBaseUrl}.
     */
    private static Wiring withEmulator(LocalSettings settings, String region, URI dynamo, URI sqs, Map<String, String> queueUrls,
                                       String publicBaseUrl, String emulatorBaseUrl) {
        return LocalRuntime.wiring(region, dynamo, sqs, queueUrls, publicBaseUrl,
                new CarrierEmulator.Settings(settings.twilioAuthToken(), publicBaseUrl, emulatorBaseUrl).carrierSettings(),
                List.of());
    }

    /** Lambda's error response: {@code errorMessage}, {@code errorType}, {@code stackTrace}. */
    static String errorDocument(FunctionError error) {
        Throwable cause = error.getCause();
        var document = new LinkedHashMap<String, Object>();
        if (error.kind() == FunctionError.Kind.TIMEOUT || cause == null) {
            document.put("errorMessage", error.getMessage());
            document.put("errorType", "Runtime." + error.kind().name());
        } else {
            document.put("errorMessage", String.valueOf(cause.getMessage()));
            document.put("errorType", cause.getClass().getName());
            document.put("stackTrace", Arrays.stream(cause.getStackTrace()).map(StackTraceElement::toString).toList());
        }
        try {
            return JSON.std.asString(document);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
