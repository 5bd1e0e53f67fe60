package groupmsg.carrier;

import groupmsg.platform.Log;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.json.Json;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@link CarrierPort} over Twilio's REST Messages API ({@code POST /2010-04-01/Accounts/{sid}/Messages.json},
 * form-encoded, HTTP basic auth with the account SID and auth token; lookups read {@code GET} of the same list). The local runtime points
 * {@link CarrierSettings#apiBaseUrl()} at its emulator, which speaks the same API.
 *
 * <p>One {@link HttpClient} per instance (HTTP/1.1; 2 s to connect, 10 s per request), built on the first send
 * or in {@link #prime()}: building it loads about 1,200 JDK classes and took 160-190 ms of a fresh JVM here,
 * which the init of a function that never sends (a webhook only checking signatures) should not pay. The auth
 * token is only ever put in the Authorization header, never logged.
 */
public final class TwilioCarrier implements CarrierPort {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /** Twilio: the recipient replied STOP (or is otherwise unsubscribed from this sender). */
    public static final String ERROR_UNSUBSCRIBED_RECIPIENT = "21610";
    /** Twilio: too many requests. */
    public static final String ERROR_TOO_MANY_REQUESTS = "20429";
    /**
     * Twilio: the From number's queue is full (its sends outrun what the number may send; the queue drains at that
     * rate). Turned away, as 20429 is: tried again after a while. Taken for the sender's refusal, it paged as a broken
     * sender and held the job's recipients back for the queue's visibility timeout.
     */
    static final String ERROR_FROM_QUEUE_FULL = "21611";
    /**
     * Twilio's refusals of the sender rather than the recipient: 20003 authentication failed, 20005 account not
     * active, 20404 account (resource) not found, 21212 invalid From, 21660 From not a number of this account, 21601
     * and 21661 From not a number that can send SMS. (HTTP 401, 403 and 404 say the same whatever the code.)
     */
    static final Set<String> SENDER_REFUSALS = Set.of("20003", "20005", "20404", "21212", "21601", "21660", "21661");

    /**
     * Twilio's "From is not a message-capable Twilio number, or a short code sending to another country": from a
     * short code, a refusal of that recipient alone (held back as the sender's, it would stop its job's other sends at
     * every return, for good); from any other line, the sender's (a number not on the Twilio account, or not able to
     * text), which failed every recipient of a broadcast for good where they should wait, queued, for it to be mended.
     */
    static final Set<String> SENDER_OR_SHORT_CODE_COUNTRY_REFUSALS = Set.of("21606", "21659");

    private final Lazy<HttpClient> http;
    private final URI messagesUri;
    private final String accountSid;
    private final String authorization;
    private final Duration requestTimeout;

    public TwilioCarrier(CarrierSettings settings) {
        this(settings, REQUEST_TIMEOUT);
    }

    /** With another per-request timeout (tests). */
    TwilioCarrier(CarrierSettings settings, Duration requestTimeout) {
        Objects.requireNonNull(settings, "settings");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        requireText(settings.apiBaseUrl(), "apiBaseUrl");
        requireText(settings.accountSid(), "accountSid");
        requireText(settings.authToken(), "authToken");
        String base = settings.apiBaseUrl().endsWith("/")
                ? settings.apiBaseUrl().substring(0, settings.apiBaseUrl().length() - 1)
                : settings.apiBaseUrl();
        this.accountSid = settings.accountSid();
        this.messagesUri = URI.create(base + "/2010-04-01/Accounts/"
                + URLEncoder.encode(settings.accountSid(), StandardCharsets.UTF_8) + "/Messages.json");
        this.authorization = "Basic " + Base64.getEncoder().encodeToString(
                (settings.accountSid() + ":" + settings.authToken()).getBytes(StandardCharsets.UTF_8));
        this.http = new Lazy<>(() -> HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build());
    }

    /** Builds the HTTP client and a request like a send's; sends nothing (a send has effects and costs). */
    @Override
    public void prime() {
        http.get();
        request(new OutboundMessage("+10000000000", "+10000000001", "priming", List.of(), null));
    }

    /** Whether the HTTP client has been built (for tests). */
    public boolean httpClientBuilt() {
        return http.built();
    }

    @Override
    public SendResult send(OutboundMessage message) {
        Objects.requireNonNull(message, "message");
        HttpRequest request = request(message);
        HttpResponse<String> response;
        try {
            response = http.get().send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("carrier request failed: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new InterruptedIOException("interrupted while calling the carrier"));
        }
        return interpret(response.statusCode(), response.body(), message.from());
    }

    /** Messages read per page of a lookup. */
    static final int LOOKUP_PAGE_SIZE = 50;
    /** Pages a lookup reads at most: a number texted more than this often within the window is not settled by it. */
    static final int LOOKUP_MAX_PAGES = 4;
    /**
     * Per page of a lookup: maintenance looks rows up one after another within its 30 s budget of a 60 s function, so
     * a lookup started at the budget's end must still end in time (4 pages of 3 s).
     */
    static final Duration LOOKUP_PAGE_TIMEOUT = Duration.ofSeconds(3);
    /** The longest a lookup takes: every page it may read, each to its timeout. */
    public static final Duration LONGEST_LOOKUP = LOOKUP_PAGE_TIMEOUT.multipliedBy(LOOKUP_MAX_PAGES);
    /** The longest a lookup by id ({@link #findById}) takes: one GET. */
    public static final Duration LONGEST_LOOKUP_BY_ID = LOOKUP_PAGE_TIMEOUT;

    /**
     * How far the carrier's clock may be behind ours: a message created this long before its claim (by the carrier's
     * clock) could still be the one sent for it.
     */
    static final Duration CARRIER_CLOCK_SKEW = Duration.ofSeconds(5);

    /** What Twilio puts before every message body a trial account sends. */
    static final String TRIAL_PREFIX = "Sent from your Twilio trial account - ";

    /**
     * Reads {@code GET Messages.json?To=&From=&PageSize=} page after page. Twilio lists newest first by send date, so
     * once a page holds a message sent before the window the next pages hold none created in it (a message is created
     * before it is sent); a message still unsent has no send date and keeps the reading going. No {@code DateSent}
     * filter: it would leave such a message out.
     * <p>
     * The window starts at the claim's second (a send follows its claim) and ends at {@code sentBy}. Found only for
     * exactly one message in it with exactly this body (a trial account's prefix aside). Doubt, never not found:
     * <ul>
     *   <li>the same text created in the {@link #CARRIER_CLOCK_SKEW} before the claim (an earlier message with this
     *       text, or this one under a carrier clock a little behind ours: which, cannot be told);</li>
     *   <li>two with this text in the window (two groups got one announcement);</li>
     *   <li>a text in the window that holds this one or is held in it, spacing aside (this one changed on the way);</li>
     *   <li>a date that cannot be read, or more pages than it reads;</li>
     *   <li>a message in the window with a masked number or no text (an account that redacts them).</li>
     * </ul>
     * Other texts to the number (a conversation's other relays) are not this one. A resend follows only from not found,
     * so doubt never sends twice.
     */
    @Override
    public SentLookup findSent(SentLookup.Query query) {
        Objects.requireNonNull(query, "query");
        URI page = URI.create(messagesUri + "?To=" + URLEncoder.encode(query.to(), StandardCharsets.UTF_8)
                + "&From=" + URLEncoder.encode(query.from(), StandardCharsets.UTF_8) + "&PageSize=" + LOOKUP_PAGE_SIZE);
        // in the carrier's whole seconds
        Instant claimSecond = query.claimedAt().truncatedTo(ChronoUnit.SECONDS);
        Instant from = claimSecond.minus(CARRIER_CLOCK_SKEW);
        List<SentLookup.Found> matches = new ArrayList<>();
        int doubtful = 0;
        for (int read = 0; read < LOOKUP_MAX_PAGES; read++) {
            Read got = read(page);
            if (got.failure() != null) return got.failure();
            HttpResponse<String> response = got.response();
            if (response.statusCode() != 200) {
                Log.warn("carrier_lookup_refused", answerFields(response.statusCode(), codeOf(parseQuietly(response.body()), response.statusCode())));
                return new SentLookup.Unanswered("carrier answered " + response.statusCode(), true);
            }
            Map<String, Object> json = parseQuietly(response.body());
            if (!(json.get("messages") instanceof List<?> messages)) {
                return new SentLookup.Unanswered("carrier answered without a message list", true);
            }
            boolean sentBeforeTheWindow = false;
            for (Object item : messages) {
                if (!(item instanceof Map<?, ?> m)) return new SentLookup.Unanswered("carrier listed something else than a message", false);
                Instant created = carrierTime(m.get("date_created"));
                Instant sent = m.get("date_sent") == null ? null : carrierTime(m.get("date_sent"));
                if (created == null || (m.get("date_sent") != null && sent == null)) {
                    return new SentLookup.Unanswered("carrier listed a message with a date that cannot be read", false);
                }
                if (sent != null && sent.isBefore(from)) sentBeforeTheWindow = true;
                if (created.isBefore(from) || created.isAfter(query.sentBy())) continue;
                String body = m.get("body") instanceof String b ? withoutTrialPrefix(b) : "";
                if (!query.to().equals(m.get("to")) || !query.from().equals(m.get("from")) || body.isEmpty()) {
                    // listed for this filter yet not its numbers, or without a text (our texts never are, but a picture
                    // alone, which a bodiless listing cannot be told from: another picture alone, or a redacted text
                    // with one): the account redacts numbers or bodies (Twilio's Phone Number / Message Body
                    // Redaction), and it may be this one: taken for not found, it was sent a second time
                    doubtful++;
                } else if (body.equals(query.body()) && created.isBefore(claimSecond)) {
                    doubtful++;
                } else if (body.equals(query.body()) && m.get("sid") instanceof String sid && !sid.isBlank()) {
                    matches.add(new SentLookup.Found(sid, m.get("status") instanceof String st ? st : "queued",
                            m.get("error_code") == null ? null : codeText(m.get("error_code"))));
                } else if (nearly(body, query.body())) {
                    doubtful++;
                }
            }
            String next = json.get("next_page_uri") instanceof String n && !n.isBlank() ? n : null;
            if (sentBeforeTheWindow || next == null) {
                if (doubtful > 0) {
                    return new SentLookup.Unanswered(doubtful + " message(s) to the number that may be this one", false);
                }
                if (matches.size() > 1) {
                    return new SentLookup.Unanswered(matches.size() + " messages with this text in the window", false);
                }
                return matches.isEmpty() ? new SentLookup.NotFound() : matches.getFirst();
            }
            page = messagesUri.resolve(next);
        }
        return new SentLookup.Unanswered("more than " + LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE
                + " messages to the number since the window", false);
    }

    /**
     * Reads {@code GET Messages/{sid}.json}: Found with the message's status now (and its error code, if failed);
     * NotFound for a 404 (no such message, or deleted since); otherwise Unanswered, with the carrier failing.
     */
    @Override
    public SentLookup findById(String carrierMessageId) {
        requireText(carrierMessageId, "carrierMessageId");
        String resource = messagesUri.toString();
        URI uri = URI.create(resource.substring(0, resource.length() - ".json".length()) + "/"
                + URLEncoder.encode(carrierMessageId, StandardCharsets.UTF_8) + ".json");
        Read got = read(uri);
        if (got.failure() != null) return got.failure();
        int status = got.response().statusCode();
        Map<String, Object> json = parseQuietly(got.response().body());
        if (status == 404) return new SentLookup.NotFound();
        if (status != 200) {
            Log.warn("carrier_lookup_refused", answerFields(status, codeOf(json, status)));
            return new SentLookup.Unanswered("carrier answered " + status, true);
        }
        if (!(json.get("status") instanceof String now) || now.isBlank()) {
            return new SentLookup.Unanswered("carrier answered without a status", true);
        }
        return new SentLookup.Found(json.get("sid") instanceof String sid && !sid.isBlank() ? sid : carrierMessageId, now,
                json.get("error_code") == null ? null : codeText(json.get("error_code")));
    }

    /** A lookup's GET: its answer, or why there is none (the carrier failing). */
    private record Read(HttpResponse<String> response, SentLookup.Unanswered failure) {}

    /** GETs a resource of the API, within {@link #LOOKUP_PAGE_TIMEOUT}. */
    private Read read(URI uri) {
        try {
            Duration timeout = requestTimeout.compareTo(LOOKUP_PAGE_TIMEOUT) < 0 ? requestTimeout : LOOKUP_PAGE_TIMEOUT;
            return new Read(http.get().send(HttpRequest.newBuilder(uri).timeout(timeout)
                    .header("Authorization", authorization).header("Accept", "application/json").GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)), null);
        } catch (IOException e) {
            return new Read(null, new SentLookup.Unanswered("carrier request failed: " + e.getClass().getSimpleName(), true));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Read(null, new SentLookup.Unanswered("interrupted while asking the carrier", true));
        }
    }

    /**
     * Whether one text holds the other and is at most a fifth longer, line endings and runs of spaces aside: this text
     * with a little added or taken away on the way. Not a short text inside a long one ("ok" in most replies).
     */
    static boolean nearly(String a, String b) {
        String x = spacing(a);
        String y = spacing(b);
        String shorter = x.length() <= y.length() ? x : y;
        String longer = shorter == x ? y : x;
        return !shorter.isEmpty() && longer.contains(shorter) && shorter.length() * 5 >= longer.length() * 4;
    }

    private static String spacing(String text) {
        return text.replace("\r\n", "\n").strip().replaceAll("\\s+", " ");
    }

    private static String withoutTrialPrefix(String body) {
        return body.startsWith(TRIAL_PREFIX) ? body.substring(TRIAL_PREFIX.length()) : body;
    }

    /** Twilio's RFC 2822 time ({@code "Thu, 03 Dec 2026 07:41:57 +0000"}), or null. */
    private static Instant carrierTime(Object value) {
        if (!(value instanceof String text)) return null;
        try {
            return ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private HttpRequest request(OutboundMessage message) {
        return HttpRequest.newBuilder(messagesUri)
                .timeout(requestTimeout)
                .header("Authorization", authorization)
                .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(formBody(message), StandardCharsets.UTF_8))
                .build();
    }

    /** Whether a send's From is a short code (its digits: every other line is in E.164, with its "+"). */
    static boolean fromShortCode(String from) {
        return from != null && !from.startsWith("+");
    }

    /** The form body: To, From, Body, each MediaUrl, StatusCallback (skipping absent values). */
    static String formBody(OutboundMessage message) {
        StringBuilder form = new StringBuilder();
        field(form, "To", message.to());
        field(form, "From", message.from());
        // a picture alone goes without a body (Twilio needs one only where no MediaUrl is given)
        field(form, "Body", message.body() == null || message.body().isEmpty() && !message.mediaUrls().isEmpty()
                ? null : message.body());
        for (String mediaUrl : message.mediaUrls()) field(form, "MediaUrl", mediaUrl);
        field(form, "StatusCallback", message.statusCallbackUrl());
        return form.toString();
    }

    private static void field(StringBuilder form, String name, String value) {
        if (value == null) return;
        if (!form.isEmpty()) form.append('&');
        form.append(URLEncoder.encode(name, StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }

    private SendResult interpret(int status, String body, String from) {
        Map<String, Object> json = parseQuietly(body);
        if (status == 200 || status == 201) {
            Object sid = json.get("sid");
            if (!(sid instanceof String s) || s.isBlank()) {
                // Accepted by status code, but no id: treat like a cut-off answer (may or may not have been sent).
                throw new UncheckedIOException(new IOException("carrier answered " + status + " without a message sid"));
            }
            Object initial = json.get("status");
            return new SendResult.Accepted(s, initial instanceof String st ? st : "queued");
        }
        String code = codeOf(json, status);
        Object rawMessage = json.get("message");
        String message = rawMessage instanceof String m && !m.isBlank() ? m : "HTTP " + status;
        // Turned away before the carrier acted on it (rate or concurrency limit, service unavailable): certainly not
        // sent, safe to try again.
        boolean turnedAway = status == 429 || status == 503 || ERROR_TOO_MANY_REQUESTS.equals(code)
                || ERROR_FROM_QUEUE_FULL.equals(code);
        // A 408 comes from something on the way (our client gives up first on Twilio's own slowness), which may have
        // passed the request on before it timed out: unclear too (before, the recipient was failed for good).
        if (!turnedAway && (status >= 500 || status < 300 || status == 408)) {
            // Any other 5xx, or a success other than 200/201: the message may have been created. Twilio's own advice
            // (error 20500): a POST that sends an SMS and answers 500 may have sent it, and retrying can send it
            // twice. Treated like a cut-off answer: the receipt or maintenance settles it, and it is never resent.
            Log.warn("carrier_answer_unclear", answerFields(status, code));
            throw new UncheckedIOException(new IOException("carrier answered " + status + " (" + code + "): the message may have been sent"));
        }
        boolean optedOut = ERROR_UNSUBSCRIBED_RECIPIENT.equals(code);
        // A redirect (never followed) says the API base URL is wrong: the setup's fault, as a bad credential is, not
        // the recipient's; failing each recipient for it failed every message in flight.
        boolean redirected = status >= 300 && status < 400;
        boolean senderRefused = !turnedAway && (redirected || status == 401 || status == 403 || status == 404
                || SENDER_REFUSALS.contains(code)
                || SENDER_OR_SHORT_CODE_COUNTRY_REFUSALS.contains(code) && !fromShortCode(from));
        if (status != 429) {
            // Throttling is ordinary flow control under load; everything else is worth a line (never the token).
            Map<String, Object> fields = answerFields(status, code);
            fields.put("retryable", turnedAway);
            fields.put("senderRefused", senderRefused);
            Log.info("carrier_rejected", fields);
        }
        return new SendResult.Rejected(status, code, message, turnedAway, optedOut, senderRefused);
    }

    /** What a log line says of a carrier's answer (never the token). */
    private Map<String, Object> answerFields(int status, String code) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("accountSid", accountSid);
        fields.put("httpStatus", status);
        fields.put("errorCode", code);
        return fields;
    }

    /** Twilio's error code of an answer, or its HTTP status where it has none. */
    private static String codeOf(Map<String, Object> json, int status) {
        return json.get("code") == null ? String.valueOf(status) : codeText(json.get("code"));
    }

    private static String codeText(Object code) {
        if (code instanceof Number n) return String.valueOf(n.longValue());
        return String.valueOf(code);
    }

    private static Map<String, Object> parseQuietly(String body) {
        if (body == null || body.isBlank()) return Map.of();
        try {
            return Json.parseObject(body);
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    private static void requireText(String value, String name) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException("carrier " + name + " is required");
    }

    @Override
    public String toString() {
        return "TwilioCarrier[" + messagesUri + "]";
    }
}
