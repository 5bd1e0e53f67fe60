package groupmsg.groups;

import groupmsg.platform.api.ApiRequest;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Reads the body of a member import ({@code POST /v1/groups/{id}/imports}): CSV in the template's columns.
 *
 * <p>The format is RFC 4180 with the usual leniencies: comma separator; CRLF, LF or lone CR line endings (mixed
 * is fine); fields may be quoted with {@code "}, a quote inside a quoted field is doubled, and quoted fields may
 * hold commas and line breaks; blanks around a quoted field are ignored; a quote inside an unquoted field is
 * kept as text. The body is UTF-8, with or without a byte order mark; one that is not, sent declared windows-1252 or
 * ISO-8859-1 (Excel's "CSV (Comma delimited)" on Windows), is read in windows-1252.
 *
 * <p>The first non-blank record is the header: the columns {@code country}, {@code phone}, {@code name} in any
 * order, any case, blanks around them ignored; {@code phone} is required, the other two are optional. Every other
 * non-blank record is a {@link Row}. A record is blank when all its fields are empty or whitespace (an empty line,
 * a line of spaces, or {@code ,,} as spreadsheets write empty rows); blank records are skipped, not counted. The
 * {@link #TEMPLATE}'s example row is a row like any other (API.md: an import is in the template's columns; the
 * template uploaded as it is imports its example).
 *
 * <p>Anything that makes the file unreadable as a whole throws {@link CsvFormatException} with a message for the
 * caller; a line that is only itself broken (text after a closing quote, cells out of the header's columns) is a
 * {@link Row} with its {@code problem}. Whether each row's phone number is valid is not this class's business ({@link PhoneNumbers} is).
 *
 * <p>One pass over the decoded characters; no regular expressions. Stateless and thread-safe.
 */
public final class ImportCsv {

    /** Most data rows in one import. */
    public static final int MAX_ROWS = 500_000;
    /** Largest body accepted, in bytes (5 MB). */
    public static final int MAX_BYTES = 5 * 1024 * 1024;
    /**
     * The body of {@code GET /v1/groups/import-template.csv}: the header and one example row, with LF line ends (read
     * alike by spreadsheets, CSV readers and a plain split on newlines; the parser takes CRLF too).
     */
    public static final String TEMPLATE = "country,phone,name\nUS,(415) 555-0123,Ada Lovelace\n";

    private static final String COLUMNS = "country, phone, name";
    private static final int MAX_ECHOED_NAME = 30;
    private static final int MAX_ECHOED_NAMES = 10;
    private static final Charset WINDOWS_1252 = Charset.forName("windows-1252");
    /** The labels the WHATWG Encoding standard reads as windows-1252 (the common ones). */
    private static final Set<String> WINDOWS_1252_LABELS = Set.of("windows-1252", "cp1252", "x-cp1252", "iso-8859-1",
            "iso8859-1", "iso_8859-1", "iso88591", "latin1", "l1", "us-ascii", "ascii");

    private ImportCsv() {
    }

    /**
     * One data row.
     *
     * @param line    the physical line the record starts on (the header is line 1 when the file starts with it)
     * @param country the country column, trimmed; null when empty or when the header has no country column
     * @param phone   the phone column, trimmed; never null, empty when the cell is empty
     * @param name    the name column, trimmed; null when empty or when the header has no name column
     * @param problem why the row is not in the header's columns (more cells, or too few to reach its phone): it is
     *                reported as an invalid line, not imported; null for a row in its columns
     */
    public record Row(int line, String country, String phone, String name, String problem) {
        public Row {
            Objects.requireNonNull(phone, "phone");
        }

        public Row(int line, String country, String phone, String name) {
            this(line, country, phone, name, null);
        }
    }

    /**
     * Parses an import body into its data rows, in file order.
     *
     * @throws CsvFormatException when the body is too large, not UTF-8 text, badly quoted, has no usable header,
     *                            has no data rows, none in the header's columns, or more than {@link #MAX_ROWS}
     */
    public static List<Row> parse(byte[] body) {
        return parse(body, null);
    }

    /**
     * As {@link #parse(byte[])}, for a body sent with a {@code charset} parameter (lower case; null when none): a body
     * that is not valid UTF-8 but declared windows-1252 or ISO-8859-1 (Excel's CSV on Windows) is read in windows-1252.
     */
    public static List<Row> parse(byte[] body, String declaredCharset) {
        Objects.requireNonNull(body, "body");
        if (body.length > MAX_BYTES) {
            throw new CsvFormatException(0, "the file is larger than 5 MB");
        }
        char[] text = decode(body, declaredCharset);
        // byte-order marks, more than one when a tool added its own to a file that had one (invisible in the error)
        int start = 0;
        while (start < text.length && text[start] == '\uFEFF') start++;
        Records records = new Records(text, start, text.length);
        List<String> fields = new ArrayList<>();

        Header header = null;
        while (records.next(fields)) {
            if (records.problem != null) {
                throw new CsvFormatException(records.recordLine, "line " + records.recordLine + ": " + records.problem);
            }
            if (!isBlank(fields)) {
                // Excel's first line naming the separator ("sep=,"): not a header; another separator is refused so
                String separator = separatorLine(fields);
                if (",".equals(separator)) continue;
                if (separator != null) {
                    throw new CsvFormatException(records.recordLine, "line " + records.recordLine
                            + ": the CSV must be comma-separated (its first line declares " + ("\t".equals(separator) ? "tabs" : "'" + separator + "'") + ")");
                }
                header = Header.of(fields, records.recordLine);
                break;
            }
        }
        if (header == null) {
            throw new CsvFormatException(0, "the CSV has no header");
        }

        List<Row> rows = new ArrayList<>();
        while (records.next(fields)) {
            if (isBlank(fields) && records.problem == null) {
                continue;
            }
            int line = records.recordLine;
            // A row that stops after its phone left its last cells empty (a trailing empty name, as hand-written
            // files and some exports leave it off); one that stops before its phone, or has more cells than the
            // header, is not in its columns.
            if (fields.size() > header.phone) while (fields.size() < header.size) fields.add("");
            // empty cells past the header's columns: a spreadsheet writes them for a column to the right once used
            while (fields.size() > header.size && fields.getLast().isBlank()) fields.removeLast();
            if (fields.size() == header.size && records.problem == null && fields.get(header.phone).isBlank()
                    && (header.name < 0 || fields.get(header.name).isBlank())) {
                // a country alone ("US,," where a spreadsheet copied it down past the last number) is no member, and
                // no row of the file's 500,000 either
                continue;
            }
            if (rows.size() == MAX_ROWS) {
                throw new CsvFormatException(0, "the CSV has more than " + MAX_ROWS + " rows; split it into several imports");
            }
            if (records.problem != null) {
                // a badly quoted line is that line's problem too, as one out of its columns is
                rows.add(new Row(line, null, fields.size() > header.phone ? fields.get(header.phone) : "", null, records.problem));
                continue;
            }
            if (fields.size() != header.size) {
                // one line out of its columns (an unquoted comma in a name, a stray line) is that line's problem,
                // reported with the others: the rest of the file imports
                String problem = fields.size() + (fields.size() == 1 ? " field" : " fields") + ", the header has "
                        + header.size + (fields.size() > header.size ? " (a value with a comma must be in double quotes)" : "");
                rows.add(new Row(line, null, fields.size() > header.phone ? fields.get(header.phone) : "", null, problem));
                continue;
            }
            Row row = new Row(line,
                    header.country < 0 ? null : emptyToNull(fields.get(header.country)),
                    fields.get(header.phone),
                    header.name < 0 ? null : emptyToNull(fields.get(header.name)));
            rows.add(row);
        }
        if (rows.isEmpty()) throw new CsvFormatException(0, "the CSV has no data rows");
        // not one row in the header's columns: the file is not in them (another separator in its rows, a header
        // from another file), which is the file's problem, not each line's
        if (rows.stream().allMatch(r -> r.problem() != null)) {
            Row first = rows.getFirst();
            throw new CsvFormatException(first.line(), "line " + first.line() + ": no row is in the header's columns ("
                    + first.problem() + ")");
        }
        return rows;
    }

    /** Strict UTF-8 decoding, with errors that point at the offending byte. */
    private static char[] decode(byte[] body, String declaredCharset) {
        if (body.length >= 2 && ((body[0] == (byte) 0xFF && body[1] == (byte) 0xFE)
                || (body[0] == (byte) 0xFE && body[1] == (byte) 0xFF))) {
            throw new CsvFormatException(0, "the file is UTF-16 encoded; save it as CSV UTF-8");
        }
        for (int i = 0; i < body.length; i++) {
            if (body[i] == 0) {
                throw new CsvFormatException(0, "the file is not text: it contains a NUL byte at offset " + i);
            }
        }
        CharBuffer out = CharBuffer.wrap(new char[body.length]); // no decoding here gives more UTF-16 units than bytes
        ByteBuffer in = ByteBuffer.wrap(body);
        if (strictDecode(StandardCharsets.UTF_8, in, out)) return noReplacementCharacter(body, out);
        int offset = in.position();
        int line = lineAt(body, offset);
        if (!isWindows1252(declaredCharset)) {
            String declared = declaredCharset == null || ApiRequest.isUtf8(declaredCharset) ? ""
                    : " (the declared charset " + declaredCharset + " is not read; windows-1252 and ISO-8859-1 are)";
            throw new CsvFormatException(line,
                    "line " + line + ": not valid UTF-8 at offset " + offset + declared + "; save the file as CSV UTF-8");
        }
        // Excel's "CSV (Comma delimited)" on Windows: a file declared so is read so (ISO-8859-1 as windows-1252, as
        // browsers read it); a file that is valid UTF-8 was read as UTF-8 above, whatever a client's default declared
        // a UTF-8 byte-order mark an editor left before the windows-1252 text is no text ("ï»¿" in the header)
        in.position(body.length >= 3 && body[0] == (byte) 0xEF && body[1] == (byte) 0xBB && body[2] == (byte) 0xBF ? 3 : 0);
        out.clear();
        if (!strictDecode(WINDOWS_1252, in, out)) {
            int at = in.position();
            int atLine = lineAt(body, at);
            throw new CsvFormatException(atLine, "line " + atLine + ": byte 0x" + HexFormat.of().toHexDigits(body[at])
                    + " at offset " + at + " is no windows-1252 character; save the file as CSV UTF-8");
        }
        return Arrays.copyOf(out.array(), out.position());
    }

    /** Decodes all of {@code in} into {@code out}; false, {@code in} at the offending byte, when one does not decode. */
    private static boolean strictDecode(Charset charset, ByteBuffer in, CharBuffer out) {
        CharsetDecoder decoder = charset.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) result = decoder.flush(out);
        return !result.isError();
    }

    /** The decoded UTF-8 text, refused when it holds U+FFFD: what a lenient decoder before us left of bytes that were not UTF-8. */
    private static char[] noReplacementCharacter(byte[] body, CharBuffer out) {
        char[] chars = out.array();
        for (int i = 0; i < out.position(); i++) {
            if (chars[i] == ApiRequest.REPLACEMENT_CHARACTER) {
                int line = lineAt(body, utf8Offset(chars, i));
                throw new CsvFormatException(line, "line " + line
                        + ": holds U+FFFD, which replaces bytes that were not UTF-8; save the file as CSV UTF-8");
            }
        }
        return out.position() == chars.length ? chars : Arrays.copyOf(chars, out.position());
    }

    /** Whether a declared charset is read as windows-1252: its own labels and ISO-8859-1's, as the WHATWG Encoding standard reads them. */
    private static boolean isWindows1252(String charset) {
        return charset != null && WINDOWS_1252_LABELS.contains(charset);
    }

    /** The byte offset in the UTF-8 file where the character at {@code index} of its decoded text starts. */
    private static int utf8Offset(char[] chars, int index) {
        return new String(chars, 0, index).getBytes(StandardCharsets.UTF_8).length;
    }

    /** The 1-based physical line holding byte {@code offset} (CRLF, LF and lone CR each end a line). */
    private static int lineAt(byte[] body, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (body[i] == '\n' || (body[i] == '\r' && (i + 1 >= body.length || body[i + 1] != '\n'))) {
                line++;
            }
        }
        return line;
    }

    private static boolean isBlank(List<String> fields) {
        for (int i = 0; i < fields.size(); i++) {
            if (!fields.get(i).isEmpty()) {
                return false;
            }
        }
        return true;
    }

    private static String emptyToNull(String s) {
        return s.isEmpty() ? null : s;
    }

    /**
     * The separator a spreadsheet's first line declares ({@code sep=,} read as CSV is the fields "sep=" and ""; another,
     * {@code sep=;}, is one field), or null when the line is no such declaration.
     */
    private static String separatorLine(List<String> fields) {
        String line = String.join(",", fields).strip();
        if (line.length() != 5 || !line.regionMatches(true, 0, "sep=", 0, 4)) return null;
        return line.substring(4);
    }

    /** Which field holds which column; -1 for an absent optional column. */
    private record Header(int size, int country, int phone, int name) {

        static Header of(List<String> names, int line) {
            String prefix = "line " + line + ": ";
            if (names.size() == 1) {
                String only = names.get(0);
                String separator = only.indexOf(';') >= 0 ? "';'" : only.indexOf('\t') >= 0 ? "tabs" : null;
                if (separator != null) {
                    throw new CsvFormatException(line, prefix
                            + "the CSV must be comma-separated (the header looks separated by " + separator + ")");
                }
            }
            // empty names at the end (a spreadsheet's trailing commas, "country,phone,name,") name no column
            int named = names.size();
            while (named > 1 && names.get(named - 1).isBlank()) named--;
            int country = -1;
            int phone = -1;
            int name = -1;
            for (int i = 0; i < named; i++) {
                String column = names.get(i).toLowerCase(Locale.ROOT);
                switch (column) {
                    case "country" -> country = firstOnly(country, i, column, line);
                    case "phone" -> phone = firstOnly(phone, i, column, line);
                    case "name" -> name = firstOnly(name, i, column, line);
                    default -> throw new CsvFormatException(line, prefix
                            + "header must name the columns " + COLUMNS + " (got: " + echo(names) + ")");
                }
            }
            if (phone < 0) {
                throw new CsvFormatException(line, prefix + "header must have a phone column (got: " + echo(names) + ")");
            }
            return new Header(named, country, phone, name);
        }

        private static int firstOnly(int seen, int index, String column, int line) {
            if (seen >= 0) {
                throw new CsvFormatException(line, "line " + line + ": header names the column " + column + " more than once");
            }
            return index;
        }

        private static String echo(List<String> names) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < names.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                if (i == MAX_ECHOED_NAMES) {
                    sb.append("...");
                    break;
                }
                String n = names.get(i);
                sb.append(n.isEmpty() ? "\"\"" : n.length() <= MAX_ECHOED_NAME ? n : n.substring(0, MAX_ECHOED_NAME) + "...");
            }
            return sb.toString();
        }
    }

    /** Splits decoded text into records of trimmed fields, counting physical lines as it goes. */
    private static final class Records {
        private final char[] c;
        private final int end;
        private final StringBuilder quoted = new StringBuilder();
        private int pos;
        private int line = 1;
        /** The physical line the record last returned by {@link #next} starts on. */
        int recordLine;
        /** What is wrong with the record last returned by {@link #next} (its fields are then partial); null if nothing. */
        String problem;

        Records(char[] c, int start, int end) {
            this.c = c;
            this.pos = start;
            this.end = end;
        }

        /** Reads the next record's fields (trimmed) into {@code fields}; false at the end of the text. */
        boolean next(List<String> fields) {
            fields.clear();
            problem = null;
            if (pos >= end) {
                return false;
            }
            recordLine = line;
            while (true) {
                int p = pos;
                while (p < end && (c[p] == ' ' || c[p] == '\t')) {
                    p++;
                }
                if (p < end && c[p] == '"') {
                    pos = p + 1;
                    fields.add(readQuoted().strip());
                    while (pos < end && (c[pos] == ' ' || c[pos] == '\t')) {
                        pos++;
                    }
                    if (pos < end && c[pos] != ',' && c[pos] != '\n' && c[pos] != '\r') {
                        // that record's problem (the rest of its line is skipped), not the file's: the next line
                        // starts a record as any does. Unless what is skipped leaves a quote open: it may open a
                        // field that runs on over lines, which would then be read as rows of their own (or hide them)
                        String unexpected = "unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\")";
                        int quotes = 0;
                        while (pos < end && c[pos] != '\n' && c[pos] != '\r') {
                            if (c[pos] == '"') quotes++;
                            pos++;
                        }
                        if (quotes % 2 != 0) {
                            throw new CsvFormatException(line, "line " + line + ": " + unexpected);
                        }
                        problem = unexpected;
                    }
                } else {
                    p = pos;
                    while (p < end) {
                        char ch = c[p];
                        if (ch == ',' || ch == '\n' || ch == '\r') {
                            break;
                        }
                        p++;
                    }
                    fields.add(trimmed(pos, p));
                    pos = p;
                }
                if (pos >= end) {
                    return true;
                }
                char ch = c[pos++];
                if (ch == ',') {
                    continue;
                }
                if (ch == '\r' && pos < end && c[pos] == '\n') {
                    pos++;
                }
                line++;
                return true;
            }
        }

        /** Reads a quoted field's content; {@code pos} is just past the opening quote and ends past the closing one. */
        private String readQuoted() {
            int openLine = line;
            quoted.setLength(0);
            int runStart = pos;
            while (true) {
                if (pos >= end) {
                    throw new CsvFormatException(openLine, "line " + openLine + ": unterminated quoted field");
                }
                char ch = c[pos];
                if (ch == '"') {
                    quoted.append(c, runStart, pos - runStart);
                    if (pos + 1 < end && c[pos + 1] == '"') {
                        quoted.append('"');
                        pos += 2;
                        runStart = pos;
                        continue;
                    }
                    pos++;
                    return quoted.toString();
                }
                if (ch == '\n' || (ch == '\r' && (pos + 1 >= end || c[pos + 1] != '\n'))) {
                    line++;
                }
                pos++;
            }
        }

        private String trimmed(int from, int to) {
            while (from < to && Character.isWhitespace(c[from])) {
                from++;
            }
            while (to > from && Character.isWhitespace(c[to - 1])) {
                to--;
            }
            return from == to ? "" : new String(c, from, to - from);
        }
    }
}
