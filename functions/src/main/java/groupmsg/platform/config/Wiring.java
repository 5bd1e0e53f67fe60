package groupmsg.platform.config;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.CarrierSettings;
import groupmsg.platform.json.Json;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import java.util.Map;
import groupmsg.carrier.SendResult;
import groupmsg.carrier.TwilioCarrier;
import groupmsg.notify.EventPublisher;
import groupmsg.notify.SnsEventPublisher;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.core.SdkSystemSetting;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sns.SnsClient;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * The production parts a handler is built from: configuration, clock, id source and the SDK clients.
 * Built once per execution environment (a handler's no-argument constructor); the local runtime builds one
 * and hands it to every handler. Clients use the URL-connection HTTP client (no Apache, no Netty) for a lean
 * cold start; the SQS and SNS clients are built on first use (only DynamoDB is used by every function).
 */
public record Wiring(AppConfig config, Clock clock, Ids ids, DynamoDbClient dynamo, Lazy<SqsClient> sqsClient,
                     CarrierPort carrier, EventPublisher events) {

    /** The SQS client, built on first use: several functions never send to a queue. */
    public SqsClient sqs() {
        return sqsClient.get();
    }

    /**
     * Prepares the carrier's client for a first send, sending nothing (SnapStart priming). Not through
     * {@link #carrier()}: priming runs in every function, and the deploy gives the carrier credentials to those that
     * call that (infra's HandlerNeeds); a function without them has no carrier to prime.
     */
    public void primeCarrier() {
        carrier.prime();
    }

    public static Wiring fromEnvironment() {
        AppConfig config = AppConfig.fromEnvironment();
        AwsCredentialsProvider credentials = functionCredentials();
        String secretArn = System.getenv("TWILIO_SECRET_ARN");
        if (secretArn != null && !secretArn.isBlank()) {
            // its own provider: closing the secrets client closes the provider it was given
            config = config.withCarrier(config.publicBaseUrl(), carrierFromSecret(config, secretArn, functionCredentials()));
        }
        return create(config, credentials, List.of());
    }

    /**
     * The function's role credentials, where Lambda gives them: a SnapStart function (all of ours) has no
     * {@code AWS_ACCESS_KEY_ID} / {@code AWS_SESSION_TOKEN} variables but a container endpoint
     * ({@code AWS_CONTAINER_CREDENTIALS_FULL_URI} with {@code AWS_CONTAINER_AUTHORIZATION_TOKEN}), whose credentials
     * the provider caches and fetches again before they expire (also after a restore); other functions have the
     * variables. Not the SDK's default chain: it would look for profiles, web identity and IMDS first, weight a
     * cold start does not need.
     */
    static AwsCredentialsProvider functionCredentials() {
        return SdkSystemSetting.AWS_CONTAINER_CREDENTIALS_FULL_URI.getStringValue().isPresent()
                ? ContainerCredentialsProvider.builder().build()
                : EnvironmentVariableCredentialsProvider.create();
    }

    /**
     * Reads the carrier credentials ({@code {"accountSid": ..., "authToken": ..., "previousAuthToken"?: ...}}, the last
     * only while the token is rotated: see infra/DEPLOY.md) from Secrets Manager, once per
     * execution environment (only the functions that call or verify the carrier are given the secret).
     */
    static CarrierSettings carrierFromSecret(AppConfig config, String secretArn, AwsCredentialsProvider credentials) {
        try (var secrets = SecretsManagerClient.builder()
                .httpClient(UrlConnectionHttpClient.builder().build())
                .region(Region.of(config.region()))
                .credentialsProvider(credentials).build()) {
            return carrierFromSecretString(secrets.getSecretValue(b -> b.secretId(secretArn)).secretString(), System.getenv());
        }
    }

    /**
     * The carrier settings in a secret's text. One that is not the JSON object asked for fails with a fixed message
     * and no cause: a parser's message quotes the text it met (a token stored bare, or unquoted), and this fails
     * while a function starts, where the runtime logs it.
     */
    static CarrierSettings carrierFromSecretString(String secretString, Map<String, String> env) {
        Map<String, Object> secret;
        try {
            secret = Json.parseObject(secretString);
        } catch (RuntimeException e) {
            throw new IllegalStateException("the Twilio secret is not a JSON object {\"accountSid\", \"authToken\"[,"
                    + " \"previousAuthToken\"]} (see infra/DEPLOY.md)");
        }
        for (String field : List.of("accountSid", "authToken", "previousAuthToken")) {
            // a cast's message names no value, but a plain one says which field is wrong
            if (secret.get(field) != null && !(secret.get(field) instanceof String)) {
                throw new IllegalStateException("the Twilio secret's " + field + " must be a string (see infra/DEPLOY.md)");
            }
        }
        String sid = env.getOrDefault("TWILIO_ACCOUNT_SID", (String) secret.get("accountSid"));
        return new CarrierSettings(env.getOrDefault("TWILIO_API_BASE_URL", CarrierSettings.DEFAULT_API_BASE_URL),
                sid, (String) secret.get("authToken"), (String) secret.get("previousAuthToken"));
    }

    /** How long one SNS publish attempt, and a publish with its retries, may take (see {@link #create}). */
    static final Duration SNS_ATTEMPT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration SNS_CALL_TIMEOUT = Duration.ofSeconds(5);

    /**
     * @param interceptors extra SDK interceptors (the benchmark counts requests with one)
     */
    public static Wiring create(AppConfig config, AwsCredentialsProvider credentials, List<ExecutionInterceptor> interceptors) {
        SdkHttpClient http = UrlConnectionHttpClient.builder()
                .connectionTimeout(Duration.ofSeconds(2))
                .socketTimeout(Duration.ofSeconds(20))
                .build();
        ClientOverrideConfiguration overrides = ClientOverrideConfiguration.builder()
                .executionInterceptors(interceptors)
                .build();
        Region region = Region.of(config.region());

        var dynamo = DynamoDbClient.builder().httpClient(http).region(region).credentialsProvider(credentials)
                .overrideConfiguration(overrides);
        if (config.dynamoEndpoint() != null) dynamo.endpointOverride(config.dynamoEndpoint());

        var sqs = SqsClient.builder().httpClient(http).region(region).credentialsProvider(credentials)
                .overrideConfiguration(overrides);
        if (config.sqsEndpoint() != null) sqs.endpointOverride(config.sqsEndpoint());

        // A publish answers in milliseconds; one hanging on the shared 20 s socket timeout, retried, outlasted its
        // caller (a 30 s worker, the 60 s maintenance run): killed before it could defer or fail the event itself.
        var sns = SnsClient.builder().httpClient(http).region(region).credentialsProvider(credentials)
                .overrideConfiguration(overrides.toBuilder()
                        .apiCallAttemptTimeout(SNS_ATTEMPT_TIMEOUT)
                        .apiCallTimeout(SNS_CALL_TIMEOUT)
                        .build());
        if (config.snsEndpoint() != null) sns.endpointOverride(config.snsEndpoint());

        CarrierPort carrier = config.carrier() == null ? NO_CARRIER : new TwilioCarrier(config.carrier());
        return new Wiring(config, Clock.systemUTC(), new Ids(), dynamo.build(), new Lazy<>(sqs::build), carrier,
                new SnsEventPublisher(new Lazy<>(sns::build), config));
    }

    public Wiring withCarrier(CarrierPort carrier) {
        return new Wiring(config, clock, ids, dynamo, sqsClient, carrier, events);
    }

    public Wiring withEvents(EventPublisher events) {
        return new Wiring(config, clock, ids, dynamo, sqsClient, carrier, events);
    }

    /** The same clients with another configuration (the local runtime's per-function view, see AppConfig#withOnlyQueues). */
    public Wiring withConfig(AppConfig config) {
        return new Wiring(config, clock, ids, dynamo, sqsClient, carrier, events);
    }

    public Wiring withClock(Clock clock) {
        return new Wiring(config, clock, ids, dynamo, sqsClient, carrier, events);
    }

    /**
     * The carrier of a function configured without one: every send is refused as the sender's problem, so a deploy
     * missing its carrier settings keeps each recipient queued (and raises CarrierRefusedSender) until it is mended,
     * instead of failing them all for good.
     */
    public static final CarrierPort NO_CARRIER = message -> new SendResult.Rejected(0, "carrier_not_configured",
            "no carrier configured (set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)", false, false, true);
}
