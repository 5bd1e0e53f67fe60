package groupmsg.platform.api;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Names as they are kept and compared, and what a name may not be. */
class TextNamesTest {
    @Test
    void aMessagesTextIsComposedButNeverLonger() {
        // "Cafe" + a combining accent: the same text composed, which GSM-7 carries
        assertThat(Text.composed("Cafe\u0301 opens at 9")).isEqualTo("Caf\u00e9 opens at 9");
        assertThat(Text.composed("Zoe\u0308")).isEqualTo("Zo\u00eb");
        assertThat(Text.composed("plain ASCII")).isEqualTo("plain ASCII");
        assertThat(Text.composed("\ud83d\ude00 ok")).isEqualTo("\ud83d\ude00 ok");
        // U+0958 is two characters in NFC: a text it would lengthen stays as typed (within the limits it was checked against)
        assertThat(Text.composed("\u0958\u0958 e\u0301")).isEqualTo("\u0958\u0958 e\u0301");
    }

    @Test
    void aNameIsKeptInNfcWithoutInvisibleEdges() {
        assertThat(Text.tidyName("\ufeffCafe\u0301\u200b")).isEqualTo("Caf\u00e9");
        assertThat(Text.tidyName("\u200e G1 \u2060")).isEqualTo("G1");
        assertThat(Text.tidyName("caf\u200b\u00e9")).as("inside, left alone").isEqualTo("caf\u200b\u00e9");
    }

    @Test
    void aFlagsTagCharactersArePartOfTheName() {
        String england = "\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc65\udb40\udc6e\udb40\udc67\udb40\udc7f";
        assertThat(Text.tidyName("Fans " + england)).isEqualTo("Fans " + england);
        String family = "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67";
        assertThat(Text.tidyName(family)).isEqualTo(family);
    }

    @Test
    void aNameIsOneLineWithSomethingVisible() {
        assertThat(Text.nameShapeProblem("Ann\nLee")).isEqualTo(Text.LINE_BREAK_PROBLEM);
        assertThat(Text.nameShapeProblem("Ann\u2028Lee")).isEqualTo(Text.LINE_BREAK_PROBLEM);
        assertThat(Text.nameShapeProblem("\u200b\ufeff")).isEqualTo("must not be blank");
        assertThat(Text.nameShapeProblem("Ann\tLee")).isNull();
    }

    @Test
    void aNameLongerInNfcThanSentIsTooLongAsItIsKept() {
        String devanagariQa = "\u0958"; // one code point, two once composed (a composition exclusion)
        assertThat(Text.tidyName(devanagariQa)).isEqualTo("\u0915\u093c");
        assertThat(Text.tidiedLengthProblem(devanagariQa.repeat(50), 100)).isNull();
        assertThat(Text.tidiedLengthProblem(devanagariQa.repeat(51), 100)).isEqualTo("must be at most 100 characters as it is kept (in NFC it is 102)");
        assertThat(Text.tidiedLengthProblem("x".repeat(100), 100)).isNull();
    }

    /**
     * Only the ends are looked at: a long run of white space inside a text (a 2 MB JSON string between two letters)
     * is read once. The patterns these were before retried from each character of the run: quadratic, minutes.
     */
    @Test
    void stripsTheEndsOfALongTextWithoutRereadingItsInside() {
        String inside = "x" + " ".repeat(2_000_000) + "\u200b".repeat(1_000) + "x";
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            assertThat(Text.stripWhiteSpace(inside)).isEqualTo(inside);
            assertThat(Text.tidyName(inside)).isEqualTo(inside);
        });
        assertThat(Text.stripWhiteSpace("\u00a0 \ta\u2007 b\u202f\u3000")).isEqualTo("a\u2007 b");
        assertThat(Text.stripWhiteSpace("\u200bAda")).as("only white space").isEqualTo("\u200bAda");
        assertThat(Text.tidyName("\u200b\u00a0Ada\ufeff \u2060")).isEqualTo("Ada");
        assertThat(Text.tidyName("\u200e")).isEmpty();
    }
    @Test
    void searchFormWritesLettersAsAKeyboardWithoutThemWould() {
        assertThat(Text.searchForm("Søren Kierkegaard")).isEqualTo("soren kierkegaard");
        assertThat(Text.searchForm("Łódź")).isEqualTo("lodz");
        assertThat(Text.searchForm("Straße")).isEqualTo("strasse");
        assertThat(Text.searchForm("STRA\u1E9EE")).as("capital sharp s").isEqualTo("strasse");
        assertThat(Text.searchForm("Æsa Þórsdóttir")).isEqualTo("aesa thorsdottir");
        assertThat(Text.searchForm("Đorđe Œuvre")).isEqualTo("dorde oeuvre");
        assertThat(Text.searchForm("Mary\u00a0Ann\u2009Lee")).as("no-break and thin spaces").isEqualTo("mary ann lee");
        // Java lower-cases a capital sigma at a word's end to the final form: the typed start of a longer name
        assertThat(Text.searchForm("ΟΔΥΣ")).isEqualTo("οδυσ");
        assertThat(Text.searchForm("Οδυσσεύς")).isEqualTo("οδυσσευσ").contains(Text.searchForm("ΟΔΥΣ"));
        assertThat(Text.searchForm("José")).isEqualTo("jose");
        assertThat(Text.searchForm("plain")).isEqualTo("plain");
        assertThat(Text.searchForm("\ud83d\ude00 Ann")).as("other characters as they are").isEqualTo("\ud83d\ude00 ann");
        // accents go, letters' own marks stay (a Devanagari vowel sign, a Thai vowel, a kana's voicing mark)
        assertThat(Text.searchForm("Nguyễn")).isEqualTo("nguyen");
        assertThat(Text.searchForm("מְנַחֵם")).as("Hebrew points").isEqualTo("מנחם");
        assertThat(Text.searchForm("مُحَمَّد")).as("Arabic harakat").isEqualTo("محمد");
        assertThat(Text.searchForm("रीमा")).isNotEqualTo(Text.searchForm("राम")).isEqualTo("रीमा");
        assertThat(Text.searchForm("रमेश")).doesNotContain(Text.searchForm("राम"));
        assertThat(Text.searchForm("ガトウ")).isEqualTo("ガトウ").isNotEqualTo(Text.searchForm("カトウ"));
        assertThat(Text.searchForm("สมชาย")).isEqualTo("สมชาย");
        assertThat(Text.searchForm("בן־גוריון")).as("Hebrew's maqaf is punctuation, not a point").isEqualTo("בן־גוריון");
    }
}
