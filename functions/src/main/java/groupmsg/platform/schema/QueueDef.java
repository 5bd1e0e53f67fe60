package groupmsg.platform.schema;

/**
 * An SQS queue with its dead-letter queue and the Lambda event source that consumes it.
 * Visibility timeout is at least six times the consumer's timeout plus the batching window (AWS guidance for Lambda
 * event sources).
 * {@code batchingWindowSeconds} is the event source's MaximumBatchingWindowInSeconds: how long records are gathered
 * before an invocation that is not full; Lambda takes batches over 10 only with a window of at least 1 s, and
 * FIFO queues have no window.
 */
public record QueueDef(String name, boolean fifo, String consumer, int batchSize, int maxConcurrency,
                       int maxReceiveCount, int visibilityTimeoutSeconds, int retentionDays, int batchingWindowSeconds) {

    public QueueDef {
        // AWS: at least six times the function's timeout, plus the batching window (records wait in flight for it)
        if (visibilityTimeoutSeconds < 6 * Handlers.byName(consumer).timeoutSeconds() + batchingWindowSeconds) {
            throw new IllegalArgumentException("visibility timeout of " + name
                    + " must be >= 6x its consumer's timeout + the batching window");
        }
        if (batchingWindowSeconds < 0 || batchingWindowSeconds > 300 || (fifo && batchingWindowSeconds > 0)) {
            throw new IllegalArgumentException("batching window of " + name + " must be 0..300 s, and 0 for a FIFO queue");
        }
        // A FIFO consumer reports the messages behind a failed one of its group failed unprocessed (they must not
        // overtake it), yet each of those receives counts: with the failing one's last receive they would all go to
        // the dead-letter queue, never tried. One message per invocation gives each its own receives.
        if (fifo && batchSize != 1) {
            throw new IllegalArgumentException("batch size of FIFO queue " + name + " must be 1: messages held back behind"
                    + " a failing one of their group would reach the dead-letter queue with it");
        }
        int maxBatch = batchingWindowSeconds == 0 ? 10 : 10_000;
        if (batchSize < 1 || batchSize > maxBatch) {
            throw new IllegalArgumentException("batch size of " + name + " must be 1.." + maxBatch
                    + (batchingWindowSeconds == 0 ? " without a batching window" : ""));
        }
    }

    /** A queue whose consumer is invoked as soon as records are there (no batching window). */
    public QueueDef(String name, boolean fifo, String consumer, int batchSize, int maxConcurrency,
                    int maxReceiveCount, int visibilityTimeoutSeconds, int retentionDays) {
        this(name, fifo, consumer, batchSize, maxConcurrency, maxReceiveCount, visibilityTimeoutSeconds, retentionDays, 0);
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

    /** ... and its dead-letter queue's (a function that dead-letters this queue's messages itself is given it). */
    public String dlqEnvVar() {
        return "DLQ_URL_" + name.toUpperCase().replace('-', '_');
    }
}
