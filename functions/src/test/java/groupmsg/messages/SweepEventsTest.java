package groupmsg.messages;

import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A maintenance sweep's view of the events topic: it stops trying once publishes for two messages failed. */
class SweepEventsTest {

    @Test
    void itStopsTryingAfterTwoMessagesNotTwoPublishesOfOne() {
        List<Object> tried = new ArrayList<>();
        EventPublisher refusing = (topic, accountId, type, event) -> {
            tried.add(event.get("messageId"));
            throw new IllegalStateException("SNS unavailable (test)");
        };
        var events = new MessageMaintenance.SweepEvents(refusing);
        for (int i = 0; i < 2; i++) {
            // one message's acceptance, tried twice in its repair: still one message
            assertThatThrownBy(() -> events.publish(Topic.NOTIFICATIONS, "acct_a", "group_message.accepted",
                    Map.of("messageId", "msg_1"))).hasMessageContaining("SNS unavailable");
        }
        assertThat(events.tripped()).isFalse();
        assertThatThrownBy(() -> events.publish(Topic.NOTIFICATIONS, "acct_b", "group_message.sent",
                Map.of("messageId", "msg_2"))).hasMessageContaining("SNS unavailable");
        assertThat(events.tripped()).isTrue();
        assertThatThrownBy(() -> events.publish(Topic.NOTIFICATIONS, "acct_c", "group_message.sent",
                Map.of("messageId", "msg_3"))).isInstanceOf(MessageMaintenance.NotTried.class)
                .hasRootCauseMessage("SNS unavailable (test)");
        assertThat(tried).as("msg_3 not tried").containsExactly("msg_1", "msg_1", "msg_2");
    }

    @Test
    void aWorkingTopicIsNeverTripped() {
        List<Object> published = new ArrayList<>();
        EventPublisher fine = (topic, accountId, type, event) -> published.add(event.get("messageId"));
        var events = new MessageMaintenance.SweepEvents(fine);
        for (int i = 0; i < 5; i++) events.publish(Topic.NOTIFICATIONS, "acct_a", "group_message.sent", Map.of("messageId", "msg_" + i));
        assertThat(events.tripped()).isFalse();
        assertThat(published).hasSize(5);
    }
}
