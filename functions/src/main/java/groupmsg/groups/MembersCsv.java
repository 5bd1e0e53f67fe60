package groupmsg.groups;

/**
 * A group's members as CSV in the import template's columns ({@code country,phone,name}), so an export imports
 * again: RFC 4180 quoting, and a name a spreadsheet would run as a formula (starting {@code = + - @}, a tab or a
 * carriage return) starts with {@code '} (OWASP's guard against CSV injection; a spreadsheet shows the cell without
 * it, and an import takes it off again, {@link #unguard}).
 */
final class MembersCsv {
    static final String HEADER = "country,phone,name\n";
    private static final String FORMULA_STARTS = "=+-@\t\r";

    private MembersCsv() {
    }

    /**
     * Appends the member's row; returns what it adds to the answer: its length in UTF-8 bytes as a JSON string
     * (the Lambda answer carries the CSV so: a quote, backslash, tab or line break takes two bytes, another control
     * character six).
     */
    static int appendRow(StringBuilder csv, Member member) {
        int from = csv.length();
        csv.append(PhoneNumbers.regionOf(member.phone())).append(',').append(member.phone()).append(',')
                .append(cell(member.name())).append('\n');
        int bytes = 0;
        for (int i = from; i < csv.length(); i++) {
            char c = csv.charAt(i);
            if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') bytes += 2;
            else if (c < 0x20) bytes += 6;
            else bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a surrogate pair is 4
        }
        return bytes;
    }

    static String cell(String value) {
        if (value == null || value.isEmpty()) return "";
        String guarded = FORMULA_STARTS.indexOf(value.charAt(0)) >= 0 ? "'" + value : value;
        boolean quote = guarded.chars().anyMatch(c -> c == ',' || c == '"' || c == '\n' || c == '\r');
        return quote ? '"' + guarded.replace("\"", "\"\"") + '"' : guarded;
    }

    /** A name as an export wrote it, without the formula guard ({@code '=x} -> {@code =x}); any other as it is. */
    static String unguard(String name) {
        return name != null && name.length() > 1 && name.charAt(0) == '\'' && FORMULA_STARTS.indexOf(name.charAt(1)) >= 0
                ? name.substring(1) : name;
    }
}
