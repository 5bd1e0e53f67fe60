package groupmsg.platform.config;

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
 * @param queueUrls      logical queue name -> queue URL
 */
public record AppConfig(String region, URI dynamoEndpoint, URI sqsEndpoint,
                        Map<String, String> tableNames, Map<String, String> queueUrls) {

    public AppConfig {
        tableNames = Map.copyOf(tableNames);
        queueUrls = Map.copyOf(queueUrls);
    }

    public static AppConfig fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    public static AppConfig fromEnvironment(Map<String, String> env) {
        Map<String, String> tables = new HashMap<>();
        for (TableDef t : Tables.ALL) {
            tables.put(t.name(), env.getOrDefault(t.envVar(), t.name()));
        }
        Map<String, String> queues = new HashMap<>();
        for (QueueDef q : Queues.ALL) {
            String url = env.get(q.envVar());
            if (url != null && !url.isBlank()) queues.put(q.name(), url);
        }
        return new AppConfig(env.getOrDefault("AWS_REGION", "us-east-1"),
                uri(env.get("DYNAMODB_ENDPOINT")), uri(env.get("SQS_ENDPOINT")), tables, queues);
    }

    public String table(TableDef table) {
        return Optional.ofNullable(tableNames.get(table.name()))
                .orElseThrow(() -> new IllegalStateException("no name configured for table " + table.name()));
    }

    public String queueUrl(QueueDef queue) {
        return Optional.ofNullable(queueUrls.get(queue.name()))
                .orElseThrow(() -> new IllegalStateException("no URL configured for queue " + queue.name()
                        + " (set " + queue.envVar() + ")"));
    }

    private static URI uri(String value) {
        return value == null || value.isBlank() ? null : URI.create(value);
    }
}
