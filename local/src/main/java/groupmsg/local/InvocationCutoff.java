package groupmsg.local;

import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Cuts off the AWS calls of an invocation the local runtime abandoned at its timeout, as Lambda ends its sandbox: an
 * interrupt alone stopped one SDK call (the SDK clears the flag), and the handlers, which catch failures to log them
 * and go on, finished their work after the caller was told they had timed out (a queue job done twice, an HTTP
 * request answered 500 that committed). On the handlers' clients; the invocation's thread, and the threads it starts
 * ({@code SideBySide}'s), carry its flag. The carrier emulator's HTTP calls are not the SDK's and still go.
 */
final class InvocationCutoff implements ExecutionInterceptor {
    private final InheritableThreadLocal<AtomicBoolean> abandoned = new InheritableThreadLocal<>();

    /** Makes the calling thread, and those it starts from now on, the invocation that {@code flag} abandons. */
    void enter(AtomicBoolean flag) {
        abandoned.set(flag);
    }

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
        refuseIfAbandoned();
    }

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        refuseIfAbandoned(); // a retry's attempt too
    }

    private void refuseIfAbandoned() {
        AtomicBoolean flag = abandoned.get();
        if (flag != null && flag.get()) {
            throw SdkClientException.create("the invocation timed out: its AWS calls are cut off, as Lambda's would be");
        }
    }
}
