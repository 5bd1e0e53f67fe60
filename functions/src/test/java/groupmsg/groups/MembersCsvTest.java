package groupmsg.groups;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class MembersCsvTest {

    @Test
    void aRowsLengthIsCountedInUtf8Bytes() {
        for (String name : new String[]{"Ada", "Zoë", "李小龍", "Ann 😀😀", "Smith, \"J\"", "=1+1", null}) {
            StringBuilder csv = new StringBuilder("before\n");
            int bytes = MembersCsv.appendRow(csv, new Member("+14155550123", name, 0, null));
            String row = csv.substring("before\n".length());
            assertThat(bytes).as(name).isEqualTo(row.getBytes(StandardCharsets.UTF_8).length);
        }
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
}
