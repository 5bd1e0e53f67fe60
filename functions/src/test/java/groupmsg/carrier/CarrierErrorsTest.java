package groupmsg.carrier;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which carrier errors say a number can never receive a text, and reading the code back from a recorded error. */
class CarrierErrorsTest {

    @Test
    void onlyErrorsAboutTheNumberItselfMeanItCannotReceive() {
        for (String code : new String[]{"21211", "21614", "30005", "30006"}) {
            assertThat(CarrierErrors.numberCannotReceive(code)).as(code).isTrue();
        }
        // a phone switched off, blocked or filtered content, an unsubscribed recipient, the sender's own limits
        for (String code : new String[]{"30003", "30004", "30007", "30008", "21610", "21408", "21612", "20429", "", null}) {
            assertThat(CarrierErrors.numberCannotReceive(code)).as(String.valueOf(code)).isFalse();
        }
    }

    @Test
    void theCodeIsReadFromAnErrorAsDeliveriesRecordIt() {
        assertThat(CarrierErrors.codeOf("carrier 30006")).contains("30006");
        assertThat(CarrierErrors.codeOf("carrier 21614: 'To' number is not a valid mobile number")).contains("21614");
        assertThat(CarrierErrors.codeOf("carrier error")).isEmpty();
        assertThat(CarrierErrors.codeOf("skipped: undeliverable number (carrier 30006)")).isEmpty();
        assertThat(CarrierErrors.codeOf("carrier unreachable: connection refused")).isEmpty();
        assertThat(CarrierErrors.codeOf(null)).isEmpty();
    }
}
