package groupmsg.messages;

import groupmsg.lines.Line;
import groupmsg.lines.LineRules;
import groupmsg.lines.LineType;
import groupmsg.platform.api.ApiException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which notice a group message ends with, and where it goes in the text. */
class OptOutNoticeTest {
    private static Line line(String notice) {
        return new Line("line_1", "+14155550100", LineType.LONG_CODE, false, 1, "a", "b", "c", notice, 0, 0, null);
    }

    @Test
    void theLinesNoticeByDefaultTheStandardOneOnlyWhenAskedAndNoneWhenRefused() {
        assertThat(MessageService.optOutNoticeOf(line("Text END to leave"), null)).isEqualTo("Text END to leave");
        assertThat(MessageService.optOutNoticeOf(line("Text END to leave"), true)).isEqualTo("Text END to leave");
        assertThat(MessageService.optOutNoticeOf(line("Text END to leave"), false)).isNull();
        assertThat(MessageService.optOutNoticeOf(line(null), null)).isNull();
        assertThat(MessageService.optOutNoticeOf(line(null), true)).isEqualTo(LineRules.DEFAULT_OPT_OUT_NOTICE);
        assertThat(MessageService.optOutNoticeOf(line(null), false)).isNull();
    }

    @Test
    void theNoticeEndsTheTextOnALineOfItsOwnAfterTheSendersBody() {
        String body = MessageService.withNotice("Bake sale Sunday", "Reply STOP to opt out.");
        assertThat(MessageService.textOf("Food Bank", body)).isEqualTo("Food Bank: Bake sale Sunday\nReply STOP to opt out.");
        assertThat(MessageService.withNotice("Bake sale Sunday", null)).isEqualTo("Bake sale Sunday");
        // the body and the notice must fit one carrier message together: the sender's name gives way first
        String longest = "x".repeat(1600 - 1 - "Reply STOP to opt out.".length());
        assertThat(MessageService.textOf("Food Bank", MessageService.withNotice(longest, "Reply STOP to opt out.")))
                .hasSize(1600).endsWith("\nReply STOP to opt out.");
        assertThatThrownBy(() -> MessageService.withNotice(longest + "x", "Reply STOP to opt out."))
                .isInstanceOf(ApiException.class).hasMessageContaining("optOutNotice");
    }
}
