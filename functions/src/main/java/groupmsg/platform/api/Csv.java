package groupmsg.platform.api;

/**
 * CSV that answers carry (exports and reports): RFC 4180 quoting, OWASP's guard against CSV injection (a cell a
 * spreadsheet would run as a formula starts with {@code '}, the text marker it hides), and the size of text as a
 * Lambda answer carries it.
 */
public final class Csv {
    /** Answers of CSV stay within this many bytes as their JSON string: under Lambda's 6 MB, and importable again. */
    public static final int MAX_ANSWER_BYTES = 4_500_000;
    private static final String FORMULA_STARTS = "=+-@\t\r";

    private Csv() {
    }

    /**
     * A CSV answer to download as {@code filename}; when another part follows ({@code nextCursor}), the
     * {@code x-next-cursor} header names it and {@code link} rel="next" points at it: {@code path} with the request's
     * {@code query} (null values left out) and the cursor.
     */
    public static ApiResponse download(String csv, String filename, String nextCursor, String path, java.util.Map<String, String> query) {
        var headers = new java.util.LinkedHashMap<String, String>();
        headers.put("content-disposition", "attachment; filename=\"" + filename + "\"");
        if (nextCursor != null) {
            StringBuilder link = new StringBuilder("<").append(path).append('?');
            query.forEach((name, value) -> {
                if (value != null) link.append(name).append('=').append(value).append('&');
            });
            headers.put("x-next-cursor", nextCursor);
            headers.put("link", link.append("cursor=").append(nextCursor).append(">; rel=\"next\"").toString());
        }
        return ApiResponse.text(200, "text/csv; charset=utf-8", csv, headers);
    }

    /**
     * One cell: empty for null; guarded where a part of it starts like a formula (see {@link #guardable}); quoted when
     * it holds a comma, quote or line break. A part is the cell, and each piece after a {@code ;} or a line break (past
     * spaces): Excel where the list separator is {@code ;} (German, French, Italian...) splits a CSV at them, quotes or
     * not, so {@code Anna;=cmd|...} would be a formula cell of its own there (quotes before a formula start count
     * as the start: {@code "=x"}).
     */
    public static String cell(String value) {
        if (value == null || value.isEmpty()) return "";
        StringBuilder guarded = new StringBuilder(value.length() + 2);
        boolean partStarts = true;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (partStarts && c != ' ') {
                partStarts = false;
                if (guardable(value, i)) guarded.append('\'');
            }
            guarded.append(c);
            if (endsPart(c)) partStarts = true;
        }
        boolean quote = guarded.chars().anyMatch(c -> c == ',' || c == '"' || c == '\n' || c == '\r');
        return quote ? '"' + guarded.toString().replace("\"", "\"\"") + '"' : guarded.toString();
    }

    /** Whether a part of a cell ends after {@code c}: a {@code ;} (where Excel splits at it) or a line break. */
    private static boolean endsPart(char c) {
        return c == ';' || c == '\n' || c == '\r';
    }

    /** A cell's value as {@link #cell} guarded it, without the guards ({@code '=x} -> {@code =x}, {@code a;'=x} -> {@code a;=x}); any other as it is. */
    public static String unguard(String value) {
        if (value == null || value.indexOf('\'') < 0) return value;
        StringBuilder unguarded = new StringBuilder(value.length());
        boolean partStarts = true;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (partStarts && c != ' ') {
                partStarts = false;
                if (c == '\'' && guardable(value, i + 1)) continue; // the guard, not the value's
            }
            unguarded.append(c);
            if (endsPart(c)) partStarts = true;
        }
        return unguarded.toString();
    }

    /**
     * Whether {@link #cell} guards the part of {@code value} from {@code from}: it starts like a formula, or it is one
     * guarded already as a value ({@code '=x}, a name typed so), which keeps its own marker through an export and an
     * import only under a second.
     */
    private static boolean guardable(String value, int from) {
        int i = from;
        while (i < value.length() && (value.charAt(i) == '\'' || value.charAt(i) == '"')) i++;
        return i < value.length() && FORMULA_STARTS.indexOf(value.charAt(i)) >= 0;
    }

    /**
     * The length of {@code text} from {@code from} in UTF-8 bytes as a JSON string carries it (how a Lambda answer
     * holds its body): a quote, backslash, tab, line break, backspace or form feed takes two bytes, another control
     * character six.
     */
    public static int answerBytes(CharSequence text, int from) {
        int bytes = 0;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') bytes += 2;
            else if (c < 0x20) bytes += 6;
            else bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a surrogate pair is 4
        }
        return bytes;
    }
}
