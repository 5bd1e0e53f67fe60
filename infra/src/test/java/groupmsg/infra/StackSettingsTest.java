package groupmsg.infra;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Context parameters and how the Lambda artifact is found (no synth). */
class StackSettingsTest {

    private static StackSettings fromContext(Map<String, Object> context) {
        return StackSettings.fromContext(new App(AppProps.builder().context(context).build()).getNode());
    }

    @Test
    void stageDefaultsToDevAndTheJarIsTheFunctionsModulesShadedJar() {
        StackSettings settings = fromContext(Map.of());
        assertThat(settings.stage()).isEqualTo("dev");
        assertThat(settings.isProd()).isFalse();
        assertThat(settings.stackName()).isEqualTo("groupmsg-dev");
        assertThat(settings.publicBaseUrl()).isNull();
        assertThat(settings.twilioAccountSid()).isNull();
        assertThat(settings.functionsJar()).isRegularFile()
                .hasParent(StackSettings.repositoryRoot(Path.of("")).resolve("functions/target"));
        assertThat(settings.functionsJar().getFileName().toString()).matches("groupmsg-functions-.+-lambda\\.jar");
    }

    @Test
    void prodStageAndPublicBaseUrl() {
        StackSettings settings = fromContext(Map.of("stage", "prod", "publicBaseUrl", "https://sms.example.com//"));
        assertThat(settings.isProd()).isTrue();
        assertThat(settings.publicBaseUrl()).isEqualTo("https://sms.example.com");
    }

    @Test
    void twilioAccountSid() {
        assertThat(fromContext(Map.of("twilioAccountSid", " AC0123456789abcdef0123456789ABCDEF ")).twilioAccountSid())
                .isEqualTo("AC0123456789abcdef0123456789ABCDEF");
    }

    @Test
    void twilioSecretArnMustBeComplete() {
        String arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:groupmsg/twilio-AbC123";
        assertThat(fromContext(Map.of("twilioSecretArn", arn)).twilioSecretArn()).isEqualTo(arn);
        assertThat(fromContext(Map.of()).twilioSecretArn()).isNull();
        // Without the 6-character suffix a grant would need a wildcard ("-??????").
        assertThatThrownBy(() -> fromContext(Map.of("twilioSecretArn",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:groupmsg/twilio")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("complete ARN");
        assertThatThrownBy(() -> fromContext(Map.of("twilioSecretArn", "groupmsg/twilio")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twilioSecretArn");
    }

    @Test
    void twilioSecretRevisionIsAShortLabel() {
        assertThat(fromContext(Map.of("twilioSecretRevision", "2026-11-23.1")).twilioSecretRevision()).isEqualTo("2026-11-23.1");
        assertThatThrownBy(() -> fromContext(Map.of("twilioSecretRevision", "new token!")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twilioSecretRevision");
    }

    @Test
    void rejectsBadValuesWithAClearMessage() {
        assertThatThrownBy(() -> fromContext(Map.of("stage", "Prod env")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'stage'");
        assertThatThrownBy(() -> fromContext(Map.of("publicBaseUrl", "http://sms.example.com")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("https://");
        assertThatThrownBy(() -> fromContext(Map.of("alarmEmail", "nobody")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("alarmEmail");
        assertThatThrownBy(() -> fromContext(Map.of("twilioAccountSid", "AC123")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twilioAccountSid");
    }

    @Test
    void missingLambdaJarFailsSynthWithTheBuildCommand(@TempDir Path tmp) {
        Path missing = tmp.resolve("nope-lambda.jar");
        assertThatThrownBy(() -> fromContext(Map.of("functionsJar", missing.toString())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("mvn -B install -DskipTests -pl functions");
    }

    @Test
    void repositoryRootIsFoundFromBelowAndNotInventedElsewhere(@TempDir Path tmp) throws IOException {
        Path root = StackSettings.repositoryRoot(Path.of(""));
        assertThat(root.resolve("functions/pom.xml")).isRegularFile();
        assertThat(StackSettings.repositoryRoot(root.resolve("infra/src/main/java"))).isEqualTo(root);
        Files.createDirectories(tmp.resolve("a/b"));
        assertThatThrownBy(() -> StackSettings.repositoryRoot(tmp.resolve("a/b")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("functionsJar");
    }
}
