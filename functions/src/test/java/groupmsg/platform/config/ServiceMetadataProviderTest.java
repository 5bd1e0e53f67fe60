package groupmsg.platform.config;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.DefaultServiceMetadata;
import software.amazon.awssdk.regions.GeneratedServiceMetadataProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.ServiceMetadata;
import software.amazon.awssdk.regions.ServiceMetadataProvider;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * functions' stand-in for the SDK's service metadata provider: every service the Lambda jar has a client for gets
 * what the SDK's own provider (loaded from the SDK's regions jar beside it) gives, anything else the SDK's fallback.
 */
class ServiceMetadataProviderTest {
    private static final String PROVIDER = "software.amazon.awssdk.regions.GeneratedServiceMetadataProvider";

    @Test
    void everyServiceWithAClientHereGetsWhatTheSdksOwnProviderGives() throws Exception {
        var ours = new GeneratedServiceMetadataProvider();
        ServiceMetadataProvider sdks = sdkProvider();
        assertThat(sdks.getClass()).isNotSameAs(GeneratedServiceMetadataProvider.class);
        for (String prefix : List.of(DynamoDbClient.SERVICE_METADATA_ID, DynamoDbStreamsClient.SERVICE_METADATA_ID,
                SqsClient.SERVICE_METADATA_ID, SnsClient.SERVICE_METADATA_ID, SecretsManagerClient.SERVICE_METADATA_ID)) {
            ServiceMetadata expected = sdks.serviceMetadata(prefix);
            assertThat(expected).as("the SDK knows %s", prefix).isNotNull();
            assertThat(ours.serviceMetadata(prefix)).as(prefix).isExactlyInstanceOf(expected.getClass());
            assertThat(ServiceMetadata.of(prefix)).as(prefix).isExactlyInstanceOf(expected.getClass());
            for (Region region : List.of(Region.US_EAST_1, Region.EU_CENTRAL_1, Region.US_GOV_WEST_1, Region.CN_NORTH_1)) {
                assertThat(ServiceMetadata.of(prefix).signingRegion(region)).as("%s in %s", prefix, region)
                        .isEqualTo(expected.signingRegion(region));
            }
        }
    }

    @Test
    void anyOtherServiceFallsBackToTheSdksDefault() throws Exception {
        // the SDK's own provider answers s3: this asserts the stand-in is the one loaded here
        assertThat(sdkProvider().serviceMetadata("s3")).isNotNull();
        assertThat(new GeneratedServiceMetadataProvider().serviceMetadata("s3")).isNull();
        var s3 = ServiceMetadata.of("s3");
        assertThat(s3).isInstanceOf(DefaultServiceMetadata.class);
        assertThat(s3.signingRegion(Region.EU_WEST_1)).isEqualTo(Region.EU_WEST_1);
    }

    /**
     * The SDK's provider, read from the regions jar (where {@link ServiceMetadataProvider} comes from) into a loader
     * of its own for that one class; everything it refers to is the test's.
     */
    private static ServiceMetadataProvider sdkProvider() throws Exception {
        URL regionsJar = ServiceMetadataProvider.class.getProtectionDomain().getCodeSource().getLocation();
        var loader = new ClassLoader(ServiceMetadataProviderTest.class.getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (!name.equals(PROVIDER)) return super.loadClass(name, resolve);
                synchronized (getClassLoadingLock(name)) {
                    Class<?> loaded = findLoadedClass(name);
                    if (loaded != null) return loaded;
                    try (var jar = new URLClassLoader(new URL[] {regionsJar}, null);
                         InputStream in = jar.getResourceAsStream(name.replace('.', '/') + ".class")) {
                        byte[] bytes = in.readAllBytes();
                        return defineClass(name, bytes, 0, bytes.length);
                    } catch (IOException e) {
                        throw new ClassNotFoundException(name, e);
                    }
                }
            }
        };
        return (ServiceMetadataProvider) loader.loadClass(PROVIDER).getConstructor().newInstance();
    }
}
