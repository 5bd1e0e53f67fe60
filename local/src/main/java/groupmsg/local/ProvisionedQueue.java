package groupmsg.local;

/** A queue as it exists after provisioning: where to reach it and its dead-letter queue. */
public record ProvisionedQueue(QueueSpec spec, String url, String arn, String dlqUrl, String dlqArn) {}
