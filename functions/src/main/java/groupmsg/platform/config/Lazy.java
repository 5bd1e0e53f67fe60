package groupmsg.platform.config;

import java.util.function.Supplier;

/**
 * A value built on first use, once, however many threads ask. SDK clients are built this way so that a function
 * loads only the clients it calls (measured: an SNS client a function never uses costs a cold start ~200 classes);
 * {@link Priming} builds them all before a SnapStart snapshot.
 */
public final class Lazy<T> implements Supplier<T> {
    private final Supplier<T> build;
    private volatile T value;

    public Lazy(Supplier<T> build) {
        this.build = build;
    }

    @Override
    public T get() {
        T v = value;
        if (v == null) {
            synchronized (this) {
                v = value;
                if (v == null) value = v = build.get();
            }
        }
        return v;
    }

    /** Whether it has been built (for tests). */
    public boolean built() {
        return value != null;
    }
}
