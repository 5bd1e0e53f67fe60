package groupmsg.platform.config;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.DefaultServiceMetadata;
import software.amazon.awssdk.regions.GeneratedServiceMetadataProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.ServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.DynamodbServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SecretsmanagerServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SnsServiceMetadata;
import software.amazon.awssdk.regions.servicemetadata.SqsServiceMetadata;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * functions' stand-in for the SDK's service metadata provider: every service the Lambda jar has a client for gets the
 * SDK's own metadata for it (its signing regions, not a guess), anything else the SDK's fallback.
 */
class ServiceMetadataProviderTest {
    @Test
    void everyServiceWithAClientHereGetsTheSdksMetadata() {
        var provider = new GeneratedServiceMetadataProvider();
        Map<String, Class<?>> expected = Map.of(
                DynamoDbClient.SERVICE_METADATA_ID, DynamodbServiceMetadata.class,
                SqsClient.SERVICE_METADATA_ID, SqsServiceMetadata.class,
                SnsClient.SERVICE_METADATA_ID, SnsServiceMetadata.class,
                SecretsManagerClient.SERVICE_METADATA_ID, SecretsmanagerServiceMetadata.class);
        expected.forEach((prefix, type) -> {
            assertThat(provider.serviceMetadata(prefix)).as(prefix).isInstanceOf(type);
            assertThat(ServiceMetadata.of(prefix)).as(prefix).isInstanceOf(type);
        });
        assertThat(ServiceMetadata.of("dynamodb").signingRegion(Region.US_GOV_WEST_1)).isEqualTo(Region.US_GOV_WEST_1);
    }

    @Test
    void anyOtherServiceFallsBackToTheSdksDefault() {
        // the SDK's own provider would answer S3ServiceMetadata: this asserts the stand-in is the one loaded
        assertThat(new GeneratedServiceMetadataProvider().serviceMetadata("s3")).isNull();
        var s3 = ServiceMetadata.of("s3");
        assertThat(s3).isInstanceOf(DefaultServiceMetadata.class);
        assertThat(s3.signingRegion(Region.EU_WEST_1)).isEqualTo(Region.EU_WEST_1);
    }
}
