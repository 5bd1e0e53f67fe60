package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The EventBridge schedule of the maintenance handler: every interval it is invoked with a "Scheduled Event" as
 * EventBridge sends it. Runs never overlap (a slow run delays the next one, where EventBridge would start a second
 * concurrent invocation; the handler is idempotent either way).
 */
public final class MaintenanceTimer implements AutoCloseable {
    /** The rule name the stack gives the schedule; only used in the event's resources. */
    static final String RULE_NAME = "groupmsg-maintenance";

    private final LocalFunction maintenance;
    private final Duration interval;
    private final String region;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;

    public MaintenanceTimer(LocalFunction maintenance, Duration interval, String region, Clock clock) {
        this.maintenance = maintenance;
        this.interval = interval;
        this.region = region;
        this.clock = clock;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("maintenance").factory());
    }

    public MaintenanceTimer start() {
        long millis = interval.toMillis();
        scheduler.scheduleWithFixedDelay(this::runOnce, millis, millis, TimeUnit.MILLISECONDS);
        return this;
    }

    /** One scheduled invocation; failures are logged, as a failed scheduled Lambda run would be. */
    void runOnce() {
        try {
            maintenance.invoke(scheduledEvent(clock.instant(), region));
        } catch (FunctionError e) {
            LocalLog.error("maintenance_failed", Map.of("kind", e.kind().name()), e.getCause() != null ? e.getCause() : e);
        } catch (RuntimeException e) {
            LocalLog.error("maintenance_failed", Map.of(), e);
        }
    }

    /** EventBridge's scheduled event: time truncated to the second, as the rule fires on whole seconds. */
    static String scheduledEvent(Instant now, String region) {
        var event = new LinkedHashMap<String, Object>();
        event.put("version", "0");
        event.put("id", UUID.randomUUID().toString());
        event.put("detail-type", "Scheduled Event");
        event.put("source", "aws.events");
        event.put("account", LocalAws.ACCOUNT_ID);
        event.put("time", now.truncatedTo(ChronoUnit.SECONDS).toString());
        event.put("region", region);
        event.put("resources", List.of("arn:aws:events:" + region + ":" + LocalAws.ACCOUNT_ID + ":rule/" + RULE_NAME));
        event.put("detail", Map.of());
        try {
            return JSON.std.asString(event);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
