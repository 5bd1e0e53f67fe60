package groupmsg.local.bench;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The floor under {@link ColdStartProbe}: the authorizer's request done with the JDK alone, as an SDK-free handler
 * would do it at the least. It finds the bearer token in the event by a string search (no JSON parser), hashes it,
 * sends one SigV4-signed DynamoDB GetItem for the key's lookup row over {@link HttpURLConnection} and reads the
 * response's bytes without parsing them; it prints the same result line as the other probes. Not a client: there
 * are no retries, no error mapping and no JSON; whatever a real handler adds comes on top of this.
 * It must not call into ColdStartProbe, whose verification would load the Lambda classes that one refers to.
 */
public final class JdkOnlyProbe {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    public static void main(String[] args) throws Exception {
        long mainAt = System.currentTimeMillis();
        String event = Files.readString(Path.of(args[0]));
        int bearer = event.indexOf("Bearer ");
        String token = event.substring(bearer + 7, event.indexOf('"', bearer));
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        String keyHash = hex(sha256.digest(token.getBytes(StandardCharsets.UTF_8)));
        String body = "{\"TableName\":\"" + System.getenv("TABLE_CORE") + "\",\"Key\":{\"pk\":{\"S\":\"KEYHASH#" + keyHash
                + "\"},\"sk\":{\"S\":\"KEYHASH\"}},\"ConsistentRead\":false}";
        int status = post(URI.create(System.getenv("DYNAMODB_ENDPOINT") + "/"), "DynamoDB_20120810.GetItem",
                body.getBytes(StandardCharsets.UTF_8), sha256);
        long respondedAt = System.currentTimeMillis();
        long classes = ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        System.out.println("COLDSTART " + mainAt + " " + mainAt + " " + mainAt + " " + respondedAt + " " + classes
                + " " + (status == 200 ? "ok" : "status-" + status));
    }

    /** One POST signed with SigV4 (credentials and region from the environment, as Lambda sets them). */
    private static int post(URI endpoint, String target, byte[] body, MessageDigest sha256) throws Exception {
        String region = System.getenv("AWS_REGION");
        var now = LocalDateTime.now(ZoneOffset.UTC);
        String day = pad(now.getYear(), 4) + pad(now.getMonthValue(), 2) + pad(now.getDayOfMonth(), 2);
        String amzDate = day + "T" + pad(now.getHour(), 2) + pad(now.getMinute(), 2) + pad(now.getSecond(), 2) + "Z";
        String host = endpoint.getPort() < 0 ? endpoint.getHost() : endpoint.getHost() + ":" + endpoint.getPort();
        String signedHeaders = "content-type;host;x-amz-date;x-amz-target";
        String canonicalRequest = "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:" + host + "\nx-amz-date:"
                + amzDate + "\nx-amz-target:" + target + "\n\n" + signedHeaders + "\n" + hex(sha256.digest(body));
        String scope = day + "/" + region + "/dynamodb/aws4_request";
        String stringToSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n"
                + hex(sha256.digest(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
        byte[] key = ("AWS4" + System.getenv("AWS_SECRET_ACCESS_KEY")).getBytes(StandardCharsets.UTF_8);
        for (String part : new String[]{day, region, "dynamodb", "aws4_request"}) key = hmac(key, part);
        String signature = hex(hmac(key, stringToSign));

        var connection = (HttpURLConnection) endpoint.toURL().openConnection();
        connection.setRequestMethod("POST");
        connection.setDoOutput(true);
        connection.setRequestProperty("content-type", "application/x-amz-json-1.0");
        connection.setRequestProperty("x-amz-date", amzDate);
        connection.setRequestProperty("x-amz-target", target);
        connection.setRequestProperty("authorization", "AWS4-HMAC-SHA256 Credential=" + System.getenv("AWS_ACCESS_KEY_ID")
                + "/" + scope + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature);
        String sessionToken = System.getenv("AWS_SESSION_TOKEN"); // Lambda's credentials are temporary; not set here
        if (sessionToken != null) connection.setRequestProperty("x-amz-security-token", sessionToken);
        try (OutputStream out = connection.getOutputStream()) {
            out.write(body);
        }
        int status = connection.getResponseCode();
        try (InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
            in.readAllBytes();
        }
        return status;
    }

    private static byte[] hmac(byte[] key, String data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    private static String hex(byte[] bytes) {
        char[] chars = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            chars[2 * i] = HEX[(bytes[i] >> 4) & 15];
            chars[2 * i + 1] = HEX[bytes[i] & 15];
        }
        return new String(chars);
    }

    private static String pad(int value, int width) {
        String digits = Integer.toString(value);
        return "0".repeat(Math.max(0, width - digits.length())) + digits;
    }
}
