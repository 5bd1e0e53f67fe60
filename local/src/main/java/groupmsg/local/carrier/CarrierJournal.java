package groupmsg.local.carrier;

import com.fasterxml.jackson.jr.ob.JSON;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the emulator accepted and what became of it, kept in {@code DATA_DIR} so that it outlives the runtime as a
 * real carrier's records outlive a crash of its client: after a {@code kill -9}, the application asks the carrier
 * which of the sends it lost the answers to were made (see {@code MessageMaintenance}), and the emulator must still
 * know. One JSON object per line: a message when it is accepted, then each status it reaches. Every line is written
 * by one unbuffered write before the emulator answers, so a killed process has lost none it answered for (not
 * synced to the disk: an operating system crash can lose the last lines); a line cut off by the kill is skipped on
 * reading. Opening rewrites the file as one line per message, dropping those older than {@link #RETENTION}.
 */
final class CarrierJournal implements AutoCloseable {
    static final String FILE_NAME = "carrier-messages.jsonl";

    private final Path file;
    private final FileOutputStream out;

    private CarrierJournal(Path file, FileOutputStream out) {
        this.file = file;
        this.out = out;
    }

    static Path pathIn(Path dataDir) {
        return dataDir.resolve(FILE_NAME);
    }

    /** The journal and the messages it held (oldest first, each with the last status it reached). */
    record Opened(CarrierJournal journal, List<EmulatedMessage> messages, int skippedLines) {}

    /** How long a message is kept: far longer than any lookup looks back (minutes), short enough to stay small. */
    static final Duration RETENTION = Duration.ofDays(30);

    /**
     * Reads the file (if any), rewrites it compacted (one line per message, none older than {@link #RETENTION}
     * before {@code now}), and opens it for appending.
     */
    static Opened open(Path file, Instant now) {
        Map<String, EmulatedMessage> bySid = new LinkedHashMap<>();
        int skipped = 0;
        try {
            if (Files.exists(file)) {
                // line by line from the bytes, each decoded on its own: a kill can cut a line inside a character
                byte[] bytes = Files.readAllBytes(file);
                for (int start = 0, end; start < bytes.length; start = end + 1) {
                    end = indexOf(bytes, (byte) '\n', start);
                    String line = new String(bytes, start, end - start, StandardCharsets.UTF_8);
                    if (line.isBlank()) continue;
                    if (!apply(line, bySid)) skipped++;
                }
            }
            Instant keepFrom = now.minus(RETENTION);
            bySid.values().removeIf(m -> m.createdAt().isBefore(keepFrom));
            Path compacted = file.resolveSibling(file.getFileName() + ".tmp");
            var text = new StringBuilder();
            for (EmulatedMessage m : bySid.values()) text.append(acceptedLine(m)).append('\n');
            Files.writeString(compacted, text, StandardCharsets.UTF_8);
            Files.move(compacted, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            // a stream, not a FileChannel: an interrupted thread's write would close a channel for everyone
            var out = new FileOutputStream(file.toFile(), true);
            return new Opened(new CarrierJournal(file, out), List.copyOf(bySid.values()), skipped);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the carrier emulator's messages in " + file, e);
        }
    }

    /** The end of the line starting at {@code from}: the next newline, or the end of the bytes. */
    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) if (bytes[i] == b) return i;
        return bytes.length;
    }

    /** Applies one line; false for one that cannot be read (cut off by a kill, or not ours). */
    private static boolean apply(String line, Map<String, EmulatedMessage> bySid) {
        try {
            if (!(JSON.std.anyFrom(line) instanceof Map<?, ?> m) || !(m.get("sid") instanceof String sid)) return false;
            if (m.containsKey("from")) {
                @SuppressWarnings("unchecked") var media = m.get("mediaUrls") instanceof List<?> l ? (List<String>) l : List.<String>of();
                var message = new EmulatedMessage(sid, (String) m.get("from"), (String) m.get("to"), (String) m.get("body"),
                        media, (String) m.get("statusCallback"), ((Number) m.get("numSegments")).intValue(),
                        Instant.parse((String) m.get("createdAt")), m.get("failedAs") instanceof Map<?, ?> f
                                ? new CarrierEmulator.Failure((String) f.get("status"), (String) f.get("errorCode")) : null);
                if (m.get("status") instanceof String status && !status.equals(message.status())) {
                    message.status(status, Instant.parse((String) m.get("updatedAt")));
                }
                bySid.put(sid, message);
                return true;
            }
            EmulatedMessage message = bySid.get(sid);
            if (message == null || !(m.get("status") instanceof String status)) return false;
            message.status(status, Instant.parse((String) m.get("at")));
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static String acceptedLine(EmulatedMessage m) throws IOException {
        var line = new LinkedHashMap<String, Object>();
        line.put("sid", m.sid());
        line.put("from", m.from());
        line.put("to", m.to());
        line.put("body", m.body());
        line.put("mediaUrls", m.mediaUrls());
        if (m.statusCallback() != null) line.put("statusCallback", m.statusCallback());
        line.put("numSegments", m.numSegments());
        if (m.failure() != null) line.put("failedAs", Map.of("status", m.failure().status(), "errorCode", m.failure().errorCode()));
        line.put("createdAt", m.createdAt().toString());
        line.put("status", m.status());
        line.put("updatedAt", m.updatedAt().toString());
        return JSON.std.asString(line);
    }

    /** Records a message just accepted (before the emulator answers). */
    void accepted(EmulatedMessage m) throws IOException {
        append(acceptedLine(m));
    }

    /** Records a status a message reached. */
    void statusChanged(EmulatedMessage m, String status, Instant at) throws IOException {
        var line = new LinkedHashMap<String, Object>();
        line.put("sid", m.sid());
        line.put("status", status);
        line.put("at", at.toString());
        append(JSON.std.asString(line));
    }

    /**
     * One write per line, so that concurrent lines never interleave and a kill cuts at most the last. A line starts
     * with a newline too: after a write cut short (a full disk), the next line still starts on its own.
     */
    private synchronized void append(String line) throws IOException {
        out.write(("\n" + line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            EmulatorLog.warn("carrier_journal_close_failed", Map.of("file", file.toString()), e);
        }
    }
}
