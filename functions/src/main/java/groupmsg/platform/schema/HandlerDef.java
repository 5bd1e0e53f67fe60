package groupmsg.platform.schema;

import java.util.List;

/**
 * One Lambda function: its handler class, what triggers it, its sizing, and the tables and queues it uses
 * (the stack grants exactly these; nothing else).
 *
 * @param deadLettersSentTo the queues whose dead-letter queue the function sends to itself: a consumer that sends its
 *                          queue's messages again as new ones (each starts its receives anew, so the queue's redrive
 *                          policy never sees one fail often enough) must dead-letter them itself
 */
public record HandlerDef(String name, String className, Trigger trigger, int memoryMb, int timeoutSeconds,
                         List<String> tables, List<String> queuesSentTo, List<String> deadLettersSentTo) {

    /** A function that leaves dead letters to its queues' redrive policies. */
    public HandlerDef(String name, String className, Trigger trigger, int memoryMb, int timeoutSeconds,
                      List<String> tables, List<String> queuesSentTo) {
        this(name, className, trigger, memoryMb, timeoutSeconds, tables, queuesSentTo, List.of());
    }

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
