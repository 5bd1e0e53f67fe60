package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shaded Lambda jar as Lambda loads it (its own class loader, nothing else on the class path): resolving a
 * client's signing region loads that service's metadata only, not the SDK's ~310 (functions' stand-in provider,
 * about 100 ms of every handler's cold start; BENCHMARKS.md).
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

    private static Path lambdaJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("../functions/target"))) {
            return files.filter(p -> p.getFileName().toString().endsWith("-lambda.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no Lambda jar in functions/target: mvn -pl functions package"));
        }
    }
}
