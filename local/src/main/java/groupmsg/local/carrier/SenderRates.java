package groupmsg.local.carrier;

import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * How many messages per second the carrier takes from a sending number. The local runtime reads the line's
 * {@code mps} from its number reservation in the core table ({@code LINEPHONE#<phone> / LINEPHONE}); unknown
 * numbers get {@link #DEFAULT_MPS}.
 */
@FunctionalInterface
public interface SenderRates {
    /** A US long code's default rate (DESIGN.md, "Carriers"), and API.md's default for a line. */
    double DEFAULT_MPS = 1;

    /** The rate for {@code from}; a positive number. */
    double mps(String from);

    static SenderRates fixed(double mps) {
        if (!(mps > 0)) throw new IllegalArgumentException("mps must be positive");
        return from -> mps;
    }

    /**
     * Remembers each sender's rate for {@code ttl}: the lookup on every send was a DynamoDB Local GetItem per message
     * (about 6% of the runtime's CPU at 100 sends a second, measured). Once the ttl is over, the send is answered
     * with the rate it had while one lookup per sender runs on {@code refresher}: a send that waited for the
     * lookup waited behind DynamoDB Local's transactions (measured: 100-500 ms, several times in a 100 mps
     * pacing run), reached the sliding second late and bunched with the next ones, which the emulator then
     * refused. So a changed rate applies from the first send after the lookup that follows its ttl. A sender's
     * first lookup is made in the send; if it fails that send gets {@link #DEFAULT_MPS} (remembered, it would
     * hold a fast line to 1 mps); a failed refresh keeps the rate known before.
     */
    static SenderRates cached(SenderRates source, Duration ttl, LongSupplier nanoTime, Executor refresher) {
        record Known(double mps, long until) {}
        Map<String, Known> known = new ConcurrentHashMap<>();
        Set<String> refreshing = ConcurrentHashMap.newKeySet();
        long ttlNanos = ttl.toNanos();
        // The lookup, or null when it failed (logged).
        Function<String, Known> lookUp = from -> {
            try {
                return new Known(source.mps(from), nanoTime.getAsLong() + ttlNanos);
            } catch (RuntimeException e) {
                EmulatorLog.warn("sender_rate_lookup_failed", Map.of("from", from), e);
                return null;
            }
        };
        return from -> {
            Known k = known.get(from);
            if (k == null) {
                k = lookUp.apply(from);
                if (k == null) return DEFAULT_MPS;
                known.put(from, k);
            } else if (nanoTime.getAsLong() - k.until() >= 0 && refreshing.add(from)) {
                try {
                    refresher.execute(() -> {
                        try {
                            Known fresh = lookUp.apply(from);
                            if (fresh != null) known.put(from, fresh);
                        } finally {
                            refreshing.remove(from);
                        }
                    });
                } catch (RuntimeException notStarted) {
                    // e.g. rejected while shutting down: a later send tries again
                    refreshing.remove(from);
                }
            }
            return k.mps();
        };
    }

    /**
     * Looks the sender up in the core table (consistent read, so a rate change applies at the next lookup); throws
     * when the table cannot be read (see {@link #cached} for the fallback).
     */
    static SenderRates fromCoreTable(DynamoDbClient dynamo, String coreTable) {
        return from -> {
            Map<String, AttributeValue> item = dynamo.getItem(b -> b.tableName(coreTable).consistentRead(true)
                    .key(Map.of("pk", AttributeValue.fromS("LINEPHONE#" + from), "sk", AttributeValue.fromS("LINEPHONE")))
                    .projectionExpression("mps")).item();
            AttributeValue mps = item == null ? null : item.get("mps");
            if (mps == null || mps.n() == null) return DEFAULT_MPS;
            double value = Double.parseDouble(mps.n());
            return value > 0 ? value : DEFAULT_MPS;
        };
    }
}
