package groupmsg.infra;

import io.github.cdklabs.cdknag.AwsSolutionsChecks;
import io.github.cdklabs.cdknag.NagPackProps;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Aspects;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.StackProps;

/**
 * The CDK app: {@code cdk synth|deploy [-c stage=prod] [-c publicBaseUrl=https://...] [-c alarmEmail=...]} from
 * infra/ (cdk.json runs this class through Maven). See DEPLOY.md.
 */
public final class GroupMsgApp {

    public static void main(String[] args) {
        App app = new App();
        createStack(app);
        addNagChecks(app);
        app.synth();
    }

    /**
     * cdk-nag's AwsSolutions rules over the whole app: an unsuppressed error fails {@code cdk synth/deploy}.
     * Every suppression in the stack names its rule and gives its reason.
     */
    public static void addNagChecks(App app) {
        Aspects.of(app).add(new AwsSolutionsChecks(NagPackProps.builder().verbose(true).build()));
    }

    /** Adds the stack configured by the app's context; shared by {@link #main} and the tests. */
    public static GroupMsgStack createStack(App app) {
        StackSettings settings = StackSettings.fromContext(app.getNode());
        StackProps.Builder props = StackProps.builder()
                .stackName(settings.stackName())
                .description("groupmsg serverless group messaging (" + settings.stage() + ")");
        // Account/region come from the CLI's credentials when deploying; synth stays environment-agnostic without them.
        String account = System.getenv("CDK_DEFAULT_ACCOUNT");
        String region = System.getenv("CDK_DEFAULT_REGION");
        if (account != null && region != null) {
            props.env(Environment.builder().account(account).region(region).build());
        }
        return new GroupMsgStack(app, settings.stackName(), props.build(), settings);
    }

    private GroupMsgApp() {}
}
