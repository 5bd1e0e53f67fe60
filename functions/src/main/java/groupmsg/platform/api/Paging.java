package groupmsg.platform.api;

/**
 * The contract's list parameters: {@code limit} 1..100 (default 50) and an opaque {@code cursor}. A list names its
 * filters too, and any other query parameter is a 400: a misspelt filter ({@code ?phone=} on the lines) ignored would
 * answer the whole list as if it were the filtered one.
 */
public record Paging(int limit, String cursor) {
    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 100;

    /** The paging of a list whose only other query parameters are {@code filters}. */
    public static Paging from(ApiRequest request, String... filters) {
        return from(request, DEFAULT_LIMIT, MAX_LIMIT, filters);
    }

    /**
     * ... with limits of its own: a list inside an object, which a client reads as the whole list unless it is long
     * (an import's invalid lines), or a CSV download's parts.
     */
    public static Paging from(ApiRequest request, int defaultLimit, int maxLimit, String... filters) {
        var allowed = new String[filters.length + 2];
        allowed[0] = "limit";
        allowed[1] = "cursor";
        System.arraycopy(filters, 0, allowed, 2, filters.length);
        request.onlyQuery(allowed);
        int limit = defaultLimit;
        var raw = request.query("limit");
        if (raw.isPresent()) {
            // API Gateway joins a repeated parameter's values with commas: "limit=5&limit=6" arrives as "5,6"
            if (raw.get().contains(",")) throw ApiException.invalid("limit must be given once");
            try {
                limit = Integer.parseInt(raw.get());
            } catch (NumberFormatException e) {
                throw ApiException.invalid("limit must be an integer between 1 and " + maxLimit);
            }
            if (limit < 1 || limit > maxLimit) {
                throw ApiException.invalid("limit must be between 1 and " + maxLimit);
            }
        }
        return new Paging(limit, request.query("cursor").orElse(null));
    }
}
