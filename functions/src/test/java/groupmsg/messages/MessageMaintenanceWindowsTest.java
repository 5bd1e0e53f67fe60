package groupmsg.messages;

import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What makes maintenance's carrier lookups safe rests on the functions' timeouts: a row it asks about has been in
 * sending for {@link MessageMaintenance#STALLED}, so no live worker may still be about to send it, and the lookup's
 * window must cover any send its worker could still have made.
 */
class MessageMaintenanceWindowsTest {
    /** The functions that claim delivery rows and send them. */
    private static final List<HandlerDef> SENDERS = List.of(Handlers.DELIVERY_WORKER, Handlers.RELAY_WORKER);

    @Test
    void noWorkerThatClaimsRowsCanStillBeSendingWhenMaintenanceAsksTheCarrier() {
        for (HandlerDef sender : SENDERS) {
            Duration longestRun = Duration.ofSeconds(sender.timeoutSeconds());
            assertThat(longestRun).as(sender.name()).isLessThan(MessageMaintenance.STALLED.dividedBy(2));
            assertThat(longestRun).as(sender.name() + ": its sends fall in the lookup's window")
                    .isLessThan(MessageMaintenance.SEND_WINDOW);
        }
    }

    @Test
    void aLookupStartedAtTheLastMomentStillEndsWithinTheMaintenanceFunction() {
        Duration function = Duration.ofSeconds(Handlers.MAINTENANCE.timeoutSeconds());
        assertThat(MessageMaintenance.BUDGET.plus(MessageMaintenance.LOOKUP_RESERVE)).isLessThan(function);
        assertThat(MessageMaintenance.LOOKUP_RESERVE).isGreaterThan(groupmsg.carrier.TwilioCarrier.LONGEST_LOOKUP);
        // the overdue receipts' checks come last and start no lookup within the reserve of the function's end: the last
        // ones, the transaction applying them and the check's re-store (each retried on conflicts for its budget) fit
        assertThat(groupmsg.maintenance.MaintenanceHandler.RECEIPTS_RESERVE)
                .isGreaterThanOrEqualTo(groupmsg.carrier.TwilioCarrier.LONGEST_LOOKUP_BY_ID
                        .plus(groupmsg.platform.dynamo.DynamoOps.TRANSACT_RETRY_BUDGET.multipliedBy(2)));
    }
}
