package groupmsg.groups;

import static java.nio.charset.StandardCharsets.UTF_8;

/** Bodies shared by {@link ImportCsvTest} and {@link ImportCsvBenchmark}. */
final class ImportCsvFixtures {

    private ImportCsvFixtures() {
    }

    /** The rows of {@link #bigBody()}: as many named members as 5 MB holds. */
    static final int BIG_ROWS = 100_000;

    /**
     * A body of {@link #BIG_ROWS} data rows just under {@link ImportCsv#MAX_BYTES} (5,178,910 bytes), CRLF
     * line endings, every tenth name quoted with a comma in it. Row i (0-based) is on line i + 2 with phone
     * {@code (415) 555-NNNN} where NNNN = i % 10000, and name {@code Lovelace, Ada #i xxxxxx} when i % 10 == 0,
     * else {@code Member number i xxxxxxxxxxxx}.
     */
    static byte[] bigBody() {
        StringBuilder sb = new StringBuilder(ImportCsv.MAX_BYTES);
        sb.append("country,phone,name\r\n");
        for (int i = 0; i < BIG_ROWS; i++) {
            String phone = String.format("(415) 555-%04d", i % 10_000);
            if (i % 10 == 0) {
                sb.append("US,\"").append(phone).append("\",\"Lovelace, Ada #").append(i).append(" xxxxxx\"\r\n");
            } else {
                sb.append("US,").append(phone).append(",Member number ").append(i).append(" xxxxxxxxxxxx\r\n");
            }
        }
        return sb.toString().getBytes(UTF_8);
    }

    /**
     * A body of {@code rows} numbers alone ({@code +1415NNNNNNN}, 13 bytes a row, LF): the densest file of real numbers
     * (5 MB holds about 403,000).
     */
    static byte[] phonesOnly(int rows) {
        StringBuilder sb = new StringBuilder(rows * 13 + 6).append("phone\n");
        for (int i = 0; i < rows; i++) sb.append("+1415").append(2_000_000 + i).append('\n');
        return sb.toString().getBytes(UTF_8);
    }
}
