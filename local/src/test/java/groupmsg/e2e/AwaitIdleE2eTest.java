package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.text;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static groupmsg.e2e.MessagesE2eTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link LocalRuntime#awaitIdle()}, which the "nothing more happens" checks of other tests wait for: it returns only
 * once every step of a flow is done, through the queues, the workers and the carrier emulator's callbacks.
 */
@ExtendWith(LocalRuntimeExtension.class)
class AwaitIdleE2eTest {

    @Test
    void returnsOnlyWhenABroadcastIsDeliveredAndAnInboundTextStored(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Idle Co");
        String line = linePhone();
        String lineId = createLine(a, line, 50);
        String group = createGroup(a, "Everyone");
        List<String> members = addMembers(a, group, 7400, 5);

        String messageId = (String) send(a, group, lineId, "All done?").get("id");
        text(a, members.getFirst(), line, "Is the pantry open?");
        runtime.awaitIdle();

        // no waiting here: the API -> fan-out -> delivery -> carrier -> status callback -> receipt chain is over
        assertThat(allDeliveries(a, messageId)).hasSize(5).allSatisfy(d -> assertThat(d).containsEntry("status", "delivered"));
        assertThat(a.get("/v1/messages/" + messageId).jsonObject()).containsEntry("status", "sent");
        // and the emulator's inbound webhook -> inbound queue -> worker chain too
        assertThat(inbound(a, "?lineId=" + lineId)).extracting(m -> m.get("body")).containsExactly("Is the pantry open?");
        assertThat(runtime.carrierEmulator().idle()).isTrue();
    }
}
