package groupmsg.lines;

import java.util.Locale;
import java.util.Optional;

/**
 * The kind of number a line is. Carrier throughput differs per kind (US long code/10DLC 1 message/s, toll-free 3,
 * short code 100; {@link #carrierMps()}), but a line's {@code mps} defaults to 1 whatever its type, as API.md says:
 * the business raises it to what its carrier has actually granted.
 */
public enum LineType {
    LONG_CODE(1),
    TOLL_FREE(3),
    SHORT_CODE(100);

    private final int carrierMps;

    LineType(int carrierMps) {
        this.carrierMps = carrierMps;
    }

    /** The usual US carrier rate for this kind of number (informational; not applied as a default). */
    public int carrierMps() {
        return carrierMps;
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<LineType> fromWire(String value) {
        if (value == null) return Optional.empty();
        for (LineType t : values()) {
            if (t.wireName().equals(value)) return Optional.of(t);
        }
        return Optional.empty();
    }
}
