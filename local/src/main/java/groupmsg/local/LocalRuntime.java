package groupmsg.local;

import groupmsg.accounts.AccountService;
import groupmsg.accounts.CreatedAccount;
import groupmsg.carrier.CarrierSettings;
import groupmsg.inbound.InboundService;
import groupmsg.local.carrier.CarrierEmulator;
import groupmsg.local.carrier.SenderRates;
import groupmsg.messages.MessageMaintenance;
import groupmsg.messages.OverdueReceipts;
import groupmsg.platform.config.AppConfig;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.QueueDef;
import groupmsg.notify.Topic;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The local runtime: the functions jar's handlers behind an API Gateway-like HTTP gateway, on embedded DynamoDB
 * Local and ElasticMQ provisioned from the same table and queue definitions as the stack, with an SQS event source
 * per queue and the maintenance schedule.
 *
 * <p>Two modes: with no arguments it serves until stopped (SIGTERM or Ctrl-C stop it cleanly);
 * {@code invoke <handler> <event.json>} runs one handler once (see {@link InvokeCommand}).
 * Tests start one in-process with {@link #start(LocalSettings)}; benchmarks add SDK interceptors with
 * {@link #start(LocalSettings, List)}.
 */
public final class LocalRuntime implements AutoCloseable {
    /** The SDK needs some credentials; DynamoDB Local and ElasticMQ accept any. */
    static final StaticCredentialsProvider LOCAL_CREDENTIALS =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local"));
    private static final String DEFAULT_ACCOUNT_NAME = "Default account";
    /** How long the carrier emulator trusts a sender's rate before it reads the line's mps again. */
    private static final Duration SENDER_RATE_TTL = Duration.ofSeconds(1);

    private final LocalSettings settings;
    private final LocalServices services;
    private final Wiring wiring;
    private final LocalFunctions functions;
    private final HttpGateway http;
    private final CarrierEmulator carrier;
    private final DynamoDbClient carrierDynamo;
    private final List<SqsPoller> pollers;
    private final MaintenanceTimer maintenance;
    private final CreatedAccount defaultAccount;
    private final boolean defaultKeyGenerated;
    private final Map<String, ProvisionedQueue> queues;
    private final Path runtimeFile;
    private final Path runMarker;
    private final DataDirLock dataDirLock;
    private final long startupMillis;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private LocalRuntime(Builder b) {
        this.settings = b.settings;
        this.services = b.services;
        this.wiring = b.wiring;
        this.functions = b.functions;
        this.http = b.http;
        this.carrier = b.carrier;
        this.carrierDynamo = b.carrierDynamo;
        this.pollers = List.copyOf(b.pollers);
        this.maintenance = b.maintenance;
        this.defaultAccount = b.defaultAccount;
        this.defaultKeyGenerated = b.defaultKeyGenerated;
        this.queues = Map.copyOf(b.queues);
        this.runtimeFile = b.runtimeFile;
        this.runMarker = b.runMarker;
        this.dataDirLock = b.dataDirLock;
        this.startupMillis = b.startupMillis;
    }

    /** Collects the parts while starting, so a failure part-way can stop exactly what was started. */
    private static final class Builder {
        LocalSettings settings;
        LocalServices services;
        Wiring wiring;
        LocalFunctions functions;
        HttpGateway http;
        CarrierEmulator carrier;
        DynamoDbClient carrierDynamo;
        final List<SqsPoller> pollers = new ArrayList<>();
        MaintenanceTimer maintenance;
        CreatedAccount defaultAccount;
        boolean defaultKeyGenerated;
        final Map<String, ProvisionedQueue> queues = new LinkedHashMap<>();
        Path runtimeFile;
        Path runMarker;
        DataDirLock dataDirLock;
        /** The marker is this start's own (none was left by a killed run), and no saved job was taken out yet. */
        boolean markerRemovableOnAbort;
        long startupMillis;

        void abort() {
            // A start that failed before it touched any job (a port in use, a bad setting) is no kill: its marker
            // would make the next start re-queue the last day's jobs as lost.
            if (runMarker != null && markerRemovableOnAbort) {
                try {
                    Files.deleteIfExists(runMarker);
                } catch (java.io.IOException e) {
                    LocalLog.error("run_marker_not_removed", Map.of("path", runMarker.toString()), e);
                }
            }
            if (http != null) http.close();
            if (carrier != null) carrier.close();
            if (carrierDynamo != null) carrierDynamo.close();
            if (maintenance != null) maintenance.close();
            pollers.forEach(SqsPoller::close);
            if (wiring != null) closeClients(wiring);
            try {
                if (services != null) services.close();
            } finally {
                if (dataDirLock != null) dataDirLock.close();
            }
        }
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("invoke")) {
            int code;
            try {
                code = InvokeCommand.run(Arrays.copyOfRange(args, 1, args.length), System.getenv(), System.out, System.err);
            } catch (RuntimeException e) {
                LocalLog.error("invoke_failed", Map.of(), e);
                code = 1;
            }
            // Exit explicitly: embedded services may leave non-daemon threads behind.
            System.exit(code);
        }
        if (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help"))) {
            printUsage(System.out);
            return;
        }
        if (args.length > 0) {
            System.err.println("unknown argument: " + args[0]);
            printUsage(System.err);
            System.exit(2);
        }
        LocalRuntime runtime;
        try {
            runtime = start(LocalSettings.fromEnvironment(System.getenv()));
        } catch (IllegalStateException | IllegalArgumentException | UncheckedIOException e) {
            // Problems the user can fix (port in use, bad setting, DATA_DIR in use): the message says how.
            System.err.println("local runtime did not start: " + e.getMessage());
            System.exit(1);
            return;
        } catch (RuntimeException e) {
            LocalLog.error("start_failed", Map.of(), e);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(runtime::close, "local-runtime-shutdown"));
        runtime.printBanner(System.out);
        runtime.awaitStop();
    }

    /** Starts everything and returns once the runtime answers HTTP requests. */
    public static LocalRuntime start(LocalSettings settings) {
        return start(settings, List.of());
    }

    /**
     * ... with extra SDK interceptors on the handlers' clients (e.g. a benchmark's request counter). Provisioning
     * and the carrier emulator use clients of their own, so interceptors see only the application's requests.
     */
    public static LocalRuntime start(LocalSettings settings, List<ExecutionInterceptor> interceptors) {
        if (settings.inMemory() && settings.dynamoEndpoint() != null) {
            // The tables would outlive the runtime but nothing else would: the queues' jobs, the restart's recovery,
            // the emulated carrier's records (a send whose answer a restart lost would be looked up there, not found,
            // and sent again) and the DATA_DIR lock that keeps a second runtime off the same tables.
            throw new IllegalStateException("DATA_DIR=memory keeps nothing, but DYNAMODB_ENDPOINT's tables outlive the runtime:"
                    + " give a DATA_DIR, where what the queues and the emulated carrier hold is kept beside them");
        }
        long started = System.nanoTime();
        // The JDK HttpServer (gateway, carrier emulator) silently closes keep-alive connections once 200 are idle
        // and after 30 s idle, the same as the JDK HttpClient's keep-alive. Under a burst of webhooks the Twilio
        // adapter could then POST on a connection the server just closed ("outcome unknown"); give it room.
        if (System.getProperty("sun.net.httpserver.maxIdleConnections") == null) {
            System.setProperty("sun.net.httpserver.maxIdleConnections", "10000");
        }
        if (System.getProperty("sun.net.httpserver.idleInterval") == null) {
            System.setProperty("sun.net.httpserver.idleInterval", "60");
        }
        Instant startedAt = Instant.now();
        var b = new Builder();
        b.settings = settings;
        try {
            // The run marker (or a runtime file) left behind: the last run did not stop cleanly (kill -9, a crash, even
            // during its start), and its queues' jobs are gone.
            boolean lastRunKilled = false;
            if (!settings.inMemory()) {
                b.dataDirLock = DataDirLock.acquire(settings.dataDir());
                Path marker = settings.dataDir().resolve(RUN_MARKER);
                lastRunKilled = Files.exists(marker) || RuntimeFile.read(RuntimeFile.pathIn(settings.dataDir())).isPresent();
                b.runtimeFile = refuseIfAlreadyRunning(settings.dataDir());
                markRunning(marker);
                b.runMarker = marker;
                b.markerRemovableOnAbort = !lastRunKilled;
            }
            // Bound (not yet serving) first: the carrier adapter's base URL is this runtime's own address.
            b.http = bindHttp(settings.port());
            String publicBaseUrl = settings.publicBaseUrlFor(b.http.port());
            var carrierSettings = new CarrierEmulator.Settings(settings.twilioAuthToken(), publicBaseUrl,
                    "http://127.0.0.1:" + b.http.port());
            b.services = LocalServices.start(settings);
            long servicesReady = System.nanoTime();

            // Clients for provisioning only: the handlers' wiring needs the queue URLs provisioning produces.
            Wiring bootstrap = wiring(settings.region(), b.services.dynamoEndpoint(), b.services.sqsEndpoint(), Map.of());
            try {
                provision(new Provisioner(bootstrap.dynamo(), bootstrap.sqs()), b.queues);
            } finally {
                closeClients(bootstrap);
            }
            var queueUrls = ProvisionedQueue.urls(b.queues);
            // The production Twilio adapter, pointed at the emulator this runtime serves.
            var cutoff = new InvocationCutoff();
            var handlerInterceptors = new java.util.ArrayList<>(interceptors);
            handlerInterceptors.add(cutoff);
            b.wiring = wiring(settings.region(), b.services.dynamoEndpoint(), b.services.sqsEndpoint(), queueUrls,
                    publicBaseUrl, carrierSettings.carrierSettings(), handlerInterceptors);
            // Events: recorded for GET /local/events, and also published to SNS_ENDPOINT's topics when it is set.
            // ... and, as the deployed integrations topic's subscription does, its events are sent to the webhooks
            // queue (raw, as published); group messages (notifications) are not forwarded to integrations
            String webhooksQueue = queueUrls.get(Queues.WEBHOOKS.name());
            var sqs = b.wiring.sqs();
            var events = RecordingEventPublisher.start(b.wiring.config(), settings.snsEndpoint(), LOCAL_CREDENTIALS)
                    .deliveringTo(Topic.INTEGRATIONS, message -> sqs.sendMessage(m -> m.queueUrl(webhooksQueue).messageBody(message)));
            b.wiring = b.wiring.withEvents(events);

            long provisioned = System.nanoTime();
            b.functions = LocalFunctions.load(Handlers.ALL, b.wiring, cutoff);
            long handlersLoaded = System.nanoTime();
            var accounts = new AccountService(b.wiring);
            b.defaultKeyGenerated = settings.localApiKey() == null;
            b.defaultAccount = accounts.bootstrapDefaultAccount(DEFAULT_ACCOUNT_NAME, settings.localApiKey());

            var gateway = ApiGateway.forAllRoutes(b.functions, settings.region(), b.wiring.clock());
            var endpoints = new LocalEndpoints(b.wiring.dynamo(), b.wiring.sqs(), accounts, b.functions,
                    b.wiring.clock(), startedAt, events);
            // Each sender's rate is its line's mps (LINEPHONE reservation in the core table), else 1 per second,
            // looked up at most once a second per sender, off the send's path once known.
            // The emulator stands in for Twilio: its line-rate lookup on every send is not an application request.
            b.carrierDynamo = localDynamo(settings.region(), b.services.dynamoEndpoint());
            b.carrier = new CarrierEmulator(carrierSettings, SenderRates.cached(SenderRates.fromCoreTable(b.carrierDynamo,
                    b.wiring.config().table(Tables.CORE)), SENDER_RATE_TTL, System::nanoTime,
                    refresh -> Thread.ofVirtual().name("sender-rate-lookup").start(refresh)), b.wiring.clock());
            if (!settings.inMemory()) {
                // What the emulated carrier took outlives the runtime, as a real carrier's records do: the restart
                // sweep below asks it about sends whose answers the last run lost.
                int kept = b.carrier.keepMessagesIn(settings.dataDir());
                if (kept > 0) LocalLog.info("carrier_messages_kept", Map.of("messages", kept));
            }
            var localRoutes = new LinkedHashMap<String, HttpGateway.LocalEndpoint>(endpoints.routes());
            localRoutes.putAll(b.carrier.localRoutes());
            // Only ElasticMQ in this JVM forgets its queues (an external SQS_ENDPOINT keeps them): what they held at
            // the last stop goes back before any request can add to a FIFO group behind it.
            boolean queuesForgotten = queuesForgotten(settings, b.services);
            if (queuesForgotten) {
                b.markerRemovableOnAbort = false;
                restoreQueues(b.wiring, b.queues, settings.dataDir());
            }
            // The API waits for the recovery below (a message accepted meanwhile would overtake the relays it
            // recovers); the emulator's routes, which the recovery asks, are served.
            if (queuesForgotten) b.http.holdApi();
            b.http.acceptPublicHost(publicBaseUrl, LocalSettings.DEFAULT_TWILIO_AUTH_TOKEN.equals(settings.twilioAuthToken()));
            b.http.serve(gateway, localRoutes, b.carrier.restRoutes());

            // Before the pollers: what the last run left is queued again first, oldest first, so that nothing newer
            // (a relay re-sent by a reply's job, a message accepted meanwhile) reaches the phones ahead of it.
            if (queuesForgotten) recoverJobsLostInRestart(b.wiring, startedAt, lastRunKilled);
            b.http.openApi();
            for (QueueDef queue : Queues.ALL) {
                b.pollers.add(new SqsPoller(b.wiring.sqs(), b.queues.get(queue.name()), queue.batchSize(),
                        Duration.ofSeconds(queue.batchingWindowSeconds()), queue.maxConcurrency(),
                        b.functions.get(queue.consumer()), settings.region()).start());
            }
            if (queuesForgotten && lastRunKilled) settleReceiptsLostInKill(b.wiring, startedAt);
            if (settings.maintenanceInterval() != null) {
                b.maintenance = new MaintenanceTimer(b.functions.get(Handlers.MAINTENANCE.name()),
                        settings.maintenanceInterval(), settings.region(), b.wiring.clock()).start();
            }
            b.startupMillis = millisSince(started);
            var phases = new LinkedHashMap<String, Object>();
            phases.put("servicesMs", (servicesReady - started) / 1_000_000);
            phases.put("provisioningMs", (provisioned - servicesReady) / 1_000_000);
            phases.put("handlersMs", (handlersLoaded - provisioned) / 1_000_000);
            phases.put("totalMs", b.startupMillis);
            LocalLog.info("started", phases);
            if (b.runtimeFile != null) {
                new RuntimeFile(ProcessHandle.current().pid(), startedAt.toString(), "http://127.0.0.1:" + b.http.port(),
                        settings.region(), b.services.dynamoEndpoint(), b.services.sqsEndpoint(), settings.snsEndpoint(),
                        queueUrls, publicBaseUrl).write(b.runtimeFile);
            }
            return new LocalRuntime(b);
        } catch (RuntimeException | Error e) {
            b.abort();
            throw e;
        }
    }

    /** Present in DATA_DIR from a start to its clean stop: found at a start, the last run was killed or crashed. */
    static final String RUN_MARKER = "running.marker";

    private static void markRunning(Path marker) {
        try {
            Files.createDirectories(marker.getParent());
            Files.writeString(marker, ProcessHandle.current().pid() + "\n");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + marker + " (DATA_DIR must be writable)", e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (java.io.IOException e) {
            LocalLog.error("run_marker_not_deleted", Map.of("file", file.toString()), e);
        }
    }

    /**
     * A clean stop kept the receipts queued in its snapshot; a kill lost them, so the rows they were for are still
     * {@code sent}: the carrier is asked about them now rather than an hour on ({@link OverdueReceipts}). Run once the
     * pollers are started: receipts only move rows forward, so nothing needs to wait for this.
     */
    private static void settleReceiptsLostInKill(Wiring wiring, Instant startedAt) {
        try {
            var receipts = new OverdueReceipts(wiring).sweepAfterJobsLost(startedAt.toEpochMilli());
            if (((Number) receipts.get("receiptsSettledByCarrier")).intValue() > 0) LocalLog.info("restart_receipts_settled", receipts);
        } catch (RuntimeException e) {
            LocalLog.error("restart_receipts_not_checked", Map.of(), e);
        }
    }

    /** How far back a start after a kill looks for inbound messages whose handling never finished. */
    static final java.time.Duration UNFINISHED_INBOUND_LOOKBACK = java.time.Duration.ofDays(1);

    /**
     * The tables on disk outlive a restart, the queues (in memory) do not: a group message that was sending when the
     * last run stopped has rows queued with no job left to send them, which maintenance would only notice ten
     * minutes on. They are enqueued again now (a message's fan-out too); see {@link MessageMaintenance#sweepAfterJobsLost}.
     */
    private static void recoverJobsLostInRestart(Wiring wiring, Instant startedAt, boolean lastRunKilled) {
        // The messages first (a conversation's unfinished relays, oldest first), then the replies and keywords: a
        // reply's job may send its relay again, which must come after the older relays of its conversation.
        if (lastRunKilled) {
            // before the sweep below can complete any: the messages still sending get their receipt checks now
            try {
                int checks = new OverdueReceipts(wiring).checkMessagesSendingAtKill(startedAt.toEpochMilli());
                if (checks > 0) LocalLog.info("restart_receipt_checks", Map.of("messagesSending", checks));
            } catch (RuntimeException e) {
                LocalLog.error("restart_receipt_checks_not_written", Map.of(), e);
            }
        }
        var maintenance = new MessageMaintenance(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()));
        try {
            // the places the lost jobs held: before the sweep sends jobs again (no worker runs yet to take new ones)
            var lines = maintenance.forgetPlacesLostWithTheJobs(new groupmsg.lines.LineService(wiring)::forgetWaitingLine);
            if (!lines.isEmpty()) LocalLog.info("restart_waiting_lines_reset", Map.of("lines", lines.size()));
        } catch (RuntimeException e) {
            LocalLog.error("restart_waiting_lines_not_reset", Map.of(), e);
        }
        try {
            var summary = maintenance.sweepAfterJobsLost(startedAt.toEpochMilli());
            int recovered = 0;
            for (String count : List.of("deliveriesRequeued", "fanoutsRedriven", "deliveriesSettledByCarrier",
                    "deliveriesNotSentRequeued", "relaysRedriven")) {
                recovered += ((Number) summary.get(count)).intValue();
            }
            if (recovered > 0) {
                LocalLog.info("restart_recovered", summary);
            }
        } catch (RuntimeException e) {
            // the scheduled maintenance still finds them, later
            LocalLog.error("restart_recovery_failed", Map.of(), e);
        }
        if (lastRunKilled) {
            // a clean stop kept the inbound and keyword jobs in its snapshot; a kill lost them, and nothing else redrives them
            try {
                int inbound = new InboundService(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()))
                        .requeueUnfinished(startedAt.minus(UNFINISHED_INBOUND_LOOKBACK).toEpochMilli(), startedAt.toEpochMilli());
                if (inbound > 0) LocalLog.info("restart_inbound_requeued", Map.of("messages", inbound));
            } catch (RuntimeException e) {
                LocalLog.error("restart_inbound_not_requeued", Map.of(), e);
            }
        }
    }


    /**
     * Whether a restart loses what the queues hold (ElasticMQ in this JVM) while the tables keep theirs (on disk): then
     * the queues are saved at a stop and restored, and the start re-drives what a crash lost.
     */
    private static boolean queuesForgotten(LocalSettings settings, LocalServices services) {
        return !settings.inMemory() && services.sqsEmbedded();
    }

    /** Sends again what the queues held when the last run stopped (see {@link QueueSnapshot}). */
    private static void restoreQueues(Wiring wiring, Map<String, ProvisionedQueue> queues, Path dataDir) {
        try {
            int restored = QueueSnapshot.restore(wiring.sqs(), queues, QueueSnapshot.pathIn(dataDir));
            if (restored > 0) LocalLog.info("queues_restored", Map.of("messages", restored));
        } catch (RuntimeException e) {
            // the file stays for the next start; the restart's sweep still re-drives group messages
            LocalLog.error("queues_restore_failed", Map.of(), e);
        }
    }

    /** Keeps what the queues still hold for the next start (see {@link QueueSnapshot}). */
    private void saveQueues() {
        try {
            int saved = QueueSnapshot.save(wiring.sqs(), List.copyOf(queues.values()), QueueSnapshot.pathIn(settings.dataDir()));
            if (saved > 0) LocalLog.info("queues_saved", Map.of("messages", saved));
        } catch (RuntimeException e) {
            LocalLog.error("queues_save_failed", Map.of(), e);
        }
    }

    private static long millisSince(long nanoTime) {
        return (System.nanoTime() - nanoTime) / 1_000_000;
    }

    /** Creates every table and queue of the definitions (idempotent); fills {@code queues} by logical name. */
    static void provision(Provisioner provisioner, Map<String, ProvisionedQueue> queues) {
        // Tables and queues are independent: provisioning them side by side saves about a second of start-up,
        // most of it first-call class loading in the SDK and the embedded servers.
        var tables = CompletableFuture.runAsync(() -> {
            for (TableDef table : Tables.ALL) provisioner.ensureTable(table, table.name());
        }, task -> Thread.ofPlatform().name("provision-tables").start(task));
        try {
            for (QueueDef queue : Queues.ALL) queues.put(queue.name(), provisioner.ensureQueue(QueueSpec.of(queue)));
        } finally {
            try {
                tables.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
    }

    /** The one Wiring every handler gets: local endpoints, tables under their logical names. */
    static Wiring wiring(String region, URI dynamo, URI sqs, Map<String, String> queueUrls) {
        return wiring(region, dynamo, sqs, queueUrls, null, null, List.of());
    }

    /**
     * ... with the public base URL and the carrier (the runtime's own emulator), null for neither, and extra SDK
     * interceptors on every client.
     */
    static Wiring wiring(String region, URI dynamo, URI sqs, Map<String, String> queueUrls, String publicBaseUrl,
                         CarrierSettings carrier, List<ExecutionInterceptor> interceptors) {
        var tables = new LinkedHashMap<String, String>();
        for (TableDef table : Tables.ALL) tables.put(table.name(), table.name());
        // webhooks may point at this machine: receivers of a local run (tests, a developer's) listen on localhost
        var config = new AppConfig(region, dynamo, sqs, tables, queueUrls).withWebhooksToLoopback();
        if (publicBaseUrl != null || carrier != null) config = config.withCarrier(publicBaseUrl, carrier);
        return Wiring.create(config, LOCAL_CREDENTIALS, interceptors);
    }

    /** A plain DynamoDB client for the runtime's own bookkeeping (no interceptors). */
    static DynamoDbClient localDynamo(String region, URI endpoint) {
        return DynamoDbClient.builder().httpClient(UrlConnectionHttpClient.create()).region(Region.of(region))
                .credentialsProvider(LOCAL_CREDENTIALS).endpointOverride(endpoint).build();
    }

    static void closeClients(Wiring wiring) {
        wiring.dynamo().close();
        wiring.sqs().close();
        if (wiring.events() instanceof RecordingEventPublisher events) events.close();
    }

    private static Path refuseIfAlreadyRunning(Path dataDir) {
        Path file = RuntimeFile.pathIn(dataDir);
        Optional<RuntimeFile> existing = RuntimeFile.read(file);
        if (existing.isPresent() && existing.get().runtimeIsUp()) {
            throw new IllegalStateException("another local runtime (pid " + existing.get().pid() + ", "
                    + existing.get().baseUrl() + ") is using DATA_DIR " + dataDir + "; stop it or choose another DATA_DIR");
        }
        // A file left behind by a runtime that was killed: it is replaced once this one is ready.
        return file;
    }

    private static HttpGateway bindHttp(int port) {
        try {
            return HttpGateway.bind(port);
        } catch (BindException e) {
            throw new IllegalStateException("port " + port + " on 127.0.0.1 is in use; set PORT to another port", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the HTTP server on port " + port, e);
        }
    }

    // ---------------------------------------------------------------- the handle tests and tools use

    /** Where to send requests: {@code http://127.0.0.1:<port>}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + http.port();
    }

    public int port() {
        return http.port();
    }

    /** The URL webhooks are signed over ({@code PUBLIC_BASE_URL}, default {@code http://localhost:<port>}). */
    public String publicBaseUrl() {
        return settings.publicBaseUrlFor(http.port());
    }

    /** The owner key of the default account (LOCAL_API_KEY, or the one generated at start). */
    public String defaultApiKey() {
        return defaultAccount.apiKey();
    }

    public String defaultAccountId() {
        return defaultAccount.accountId();
    }

    /** The wiring every handler was built with (same clients, tables and queue URLs). */
    public Wiring wiring() {
        return wiring;
    }

    /**
     * Clients of this runtime's services of their own, with {@code interceptors} on every SDK request (tests: count
     * requests, fail or change some); the system clock, the configured carrier and the recorded topics, as
     * {@link #wiring()}.
     */
    public Wiring wiringWith(ExecutionInterceptor... interceptors) {
        return Wiring.create(wiring.config(), LOCAL_CREDENTIALS, List.of(interceptors)).withEvents(wiring.events());
    }

    public LocalSettings settings() {
        return settings;
    }

    /** The carrier emulator the runtime serves (and its production Twilio adapter talks to). */
    public CarrierEmulator carrierEmulator() {
        return carrier;
    }

    public LocalFunctions functions() {
        return functions;
    }

    /** The provisioned queues by logical name (url, arn, dead-letter queue). */
    public Map<String, ProvisionedQueue> queues() {
        return queues;
    }

    public URI dynamoEndpoint() {
        return services.dynamoEndpoint();
    }

    public URI sqsEndpoint() {
        return services.sqsEndpoint();
    }

    public long startupMillis() {
        return startupMillis;
    }

    /**
     * Waits until the runtime has nothing in hand: no queue has a message being handled or visible (one that failed
     * and waits out its visibility timeout, or one sent with a delay, is work later, not now), and the carrier
     * emulator has no status callback or inbound webhook to post. Seen so twice in a row, 50 ms apart (a message
     * moves from a poller's hands into the next queue within one check). A test waits for this before it checks
     * that something did not happen, instead of sleeping.
     *
     * @throws IllegalStateException when still busy after {@code patience}, naming what was busy
     */
    public void awaitIdle(Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        int idleChecks = 0;
        while (true) {
            String busy = busyPart();
            if (busy == null && ++idleChecks == 2) return;
            if (busy != null) {
                idleChecks = 0;
                if (System.nanoTime() > deadline) throw new IllegalStateException("still busy after " + patience + ": " + busy);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the runtime to be idle", e);
            }
        }
    }

    /** {@link #awaitIdle(Duration)} with half a minute's patience. */
    public void awaitIdle() {
        awaitIdle(Duration.ofSeconds(30));
    }

    /** The first part found busy, null when none is. */
    private String busyPart() {
        if (carrier != null && !carrier.idle()) return "the carrier emulator's callbacks and inbound webhooks";
        for (SqsPoller poller : pollers) {
            if (!poller.idle()) return poller.describe();
        }
        return null;
    }

    /** Blocks until {@link #close()} has finished (the shutdown hook calls it on SIGTERM). */
    public void awaitStop() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops in dependency order: no new scheduled runs; pollers finish their batch (or, interrupted, wind it down)
     * while the HTTP server still answers, since the carrier emulator's REST API and the webhooks are served there
     * (closed first, it turned the sends of the wind-down into "carrier unreachable", and four of those fail a
     * recipient for good); then no new requests, the emulator, what the queues still hold kept for the next start,
     * and the services the handlers use. Safe to call more than once.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            if (maintenance != null) maintenance.close();
            // Signal every poller first so they wind down together rather than one after another.
            pollers.forEach(SqsPoller::requestStop);
            pollers.forEach(SqsPoller::close);
            http.close();
            carrier.close();
            carrierDynamo.close();
            // after the gateway: a job a last request enqueued is kept too
            if (queuesForgotten(settings, services)) saveQueues();
            if (runtimeFile != null) RuntimeFile.delete(runtimeFile);
            if (runMarker != null) deleteQuietly(runMarker); // a clean stop: the next start has nothing to recover
            closeClients(wiring);
            services.close();
            LocalLog.info("stopped", Map.of());
        } finally {
            if (dataDirLock != null) dataDirLock.close();
            stopped.countDown();
        }
    }

    // ---------------------------------------------------------------- console

    public void printBanner(PrintStream out) {
        String url = "http://localhost:" + http.port();
        out.println();
        out.println("groupmsg local runtime ready in " + startupMillis + " ms");
        out.println("  API        " + url + "   (listening on 127.0.0.1:" + http.port() + ")");
        // A key the user supplied is not printed back (logs and screen shares keep what a banner shows).
        out.println("  API key    " + (defaultKeyGenerated ? defaultApiKey() + "   (owner of " + defaultAccountId()
                + ", generated now, replacing the one the last start generated; set LOCAL_API_KEY to keep one across restarts)"
                : "$LOCAL_API_KEY   (owner of " + defaultAccountId() + ")"));
        out.println("  Data       " + (settings.inMemory() ? "in memory (DATA_DIR=memory)" : settings.dataDir().toString()));
        out.println("  DynamoDB   " + services.dynamoEndpoint() + (services.dynamoEmbedded() ? "   (embedded DynamoDB Local)" : "   (external)"));
        out.println("  SQS        " + services.sqsEndpoint() + (services.sqsEmbedded() ? "   (embedded ElasticMQ)" : "   (external)"));
        out.println("  Webhooks   signed over " + publicBaseUrl());
        out.println("  Carrier    Twilio emulator " + url + "/2010-04-01/Accounts/" + carrier.settings().accountSid()
                + "/Messages.json   (sent: " + url + "/local/carrier/messages)");
        out.println("  Events     " + url + "/local/events?topic=notifications|integrations"
                + (settings.snsEndpoint() != null ? "   (also published to SNS at " + settings.snsEndpoint() + ")" : ""));
        for (LocalFunction f : functions.all()) {
            if (!f.initialised()) out.println("  WARNING    handler " + f.name() + " failed to load; its routes answer 500");
        }
        out.println();
        out.println(defaultKeyGenerated ? "  curl -H 'Authorization: Bearer " + defaultApiKey() + "' " + url + "/v1/groups"
                : "  curl -H \"Authorization: Bearer $LOCAL_API_KEY\" " + url + "/v1/groups");
        out.println();
        out.flush();
    }

    static void printUsage(PrintStream out) {
        out.println("usage: bin/local                            start the local runtime");
        out.println("       bin/local invoke <handler> <event.json>  run one handler once and print its response");
        out.println();
        out.println("handlers: " + String.join(", ", Handlers.ALL.stream().map(HandlerDef::name).toList()));
        out.println("environment: PORT, DATA_DIR (or 'memory'), PUBLIC_BASE_URL, TWILIO_AUTH_TOKEN, LOCAL_API_KEY,");
        out.println("             DYNAMODB_ENDPOINT, SQS_ENDPOINT, SNS_ENDPOINT, AWS_REGION");
    }
}
