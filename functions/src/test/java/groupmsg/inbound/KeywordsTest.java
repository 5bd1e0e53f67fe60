package groupmsg.inbound;

import groupmsg.inbound.Keywords.Keyword;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

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

    @ParameterizedTest
    @ValueSource(strings = {"stop texting me", "STOP. Please", "Stop, I moved", "cancel my subscription",
            "end this now", "Unsubscribe me please", "opt out of this", "STOP ALL of it", "td bank?"})
    void longerMessagesStartingWithAnOptOutKeywordArePossibleOptOuts(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, true));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "Thanks!", "stopwatch", "Stopped by today", "Endless thanks", "Please stop",
            "don't stop", "yes please", "help me with my order", "starting soon?", "!STOP", "S T O P", "ok"})
    void ordinaryMessages(String body) {
        assertThat(Keywords.classify(body)).isEqualTo(new Keywords.Classification(null, false));
    }

    @ParameterizedTest
    @CsvSource({"'  Stop  All!! ',STOP ALL", "opt-out.,OPT-OUT", "arrêt,ARRET"})
    void normalisation(String body, String expected) {
        assertThat(Keywords.normalize(body)).isEqualTo(expected);
    }
}
