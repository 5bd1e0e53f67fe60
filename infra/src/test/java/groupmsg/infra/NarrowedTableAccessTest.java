package groupmsg.infra;

import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.TableAccess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static groupmsg.infra.TemplateJson.map;
import static groupmsg.infra.TemplateJson.refs;
import static groupmsg.infra.TemplateJson.statements;
import static groupmsg.infra.TemplateJson.strings;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Least privilege where a handler needs far less than read/write on its table: the authorizer (one GetItem of a
 * key-lookup item per request) and the bootstrap-account function (one transaction of three puts). That their code
 * stays inside these grants is checked on DynamoDB Local (local module, BootstrapAccountE2eTest).
 */
class NarrowedTableAccessTest {

    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of());
    }

    @Test
    void theNarrowedAccessesAreTheOnesReviewed() {
        // A change here widens or narrows what a role may do in AWS: review it like an IAM change.
        assertThat(Handlers.NARROWED_TABLE_ACCESS).isEqualTo(Map.of(
                "authorizer", new TableAccess("core", List.of("dynamodb:GetItem"), List.of("KEYHASH#")),
                "bootstrap-account", new TableAccess("core", List.of("dynamodb:PutItem"), List.of("ACCT#", "KEYHASH#"))));
    }

    @Test
    void theAuthorizerMayOnlyGetKeyLookupItems() {
        assertThat(dynamoStatements(Handlers.AUTHORIZER)).containsExactly(Map.of(
                "Effect", "Allow",
                "Action", "dynamodb:GetItem",
                "Resource", Map.of("Fn::GetAtt", List.of(coreTableId(), "Arn")),
                "Condition", Map.of("ForAllValues:StringLike", Map.of("dynamodb:LeadingKeys", List.of("KEYHASH#*")))));
    }

    @Test
    void theBootstrapFunctionMayOnlyPutAccountAndKeyItems() {
        assertThat(dynamoStatements(Handlers.BOOTSTRAP_ACCOUNT)).containsExactly(Map.of(
                "Effect", "Allow",
                "Action", "dynamodb:PutItem",
                "Resource", Map.of("Fn::GetAtt", List.of(coreTableId(), "Arn")),
                "Condition", Map.of("ForAllValues:StringLike", Map.of("dynamodb:LeadingKeys", List.of("ACCT#*", "KEYHASH#*")))));
    }

    @Test
    void everyNarrowedHandlerGetsNoOtherDataAccessAndNoIndex() {
        for (var entry : Handlers.NARROWED_TABLE_ACCESS.entrySet()) {
            HandlerDef def = Handlers.byName(entry.getKey());
            String tableId = synth.logicalId(synth.stack().tables().get(entry.getValue().table()));
            for (Map<String, Object> s : dynamoStatements(def)) {
                assertThat(strings(s.get("Action"))).as(def.name()).containsExactlyElementsOf(entry.getValue().actions());
                // The table itself: no "<arn>/index/*" (the condition key has no meaning for index queries).
                assertThat(s.get("Resource")).as(def.name()).isEqualTo(Map.of("Fn::GetAtt", List.of(tableId, "Arn")));
                assertThat(map(s.get("Condition"))).as(def.name()).containsOnlyKeys("ForAllValues:StringLike");
            }
            // Nothing else in its role touches data: only its log group besides.
            assertThat(roleStatements(def)).as(def.name()).allSatisfy(s -> assertThat(strings(s.get("Action")))
                    .allMatch(a -> a.startsWith("dynamodb:") || a.startsWith("logs:")));
        }
    }

    private static String coreTableId() {
        return synth.logicalId(synth.stack().tables().get("core"));
    }

    private static List<Map<String, Object>> dynamoStatements(HandlerDef def) {
        return roleStatements(def).stream()
                .filter(s -> strings(s.get("Action")).stream().anyMatch(a -> a.startsWith("dynamodb:"))).toList();
    }

    private static List<Map<String, Object>> roleStatements(HandlerDef def) {
        String roleId = synth.logicalId(synth.stack().functions().get(def.name()).getRole());
        return synth.resources().values().stream()
                .filter(r -> "AWS::IAM::Policy".equals(r.get("Type")))
                .map(r -> map(r.get("Properties")))
                .filter(p -> refs(p.get("Roles")).contains(roleId))
                .flatMap(p -> statements(p.get("PolicyDocument")).stream())
                .toList();
    }
}
