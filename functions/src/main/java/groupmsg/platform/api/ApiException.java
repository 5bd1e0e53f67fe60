package groupmsg.platform.api;

import java.util.List;
import java.util.Map;

/**
 * A request that cannot be served as asked, with the contract's code and a message meant for the caller.
 * Thrown from services; turned into a response in one place ({@link HttpApiHandler}).
 */
public final class ApiException extends RuntimeException {
    private final ErrorCode code;
    private final List<Map<String, Object>> details;
    private final boolean afterPartOfTheWork;

    public ApiException(ErrorCode code, String message, List<Map<String, Object>> details) {
        this(code, message, details, false);
    }

    private ApiException(ErrorCode code, String message, List<Map<String, Object>> details, boolean afterPartOfTheWork) {
        super(message, null, false, false);
        this.code = code;
        this.details = List.copyOf(details);
        this.afterPartOfTheWork = afterPartOfTheWork;
    }

    /**
     * This answer, thrown after part of the request's work committed (a group created before its members' add met
     * contention): under an Idempotency-Key the request's claim is kept, so its retry runs again with the same ids and
     * finds that part, rather than starting over as after an answer that changed nothing.
     */
    public ApiException afterPartOfTheWork() {
        return new ApiException(code, getMessage(), details, true);
    }

    public boolean isAfterPartOfTheWork() {
        return afterPartOfTheWork;
    }

    public ApiException(ErrorCode code, String message) {
        this(code, message, List.of());
    }

    public ErrorCode code() {
        return code;
    }

    public List<Map<String, Object>> details() {
        return details;
    }

    public static ApiException invalid(String message) {
        return new ApiException(ErrorCode.INVALID_REQUEST, message);
    }

    public static ApiException invalid(String message, List<Map<String, Object>> details) {
        return new ApiException(ErrorCode.INVALID_REQUEST, message, details);
    }

    public static ApiException notFound(String what) {
        return new ApiException(ErrorCode.NOT_FOUND, what + " not found");
    }

    public static ApiException conflict(String message) {
        return new ApiException(ErrorCode.CONFLICT, message);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(ErrorCode.FORBIDDEN, message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, message);
    }
}
