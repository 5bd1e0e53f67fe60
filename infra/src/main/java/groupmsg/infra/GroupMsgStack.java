package groupmsg.infra;

import groupmsg.lines.LineRules;
import groupmsg.platform.HandledFailures;
import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableAccess;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;
import io.github.cdklabs.cdknag.NagPackSuppression;
import io.github.cdklabs.cdknag.NagSuppressions;
import software.amazon.awscdk.Annotations;
import software.amazon.awscdk.CfnElement;
import software.amazon.awscdk.CfnOutput;
import software.amazon.awscdk.Aws;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.Tags;
import software.amazon.awscdk.aws_apigatewayv2_authorizers.HttpLambdaAuthorizer;
import software.amazon.awscdk.aws_apigatewayv2_authorizers.HttpLambdaAuthorizerProps;
import software.amazon.awscdk.aws_apigatewayv2_authorizers.HttpLambdaResponseType;
import software.amazon.awscdk.aws_apigatewayv2_integrations.HttpLambdaIntegration;
import software.amazon.awscdk.aws_apigatewayv2_integrations.HttpLambdaIntegrationProps;
import software.amazon.awscdk.services.apigateway.AccessLogFormat;
import software.amazon.awscdk.services.apigatewayv2.CfnStage;
import software.amazon.awscdk.services.apigatewayv2.HttpApi;
import software.amazon.awscdk.services.apigatewayv2.HttpApiProps;
import software.amazon.awscdk.services.apigatewayv2.HttpMethod;
import software.amazon.awscdk.services.apigatewayv2.HttpRoute;
import software.amazon.awscdk.services.apigatewayv2.HttpRouteKey;
import software.amazon.awscdk.services.apigatewayv2.HttpRouteProps;
import software.amazon.awscdk.services.apigatewayv2.HttpStage;
import software.amazon.awscdk.services.apigatewayv2.HttpStageProps;
import software.amazon.awscdk.services.apigatewayv2.IAccessLogSettings;
import software.amazon.awscdk.services.apigatewayv2.IAccessLogDestination;
import software.amazon.awscdk.services.apigatewayv2.LogGroupLogDestination;
import software.amazon.awscdk.services.apigatewayv2.PayloadFormatVersion;
import software.amazon.awscdk.services.apigatewayv2.ThrottleSettings;
import software.amazon.awscdk.services.cloudwatch.Alarm;
import software.amazon.awscdk.services.cloudwatch.ComparisonOperator;
import software.amazon.awscdk.services.cloudwatch.IMetric;
import software.amazon.awscdk.services.cloudwatch.MathExpression;
import software.amazon.awscdk.services.cloudwatch.Metric;
import software.amazon.awscdk.services.cloudwatch.MetricOptions;
import software.amazon.awscdk.services.cloudwatch.TreatMissingData;
import software.amazon.awscdk.services.cloudwatch.actions.SnsAction;
import software.amazon.awscdk.services.dynamodb.Attribute;
import software.amazon.awscdk.services.dynamodb.AttributeType;
import software.amazon.awscdk.services.dynamodb.BillingMode;
import software.amazon.awscdk.services.dynamodb.GlobalSecondaryIndexProps;
import software.amazon.awscdk.services.dynamodb.PointInTimeRecoverySpecification;
import software.amazon.awscdk.services.dynamodb.ProjectionType;
import software.amazon.awscdk.services.dynamodb.Table;
import software.amazon.awscdk.services.events.Rule;
import software.amazon.awscdk.services.events.Schedule;
import software.amazon.awscdk.services.events.targets.LambdaFunction;
import software.amazon.awscdk.services.iam.Effect;
import software.amazon.awscdk.services.iam.PolicyStatement;
import software.amazon.awscdk.services.iam.Role;
import software.amazon.awscdk.services.iam.ServicePrincipal;
import software.amazon.awscdk.services.lambda.Alias;
import software.amazon.awscdk.services.lambda.EventInvokeConfigOptions;
import software.amazon.awscdk.services.lambda.Architecture;
import software.amazon.awscdk.services.lambda.Code;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.lambda.LoggingFormat;
import software.amazon.awscdk.services.lambda.Runtime;
import software.amazon.awscdk.services.lambda.SnapStartConf;
import software.amazon.awscdk.services.lambda.eventsources.SqsEventSource;
import software.amazon.awscdk.services.lambda.eventsources.SqsEventSourceProps;
import software.amazon.awscdk.services.logs.FilterPattern;
import software.amazon.awscdk.services.logs.JsonPattern;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.MetricFilter;
import software.amazon.awscdk.services.logs.MetricFilterOptions;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.amazon.awscdk.services.secretsmanager.ISecret;
import software.amazon.awscdk.services.secretsmanager.Secret;
import software.amazon.awscdk.services.secretsmanager.SecretStringGenerator;
import software.amazon.awscdk.services.sns.Topic;
import software.amazon.awscdk.services.sns.subscriptions.EmailSubscription;
import software.amazon.awscdk.services.sns.subscriptions.SqsSubscription;
import software.amazon.awscdk.services.sqs.DeduplicationScope;
import software.amazon.awscdk.services.sqs.FifoThroughputLimit;
import software.amazon.awscdk.services.sqs.DeadLetterQueue;
import software.amazon.awscdk.services.sqs.Queue;
import software.amazon.awscdk.services.sqs.QueueEncryption;
import software.constructs.Construct;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The whole deployed system, built from the shared definitions in the functions module
 * ({@link Tables}, {@link Queues}, {@link Handlers}, {@link Routes}): nothing here names a table, queue, handler or
 * route on its own, so the stack and the local runtime cannot drift apart.
 */
public final class GroupMsgStack extends Stack {

    /** Alias every trigger targets; SnapStart snapshots are taken for published versions only. */
    public static final String LIVE_ALIAS = "live";
    /** Cold-start flags for short-lived handlers (C1 only); recommended by AWS for Java on Lambda. */
    public static final String JAVA_TOOL_OPTIONS = "-XX:+TieredCompilation -XX:TieredStopAtLevel=1";
    public static final String PUBLIC_BASE_URL_ENV = "PUBLIC_BASE_URL";
    public static final String AUTHORIZATION_HEADER_SOURCE = "$request.header.Authorization";
    /**
     * How long API Gateway may cache the authorizer's answer per Authorization header value: 0, no caching. API.md
     * says a deleted key "stops working at once", and with a cache it would go on working in AWS for up to the TTL
     * (a leaked owner key could mint a fresh one meanwhile). The cost is one authorizer invocation per request, whose
     * work is one consistent GetItem (its SnapStart-primed function answers in a few milliseconds when warm).
     */
    public static final int AUTHORIZER_CACHE_TTL_SECONDS = 0;
    /** The stage's default route throttle: every API route gets it (not the carrier webhooks, see below). */
    public static final int API_RATE_LIMIT = 100;
    public static final int API_BURST_LIMIT = 200;
    /**
     * The carrier webhooks' own route throttle, in place of the stage default. Twilio does not retry a webhook that
     * was answered 429, so a throttled status callback is a receipt lost and a throttled inbound webhook a STOP or
     * reply lost. Twilio calls the status webhook at least twice per recipient (sent, then delivered/failed) and a
     * line may send up to {@link LineRules#MAX_MPS} messages a second, with inbound texts on top: three times that.
     * The burst is API Gateway's default account-level burst per region (5,000): the account's limits (10,000
     * requests/s, shared by every API of the account and region) apply above any stage's, so a larger burst would
     * not be honoured (see infra/DEPLOY.md).
     */
    public static final int WEBHOOK_RATE_LIMIT = 3 * LineRules.MAX_MPS;
    public static final int WEBHOOK_BURST_LIMIT = 5_000;
    /** The namespace of the metrics the stack derives from logs (per stage, so stages in one account stay apart). */
    public static final String METRIC_NAMESPACE_PREFIX = "groupmsg/";
    /** Requests to a carrier webhook answered 4xx, counted from the API's access logs. */
    public static final String WEBHOOK_CLIENT_ERRORS_METRIC = "WebhookClientErrors";
    /**
     * Failures a function handled and logged with a {@code metric} field (a carrier opt-out not queued, a carrier
     * refusing the sender, a webhook given up, ...), counted from every function's logs with that field's value as the
     * {@code Metric} dimension: caught, they fail no invocation, so no Errors alarm sees them.
     */
    public static final String HANDLED_FAILURES_METRIC = "HandledFailures";
    /**
     * A failure that passes on its own (a failed queue job, the carrier away) pages when it happened in this many
     * minutes of the last {@link #SUSTAINED_FAILURE_WINDOW_MINUTES}: a passing throttle fails a job in a minute or two.
     */
    public static final int SUSTAINED_FAILURE_MINUTES = 3;
    public static final int SUSTAINED_FAILURE_WINDOW_MINUTES = 10;
    /** Maintenance runs that could not do their work page in this many minutes of the window below: a burst passes. */
    public static final int MAINTENANCE_BEHIND_MINUTES = 10;
    public static final int MAINTENANCE_BEHIND_WINDOW_MINUTES = 15;
    /** The handled failures that page: each wants a person (compliance, or every message of a line held). */
    public static final List<String> PAGED_HANDLED_FAILURES = List.of(HandledFailures.CARRIER_REFUSED_SENDER,
            HandledFailures.CARRIER_LOOKUPS_FAILING, HandledFailures.WEBHOOK_SIGNATURE_MISMATCH);
    /**
     * Webhook 4xx in a minute that page: a scanner's stray unsigned post is a 403 too, and must not; a wrong
     * publicBaseUrl or auth token, or a throttle, refuses every callback of a send (hundreds a minute).
     */
    public static final int WEBHOOK_CLIENT_ERRORS_ALARM_THRESHOLD = 10;
    /** DLQs keep failed messages for the longest time SQS allows, so they outlive the source queue's retention. */
    public static final int DLQ_RETENTION_DAYS = 14;
    /** How long before SQS drops a message waiting in a dead-letter queue it pages again. */
    static final int DLQ_AGE_NOTICE_DAYS = 4;

    /**
     * The age in {@code q}'s dead-letter queue at which a message pages again, {@link #DLQ_AGE_NOTICE_DAYS} before SQS
     * can drop it. The metric counts from the move there, and a standard queue's message keeps its first send's time
     * for its retention: it may have waited up to the source queue's retention before it moved (a consumer stopped for
     * days), so it can go that much sooner. A FIFO queue's message starts its retention anew when it moves.
     */
    static int dlqAgeAlarmSeconds(QueueDef q) {
        int days = DLQ_RETENTION_DAYS - (q.fifo() ? 0 : q.retentionDays()) - DLQ_AGE_NOTICE_DAYS;
        if (days < 1) {
            throw new IllegalArgumentException(q.name() + ": a retention of " + q.retentionDays() + " days leaves its "
                    + "dead-letter queue less than " + DLQ_AGE_NOTICE_DAYS + " days' notice before SQS drops a message");
        }
        return days * 86_400;
    }
    /**
     * The AWS-managed SNS key the event topics are encrypted with. Lambda publishers need no KMS permission for it
     * (its key policy lets principals of the account use it through SNS), and unlike a customer-managed key it adds
     * no key policy to maintain. AWS services that publish as service principals (CloudWatch, EventBridge) cannot
     * use it, which is why the alarm topic stays unencrypted.
     */
    public static final String SNS_MANAGED_KEY_ALIAS = "alias/aws/sns";
    /** The ARN of the secret that holds the carrier credentials JSON {@code {"accountSid", "authToken"}}. */
    public static final String TWILIO_SECRET_ARN_ENV = "TWILIO_SECRET_ARN";
    public static final String TWILIO_ACCOUNT_SID_ENV = "TWILIO_ACCOUNT_SID";
    /**
     * Set from the {@code twilioSecretRevision} context on the functions that read the carrier credentials; read by
     * nothing. Changing it changes their configuration, so the deploy publishes new versions, whose SnapStart
     * snapshots read the secret's current value (the value read at initialization is part of the snapshot).
     */
    public static final String TWILIO_SECRET_REVISION_ENV = "TWILIO_SECRET_REVISION";
    /** The secret's placeholder Account SID until the operator puts in the real one (see DEPLOY.md). */
    public static final String TWILIO_ACCOUNT_SID_PLACEHOLDER = "REPLACE_WITH_TWILIO_ACCOUNT_SID";

    /**
     * The Lambda runtime. java25 rather than java21: SnapStart supports every Java managed runtime from java11 on
     * (java25 included), java25 initializes a little faster (about 190 ms against 230 ms for a plain handler, see
     * DESIGN.md), is supported by Lambda for longer, and is the JDK the project builds and tests on. The jar is
     * compiled for Java 21 (maven.compiler.release), which java25 runs unchanged.
     */
    public static final Runtime LAMBDA_RUNTIME = Runtime.JAVA_25;

    private final StackSettings settings;
    private final Map<String, Table> tables = new LinkedHashMap<>();
    private final Map<String, Queue> queues = new LinkedHashMap<>();
    private final Map<String, Queue> deadLetterQueues = new LinkedHashMap<>();
    private final Map<String, Function> functions = new LinkedHashMap<>();
    private final Map<String, Alias> aliases = new LinkedHashMap<>();
    /** Per handler, from its code: the topics it publishes to, the carrier credentials, the public base URL. */
    private final Map<String, HandlerNeeds.Needs> needs = new LinkedHashMap<>();
    private final Map<String, HttpRoute> routes = new LinkedHashMap<>();
    private final List<Alarm> alarms = new ArrayList<>();
    /** The schedule rule of each scheduled function, by name. */
    private final Map<String, Rule> schedules = new java.util.HashMap<>();
    private final Topic alarmTopic;
    private final Map<groupmsg.notify.Topic, Topic> eventTopics = new EnumMap<>(groupmsg.notify.Topic.class);
    private final ISecret twilioSecret;
    private final HttpApi api;
    private final LogGroup apiAccessLogs;
    private final HttpStage apiStage;

    public GroupMsgStack(Construct scope, String id, StackProps props, StackSettings settings) {
        super(scope, id, props);
        this.settings = settings;
        checkDefinitions();
        HandlerNeeds code = HandlerNeeds.of(settings.functionsJar());
        for (HandlerDef h : Handlers.ALL) needs.put(h.name(), code.of(h));
        Tags.of(this).add("project", "groupmsg");
        Tags.of(this).add("stage", settings.stage());

        Tables.ALL.forEach(this::addTable);
        Queues.ALL.forEach(this::addQueue);

        alarmTopic = Topic.Builder.create(this, "AlarmTopic")
                .displayName("groupmsg " + settings.stage() + " alarms")
                .enforceSsl(true)
                .build();
        // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and alarm
        // notifications carry only alarm names and states (no customer data).
        // enforceSsl gives the topic a policy of its own, which replaces SNS's default one: without this statement
        // CloudWatch may not publish to it, and every alarm's action fails (seen only in the alarm's history)
        alarmTopic.addToResourcePolicy(PolicyStatement.Builder.create()
                .sid("CloudWatchAlarmsPublish")
                .principals(List.of(new ServicePrincipal("cloudwatch.amazonaws.com")))
                .actions(List.of("sns:Publish"))
                .resources(List.of(alarmTopic.getTopicArn()))
                .conditions(Map.of("StringEquals", Map.of("aws:SourceAccount", Aws.ACCOUNT_ID),
                        "ArnLike", Map.of("aws:SourceArn", "arn:" + Aws.PARTITION + ":cloudwatch:" + Aws.REGION + ":"
                                + Aws.ACCOUNT_ID + ":alarm:*")))
                .build());
        if (settings.alarmEmail() != null) alarmTopic.addSubscription(new EmailSubscription(settings.alarmEmail()));
        for (groupmsg.notify.Topic t : groupmsg.notify.Topic.values()) addEventTopic(t);
        // The integrations topic's events also go to the accounts' own webhooks: the webhooks queue takes its messages
        // raw (the event JSON as published), and its worker POSTs each to the webhooks of the event's account. The
        // notifications topic's are not forwarded to integrations (API.md: a group message's event).
        eventTopics.get(groupmsg.notify.Topic.INTEGRATIONS).addSubscription(
                SqsSubscription.Builder.create(queues.get(Queues.WEBHOOKS.name())).rawMessageDelivery(true).build());
        twilioSecret = addTwilioSecret();

        api = new HttpApi(this, "HttpApi", HttpApiProps.builder()
                .apiName("groupmsg-" + settings.stage())
                .description("groupmsg public API (" + settings.stage() + ")")
                .createDefaultStage(false)
                .build());
        apiAccessLogs = LogGroup.Builder.create(this, "ApiAccessLogs")
                .retention(settings.isProd() ? RetentionDays.SIX_MONTHS : RetentionDays.ONE_MONTH)
                .removalPolicy(settings.isProd() ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY)
                .build();
        apiStage = addApiStage();

        for (HandlerDef h : Handlers.ALL) addFunction(h);
        addRoutes();
        throttleWebhookRoutes();
        addQueueConsumers();
        addSchedules();
        addAlarms();

        CfnOutput.Builder.create(this, "ApiUrl")
                .description("Base URL of the public API (routes start with /v1)")
                .value(apiStage.getUrl())
                .build();
        CfnOutput.Builder.create(this, "PublicBaseUrl")
                .description("URL that carrier webhook signatures are checked against (configure the carrier with it)")
                .value(publicBaseUrl())
                .build();
        CfnOutput.Builder.create(this, "AlarmTopicArn")
                .description("SNS topic every alarm notifies; subscribe to it")
                .value(alarmTopic.getTopicArn())
                .build();
        eventTopics.forEach((t, topic) -> CfnOutput.Builder.create(this, pascal(t.wireName()) + "TopicArn")
                .description("SNS topic of the " + t.wireName() + " events (message attributes accountId and type "
                        + "for subscription filter policies)")
                .value(topic.getTopicArn())
                .build());
        for (HandlerDef h : Handlers.ALL) {
            if (h.trigger() != HandlerDef.Trigger.INVOKE) continue;
            CfnOutput.Builder.create(this, pascal(h.name()) + "FunctionArn")
                    .description("Invoke with aws lambda invoke --function-name <this> (the live alias, SnapStart): "
                            + "the " + h.name() + " function, which no route or event source calls")
                    .value(aliases.get(h.name()).getFunctionArn())
                    .build();
        }
        CfnOutput.Builder.create(this, "TwilioSecretArn")
                .description("Secrets Manager secret with the Twilio credentials {\"accountSid\",\"authToken\"}: "
                        + "put the real values in before sending")
                .value(twilioSecret.getSecretArn())
                .build();
    }

    // ---------------------------------------------------------------------------------------------- definitions

    /** Fails synth on definitions that would deploy something unreachable or unwired. */
    private static void checkDefinitions() {
        Set<String> names = new LinkedHashSet<>();
        for (HandlerDef h : Handlers.ALL) {
            if (!names.add(h.name())) throw new IllegalStateException("duplicate handler name " + h.name());
            for (String t : h.tables()) tableDef(t);
            for (String q : h.queuesSentTo()) Queues.byName(q);
            for (String q : h.deadLettersSentTo()) Queues.byName(q);
        }
        long authorizers = Handlers.ALL.stream().filter(h -> h.trigger() == HandlerDef.Trigger.AUTHORIZER).count();
        if (authorizers != 1) throw new IllegalStateException("expected exactly one AUTHORIZER handler, found " + authorizers);
        if (Handlers.NOT_FOUND.trigger() != HandlerDef.Trigger.HTTP) {
            throw new IllegalStateException("the not-found handler must be an HTTP handler");
        }
        for (RouteDef r : Routes.ALL) {
            if (Handlers.byName(r.handler()).trigger() != HandlerDef.Trigger.HTTP) {
                throw new IllegalStateException("route " + r.key() + " targets non-HTTP handler " + r.handler());
            }
        }
        for (HandlerDef h : Handlers.ALL) {
            boolean wired = switch (h.trigger()) {
                // INVOKE: wired by the operator's IAM rights, nothing in the stack (no route or queue may name it:
                // the checks above and below refuse a route or queue on a handler of another trigger).
                case AUTHORIZER, SCHEDULE, INVOKE -> true;
                case HTTP -> h == Handlers.NOT_FOUND || !Routes.forHandler(h.name()).isEmpty();
                case SQS -> Queues.ALL.stream().anyMatch(q -> q.consumer().equals(h.name()));
            };
            if (!wired) throw new IllegalStateException("handler " + h.name() + " (" + h.trigger() + ") has no trigger");
        }
        for (var narrowed : Handlers.NARROWED_TABLE_ACCESS.entrySet()) {
            HandlerDef h = Handlers.byName(narrowed.getKey());
            if (!h.tables().contains(narrowed.getValue().table())) {
                throw new IllegalStateException("handler " + h.name() + " has narrowed access to table "
                        + narrowed.getValue().table() + ", which its HandlerDef does not list");
            }
        }
        // The authorizer runs for every request and has no tenant of its own: it must not get read/write on a table.
        HandlerDef authorizer = Handlers.ALL.stream()
                .filter(h -> h.trigger() == HandlerDef.Trigger.AUTHORIZER).findFirst().orElseThrow();
        TableAccess authorizerAccess = Handlers.NARROWED_TABLE_ACCESS.get(authorizer.name());
        for (String t : authorizer.tables()) {
            if (authorizerAccess == null || !authorizerAccess.table().equals(t)) {
                throw new IllegalStateException("the authorizer needs a narrowed access (Handlers.NARROWED_TABLE_ACCESS) "
                        + "to table " + t);
            }
        }
        for (QueueDef q : Queues.ALL) {
            if (Handlers.byName(q.consumer()).trigger() != HandlerDef.Trigger.SQS) {
                throw new IllegalStateException("queue " + q.name() + " is consumed by non-SQS handler " + q.consumer());
            }
            if (q.maxConcurrency() < 2 || q.maxConcurrency() > 1000) {
                throw new IllegalStateException("queue " + q.name() + ": Lambda's SQS maximum concurrency must be "
                        + "2..1000, got " + q.maxConcurrency());
            }
        }
    }

    private static TableDef tableDef(String name) {
        return Tables.ALL.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no table " + name));
    }

    // ---------------------------------------------------------------------------------------------- data

    private void addTable(TableDef def) {
        RemovalPolicy removal = settings.isProd() ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
        Table.Builder b = Table.Builder.create(this, pascal(def.name()) + "Table")
                .partitionKey(stringKey(def.partitionKey()))
                .billingMode(BillingMode.PAY_PER_REQUEST)
                .pointInTimeRecoverySpecification(PointInTimeRecoverySpecification.builder()
                        .pointInTimeRecoveryEnabled(true).build())
                .deletionProtection(settings.isProd())
                .removalPolicy(removal);
        if (def.sortKey() != null) b.sortKey(stringKey(def.sortKey()));
        if (def.ttlAttribute() != null) b.timeToLiveAttribute(def.ttlAttribute());
        Table table = b.build();
        for (TableDef.IndexDef index : def.indexes()) {
            GlobalSecondaryIndexProps.Builder gsi = GlobalSecondaryIndexProps.builder()
                    .indexName(index.name())
                    .partitionKey(stringKey(index.partitionKey()))
                    .projectionType(index.keysOnly() ? ProjectionType.KEYS_ONLY : ProjectionType.ALL);
            if (index.sortKey() != null) gsi.sortKey(stringKey(index.sortKey()));
            table.addGlobalSecondaryIndex(gsi.build());
        }
        tables.put(def.name(), table);
    }

    private static Attribute stringKey(String name) {
        return Attribute.builder().name(name).type(AttributeType.STRING).build();
    }

    private void addQueue(QueueDef def) {
        String id = pascal(def.name());
        Queue.Builder dlq = Queue.Builder.create(this, id + "Dlq")
                .retentionPeriod(Duration.days(DLQ_RETENTION_DAYS))
                .encryption(QueueEncryption.SQS_MANAGED)
                .enforceSsl(true);
        Queue.Builder queue = Queue.Builder.create(this, id + "Queue")
                .visibilityTimeout(Duration.seconds(def.visibilityTimeoutSeconds()))
                .retentionPeriod(Duration.days(def.retentionDays()))
                .encryption(QueueEncryption.SQS_MANAGED)
                .enforceSsl(true);
        if (def.fifo()) {
            // Producers set MessageDeduplicationId themselves: content-based dedup would drop legitimate repeats.
            dlq.fifo(true).contentBasedDeduplication(false);
            // High throughput mode: the default caps a FIFO queue at 300 send calls a second, under one webhook
            // route's burst of inbound texts (each its own send). Order is kept within a message group either way;
            // deduplication per group suffices: a job is sent again with the group it had (an outbox re-send keeps
            // its entry's), and every consumer is idempotent besides.
            queue.fifo(true).contentBasedDeduplication(false)
                    .fifoThroughputLimit(FifoThroughputLimit.PER_MESSAGE_GROUP_ID)
                    .deduplicationScope(DeduplicationScope.MESSAGE_GROUP);
        }
        if (settings.isProd()) {
            // Work in flight and the jobs that failed their retries outlive a destroy or a replacement, as the tables do.
            dlq.removalPolicy(RemovalPolicy.RETAIN);
            queue.removalPolicy(RemovalPolicy.RETAIN);
        }
        Queue deadLetters = dlq.build();
        queue.deadLetterQueue(DeadLetterQueue.builder().queue(deadLetters).maxReceiveCount(def.maxReceiveCount()).build());
        deadLetterQueues.put(def.name(), deadLetters);
        queues.put(def.name(), queue.build());
    }

    // ---------------------------------------------------------------------------------------------- events, secrets

    /** One SNS topic per {@link groupmsg.notify.Topic}: encrypted at rest, TLS-only publishing. */
    private void addEventTopic(groupmsg.notify.Topic t) {
        String id = pascal(t.wireName());
        Topic topic = Topic.Builder.create(this, id + "Topic")
                .displayName("groupmsg " + settings.stage() + " " + t.wireName() + " events")
                .masterKey(software.amazon.awscdk.services.kms.Alias.fromAliasName(this, id + "TopicKey",
                        SNS_MANAGED_KEY_ALIAS))
                .enforceSsl(true)
                .build();
        // in prod kept with the stack's data: deleting the stack took the topics and every subscription the business
        // attached to them (re-created, they have new ARNs)
        if (settings.isProd()) topic.applyRemovalPolicy(RemovalPolicy.RETAIN);
        eventTopics.put(t, topic);
    }

    /**
     * The carrier credentials, created with a placeholder the operator replaces (never a context value or a
     * template literal: the auth token must not end up in the cloud assembly).
     */
    private ISecret addTwilioSecret() {
        if (settings.twilioSecretArn() != null) {
            // The operator's own secret (kept outside the stack, e.g. shared by several stages). Its complete ARN,
            // so the read grant names exactly that secret.
            return Secret.fromSecretCompleteArn(this, "TwilioSecret", settings.twilioSecretArn());
        }
        String accountSid = settings.twilioAccountSid() != null ? settings.twilioAccountSid() : TWILIO_ACCOUNT_SID_PLACEHOLDER;
        Secret secret = Secret.Builder.create(this, "TwilioSecret")
                .description("groupmsg " + settings.stage() + ": Twilio credentials {\"accountSid\",\"authToken\"}; "
                        + "replace the generated placeholder authToken with the account's auth token")
                .generateSecretString(SecretStringGenerator.builder()
                        .secretStringTemplate("{\"accountSid\":\"" + accountSid + "\"}")
                        .generateStringKey("authToken")
                        .excludePunctuation(true)
                        .passwordLength(32)
                        .build())
                // Keep the operator's credentials when a prod stack is deleted, like its data.
                .removalPolicy(settings.isProd() ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY)
                .build();
        NagSuppressions.addResourceSuppressions(secret, List.of(suppression("AwsSolutions-SMG4",
                "Twilio credentials are issued by Twilio, not by a system Secrets Manager can rotate; the operator "
                        + "rotates the auth token in the Twilio console and puts the new value in this secret.")));
        return secret;
    }

    // ---------------------------------------------------------------------------------------------- functions

    private void addFunction(HandlerDef def) {
        String id = pascal(def.name());
        RemovalPolicy logRemoval = settings.isProd() ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
        LogGroup logs = LogGroup.Builder.create(this, id + "Logs")
                .retention(settings.isProd() ? RetentionDays.SIX_MONTHS : RetentionDays.ONE_MONTH)
                .removalPolicy(logRemoval)
                .build();
        // One role per function with nothing attached but what is granted below (no AWS-managed policies).
        Role role = Role.Builder.create(this, id + "Role")
                .assumedBy(new ServicePrincipal("lambda.amazonaws.com"))
                .description("groupmsg " + settings.stage() + " " + def.name() + " function")
                .build();
        logs.grantWrite(role);
        logs.addMetricFilter(id + "HandledFailures", MetricFilterOptions.builder()
                .filterPattern(FilterPattern.exists("$.metric"))
                .metricNamespace(metricNamespace())
                .metricName(HANDLED_FAILURES_METRIC)
                .metricValue("1")
                .dimensions(Map.of("Metric", "$.metric"))
                .build());

        Map<String, String> env = new TreeMap<>();
        env.put("JAVA_TOOL_OPTIONS", JAVA_TOOL_OPTIONS);
        for (String t : def.tables()) env.put(tableDef(t).envVar(), tables.get(t).getTableName());
        Set<String> queueNames = new LinkedHashSet<>(def.queuesSentTo());
        Queues.ALL.stream().filter(q -> q.consumer().equals(def.name())).forEach(q -> queueNames.add(q.name()));
        for (String q : queueNames) env.put(Queues.byName(q).envVar(), queues.get(q).getQueueUrl());
        for (String q : def.deadLettersSentTo()) env.put(Queues.byName(q).dlqEnvVar(), deadLetterQueues.get(q).getQueueUrl());
        HandlerNeeds.Needs uses = needs.get(def.name());
        // Webhook handlers check signatures over it; the delivery worker gives the carrier status callback URLs.
        if (servesUnauthenticatedRoutes(def) || uses.publicBaseUrl()) env.put(PUBLIC_BASE_URL_ENV, publicBaseUrl());
        Set<groupmsg.notify.Topic> publishes = uses.topics();
        for (groupmsg.notify.Topic t : publishes) env.put(t.envVar(), eventTopics.get(t).getTopicArn());
        boolean readsCarrierCredentials = uses.carrierCredentials();
        if (readsCarrierCredentials) {
            env.put(TWILIO_SECRET_ARN_ENV, twilioSecret.getSecretArn());
            if (settings.twilioAccountSid() != null) env.put(TWILIO_ACCOUNT_SID_ENV, settings.twilioAccountSid());
            if (settings.twilioSecretRevision() != null) env.put(TWILIO_SECRET_REVISION_ENV, settings.twilioSecretRevision());
        }

        Function fn = Function.Builder.create(this, id + "Function")
                .description("groupmsg " + settings.stage() + ": " + def.name())
                .runtime(LAMBDA_RUNTIME)
                .architecture(Architecture.ARM_64)
                .handler(def.handlerString())
                .code(Code.fromAsset(settings.functionsJar().toString()))
                .memorySize(def.memoryMb())
                .timeout(Duration.seconds(def.timeoutSeconds()))
                .role(role)
                .logGroup(logs)
                .loggingFormat(LoggingFormat.JSON)
                .snapStart(SnapStartConf.ON_PUBLISHED_VERSIONS)
                .environment(env)
                .build();
        // Published: fn.currentVersion below, behind the "live" alias every trigger targets.
        Annotations.of(fn).acknowledgeWarning("@aws-cdk/aws-lambda:snapStartRequirePublish",
                "every trigger invokes the live alias of the function's current published version");

        TableAccess narrowed = Handlers.NARROWED_TABLE_ACCESS.get(def.name());
        for (String t : def.tables()) {
            Table table = tables.get(t);
            if (narrowed != null && narrowed.table().equals(t)) {
                grantNarrowed(role, table, narrowed);
                continue;
            }
            // Everything else reads and writes its own tables (and their indexes), item by item and by query: not
            // grantReadWriteData, whose Scan (and stream reads) no deployed code makes, and which let every function,
            // the unauthenticated carrier webhook and the worker calling customers' URLs among them, read a whole
            // table (every account's key hashes and webhook secrets) in a few requests.
            table.grant(role, ITEM_ACCESS.toArray(String[]::new));
            if (!tableDef(t).indexes().isEmpty()) {
                NagSuppressions.addResourceSuppressions(role, List.of(NagPackSuppression.builder()
                        .id("AwsSolutions-IAM5")
                        .reason("Queries on the " + t + " table's own global secondary indexes (<table ARN>/index/*)")
                        .appliesTo(List.of("Resource::<" + getLogicalId(
                                (CfnElement) table.getNode().getDefaultChild()) + ".Arn>/index/*"))
                        .build()), true);
            }
        }
        // a narrowed grant (the authorizer's GetItem) is all its role may do on the table already
        if (def.tables().contains(Tables.CORE.name()) && narrowed == null && !uses.writesKeyLookups()) {
            denyKeyLookupWrites(role, tables.get(Tables.CORE.name()));
        }
        for (String q : def.queuesSentTo()) queues.get(q).grantSendMessages(role);
        for (String q : def.deadLettersSentTo()) deadLetterQueues.get(q).grantSendMessages(role);
        // sns:Publish only. Not Topic.grantPublish: with a master key it also grants kms:Decrypt and
        // kms:GenerateDataKey* on key/* (by alias condition), which the AWS-managed SNS key does not need: its key
        // policy already lets every principal of the account use it through SNS.
        for (groupmsg.notify.Topic t : publishes) {
            role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                    .actions(List.of("sns:Publish"))
                    .resources(List.of(eventTopics.get(t).getTopicArn()))
                    .build());
        }
        if (readsCarrierCredentials) twilioSecret.grantRead(role);
        // Consuming (receive/delete/change visibility) is granted by the SQS event source, on its queue only.

        Alias live = Alias.Builder.create(this, id + "Live")
                .aliasName(LIVE_ALIAS)
                .version(fn.getCurrentVersion())
                .build();
        functions.put(def.name(), fn);
        aliases.put(def.name(), live);
    }

    /** What a function may do on its tables: items by key, batches of them, transactions, and queries. */
    static final List<String> ITEM_ACCESS = List.of("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
            "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem");

    /**
     * Only the listed actions, on the table itself (no index), and only on items whose partition key starts with one
     * of the prefixes: {@code ForAllValues:StringLike} on {@code dynamodb:LeadingKeys} (the partition key of every
     * item a request touches; a transaction's actions are authorized one by one as PutItem, UpdateItem...). The
     * SnapStart priming's requests to the nonexistent {@code groupmsg-priming} table are denied, as they always
     * were: they are meant to fail, and priming ignores their failures.
     */
    private static void grantNarrowed(Role role, Table table, TableAccess access) {
        role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                .actions(access.actions())
                .resources(List.of(table.getTableArn()))
                .conditions(Map.of("ForAllValues:StringLike", Map.of("dynamodb:LeadingKeys",
                        access.partitionKeyPrefixes().stream().map(p -> p + "*").toList())))
                .build());
    }

    /** What writes an item (a transaction's actions are authorized one by one as these). */
    static final List<String> ITEM_WRITES = List.of("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem");

    /**
     * No write of an API key's lookup row ({@link Handlers#KEY_LOOKUP_PREFIX}), which the authorizer trusts as it is:
     * a function whose code never writes one (the unauthenticated carrier webhook, the worker calling customers' URLs,
     * every tenant's API) could otherwise, through a fault of its own, put an owner key into any account. A Deny, over
     * the grant above: {@code ForAnyValue} catches a batch with one such item among others.
     */
    private static void denyKeyLookupWrites(Role role, Table core) {
        role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                .effect(Effect.DENY)
                .actions(ITEM_WRITES)
                .resources(List.of(core.getTableArn()))
                .conditions(Map.of("ForAnyValue:StringLike", Map.of("dynamodb:LeadingKeys",
                        List.of(Handlers.KEY_LOOKUP_PREFIX + "*"))))
                .build());
    }

    private static boolean servesUnauthenticatedRoutes(HandlerDef def) {
        return Routes.forHandler(def.name()).stream().anyMatch(r -> !r.authorized());
    }

    /** The configured public base URL, or the API's own endpoint when none is configured. */
    private String publicBaseUrl() {
        return settings.publicBaseUrl() != null ? settings.publicBaseUrl() : api.getApiEndpoint();
    }

    // ---------------------------------------------------------------------------------------------- API

    private HttpStage addApiStage() {
        IAccessLogDestination destination = new LogGroupLogDestination(apiAccessLogs);
        // HTTP API context variables only (the REST API's standard JSON fields include some HTTP APIs reject).
        String format = "{\"requestId\":\"$context.requestId\",\"ip\":\"$context.identity.sourceIp\","
                + "\"requestTime\":\"$context.requestTime\",\"method\":\"$context.httpMethod\","
                + "\"routeKey\":\"$context.routeKey\",\"path\":\"$context.path\",\"status\":\"$context.status\","
                + "\"protocol\":\"$context.protocol\",\"responseLength\":\"$context.responseLength\","
                + "\"latency\":\"$context.responseLatency\",\"integrationLatency\":\"$context.integrationLatency\","
                + "\"integrationError\":\"$context.integrationErrorMessage\","
                + "\"authorizerError\":\"$context.authorizer.error\"}";
        return new HttpStage(this, "HttpApiDefaultStage", HttpStageProps.builder()
                .httpApi(api)
                .stageName("$default")
                .autoDeploy(true)
                // The stage default, for every route without settings of its own (throttleWebhookRoutes).
                .throttle(ThrottleSettings.builder().rateLimit(API_RATE_LIMIT).burstLimit(API_BURST_LIMIT).build())
                .accessLogSettings(new IAccessLogSettings() {
                    @Override public IAccessLogDestination getDestination() { return destination; }
                    @Override public AccessLogFormat getFormat() { return AccessLogFormat.custom(format); }
                })
                .build());
    }

    private void addRoutes() {
        HandlerDef authorizerDef = Handlers.ALL.stream()
                .filter(h -> h.trigger() == HandlerDef.Trigger.AUTHORIZER).findFirst().orElseThrow();
        // REQUEST authorizer with simple ({"isAuthorized": ..., "context": ...}) responses. A request without the
        // Authorization header is refused by API Gateway itself (401) without invoking the authorizer.
        HttpLambdaAuthorizer authorizer = new HttpLambdaAuthorizer("ApiKeyAuthorizer", aliases.get(authorizerDef.name()),
                HttpLambdaAuthorizerProps.builder()
                        .authorizerName("api-key")
                        .responseTypes(List.of(HttpLambdaResponseType.SIMPLE))
                        .identitySource(List.of(AUTHORIZATION_HEADER_SOURCE))
                        // No cache: a revoked key is refused at its next request (see AUTHORIZER_CACHE_TTL_SECONDS).
                        .resultsCacheTtl(Duration.seconds(AUTHORIZER_CACHE_TTL_SECONDS))
                        .build());

        Map<String, HttpLambdaIntegration> integrations = new LinkedHashMap<>();
        for (HandlerDef h : Handlers.ALL) {
            if (h.trigger() != HandlerDef.Trigger.HTTP) continue;
            integrations.put(h.name(), new HttpLambdaIntegration(pascal(h.name()) + "Integration", aliases.get(h.name()),
                    HttpLambdaIntegrationProps.builder().payloadFormatVersion(PayloadFormatVersion.VERSION_2_0).build()));
        }

        for (RouteDef r : Routes.ALL) {
            HttpRouteProps.Builder props = HttpRouteProps.builder()
                    .httpApi(api)
                    .routeKey(HttpRouteKey.with(r.path(), HttpMethod.valueOf(r.method())))
                    .integration(integrations.get(r.handler()));
            if (r.authorized()) props.authorizer(authorizer);
            HttpRoute route = new HttpRoute(this, "Route " + r.method() + " " + r.path().replace('/', '|'), props.build());
            if (!r.authorized()) {
                NagSuppressions.addResourceSuppressions(route, List.of(suppression("AwsSolutions-APIG4",
                        "Carrier webhook: the carrier's request signature is the credential, checked by the handler "
                                + "against " + PUBLIC_BASE_URL_ENV + " (API keys cannot be given to the carrier).")), true);
            }
            routes.put(r.key(), route);
        }
        HttpRoute fallback = new HttpRoute(this, "Route default", HttpRouteProps.builder()
                .httpApi(api)
                .routeKey(HttpRouteKey.DEFAULT)
                .integration(integrations.get(Handlers.NOT_FOUND.name()))
                .build());
        NagSuppressions.addResourceSuppressions(fallback, List.of(suppression("AwsSolutions-APIG4",
                "$default catch-all: answers every unknown route with the contract's 404 body and touches no data, "
                        + "so unknown paths are not-found rather than an authorizer round trip.")), true);
        routes.put(Routes.DEFAULT_ROUTE_KEY, fallback);
    }

    /**
     * The carrier webhooks get their own throttle (WEBHOOK_RATE_LIMIT) instead of the stage default the API routes
     * keep: a webhook that API Gateway answers 429 is not retried by Twilio. The L2 stage has no per-route settings,
     * so they go on the L1 stage ({@code RouteSettings}, by route key).
     */
    private void throttleWebhookRoutes() {
        Map<String, Object> settingsByRoute = new TreeMap<>();
        for (RouteDef r : webhookRoutes()) {
            settingsByRoute.put(r.key(), Map.of("ThrottlingRateLimit", WEBHOOK_RATE_LIMIT,
                    "ThrottlingBurstLimit", WEBHOOK_BURST_LIMIT));
            // The stage names the route by its key: CloudFormation must have created the route first (otherwise
            // the stage fails with "Unable to find Route by key ... within the provided RouteSettings").
            apiStage.getNode().addDependency(routes.get(r.key()));
        }
        ((CfnStage) apiStage.getNode().getDefaultChild()).setRouteSettings(settingsByRoute);
    }

    /** The routes without the authorizer: the carrier webhooks (RouteTableTest keeps them under /webhooks/). */
    private static List<RouteDef> webhookRoutes() {
        return Routes.ALL.stream().filter(r -> !r.authorized()).toList();
    }

    // ---------------------------------------------------------------------------------------------- triggers

    private void addQueueConsumers() {
        for (QueueDef q : Queues.ALL) {
            var props = SqsEventSourceProps.builder()
                    .batchSize(q.batchSize())
                    .maxConcurrency(q.maxConcurrency())
                    .reportBatchItemFailures(true);
            if (q.batchingWindowSeconds() > 0) props.maxBatchingWindow(Duration.seconds(q.batchingWindowSeconds()));
            aliases.get(q.consumer()).addEventSource(new SqsEventSource(queues.get(q.name()), props.build()));
        }
    }

    private void addSchedules() {
        for (HandlerDef h : Handlers.ALL) {
            if (h.trigger() != HandlerDef.Trigger.SCHEDULE) continue;
            schedules.put(h.name(), Rule.Builder.create(this, pascal(h.name()) + "Schedule")
                    .description("Runs groupmsg " + h.name() + " every " + Handlers.MAINTENANCE_INTERVAL_MINUTES + " min")
                    .schedule(Schedule.rate(Duration.minutes(Handlers.MAINTENANCE_INTERVAL_MINUTES)))
                    .targets(List.of(new LambdaFunction(aliases.get(h.name()))))
                    .build());
            // A failed run is not run again (Lambda retries an asynchronous one twice by default): the next scheduled
            // run does the same sweep, and retries would pile runs of one minute on top of each other.
            aliases.get(h.name()).configureAsyncInvoke(EventInvokeConfigOptions.builder()
                    .retryAttempts(0)
                    .maxEventAge(Duration.minutes(Handlers.MAINTENANCE_INTERVAL_MINUTES))
                    .build());
        }
    }

    // ---------------------------------------------------------------------------------------------- alarms

    private void addAlarms() {
        SnsAction notify = new SnsAction(alarmTopic);
        for (QueueDef q : Queues.ALL) {
            Metric visible = deadLetterQueues.get(q.name()).metricApproximateNumberOfMessagesVisible(MetricOptions.builder()
                    .statistic("Maximum").period(Duration.minutes(1)).build());
            alarm(pascal(q.name()) + "DlqAlarm", visible, notify,
                    "Messages in the " + q.name() + " dead-letter queue: they failed " + q.maxReceiveCount()
                            + " times; inspect, fix and redrive");
            // An alarm notifies when its state changes: while the queue holds messages (not redriven yet), more
            // reaching it, another failure's, paged nobody. This one fires on each minute it grew: visible and in
            // flight together (someone inspecting it in the console only moves messages between the two). Two
            // periods in its window, so the difference always has the one before.
            Metric inFlight = deadLetterQueues.get(q.name()).metricApproximateNumberOfMessagesNotVisible(MetricOptions.builder()
                    .statistic("Maximum").period(Duration.minutes(1)).build());
            alarm(pascal(q.name()) + "DlqGrowthAlarm", MathExpression.Builder.create().expression("DIFF(visible + inFlight)")
                    .usingMetrics(Map.of("visible", visible, "inFlight", inFlight)).period(Duration.minutes(1)).build(),
                    1, 1, 2, notify, "More messages in the " + q.name() + " dead-letter queue");
            // The two above page when messages arrive; nothing paged again while they sat there unredriven until SQS
            // dropped them (their jobs lost for good: opt-outs, replies, deliveries). Four days' notice at least.
            Metric waitingThere = deadLetterQueues.get(q.name()).metricApproximateAgeOfOldestMessage(MetricOptions.builder()
                    .statistic("Maximum").period(Duration.minutes(5)).build());
            alarm(pascal(q.name()) + "DlqAgeAlarm", waitingThere, dlqAgeAlarmSeconds(q), notify, "A message has waited "
                    + dlqAgeAlarmSeconds(q) / 86_400 + " days in the " + q.name() + " dead-letter queue: redrive it (or"
                    + " save it) before SQS drops it, " + DLQ_RETENTION_DAYS + " days after its first send"
                    + (q.fifo() ? " there" : "") + " (" + DLQ_AGE_NOTICE_DAYS + " days from now at the soonest)");
        }
        for (QueueDef q : Queues.ALL) {
            // A job older than all its tries could take is not being taken (its event source disabled or failing,
            // the consumer's permission lost) or the queue is far behind: no dead-letter queue, no function error sees
            // it, and the queue drops it after its retention.
            Metric oldest = queues.get(q.name()).metricApproximateAgeOfOldestMessage(MetricOptions.builder()
                    .statistic("Maximum").period(Duration.minutes(5)).build());
            alarm(pascal(q.name()) + "AgeAlarm", oldest, oldestJobAlarmSeconds(q), notify, "A job has waited in the "
                    + q.name() + " queue longer than its " + q.maxReceiveCount() + " tries could take: its consumer ("
                    + q.consumer() + ") is not taking it (event source disabled, permission lost) or is far behind. "
                    + "The queue drops jobs after " + q.retentionDays() + " days");
        }
        // An event an endpoint did not take waits in the webhooks queue, delayed, between its passes (one copy after
        // another, up to 15 minutes each, for days): many at once are an endpoint, or many, down for hours, and each
        // costs an invocation and three SQS requests every 15 minutes. Not in flight: a standard queue takes about
        // 120,000 in flight, past which receives fail for every account's webhooks.
        Metric waiting = queues.get(Queues.WEBHOOKS.name()).metricApproximateNumberOfMessagesDelayed(MetricOptions.builder()
                .statistic("Maximum").period(Duration.minutes(5)).build());
        alarm("WebhooksWaitingAlarm", waiting, WEBHOOKS_WAITING_ALARM, notify, "Over " + WEBHOOKS_WAITING_ALARM
                + " webhook events waiting between passes: an endpoint, or many, down for hours (each event wakes every "
                + "15 minutes until its pass is due); look at which webhooks fail (lastFailure), or disable them");
        // SNS failing to put events in the webhooks queue (its policy or encryption changed): it retries quietly, then
        // drops them, and no queue alarm sees an empty queue
        alarm("IntegrationsDeliveryAlarm", eventTopics.get(groupmsg.notify.Topic.INTEGRATIONS).metricNumberOfNotificationsFailed(
                MetricOptions.builder().statistic("Sum").period(Duration.minutes(5)).build()), notify,
                "The integrations topic failed to deliver events to a subscriber: the webhooks queue (check its policy and"
                        + " key) or a subscription the business attached (check its endpoint)");
        for (HandlerDef h : Handlers.ALL) {
            Function fn = functions.get(h.name());
            MetricOptions sum = MetricOptions.builder().statistic("Sum").period(Duration.minutes(1)).build();
            alarm(pascal(h.name()) + "ErrorsAlarm", fn.metricErrors(sum), notify,
                    "Invocation errors in the " + h.name() + " function");
            alarm(pascal(h.name()) + "ThrottlesAlarm", fn.metricThrottles(sum), notify,
                    "Throttled invocations of the " + h.name() + " function");
        }
        for (HandlerDef h : Handlers.ALL) {
            if (h.trigger() != HandlerDef.Trigger.SCHEDULE) continue;
            // No run at all pages too: a rule disabled, its invoke permission lost, events dropped. No Errors alarm
            // sees a function never invoked, and maintenance is what redrives the outbox (a group message whose
            // fan-out was not enqueued stays "sending"), settles lost answers and sweeps imports
            // two periods: a new stack's rule and alias come a few minutes before its first run
            Alarm notRunning = alarm(pascal(h.name()) + "NotRunningAlarm", functions.get(h.name()).metricInvocations(
                    MetricOptions.builder().statistic("Sum").period(Duration.minutes(NOT_RUNNING_MINUTES)).build()),
                    1, ComparisonOperator.LESS_THAN_THRESHOLD, 2, 2, TreatMissingData.BREACHING, notify,
                    "the " + h.name() + " function did not run in " + 2 * NOT_RUNNING_MINUTES + " minutes (it runs every "
                            + Handlers.MAINTENANCE_INTERVAL_MINUTES + "): check its schedule rule (enabled, its target the "
                            + "live alias) and the function's asynchronous invocations (AsyncEventsDropped)");
            notRunning.getNode().addDependency(schedules.get(h.name()));
        }
        for (String failure : PAGED_HANDLED_FAILURES) {
            alarm(failure + "Alarm", handledFailures(failure), notify, "A function logged " + failure
                    + " (handled, so no Errors alarm sees it); its log lines with \"metric\":\"" + failure + "\" say which "
                    + "message, line or number (infra/DEPLOY.md, CloudWatch alarms)");
        }
        // Faults that pass (a throttle, a timeout) fail a job now and then, and its queue brings it back: these page
        // when jobs fail in several minutes of ten, long before a dead-letter queue fills (after a quarter of an hour
        // to most of an hour of retries, depending on the queue), and also when little traffic fails seldom.
        alarm(HandledFailures.JOB_FAILED + "SustainedAlarm", handledFailures(HandledFailures.JOB_FAILED), 1,
                SUSTAINED_FAILURE_MINUTES, SUSTAINED_FAILURE_WINDOW_MINUTES, notify, "Queue jobs, or maintenance's repairs,"
                + " failed in " + SUSTAINED_FAILURE_MINUTES + " of the last " + SUSTAINED_FAILURE_WINDOW_MINUTES
                + " minutes (a broken deploy, a missing permission, a table or topic that refuses): the work waits; a"
                + " queue's job reaches its dead-letter queue after its retries, a repair is tried every minute. Its log"
                + " lines with \"metric\":\"" + HandledFailures.JOB_FAILED
                + "\" say which function, job and error");
        alarm(HandledFailures.CARRIER_UNAVAILABLE + "SustainedAlarm", handledFailures(HandledFailures.CARRIER_UNAVAILABLE), 1,
                SUSTAINED_FAILURE_MINUTES, SUSTAINED_FAILURE_WINDOW_MINUTES, notify, "The carrier throttled or could "
                + "not be reached on a job's every try, or left 5 answers in a row unclear (500s, timeouts), in "
                + SUSTAINED_FAILURE_MINUTES + " of the last " + SUSTAINED_FAILURE_WINDOW_MINUTES + " minutes: recipients "
                + "not tried wait, queued, and are retried; those with an unclear answer stay sending until a receipt or "
                + "maintenance's lookup settles them. Its log lines (carrier_unavailable) say which line and what trouble");
        alarm(HandledFailures.MAINTENANCE_BEHIND + "SustainedAlarm", handledFailures(HandledFailures.MAINTENANCE_BEHIND), 1,
                MAINTENANCE_BEHIND_MINUTES, MAINTENANCE_BEHIND_WINDOW_MINUTES, notify, "Maintenance could not do its"
                + " minute's work in " + MAINTENANCE_BEHIND_MINUTES + " of the last " + MAINTENANCE_BEHIND_WINDOW_MINUTES
                + " minutes: its message sweep ran out of time (repairs, completions, lookups of lost answers left for"
                + " the next), or the overdue receipts had no time left. A backlog outgrows the runs; its log lines"
                + " (maintenance_behind, message_maintenance_out_of_time, maintenance_done) say which step and how much");
        MetricOptions sum = MetricOptions.builder().statistic("Sum").period(Duration.minutes(1)).build();
        // API Gateway's own failures too (an integration or authorizer that timed out or could not be invoked),
        // which no function's error metric counts.
        alarm("Api5xxAlarm", apiStage.metricServerError(sum), notify,
                "HTTP API answered 5xx (a handler failed or timed out, or API Gateway could not invoke it); see the "
                        + "API access logs' status, integrationError and authorizerError");
        alarm("WebhookClientErrorsAlarm", webhookClientErrors().metric(sum), WEBHOOK_CLIENT_ERRORS_ALARM_THRESHOLD, notify,
                "Carrier webhooks answered 4xx, which Twilio does not retry: delivery receipts or inbound texts "
                        + "(STOP among them) were lost. 429: throttled (route throttle or the account's API Gateway "
                        + "quota); 403: signature mismatch (publicBaseUrl differs from the URL Twilio calls, or the auth "
                        + "token changed), or someone else posting; 400: malformed. See the API access logs. Fires at "
                        + WEBHOOK_CLIENT_ERRORS_ALARM_THRESHOLD + " in a minute, not on a stray unsigned post");
    }

    /**
     * Requests to the carrier webhook routes answered 4xx, from the access logs (whose JSON lines carry routeKey and
     * status): per-route metrics would need the stage's detailed metrics, a charge for every route.
     */
    private MetricFilter webhookClientErrors() {
        JsonPattern webhookRoute = FilterPattern.any(webhookRoutes().stream()
                .map(r -> FilterPattern.stringValue("$.routeKey", "=", r.key()))
                .toArray(JsonPattern[]::new));
        return apiAccessLogs.addMetricFilter("WebhookClientErrors", MetricFilterOptions.builder()
                .filterPattern(FilterPattern.all(webhookRoute, FilterPattern.stringValue("$.status", "=", "4*")))
                .metricNamespace(metricNamespace())
                .metricName(WEBHOOK_CLIENT_ERRORS_METRIC)
                .metricValue("1")
                .build());
    }

    private String metricNamespace() {
        return METRIC_NAMESPACE_PREFIX + settings.stage();
    }

    /**
     * The age (seconds) past which a queue's oldest job pages: its tries' longest course (each a visibility timeout),
     * a delay of up to 15 minutes before the first, and 15 minutes more. A standard queue's metric leaves out a
     * message received three times or more (SQS moves it to the back): only its first two tries count there, and the
     * longer course could never be reached (a stalled consumer paged after 78 minutes on the deliveries queue, not 42).
     * An event of the webhooks queue waiting for its next pass is a new message each time (15 minutes old at the most).
     */
    /** A scheduled function with no invocation in this many minutes pages. */
    static final int NOT_RUNNING_MINUTES = 5;

    /** The webhooks queue's events waiting between passes that page. */
    static final int WEBHOOKS_WAITING_ALARM = 60_000;

    static int oldestJobAlarmSeconds(QueueDef q) {
        int tries = q.fifo() ? q.maxReceiveCount() : Math.min(2, q.maxReceiveCount());
        return tries * q.visibilityTimeoutSeconds() + 30 * 60;
    }

    private void alarm(String id, IMetric metric, SnsAction action, String description) {
        alarm(id, metric, 1, action, description);
    }

    /** The count of a failure functions handle and log with its {@code metric} field, a minute at a time. */
    private Metric handledFailures(String failure) {
        return Metric.Builder.create().namespace(metricNamespace()).metricName(HANDLED_FAILURES_METRIC)
                .dimensionsMap(Map.of("Metric", failure)).statistic("Sum").period(Duration.minutes(1)).build();
    }

    private void alarm(String id, IMetric metric, int threshold, SnsAction action, String description) {
        alarm(id, metric, threshold, 1, 1, action, description);
    }

    /** Fires when {@code metric} reached {@code threshold} in {@code minutes} of the last {@code ofMinutes}. */
    private void alarm(String id, IMetric metric, int threshold, int minutes, int ofMinutes, SnsAction action, String description) {
        alarm(id, metric, threshold, ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, minutes, ofMinutes,
                TreatMissingData.NOT_BREACHING, action, description);
    }

    /** Fires when {@code metric} compares so with {@code threshold} in {@code periods} of the last {@code ofPeriods}. */
    private Alarm alarm(String id, IMetric metric, int threshold, ComparisonOperator comparison, int periods, int ofPeriods,
                        TreatMissingData missingData, SnsAction action, String description) {
        Alarm alarm = Alarm.Builder.create(this, id).metric(metric)
                .alarmDescription("groupmsg " + settings.stage() + ": " + description)
                .threshold(threshold)
                .comparisonOperator(comparison)
                .evaluationPeriods(ofPeriods)
                .datapointsToAlarm(periods)
                .treatMissingData(missingData)
                .build();
        alarm.addAlarmAction(action);
        alarms.add(alarm);
        return alarm;
    }

    // ---------------------------------------------------------------------------------------------- helpers

    private static NagPackSuppression suppression(String id, String reason) {
        return NagPackSuppression.builder().id(id).reason(reason).build();
    }

    /** "admin-api" -> "AdminApi" (construct ids). */
    static String pascal(String name) {
        StringBuilder sb = new StringBuilder();
        for (String part : name.split("[^A-Za-z0-9]+")) {
            if (part.isEmpty()) continue;
            sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
        }
        return sb.toString();
    }

    public StackSettings settings() { return settings; }
    public Map<String, Table> tables() { return Collections.unmodifiableMap(tables); }
    public Map<String, Queue> queues() { return Collections.unmodifiableMap(queues); }
    public Map<String, Queue> deadLetterQueues() { return Collections.unmodifiableMap(deadLetterQueues); }
    public Map<String, Function> functions() { return Collections.unmodifiableMap(functions); }
    public Map<String, Alias> aliases() { return Collections.unmodifiableMap(aliases); }
    public Map<String, HttpRoute> routes() { return Collections.unmodifiableMap(routes); }
    public List<Alarm> alarms() { return Collections.unmodifiableList(alarms); }
    public Topic alarmTopic() { return alarmTopic; }
    public Map<groupmsg.notify.Topic, Topic> eventTopics() { return Collections.unmodifiableMap(eventTopics); }
    public ISecret twilioSecret() { return twilioSecret; }
    /** Per handler name, from its code: the topics it publishes to, the carrier credentials, the public base URL. */
    public Map<String, HandlerNeeds.Needs> needs() { return Collections.unmodifiableMap(needs); }
    public HttpApi api() { return api; }
    public HttpStage apiStage() { return apiStage; }
    public LogGroup apiAccessLogs() { return apiAccessLogs; }
}
