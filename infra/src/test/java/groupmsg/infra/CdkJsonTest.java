package groupmsg.infra;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static groupmsg.infra.TemplateJson.map;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code npx aws-cdk@2.1148.1 deploy} is run from the repository root: one cdk.json there, whose app command builds
 * the Lambda jar and runs {@link GroupMsgApp} (the same context the tests synthesize with).
 */
class CdkJsonTest {

    private static final Path ROOT = StackSettings.repositoryRoot(Path.of(""));

    @Test
    void oneCdkJsonAtTheRepositoryRootWhoseAppIsTheBuildAndRunScript() throws IOException {
        assertThat(Synth.cdkJson()).isEqualTo(ROOT.resolve("cdk.json")).isRegularFile();
        assertThat(ROOT.resolve("infra/cdk.json")).as("a second cdk.json would drift from the first").doesNotExist();
        @SuppressWarnings("unchecked")
        Map<String, Object> cdkJson = new ObjectMapper().readValue(Synth.cdkJson().toFile(), Map.class);
        assertThat(cdkJson.get("app")).isEqualTo("infra/bin/cdk-app");
        assertThat(map(cdkJson.get("context"))).containsEntry("stage", StackSettings.DEFAULT_STAGE);

        Path script = ROOT.resolve("infra/bin/cdk-app");
        assertThat(Files.isExecutable(script)).as(script + " is executable").isTrue();
        String text = Files.readString(script);
        assertThat(text).startsWith("#!/usr/bin/env bash")
                .contains("bin/jdk")                                   // a JDK >= 21 even where java is older
                .contains("-pl infra -am install")                     // the Lambda jar and the app, built
                .contains("-f infra/pom.xml exec:java");               // then run
        assertThat(Files.readString(ROOT.resolve("infra/pom.xml")))
                .contains("<cdk.app.mainClass>" + GroupMsgApp.class.getName() + "</cdk.app.mainClass>");
    }
}
