package groupmsg.platform.schema;

/**
 * An SQS queue with its dead-letter queue and the Lambda event source that consumes it.
 * Visibility timeout is at least six times the consumer's timeout (AWS guidance for Lambda event sources).
 */
public record QueueDef(String name, boolean fifo, String consumer, int batchSize, int maxConcurrency,
                       int maxReceiveCount, int visibilityTimeoutSeconds, int retentionDays) {

    public QueueDef {
        if (visibilityTimeoutSeconds < 6 * Handlers.byName(consumer).timeoutSeconds()) {
            throw new IllegalArgumentException("visibility timeout of " + name + " must be >= 6x its consumer's timeout");
        }
    }

    /** Physical name suffix: FIFO queues must end in ".fifo". */
    public String queueName() {
        return fifo ? name + ".fifo" : name;
    }

    public String dlqName() {
        return fifo ? name + "-dlq.fifo" : name + "-dlq";
    }

    /** Lambda environment variable that carries this queue's URL. */
    public String envVar() {
        return "QUEUE_URL_" + name.toUpperCase().replace('-', '_');
    }
}
