package groupmsg.platform.config;

import groupmsg.carrier.CarrierSettings;
import groupmsg.notify.Topic;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a handler needs to know about where things are. Read from the Lambda environment
 * (variables set by the stack) or built by the local runtime.
 *
 * @param dynamoEndpoint null in AWS; the local DynamoDB endpoint otherwise
 * @param sqsEndpoint    null in AWS; the local SQS endpoint otherwise
 * @param tableNames     logical table name -> physical name
 * @param queueUrls      logical queue name -> queue URL; a dead-letter queue's under its {@link QueueDef#dlqName()}
 * @param snsEndpoint    null in AWS; an SNS-compatible endpoint otherwise
 * @param topicArns      {@link Topic#name()} -> topic ARN
 * @param publicBaseUrl  the public URL of the HTTP API (carrier callbacks and webhook signatures); null if unknown
 * @param carrier        the carrier REST API; null when not configured
 */
public record AppConfig(String region, URI dynamoEndpoint, URI sqsEndpoint,
                        Map<String, String> tableNames, Map<String, String> queueUrls,
                        URI snsEndpoint, Map<String, String> topicArns, String publicBaseUrl,
                        CarrierSettings carrier, boolean webhooksToLoopback) {

    public AppConfig {
        tableNames = Map.copyOf(tableNames);
        queueUrls = Map.copyOf(queueUrls);
        topicArns = Map.copyOf(topicArns);
    }

    /** Webhooks only to public hosts (the deployed stack's; {@code webhooksToLoopback} is the local runtime's). */
    public AppConfig(String region, URI dynamoEndpoint, URI sqsEndpoint,
                     Map<String, String> tableNames, Map<String, String> queueUrls,
                     URI snsEndpoint, Map<String, String> topicArns, String publicBaseUrl, CarrierSettings carrier) {
        this(region, dynamoEndpoint, sqsEndpoint, tableNames, queueUrls, snsEndpoint, topicArns, publicBaseUrl, carrier, false);
    }

    /** Storage and queues only (no topics, no carrier, no public URL). */
    public AppConfig(String region, URI dynamoEndpoint, URI sqsEndpoint,
                     Map<String, String> tableNames, Map<String, String> queueUrls) {
        this(region, dynamoEndpoint, sqsEndpoint, tableNames, queueUrls, null, Map.of(), null, null);
    }

    public AppConfig withNotifications(URI snsEndpoint, Map<String, String> topicArns) {
        return new AppConfig(region, dynamoEndpoint, sqsEndpoint, tableNames, queueUrls, snsEndpoint, topicArns,
                publicBaseUrl, carrier, webhooksToLoopback);
    }

    /** Webhooks may also point at this machine (plain http too): the local runtime's, where receivers listen. */
    public AppConfig withWebhooksToLoopback() {
        return new AppConfig(region, dynamoEndpoint, sqsEndpoint, tableNames, queueUrls, snsEndpoint, topicArns,
                publicBaseUrl, carrier, true);
    }

    public AppConfig withCarrier(String publicBaseUrl, CarrierSettings carrier) {
        return new AppConfig(region, dynamoEndpoint, sqsEndpoint, tableNames, queueUrls, snsEndpoint, topicArns,
                publicBaseUrl, carrier, webhooksToLoopback);
    }

    /**
     * The same, knowing only these queues' URLs: what one function is given in AWS (the stack sets the URLs of the
     * queues it sends to and consumes, nothing else), so a local run fails where a deployed one would.
     */
    public AppConfig withOnlyQueues(java.util.Set<String> names) {
        var only = new HashMap<String, String>(queueUrls);
        only.keySet().retainAll(names);
        return new AppConfig(region, dynamoEndpoint, sqsEndpoint, tableNames, only, snsEndpoint, topicArns,
                publicBaseUrl, carrier, webhooksToLoopback);
    }

    /** The topic's ARN, or empty when no topic is configured (events are then only logged). */
    public Optional<String> topicArn(Topic topic) {
        return Optional.ofNullable(topicArns.get(topic.name()));
    }

    public static AppConfig fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    public static AppConfig fromEnvironment(Map<String, String> env) {
        // only the tables the stack named for the function: one its code reaches unlisted fails as it is reached,
        // saying which variable is missing, where the logical name ("core") was taken and failed in AWS as a table
        // that does not exist
        Map<String, String> tables = new HashMap<>();
        for (TableDef t : Tables.ALL) {
            String name = env.get(t.envVar());
            if (name != null && !name.isBlank()) tables.put(t.name(), name);
        }
        Map<String, String> queues = new HashMap<>();
        for (QueueDef q : Queues.ALL) {
            String url = env.get(q.envVar());
            if (url != null && !url.isBlank()) queues.put(q.name(), url);
            String deadLetters = env.get(q.dlqEnvVar());
            if (deadLetters != null && !deadLetters.isBlank()) queues.put(q.dlqName(), deadLetters);
        }
        Map<String, String> topics = new HashMap<>();
        for (Topic topic : Topic.values()) {
            String arn = env.get(topic.envVar());
            if (arn != null && !arn.isBlank()) topics.put(topic.name(), arn);
        }
        CarrierSettings carrier = env.containsKey("TWILIO_ACCOUNT_SID")
                ? new CarrierSettings(env.getOrDefault("TWILIO_API_BASE_URL", CarrierSettings.DEFAULT_API_BASE_URL),
                        env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN"))
                : null;
        return new AppConfig(env.getOrDefault("AWS_REGION", "us-east-1"),
                uri(env.get("DYNAMODB_ENDPOINT")), uri(env.get("SQS_ENDPOINT")), tables, queues,
                uri(env.get("SNS_ENDPOINT")), topics, env.get("PUBLIC_BASE_URL"), carrier);
    }

    public String table(TableDef table) {
        return Optional.ofNullable(tableNames.get(table.name()))
                .orElseThrow(() -> new IllegalStateException("no name configured for table " + table.name()
                        + " (set " + table.envVar() + ")"));
    }

    /** The same, knowing only these tables' names: what one function is given in AWS (see {@link #withOnlyQueues}). */
    public AppConfig withOnlyTables(java.util.Set<String> names) {
        var only = new HashMap<String, String>(tableNames);
        only.keySet().retainAll(names);
        return new AppConfig(region, dynamoEndpoint, sqsEndpoint, only, queueUrls, snsEndpoint, topicArns,
                publicBaseUrl, carrier, webhooksToLoopback);
    }

    public String queueUrl(QueueDef queue) {
        return Optional.ofNullable(queueUrls.get(queue.name()))
                .orElseThrow(() -> new IllegalStateException("no URL configured for queue " + queue.name()
                        + " (set " + queue.envVar() + ")"));
    }

    /** The URL of the queue's dead-letter queue, for a function that dead-letters the queue's messages itself. */
    public String deadLetterQueueUrl(QueueDef queue) {
        return Optional.ofNullable(queueUrls.get(queue.dlqName()))
                .orElseThrow(() -> new IllegalStateException("no URL configured for the dead-letter queue of "
                        + queue.name() + " (set " + queue.dlqEnvVar() + ")"));
    }

    private static URI uri(String value) {
        return value == null || value.isBlank() ? null : URI.create(value);
    }
}
