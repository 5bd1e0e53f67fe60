package groupmsg.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on DATA_DIR for the life of a runtime, taken before anything in it is read: a second runtime
 * started on the same DATA_DIR while the first is still starting (its runtime file is written only once it is ready)
 * would otherwise take the first's fresh run marker for a killed run's, open the same database file and recover the
 * same jobs beside it. The operating system drops the lock when the process dies, however it dies.
 */
final class DataDirLock implements AutoCloseable {
    static final String FILE = "runtime.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock; throws {@link IllegalStateException} when another runtime holds it. */
    static DataDirLock acquire(Path dataDir) {
        Path file = dataDir.resolve(FILE);
        FileChannel channel = null;
        try {
            Files.createDirectories(dataDir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                throw new IllegalStateException("another local runtime is using DATA_DIR " + dataDir
                        + " (starting, or running); stop it or choose another DATA_DIR");
            }
            return new DataDirLock(channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot lock " + file + " (DATA_DIR must be writable)", e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            LocalLog.warn("data_dir_unlock_failed", e);
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing releases the lock anyway
        }
    }
}
