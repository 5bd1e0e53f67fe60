package groupmsg.inbound;

import groupmsg.inbound.Keywords.Keyword;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class KeywordsTest {

    @ParameterizedTest
    @ValueSource(strings = {"STOP", "stop", " Stop ", "STOP!", "stop.", "Stop!!!", "STOPALL", "stop all", "STOP   ALL",
            "UNSUBSCRIBE", "cancel", "End", "quit", "OPTOUT", "opt out", "Opt-Out", "REVOKE", "remove", "ARRET",
            "Arrêt", "td", "\tstop\n", "STOP?!", "stop 🙏"})
    void optOutKeywords(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(Keyword.OPT_OUT, false));
    }

    @ParameterizedTest
    @CsvSource({"START,OPT_IN", "start.,OPT_IN", "Unstop,OPT_IN", "yes!,OPT_IN", "HELP,HELP", "help?,HELP", "Info,HELP",
            "' info ',HELP"})
    void optInAndHelpKeywords(String body, Keyword expected) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(expected, false));
    }

    /** YES is an opt-in that is also an everyday answer (relayed too, from a number not opted out); START is not. */
    @ParameterizedTest
    @CsvSource({"YES,true", "yes!,true", "' Yes. ',true", "ＹＥＳ,true", "START,false", "Unstop,false", "HELP,false",
            "yes please,false", "STOP,false"})
    void yesIsAlsoAnEverydayAnswer(String body, boolean everyday) {
        assertThat(Keywords.alsoAnEverydayAnswer(Keywords.classify(body), body)).isEqualTo(everyday);
        if (everyday) assertThat(Keywords.classify(body).keyword()).isEqualTo(Keyword.OPT_IN);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stop texting me", "STOP. Please", "Stop, I moved", "cancel my subscription",
            "end this now", "Unsubscribe me please", "opt out of this", "STOP ALL of it", "td bank?"})
    void longerMessagesStartingWithAnOptOutKeywordArePossibleOptOuts(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, true));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "Thanks!", "stopwatch", "Stopped by today", "Endless thanks", "Please stop",
            "don't stop", "yes please", "help me with my order", "starting soon?", "S T O P", "ok", "10 stops", "#1 fan", "2 cancel", "2 TD!"})
    void ordinaryMessages(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, false));
    }

    /**
     * What the person typed, however the phone encoded it: Unicode spaces (no-break, em, ideographic), invisible
     * format characters, a decomposed Ê, full-width letters, dashes an autocorrecting keyboard makes, and quotes
     * around the whole message.
     */
    @ParameterizedTest
    @ValueSource(strings = {"STOP\u00A0", "\u00A0STOP", "STOP\u200B", "\u200BSTOP", "\uFEFFStop", "ST\u200BOP",
            "\u201CSTOP\u201D", "\u2018stop\u2019", "\"Stop\"", "'STOP'", "\u201EStop\u201C", "\u00ABSTOP\u00BB",
            "\" STOP \"", "\u201CStop.\u201D", "ARRE\u0302T", "Arre\u0302t!", "\uFF33\uFF34\uFF2F\uFF30",
            "STOP\u2003", "\u3000stop", "stop\u00A0all", "STOP\u202FALL", "Opt\u2013out", "OPT\u2011OUT",
            "STOP\u2122", "STOP\uFF01", "\u00A0\u200B\u201Cstop!\u201D\u00A0"})
    void optOutKeywordsAsPhonesEncodeThem(String body) {
        assertThat(Keywords.classify(body)).as("%s", body.codePoints().mapToObj(c -> String.format("U+%04X", c)).toList())
                .isEqualTo(new Keywords.Classification(Keyword.OPT_OUT, false));
    }

    @ParameterizedTest
    @CsvSource({"'\u201CSTART\u201D',OPT_IN", "'\u00A0help\u00A0',HELP", "'\uFF28\uFF25\uFF2C\uFF30',HELP",
            "'yes\u200B',OPT_IN", "'Help\u2026',HELP", "'START\u2026',OPT_IN", "'\u201EHELP\u201C',HELP",
            "'\u00ABStart\u00BB',OPT_IN", "'\u00BBYes\u00AB',OPT_IN", "'\u201Ahelp\u2018',HELP", "'HELP\u3002',HELP",
            "'\u2039start\u203A',OPT_IN", "'HELP\uFF0C',HELP", "'Start\uFF1A',OPT_IN", "'\uFF02help\uFF02',HELP",
            "'HELP\u3001',HELP", "'yes\uFF61',OPT_IN"})
    void optInAndHelpKeywordsAsPhonesEncodeThem(String body, Keyword expected) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(expected, false));
    }

    /** An opt-out keyword followed by an emoji, however it is built (variation selector, joiner, modifiers). */
    @ParameterizedTest
    @ValueSource(strings = {"STOP \u2764\uFE0F", "Cancel \uD83D\uDE45\u200D\u2640\uFE0F", "stop\uD83D\uDC4D\uD83C\uDFFD",
            "End \uD83C\uDFF3\uFE0F"})
    void optOutKeywordsFollowedByEmoji(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(Keyword.OPT_OUT, false));
    }

    /**
     * START, UNSTOP, HELP and INFO with any punctuation after them, as API.md has it (they were replies: HELP
     * unanswered, START not subscribing again); "Yes" only with sentence punctuation (below).
     */
    @ParameterizedTest
    @CsvSource({"'HELP)',HELP", "'Help -',HELP", "'START*',OPT_IN", "'info~',HELP", "'help/',HELP", "'Start]',OPT_IN",
            "'HELP.)',HELP", "'unstop -',OPT_IN", "'Info¿',HELP", "'Help!)',HELP"})
    void startAndHelpWithAnyTrailingPunctuation(String body, Keyword expected) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(expected, false));
    }

    /** A face drawn in punctuation after START or HELP, or any punctuation but a sentence's after YES: a reply. */
    @ParameterizedTest
    @ValueSource(strings = {"UNSTOP:)", "help :-(", "Start ;)", "HELP =]", "help :/", "help -_-", "Help ;_;", "help ;-;",
            "HELP :*", "help :\\", "Help ._.", "Help -.-", "START_", "unstop --", "Yes)", "yes*", "Yes -"})
    void facesAfterStartOrHelpAndBracketsAfterYesAreReplies(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, false));
    }

    /** START, YES and HELP followed by an emoji are replies ("Yes ❤️" in a conversation), not keywords. */
    @ParameterizedTest
    @ValueSource(strings = {"Yes \u2764\uFE0F", "Yes \uD83D\uDE42", "YES \uD83D\uDE4B\u200D\u2640\uFE0F", "yes\u263A\uFE0F",
            "Start \uD83D\uDC4D", "help \uD83D\uDE4F", "Yes \u270C\uFE0F", "YES \u203C\uFE0F", "Yes \u2049\uFE0F",
            "Yes #\uFE0F\u20E3", "Yes :)", "yes (:", "help :-("})
    void optInAndHelpKeywordsFollowedByEmojiAreOrdinaryReplies(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, false));
    }

    /**
     * An opt-out word behind symbols or punctuation is not an opt-out (the carriers take the word alone), but it is
     * flagged for a person: "¡STOP!" as Spanish writes it, emoji, brackets, a list's number. Before, these passed as
     * ordinary replies.
     */
    @ParameterizedTest
    @ValueSource(strings = {"!STOP", "(STOP)", "\u00BFSTOP?", "\u00A1Stop!", "\u00A1STOP!", "\uD83D\uDED1 STOP", "\uD83D\uDED1STOP",
            "\u274C STOP \u274C", "*STOP*", "#STOP", "> STOP", "1. STOP", "-- unsubscribe me"})
    void anOptOutWordBehindSymbolsIsAPossibleOptOut(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, true));
    }

    /** Still only whole messages: more words after the keyword are a possible opt-out, other text stays ordinary. */
    @ParameterizedTest
    @ValueSource(strings = {"\u201CStop texting me\u201D", "STOP\u00A0texting me", "\u00A0stop, I moved",
            "ARRE\u0302T svp merci"})
    void longerMessagesInUnicodeArePossibleOptOuts(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, true));
    }

    @ParameterizedTest
    @ValueSource(strings = {"\u00A0Stopwatch", "S\u00A0T\u00A0O\u00A0P", "\u00A1Stopwatch!", "\uD83D\uDED1 stopped by",
            "\u201CPlease stop\u201D", "\u200B", "\u00A0\u3000", "\u201C\u201D", "STOPP\u0302"})
    void ordinaryMessagesInUnicode(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, false));
    }

    @ParameterizedTest
    @CsvSource({"'  Stop  All!! ',STOP ALL", "opt-out.,OPT-OUT", "arrêt,ARRET",
            "'ARRE\u0302T',ARRET", "'\uFF33\uFF34\uFF2F\uFF30 \uFF21\uFF2C\uFF2C',STOP ALL", "'\u201Copt\u2011out\u201D',OPT-OUT"})
    void normalisation(String body, String expected) {
        assertThat(Keywords.normalize(body)).isEqualTo(expected);
    }

    /**
     * A long run of closing symbols is read once from the end: compatibility folding makes "⨌" four characters, and
     * the end-anchored patterns this was before retried from each of them (a 1,600-character text took a second).
     */
    @org.junit.jupiter.api.Test
    void aLongRunOfSymbolsAfterTheTextIsReadOnce() {
        String body = "\u2A0C".repeat(20_000) + "a";
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            assertThat(Keywords.classify(body).keyword()).isNull();
            assertThat(Keywords.classify("STOP" + " !".repeat(20_000)).keyword()).isEqualTo(Keyword.OPT_OUT);
            assertThat(Keywords.endsPlainly("yes" + "\u2A0C".repeat(20_000))).isFalse();
            assertThat(Keywords.classify("\u2A0C".repeat(20_000) + "STOP").possibleOptOut()).isTrue();
            assertThat(Keywords.classify("1.".repeat(20_000) + " STOP").possibleOptOut()).isTrue();
        });
    }

    /** The carrier's own keyword (Twilio's OptOutType) where the text is none of ours; ours where it is. */
    @org.junit.jupiter.api.Test
    void theCarriersKeywordCountsWhereTheTextIsNoneOfOurs() {
        assertThat(Keywords.withCarrierKeyword(Keywords.classify("ALTO"), "STOP").keyword()).isEqualTo(Keywords.Keyword.OPT_OUT);
        assertThat(Keywords.withCarrierKeyword(Keywords.classify("Alta"), "start").keyword()).isEqualTo(Keywords.Keyword.OPT_IN);
        assertThat(Keywords.withCarrierKeyword(Keywords.classify("AYUDA"), "HELP").keyword()).isEqualTo(Keywords.Keyword.HELP);
        assertThat(Keywords.withCarrierKeyword(Keywords.classify("ALTO"), null).keyword()).isNull();
        assertThat(Keywords.withCarrierKeyword(Keywords.classify("ALTO"), "SOMETHING").keyword()).isNull();
        // ours first: a STOP is an opt-out whatever the carrier says of it
        assertThat(Keywords.withCarrierKeyword(Keywords.classify("STOP"), "HELP").keyword()).isEqualTo(Keywords.Keyword.OPT_OUT);
    }

    @Test
    void onlyTheWordStopAloneIsTheTollFreeNetworksOptOut() {
        assertThat(List.of("STOP", "stop", "Stop", " STOP \n", "\u00A0stop")).allMatch(Keywords::networkOptOut);
        // opt-out words of ours all the same, which that network neither blocks nor answers
        assertThat(List.of("UNSUBSCRIBE", "REMOVE", "STOP ALL", "STOPALL", "Stop 🙏", "STOP.", "ARRET", "OPT-OUT", "END"))
                .allSatisfy(body -> assertThat(Keywords.classify(body).keyword()).as(body).isEqualTo(Keywords.Keyword.OPT_OUT))
                .noneMatch(Keywords::networkOptOut);
        assertThat(Keywords.networkOptOut(null)).isFalse();
        assertThat(Keywords.networkOptOut("STOPS")).isFalse();
    }

    /** Whether the network may have blocked the number: read broadly (a "Yes" then lifts nothing), or as the carrier said. */
    @Test
    void theNetworkMayHaveTakenTheWordStopWithPunctuationOrWhatTheCarrierCalledStop() {
        assertThat(List.of("STOP", "Stop.", "stop!", "Stop 🙏", "\"STOP\"")).allMatch(b -> Keywords.mayBeNetworkOptOut(b, null));
        assertThat(List.of("UNSUBSCRIBE", "REMOVE", "STOP ALL", "END")).noneMatch(b -> Keywords.mayBeNetworkOptOut(b, null));
        assertThat(Keywords.mayBeNetworkOptOut("ALTO", "STOP")).as("Advanced Opt-Out's own word").isTrue();
        assertThat(Keywords.mayBeNetworkOptOut("REMOVE", "HELP")).isFalse();
    }
    /**
     * A text is a line's own keyword when it is the word alone, with punctuation at most, read as carrier keywords are
     * ("join us?" is a keyword "JOIN US" at most, never JOIN).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"JOIN|JOIN", "join|JOIN", " Join! |JOIN", "join.|JOIN", "ＪＯＩＮ|JOIN", "Jóin|JOIN",
            "'\"join\"'|JOIN", "join   youth|JOIN YOUTH", "join\u200b|JOIN", "volunteer2026|VOLUNTEER2026",
            "join us?|JOIN US"})
    void aTextMayBeALineKeyword(String body, String keyword) {
        assertThat(Keywords.asLineKeyword(body)).isEqualTo(keyword);
    }

    /** Not the word alone ("join us"), a face after it, more than a keyword's length, or symbols within: no keyword. */
    @ParameterizedTest
    @ValueSource(strings = {"join us tomorrow, see you all there", "join :)", "join 😂", "jo-in", "join_now", "a twenty-one char text",
            "abcdefghijklmnopqrstu", "", "   ", "!!!"})
    void aTextThatIsNoLineKeyword(String body) {
        assertThat(Keywords.asLineKeyword(body)).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"STOP|carrier keyword", "stop|carrier keyword", "Yes|carrier keyword",
            "info|carrier keyword", "ARRÊT|carrier keyword", "STOP NOW|opt-out keyword", "end it|opt-out keyword",
            "please stop|opt-out keyword", "I QUIT|opt-out keyword", "join-now|letters and digits", "|is required",
            "abcdefghijklmnopqrstu|at most 20", "Ｓｔｏｐ|carrier keyword", "Arrêt now|opt-out keyword"})
    void keywordsALineCannotHave(String typed, String problem) {
        assertThat(Keywords.lineKeywordProblem(typed == null ? "" : typed)).contains(problem);
    }

    @ParameterizedTest
    @ValueSource(strings = {"JOIN", "join", "Join Youth", "VOLUNTEER", "stopwatch", "Startup", "helpers", "Ünite", "Tiếng",
            "가입", "参加", "जुड़ें", "ЙОГА", "Ναί", "ジョイン"})
    void keywordsALineMayHave(String typed) {
        assertThat(Keywords.lineKeywordProblem(typed)).isNull();
    }

    /**
     * Stored composed, the marks of scripts other than Latin and Greek kept: a Korean keyword is its two syllables (not
     * five letters), a Hindi one keeps its vowel signs (dropped, "जुड़ें" was read as "जड", another word), a Russian Й
     * stays Й, a Japanese ジ stays ジ; accents on Latin and Greek letters fold as the carriers fold ARRÊT.
     */
    @Test
    void keywordsOfOtherScriptsAreStoredAsWrittenAndMatched() {
        assertThat(Keywords.lineKeyword("가입")).isEqualTo("가입").hasSize(2);
        assertThat(Keywords.asLineKeyword("가입!")).isEqualTo("가입");
        assertThat(Keywords.lineKeyword("Tiếng")).isEqualTo("TIENG");
        assertThat(Keywords.lineKeyword("Ναί")).isEqualTo("ΝΑΙ");
        assertThat(Keywords.asLineKeyword("ναι.")).isEqualTo("ΝΑΙ");
        assertThat(Keywords.lineKeyword("йога")).isEqualTo("ЙОГА");
        assertThat(Keywords.asLineKeyword("ジョイン！")).isEqualTo("ジョイン");
        assertThat(Keywords.asLineKeyword("जुड़ें")).isEqualTo(Keywords.lineKeyword("जुड़ें"));
        assertThat(Keywords.asLineKeyword("जुड़ें!")).isEqualTo(Keywords.lineKeyword("जुड़ें"));
        assertThat(Keywords.asLineKeyword("जड")).isNotEqualTo(Keywords.lineKeyword("जुड़ें"));
        // an emoji's variation selector is the emoji's, not the word's: "join ❤️" is no keyword
        assertThat(Keywords.asLineKeyword("join ❤️")).isNull();
        assertThat(Keywords.lineKeyword(" JOIN! ")).isEqualTo("JOIN");
        // a keycap is the emoji's, not the digit's: "Join 1️⃣" is stored JOIN 1, which a text "Join 1" is
        assertThat(Keywords.lineKeyword("Join 1\uFE0F\u20E3")).isEqualTo("JOIN 1");
        assertThat(Keywords.lineKeyword("Join 1\u20E3")).isEqualTo("JOIN 1");
        assertThat(Keywords.asLineKeyword("join 1")).isEqualTo("JOIN 1");
        // 20 characters, not UTF-16 units: eleven characters outside the BMP are a keyword of eleven
        String eleven = "\uD840\uDC00".repeat(11);
        assertThat(Keywords.lineKeywordProblem(eleven)).isNull();
        assertThat(Keywords.asLineKeyword(eleven)).isEqualTo(eleven);
        // a long text is read no further than a keyword's length: none
        assertThat(Keywords.asLineKeyword("join" + " ".repeat(120))).isNull();
        assertThat(Keywords.asLineKeyword("\u0301\u0302".repeat(800))).isNull();
    }
}
