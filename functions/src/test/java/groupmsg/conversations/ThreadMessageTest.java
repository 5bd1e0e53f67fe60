package groupmsg.conversations;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ThreadMessageTest {
    @Test
    void aSignedBusinessMessageIsSentUnderItsSenderAndAnUnsignedOneAsItsBody() {
        var signed = ThreadMessage.outbound("cmsg_1", "cnv_1", "key_1", "Front Desk", "Your table is ready", List.of(), 1L);
        assertThat(signed.textToSend()).isEqualTo("Front Desk: Your table is ready");
        assertThat(signed.body()).as("the thread keeps the body alone").isEqualTo("Your table is ready");
        var unsigned = ThreadMessage.outbound("cmsg_2", "cnv_1", "key_1", null, "Thanks", List.of(), 2L);
        assertThat(unsigned.textToSend()).isEqualTo("Thanks");
    }

    @Test
    void aBodyThatNeedsTheRoomKeepsAllOfItselfAndAsMuchOfTheNameAsFits() {
        String body = "x".repeat(1_590);
        var signed = ThreadMessage.outbound("cmsg_3", "cnv_1", "key_1", "A very long sender name", body, List.of(), 3L);
        assertThat(signed.textToSend()).endsWith(": " + body).hasSizeLessThanOrEqualTo(1_600);
    }
}
