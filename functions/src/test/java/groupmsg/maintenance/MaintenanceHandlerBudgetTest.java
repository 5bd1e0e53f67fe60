package groupmsg.maintenance;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** How the maintenance run shares its time between its steps. */
class MaintenanceHandlerBudgetTest {

    /**
     * The outbox gets all but the receipts' reserve, and at least 3 s of what the message sweep leaves it (5 s): after a
     * slow first step its budget was negative, one batch of 10 rows a run, just when rows piled up there.
     */
    @Test
    void theOutboxHasTimeLeftAfterASlowSweep() {
        assertThat(MaintenanceHandler.outboxBudget(Duration.ofSeconds(40))).isEqualTo(Duration.ofSeconds(25));
        assertThat(MaintenanceHandler.outboxBudget(Duration.ofSeconds(17))).isEqualTo(Duration.ofSeconds(3));
        assertThat(MaintenanceHandler.outboxBudget(Duration.ofSeconds(5))).isEqualTo(Duration.ofSeconds(3));
        assertThat(MaintenanceHandler.outboxBudget(Duration.ofMillis(2_500))).as("a second kept for the return")
                .isEqualTo(Duration.ofMillis(1_500));
        assertThat(MaintenanceHandler.outboxBudget(Duration.ofMillis(500))).isNegative();
        assertThat(MaintenanceHandler.AFTER_MESSAGES_RESERVE).isGreaterThan(MaintenanceHandler.OUTBOX_LEAST);
    }
}
