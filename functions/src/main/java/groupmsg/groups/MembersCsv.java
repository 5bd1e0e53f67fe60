package groupmsg.groups;

import groupmsg.platform.api.Csv;

/**
 * A group's members as CSV in the import template's columns ({@code country,phone,name}), so an export imports
 * again: names as {@link Csv#cell} writes them (quoted, formula-guarded; an import takes the guard off again).
 */
final class MembersCsv {
    static final String HEADER = "country,phone,name\n";

    private MembersCsv() {
    }

    /** The member's row, without its line end. */
    static String row(Member member) {
        return PhoneNumbers.regionOf(member.phone()) + ',' + member.phone() + ',' + Csv.cell(member.name());
    }
}
