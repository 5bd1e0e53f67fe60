package groupmsg.platform.dynamo;

import java.util.ArrayList;
import java.util.List;

/**
 * DynamoOps' retries' clock in a test: it moves only by what the test adds and by the pauses, which it keeps, so
 * what a budget allows does not depend on how busy the machine is.
 */
class TestWaits implements DynamoOps.Waits {
    long now;
    final List<Long> pauses = new ArrayList<>();

    @Override
    public long nanoTime() {
        return now;
    }

    @Override
    public void sleep(long millis) {
        pauses.add(millis);
        now += millis * 1_000_000;
    }

    long millis() {
        return now / 1_000_000;
    }
}
