package groupmsg.infra;

import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static groupmsg.infra.TemplateJson.map;
import static groupmsg.infra.TemplateJson.refs;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The function that creates an account and its first owner key in a deployed stack: deployed like every handler,
 * but nothing in the stack can invoke it (no route, event source, schedule or resource permission); an operator
 * with IAM rights invokes its alias, named by a stack output.
 */
class BootstrapAccountFunctionTest {

    private static final HandlerDef DEF = Handlers.BOOTSTRAP_ACCOUNT;
    private static Synth.Result synth;

    @BeforeAll
    static void synthesize() {
        synth = Synth.of(Map.of());
    }

    @Test
    void isDeployedAsASnapStartFunctionOfTheAccountsHandler() {
        assertThat(DEF.trigger()).isEqualTo(HandlerDef.Trigger.INVOKE);
        assertThat(DEF.className()).isEqualTo("groupmsg.accounts.BootstrapAccountHandler");
        Map<String, Object> fn = synth.properties(functionId());
        assertThat(fn.get("Handler")).isEqualTo(DEF.handlerString());
        assertThat(fn.get("SnapStart")).isEqualTo(Map.of("ApplyOn", "PublishedVersions"));
        // The core table's name and nothing else: no queue, topic, carrier secret or public URL.
        Map<String, Object> env = map(map(fn.get("Environment")).get("Variables"));
        assertThat(env.keySet()).containsExactlyInAnyOrder("JAVA_TOOL_OPTIONS", Tables.CORE.envVar());
        assertThat(env.get(Tables.CORE.envVar())).isEqualTo(Map.of("Ref", synth.logicalId(synth.stack().tables().get("core"))));
    }

    @Test
    void nothingInTheStackCanInvokeIt() {
        Set<String> targets = Set.of(functionId(), aliasId());
        Map<String, Integer> seen = new java.util.HashMap<>();
        // no route integration (so no API route), no SQS event source, no schedule
        synth.resources().forEach((id, r) -> {
            seen.merge((String) r.get("Type"), 1, Integer::sum);
            Map<String, Object> props = r.get("Properties") == null ? Map.of() : map(r.get("Properties"));
            switch ((String) r.get("Type")) {
                case "AWS::ApiGatewayV2::Integration" ->
                        assertThat(refs(props.get("IntegrationUri"))).as(id).doesNotContainAnyElementsOf(targets);
                case "AWS::Lambda::EventSourceMapping" ->
                        assertThat(refs(props.get("FunctionName"))).as(id).doesNotContainAnyElementsOf(targets);
                case "AWS::Events::Rule" -> assertThat(refs(props.get("Targets"))).as(id).doesNotContainAnyElementsOf(targets);
                // no service principal may invoke it: only IAM principals with lambda:InvokeFunction
                case "AWS::Lambda::Permission" ->
                        assertThat(refs(props.get("FunctionName"))).as(id).doesNotContainAnyElementsOf(targets);
                default -> { }
            }
        });
        // the other functions are invoked by each of these, so the checks above did look at something
        assertThat(seen).containsKeys("AWS::ApiGatewayV2::Integration", "AWS::Lambda::EventSourceMapping",
                "AWS::Events::Rule", "AWS::Lambda::Permission");
    }

    @Test
    void itsAliasIsAnOutputForTheOperator() {
        Map<String, Object> output = map(map(synth.json().get("Outputs")).get("BootstrapAccountFunctionArn"));
        assertThat(output.get("Value")).isEqualTo(Map.of("Ref", aliasId()));
        assertThat((String) output.get("Description")).contains("aws lambda invoke");
        Map<String, Object> alias = synth.properties(aliasId());
        assertThat(alias.get("Name")).isEqualTo(GroupMsgStack.LIVE_ALIAS);
    }

    private static String functionId() {
        return synth.logicalId(synth.stack().functions().get(DEF.name()));
    }

    private static String aliasId() {
        return synth.logicalId(synth.stack().aliases().get(DEF.name()));
    }
}
