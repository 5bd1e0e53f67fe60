package groupmsg.local;

/**
 * An invocation that produced no response, for one of the reasons Lambda reports: the handler could not be
 * built, threw, ran out of time, or a payload broke Lambda's size limits. Callers map it the way the AWS caller
 * would (API Gateway answers 500, an SQS event source leaves the whole batch on the queue).
 */
public final class FunctionError extends Exception {

    public enum Kind { INIT_FAILED, UNHANDLED, TIMEOUT, REQUEST_TOO_LARGE, RESPONSE_TOO_LARGE }

    private final Kind kind;
    private final String function;

    FunctionError(Kind kind, String function, String message, Throwable cause) {
        super(function + ": " + message, cause);
        this.kind = kind;
        this.function = function;
    }

    public Kind kind() {
        return kind;
    }

    public String function() {
        return function;
    }
}
