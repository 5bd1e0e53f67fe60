package groupmsg.infra;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;
import software.amazon.awscdk.CfnElement;
import software.amazon.awscdk.assertions.Annotations;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;
import software.amazon.awscdk.cxapi.SynthesisMessage;
import software.constructs.IConstruct;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Synthesizes the app the way {@code cdk synth} does (cdk.json's context, cdk-nag applied) at most once per
 * distinct context per test JVM: a synth costs seconds, so every test class shares the result. Each template is
 * also written to {@code infra/cdk.out/<StackName>.template.json} for inspection.
 */
final class Synth {

    record Result(GroupMsgStack stack, Template template, Map<String, Object> json,
                  List<SynthesisMessage> nagErrors, List<SynthesisMessage> nagWarnings,
                  List<SynthesisMessage> otherWarnings, Path outdir, long millis, Path templateFile) {

        /** cdk-nag's CSV report rows: rule id, resource path, compliance, reason, level, info. */
        List<List<String>> nagReport() {
            Path csv = outdir.resolve("AwsSolutions-" + stack.getStackName() + "-NagReport.csv");
            try {
                return Files.readAllLines(csv).stream().skip(1)
                        .map(line -> List.of(line.substring(1, line.length() - 1).split("\",\"", -1)))
                        .toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }


        String logicalId(IConstruct construct) {
            return stack.getLogicalId((CfnElement) construct.getNode().getDefaultChild());
        }

        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> resources() {
            return (Map<String, Map<String, Object>>) json.get("Resources");
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> properties(String logicalId) {
            Map<String, Object> resource = resources().get(logicalId);
            if (resource == null) throw new AssertionError("no resource " + logicalId + " in the template");
            return (Map<String, Object>) resource.get("Properties");
        }
    }

    private static final Map<Map<String, String>, Result> CACHE = new ConcurrentHashMap<>();
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The app synthesized with cdk.json's context plus {@code context} (which wins). */
    static Result of(Map<String, String> context) {
        return CACHE.computeIfAbsent(Map.copyOf(context), Synth::synthesize);
    }

    private static Result synthesize(Map<String, String> context) {
        long start = System.nanoTime();
        Map<String, Object> ctx = new HashMap<>(cdkJsonContext());
        ctx.putAll(context);
        // The full cloud assembly (with its copy of the Lambda jar) goes under target/, which mvn clean removes.
        Path outdir = infraDir().resolve("target/synth/" + Integer.toHexString(new java.util.TreeMap<>(context).hashCode()));
        deleteRecursively(outdir);
        App app = new App(AppProps.builder().context(ctx).outdir(outdir.toString()).build());
        GroupMsgStack stack = GroupMsgApp.createStack(app);
        GroupMsgApp.addNagChecks(app);
        Template template;
        try {
            template = Template.fromStack(stack);
        } catch (RuntimeException e) {
            // With cdk.json's annotationsInValidationReport flag an error annotation (e.g. a cdk-nag finding) fails
            // synth itself; surface the report's findings instead of only "Validation failed".
            throw new AssertionError("synth of " + stack.getStackName() + " failed: " + validationReport(outdir), e);
        }
        Annotations annotations = Annotations.fromStack(stack);
        List<SynthesisMessage> errors = annotations.findError("*", Match.stringLikeRegexp("AwsSolutions-.*"));
        List<SynthesisMessage> warnings = annotations.findWarning("*", Match.stringLikeRegexp("AwsSolutions-.*"));
        List<SynthesisMessage> allWarnings = annotations.findWarning("*", Match.anyValue());
        List<SynthesisMessage> otherWarnings = allWarnings.stream()
                .filter(w -> !String.valueOf(w.getEntry().getData()).contains("AwsSolutions-")).toList();
        Map<String, Object> json = template.toJSON();
        long millis = (System.nanoTime() - start) / 1_000_000;
        Path file = writeTemplate(stack.getStackName(), json);
        System.out.printf("synthesized %s in %d ms -> %s%n", stack.getStackName(), millis, file);
        return new Result(stack, template, json, errors, warnings, otherWarnings, outdir, millis, file);
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) return;
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String validationReport(Path outdir) {
        try {
            Path report = outdir.resolve("validation-report.json");
            return Files.exists(report) ? Files.readString(report) : "(no validation report)";
        } catch (IOException e) {
            return "(validation report unreadable: " + e + ")";
        }
    }

    /** The CDK CLI's configuration, at the repository root (where {@code npx aws-cdk deploy} is run). */
    static Path cdkJson() {
        return StackSettings.repositoryRoot(Path.of("")).resolve("cdk.json");
    }

    static Path infraDir() {
        return StackSettings.repositoryRoot(Path.of("")).resolve("infra");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cdkJsonContext() {
        try {
            Map<String, Object> cdkJson = JSON.readValue(cdkJson().toFile(), Map.class);
            return (Map<String, Object>) cdkJson.getOrDefault("context", Map.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path writeTemplate(String stackName, Map<String, Object> json) {
        try {
            Path dir = Files.createDirectories(infraDir().resolve("cdk.out"));
            Path file = dir.resolve(stackName + ".template.json");
            JSON.writeValue(file.toFile(), json);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Synth() {}
}
