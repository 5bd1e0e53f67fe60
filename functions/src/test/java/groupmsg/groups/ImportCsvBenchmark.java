package groupmsg.groups;

import java.util.List;

/**
 * Prints how long {@link ImportCsv#parse} takes on the largest import of named rows (100,000 rows, ~5 MB): the first
 * (cold) parse in a fresh JVM, then the median of warm ones. A program that prints figures, not a test.
 *
 * <p>Run: {@code java -cp functions/target/classes:functions/target/test-classes groupmsg.groups.ImportCsvBenchmark}
 */
public final class ImportCsvBenchmark {

    private ImportCsvBenchmark() {
    }

    public static void main(String[] args) {
        byte[] body = ImportCsvFixtures.bigBody();
        long t0 = System.nanoTime();
        List<ImportCsv.Row> rows = ImportCsv.parse(body);
        long cold = System.nanoTime() - t0;
        System.out.printf("body %,d bytes, %,d rows%n", body.length, rows.size());
        System.out.printf("cold parse: %.1f ms%n", cold / 1e6);

        int runs = 20;
        long[] warm = new long[runs];
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            rows = ImportCsv.parse(body);
            warm[i] = System.nanoTime() - t;
        }
        java.util.Arrays.sort(warm);
        System.out.printf("warm parse: median %.1f ms, min %.1f ms, max %.1f ms (%d runs, %d rows)%n",
                warm[runs / 2] / 1e6, warm[0] / 1e6, warm[runs - 1] / 1e6, runs, rows.size());
    }
}
