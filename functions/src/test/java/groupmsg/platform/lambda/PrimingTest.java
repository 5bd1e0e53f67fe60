package groupmsg.platform.lambda;

import groupmsg.platform.api.NotFoundHandler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The steps a function adds to its SnapStart priming ({@link Priming#also}); priming with clients is PrimingE2eTest's. */
class PrimingTest {

    @Test
    void addedStepsRunInOrderWhenPriming() {
        List<String> ran = new ArrayList<>();
        Priming priming = new NotFoundHandler().priming().also(() -> ran.add("first")).also(() -> ran.add("second"));
        assertThat(ran).as("nothing runs when the step is added").isEmpty();

        assertThat(priming.prime()).isTrue();
        assertThat(ran).containsExactly("first", "second");
    }

    @Test
    void aFailingStepFailsPrimingWithoutThrowing() {
        List<String> ran = new ArrayList<>();
        Priming priming = new NotFoundHandler().priming()
                .also(() -> { throw new IllegalStateException("library missing"); })
                .also(() -> ran.add("after"));

        assertThat(priming.prime()).as("a failed priming only costs the first request").isFalse();
        assertThat(ran).as("steps after the failure are skipped").isEmpty();
    }
}
