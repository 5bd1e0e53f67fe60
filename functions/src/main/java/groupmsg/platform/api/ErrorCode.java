package groupmsg.platform.api;

/** The contract's error codes and the HTTP status each maps to: the one place where that mapping lives. */
public enum ErrorCode {
    INVALID_REQUEST(400, "invalid_request"),
    UNAUTHORIZED(401, "unauthorized"),
    FORBIDDEN(403, "forbidden"),
    NOT_FOUND(404, "not_found"),
    NOT_CANCELLABLE(405, "not_cancellable"),
    CONFLICT(409, "conflict"),
    PAYLOAD_TOO_LARGE(413, "payload_too_large"),
    RATE_LIMITED(429, "rate_limited"),
    INTERNAL(500, "internal_error"),
    UNAVAILABLE(503, "unavailable");

    private final int status;
    private final String wire;

    ErrorCode(int status, String wire) {
        this.status = status;
        this.wire = wire;
    }

    public int status() {
        return status;
    }

    public String wire() {
        return wire;
    }
}
