package groupmsg.carrier;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class OutboundMessageTest {
    private static final int MAX = OutboundMessage.MAX_BODY_CHARS;

    @Test
    void aTextThatFitsIsLeftWhole() {
        assertThat(OutboundMessage.fitted("Ann: ", "see you")).isEqualTo("Ann: see you");
        String exact = "b".repeat(MAX - 5);
        assertThat(OutboundMessage.fitted("Ann: ", exact)).isEqualTo("Ann: " + exact);
    }

    @Test
    void aLongerOneLosesItsEndToPlainDotsAndFitsExactly() {
        String fitted = OutboundMessage.fitted("Ann: ", "b".repeat(MAX));
        // dots, not an ellipsis character: that one is not GSM-7 and would make the text UCS-2
        assertThat(fitted).hasSize(MAX).startsWith("Ann: bbb").endsWith("b...");
    }

    @Test
    void aSurrogatePairIsNeverSplit() {
        // "Anna: " is 6 units and "..." 3, so 1,591 units of the body would fit: that cut falls inside the 796th
        // emoji (units 1,590-1,591), which goes whole
        String fitted = OutboundMessage.fitted("Anna: ", "\uD83D\uDE00".repeat(800));
        assertThat(fitted).hasSize(MAX - 1).isEqualTo("Anna: " + "\uD83D\uDE00".repeat(795) + "...");
        assertThat(OutboundMessage.authored("\uD83D\uDE00\uD83D\uDE00", "b".repeat(MAX - 5)))
                .isEqualTo("\uD83D\uDE00: " + "b".repeat(MAX - 5));
    }

    @Test
    void anAuthoredTextKeepsItsBodyWholeAndGivesUpTheNameFirst() {
        assertThat(OutboundMessage.authored("Food Bank", "Saturday 9am")).isEqualTo("Food Bank: Saturday 9am");
        String body = "b".repeat(MAX - 11);
        assertThat(OutboundMessage.authored("Food Bank", body)).isEqualTo("Food Bank: " + body).hasSize(MAX);
        assertThat(OutboundMessage.authored("Food Bank", "b" + body)).isEqualTo("Food Ban: b" + body).hasSize(MAX);
        // a cut that ends in a space drops it rather than sending "Food : "
        assertThat(OutboundMessage.authored("Food Bank", "bbbb" + body)).isEqualTo("Food: bbbb" + body);
        assertThat(OutboundMessage.authored("Food Bank", "b".repeat(MAX - 2))).isEqualTo("b".repeat(MAX - 2));
        assertThat(OutboundMessage.authored("Food Bank", "b".repeat(MAX))).isEqualTo("b".repeat(MAX));
    }
}
