package groupmsg.local.bench;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts AWS SDK requests by service and operation ({@code "DynamoDb GetItem"}). Counted in
 * {@link #beforeTransmission}, which runs once per attempt, so SDK retries count as the requests AWS bills.
 */
public final class RequestCounter implements ExecutionInterceptor {
    private final Map<String, Long> counts = new ConcurrentHashMap<>();

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        String key = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME) + " "
                + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        // merge is atomic per key, and a merge racing reset() lands wholly before or after it: nothing is lost.
        counts.merge(key, 1L, Long::sum);
    }

    /** The counts so far, sorted by key. */
    public Map<String, Long> snapshot() {
        return new TreeMap<>(counts);
    }

    public void reset() {
        counts.clear();
    }
}
