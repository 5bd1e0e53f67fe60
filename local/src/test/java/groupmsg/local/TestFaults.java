package groupmsg.local;

import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException;

import java.util.function.Predicate;

/** SDK interceptors that fault, or count, the requests a test picks (give them to {@link LocalRuntime#wiringWith}). */
public final class TestFaults {
    private TestFaults() {}

    /** Throttles (as DynamoDB does, after the SDK's retries) the requests {@code matching} picks. */
    public static ExecutionInterceptor throttling(Predicate<SdkRequest> matching) {
        return new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (matching.test(context.request())) {
                    throw ProvisionedThroughputExceededException.builder().message("throttled (test)").build();
                }
            }
        };
    }

    /** Counts every request into {@code requests} (no fault: what a test asserts was not even tried). */
    public static ExecutionInterceptor counting(java.util.concurrent.atomic.AtomicInteger requests) {
        return counting(requests, request -> true);
    }

    /** Counts the requests {@code matching} picks in {@code requests}. */
    public static ExecutionInterceptor counting(java.util.concurrent.atomic.AtomicInteger requests, Predicate<SdkRequest> matching) {
        return new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (matching.test(context.request())) requests.incrementAndGet();
            }
        };
    }

    /** Holds each request {@code matching} picks for {@code millis} before it goes (a throttle's backoffs, say). */
    public static ExecutionInterceptor slowing(Predicate<SdkRequest> matching, long millis) {
        return slowing(matching, millis, new java.util.concurrent.atomic.AtomicInteger());
    }

    /** ... and counts into {@code ended} each of those that has ended (answered or failed): what a test waits for. */
    public static ExecutionInterceptor slowing(Predicate<SdkRequest> matching, long millis,
                                               java.util.concurrent.atomic.AtomicInteger ended) {
        return new ExecutionInterceptor() {
            @Override
            public void afterExecution(Context.AfterExecution context, ExecutionAttributes attributes) {
                if (matching.test(context.request())) ended.incrementAndGet();
            }

            @Override
            public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes attributes) {
                if (matching.test(context.request())) ended.incrementAndGet();
            }

            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (!matching.test(context.request())) return;
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }
}
