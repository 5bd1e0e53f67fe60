package groupmsg.conversations;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ConversationTest {
    private static Conversation with(Conversation.Participant... people) {
        return new Conversation("cnv_1", "acct", null, "line_1", "+14155550100", List.of(people), 1L, 1L, 1L, null, null, null);
    }

    @Test
    void aReplyGoesUnderItsAuthorsNameAndTheNumberWhenTheyHaveNone() {
        var c = with(new Conversation.Participant("+14155550101", "Ann"), new Conversation.Participant("+14155550102", null));
        assertThat(c.authorLabel("+14155550101")).isEqualTo("Ann");
        assertThat(c.authorLabel("+14155550102")).isEqualTo("+14155550102");
        assertThat(c.authorLabel("+14155550999")).as("not a participant").isEqualTo("+14155550999");
    }

    @Test
    void twoParticipantsOfOneNameAreToldApartByTheirNumbersLastFourDigits() {
        var c = with(new Conversation.Participant("+14155551234", "John"), new Conversation.Participant("+14155555678", "john "),
                new Conversation.Participant("+14155550103", "Ann"));
        assertThat(c.authorLabel("+14155551234")).isEqualTo("John (1234)");
        assertThat(c.authorLabel("+14155555678")).isEqualTo("john (5678)");
        assertThat(c.authorLabel("+14155550103")).isEqualTo("Ann");
    }
}
