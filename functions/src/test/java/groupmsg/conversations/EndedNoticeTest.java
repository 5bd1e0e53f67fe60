package groupmsg.conversations;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What a participant is told when their text reached a blocked conversation. */
class EndedNoticeTest {

    private static Conversation named(String name) {
        return new Conversation("cnv_1", "acct_1", name, "line_1", "+12125550100",
                List.of(new Conversation.Participant("+14155550101", null)), 1L, 1L, 1L, 1L, null, null);
    }

    @Test
    void namesTheConversationWhenItHasANameCutToFortyCharacters() {
        assertThat(ConversationService.endedNotice(named(null)))
                .isEqualTo("This group conversation has ended, so your message was not passed on to the others.");
        assertThat(ConversationService.endedNotice(named("  ")))
                .startsWith("This group conversation has ended");
        assertThat(ConversationService.endedNotice(named("Sat crew")))
                .isEqualTo("The group conversation \"Sat crew\" has ended, so your message was not passed on to the others.");
        String forty = "x".repeat(40);
        assertThat(ConversationService.endedNotice(named(forty))).contains("\"" + forty + "\"");
        assertThat(ConversationService.endedNotice(named(forty + "y"))).contains("\"" + "x".repeat(37) + "...\"");
    }

    @Test
    void aConversationOnHoldIsNamedSoToo() {
        assertThat(ConversationService.onHoldNotice(named(null)))
                .isEqualTo("This group conversation is on hold, so your message was not passed on to the others.");
        assertThat(ConversationService.onHoldNotice(named("x".repeat(41)))).isEqualTo("The group conversation \""
                + "x".repeat(37) + "...\" is on hold, so your message was not passed on to the others.");
    }
}
