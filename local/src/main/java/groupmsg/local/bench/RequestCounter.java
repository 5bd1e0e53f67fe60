package groupmsg.local.bench;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts AWS SDK requests by origin, service and operation ({@code "delivery-worker DynamoDb GetItem"}). The origin is
 * the local function whose invocation thread made the call ({@code fn-<name>-<requestId>}, see LocalFunction), or
 * {@code runtime} for the runtime's own event-source polling (what Lambda's pollers do in AWS). Threads a handler
 * starts are named after the invocation's thread ({@code fn-<name>-<requestId>/send-3}) and count as its own. Counted in
 * {@link #beforeTransmission}, which runs once per attempt, so SDK retries count as the requests AWS bills.
 */
public final class RequestCounter implements ExecutionInterceptor {
    private static final int REQUEST_ID_SUFFIX = 37; // "-" + a UUID

    private final Map<String, Long> counts = new ConcurrentHashMap<>();

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        String key = origin(Thread.currentThread().getName()) + " " + attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME)
                + " " + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        // merge is atomic per key, and a merge racing reset() lands wholly before or after it: nothing is lost.
        counts.merge(key, 1L, Long::sum);
    }

    static String origin(String threadName) {
        int child = threadName.indexOf('/');
        String invocation = child < 0 ? threadName : threadName.substring(0, child);
        if (invocation.startsWith("fn-") && invocation.length() > 3 + REQUEST_ID_SUFFIX) {
            return invocation.substring(3, invocation.length() - REQUEST_ID_SUFFIX);
        }
        return invocation.isEmpty() ? "other" : "runtime";
    }

    /** The counts so far, sorted by key ({@code origin service operation}). */
    public Map<String, Long> snapshot() {
        return new TreeMap<>(counts);
    }

    public void reset() {
        counts.clear();
    }
}
