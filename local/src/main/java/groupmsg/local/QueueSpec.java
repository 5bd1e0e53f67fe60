package groupmsg.local;

import groupmsg.platform.schema.QueueDef;

/**
 * The attributes of a queue and its dead-letter queue, as provisioning needs them. Taken from a {@link QueueDef}
 * for the real queues; tests build their own (a {@code QueueDef} insists on a visibility timeout of six times a
 * real consumer's timeout, which is minutes).
 */
public record QueueSpec(String name, boolean fifo, int maxReceiveCount, int visibilityTimeoutSeconds, int retentionDays) {

    /** SQS keeps messages at most 14 days; the dead-letter queue keeps them that long, for a person to look at. */
    public static final int DLQ_RETENTION_DAYS = 14;

    public QueueSpec {
        if (maxReceiveCount < 1) throw new IllegalArgumentException("maxReceiveCount must be >= 1");
        if (visibilityTimeoutSeconds < 0 || visibilityTimeoutSeconds > 43_200) {
            throw new IllegalArgumentException("visibility timeout must be 0..43200 s");
        }
        if (retentionDays < 1 || retentionDays > DLQ_RETENTION_DAYS) {
            throw new IllegalArgumentException("retention must be 1..14 days");
        }
    }

    public static QueueSpec of(QueueDef queue) {
        return new QueueSpec(queue.name(), queue.fifo(), queue.maxReceiveCount(), queue.visibilityTimeoutSeconds(),
                queue.retentionDays());
    }

    /** Same naming as {@link QueueDef#queueName()}: FIFO queue names must end in ".fifo". */
    public String queueName() {
        return fifo ? name + ".fifo" : name;
    }

    public String dlqName() {
        return fifo ? name + "-dlq.fifo" : name + "-dlq";
    }
}
