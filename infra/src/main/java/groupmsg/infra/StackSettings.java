package groupmsg.infra;

import software.constructs.Node;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * What one deployment of the stack is configured with, read from CDK context ({@code -c key=value}).
 *
 * <ul>
 *   <li>{@code stage} (default {@code dev}): part of the stack name; {@code prod} turns on deletion protection and
 *       RETAIN for the tables (and keeps log groups).</li>
 *   <li>{@code publicBaseUrl} (optional): the public https URL carriers post webhooks to (a custom domain in front
 *       of the API). Twilio signatures are computed over it, so it must be exactly what Twilio is configured with.
 *       When absent, the API's own execute-api endpoint is used.</li>
 *   <li>{@code alarmEmail} (optional): subscribed to the alarm topic.</li>
 *   <li>{@code twilioAccountSid} (optional): the Twilio Account SID ({@code AC} + 32 hex digits), passed to the
 *       functions that use the carrier as {@code TWILIO_ACCOUNT_SID}. The auth token is never a context value: it
 *       goes into the stack's Twilio secret (see DEPLOY.md).</li>
 *   <li>{@code twilioSecretArn} (optional): the complete ARN of an existing Secrets Manager secret holding
 *       {@code {"accountSid","authToken"}} (e.g. one secret shared by several stages). The stack then creates no
 *       secret of its own and grants read on exactly this one.</li>
 *   <li>{@code twilioSecretRevision} (optional): any short label; changing it publishes new versions of the
 *       functions that read the carrier credentials. They read the secret while initializing, and SnapStart
 *       snapshots that state when a version is published, so a new secret value reaches them only through a new
 *       version (see DEPLOY.md).</li>
 *   <li>{@code functionsJar} (optional): path of the shaded Lambda jar; by default
 *       {@code functions/target/groupmsg-functions-<version>-lambda.jar} of this repository.</li>
 * </ul>
 */
public record StackSettings(String stage, String publicBaseUrl, String alarmEmail, String twilioAccountSid,
                            String twilioSecretArn, String twilioSecretRevision, Path functionsJar) {

    public static final String DEFAULT_STAGE = "dev";
    public static final String PROD_STAGE = "prod";

    private static final Pattern STAGE = Pattern.compile("[a-z][a-z0-9-]{0,19}");
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
    private static final Pattern TWILIO_ACCOUNT_SID = Pattern.compile("AC[0-9a-fA-F]{32}");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    /** A complete secret ARN: Secrets Manager appends "-" and 6 random characters to the name. */
    private static final Pattern SECRET_ARN = Pattern.compile(
            "arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}");

    public StackSettings {
        if (!STAGE.matcher(stage).matches()) {
            throw new IllegalArgumentException("context 'stage' must be 1-20 lower-case letters, digits or '-', "
                    + "starting with a letter; got '" + stage + "'");
        }
        if (publicBaseUrl != null) {
            if (!publicBaseUrl.startsWith("https://") || publicBaseUrl.contains("?") || publicBaseUrl.contains("#")) {
                throw new IllegalArgumentException("context 'publicBaseUrl' must be an https:// URL without query or "
                        + "fragment (carrier webhook signatures are computed over it); got '" + publicBaseUrl + "'");
            }
            while (publicBaseUrl.endsWith("/")) publicBaseUrl = publicBaseUrl.substring(0, publicBaseUrl.length() - 1);
        }
        if (alarmEmail != null && !EMAIL.matcher(alarmEmail).matches()) {
            throw new IllegalArgumentException("context 'alarmEmail' is not an e-mail address: '" + alarmEmail + "'");
        }
        if (twilioAccountSid != null && !TWILIO_ACCOUNT_SID.matcher(twilioAccountSid).matches()) {
            throw new IllegalArgumentException("context 'twilioAccountSid' must be a Twilio Account SID (AC followed by "
                    + "32 hex digits); got '" + twilioAccountSid + "'");
        }
        if (twilioSecretArn != null && !SECRET_ARN.matcher(twilioSecretArn).matches()) {
            throw new IllegalArgumentException("context 'twilioSecretArn' must be the complete ARN of a Secrets Manager "
                    + "secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, as `aws secretsmanager "
                    + "describe-secret` prints it); got '" + twilioSecretArn + "'");
        }
        if (twilioSecretRevision != null && !REVISION.matcher(twilioSecretRevision).matches()) {
            throw new IllegalArgumentException("context 'twilioSecretRevision' must be 1-64 letters, digits, '.', '_' "
                    + "or '-'; got '" + twilioSecretRevision + "'");
        }
        if (!Files.isRegularFile(functionsJar)) {
            throw new IllegalStateException("Lambda artifact not found: " + functionsJar + ". Build it first, from the "
                    + "repository root: mvn -B install -DskipTests -pl functions (or pass -c functionsJar=PATH).");
        }
    }

    public boolean isProd() {
        return PROD_STAGE.equals(stage);
    }

    public String stackName() {
        return "groupmsg-" + stage;
    }

    /** Reads the settings from the construct tree's context (the app's {@code -c} values and cdk.json). */
    public static StackSettings fromContext(Node node) {
        String stage = text(node, "stage");
        String jar = text(node, "functionsJar");
        return new StackSettings(
                stage == null ? DEFAULT_STAGE : stage.toLowerCase(Locale.ROOT),
                text(node, "publicBaseUrl"),
                text(node, "alarmEmail"),
                text(node, "twilioAccountSid"),
                text(node, "twilioSecretArn"),
                text(node, "twilioSecretRevision"),
                jar == null ? defaultFunctionsJar(Path.of("").toAbsolutePath()) : Path.of(jar).toAbsolutePath());
    }

    private static String text(Node node, String key) {
        Object value = node.tryGetContext(key);
        if (value == null) return null;
        String s = value.toString().trim();
        return s.isEmpty() ? null : s;
    }

    /**
     * The shaded jar the functions module builds, found from {@code start} (the working directory: infra/ when the
     * CDK CLI or Maven runs the app, or the repository root) by walking up to the directory that holds both
     * {@code functions/} and {@code infra/}.
     */
    static Path defaultFunctionsJar(Path start) {
        Path root = repositoryRoot(start);
        return root.resolve("functions").resolve("target").resolve(functionsJarName());
    }

    static Path repositoryRoot(Path start) {
        for (Path dir = start.toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("functions/pom.xml")) && Files.isRegularFile(dir.resolve("infra/pom.xml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("cannot find the groupmsg repository (a directory holding functions/pom.xml and "
                + "infra/pom.xml) at or above " + start.toAbsolutePath() + "; run the CDK app from infra/ or pass "
                + "-c functionsJar=PATH");
    }

    static String functionsJarName() {
        try (InputStream in = StackSettings.class.getResourceAsStream("/groupmsg-infra.properties")) {
            if (in == null) throw new IllegalStateException("groupmsg-infra.properties missing from the infra classpath");
            Properties p = new Properties();
            p.load(in);
            String name = p.getProperty("functions.jar");
            if (name == null || name.contains("${")) {
                throw new IllegalStateException("groupmsg-infra.properties was not filtered by Maven: " + name);
            }
            return name;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
