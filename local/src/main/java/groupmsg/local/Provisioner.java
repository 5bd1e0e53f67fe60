package groupmsg.local;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.platform.schema.TableDef;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.CreateGlobalSecondaryIndexAction;
import software.amazon.awssdk.services.dynamodb.model.CreateTableRequest;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndexDescription;
import software.amazon.awssdk.services.dynamodb.model.IndexStatus;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.Projection;
import software.amazon.awssdk.services.dynamodb.model.ProjectionType;
import software.amazon.awssdk.services.dynamodb.model.ResourceInUseException;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.TableDescription;
import software.amazon.awssdk.services.dynamodb.model.TimeToLiveStatus;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Creates the tables and queues from the same definitions the CDK stack deploys ({@code Tables.ALL},
 * {@code Queues.ALL}), so local and AWS cannot drift. Every step checks what exists first: running it against a
 * kept {@code DATA_DIR}, or twice, changes nothing; an index added to a {@link TableDef} since the data was
 * created is added to the existing table.
 */
public final class Provisioner {
    private final DynamoDbClient dynamo;
    private final SqsClient sqs;

    public Provisioner(DynamoDbClient dynamo, SqsClient sqs) {
        this.dynamo = dynamo;
        this.sqs = sqs;
    }

    // ---------------------------------------------------------------- tables

    /** Makes sure the table exists with its keys, indexes and TTL; {@code physicalName} is what clients use. */
    public void ensureTable(TableDef table, String physicalName) {
        TableDescription existing = describe(physicalName);
        if (existing == null) {
            existing = create(table, physicalName);
        } else {
            checkKeys(table, physicalName, existing);
            addMissingIndexes(table, physicalName, existing);
        }
        if (table.ttlAttribute() != null) enableTtl(physicalName, table.ttlAttribute());
    }

    private TableDescription describe(String name) {
        try {
            return dynamo.describeTable(r -> r.tableName(name)).table();
        } catch (ResourceNotFoundException e) {
            return null;
        }
    }

    private TableDescription create(TableDef table, String name) {
        List<GlobalSecondaryIndex> indexes = table.indexes().stream()
                .map(i -> GlobalSecondaryIndex.builder()
                        .indexName(i.name())
                        .keySchema(keySchema(i.partitionKey(), i.sortKey()))
                        .projection(projection(i))
                        .build())
                .toList();
        try {
            var request = CreateTableRequest.builder()
                    .tableName(name)
                    .billingMode(BillingMode.PAY_PER_REQUEST)
                    .attributeDefinitions(attributeDefinitions(table))
                    .keySchema(keySchema(table.partitionKey(), table.sortKey()));
            // DynamoDB rejects an empty index list: leave the field out instead.
            if (!indexes.isEmpty()) request.globalSecondaryIndexes(indexes);
            return dynamo.createTable(request.build()).tableDescription();
        } catch (ResourceInUseException e) {
            // Another process (a second runtime on the same endpoint) created it first.
            return describe(name);
        }
    }

    private static void checkKeys(TableDef table, String name, TableDescription existing) {
        if (!existing.keySchema().equals(keySchema(table.partitionKey(), table.sortKey()))) {
            throw new IllegalStateException("table " + name + " exists with keys " + existing.keySchema()
                    + " but its definition has " + keySchema(table.partitionKey(), table.sortKey())
                    + "; delete the local data (DATA_DIR) to recreate it");
        }
    }

    private void addMissingIndexes(TableDef table, String name, TableDescription existing) {
        Set<String> present = new LinkedHashSet<>();
        for (GlobalSecondaryIndexDescription d : existing.globalSecondaryIndexes()) present.add(d.indexName());
        for (TableDef.IndexDef index : table.indexes()) {
            if (present.contains(index.name())) continue;
            LocalLog.info("dynamodb_index_added", Map.of("table", name, "index", index.name()));
            // DynamoDB accepts one index creation per UpdateTable call.
            dynamo.updateTable(r -> r.tableName(name)
                    .attributeDefinitions(attributeDefinitions(table))
                    .globalSecondaryIndexUpdates(u -> u.create(CreateGlobalSecondaryIndexAction.builder()
                            .indexName(index.name())
                            .keySchema(keySchema(index.partitionKey(), index.sortKey()))
                            .projection(projection(index))
                            .build())));
            awaitIndexActive(name, index.name());
        }
    }

    /** DynamoDB builds one index of a table at a time: the next is added once this one is active (its rows indexed). */
    private void awaitIndexActive(String table, String index) {
        for (long deadline = System.nanoTime() + 120_000_000_000L; System.nanoTime() < deadline; ) {
            boolean active = dynamo.describeTable(r -> r.tableName(table)).table().globalSecondaryIndexes().stream()
                    .anyMatch(d -> d.indexName().equals(index) && d.indexStatus() == IndexStatus.ACTIVE);
            if (active) return;
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while index " + index + " of " + table + " was built", e);
            }
        }
        throw new IllegalStateException("index " + index + " of " + table + " not active after 2 minutes");
    }

    private void enableTtl(String name, String attribute) {
        var current = dynamo.describeTimeToLive(r -> r.tableName(name)).timeToLiveDescription();
        boolean on = current != null && (current.timeToLiveStatus() == TimeToLiveStatus.ENABLED
                || current.timeToLiveStatus() == TimeToLiveStatus.ENABLING);
        if (on && attribute.equals(current.attributeName())) return;
        // DynamoDB answers "TimeToLive is already enabled" to a repeated enable, hence the check above.
        dynamo.updateTimeToLive(r -> r.tableName(name)
                .timeToLiveSpecification(s -> s.enabled(true).attributeName(attribute)));
    }

    /** Every key attribute of the table and its indexes, once each; all keys are strings. */
    private static List<AttributeDefinition> attributeDefinitions(TableDef table) {
        Set<String> names = new LinkedHashSet<>();
        names.add(table.partitionKey());
        if (table.sortKey() != null) names.add(table.sortKey());
        for (TableDef.IndexDef index : table.indexes()) {
            names.add(index.partitionKey());
            if (index.sortKey() != null) names.add(index.sortKey());
        }
        return names.stream()
                .map(n -> AttributeDefinition.builder().attributeName(n).attributeType(ScalarAttributeType.S).build())
                .toList();
    }

    private static Projection projection(TableDef.IndexDef index) {
        return Projection.builder().projectionType(index.keysOnly() ? ProjectionType.KEYS_ONLY : ProjectionType.ALL).build();
    }

    private static List<KeySchemaElement> keySchema(String partitionKey, String sortKey) {
        List<KeySchemaElement> keys = new ArrayList<>();
        keys.add(KeySchemaElement.builder().attributeName(partitionKey).keyType(KeyType.HASH).build());
        if (sortKey != null) keys.add(KeySchemaElement.builder().attributeName(sortKey).keyType(KeyType.RANGE).build());
        return keys;
    }

    // ---------------------------------------------------------------- queues

    /** Makes sure the queue and its dead-letter queue exist with the spec's attributes. */
    public ProvisionedQueue ensureQueue(QueueSpec spec) {
        Map<QueueAttributeName, String> dlqAttributes = baseAttributes(spec.fifo());
        dlqAttributes.put(QueueAttributeName.MESSAGE_RETENTION_PERIOD, seconds(QueueSpec.DLQ_RETENTION_DAYS));
        String dlqUrl = ensureQueue(spec.dlqName(), dlqAttributes);
        String dlqArn = arnOf(dlqUrl);

        Map<QueueAttributeName, String> attributes = baseAttributes(spec.fifo());
        attributes.put(QueueAttributeName.VISIBILITY_TIMEOUT, Integer.toString(spec.visibilityTimeoutSeconds()));
        attributes.put(QueueAttributeName.MESSAGE_RETENTION_PERIOD, seconds(spec.retentionDays()));
        attributes.put(QueueAttributeName.REDRIVE_POLICY,
                "{\"deadLetterTargetArn\":\"" + dlqArn + "\",\"maxReceiveCount\":" + spec.maxReceiveCount() + "}");
        String url = ensureQueue(spec.queueName(), attributes);
        return new ProvisionedQueue(spec, url, arnOf(url), dlqUrl, dlqArn);
    }

    private String ensureQueue(String name, Map<QueueAttributeName, String> attributes) {
        String existing = queueUrl(name);
        if (existing == null) {
            return sqs.createQueue(r -> r.queueName(name).attributes(attributes)).queueUrl();
        }
        // FifoQueue and ContentBasedDeduplication are fixed at creation; the rest may have changed in the
        // definitions since the queue was made.
        Map<QueueAttributeName, String> mutable = new EnumMap<>(attributes);
        mutable.remove(QueueAttributeName.FIFO_QUEUE);
        mutable.remove(QueueAttributeName.CONTENT_BASED_DEDUPLICATION);
        Map<String, String> current = sqs.getQueueAttributes(r -> r.queueUrl(existing)
                .attributeNames(mutable.keySet())).attributesAsStrings();
        Map<QueueAttributeName, String> changed = new LinkedHashMap<>();
        mutable.forEach((k, v) -> {
            if (!sameAttribute(k, v, current.get(k.toString()))) changed.put(k, v);
        });
        if (!changed.isEmpty()) sqs.setQueueAttributes(r -> r.queueUrl(existing).attributes(changed));
        return existing;
    }

    private String queueUrl(String name) {
        try {
            return sqs.getQueueUrl(r -> r.queueName(name)).queueUrl();
        } catch (QueueDoesNotExistException e) {
            return null;
        }
    }

    private String arnOf(String url) {
        return sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
    }

    private static Map<QueueAttributeName, String> baseAttributes(boolean fifo) {
        Map<QueueAttributeName, String> attributes = new EnumMap<>(QueueAttributeName.class);
        if (fifo) {
            attributes.put(QueueAttributeName.FIFO_QUEUE, "true");
            // Producers set explicit deduplication ids; identical bodies are not duplicates.
            attributes.put(QueueAttributeName.CONTENT_BASED_DEDUPLICATION, "false");
        }
        return attributes;
    }

    /** Redrive policies come back with numbers as strings or as numbers depending on the server: compare parsed. */
    private static boolean sameAttribute(QueueAttributeName name, String wanted, String current) {
        if (name == QueueAttributeName.REDRIVE_POLICY) {
            return current != null && Objects.equals(jsonFields(wanted), jsonFields(current));
        }
        // SQS reports every other attribute; a server that leaves one out (ElasticMQ has no retention period)
        // does not support it, and setting it again on every start would change nothing.
        return current == null || wanted.equals(current);
    }

    private static Map<String, String> jsonFields(String json) {
        try {
            Map<String, String> fields = new TreeMap<>();
            JSON.std.mapFrom(json).forEach((k, v) -> fields.put(k, String.valueOf(v)));
            return fields;
        } catch (IOException e) {
            return Map.of("unparseable", json);
        }
    }

    private static String seconds(int days) {
        return Integer.toString(days * 86_400);
    }
}
