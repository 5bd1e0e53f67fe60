package groupmsg.local;

import groupmsg.platform.schema.Handlers;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How one local runtime is set up (API.md, "Local runtime only").
 *
 * @param port                0 picks a free port (tests)
 * @param dataDir             where DynamoDB Local keeps its files; null keeps everything in memory
 * @param publicBaseUrl       the URL webhook signatures are computed over; null means {@code http://localhost:<port>}
 *                            once the port is known
 * @param localApiKey         the default account's owner key; null generates one
 * @param dynamoEndpoint      an external DynamoDB to use instead of the embedded DynamoDB Local; null embeds
 * @param sqsEndpoint         an external SQS to use instead of the embedded ElasticMQ; null embeds
 * @param snsEndpoint         an external SNS; null when none (recorded in runtime.json for tools)
 * @param maintenanceInterval how often the maintenance handler runs; null never (tests that must not race it)
 */
public record LocalSettings(int port, Path dataDir, String publicBaseUrl, String twilioAuthToken, String localApiKey,
                            URI dynamoEndpoint, URI sqsEndpoint, URI snsEndpoint, String region,
                            Duration maintenanceInterval) {

    public static final int DEFAULT_PORT = 8080;
    public static final String DEFAULT_DATA_DIR = "./.local-data";
    /** The {@code DATA_DIR} value that keeps nothing on disk. */
    public static final String IN_MEMORY = "memory";
    public static final String DEFAULT_TWILIO_AUTH_TOKEN = "local-auth-token";
    public static final String DEFAULT_REGION = "us-east-1";

    public LocalSettings {
        if (port < 0 || port > 65_535) throw new IllegalArgumentException("PORT must be 0..65535, got " + port);
        if (twilioAuthToken == null || twilioAuthToken.isBlank()) twilioAuthToken = DEFAULT_TWILIO_AUTH_TOKEN;
        if (region == null || region.isBlank()) region = DEFAULT_REGION;
        if (localApiKey != null && localApiKey.isBlank()) localApiKey = null;
        if (publicBaseUrl != null) publicBaseUrl = checkedBaseUrl(stripTrailingSlash(publicBaseUrl.strip()));
    }

    /**
     * {@code PUBLIC_BASE_URL} as the deployed stack takes its own: an absolute http(s) URL with a host and no query or
     * fragment. Taken as it was, "localhost:8080" started cleanly, and every send's status callback URL was refused
     * by the carrier (every recipient failed); a query in it failed every webhook's signature.
     */
    private static String checkedBaseUrl(String url) {
        String problem;
        try {
            URI uri = new URI(url);
            problem = uri.getScheme() == null || !List.of("http", "https").contains(uri.getScheme().toLowerCase(java.util.Locale.ROOT))
                    ? "must start with http:// or https://"
                    : uri.getHost() == null ? "must name a host"
                    : uri.getRawQuery() != null || uri.getRawFragment() != null ? "must have no query or fragment" : null;
        } catch (java.net.URISyntaxException e) {
            problem = "is not a URL";
        }
        if (problem != null) {
            throw new IllegalArgumentException("PUBLIC_BASE_URL " + problem + " (such as https://abc.ngrok.app), got '" + url + "'");
        }
        return url;
    }

    /** Reads the documented environment variables. */
    public static LocalSettings fromEnvironment(Map<String, String> env) {
        int port = parsePort(env.get("PORT"));
        String dataDir = blankToNull(env.get("DATA_DIR"));
        if (dataDir == null) dataDir = DEFAULT_DATA_DIR;
        return new LocalSettings(port,
                IN_MEMORY.equalsIgnoreCase(dataDir) ? null : Path.of(dataDir).toAbsolutePath().normalize(),
                blankToNull(env.get("PUBLIC_BASE_URL")),
                blankToNull(env.get("TWILIO_AUTH_TOKEN")),
                blankToNull(env.get("LOCAL_API_KEY")),
                uri("DYNAMODB_ENDPOINT", env.get("DYNAMODB_ENDPOINT")),
                uri("SQS_ENDPOINT", env.get("SQS_ENDPOINT")),
                uri("SNS_ENDPOINT", env.get("SNS_ENDPOINT")),
                blankToNull(env.get("AWS_REGION")),
                Duration.ofMinutes(Handlers.MAINTENANCE_INTERVAL_MINUTES));
    }

    /** In memory, on a free port, embedded services, maintenance on its production schedule. */
    public static LocalSettings forTests() {
        return new LocalSettings(0, null, null, null, null, null, null, null, null,
                Duration.ofMinutes(Handlers.MAINTENANCE_INTERVAL_MINUTES));
    }

    public boolean inMemory() {
        return dataDir == null;
    }

    public LocalSettings withPort(int newPort) {
        return new LocalSettings(newPort, dataDir, publicBaseUrl, twilioAuthToken, localApiKey, dynamoEndpoint,
                sqsEndpoint, snsEndpoint, region, maintenanceInterval);
    }

    public LocalSettings withDataDir(Path newDataDir) {
        return new LocalSettings(port, newDataDir, publicBaseUrl, twilioAuthToken, localApiKey, dynamoEndpoint,
                sqsEndpoint, snsEndpoint, region, maintenanceInterval);
    }

    public LocalSettings withLocalApiKey(String key) {
        return new LocalSettings(port, dataDir, publicBaseUrl, twilioAuthToken, key, dynamoEndpoint,
                sqsEndpoint, snsEndpoint, region, maintenanceInterval);
    }

    public LocalSettings withMaintenanceInterval(Duration interval) {
        return new LocalSettings(port, dataDir, publicBaseUrl, twilioAuthToken, localApiKey, dynamoEndpoint,
                sqsEndpoint, snsEndpoint, region, interval);
    }

    /** The public base URL once the listening port is known. */
    public String publicBaseUrlFor(int boundPort) {
        return publicBaseUrl != null ? publicBaseUrl : "http://localhost:" + boundPort;
    }

    private static int parsePort(String value) {
        if (value == null || value.isBlank()) return DEFAULT_PORT;
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("PORT must be a number, got '" + value + "'");
        }
    }

    private static URI uri(String name, String value) {
        String v = blankToNull(value);
        if (v == null) return null;
        URI uri = URI.create(v.strip());
        if (uri.getScheme() == null || uri.getHost() == null) {
            throw new IllegalArgumentException(name + " must be an absolute URL such as http://127.0.0.1:8000, got '" + v + "'");
        }
        return uri;
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }

    private static String stripTrailingSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
