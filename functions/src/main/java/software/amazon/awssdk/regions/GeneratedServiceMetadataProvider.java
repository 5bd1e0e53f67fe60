package software.amazon.awssdk.regions;

import software.amazon.awssdk.regions.servicemetadata.DynamodbServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SecretsmanagerServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SnsServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SqsServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.StreamsDynamodbServiceMetadata;

/**
 * Stands in for the AWS SDK's class of this name in the Lambda jar (the shade plugin leaves the SDK's copy out): the
 * SDK's builds a map of all ~310 services' metadata in its static initialiser, and every client build asks it for
 * its signing region, so each handler's cold start loaded 310 classes to use one (measured: 134-168 ms of a fresh
 * JVM for the lookup alone; 17-92 ms of each handler's fresh-JVM start, BENCHMARKS.md). This one knows the services
 * the Lambda jar has clients for and creates only the one asked for, the same class the SDK's would answer; for any
 * other prefix it answers null, and {@link ServiceMetadata#of} then falls back to the SDK's
 * {@code DefaultServiceMetadata} (the region itself as signing region: right for a regional service, not for a global
 * one such as IAM or Route 53). A client for another service belongs in the switch: {@code LambdaJarTest}
 * fails for any client in the jar this does not know, {@code ServiceMetadataProviderTest} compares the answers with
 * the SDK's own provider. The plain {@code functions} jar carries this class too, so on a class path with both (the
 * local runtime's) whichever comes first answers; for these services both give the same.
 */
public final class GeneratedServiceMetadataProvider implements ServiceMetadataProvider {
    @Override
    public ServiceMetadata serviceMetadata(String endpointPrefix) {
        return switch (endpointPrefix) {
            case "dynamodb" -> new DynamodbServiceMetadata();
            case "streams.dynamodb" -> new StreamsDynamodbServiceMetadata(); // its client ships in the dynamodb jar
            case "sqs" -> new SqsServiceMetadata();
            case "sns" -> new SnsServiceMetadata();
            case "secretsmanager" -> new SecretsmanagerServiceMetadata();
            default -> null;
        };
    }
}
