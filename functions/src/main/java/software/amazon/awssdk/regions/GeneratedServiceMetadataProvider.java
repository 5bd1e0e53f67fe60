package software.amazon.awssdk.regions;

import software.amazon.awssdk.regions.servicemetadata.DynamodbServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SecretsmanagerServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SnsServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SqsServiceMetadata;

/**
 * Stands in for the AWS SDK's class of this name in the Lambda jar (the shade plugin leaves the SDK's copy out): the
 * SDK's builds a map of all ~310 services' metadata in its static initialiser, and every client build asks it for
 * its signing region, so each handler's cold start loaded 310 classes to use one (measured: 134-168 ms of a fresh
 * JVM, a fifth of a handler's cold start). This one knows the services the Lambda jar has clients for and creates
 * only the one asked for; for any other prefix it answers null, and {@link ServiceMetadata#of} then falls back to the
 * SDK's {@code DefaultServiceMetadata} (the region itself as signing region), as for a service the SDK does not know.
 * A new service client in {@code functions} belongs in the switch (ServiceMetadataProviderTest checks the four).
 */
public final class GeneratedServiceMetadataProvider implements ServiceMetadataProvider {
    @Override
    public ServiceMetadata serviceMetadata(String endpointPrefix) {
        return switch (endpointPrefix) {
            case "dynamodb" -> new DynamodbServiceMetadata();
            case "sqs" -> new SqsServiceMetadata();
            case "sns" -> new SnsServiceMetadata();
            case "secretsmanager" -> new SecretsmanagerServiceMetadata();
            default -> null;
        };
    }
}
