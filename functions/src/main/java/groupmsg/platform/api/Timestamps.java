package groupmsg.platform.api;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** The contract's timestamp format: ISO-8601 UTC with milliseconds. */
public final class Timestamps {
    private static final DateTimeFormatter FORMAT =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private Timestamps() {}

    public static String format(long epochMillis) {
        return FORMAT.format(Instant.ofEpochMilli(epochMillis));
    }

    /**
     * A query parameter's instant: ISO-8601 with a zone offset ({@code 2026-12-01T00:00:00Z}, fractions and
     * {@code +01:00} allowed); anything else is a 400 naming the parameter. A {@code +} the client did not
     * percent-encode arrives as a space (query strings are form-decoded): {@code 2026-12-01T00:00:00 01:00} is read
     * as {@code +01:00}, as PhoneNumbers.fromQuery reads a number.
     */
    public static long parseQuery(String name, String value) {
        String time = value.strip().replaceFirst("^(\\d{4}-\\d{2}-\\d{2}T[0-9:.]+) (\\d{2}(:?\\d{2})?)$", "$1+$2");
        try {
            return java.time.OffsetDateTime.parse(time).toInstant().toEpochMilli();
        } catch (java.time.format.DateTimeParseException | ArithmeticException e) {
            throw ApiException.invalid(name + " must be an ISO-8601 time with a zone offset, like 2026-12-01T00:00:00Z");
        }
    }
}
