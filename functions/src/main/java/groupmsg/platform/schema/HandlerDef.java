package groupmsg.platform.schema;

import java.util.List;

/**
 * One Lambda function: its handler class, what triggers it, its sizing, and the tables and queues it uses
 * (the stack grants exactly these; nothing else).
 */
public record HandlerDef(String name, String className, Trigger trigger, int memoryMb, int timeoutSeconds,
                         List<String> tables, List<String> queuesSentTo) {

    /**
     * What invokes the function. {@code INVOKE}: nothing in the stack; an operator with IAM rights calls it directly
     * ({@code aws lambda invoke}), so it has no route, event source or schedule.
     */
    public enum Trigger { AUTHORIZER, HTTP, SQS, SCHEDULE, INVOKE }

    /** The Lambda handler string (the class implements RequestStreamHandler through {@code platform.lambda}). */
    public String handlerString() {
        return className + "::handleRequest";
    }
}
