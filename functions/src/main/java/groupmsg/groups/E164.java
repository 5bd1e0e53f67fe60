package groupmsg.groups;

import java.util.regex.Pattern;

/**
 * A number as carriers write one in E.164 (+, then 7 to 15 digits), by its shape alone: also one outside
 * libphonenumber's ranges, and without loading libphonenumber (whose metadata a webhook's cold start need not read;
 * {@link PhoneNumbers} parses and validates).
 */
public final class E164 {
    private static final Pattern SHAPE = Pattern.compile("\\+[1-9][0-9]{6,14}");

    private E164() {}

    public static boolean looksLike(String value) {
        return value != null && SHAPE.matcher(value).matches();
    }
}
