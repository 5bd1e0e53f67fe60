package groupmsg.local;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * Races made to happen: an interceptor ({@link LocalRuntime#wiringWith}) that runs a side effect once, just before
 * the first TransactWriteItems matching a predicate goes out (what another request would do in that window).
 */
public final class JustBefore {
    private JustBefore() {}

    public static ExecutionInterceptor transaction(Predicate<TransactWriteItemsRequest> matches, Runnable sideEffect) {
        var done = new AtomicBoolean();
        return new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest tx && matches.test(tx) && done.compareAndSet(false, true)) {
                    sideEffect.run();
                }
            }
        };
    }
}
