package groupmsg.local;

import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The AWS services the handlers talk to: DynamoDB Local and ElasticMQ embedded in this JVM, or the external
 * endpoints given in the settings instead. The two embedded servers start in parallel (each takes about two
 * seconds, mostly class loading).
 */
final class LocalServices implements AutoCloseable {
    private final EmbeddedDynamoDb embeddedDynamo;
    private final EmbeddedSqs embeddedSqs;
    private final URI dynamoEndpoint;
    private final URI sqsEndpoint;

    private LocalServices(EmbeddedDynamoDb embeddedDynamo, EmbeddedSqs embeddedSqs, URI dynamoEndpoint, URI sqsEndpoint) {
        this.embeddedDynamo = embeddedDynamo;
        this.embeddedSqs = embeddedSqs;
        this.dynamoEndpoint = dynamoEndpoint;
        this.sqsEndpoint = sqsEndpoint;
    }

    static LocalServices start(LocalSettings settings) {
        CompletableFuture<EmbeddedDynamoDb> dynamo = settings.dynamoEndpoint() != null
                ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> EmbeddedDynamoDb.start(settings.dataDir()), LocalServices::newThread);
        CompletableFuture<EmbeddedSqs> sqs = settings.sqsEndpoint() != null
                ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> EmbeddedSqs.start(settings.region(), LocalAws.ACCOUNT_ID),
                        LocalServices::newThread);
        EmbeddedDynamoDb startedDynamo = null;
        EmbeddedSqs startedSqs = null;
        RuntimeException failure = null;
        try {
            startedDynamo = dynamo.join();
        } catch (CompletionException e) {
            failure = unwrap(e);
        }
        try {
            startedSqs = sqs.join();
        } catch (CompletionException e) {
            if (failure == null) failure = unwrap(e); else failure.addSuppressed(unwrap(e));
        }
        if (failure != null) {
            // Do not leave a half-started pair running.
            if (startedDynamo != null) startedDynamo.close();
            if (startedSqs != null) startedSqs.close();
            throw failure;
        }
        return new LocalServices(startedDynamo, startedSqs,
                startedDynamo != null ? startedDynamo.endpoint() : settings.dynamoEndpoint(),
                startedSqs != null ? startedSqs.endpoint() : settings.sqsEndpoint());
    }

    URI dynamoEndpoint() {
        return dynamoEndpoint;
    }

    URI sqsEndpoint() {
        return sqsEndpoint;
    }

    boolean dynamoEmbedded() {
        return embeddedDynamo != null;
    }

    boolean sqsEmbedded() {
        return embeddedSqs != null;
    }

    /** Stops what this process started; external services are left alone. */
    @Override
    public void close() {
        if (embeddedSqs != null) embeddedSqs.close();
        if (embeddedDynamo != null) embeddedDynamo.close();
    }

    private static void newThread(Runnable task) {
        Thread.ofPlatform().name("embedded-service-start").start(task);
    }

    private static RuntimeException unwrap(CompletionException e) {
        return e.getCause() instanceof RuntimeException r ? r : e;
    }
}
