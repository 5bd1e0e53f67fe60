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

    public ApiException(ErrorCode code, String message, List<Map<String, Object>> details) {
        super(message, null, false, false);
        this.code = code;
        this.details = List.copyOf(details);
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
