package groupmsg.groups;

import groupmsg.platform.json.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class MembersCsvTest {

    /** What a row adds to the Lambda answer, which carries the CSV as a JSON string. */
    private static int answerBytes(String row) {
        return Json.write(row).getBytes(StandardCharsets.UTF_8).length - 2; // the string's own quotes
    }

    @Test
    void aRowsLengthIsCountedAsTheAnswerCarriesIt() {
        for (String name : new String[]{"Ada", "Zoë", "李小龍", "Ann 😀😀", "Smith, \"J\"", "=1+1", "back\\slash", "a\tb", null}) {
            StringBuilder csv = new StringBuilder("before\n");
            int bytes = MembersCsv.appendRow(csv, new Member("+14155550123", name, 0, null));
            assertThat(bytes).as(name).isEqualTo(answerBytes(csv.substring("before\n".length())));
        }
    }

    @Test
    void noStepOfAnExportCanAddMoreThanItsBoundSoAPartStaysUnderTheLimits() {
        int perRow = GroupService.EXPORT_STEP_MAX_BYTES / GroupService.EXPORT_STEP;
        for (String name : new String[]{"\"".repeat(100), "😀".repeat(100), "=" + "\"".repeat(99), "\t" + "😀".repeat(99),
                "\\".repeat(100), "𝕏".repeat(100)}) {
            for (String phone : new String[]{"+14155550123", "+999999999999999", "+442079460145"}) {
                StringBuilder csv = new StringBuilder();
                assertThat(MembersCsv.appendRow(csv, new Member(phone, name, 0, null))).as(name).isLessThanOrEqualTo(perRow);
            }
        }
        // the last step read when a part is one step short of the bound still leaves it under Lambda's 6 MB answer
        assertThat(GroupService.EXPORT_MAX_BYTES).isLessThan(5 * 1024 * 1024);
    }

    @Test
    void cellsAreQuotedAsRfc4180SaysAndFormulasAreNotRun() {
        assertThat(MembersCsv.cell(null)).isEmpty();
        assertThat(MembersCsv.cell("Ada Lovelace")).isEqualTo("Ada Lovelace");
        assertThat(MembersCsv.cell("Smith, Jane")).isEqualTo("\"Smith, Jane\"");
        assertThat(MembersCsv.cell("Bob \"B\"")).isEqualTo("\"Bob \"\"B\"\"\"");
        assertThat(MembersCsv.cell("=SUM(A1)")).isEqualTo("'=SUM(A1)");
        assertThat(MembersCsv.cell("+1")).isEqualTo("'+1");
        assertThat(MembersCsv.cell("-x")).isEqualTo("'-x");
        assertThat(MembersCsv.cell("@me")).isEqualTo("'@me");
        assertThat(MembersCsv.cell("\tTab")).isEqualTo("'\tTab");
        assertThat(MembersCsv.cell("a-b=c")).isEqualTo("a-b=c");
    }

    @Test
    void anImportTakesTheGuardOffAgainAndNothingElse() {
        for (String name : new String[]{"=SUM(A1)", "+1", "-x", "@me", "\tTab", "Ada", "'quoted'", "'", "O'Brien"}) {
            assertThat(MembersCsv.unguard(MembersCsv.cell(name).replace("\"", ""))).as(name).isEqualTo(name);
        }
        assertThat(MembersCsv.unguard("'Ada")).isEqualTo("'Ada");
        assertThat(MembersCsv.unguard(null)).isNull();
    }
}
