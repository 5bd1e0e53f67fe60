package groupmsg.platform.api;

import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class CsvTest {

    /** What text adds to the Lambda answer, which carries a CSV body as a JSON string. */
    private static int answerBytes(String text) {
        return Json.write(text).getBytes(StandardCharsets.UTF_8).length - 2; // the string's own quotes
    }

    @Test
    void textIsMeasuredAsTheAnswerCarriesIt() {
        for (String text : new String[]{"Ada", "Zoë", "李小龍", "Ann 😀😀", "Smith, \"J\"", "=1+1", "back\\slash", "a\tb\r\n",
                "\u0001", "𝕏/y", ""}) {
            assertThat(Csv.answerBytes("before" + text, "before".length())).as(text).isEqualTo(answerBytes(text));
        }
    }

    @Test
    void aPartTakesWholeRowsWhileTheyFitAndLeavesTheRestForTheNext() {
        // a line end is two bytes as the answer escapes it: the header is 3, a row "abc" 5
        var part = new CsvPart("h\n", 3 + 5 + 5 + 4);
        assertThat(part.add("abc")).isTrue();
        assertThat(part.add("abc")).isTrue();
        assertThat(part.add("abc")).as("5 bytes where 4 are left").isFalse();
        assertThat(part.add("ab")).isTrue();
        assertThat(part.text()).isEqualTo("h\nabc\nabc\nab\n");
        assertThat(part.rows()).isEqualTo(3);
        // quotes count twice, as the answer escapes them
        var quoted = new CsvPart("", 6);
        assertThat(quoted.add("\"\"")).isTrue();     // 2 quotes (4) and a line end (2)
        assertThat(quoted.add("x")).isFalse();
        // a row larger than a part still goes, alone, rather than stop the export for good
        var tiny = new CsvPart("h\n", 3);
        assertThat(tiny.add("a row longer than the part")).isTrue();
        assertThat(tiny.add("b")).isFalse();
    }

    @Test
    void cellsAreQuotedAsRfc4180SaysAndFormulasAreNotRun() {
        assertThat(Csv.cell(null)).isEmpty();
        assertThat(Csv.cell("Ada Lovelace")).isEqualTo("Ada Lovelace");
        assertThat(Csv.cell("Smith, Jane")).isEqualTo("\"Smith, Jane\"");
        assertThat(Csv.cell("Bob \"B\"")).isEqualTo("\"Bob \"\"B\"\"\"");
        assertThat(Csv.cell("=SUM(A1)")).isEqualTo("'=SUM(A1)");
        assertThat(Csv.cell("+1")).isEqualTo("'+1");
        assertThat(Csv.cell("-x")).isEqualTo("'-x");
        assertThat(Csv.cell("@me")).isEqualTo("'@me");
        assertThat(Csv.cell("\tTab")).isEqualTo("'\tTab");
        assertThat(Csv.cell("a-b=c")).isEqualTo("a-b=c");
        // where Excel splits at ';' (German, French... settings), each piece after one is a cell of its own
        assertThat(Csv.cell("Anna;=cmd|' /C calc'!A0")).isEqualTo("Anna;'=cmd|' /C calc'!A0");
        assertThat(Csv.cell("x; -1;;@y")).isEqualTo("x; '-1;;'@y");
        assertThat(Csv.cell("Smith; Jane, =2")).isEqualTo("\"Smith; Jane, =2\"");
        assertThat(Csv.cell("a;b")).isEqualTo("a;b");
        assertThat(Csv.cell("carrier said\n=HYPERLINK(1)")).isEqualTo("\"carrier said\n'=HYPERLINK(1)\"");
        assertThat(Csv.cell("Anna;\"=x\"")).isEqualTo("\"Anna;'\"\"=x\"\"\"");
    }

    /** A cell's value as a CSV reader gives it: outer quotes off, doubled ones single. */
    private static String unquoted(String cell) {
        return cell.startsWith("\"") ? cell.substring(1, cell.length() - 1).replace("\"\"", "\"") : cell;
    }

    @Test
    void anImportTakesTheGuardOffAgainAndNothingElse() {
        for (String name : new String[]{"=SUM(A1)", "+1", "-x", "@me", "\tTab", "Ada", "'quoted'", "'", "O'Brien", "'=x", "'+1 rep", "''@a",
                "Anna;=cmd", "x; -1;;@y", "a;'=b", "a;'b", ";", "a; ", "'; '=x",
                "a\n=b", "a\r\n '-b", "\"=x\"", "'\"@y", "\"plain\""}) {
            assertThat(Csv.unguard(unquoted(Csv.cell(name)))).as(name).isEqualTo(name);
        }
        assertThat(Csv.unguard("'Ada")).isEqualTo("'Ada");
        assertThat(Csv.unguard("Anna;'=x")).isEqualTo("Anna;=x");
        assertThat(Csv.cell("'=x")).as("a name typed guarded keeps its marker under a second").isEqualTo("''=x");
        assertThat(Csv.unguard(null)).isNull();
    }
}
