package groupmsg.infra;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static groupmsg.infra.TemplateJson.map;
import static groupmsg.infra.TemplateJson.statements;
import static groupmsg.infra.TemplateJson.strings;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code -c twilioSecretArn=... -c twilioSecretRevision=...}: the carrier credentials live in the operator's own
 * secret, and a new revision label re-publishes the functions that read it.
 */
class ExistingSecretTest {

    static final String ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:groupmsg/twilio-AbC123";

    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of("stage", "shared", "twilioSecretArn", ARN, "twilioSecretRevision", "2026-11-23"));
    }

    @Test
    void noSecretIsCreatedAndTheCarrierUsersGetExactlyThatOne() {
        synth.template().resourceCountIs("AWS::SecretsManager::Secret", 0);
        assertThat(map(map(synth.json().get("Outputs")).get("TwilioSecretArn")).get("Value")).isEqualTo(ARN);
        int readers = 0;
        for (var e : synth.stack().functions().entrySet()) {
            String name = e.getKey();
            Map<String, Object> env = map(map(synth.properties(synth.logicalId(e.getValue())).get("Environment")).get("Variables"));
            String roleId = synth.logicalId(e.getValue().getRole());
            List<Map<String, Object>> secretStatements = synth.resources().values().stream()
                    .filter(r -> "AWS::IAM::Policy".equals(r.get("Type")))
                    .filter(r -> TemplateJson.refs(map(r.get("Properties")).get("Roles")).contains(roleId))
                    .flatMap(r -> statements(r).stream())
                    .filter(s -> strings(s.get("Action")).stream().anyMatch(a -> a.startsWith("secretsmanager:")))
                    .toList();
            if (synth.stack().needs().get(name).carrierCredentials()) {
                readers++;
                assertThat(env).as(name).containsEntry(GroupMsgStack.TWILIO_SECRET_ARN_ENV, ARN)
                        // a new revision is a new configuration: new versions, new SnapStart snapshots
                        .containsEntry(GroupMsgStack.TWILIO_SECRET_REVISION_ENV, "2026-11-23");
                assertThat(secretStatements).as(name).singleElement().satisfies(s -> {
                    assertThat(s.get("Resource")).isEqualTo(ARN);
                    assertThat(strings(s.get("Action")))
                            .containsExactlyInAnyOrder("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret");
                });
            } else {
                assertThat(env).as(name).doesNotContainKeys(GroupMsgStack.TWILIO_SECRET_ARN_ENV,
                        GroupMsgStack.TWILIO_SECRET_REVISION_ENV);
                assertThat(secretStatements).as(name).isEmpty();
            }
        }
        assertThat(readers).isPositive();
    }

    @Test
    void cdkNagAwsSolutionsFindsNothingUnsuppressed() {
        assertThat(synth.nagErrors()).as(GroupMsgStackTest.describe(synth.nagErrors())).isEmpty();
        assertThat(synth.nagWarnings()).as(GroupMsgStackTest.describe(synth.nagWarnings())).isEmpty();
        assertThat(synth.otherWarnings()).as(GroupMsgStackTest.describe(synth.otherWarnings())).isEmpty();
    }
}
