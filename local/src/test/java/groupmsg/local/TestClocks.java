package groupmsg.local;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** Clocks a test steers, for what is timed: retention, time budgets. */
public final class TestClocks {
    private TestClocks() {
    }

    /** A clock that reads {@code millis}, which the test moves. */
    public static Clock readingFrom(AtomicLong millis) {
        return reading(millis::get);
    }

    /** A clock, from now, {@code stepMillis} later at every reading: a time budget runs out after a few looks at it. */
    public static Clock steppingBy(long stepMillis) {
        AtomicLong now = new AtomicLong(System.currentTimeMillis());
        return reading(() -> now.addAndGet(stepMillis));
    }

    private static Clock reading(LongSupplier millis) {
        return new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(millis.getAsLong());
            }
        };
    }
}
