package groupmsg.lines;

import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.PhoneNumberUtil.PhoneNumberType;
import groupmsg.groups.PhoneNumbers;

import java.util.Optional;

/**
 * What makes a line valid, as pure functions: the number's form per type, the carrier rule that group messaging
 * (group MMS) works only on +1 long codes, the rate range and the default keyword replies.
 *
 * <p>A number that libphonenumber knows to be toll-free cannot be declared a long code: otherwise the group
 * messaging rule could be side-stepped by mislabelling it. The other way round is harmless (a line declared
 * toll-free is only ever treated more strictly), so any valid number may be declared toll-free.
 */
public final class LineRules {
    /**
     * A line's rate may have a fraction: carriers grant some numbers per minute (75 a minute is 1.25 a second; 15 a
     * minute, 0.25). At least one message in 10 s, at most 3 decimals.
     */
    public static final double MIN_MPS = 0.1;
    public static final int MAX_MPS = 1000;
    public static final int MAX_MPS_DECIMALS = 3;
    /** API.md: {@code mps} defaults to 1 whatever the type (see {@link LineType#carrierMps()} for typical rates). */
    public static final int DEFAULT_MPS = 1;
    public static final int MAX_REPLY_LENGTH = 320;
    public static final int MIN_SHORT_CODE_DIGITS = 3;
    public static final int MAX_SHORT_CODE_DIGITS = 8;

    public static final String DEFAULT_OPT_OUT_REPLY = "You have been unsubscribed and will receive no more messages"
            + " from this number. Reply START to resubscribe.";
    public static final String DEFAULT_OPT_IN_REPLY = "You are resubscribed. Reply STOP to unsubscribe.";
    public static final String DEFAULT_HELP_REPLY = "Reply STOP to unsubscribe. Msg&data rates may apply.";
    /** The notice a group message asked to carry one gets from a line that has none of its own. */
    public static final String DEFAULT_OPT_OUT_NOTICE = "Reply STOP to opt out.";
    public static final int MAX_OPT_OUT_NOTICE_LENGTH = 100;

    /**
     * Why a line's opt-out notice will not do, or null: it is one line (it ends a message) and names an opt-out
     * keyword (it is there to tell the recipient how to stop the messages).
     */
    public static String optOutNoticeProblem(String notice) {
        if (notice.isEmpty()) return null; // removes it (PATCH: null, "" or blank)
        if (notice.contains("\n") || notice.contains("\r")) return "must be one line";
        if (!groupmsg.inbound.Keywords.namesAnOptOutKeyword(notice)) {
            return "must say how to opt out: name STOP (or another opt-out keyword) in capitals, e.g. \""
                    + DEFAULT_OPT_OUT_NOTICE + "\"";
        }
        return null;
    }

    private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();

    private LineRules() {}

    /** The outcome of {@link #phone}. */
    public sealed interface PhoneResult permits Ok, Bad {}

    /** The number as stored: E.164, or a short code's digits. */
    public record Ok(String phone) implements PhoneResult {}

    /** Why the input is not usable for this type of line (a short, lower-case phrase). */
    public record Bad(String reason) implements PhoneResult {}

    /**
     * The stored form of a line's number: E.164 for long codes and toll-free numbers (input as E.164, or national
     * with {@code country}), the bare digits for short codes ({@code country} does not apply to them, but one that is
     * no country is refused as for any line: {@code "XX"} was taken with a 201).
     */
    public static PhoneResult phone(LineType type, String input, String country) {
        if (type == LineType.SHORT_CODE) {
            String problem = PhoneNumbers.countryProblem(country);
            return problem != null ? new Bad(problem) : shortCode(input);
        }
        return switch (PhoneNumbers.normalize(input, country)) {
            case PhoneNumbers.Invalid bad -> new Bad(bad.reason().equals("phone is required") ? "is required" : bad.reason());
            case PhoneNumbers.Valid ok when type == LineType.LONG_CODE && isTollFreeNumber(ok.e164()) ->
                    new Bad("is a toll-free number; use type toll_free");
            case PhoneNumbers.Valid ok -> new Ok(ok.e164());
        };
    }

    /**
     * Why a line cannot do group messaging, or empty when it can: only +1 (US/Canada) long codes can; never
     * toll-free numbers or short codes. Worded to follow the field's name, as a 400 shows it
     * ("groupMessaging is not available on toll-free numbers; use a +1 long code").
     *
     * @param phone the stored number; null when it is not known to be valid (only the type is judged then)
     */
    /** The US (with its territories, whose numbers libphonenumber gives regions of their own) and Canada. */
    private static final java.util.Set<String> GROUP_MESSAGING_COUNTRIES = java.util.Set.of("US", "CA", "PR", "VI", "GU",
            "MP", "AS");

    public static Optional<String> groupMessagingProblem(LineType type, String phone) {
        return switch (type) {
            case TOLL_FREE -> Optional.of("is not available on toll-free numbers; use a +1 long code");
            case SHORT_CODE -> Optional.of("is not available on short codes; use a +1 long code");
            // +1 is also the Caribbean's (+1 876 Jamaica, +1 242 Bahamas): group MMS is the US's and Canada's
            case LONG_CODE -> phone == null || phone.startsWith("+1")
                    && GROUP_MESSAGING_COUNTRIES.contains(groupmsg.groups.PhoneNumbers.regionOf(phone)) ? Optional.empty()
                    : Optional.of("is available only on +1 (US or Canada) long codes");
        };
    }

    public static boolean validMps(double mps) {
        return mps >= MIN_MPS && mps <= MAX_MPS
                && java.math.BigDecimal.valueOf(mps).stripTrailingZeros().scale() <= MAX_MPS_DECIMALS;
    }

    /** A rate as the API shows it: {@code 20} for a whole one (as before fractions were taken), else {@code 1.25}. */
    public static Number mpsJson(double mps) {
        return mps == Math.rint(mps) ? (Number) (long) mps : (Number) mps;
    }

    private static PhoneResult shortCode(String input) {
        String typed = input == null ? "" : input.strip();
        if (typed.isEmpty()) return new Bad("is required");
        boolean digits = typed.chars().allMatch(c -> c >= '0' && c <= '9');
        if (!digits || typed.length() < MIN_SHORT_CODE_DIGITS || typed.length() > MAX_SHORT_CODE_DIGITS) {
            return new Bad("must be " + MIN_SHORT_CODE_DIGITS + " to " + MAX_SHORT_CODE_DIGITS
                    + " digits for a short code");
        }
        return new Ok(typed);
    }

    /**
     * Whether {@code e164} is a US or Canadian (+1) toll-free number, whose network answers STOP and START itself (the
     * local carrier emulator plays it); another country's toll-free number has no such network.
     */
    public static boolean isNetworkAnsweredTollFree(String e164) {
        return e164.startsWith("+1") && isTollFreeNumber(e164);
    }

    /** Whether {@code e164} is a toll-free number. */
    public static boolean isTollFreeNumber(String e164) {
        try {
            return UTIL.getNumberType(UTIL.parse(e164, "ZZ")) == PhoneNumberType.TOLL_FREE;
        } catch (NumberParseException e) {
            return false;
        }
    }
}
