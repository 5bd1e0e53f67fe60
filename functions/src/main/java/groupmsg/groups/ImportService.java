package groupmsg.groups;

import groupmsg.platform.Failures;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Csv;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.api.Text;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.FilteredPage;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CSV imports. The API parses and checks the file's structure at once (a malformed file is a 400), records the
 * import, and hands the rows to the import worker through the FIFO imports queue in parts; the worker validates
 * numbers and writes members in units of up to {@link MemberStore#MAX_PUTS_PER_TRANSACTION} rows, each unit
 * committed together with the import's progress so that a redelivered part changes nothing twice.
 */
public final class ImportService {
    /**
     * Rows a part holds at most, for a file of up to {@link #MOST_PARTS} thousand rows: locally, larger parts applied
     * slower (100,000 rows: 82 s in parts of 1,000, 101 s of 2,500, 116 s of 5,000).
     */
    static final int MAX_ROWS_PER_PART = 1000;
    /**
     * The most parts a file goes in: a larger file's parts hold a share each ({@link #rowsPerPart}). The accept sends
     * them one a batch (a message group's order): a 5 MB list of 400,000 numbers in parts of 1,000 took 8 s of the
     * request, too near API Gateway's 29 s in a slow hour; in 100 parts, about 2 s.
     */
    static final int MOST_PARTS = 100;

    /** Rows a part of a file of {@code rows} holds at most. */
    static int rowsPerPart(int rows) {
        return Math.max(MAX_ROWS_PER_PART, (rows + MOST_PARTS - 1) / MOST_PARTS);
    }
    /** Uncompressed, estimated: where a part is cut before its real size is measured. */
    static final int MAX_PART_BYTES = 600 * 1024;
    /**
     * A part's message as sent, measured (rows gzip'd and base64'd, in the JSON body): under the queue sender's
     * 250 KiB per message (SQS takes 256 KiB); a part over it is split in two until it fits.
     */
    static final int MAX_PART_MESSAGE_BYTES = 240 * 1024;
    static final int MAX_NAME_LENGTH = 100;
    /**
     * The longest phone and country cells sent on as they are; longer ones travel cut (see {@link #bounded}). The
     * phone's is the API's longest phone input; a country has 2 letters.
     */
    static final int MAX_PHONE_CELL = 64;
    static final int MAX_COUNTRY_CELL = 16;

    private final GroupService groups;
    private final ImportStore imports;
    private final QueueSender queue;
    private final Clock clock;
    private final Ids ids;

    public ImportService(Wiring wiring, GroupService groups, QueueSender queue) {
        this.groups = groups;
        this.imports = new ImportStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.queue = queue;
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    public ImportJob start(String accountId, String groupId, byte[] csv) {
        return start(accountId, groupId, csv, ids.next(""));
    }

    /**
     * @param ulid the import id's time-ordered part: the same on every run of one request under an Idempotency-Key,
     *             so a run after one that failed part-way (SQS refused a part) sends the same import's parts again,
     *             which change nothing twice (FIFO de-duplication, then each unit's {@code doneUnits}), rather
     *             than starting a second import of the same rows
     */
    public ImportJob start(String accountId, String groupId, byte[] csv, String ulid) {
        return start(accountId, groupId, csv, null, ulid);
    }

    /** @param declaredCharset the body's {@code charset} parameter, lower case; null when it has none ({@link ImportCsv#parse(byte[], String)}) */
    public ImportJob start(String accountId, String groupId, byte[] csv, String declaredCharset, String ulid) {
        groups.get(accountId, groupId);
        if (csv.length > ImportCsv.MAX_BYTES) {
            throw ApiException.tooLarge("the CSV is " + csv.length + " bytes; the limit is " + ImportCsv.MAX_BYTES);
        }
        long parseStart = System.nanoTime();
        List<ImportCsv.Row> rows;
        try {
            rows = ImportCsv.parse(csv, declaredCharset);
        } catch (CsvFormatException e) {
            List<Map<String, Object>> details = e.line() > 0 ? List.of(Map.of("line", e.line())) : List.of();
            throw new ApiException(ErrorCode.INVALID_REQUEST, "malformed CSV: " + e.getMessage(), details);
        }
        long now = clock.millis();
        var job = new ImportJob("imp_" + ulid, groupId, ImportJob.RUNNING, rows.size(), 0, 0, 0, 0, 0, null, now);
        long parsed = System.nanoTime();
        // Every part is built, and fits, before anything is stored or sent.
        List<QueueMessage> parts = parts(accountId, groupId, job.id(), rows);
        long built = System.nanoTime();
        ImportJob stored = imports.create(accountId, job);
        if (ImportJob.FAILED.equals(stored.status())) return stored; // an earlier run's, failed since: nothing to go on with
        queue.send(Queues.IMPORTS, parts);
        long sent = System.nanoTime();
        imports.markEnqueued(accountId, job.id(), clock.millis());
        Log.info("import_started", Map.of("importId", job.id(), "rows", rows.size(), "parts", parts.size(),
                "parseMs", (parsed - parseStart) / 1_000_000, "buildMs", (built - parsed) / 1_000_000,
                "enqueueMs", (sent - built) / 1_000_000));
        return stored;
    }

    /**
     * Splits rows into queue messages of at most {@link #rowsPerPart} rows, cut at about {@link #MAX_PART_BYTES}
     * uncompressed, each measured as sent and halved until it is at most {@link #MAX_PART_MESSAGE_BYTES}: how well
     * rows compress depends on their text (phone lists shrink ~5x, random text hardly), so an estimate let through
     * a part SQS refused, after the parts before it had gone (a 500 for an import half applied).
     */
    static List<QueueMessage> parts(String accountId, String groupId, String importId, List<ImportCsv.Row> rows) {
        List<QueueMessage> messages = new ArrayList<>();
        List<List<Object>> part = new ArrayList<>();
        int bytes = 0;
        int perPart = rowsPerPart(rows.size());
        for (ImportCsv.Row row : rows) {
            List<Object> encoded = bounded(row);
            int size = 16;
            for (int i = 1; i < 4; i++) size += utf8Length((String) encoded.get(i)) * (i == 3 ? 2 : 1);
            if (!part.isEmpty() && (part.size() == perPart || bytes + size > MAX_PART_BYTES)) {
                addMeasured(messages, accountId, groupId, importId, part);
                part = new ArrayList<>();
                bytes = 0;
            }
            part.add(encoded);
            bytes += size;
        }
        if (!part.isEmpty()) addMeasured(messages, accountId, groupId, importId, part);
        return messages;
    }

    private static void addMeasured(List<QueueMessage> messages, String accountId, String groupId, String importId,
                                    List<List<Object>> part) {
        QueueMessage message = partMessage(accountId, groupId, importId, messages.size(), part);
        if (message.body().getBytes(StandardCharsets.UTF_8).length <= MAX_PART_MESSAGE_BYTES) {
            messages.add(message);
            return;
        }
        // cannot happen with bounded cells: one row is at most a few KB
        if (part.size() == 1) throw new IllegalStateException("one import row does not fit in a queue message");
        int half = part.size() / 2;
        addMeasured(messages, accountId, groupId, importId, part.subList(0, half));
        addMeasured(messages, accountId, groupId, importId, part.subList(half, part.size()));
    }

    /**
     * A row as its part carries it: [line, country, phone, name] and, for one out of the header's columns, its
     * problem, each cell bounded so that a part stays small and
     * the worker's verdict on the row stays the one it gives the whole cells (the file is up to 5 MB, one cell can
     * be most of it). A name over {@link #MAX_NAME_LENGTH} characters is cut to four times one more (still too long in NFC); a phone
     * over {@link #MAX_PHONE_CELL} characters, or a country over {@link #MAX_COUNTRY_CELL}, to that many and
     * "..." (still too long to be either; the worker's reasons and echoes show no more of them).
     */
    static List<Object> bounded(ImportCsv.Row row) {
        List<Object> encoded = new ArrayList<>(4);
        encoded.add(row.line());
        encoded.add(row.country() == null ? null : Text.cut(row.country(), MAX_COUNTRY_CELL));
        encoded.add(Text.cut(row.phone(), MAX_PHONE_CELL));
        String name = row.name();
        // cut where it is too long even in NFC (no character of NFC is made of more than 4 code points): a long
        // decomposed name is refused as too long, not kept shortened
        int cut = 4 * (MAX_NAME_LENGTH + 1);
        if (name != null && name.codePointCount(0, name.length()) > cut) {
            name = name.substring(0, name.offsetByCodePoints(0, cut));
        }
        encoded.add(name);
        // a row out of the header's columns carries why, and is reported as such (parts from before have 4 cells)
        if (row.problem() != null) encoded.add(row.problem());
        return encoded;
    }

    private static QueueMessage partMessage(String accountId, String groupId, String importId, int index,
                                            List<List<Object>> rows) {
        var body = new LinkedHashMap<String, Object>();
        body.put("kind", ImportWorkerHandler.KIND_IMPORT_PART);
        body.put("accountId", accountId);
        body.put("groupId", groupId);
        body.put("importId", importId);
        body.put("part", index);
        // Rows travel gzip-compressed (phone lists shrink ~5x): less for SQS to carry and check per import.
        body.put("rowsGzip", gzipBase64(Json.write(rows)));
        // One message group per group: parts apply in order and never race each other on the member counter.
        return new QueueMessage(Json.write(body), accountId + "#" + groupId, importId + "-" + index);
    }

    static String gzipBase64(String text) {
        var bytes = new java.io.ByteArrayOutputStream(text.length() / 4);
        try (var gzip = new java.util.zip.GZIPOutputStream(bytes)) {
            gzip.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return java.util.Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    @SuppressWarnings("unchecked")
    static List<List<Object>> gunzipRows(String base64) {
        try (var gzip = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(
                java.util.Base64.getDecoder().decode(base64)))) {
            return (List<List<Object>>) Json.parse(new String(gzip.readAllBytes(), StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static int utf8Length(String s) {
        return s == null ? 4 : s.getBytes(StandardCharsets.UTF_8).length + 2;
    }

    /** Whether the account has this import (a retried request's check for what its first run stored). */
    public boolean exists(String accountId, String importId) {
        return imports.get(accountId, importId).isPresent();
    }

    public ImportJob get(String accountId, String groupId, String importId) {
        if (!importId.startsWith("imp_")) throw ApiException.notFound("import");
        ImportJob job = imports.get(accountId, importId).orElseThrow(() -> ApiException.notFound("import"));
        if (!job.groupId().equals(groupId)) throw ApiException.notFound("import");
        return job;
    }

    public record ImportPage(List<ImportJob> imports, Map<String, AttributeValue> lastKey) {}

    /** Imports read per step of a group's list, and the steps one page may take. */
    static final int LIST_STEP = 100;
    static final int LIST_STEPS = 10;

    /**
     * The group's imports of the last 30 days (they expire then), newest first: the account's read 100 at a time and
     * the group's kept, until the page is full and one more is found, or 1,000 were read (then the cursor goes on).
     * 404 for no such group; a cursor of another list of the account's is a 400, one of another group's imports is
     * taken (the lists share the account's imports: the list goes on from there).
     * <p>
     * A cursor may point at another group's import: a page whose 1,000 reads found none of this group's (another
     * group synced hourly) ends at the last one read. Refusing those as another group's cursor, as this did, made the
     * group's older imports unreachable (400 "cursor is not valid" on the next page).
     */
    public ImportPage list(String accountId, String groupId, int limit, Map<String, AttributeValue> start) {
        groups.get(accountId, groupId);
        if (start != null && (start.get("sk") == null || !start.get("sk").s().startsWith(ImportStore.IMPORT_PREFIX))) {
            throw ApiException.invalid("cursor is not valid for this list");
        }
        var page = FilteredPage.fill(limit, LIST_STEPS, start, from -> {
            var step = imports.list(accountId, LIST_STEP, from);
            return new FilteredPage.Step<>(step.jobs().stream().filter(j -> groupId.equals(j.groupId())).toList(), step.lastKey());
        }, job -> ImportStore.importKey(accountId, job.id()));
        return new ImportPage(page.items(), page.lastKey());
    }

    /** The partition a cursor of {@link #list} must point into. */
    public static String listPartition(String accountId) {
        return Attr.accountPk(accountId);
    }

    public record InvalidPage(List<ImportStore.InvalidRow> rows, Map<String, AttributeValue> lastKey) {}

    public InvalidPage invalidRows(String accountId, String importId, int limit, Map<String, AttributeValue> start) {
        var page = imports.invalidRows(accountId, importId, limit, start);
        return new InvalidPage(page.rows(), page.lastKey());
    }

    public static String invalidRowsPartition(String accountId, String importId) {
        return ImportStore.errorsPk(accountId, importId);
    }

    private void failGroupGone(String accountId, String groupId, String importId) {
        imports.fail(accountId, importId, "the group was deleted during the import");
        Log.info("import_group_gone", Map.of("importId", importId, "groupId", groupId));
    }

    /** Applies one part of an import. Safe to run again for the same part (units already applied are skipped). */
    void applyPart(String accountId, String groupId, String importId, int part, List<List<Object>> rows) {
        var job = imports.get(accountId, importId);
        if (job.isEmpty() || !job.get().groupId().equals(groupId) || !ImportJob.RUNNING.equals(job.get().status())) {
            // Nothing to apply to: an unknown import, or one that ended (done, or failed: e.g. its group was deleted).
            Log.warn("import_part_skipped", Map.of("importId", importId, "part", part,
                    "reason", job.isEmpty() ? "unknown import" : "import " + job.get().status()));
            return;
        }
        if (groups.groupStore().get(accountId, groupId).isEmpty()) {
            // deleted since: a part whose numbers are all members already writes nothing that would find it gone
            failGroupGone(accountId, groupId, importId);
            return;
        }
        MemberStore members = groups.memberStore();
        long now = clock.millis();
        int unitSize = MemberStore.MAX_PUTS_PER_TRANSACTION;
        for (int from = 0, unit = 0; from < rows.size(); from += unitSize, unit++) {
            List<List<Object>> unitRows = rows.subList(from, Math.min(rows.size(), from + unitSize));
            List<ImportStore.InvalidRow> invalid = new ArrayList<>();
            Map<String, MemberStore.Candidate> unique = new LinkedHashMap<>();
            int duplicates = 0;
            for (List<Object> row : unitRows) {
                int line = ((Number) row.get(0)).intValue();
                String country = (String) row.get(1);
                String phone = (String) row.get(2);
                // a spreadsheet's text marker before a formula-like name (an export writes it) is not part of the name
                // kept as the API keeps a member's name: NFC, no invisible characters at its ends (none left: no name)
                String name = Text.tidyName(Csv.unguard((String) row.get(3)));
                if (name != null && name.isEmpty()) name = null;
                // What an invalid row echoes is bounded (parts bound their cells, but parts queued before did not):
                // one cell of most of a 5 MB file made an error row over DynamoDB's 400 KB, and its part fail
                // again and again, holding up the group's later parts.
                String echo = Text.cut(phone, MAX_PHONE_CELL);
                if (row.size() > 4 && row.get(4) instanceof String problem) {
                    invalid.add(new ImportStore.InvalidRow(line, echo, problem));
                    continue;
                }
                if (name != null && name.codePointCount(0, name.length()) > MAX_NAME_LENGTH) {
                    invalid.add(new ImportStore.InvalidRow(line, echo, "name longer than " + MAX_NAME_LENGTH + " characters"));
                    continue;
                }
                String nameProblem = name == null ? null : Text.nameProblem(name);
                if (nameProblem != null) {
                    invalid.add(new ImportStore.InvalidRow(line, echo, "name " + nameProblem));
                    continue;
                }
                switch (PhoneNumbers.normalizeCell(phone, country)) {
                    case PhoneNumbers.Invalid bad -> invalid.add(new ImportStore.InvalidRow(line, echo, bad.reason()));
                    case PhoneNumbers.Valid ok -> {
                        if (unique.containsKey(ok.e164())) duplicates++;
                        // a later line's name wins, as it does from a later unit (MemberStore renames)
                        if (!unique.containsKey(ok.e164()) || name != null) {
                            unique.put(ok.e164(), new MemberStore.Candidate(ok.e164(), name));
                        }
                    }
                }
            }
            imports.putInvalidRows(accountId, importId, invalid, now);
            String partId = "p" + part;
            String unitId = partId + "u" + unit;
            // the part's last unit records the part, and takes its earlier units out of doneUnits (ImportStore.progress)
            List<String> unitsBefore = from + unitSize < rows.size() ? null
                    : java.util.stream.IntStream.range(0, unit).mapToObj(u -> partId + "u" + u).toList();
            int dupes = duplicates;
            try {
                var applied = members.addUnit(accountId, groupId, new ArrayList<>(unique.values()),
                        counts -> imports.progress(accountId, importId, unitId, partId, unitsBefore, unitRows.size(),
                                counts.added(), counts.alreadyMembers() + dupes, counts.updated(), invalid.size(), clock.millis()),
                        now);
                now = applied.stampedAt();
                // applied before (a redelivered part), or the import failed meanwhile: the latter, or the whole part
                // applied before, ends the part here
                if (applied.alreadyApplied() && imports.partOver(accountId, importId, partId)) {
                    Log.info("import_part_stopped", Map.of("importId", importId, "part", part, "unit", unit));
                    return;
                }
            } catch (MemberStore.GroupGoneException e) {
                failGroupGone(accountId, groupId, importId);
                return;
            }
        }
    }

    /**
     * How long after maintenance sent a clean-up's job again it is sent once more: the imports queue's whole retry
     * span (its receives times its visibility timeout), after which the job is done or in the dead-letter queue. Before,
     * a clean-up not done 5 minutes after its group's deletion (waiting behind imports, or a large group) was sent
     * again every 5 minutes (the FIFO queue's deduplication window), each copy reading the group's every member row.
     */
    static long cleanupRedriveEveryMillis() {
        // a method, not a constant: only the sweep reads the imports queue's settings (a class initialiser would
        // count as the import worker's use of the queue, as ImportStore.stallDeadline says)
        return (long) Queues.IMPORTS.maxReceiveCount() * Queues.IMPORTS.visibilityTimeoutSeconds() * 1000;
    }

    /**
     * How much of the import worker's time a clean-up leaves when it hands on: a page's writes (throttled ones retried)
     * and the hand-on's send fit in it.
     */
    static final Duration CLEANUP_MARGIN = Duration.ofSeconds(30);

    /**
     * Tombstones the members of a deleted group after {@code afterPhone} (null: from the first), then forgets the
     * clean-up job. Out of time ({@code timeLeft} less {@link #CLEANUP_MARGIN}), it hands the rest on in a job of its own
     * that starts after the last row read: a group too large for one run was read again from its first row by each
     * retry, and one large enough never finished.
     */
    void cleanUpDeletedGroup(String accountId, String groupId, long deletedAt, String afterPhone, Duration timeLeft) {
        long deadline = clock.millis() + timeLeft.minus(CLEANUP_MARGIN).toMillis();
        var done = groups.memberStore().tombstoneFrom(accountId, groupId, deletedAt, afterPhone,
                () -> clock.millis() >= deadline);
        if (done.stoppedAfter() != null) {
            groups.enqueueCleanup(accountId, groupId, deletedAt, done.stoppedAfter());
            try {
                // progress: maintenance sends the job again only if this hand-on, too, goes nowhere for its retry span,
                // and from where it stopped
                groups.groupStore().markCleanupHandedOn(accountId, groupId, clock.millis(), done.stoppedAfter());
            } catch (RuntimeException e) {
                // the hand-on is sent: failing now would have this job's retry, past the queue's 5 minutes of
                // deduplication, send a second one (two chains of the same work)
                Log.warn("group_cleanup_progress_unmarked", Map.of("groupId", groupId, "error", e.getClass().getSimpleName()));
            }
            Log.info("group_cleanup_handed_on", Map.of("groupId", groupId, "tombstoned", done.count()));
            return;
        }
        groups.groupStore().finishCleanup(accountId, groupId);
        Log.info("group_cleanup_done", Map.of("groupId", groupId, "tombstoned", done.count()));
    }

    /**
     * Maintenance: fails imports whose parts were never all enqueued, and those that stopped making progress (a
     * part that kept failing went to the DLQ: a client polling for the end would otherwise poll forever); forgets
     * the markers of imports that ended; re-drives lost group clean-ups. One that fails (a throttled read) does not
     * keep the others from their turn: it is logged, and the sweep fails once it has done the rest (its counts put
     * in {@code summary} first). A fault that fails item after item (three markers; a clean-up's queue) ends its loop:
     * each would wait out the SDK's retries, and the steps after this one need the function's time.
     */
    public void sweep(Map<String, Object> summary) {
        long now = clock.millis();
        int failed = 0;
        int stalled = 0;
        RuntimeException firstFailure = null;
        int markerFailures = 0;
        long stalledBefore = now - ImportStore.stallDeadline().toMillis();
        for (var marker : imports.markersBefore(now - ImportStore.ENQUEUE_DEADLINE.toMillis())) {
            if (markerFailures >= 3) break;
            try {
                if (marker.enqueuedAt() == 0) {
                    if (imports.failUnqueued(marker, "the import could not be queued completely; start it again")) failed++;
                    continue;
                }
                var job = imports.get(marker.accountId(), marker.importId());
                if (job.isEmpty() || !ImportJob.RUNNING.equals(job.get().status())) {
                    imports.forget(marker);
                } else if (marker.enqueuedAt() < stalledBefore && imports.failStalled(marker, stalledBefore,
                        "the import made no progress for " + ImportStore.stallDeadline().toMinutes() + " minutes; start it again")) {
                    imports.forget(marker);
                    stalled++;
                }
            } catch (RuntimeException e) {
                Log.error("import_sweep_failed", Map.of("importId", String.valueOf(marker.importId())), e);
                firstFailure = Failures.keepFirst(firstFailure, e);
                markerFailures++;
            }
        }
        int redriven = 0;
        for (var job : groups.groupStore().pendingCleanups(now - 5 * 60_000L, now - cleanupRedriveEveryMillis(), 100)) {
            try {
                groups.enqueueCleanup(job.accountId(), job.groupId(), job.deletedAt(), job.after());
                groups.groupStore().markCleanupRedriven(job.accountId(), job.groupId(), now);
                redriven++;
            } catch (RuntimeException e) {
                Log.error("group_cleanup_redrive_failed", Map.of("groupId", String.valueOf(job.groupId())), e);
                firstFailure = Failures.keepFirst(firstFailure, e);
                break; // the queue's fault, not this clean-up's: the next run tries them all again
            }
        }
        summary.put("importsFailedUnqueued", failed);
        summary.put("importsFailedStalled", stalled);
        summary.put("groupCleanupsRedriven", redriven);
        if (firstFailure != null) throw firstFailure;
    }

    /** {@link #sweep(Map)} into a map of its own. */
    public Map<String, Object> sweep() {
        var summary = new HashMap<String, Object>();
        sweep(summary);
        return summary;
    }
}
