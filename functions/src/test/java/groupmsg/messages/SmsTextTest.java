package groupmsg.messages;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SmsTextTest {
    @Test
    void gsmBoundaries() {
        assertThat(SmsText.of("a".repeat(160))).isEqualTo(new SmsText(SmsText.Encoding.GSM_7, 1, 160));
        assertThat(SmsText.of("a".repeat(161)).segments()).isEqualTo(2);
        assertThat(SmsText.of("a".repeat(306)).segments()).isEqualTo(2);
        assertThat(SmsText.of("a".repeat(307)).segments()).isEqualTo(3);
        assertThat(SmsText.of("").segments()).isEqualTo(1);
    }

    @Test
    void extensionCharactersCountTwoAndAreNotSplit() {
        assertThat(SmsText.of("€".repeat(80))).isEqualTo(new SmsText(SmsText.Encoding.GSM_7, 1, 160));
        assertThat(SmsText.of("€".repeat(81)).segments()).isEqualTo(2);
        // 152 plain + one escape pair: the pair cannot straddle the 153-septet boundary
        String text = "a".repeat(152) + "{" + "a".repeat(10);
        assertThat(SmsText.of(text).units()).isEqualTo(164);
        assertThat(SmsText.of(text).segments()).isEqualTo(2);
        assertThat(SmsText.of("a".repeat(152) + "{" + "a".repeat(152)).segments()).isEqualTo(3);
    }

    @Test
    void oneNonGsmCharacterMakesItUcs2() {
        assertThat(SmsText.of("Hello ✓").encoding()).isEqualTo(SmsText.Encoding.UCS_2);
        assertThat(SmsText.of("x".repeat(70) ).encoding()).isEqualTo(SmsText.Encoding.GSM_7);
        assertThat(SmsText.of("✓" + "x".repeat(69))).isEqualTo(new SmsText(SmsText.Encoding.UCS_2, 1, 70));
        assertThat(SmsText.of("✓" + "x".repeat(70)).segments()).isEqualTo(2);
        assertThat(SmsText.of("✓" + "x".repeat(133)).segments()).isEqualTo(2);
        assertThat(SmsText.of("✓" + "x".repeat(134)).segments()).isEqualTo(3);
    }

    @Test
    void surrogatePairsCountTwoUnitsAndAreNotSplit() {
        String emoji = "\uD83D\uDE00";
        assertThat(SmsText.of(emoji.repeat(35))).isEqualTo(new SmsText(SmsText.Encoding.UCS_2, 1, 70));
        assertThat(SmsText.of(emoji.repeat(36)).segments()).isEqualTo(2);
        // 66 units then a pair: the pair moves to the next segment
        assertThat(SmsText.of("✓".repeat(66) + emoji + "✓").segments()).isEqualTo(1); // 69 units fit one SMS
        assertThat(SmsText.of("✓".repeat(66) + emoji + "✓".repeat(10)).segments()).isEqualTo(2);
        assertThat(SmsText.of("✓".repeat(66) + emoji + "✓".repeat(66)).segments()).isEqualTo(3);
    }

    @Test
    void gsmSpecialsAreGsm() {
        assertThat(SmsText.of("Café £5 @ 10:00 – ").encoding()).isEqualTo(SmsText.Encoding.UCS_2); // en dash is not GSM
        assertThat(SmsText.of("Café £5 @ 10:00 - ¿Qué?").encoding()).isEqualTo(SmsText.Encoding.GSM_7);
    }
}
