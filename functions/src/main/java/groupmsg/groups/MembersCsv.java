package groupmsg.groups;

/**
 * A group's members as CSV in the import template's columns ({@code country,phone,name}), so an export can be
 * imported again (into this group or another): RFC 4180 quoting, and a name a spreadsheet would run as a formula
 * (starting {@code = + - @}, a tab or a carriage return) starts with {@code '} (OWASP's guard against CSV injection).
 */
final class MembersCsv {
    static final String HEADER = "country,phone,name\n";

    private MembersCsv() {
    }

    /** Appends the member's row; returns its length in UTF-8 bytes. */
    static int appendRow(StringBuilder csv, Member member) {
        int from = csv.length();
        csv.append(PhoneNumbers.regionOf(member.phone())).append(',').append(member.phone()).append(',')
                .append(cell(member.name())).append('\n');
        int bytes = 0;
        for (int i = from; i < csv.length(); i++) {
            char c = csv.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a surrogate pair is 4
        }
        return bytes;
    }

    static String cell(String value) {
        if (value == null || value.isEmpty()) return "";
        String guarded = "=+-@\t\r".indexOf(value.charAt(0)) >= 0 ? "'" + value : value;
        boolean quote = guarded.chars().anyMatch(c -> c == ',' || c == '"' || c == '\n' || c == '\r');
        return quote ? '"' + guarded.replace("\"", "\"\"") + '"' : guarded;
    }
}
