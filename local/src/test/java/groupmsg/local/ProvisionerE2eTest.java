package groupmsg.local;

import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ProjectionType;
import software.amazon.awssdk.services.dynamodb.model.TimeToLiveStatus;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Provisioning from Tables.ALL / Queues.ALL against the runtime's DynamoDB Local and ElasticMQ. */
@ExtendWith(LocalRuntimeExtension.class)
class ProvisionerE2eTest {

    @Test
    void tablesAreOnDemandWithStringKeysAndTtl(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        for (TableDef def : Tables.ALL) {
            var table = dynamo.describeTable(r -> r.tableName(def.name())).table();
            assertThat(table.billingModeSummary().billingMode()).isEqualTo(BillingMode.PAY_PER_REQUEST);
            assertThat(table.keySchema()).extracting(k -> k.attributeName() + ":" + k.keyType())
                    .containsExactly(def.partitionKey() + ":" + KeyType.HASH, def.sortKey() + ":" + KeyType.RANGE);
            assertThat(table.attributeDefinitions()).allSatisfy(a -> assertThat(a.attributeTypeAsString()).isEqualTo("S"));
            var ttl = dynamo.describeTimeToLive(r -> r.tableName(def.name())).timeToLiveDescription();
            assertThat(ttl.timeToLiveStatus()).isEqualTo(TimeToLiveStatus.ENABLED);
            assertThat(ttl.attributeName()).isEqualTo(def.ttlAttribute());
        }
    }

    @Test
    void queuesHaveTheirDefinitionsAttributesAndARedrivePolicy(LocalRuntime runtime) {
        var sqs = runtime.wiring().sqs();
        var imports = runtime.queues().get(Queues.IMPORTS.name());
        assertThat(imports.url()).endsWith("/" + Queues.IMPORTS.queueName());
        assertThat(runtime.wiring().config().queueUrl(Queues.IMPORTS)).isEqualTo(imports.url());

        Map<String, String> attributes = sqs.getQueueAttributes(r -> r.queueUrl(imports.url())
                .attributeNames(QueueAttributeName.ALL)).attributesAsStrings();
        assertThat(attributes)
                .containsEntry("FifoQueue", "true")
                .containsEntry("ContentBasedDeduplication", "false")
                .containsEntry("VisibilityTimeout", Integer.toString(Queues.IMPORTS.visibilityTimeoutSeconds()));
        // ElasticMQ accepts MessageRetentionPeriod but keeps no retention and does not report it; SQS would.
        assertThat(attributes.get("MessageRetentionPeriod"))
                .isIn(null, Integer.toString(Queues.IMPORTS.retentionDays() * 86_400));
        assertThat(attributes.get("RedrivePolicy")).contains(imports.dlqArn())
                .containsPattern("\"maxReceiveCount\"\\s*:\\s*\"?" + Queues.IMPORTS.maxReceiveCount() + "\"?");

        Map<String, String> dlq = sqs.getQueueAttributes(r -> r.queueUrl(imports.dlqUrl())
                .attributeNames(QueueAttributeName.ALL)).attributesAsStrings();
        assertThat(imports.dlqUrl()).endsWith("/" + Queues.IMPORTS.dlqName());
        assertThat(dlq).containsEntry("FifoQueue", "true").doesNotContainKey("RedrivePolicy");
    }

    @Test
    void provisioningAgainChangesNothing(LocalRuntime runtime) {
        var provisioner = new Provisioner(runtime.wiring().dynamo(), runtime.wiring().sqs());
        var again = new LinkedHashMap<String, ProvisionedQueue>();
        LocalRuntime.provision(provisioner, again);
        LocalRuntime.provision(provisioner, again);
        assertThat(again).isEqualTo(runtime.queues());
        assertThat(runtime.wiring().dynamo().listTables().tableNames())
                .containsAll(Tables.ALL.stream().map(TableDef::name).toList());
    }

    @Test
    void anIndexAddedToADefinitionIsAddedToTheExistingTable(LocalRuntime runtime) {
        var dynamo = runtime.wiring().dynamo();
        var provisioner = new Provisioner(dynamo, runtime.wiring().sqs());
        String name = "provision-test-" + UUID.randomUUID().toString().substring(0, 8);
        provisioner.ensureTable(new TableDef(name, "pk", "sk", List.of(), "expiresAt"), name);

        var withIndex = new TableDef(name, "pk", "sk", List.of(new TableDef.IndexDef("byEmail", "email", "pk"),
                new TableDef.IndexDef("byCode", "code", "pk", true)), "expiresAt");
        provisioner.ensureTable(withIndex, name);
        provisioner.ensureTable(withIndex, name);

        var indexes = dynamo.describeTable(r -> r.tableName(name)).table().globalSecondaryIndexes();
        assertThat(indexes).hasSize(2).anySatisfy(index -> {
            assertThat(index.indexName()).isEqualTo("byEmail");
            assertThat(index.projection().projectionType()).isEqualTo(ProjectionType.ALL);
            assertThat(index.keySchema()).extracting(k -> k.attributeName()).containsExactly("email", "pk");
        }).anySatisfy(index -> {
            assertThat(index.indexName()).isEqualTo("byCode");
            assertThat(index.projection().projectionType()).isEqualTo(ProjectionType.KEYS_ONLY);
            assertThat(index.keySchema()).extracting(k -> k.attributeName()).containsExactly("code", "pk");
        });
    }

    @Test
    void changedQueueAttributesAreUpdatedInPlace(LocalRuntime runtime) {
        var provisioner = new Provisioner(runtime.wiring().dynamo(), runtime.wiring().sqs());
        String name = "provision-test-" + UUID.randomUUID().toString().substring(0, 8);
        var first = provisioner.ensureQueue(new QueueSpec(name, false, 3, 5, 1));
        var second = provisioner.ensureQueue(new QueueSpec(name, false, 4, 7, 2));

        assertThat(second.url()).isEqualTo(first.url());
        Map<String, String> attributes = runtime.wiring().sqs().getQueueAttributes(r -> r.queueUrl(second.url())
                .attributeNames(QueueAttributeName.ALL)).attributesAsStrings();
        assertThat(attributes).containsEntry("VisibilityTimeout", "7");
        assertThat(attributes.get("RedrivePolicy")).containsPattern("\"maxReceiveCount\"\\s*:\\s*\"?4\"?");
    }
}
