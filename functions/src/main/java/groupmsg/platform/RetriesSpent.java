package groupmsg.platform;

/**
 * A batch's items the service still left unprocessed when its retries were spent (DynamoDB's UnprocessedItems and
 * UnprocessedKeys, SQS's entries failed on its side): throttling or trouble on the service's side, not the request's,
 * so the same request shortly after may succeed (an API answers 503 with Retry-After, not 500).
 */
public final class RetriesSpent extends RuntimeException {
    public RetriesSpent(String message) {
        super(message);
    }
}
