package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shaded Lambda jar as Lambda loads it (its own class loader, nothing else on the class path): resolving a
 * client's signing region loads that service's metadata only, not the SDK's ~310 (functions' stand-in provider,
 * 134-168 ms of a fresh JVM measured alone; BENCHMARKS.md). It reads the jar {@code mvn verify} packaged before the
 * local module's tests ({@code bin/test}); after {@code mvn test -pl local} alone it may be a stale one.
 */
class LambdaJarTest {
    @Test
    void aServicesSigningRegionLoadsOnlyThatServicesMetadata() throws Exception {
        Path jar = lambdaJar();
        Set<String> loaded = ConcurrentHashMap.newKeySet();
        try (var loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                loaded.add(name);
                return super.findClass(name);
            }
        }) {
            Class<?> serviceMetadata = loader.loadClass("software.amazon.awssdk.regions.ServiceMetadata");
            Class<?> region = loader.loadClass("software.amazon.awssdk.regions.Region");
            Object euWest1 = region.getMethod("of", String.class).invoke(null, "eu-west-1");
            Object dynamodb = serviceMetadata.getMethod("of", String.class).invoke(null, "dynamodb");
            Object signing = serviceMetadata.getMethod("signingRegion", region).invoke(dynamodb, euWest1);
            assertThat(signing).hasToString("eu-west-1");
            assertThat(dynamodb.getClass().getName()).isEqualTo("software.amazon.awssdk.regions.servicemetadata.DynamodbServiceMetadata");
        }
        List<String> metadata = loaded.stream().filter(n -> n.startsWith("software.amazon.awssdk.regions.servicemetadata.")).toList();
        assertThat(metadata).containsExactly("software.amazon.awssdk.regions.servicemetadata.DynamodbServiceMetadata");
    }

    /** A client for another service added to functions needs its metadata in the stand-in (a global one would sign wrongly). */
    @Test
    void everyServiceClientInTheJarGetsItsOwnMetadata() throws Exception {
        Path jar = lambdaJar();
        List<String> clients;
        try (var zip = new ZipFile(jar.toFile())) {
            clients = zip.stream().map(ZipEntry::getName)
                    .filter(n -> n.matches("software/amazon/awssdk/services/[a-z0-9/]+/[A-Za-z0-9]+Client\\.class"))
                    .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.')).toList();
        }
        List<String> checked = new ArrayList<>();
        try (var loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            Class<?> serviceMetadata = loader.loadClass("software.amazon.awssdk.regions.ServiceMetadata");
            Class<?> sdkClient = loader.loadClass("software.amazon.awssdk.core.SdkClient");
            for (String name : clients) {
                Class<?> client = loader.loadClass(name);
                if (!client.isInterface() || !sdkClient.isAssignableFrom(client)) continue;
                String prefix = (String) client.getField("SERVICE_METADATA_ID").get(null);
                Object metadata = serviceMetadata.getMethod("of", String.class).invoke(null, prefix);
                assertThat(metadata.getClass().getName()).as("%s (%s)", name, prefix)
                        .startsWith("software.amazon.awssdk.regions.servicemetadata.");
                checked.add(client.getSimpleName());
            }
        }
        assertThat(checked).contains("DynamoDbClient", "SqsClient", "SnsClient", "SecretsManagerClient");
    }

    private static Path lambdaJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("../functions/target"))) {
            return files.filter(p -> p.getFileName().toString().endsWith("-lambda.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no Lambda jar in functions/target: mvn -pl functions package"));
        }
    }
}
