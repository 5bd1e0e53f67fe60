package groupmsg.platform;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs a batch's tasks each on its own virtual thread and waits for all of them: tasks that wait on the network (a
 * carrier, an endpoint, DynamoDB) take as long together as the slowest, not their sum. Each task's outcome is given
 * back in the order of its item, for the caller to tell its failures apart.
 */
public final class SideBySide {
    private SideBySide() {}

    /** What one task came to. */
    public sealed interface Outcome<R> permits Done, Failed, Interrupted {}

    /** It returned {@code value} (null for a task with nothing to give back). */
    public record Done<R>(R value) implements Outcome<R> {}

    /** It threw {@code cause}. */
    public record Failed<R>(Throwable cause) implements Outcome<R> {}

    /** The waiting thread was interrupted before it knew (its interrupt flag is set again). */
    public record Interrupted<R>() implements Outcome<R> {}

    @FunctionalInterface
    public interface Task<T, R> {
        R run(T item) throws Exception;
    }

    /**
     * @param threadSuffix added to the calling thread's name, with a counter, to name each task's thread (so a log
     *                     line's thread says which batch it belongs to)
     * @return one outcome per item, in their order, once every task has ended
     */
    public static <T, R> List<Outcome<R>> run(List<T> items, String threadSuffix, Task<T, R> task) {
        List<Future<R>> running = new ArrayList<>(items.size());
        try (ExecutorService pool = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name(Thread.currentThread().getName() + threadSuffix, 0).factory())) {
            for (T item : items) running.add(pool.submit(() -> task.run(item)));
        }
        List<Outcome<R>> outcomes = new ArrayList<>(running.size());
        for (Future<R> future : running) outcomes.add(outcome(future));
        return outcomes;
    }

    /**
     * What a task gave back, or what it threw as an unchecked exception (a checked one wrapped): for a caller whose
     * tasks must all succeed. An interrupted wait is an IllegalStateException.
     */
    public static <R> R valueOrThrow(Outcome<R> outcome) {
        return switch (outcome) {
            case Done<R> done -> done.value();
            case Failed<R> failed -> throw failed.cause() instanceof RuntimeException e ? e
                    : new IllegalStateException(failed.cause());
            case Interrupted<R> interrupted -> throw new IllegalStateException("interrupted");
        };
    }

    private static <R> Outcome<R> outcome(Future<R> future) {
        try {
            return new Done<>(future.get());
        } catch (ExecutionException e) {
            return new Failed<>(e.getCause());
        } catch (InterruptedException | CancellationException e) {
            Thread.currentThread().interrupt();
            return new Interrupted<>();
        }
    }
}
