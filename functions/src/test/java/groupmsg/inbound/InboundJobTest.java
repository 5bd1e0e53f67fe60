package groupmsg.inbound;

import groupmsg.inbound.Keywords.Keyword;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which FIFO message group an inbound message's job takes: the order its handling keeps. */
class InboundJobTest {

    private static InboundMessage inbound(String body, Keyword keyword, boolean alsoAReply, String conversationId) {
        return new InboundMessage("inb_1", "acc_1", "line_1", "+12125550100", "+16175550101", body, List.of(), keyword,
                false, alsoAReply, conversationId, "SM1", 1L, null, true, null, null, null, null);
    }

    @Test
    void aReplyInAConversationTakesTheConversationsGroupSoItsRepliesTakeThreadPlacesInTurn() {
        assertThat(InboundService.job(inbound("See you", null, false, "cnv_1")).groupId()).isEqualTo("cnv_1");
        assertThat(InboundService.job(inbound("Yes", Keyword.OPT_IN, true, "cnv_1")).groupId()).isEqualTo("cnv_1");
        assertThat(InboundService.job(inbound("See you", null, false, null)).groupId()).isEqualTo("line_1#+16175550101");
    }

    @Test
    void aKeywordTakesItsSendersGroupEvenFromAConversationSoStopAndStartKeepTheirOrder() {
        // a STOP shown with the conversation it came from, and a START from a number in none, share one group
        assertThat(InboundService.job(inbound("STOP", Keyword.OPT_OUT, false, "cnv_1")).groupId()).isEqualTo("line_1#+16175550101");
        assertThat(InboundService.job(inbound("START", Keyword.OPT_IN, false, null)).groupId()).isEqualTo("line_1#+16175550101");
        assertThat(InboundService.job(inbound("STOP", Keyword.OPT_OUT, false, "cnv_1")).deduplicationId()).isEqualTo("inb_1");
    }
}
