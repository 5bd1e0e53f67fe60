package groupmsg.groups;

/**
 * A CSV import body that cannot be read as a whole (bad encoding, bad quoting, bad header, wrong field count,
 * too many rows...). The message is meant for the caller as is, for a 400 response.
 */
public final class CsvFormatException extends RuntimeException {
    private final int line;

    public CsvFormatException(int line, String message) {
        super(message, null, false, false);
        this.line = line;
    }

    /** The 1-based physical line the problem is on (the header is line 1), or 0 when it is not about one line. */
    public int line() {
        return line;
    }
}
