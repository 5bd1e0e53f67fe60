package groupmsg.platform.api;

/**
 * One part of a CSV answer: its header and whole rows while they fit in {@code maxBytes} as the answer carries
 * them ({@link Csv#answerBytes}); a row that does not fit is left for the next part.
 */
public final class CsvPart {
    private final StringBuilder csv;
    private final long maxBytes;
    private long bytes;
    private int rows;

    public CsvPart(String header, long maxBytes) {
        this.csv = new StringBuilder(header);
        this.maxBytes = maxBytes;
        this.bytes = Csv.answerBytes(header, 0);
    }

    /** Appends the row (with its line end) if it fits; false, appending nothing, when it would take the part over. */
    public boolean add(String row) {
        int from = csv.length();
        csv.append(row).append('\n');
        int rowBytes = Csv.answerBytes(csv, from);
        if (bytes + rowBytes > maxBytes && rows > 0) {
            csv.setLength(from);
            return false;
        }
        bytes += rowBytes;
        rows++;
        return true;
    }

    public int rows() {
        return rows;
    }

    public String text() {
        return csv.toString();
    }
}
