package groupmsg.groups;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import groupmsg.groups.ImportCsv.Row;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ImportCsvTest {

    private static List<Row> parse(String body) {
        return ImportCsv.parse(body.getBytes(UTF_8));
    }

    private static Row row(int line, String country, String phone, String name) {
        return new Row(line, country, phone, name);
    }

    // ---- the template ----

    @Test
    void templates_example_is_a_valid_number_and_a_row_like_any_other() {
        assertThat(ImportCsv.TEMPLATE).startsWith("country,phone,name\n").doesNotContain("\r");
        assertThat(PhoneNumbers.normalize("(415) 555-0123", "US")).isEqualTo(new PhoneNumbers.Valid("+14155550123"));
        assertThat(parse(ImportCsv.TEMPLATE)).containsExactly(row(2, "US", "(415) 555-0123", "Ada Lovelace"));
        assertThat(parse(ImportCsv.TEMPLATE + "US,(415) 555-0125,Alan\n")).extracting(Row::line).containsExactly(2, 3);
        assertThat(parse("phone\n(415) 555-0123\n")).containsExactly(row(2, null, "(415) 555-0123", null));
    }

    @Test
    void limits_are_the_contracts() {
        assertThat(ImportCsv.MAX_ROWS).isEqualTo(500_000);
        assertThat(ImportCsv.MAX_BYTES).isEqualTo(5_242_880);
    }

    // ---- accepted shapes ----

    static Stream<Arguments> accepted() {
        return Stream.of(
                // name, body, expected rows
                Arguments.of("LF", "country,phone,name\nUS,4155550123,Ada\nGB,020 7946 0018,Bob\n",
                        List.of(row(2, "US", "4155550123", "Ada"), row(3, "GB", "020 7946 0018", "Bob"))),
                Arguments.of("CRLF", "country,phone,name\r\nUS,4155550123,Ada\r\nGB,02079460018,Bob\r\n",
                        List.of(row(2, "US", "4155550123", "Ada"), row(3, "GB", "02079460018", "Bob"))),
                Arguments.of("lone CR", "country,phone,name\rUS,1,Ada\rGB,2,Bob\r",
                        List.of(row(2, "US", "1", "Ada"), row(3, "GB", "2", "Bob"))),
                Arguments.of("mixed endings", "phone\r\n1\n2\r3\r\n4",
                        List.of(row(2, null, "1", null), row(3, null, "2", null), row(4, null, "3", null), row(5, null, "4", null))),
                Arguments.of("no trailing newline", "country,phone,name\nUS,1,Ada",
                        List.of(row(2, "US", "1", "Ada"))),
                Arguments.of("BOM", "\uFEFFcountry,phone,name\r\nUS,1,Ada\r\n",
                        List.of(row(2, "US", "1", "Ada"))),
                Arguments.of("two BOMs (a tool added its own)", "\uFEFF\uFEFFphone,name\n1,Ada\n",
                        List.of(row(2, null, "1", "Ada"))),
                Arguments.of("Excel's separator line", "sep=,\r\ncountry,phone,name\r\nUS,1,Ada\r\n",
                        List.of(row(3, "US", "1", "Ada"))),
                Arguments.of("Excel's separator line after a BOM, upper case", "\uFEFFSEP=,\nphone\n1\n",
                        List.of(row(3, null, "1", null))),
                Arguments.of("header in any order, case and padding", " Name ,PHONE,\tCountry \nAda,1,us\n",
                        List.of(row(2, "us", "1", "Ada"))),
                Arguments.of("quoted header", "\"phone\",\"name\"\n1,Ada\n",
                        List.of(row(2, null, "1", "Ada"))),
                Arguments.of("phone only", "phone\n+14155550123\n",
                        List.of(row(2, null, "+14155550123", null))),
                Arguments.of("phone and name", "phone,name\n+14155550123,Ada\n",
                        List.of(row(2, null, "+14155550123", "Ada"))),
                Arguments.of("values trimmed, empty country and name are null, empty phone is empty",
                        "country,phone,name\n  US  ,  1  ,  Ada  \n,2,\n US ,,x\n",
                        List.of(row(2, "US", "1", "Ada"), row(3, null, "2", null), row(4, "US", "", "x"))),
                Arguments.of("quoted fields with commas and doubled quotes",
                        "country,phone,name\nUS,\"(415) 555-0123\",\"Lovelace, Ada \"\"The Countess\"\"\"\n",
                        List.of(row(2, "US", "(415) 555-0123", "Lovelace, Ada \"The Countess\""))),
                Arguments.of("quoted values are trimmed too, and blanks around quotes ignored",
                        "country,phone,name\n \"US\" , \" 1 \" ,\"  Ada  \"\n",
                        List.of(row(2, "US", "1", "Ada"))),
                Arguments.of("empty quoted field", "country,phone,name\n\"\",1,\"\"\n",
                        List.of(row(2, null, "1", null))),
                Arguments.of("multi-line quoted field keeps line counting right",
                        "country,phone,name\nUS,1,\"Ada\nLovelace\"\nUS,2,\"a\r\nb\r\nc\"\r\nUS,3,\"x\ry\"\nUS,4,Bob\n",
                        List.of(row(2, "US", "1", "Ada\nLovelace"), row(4, "US", "2", "a\r\nb\r\nc"),
                                row(7, "US", "3", "x\ry"), row(9, "US", "4", "Bob"))),
                Arguments.of("quoted field ending in CR before the closing quote",
                        "phone,name\n1,\"a\r\"\n2,b\n",
                        List.of(row(2, null, "1", "a"), row(4, null, "2", "b"))),
                Arguments.of("blank lines skipped but counted", "\n  \ncountry,phone,name\n\nUS,1,Ada\n\r\n \t \n,,\n , , \nGB,2,Bob\n\n\n",
                        List.of(row(5, "US", "1", "Ada"), row(10, "GB", "2", "Bob"))),
                Arguments.of("a row of empty quoted fields is blank", "phone,name\n\"\",\"  \"\n1,a\n",
                        List.of(row(3, null, "1", "a"))),
                Arguments.of("a quote inside an unquoted field is text", "phone,name\n1,Dwayne \"The Rock\" J\n",
                        List.of(row(2, null, "1", "Dwayne \"The Rock\" J"))),
                Arguments.of("unicode", "country,phone,name\nFR,01 23 45 67 89,Zoë 中文 😀\n",
                        List.of(row(2, "FR", "01 23 45 67 89", "Zoë 中文 😀"))),
                Arguments.of("no-break space is kept, not trimmed", "phone,name\n1,\u00a0Ada\u00a0\n",
                        List.of(row(2, null, "1", "\u00a0Ada\u00a0"))),
                Arguments.of("trailing comma means an empty last field", "phone,name\n1,\n",
                        List.of(row(2, null, "1", null))),
                Arguments.of("a row that stops after its phone leaves the rest empty", "country,phone,name\nUS,1,Ada\n\nUS,2\n",
                        List.of(row(2, "US", "1", "Ada"), row(4, "US", "2", null))),
                Arguments.of("CRLF, as spreadsheets write it", "country,phone,name\r\nUS,1,Ada\r\n",
                        List.of(row(2, "US", "1", "Ada"))),
                Arguments.of("empty columns a spreadsheet adds at the end name nothing and hold nothing",
                        "country,phone,name,,\r\nUS,1,Ada,,\r\nUS,2,Bob,\r\nUS,3\r\nUS,4,Cy, ,\r\n",
                        List.of(row(2, "US", "1", "Ada"), row(3, "US", "2", "Bob"), row(4, "US", "3", null),
                                row(5, "US", "4", "Cy"))),
                Arguments.of("an empty cell past the header's columns", "phone,name\n1,Ada,\n",
                        List.of(row(2, null, "1", "Ada"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void parses(String name, String body, List<Row> expected) {
        assertThat(parse(body)).containsExactlyElementsOf(expected);
    }

    // ---- rejected files ----

    static Stream<Arguments> rejected() {
        return Stream.of(
                // body, line, message
                Arguments.of("", 0, "the CSV has no header"),
                Arguments.of("\uFEFF", 0, "the CSV has no header"),
                Arguments.of("sep=;\nphone;name\n1;Ada\n", 1, "line 1: the CSV must be comma-separated (its first line declares ';')"),
                Arguments.of("\n\r\n  \n,,\n", 0, "the CSV has no header"),
                Arguments.of("country,phone,name", 0, "the CSV has no data rows"),
                Arguments.of("country,phone,name\r\n", 0, "the CSV has no data rows"),
                Arguments.of("country,phone,name\n\n , ,\n\n", 0, "the CSV has no data rows"),
                Arguments.of("foo,bar\n1,2\n", 1, "line 1: header must name the columns country, phone, name (got: foo, bar)"),
                Arguments.of("US,4155550123,Ada\nUS,4155550124,Bob\n", 1,
                        "line 1: header must name the columns country, phone, name (got: US, 4155550123, Ada)"),
                Arguments.of("\n\ncountry,phone,mobile\n", 3,
                        "line 3: header must name the columns country, phone, name (got: country, phone, mobile)"),
                Arguments.of("country,,phone\nUS,,1\n", 1,
                        "line 1: header must name the columns country, phone, name (got: country, \"\", phone)"),
                Arguments.of("phone," + "x".repeat(40) + "\n", 1,
                        "line 1: header must name the columns country, phone, name (got: phone, " + "x".repeat(30) + "...)"),
                Arguments.of("phone,a,b,c,d,e,f,g,h,i,j,k,l\n", 1,
                        "line 1: header must name the columns country, phone, name (got: phone, a, b, c, d, e, f, g, h, i, ...)"),
                Arguments.of("country,name\nUS,Ada\n", 1, "line 1: header must have a phone column (got: country, name)"),
                Arguments.of("phone,Phone\n1,2\n", 1, "line 1: header names the column phone more than once"),
                Arguments.of("name,phone, NAME \n", 1, "line 1: header names the column name more than once"),
                Arguments.of("country;phone;name\nUS;1;Ada\n", 1,
                        "line 1: the CSV must be comma-separated (the header looks separated by ';')"),
                Arguments.of("country\tphone\tname\nUS\t1\tAda\n", 1,
                        "line 1: the CSV must be comma-separated (the header looks separated by tabs)"),
                Arguments.of("phone,name\n1,\"a\nb\"\n2,\"c\n3,d\n", 4, "line 4: unterminated quoted field"),
                Arguments.of("phone,name\n1,\"", 2, "line 2: unterminated quoted field"),
                Arguments.of("\"phone,name\n1,a\n", 1, "line 1: unterminated quoted field"),
                // a badly quoted line is its own problem; a file of nothing else has no row in its columns
                Arguments.of("phone,name\n1,\"Ada\" Lovelace\n", 2, "line 2: no row is in the header's columns "
                        + "(unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\"))"),
                Arguments.of("phone,name\n1,\"Ada\nfoo\"bar\"\n", 3,
                        "line 3: unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\")"),
                // what is skipped holds a quote: it may open a field over lines, read as rows of their own
                Arguments.of("country,phone,name\nUS,\"4155550123\" x,\"Lee\nUS,4155550199,Eve\"\nUS,4155550124,Ada\n", 2,
                        "line 2: unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\")"),
                Arguments.of("\"phone\" x,name\n1,Ada\n", 1,
                        "line 1: unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\")"));
    }

    @ParameterizedTest
    @MethodSource("rejected")
    void rejects(String body, int line, String message) {
        CsvFormatException e = catchThrowableOfType(CsvFormatException.class, () -> parse(body));
        assertThat(e).as("expected a CsvFormatException").isNotNull();
        assertThat(e.getMessage()).isEqualTo(message);
        assertThat(e.line()).isEqualTo(line);
    }

    /** A line out of the header's columns is that line's problem, reported with the others; the rest imports. */
    @Test
    void a_row_out_of_its_columns_is_kept_with_its_problem() {
        String extra = "4 fields, the header has 3 (a value with a comma must be in double quotes)";
        assertThat(parse("country,phone,name,\nUS,1,a,x\nUS,2,b\n")).containsExactly(new Row(2, null, "1", null, extra),
                new Row(3, "US", "2", "b"));
        assertThat(parse("country,phone,name\nUS,4155550123,Ada\nUS,4155550124,Smith, John\nUS,4155550125,Bob\n"))
                .containsExactly(new Row(2, "US", "4155550123", "Ada"), new Row(3, null, "4155550124", null, extra),
                        new Row(4, "US", "4155550125", "Bob"));
        assertThat(parse("country,name,phone\nUS,Ada\nUS,Bob,4155550124\n"))
                .containsExactly(new Row(2, null, "", null, "2 fields, the header has 3"), new Row(3, "US", "4155550124", "Bob"));
        assertThat(parse("country,phone,name\nUS\nUS,4155550124\n")).containsExactly(
                new Row(2, null, "", null, "1 field, the header has 3"), new Row(3, "US", "4155550124", null));
        // a badly quoted line: reported, the rest of its line skipped, and the next lines import
        String quote = "unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\")";
        assertThat(parse("country,phone,name\r\nUS,4155550123,\"Bob\" Jr,x\r\nUS,4155550124,Ada\nUS,\"4155550125\"x,Eve\n"
                + "US,4155550126,Zed\n")).containsExactly(new Row(2, null, "4155550123", null, quote),
                new Row(3, "US", "4155550124", "Ada"), new Row(4, null, "4155550125", null, quote),
                new Row(5, "US", "4155550126", "Zed"));
        // quotes in the skipped rest that close what they open hold nothing open
        assertThat(parse("country,phone,name\nUS,\"4155550123\" x,\"Bob\" \"Jr\"\nUS,4155550124,Ada\n"))
                .containsExactly(new Row(2, null, "4155550123", null, quote), new Row(3, "US", "4155550124", "Ada"));
    }

    /**
     * A row with a country but no phone and no name (a spreadsheet's country column copied down past the last number)
     * is no member: skipped as a blank line, not listed as invalid. One with a name but no phone is kept: someone meant
     * a member there.
     */
    @Test
    void a_row_with_only_a_country_is_skipped_as_blank() {
        assertThat(parse("country,phone,name\nUS,4155550123,Ada\nUS,,\nUS, ,\nUS,,Bob\n")).containsExactly(
                new Row(2, "US", "4155550123", "Ada", null), new Row(5, "US", "", "Bob", null));
        assertThat(parse("phone,country\n4155550123,US\n,US\n")).containsExactly(new Row(2, "US", "4155550123", null, null));
        assertThatThrownBy(() -> parse("country,phone,name\nUS,,\nCA,,\n")).isInstanceOf(CsvFormatException.class)
                .hasMessageContaining("no data rows");
        // nor are they rows of the file's 500,000: a full file with the country copied down past its end imports
        StringBuilder full = new StringBuilder("phone,country\n");
        for (int i = 0; i < ImportCsv.MAX_ROWS; i++) full.append(i).append(",US\n");
        full.append(",US\n".repeat(10));
        assertThat(parse(full.toString())).hasSize(ImportCsv.MAX_ROWS);
    }

    /** A file of which no row is in the header's columns is not in them: a 400 for the file, not one line each. */
    @Test
    void a_file_whose_rows_are_all_out_of_its_columns_is_rejected() {
        CsvFormatException e = catchThrowableOfType(CsvFormatException.class,
                () -> parse("country,phone,name\nUS;4155550123;Ada\nUS;4155550124;Bob\n"));
        assertThat(e).isNotNull();
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).isEqualTo("line 2: no row is in the header's columns (1 field, the header has 3)");
    }

    @Test
    void rejects_a_nul_byte_with_its_offset() {
        byte[] body = "phone,name\n1,Ada\0\n".getBytes(UTF_8);
        assertThatThrownBy(() -> ImportCsv.parse(body))
                .isInstanceOf(CsvFormatException.class)
                .hasMessage("the file is not text: it contains a NUL byte at offset 16");
    }

    @Test
    void rejects_utf16_with_advice() {
        byte[] le = {(byte) 0xFF, (byte) 0xFE, 'p', 0, 'h', 0};
        byte[] be = {(byte) 0xFE, (byte) 0xFF, 0, 'p', 0, 'h'};
        for (byte[] body : List.of(le, be)) {
            assertThatThrownBy(() -> ImportCsv.parse(body))
                    .isInstanceOf(CsvFormatException.class)
                    .hasMessage("the file is UTF-16 encoded; save it as CSV UTF-8");
        }
    }

    static Stream<Arguments> badUtf8() {
        byte[] prefix = "phone,name\r\n1,\"a\nb\"\n2,Jos".getBytes(UTF_8); // 25 bytes, ends on line 4
        return Stream.of(
                Arguments.of("Latin-1 e-acute", concat(prefix, new byte[] {(byte) 0xE9, '\n'}), 4, 25),
                Arguments.of("lone continuation byte", concat(prefix, new byte[] {(byte) 0x80}), 4, 25),
                Arguments.of("overlong encoding", concat(prefix, new byte[] {(byte) 0xC0, (byte) 0xAF}), 4, 25),
                Arguments.of("encoded surrogate", concat(prefix, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}), 4, 25),
                Arguments.of("truncated sequence at the end", concat(prefix, new byte[] {(byte) 0xE2, (byte) 0x82}), 4, 25),
                Arguments.of("after a valid multibyte char", concat("phone\n\r\u00e9".getBytes(UTF_8), new byte[] {(byte) 0xFF}), 3, 9));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badUtf8")
    void rejects_bad_utf8_with_line_and_offset(String name, byte[] body, int line, int offset) {
        CsvFormatException e = catchThrowableOfType(CsvFormatException.class, () -> ImportCsv.parse(body));
        assertThat(e).isNotNull();
        assertThat(e.getMessage())
                .isEqualTo("line " + line + ": not valid UTF-8 at offset " + offset + "; save the file as CSV UTF-8");
        assertThat(e.line()).isEqualTo(line);
    }

    @Test
    void reads_a_body_declared_windows_1252_or_iso_8859_1_in_windows_1252() {
        // Excel's "CSV (Comma delimited)" on Windows: René, Zoë and a euro sign (0x80, only in windows-1252)
        byte[] body = concat("phone,name\n+14155550100,Ren".getBytes(UTF_8),
                new byte[] {(byte) 0xE9, '\n'}, "+14155550101,Zo".getBytes(UTF_8), new byte[] {(byte) 0xEB, ' ', (byte) 0x80, '\n'});
        for (String declared : List.of("windows-1252", "cp1252", "iso-8859-1", "latin1", "us-ascii")) {
            assertThat(ImportCsv.parse(body, declared)).as(declared).containsExactly(
                    row(2, null, "+14155550100", "Ren\u00e9"), row(3, null, "+14155550101", "Zo\u00eb \u20ac"));
        }
        // a UTF-8 byte-order mark before it (an editor's) is no part of the header
        assertThat(ImportCsv.parse(concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, body), "windows-1252"))
                .extracting(Row::name).containsExactly("Ren\u00e9", "Zo\u00eb \u20ac");
        // undeclared, or declared in a charset not read, it is refused, saying which charsets are read
        assertThatThrownBy(() -> ImportCsv.parse(body, null))
                .hasMessage("line 2: not valid UTF-8 at offset 27; save the file as CSV UTF-8");
        assertThatThrownBy(() -> ImportCsv.parse(body, "shift_jis")).hasMessage("line 2: not valid UTF-8 at offset 27"
                + " (the declared charset shift_jis is not read; windows-1252 and ISO-8859-1 are); save the file as CSV UTF-8");
    }

    @Test
    void reads_valid_utf8_as_utf8_whatever_charset_was_declared() {
        // a client's default label (ISO-8859-1) on a UTF-8 file must not turn José into JosÃ©
        byte[] body = "\uFEFFphone,name\n+14155550100,Jos\u00e9\n".getBytes(UTF_8);
        assertThat(ImportCsv.parse(body, "iso-8859-1")).containsExactly(row(2, null, "+14155550100", "Jos\u00e9"));
    }

    @Test
    void refuses_bytes_windows_1252_does_not_define_with_their_line() {
        byte[] body = concat("phone,name\n+14155550100,Ann\n+14155550101,A".getBytes(UTF_8), new byte[] {(byte) 0x81, '\n'});
        assertThatThrownBy(() -> ImportCsv.parse(body, "windows-1252"))
                .isInstanceOf(CsvFormatException.class)
                .hasMessage("line 3: byte 0x81 at offset 42 is no windows-1252 character; save the file as CSV UTF-8");
    }

    @Test
    void rejects_replacement_characters_with_their_line() {
        // what a gateway that decodes leniently hands over for a Windows-1252 "Renée": the bytes became U+FFFD
        byte[] body = "phone,name\n+14155550100,Ada\n+14155550101,Ren\uFFFDe\n".getBytes(UTF_8);
        CsvFormatException e = catchThrowableOfType(CsvFormatException.class, () -> ImportCsv.parse(body));
        assertThat(e).isNotNull();
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).isEqualTo("line 3: holds U+FFFD, which replaces bytes that were not UTF-8; save the file as CSV UTF-8");
    }

    @Test
    void rejects_more_than_5_mb_before_reading_it() {
        byte[] body = new byte[ImportCsv.MAX_BYTES + 1];
        Arrays.fill(body, (byte) 0); // would be a NUL error if it were read
        assertThatThrownBy(() -> ImportCsv.parse(body))
                .isInstanceOf(CsvFormatException.class)
                .hasMessage("the file is larger than 5 MB")
                .extracting(t -> ((CsvFormatException) t).line()).isEqualTo(0);
    }

    @Test
    void accepts_exactly_max_rows_and_rejects_one_more() {
        StringBuilder sb = new StringBuilder("phone\n");
        for (int i = 0; i < ImportCsv.MAX_ROWS; i++) {
            sb.append(i).append('\n');
        }
        List<Row> rows = parse(sb.toString());
        assertThat(rows).hasSize(ImportCsv.MAX_ROWS);
        assertThat(rows.get(ImportCsv.MAX_ROWS - 1)).isEqualTo(row(ImportCsv.MAX_ROWS + 1, null, "499999", null));

        sb.append("\n\n"); // blank lines do not count
        assertThat(parse(sb.toString())).hasSize(ImportCsv.MAX_ROWS);

        sb.append("500000\n");
        CsvFormatException e = catchThrowableOfType(CsvFormatException.class, () -> parse(sb.toString()));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).isEqualTo("the CSV has more than 500000 rows; split it into several imports");
        assertThat(e.line()).isZero();
    }

    @Test
    void null_body_is_a_programming_error() {
        assertThatThrownBy(() -> ImportCsv.parse(null)).isInstanceOf(NullPointerException.class);
    }

    // ---- size: 100,000 named rows in 5 MB, or 403,000 numbers alone ----

    @Test
    void parses_100000_rows_of_5_mb() {
        byte[] body = ImportCsvFixtures.bigBody();
        assertThat(body.length).isEqualTo(5_178_910).isLessThanOrEqualTo(ImportCsv.MAX_BYTES);

        List<Row> rows = ImportCsv.parse(body);

        assertThat(rows).hasSize(ImportCsvFixtures.BIG_ROWS);
        assertThat(rows.get(0)).isEqualTo(row(2, "US", "(415) 555-0000", "Lovelace, Ada #0 xxxxxx"));
        assertThat(rows.get(1)).isEqualTo(row(3, "US", "(415) 555-0001", "Member number 1 xxxxxxxxxxxx"));
        assertThat(rows.get(54_321)).isEqualTo(row(54_323, "US", "(415) 555-4321", "Member number 54321 xxxxxxxxxxxx"));
        assertThat(rows.get(99_999)).isEqualTo(row(100_001, "US", "(415) 555-9999", "Member number 99999 xxxxxxxxxxxx"));
    }

    /**
     * A 5 MB file of numbers alone is taken whole: API.md's limit is the 5 MB (before, a 100,000-row cap refused any
     * list of numbers over 1.3 MB).
     */
    @Test
    void parses_a_5_mb_file_of_numbers_alone() {
        byte[] body = ImportCsvFixtures.phonesOnly(403_000);
        assertThat(body.length).isLessThanOrEqualTo(ImportCsv.MAX_BYTES).isGreaterThan(ImportCsv.MAX_BYTES - 13 * 1_000);
        List<Row> rows = ImportCsv.parse(body);
        assertThat(rows).hasSize(403_000);
        assertThat(rows.getLast()).isEqualTo(row(403_001, null, "+14152402999", null));
    }

    // ---- properties ----

    /** A generated CSV file and the rows it must parse to. */
    record Generated(String text, List<Row> expected) {
    }

    /** Any rows of arbitrary text, written with proper quoting, parse back to the same (trimmed) values and lines. */
    @Property(tries = 1500)
    void written_rows_parse_back(@ForAll("csvFiles") Generated file) {
        byte[] body = file.text().getBytes(UTF_8);
        if (file.expected().isEmpty()) {
            assertThatThrownBy(() -> ImportCsv.parse(body)).isInstanceOf(CsvFormatException.class)
                    .hasMessage("the CSV has no data rows");
        } else {
            assertThat(ImportCsv.parse(body)).containsExactlyElementsOf(file.expected());
        }
    }

    /** Whatever follows a good header, the parser answers with rows on increasing lines or a CsvFormatException. */
    @Property(tries = 1500)
    void arbitrary_text_never_breaks_the_parser(@ForAll("messyText") String text, @ForAll boolean raw) {
        byte[] body = raw ? concat("phone,name\n".getBytes(UTF_8), text.getBytes(UTF_8)) : text.getBytes(UTF_8);
        try {
            List<Row> rows = ImportCsv.parse(body);
            int last = 0;
            for (Row r : rows) {
                assertThat(r.line()).isGreaterThan(last);
                assertThat(r.phone()).isNotNull().isEqualTo(r.phone().strip());
                last = r.line();
            }
            assertThat(rows).isNotEmpty();
        } catch (CsvFormatException e) {
            assertThat(e.getMessage()).isNotBlank();
            assertThat(e.line()).isBetween(0, (int) text.chars().filter(c -> c == '\n' || c == '\r').count() + 2);
        }
    }

    @Property(tries = 500)
    void arbitrary_bytes_never_break_the_parser(@ForAll byte[] bytes) {
        byte[] body = concat("phone\n".getBytes(UTF_8), bytes);
        try {
            assertThat(ImportCsv.parse(body)).isNotEmpty();
        } catch (CsvFormatException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
    }

    private static final List<String> TOKENS = List.of(
            "\"", "\"\"", ",", "\r", "\n", "\r\n", " ", "\t", "a", "Z", "0", "+1", "é", "ß", "中", "😀", "👍🏽",
            "\u00a0", "\u2028", ";", "'", "phone", "name");

    @Provide
    Arbitrary<String> messyText() {
        return Arbitraries.of(TOKENS).list().ofMaxSize(40).map(l -> String.join("", l));
    }

    @Provide
    Arbitrary<Generated> csvFiles() {
        Arbitrary<String> value = Arbitraries.of(TOKENS).list().ofMaxSize(8).map(l -> String.join("", l));
        Arbitrary<List<String>> columns = Arbitraries.of(
                        List.of("phone"), List.of("country", "phone"), List.of("phone", "name"), List.of("country", "phone", "name"))
                .flatMap(cols -> Arbitraries.shuffle(cols));
        Arbitrary<String> eol = Arbitraries.of("\n", "\r\n", "\r");
        Arbitrary<Integer> seeds = Arbitraries.integers();
        return Combinators.combine(columns, value.list().ofMaxSize(60), eol.list().ofMinSize(1).ofMaxSize(4),
                        Arbitraries.of(true, false), seeds)
                .as(ImportCsvTest::write);
    }

    /** Writes a CSV the way a careful writer would, varying the things that must not matter. */
    private static Generated write(List<String> columns, List<String> values, List<String> eols, boolean bom, int seed) {
        java.util.Random random = new java.util.Random(seed);
        StringBuilder text = new StringBuilder(bom ? "\uFEFF" : "");
        List<Integer> recordStarts = new ArrayList<>();
        List<String[]> records = new ArrayList<>();
        int e = 0;
        // leading blank lines, then the header in random case with blanks around the names
        for (int i = random.nextInt(3); i > 0; i--) {
            text.append(random.nextBoolean() ? "" : "  ").append(eols.get(e++ % eols.size()));
        }
        List<String> header = new ArrayList<>();
        for (String c : columns) {
            String name = random.nextBoolean() ? c.toUpperCase() : c;
            header.add((random.nextBoolean() ? " " : "") + name + (random.nextBoolean() ? "\t" : ""));
        }
        text.append(String.join(",", header)).append(eols.get(e++ % eols.size()));
        int v = 0;
        while (v + columns.size() <= values.size()) {
            if (random.nextInt(8) == 0) {
                text.append(random.nextBoolean() ? "" : " \t").append(eols.get(e++ % eols.size()));
            }
            String[] record = values.subList(v, v + columns.size()).toArray(String[]::new);
            v += columns.size();
            recordStarts.add(text.length());
            records.add(record);
            for (int i = 0; i < record.length; i++) {
                if (i > 0) {
                    text.append(',');
                }
                text.append(quote(record[i], random.nextInt(4) == 0));
            }
            // the last record may go without a line ending
            if (v + columns.size() <= values.size() || random.nextBoolean()) {
                text.append(eols.get(e++ % eols.size()));
            }
        }
        List<Row> expected = new ArrayList<>();
        String all = text.toString();
        for (int r = 0; r < records.size(); r++) {
            String[] record = records.get(r);
            if (Arrays.stream(record).allMatch(String::isBlank)) {
                continue; // blank records are skipped
            }
            String country = null;
            String phone = null;
            String name = null;
            for (int i = 0; i < record.length; i++) {
                String value = record[i].strip();
                switch (columns.get(i)) {
                    case "country" -> country = value.isEmpty() ? null : value;
                    case "phone" -> phone = value;
                    default -> name = value.isEmpty() ? null : value;
                }
            }
            if (phone.isEmpty() && name == null) continue; // a country alone is no member: skipped as blank
            expected.add(new Row(lineAt(all, recordStarts.get(r)), country, phone, name));
        }
        return new Generated(all, expected);
    }

    private static String quote(String value, boolean always) {
        boolean needs = value.isEmpty() ? always
                : always || value.indexOf('"') >= 0 || value.indexOf(',') >= 0 || value.indexOf('\n') >= 0
                        || value.indexOf('\r') >= 0;
        return needs ? "\"" + value.replace("\"", "\"\"") + "\"" : value;
    }

    /** The 1-based physical line of char {@code offset}, counting CRLF, LF and lone CR as one line break each. */
    private static int lineAt(String text, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            char c = text.charAt(i);
            if (c == '\n' || (c == '\r' && (i + 1 >= text.length() || text.charAt(i + 1) != '\n'))) {
                line++;
            }
        }
        return line;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) out.writeBytes(part);
        return out.toByteArray();
    }
}
