package groupmsg.carrier;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class OutboundMessageTest {
    @Test
    void aTextThatFitsIsLeftWhole() {
        assertThat(OutboundMessage.fitted("Ann: ", "see you")).isEqualTo("Ann: see you");
        String exact = "b".repeat(OutboundMessage.MAX_BODY_CHARS - 5);
        assertThat(OutboundMessage.fitted("Ann: ", exact)).isEqualTo("Ann: " + exact);
    }

    @Test
    void aLongerOneLosesItsEndToAnEllipsisAndFitsExactly() {
        String fitted = OutboundMessage.fitted("Ann: ", "b".repeat(OutboundMessage.MAX_BODY_CHARS));
        assertThat(fitted).hasSize(OutboundMessage.MAX_BODY_CHARS).startsWith("Ann: bbb").endsWith("b\u2026");
    }

    @Test
    void aSurrogatePairIsNeverSplit() {
        // "Anna: " is 6 units and the ellipsis 1, so 1,593 units of the body would fit: that cut falls inside the
        // 797th emoji (units 1,592-1,593), which goes whole
        String emoji = "\uD83D\uDE00".repeat(800);
        String fitted = OutboundMessage.fitted("Anna: ", emoji);
        assertThat(fitted).hasSize(OutboundMessage.MAX_BODY_CHARS - 1);
        String kept = fitted.substring(6, fitted.length() - 1);
        assertThat(kept).isEqualTo("\uD83D\uDE00".repeat(796));
        assertThat(fitted).endsWith("\u2026");
    }
}
