package groupmsg.groups;

import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** How import rows travel to the worker: parts that SQS takes, whatever the text, with every row in order. */
class ImportPartsTest {
    /** {@code SqsQueueSender.MAX_BATCH_BYTES}: the largest message it sends (SQS itself takes 256 KiB). */
    private static final int SENDER_LIMIT = 250 * 1024;

    private static String randomText(Random random, int codePoints, int from, int range) {
        var sb = new StringBuilder();
        for (int i = 0; i < codePoints; i++) sb.appendCodePoint(from + random.nextInt(range));
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    private static List<List<Object>> rowsOf(List<QueueMessage> parts) {
        List<List<Object>> rows = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            QueueMessage part = parts.get(i);
            assertThat(part.body().getBytes(StandardCharsets.UTF_8).length).as("part " + i).isLessThanOrEqualTo(SENDER_LIMIT);
            Map<String, Object> body = Json.parseObject(part.body());
            assertThat(body).containsEntry("part", i);
            assertThat(part.deduplicationId()).isEqualTo("imp_1-" + i);
            rows.addAll(ImportService.gunzipRows((String) body.get("rowsGzip")));
        }
        return rows;
    }

    /**
     * Rows go 1,000 to a part, and a file of over 100,000 in 100 parts: a 5 MB list of numbers (about 400,000) in
     * parts of 1,000 took 8 s of the accept's request, which sends them one a batch (a message group's order).
     */
    @Test
    void rowsGoAThousandToAPartOrAHundredthOfALargerFile() {
        var sent = rowsOf(ImportService.parts("acct_1", "grp_1", "imp_1", numbers(12_345)));
        assertThat(sent).hasSize(12_345);
        assertThat(sent.get(12_344)).containsExactly(12_346, null, "+14152012344", null);
        assertThat(ImportService.parts("acct_1", "grp_1", "imp_1", numbers(12_345))).hasSize(13);
        assertThat(ImportService.parts("acct_1", "grp_1", "imp_1", numbers(100_000))).hasSize(100);
        var large = ImportService.parts("acct_1", "grp_1", "imp_1", numbers(250_001));
        assertThat(large).hasSize(100);
        assertThat(rowsOf(large)).hasSize(250_001);
        assertThat(ImportService.gunzipRows((String) Json.parseObject(large.getFirst().body()).get("rowsGzip"))).hasSize(2_501);
    }

    private static List<ImportCsv.Row> numbers(int count) {
        List<ImportCsv.Row> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) rows.add(new ImportCsv.Row(i + 2, null, "+1415" + (2_000_000 + i), null));
        return rows;
    }

    @Test
    void namesThatHardlyCompressAreSplitIntoPartsThatFit() {
        // 1,000 valid rows whose names are 100 random CJK characters: gzip'd and base64'd they were ~1.3x the
        // 250 KiB an estimate of "5x smaller" let through (SQS refused the part after the ones before had gone)
        Random random = new Random(42);
        List<ImportCsv.Row> rows = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            rows.add(new ImportCsv.Row(i + 2, "US", String.format("+1415555%04d", i), randomText(random, 100, 0x4E00, 20_000)));
        }
        var parts = ImportService.parts("acct_1", "grp_1", "imp_1", rows);
        assertThat(parts.size()).isGreaterThan(1);
        var sent = rowsOf(parts);
        assertThat(sent).hasSize(1000);
        for (int i = 0; i < 1000; i++) {
            assertThat(sent.get(i)).containsExactly(i + 2, "US", rows.get(i).phone(), rows.get(i).name());
        }
    }

    @Test
    void oversizedCellsTravelCutSoThatEveryPartFits() {
        Random random = new Random(7);
        List<ImportCsv.Row> rows = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            rows.add(new ImportCsv.Row(i + 2, randomText(random, 600, 'a', 26), randomText(random, 2000, '0', 75),
                    randomText(random, 600, 0x4E00, 20_000)));
        }
        var sent = rowsOf(ImportService.parts("acct_1", "grp_1", "imp_1", rows));
        assertThat(sent).hasSize(1000);
        for (int i = 0; i < 1000; i++) {
            var row = sent.get(i);
            String country = (String) row.get(1);
            String phone = (String) row.get(2);
            String name = (String) row.get(3);
            assertThat(country).isEqualTo(rows.get(i).country().substring(0, 16) + "...");
            assertThat(phone).isEqualTo(rows.get(i).phone().substring(0, 64) + "...");
            // over the limit even in NFC (four code points a character at most): the worker still finds it too long
            assertThat(name.codePointCount(0, name.length())).isEqualTo(4 * (ImportService.MAX_NAME_LENGTH + 1));
            assertThat(rows.get(i).name()).startsWith(name);
        }
    }

    @Test
    void cutCellsKeepTheWorkersVerdict() {
        // what PhoneNumbers says of the whole cell, it says of the cut one
        String longPhone = "1".repeat(450_000);
        assertThat(PhoneNumbers.normalize((String) ImportService.bounded(new ImportCsv.Row(2, null, longPhone, null)).get(2), "US"))
                .isEqualTo(PhoneNumbers.normalize(longPhone, "US"));
        String longCountry = "U" + " ".repeat(100) + "S";
        var cut = ImportService.bounded(new ImportCsv.Row(2, longCountry, "4155550100", null));
        assertThat(PhoneNumbers.normalize((String) cut.get(2), (String) cut.get(1)))
                .isEqualTo(PhoneNumbers.normalize("4155550100", longCountry));
        // a name typed decomposed (60 "é", 120 code points) is not cut: composed, it is within the limit
        String decomposed = "e\u0301".repeat(60);
        assertThat(ImportService.bounded(new ImportCsv.Row(2, null, "4155550100", decomposed)).get(3)).isEqualTo(decomposed);
        // a surrogate pair is never split
        assertThat(groupmsg.platform.api.Text.cut("a".repeat(63) + "\uD83D\uDE00", 64)).isEqualTo("a".repeat(63) + "...");
        assertThat(groupmsg.platform.api.Text.cut("short", 64)).isEqualTo("short");
    }
}
