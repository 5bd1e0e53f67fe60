package groupmsg.infra;

import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static groupmsg.infra.TemplateJson.map;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code -c stage=prod -c publicBaseUrl=...}: data survives stack deletion and the webhook URL is the one given. */
class ProdStageTest {

    static final String TWILIO_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";

    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of("stage", "prod", "publicBaseUrl", "https://sms.example.com/",
                "twilioAccountSid", TWILIO_ACCOUNT_SID));
    }

    @Test
    void stackIsNamedAfterTheStage() {
        assertThat(synth.stack().getStackName()).isEqualTo("groupmsg-prod");
        assertThat(synth.templateFile()).hasFileName("groupmsg-prod.template.json").exists();
    }

    @Test
    void tablesAreDeletionProtectedAndRetained() {
        assertThat(synth.stack().tables()).hasSameSizeAs(Tables.ALL);
        for (var table : synth.stack().tables().values()) {
            String id = synth.logicalId(table);
            assertThat(synth.properties(id).get("DeletionProtectionEnabled")).isEqualTo(true);
            assertThat(synth.properties(id).get("PointInTimeRecoverySpecification"))
                    .isEqualTo(Map.of("PointInTimeRecoveryEnabled", true));
            assertThat(synth.resources().get(id).get("DeletionPolicy")).isEqualTo("Retain");
            assertThat(synth.resources().get(id).get("UpdateReplacePolicy")).isEqualTo("Retain");
        }
    }

    @Test
    void queuesAndTheirDeadLetterQueuesAreRetained() {
        assertThat(synth.resources().values().stream().filter(r -> "AWS::SQS::Queue".equals(r.get("Type"))))
                .hasSize(2 * groupmsg.platform.schema.Queues.ALL.size())
                .allSatisfy(r -> {
                    assertThat(r.get("DeletionPolicy")).isEqualTo("Retain");
                    assertThat(r.get("UpdateReplacePolicy")).isEqualTo("Retain");
                });
    }

    @Test
    void eventTopicsAreRetainedWithTheirSubscriptions() {
        for (var topic : synth.stack().eventTopics().values()) {
            var resource = synth.resources().get(synth.logicalId(topic));
            assertThat(resource.get("DeletionPolicy")).isEqualTo("Retain");
            assertThat(resource.get("UpdateReplacePolicy")).isEqualTo("Retain");
        }
        assertThat(synth.stack().eventTopics()).hasSize(groupmsg.notify.Topic.values().length);
    }

    @Test
    void logGroupsAreRetainedWithLongerRetention() {
        synth.resources().values().stream().filter(r -> "AWS::Logs::LogGroup".equals(r.get("Type"))).forEach(r -> {
            assertThat(r.get("DeletionPolicy")).isEqualTo("Retain");
            assertThat(map(r.get("Properties")).get("RetentionInDays")).isEqualTo(180);
        });
    }

    @Test
    void publicBaseUrlComesFromContextWithoutTrailingSlash() {
        assertThat(map(map(synth.json().get("Outputs")).get("PublicBaseUrl")).get("Value"))
                .isEqualTo("https://sms.example.com");
        synth.stack().functions().forEach((name, fn) -> {
            Map<String, Object> env = map(map(synth.properties(synth.logicalId(fn)).get("Environment")).get("Variables"));
            if (env.containsKey(GroupMsgStack.PUBLIC_BASE_URL_ENV)) {
                assertThat(env.get(GroupMsgStack.PUBLIC_BASE_URL_ENV)).as(name).isEqualTo("https://sms.example.com");
            }
        });
    }

    @Test
    void twilioAccountSidFromContextGoesToTheCarrierUsersAndTheRetainedSecret() {
        String secretId = synth.logicalId(synth.stack().twilioSecret());
        assertThat(synth.resources().get(secretId).get("DeletionPolicy")).isEqualTo("Retain");
        assertThat(map(synth.properties(secretId).get("GenerateSecretString")).get("SecretStringTemplate"))
                .isEqualTo("{\"accountSid\":\"" + TWILIO_ACCOUNT_SID + "\"}");
        synth.stack().functions().forEach((name, fn) -> {
            Map<String, Object> env = map(map(synth.properties(synth.logicalId(fn)).get("Environment")).get("Variables"));
            if (synth.stack().needs().get(name).carrierCredentials()) {
                assertThat(env).as(name).containsEntry(GroupMsgStack.TWILIO_ACCOUNT_SID_ENV, TWILIO_ACCOUNT_SID)
                        .containsKey(GroupMsgStack.TWILIO_SECRET_ARN_ENV);
            } else {
                assertThat(env).as(name).doesNotContainKeys(GroupMsgStack.TWILIO_ACCOUNT_SID_ENV, GroupMsgStack.TWILIO_SECRET_ARN_ENV);
            }
        });
    }

    @Test
    void cdkNagAwsSolutionsFindsNothingUnsuppressed() {
        GroupMsgStackTest.assertNagClean(synth);
    }
}
