package groupmsg.local.carrier;

import com.fasterxml.jackson.jr.ob.JSON;
import groupmsg.carrier.CarrierSettings;
import groupmsg.groups.PhoneNumbers;
import groupmsg.inbound.Keywords;
import groupmsg.lines.LineRules;
import groupmsg.local.GatewayRequest;
import groupmsg.local.GatewayResponse;
import groupmsg.local.HttpGateway;
import groupmsg.messages.SmsText;
import groupmsg.platform.api.Timestamps;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The local runtime's carrier: speaks Twilio's REST and webhook dialect so that the production adapter
 * ({@link groupmsg.carrier.TwilioCarrier}) is what runs locally (DESIGN.md, "Carriers"; API.md, "Local runtime").
 *
 * <ul>
 *   <li>{@code POST /2010-04-01/Accounts/{sid}/Messages.json}: form-encoded, HTTP basic auth with
 *       {@link #ACCOUNT_SID} and the runtime's {@code TWILIO_AUTH_TOKEN}; validates like Twilio (errors as Twilio's
 *       JSON {@code {code, message, more_info, status}}); enforces each sender's rate, in segments, over a sliding
 *       second (HTTP 429, code 20429, past it: {@link SlidingWindowLimiter}); answers 201 with Twilio's message resource. {@code GET .../Messages/{sid}.json} and
 *       {@code GET .../Messages.json} read back what was sent.</li>
 *   <li>After accepting, delivers on a virtual thread: about {@link Settings#callbackDelay()} later the message is
 *       {@code sent}, then {@link Settings#deliveredDelay()} later {@code delivered}; each change is POSTed, signed,
 *       to its {@code StatusCallback}.</li>
 *   <li>Twilio's magic "To" and "From" numbers of its test credentials are refused as Twilio refuses them
 *       ({@link #MAGIC_REFUSALS}, {@link #MAGIC_FROM_REFUSALS}), and a few numbers of the same range fail after the send as a landline, a number
 *       that does not exist or a phone switched off would ({@link #FAILING_NUMBERS}: {@code undelivered} with its
 *       {@code ErrorCode}), as a sender not registered for the traffic ({@code failed}, never sent), or as a
 *       recipient that unsubscribed while a Messaging Service held the message ({@code failed}, 21610), so what
 *       follows such failures can be tried locally; and, as Twilio's loop guard fails them, the message that takes a
       chain of quick ones between two numbers past 30 and those of the 30 s after it ({@link LoopGuard}: 14107).</li>
 *   <li>{@code GET /local/carrier/messages?to=&from=}: what it was asked to send, oldest first (and, apart, what
 *       the network answered by itself: {@link CarrierReply}).</li>
 *   <li>{@code POST /local/carrier/inbound {from, to, body, mediaUrls?}} -> 202, then a signed inbound webhook to the
 *       public base URL's {@code /webhooks/twilio/inbound}. A STOP or START to a US toll-free number is also
 *       answered as the network answers it.</li>
 * </ul>
 *
 * Webhooks are signed over the URL exactly as configured (the public base URL); a URL under the public base URL
 * is delivered to the runtime's own address, as a tunnel or proxy in front of it would.
 */
public final class CarrierEmulator implements AutoCloseable {
    /** The emulated account (Twilio's shape: "AC" and 32 hex digits). */
    public static final String ACCOUNT_SID = "AC00000000000000000000000000000000";
    public static final String API_VERSION = "2010-04-01";
    /** Every path of the REST API starts with this. */
    public static final String REST_PREFIX = "/" + API_VERSION + "/";
    public static final String INBOUND_WEBHOOK_PATH = "/webhooks/twilio/inbound";

    /** Twilio's magic "To" numbers (test credentials): refused at the send, with Twilio's code and words. */
    static final Map<String, TwilioRefusal> MAGIC_REFUSALS = Map.of(
            "+15005550001", new TwilioRefusal(21211, "The 'To' number +15005550001 is not a valid phone number."),
            "+15005550002", new TwilioRefusal(21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS."),
            "+15005550003", new TwilioRefusal(21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003."),
            "+15005550004", new TwilioRefusal(21610, "Attempt to send to unsubscribed recipient"),
            "+15005550009", new TwilioRefusal(21614, "'To' number is not a valid mobile number"));

    /**
     * Twilio's magic "From" numbers (test credentials): a line with one of these numbers is refused at every send, as
     * Twilio refuses a From that is not the account's or cannot text, so the refusal of the sender (every recipient
     * kept queued, {@code carrier_refused_sender}) can be tried locally.
     */
    static final Map<String, TwilioRefusal> MAGIC_FROM_REFUSALS = Map.of(
            "+15005550001", new TwilioRefusal(21212, "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID."),
            "+15005550007", new TwilioRefusal(21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account."),
            "+15005550008", new TwilioRefusal(21611, "This 'From' number has exceeded the maximum number of queued messages."));

    /** A refusal as Twilio words it. */
    record TwilioRefusal(int code, String message) {}

    /** How a message to one of {@link #FAILING_NUMBERS} ends: its final status and Twilio's {@code ErrorCode}. */
    public record Failure(String status, String errorCode) {}

    /**
     * The emulator's own: numbers accepted, then {@code undelivered} with this {@code ErrorCode} instead of
     * {@code delivered} (30006 landline or unreachable carrier, 30005 unknown handset, 30003 unreachable handset),
     * or {@code failed} without being sent, as Twilio fails a sender not registered for US traffic (30034 a long
     * code outside an A2P 10DLC campaign, 30032 a toll-free number not verified; not billed), or a recipient that
     * unsubscribed when a Messaging Service had queued the message (21610 in the callback, not at the send).
     */
    public static final Map<String, Failure> FAILING_NUMBERS = Map.of(
            "+15005550030", new Failure("undelivered", "30006"), "+15005550031", new Failure("undelivered", "30005"),
            "+15005550032", new Failure("undelivered", "30003"),
            "+15005550033", new Failure("failed", "30034"), "+15005550034", new Failure("failed", "30032"),
            "+15005550035", new Failure("failed", "21610"));

    static final int MAX_BODY_CHARS = 1600;
    static final int MAX_MEDIA = 10;
    private static final Pattern MESSAGES_PATH =
            Pattern.compile("^/2010-04-01/Accounts/([^/]+)/Messages(?:/([^/]+))?\\.json$");
    /** The short codes a line may have (carriers' go from 3 digits to 8, by country): the emulator sends from any. */
    private static final Pattern SHORT_CODE = Pattern.compile("^[0-9]{" + groupmsg.lines.LineRules.MIN_SHORT_CODE_DIGITS
            + "," + groupmsg.lines.LineRules.MAX_SHORT_CODE_DIGITS + "}$");
    private static final DateTimeFormatter RFC_2822 =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss Z", Locale.US).withZone(ZoneOffset.UTC);
    private static final JSON JSON_OUT = JSON.std.with(JSON.Feature.WRITE_NULL_PROPERTIES);

    /**
     * @param publicBaseUrl the URL the app's webhooks are signed over ({@code PUBLIC_BASE_URL})
     * @param localBaseUrl  where the runtime itself listens ({@code http://127.0.0.1:<port>}): the REST API's base URL,
     *                      and where webhooks to the public base URL are actually delivered
     * @param callbackDelay how long after acceptance a message is "sent" (then {@link #deliveredDelay()} until "delivered")
     */
    public record Settings(String accountSid, String authToken, String publicBaseUrl, String localBaseUrl,
                           Duration callbackDelay) {
        public Settings {
            Objects.requireNonNull(accountSid, "accountSid");
            if (authToken == null || authToken.isEmpty()) throw new IllegalArgumentException("authToken is required");
            Objects.requireNonNull(localBaseUrl, "localBaseUrl");
            publicBaseUrl = publicBaseUrl == null ? localBaseUrl : stripSlash(publicBaseUrl);
            localBaseUrl = stripSlash(localBaseUrl);
            callbackDelay = callbackDelay == null ? Duration.ofMillis(100) : callbackDelay;
        }

        public Settings(String authToken, String publicBaseUrl, String localBaseUrl) {
            this(ACCOUNT_SID, authToken, publicBaseUrl, localBaseUrl, null);
        }

        /**
         * How long after "sent" a message is "delivered": ten times the callback delay (a second by default), as a
         * handset's delivery report takes much longer than the carrier's own acceptance.
         */
        public Duration deliveredDelay() {
            return callbackDelay.multipliedBy(10);
        }

        /** What the production adapter needs to talk to the emulator: the local base URL, account and token. */
        public CarrierSettings carrierSettings() {
            return new CarrierSettings(localBaseUrl, accountSid, authToken);
        }

        @Override
        public String toString() {
            return "Settings[accountSid=" + accountSid + ", authToken=***, publicBaseUrl=" + publicBaseUrl
                    + ", localBaseUrl=" + localBaseUrl + ", callbackDelay=" + callbackDelay + "]";
        }

        private static String stripSlash(String url) {
            return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        }
    }

    private final Settings settings;
    private final SenderRates rates;
    private final Clock clock;
    private final SlidingWindowLimiter limiter;
    private final LoopGuard loops = new LoopGuard();
    private final WebhookSender webhooks;
    private final ExecutorService deliveries = Executors.newVirtualThreadPerTaskExecutor();
    private final byte[] expectedAuthorization;

    private final List<EmulatedMessage> messages = new ArrayList<>();
    private final Map<String, EmulatedMessage> messagesBySid = new ConcurrentHashMap<>();
    private final List<Rejection> rejections = new ArrayList<>();
    private final List<EmulatedInbound> inbound = new ArrayList<>();
    /** Where accepted messages are kept across restarts; null in memory ({@link #keepMessagesIn}). */
    private volatile CarrierJournal journal;

    /** A create request the emulator refused (kept for counting). */
    public record Rejection(String from, String to, int httpStatus, int code, Instant at) {}

    /**
     * A text the network itself sent, not one it was asked to send: a US toll-free number's STOP and START are
     * answered at the carrier level, which no business can turn off or reword (the application records the opt-out
     * and sends no reply of its own there). Listed apart from the messages, under {@code carrierReplies}.
     */
    public record CarrierReply(String from, String to, String body, Instant at) {}

    static final String TOLL_FREE_STOP_REPLY = "NETWORK MSG: You replied with the word \"stop\" which blocks all texts sent"
            + " from this number. Text back \"unstop\" to receive messages again.";
    static final String TOLL_FREE_START_REPLY = "NETWORK MSG: You have replied \"unstop\" and will begin receiving messages"
            + " again from this number.";

    private final List<CarrierReply> carrierReplies = new ArrayList<>();

    public CarrierEmulator(Settings settings, SenderRates rates, Clock clock) {
        this(settings, rates, clock, System::nanoTime);
    }

    CarrierEmulator(Settings settings, SenderRates rates, Clock clock, LongSupplier nanoTime) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.rates = Objects.requireNonNull(rates, "rates");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.limiter = new SlidingWindowLimiter(nanoTime);
        this.webhooks = new WebhookSender(settings.authToken(), this::deliveryUrl);
        this.expectedAuthorization = ("Basic " + Base64.getEncoder().encodeToString(
                (settings.accountSid() + ":" + settings.authToken()).getBytes(StandardCharsets.UTF_8)))
                .getBytes(StandardCharsets.UTF_8);
    }

    /** What the production adapter needs to talk to this emulator. */
    public CarrierSettings carrierSettings() {
        return settings.carrierSettings();
    }

    public Settings settings() {
        return settings;
    }

    /** The runtime's {@code /local/carrier/...} endpoints, keyed like {@link HttpGateway}'s local endpoints. */
    public Map<String, HttpGateway.LocalEndpoint> localRoutes() {
        return Map.of(
                "GET /local/carrier/messages", this::listForTools,
                "POST /local/carrier/inbound", this::receiveInbound);
    }

    /** The REST API, for {@link HttpGateway}'s prefix endpoints, keyed by {@link #REST_PREFIX}. */
    public Map<String, HttpGateway.LocalEndpoint> restRoutes() {
        return Map.of(REST_PREFIX, this::handleRestApi);
    }

    // ---------------------------------------------------------------- recorded traffic (tests and tools)

    /** Accepted messages, oldest first; null filters match everything. */
    public List<EmulatedMessage> messages(String to, String from) {
        return between(messages, to, from, EmulatedMessage::to, EmulatedMessage::from);
    }

    /** Refused create requests, oldest first; null filters match everything. */
    public List<Rejection> rejections(String to, String from) {
        return between(rejections, to, from, Rejection::to, Rejection::from);
    }

    /** The entries of a list guarded by its own monitor, to and from the given numbers (null: any). */
    private static <T> List<T> between(List<T> all, String to, String from, Function<T, String> toOf, Function<T, String> fromOf) {
        synchronized (all) {
            return all.stream()
                    .filter(e -> to == null || to.equals(toOf.apply(e)))
                    .filter(e -> from == null || from.equals(fromOf.apply(e)))
                    .toList();
        }
    }

    /** Inbound messages injected through {@code POST /local/carrier/inbound}, oldest first. */
    public List<EmulatedInbound> inboundMessages() {
        synchronized (inbound) {
            return List.copyOf(inbound);
        }
    }

    // ---------------------------------------------------------------- REST API

    public GatewayResponse handleRestApi(GatewayRequest request) {
        if (!authenticated(request)) {
            return twilioError(401, 20003, "Authenticate")
                    .withHeader("www-authenticate", "Basic realm=\"Twilio API\"");
        }
        Matcher path = MESSAGES_PATH.matcher(request.rawPath());
        if (!path.matches() || !path.group(1).equals(settings.accountSid())) {
            return twilioError(404, 20404, "The requested resource " + request.rawPath() + " was not found");
        }
        String messageSid = path.group(2);
        if (messageSid == null) {
            return switch (request.method()) {
                case "POST" -> create(request);
                case "GET" -> list(request);
                default -> twilioError(405, 20004, "Method not allowed");
            };
        }
        if (!request.method().equals("GET")) return twilioError(405, 20004, "Method not allowed");
        EmulatedMessage message = messagesBySid.get(messageSid);
        if (message == null) {
            return twilioError(404, 20404, "The requested resource " + request.rawPath() + " was not found");
        }
        return json(200, twilioResource(message));
    }

    private boolean authenticated(GatewayRequest request) {
        List<String> values = request.headerValues("authorization");
        if (values.size() != 1) return false;
        return MessageDigest.isEqual(expectedAuthorization, values.get(0).strip().getBytes(StandardCharsets.UTF_8));
    }

    private GatewayResponse create(GatewayRequest request) {
        Map<String, List<String>> form;
        try {
            String type = request.mediaType();
            form = type.isEmpty() || type.equals("application/x-www-form-urlencoded")
                    ? Form.parse(new String(request.body(), StandardCharsets.UTF_8))
                    : Map.of();
        } catch (IllegalArgumentException e) {
            return reject(null, null, twilioError(400, 20001, "Malformed form body"));
        }
        String to = Form.first(form, "To");
        String from = Form.first(form, "From");
        String body = Form.first(form, "Body");
        List<String> mediaUrls = form.getOrDefault("MediaUrl", List.of());
        String statusCallback = Form.first(form, "StatusCallback");
        to = to == null ? null : to.strip();
        from = from == null ? null : from.strip();

        GatewayResponse invalid = validate(to, from, body, mediaUrls, statusCallback);
        if (invalid != null) return reject(from, to, invalid);
        TwilioRefusal magic = MAGIC_FROM_REFUSALS.containsKey(from) ? MAGIC_FROM_REFUSALS.get(from) : MAGIC_REFUSALS.get(to);
        if (magic != null) return reject(from, to, twilioError(400, magic.code(), magic.message()));

        String text = body == null ? "" : body;
        int segments = Math.max(1, SmsText.of(text).segments());
        double mps = rates.mps(from);
        if (!limiter.tryAcquire(from, mps, mediaUrls.isEmpty() ? segments : 1)) {
            return reject(from, to, twilioError(429, 20429, "Too Many Requests"));
        }

        Instant at = clock.instant();
        var message = new EmulatedMessage("SM" + hex32(), from, to, text, mediaUrls,
                statusCallback == null || statusCallback.isBlank() ? null : statusCallback,
                segments, at, loops.failureOf(from, to, at.toEpochMilli()));
        CarrierJournal kept = journal;
        if (kept != null) {
            try {
                kept.accepted(message); // before answering: a sid answered is a message the carrier keeps
            } catch (IOException e) {
                EmulatorLog.warn("carrier_journal_write_failed", Map.of("sid", message.sid()), e);
                return reject(from, to, twilioError(503, 20503, "Service Unavailable"));
            }
        }
        remember(message);
        scheduleDelivery(message);
        return json(201, twilioResource(message));
    }

    private void remember(EmulatedMessage message) {
        synchronized (messages) {
            messages.add(message);
        }
        messagesBySid.put(message.sid(), message);
    }

    /**
     * Keeps what it accepts in {@code dataDir} ({@link CarrierJournal}) and takes back what an earlier run kept there:
     * those messages are listed and looked up again, and the ones not yet delivered go on to be, with their status
     * callbacks, as a real carrier's would after its client crashed. Call before serving. Returns how many it took back.
     */
    public int keepMessagesIn(Path dataDir) {
        var opened = CarrierJournal.open(CarrierJournal.pathIn(dataDir), clock.instant());
        for (EmulatedMessage m : opened.messages()) {
            remember(m);
            if (!isFinal(m.status())) scheduleDelivery(m);
        }
        if (opened.skippedLines() > 0) {
            EmulatorLog.warn("carrier_journal_lines_skipped", Map.of("lines", opened.skippedLines()), null);
        }
        journal = opened.journal();
        return opened.messages().size();
    }

    /** Twilio's checks, in Twilio's order; null when the request is fine. */
    private static GatewayResponse validate(String to, String from, String body, List<String> mediaUrls,
                                            String statusCallback) {
        if (to == null || to.isEmpty()) return twilioError(400, 21604, "A 'To' phone number is required.");
        if (from == null || from.isEmpty()) return twilioError(400, 21603, "A 'From' phone number is required.");
        boolean noMedia = mediaUrls.stream().allMatch(String::isBlank);
        if ((body == null || body.isEmpty()) && noMedia) return twilioError(400, 21602, "Message body is required.");
        if (!isE164(to)) return twilioError(400, 21211, "The 'To' number " + to + " is not a valid phone number.");
        if (!isE164(from) && !SHORT_CODE.matcher(from).matches()) {
            return twilioError(400, 21212, "The 'From' number " + from
                    + " is not a valid phone number, shortcode, or alphanumeric sender ID.");
        }
        if (to.equals(from)) return twilioError(400, 21266, "'To' and 'From' number cannot be the same: " + to);
        if (body != null && body.length() > MAX_BODY_CHARS) {
            return twilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
        }
        if (mediaUrls.size() > MAX_MEDIA) return twilioError(400, 21623, "Number of media files exceeds allowed limit");
        if (!mediaUrls.stream().allMatch(CarrierEmulator::isHttpUrl)) return twilioError(400, 21620, "Invalid media URL(s)");
        if (statusCallback != null && !statusCallback.isBlank()
                && (!isHttpUrl(statusCallback) || statusCallback.length() > 4000)) {
            return twilioError(400, 21609, "Invalid 'StatusCallback': " + statusCallback);
        }
        return null;
    }

    private GatewayResponse reject(String from, String to, GatewayResponse error) {
        int code = -1;
        try {
            if (JSON.std.anyFrom(error.bodyText()) instanceof Map<?, ?> map && map.get("code") instanceof Number n) {
                code = n.intValue();
            }
        } catch (IOException e) {
            // Our own JSON; cannot happen.
        }
        synchronized (rejections) {
            rejections.add(new Rejection(from, to, error.status(), code, clock.instant()));
        }
        return error;
    }

    /**
     * {@code GET .../Messages.json?To=&From=&PageSize=&Page=}: newest first, Twilio's list shape, a page at a time
     * ({@code next_page_uri} names the next one while there is one).
     */
    private GatewayResponse list(GatewayRequest request) {
        Map<String, String> query = Form.query(request.rawQuery());
        int pageSize = 50;
        int pageNumber = 0;
        try {
            if (query.containsKey("PageSize")) pageSize = Math.clamp(Integer.parseInt(query.get("PageSize")), 1, 1000);
            if (query.containsKey("Page")) pageNumber = Math.max(0, Integer.parseInt(query.get("Page")));
        } catch (NumberFormatException e) {
            return twilioError(400, 20001, "Invalid PageSize or Page");
        }
        String to = blankToNull(query.get("To"));
        String from = blankToNull(query.get("From"));
        List<EmulatedMessage> matching = new ArrayList<>(messages(to, from));
        java.util.Collections.reverse(matching);
        long skip = (long) pageNumber * pageSize;
        List<Map<String, Object>> page = matching.stream().skip(skip).limit(pageSize).map(this::twilioResource).toList();
        String uri = "/2010-04-01/Accounts/" + settings.accountSid() + "/Messages.json?"
                + (to == null ? "" : "To=" + encode(to) + "&") + (from == null ? "" : "From=" + encode(from) + "&")
                + "PageSize=" + pageSize;
        var response = new LinkedHashMap<String, Object>();
        response.put("messages", page);
        response.put("end", skip + Math.max(0, page.size() - 1));
        response.put("first_page_uri", uri + "&Page=0");
        response.put("next_page_uri", skip + page.size() < matching.size() ? uri + "&Page=" + (pageNumber + 1) : null);
        response.put("page", pageNumber);
        response.put("page_size", pageSize);
        response.put("previous_page_uri", pageNumber > 0 ? uri + "&Page=" + (pageNumber - 1) : null);
        response.put("start", skip);
        response.put("uri", uri + "&Page=" + pageNumber);
        return json(200, response);
    }

    private static String encode(String value) {
        return java.net.URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private Map<String, Object> twilioResource(EmulatedMessage m) {
        String uri = "/2010-04-01/Accounts/" + settings.accountSid() + "/Messages/" + m.sid();
        String status = m.status();
        var r = new LinkedHashMap<String, Object>();
        r.put("account_sid", settings.accountSid());
        r.put("api_version", API_VERSION);
        r.put("body", m.body());
        r.put("date_created", RFC_2822.format(m.createdAt()));
        r.put("date_sent", status.equals("queued") ? null : RFC_2822.format(m.updatedAt()));
        r.put("date_updated", RFC_2822.format(m.updatedAt()));
        r.put("direction", "outbound-api");
        String errorCode = errorCode(m, status);
        r.put("error_code", errorCode == null ? null : Integer.valueOf(errorCode));
        r.put("error_message", null);
        r.put("from", m.from());
        r.put("messaging_service_sid", null);
        r.put("num_media", String.valueOf(m.mediaUrls().size()));
        r.put("num_segments", String.valueOf(m.numSegments()));
        r.put("price", null);
        r.put("price_unit", "USD");
        r.put("sid", m.sid());
        r.put("status", status);
        r.put("subresource_uris", Map.of("media", uri + "/Media.json"));
        r.put("to", m.to());
        r.put("uri", uri + ".json");
        return r;
    }

    // ---------------------------------------------------------------- delivery and status callbacks

    private void scheduleDelivery(EmulatedMessage message) {
        try {
            runCounted(() -> deliver(message));
        } catch (RejectedExecutionException e) {
            // Shutting down: the message stays queued.
        }
    }

    private final AtomicInteger pendingWork = new AtomicInteger();

    /** Runs on a delivery thread, counted from the moment it is handed over until it is done, for {@link #idle()}. */
    private void runCounted(Runnable work) {
        pendingWork.incrementAndGet();
        try {
            deliveries.execute(() -> {
                try {
                    work.run();
                } finally {
                    pendingWork.decrementAndGet();
                }
            });
        } catch (RejectedExecutionException e) {
            pendingWork.decrementAndGet();
            throw e;
        }
    }

    /**
     * Whether no message waits for its status callbacks and no inbound text for its webhook; a test's "nothing
     * more happens" check waits for this (see LocalRuntime#awaitIdle).
     */
    public boolean idle() {
        return pendingWork.get() == 0;
    }

    private void deliver(EmulatedMessage message) {
        try {
            String end = finalStatus(message);
            // a message Twilio fails is never sent: "failed" is its one change
            for (String status : "failed".equals(end) ? List.of(end) : List.of("sent", end)) {
                if (message.statusHistory().contains(status)) continue; // taken back from the journal past it
                // Twilio fails an unregistered sender's message at once, as soon as it would have been sent
                Thread.sleep("delivered".equals(status) || "undelivered".equals(status) ? settings.deliveredDelay()
                        : settings.callbackDelay());
                Instant at = clock.instant();
                message.status(status, at);
                int answered = message.statusCallback() == null ? 200
                        : webhooks.postLogged("status", message.statusCallback(), statusParams(message, status), message.sid());
                // kept after its callback was taken: a kill between the two, or a callback refused or unanswered (the
                // runtime stopping), sends it again on the next start (a receipt applied twice changes nothing),
                // where the other way round it was never sent
                CarrierJournal kept = journal;
                if (kept != null && answered >= 200 && answered < 300) {
                    try {
                        kept.statusChanged(message, status, at);
                    } catch (IOException e) {
                        EmulatorLog.warn("carrier_journal_write_failed", Map.of("sid", message.sid()), e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Where a message's delivery ends: {@code delivered}, or its own failure's status, or its {@link #FAILING_NUMBERS}'. */
    private static String finalStatus(EmulatedMessage m) {
        Failure failure = failureOf(m);
        return failure == null ? "delivered" : failure.status();
    }

    private static Failure failureOf(EmulatedMessage m) {
        return m.failure() != null ? m.failure() : FAILING_NUMBERS.get(m.to());
    }

    private static boolean isFinal(String status) {
        return status.equals("delivered") || status.equals("undelivered") || status.equals("failed");
    }

    /** Twilio's {@code ErrorCode} of a message in its status: set once it is undelivered or failed. */
    private static String errorCode(EmulatedMessage m, String status) {
        Failure failure = failureOf(m);
        return failure != null && failure.status().equals(status) ? failure.errorCode() : null;
    }

    private Map<String, List<String>> statusParams(EmulatedMessage m, String status) {
        var p = new LinkedHashMap<String, List<String>>();
        p.put("SmsSid", List.of(m.sid()));
        p.put("SmsStatus", List.of(status));
        p.put("MessageStatus", List.of(status));
        String errorCode = errorCode(m, status);
        if (errorCode != null) p.put("ErrorCode", List.of(errorCode));
        p.put("To", List.of(m.to()));
        p.put("MessageSid", List.of(m.sid()));
        p.put("AccountSid", List.of(settings.accountSid()));
        p.put("From", List.of(m.from()));
        p.put("ApiVersion", List.of(API_VERSION));
        return p;
    }

    /** A URL under the public base URL goes to the runtime itself; any other as it is. */
    String deliveryUrl(String url) {
        String base = settings.publicBaseUrl();
        if (!base.equals(settings.localBaseUrl()) && url.startsWith(base)
                && (url.length() == base.length() || "/?#".indexOf(url.charAt(base.length())) >= 0)) {
            return settings.localBaseUrl() + url.substring(base.length());
        }
        return url;
    }

    // ---------------------------------------------------------------- /local/carrier endpoints

    /** {@code GET /local/carrier/messages?to=&from=} -> {@code {items: [...], rejected}} oldest first. */
    GatewayResponse listForTools(GatewayRequest request) {
        Map<String, String> query = Form.query(request.rawQuery());
        String to = blankToNull(query.get("to"));
        String from = blankToNull(query.get("from"));
        var items = new ArrayList<Map<String, Object>>();
        for (EmulatedMessage m : messages(to, from)) {
            var item = new LinkedHashMap<String, Object>();
            item.put("sid", m.sid());
            item.put("from", m.from());
            item.put("to", m.to());
            item.put("body", m.body());
            item.put("mediaUrls", m.mediaUrls());
            item.put("status", m.status());
            item.put("errorCode", errorCode(m, m.status()));
            item.put("statusCallback", m.statusCallback());
            item.put("numSegments", m.numSegments());
            item.put("createdAt", Timestamps.format(m.createdAt().toEpochMilli()));
            item.put("updatedAt", Timestamps.format(m.updatedAt().toEpochMilli()));
            items.add(item);
        }
        List<Rejection> refused = rejections(to, from);
        var response = new LinkedHashMap<String, Object>();
        response.put("items", items);
        response.put("rejected", refused.size());
        response.put("rateLimited", refused.stream().filter(r -> r.httpStatus() == 429).count());
        var replies = new ArrayList<Map<String, Object>>();
        for (CarrierReply r : carrierReplies(to, from)) {
            replies.add(Map.of("from", r.from(), "to", r.to(), "body", r.body(),
                    "createdAt", Timestamps.format(r.at().toEpochMilli())));
        }
        response.put("carrierReplies", replies);
        return json(200, response);
    }

    /** {@code POST /local/carrier/inbound {from, to, body, mediaUrls?}} -> 202, then the signed inbound webhook. */
    GatewayResponse receiveInbound(GatewayRequest request) {
        Object parsed;
        try {
            parsed = JSON.std.anyFrom(new String(request.body(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            return GatewayResponse.error(400, "invalid_request", "body must be a JSON object {\"from\", \"to\", \"body\"}");
        }
        if (!(parsed instanceof Map<?, ?> input)) {
            return GatewayResponse.error(400, "invalid_request", "body must be a JSON object {\"from\", \"to\", \"body\"}");
        }
        var details = new ArrayList<Map<String, String>>();
        String from = input.get("from") instanceof String s ? s.strip() : null;
        String to = input.get("to") instanceof String s ? s.strip() : null;
        Object rawBody = input.get("body");
        if (from == null || from.isEmpty()) {
            details.add(detail("from", "is required (the phone's number in E.164)"));
        } else if (!isE164(from)) {
            details.add(detail("from", "is not a valid E.164 phone number"));
        }
        if (to == null || to.isEmpty()) {
            details.add(detail("to", "is required (the business's number in E.164, or a short code)"));
        } else if (!isE164(to) && !SHORT_CODE.matcher(to).matches()) {
            details.add(detail("to", "is not a valid E.164 phone number or short code"));
        }
        List<String> mediaUrls = new ArrayList<>();
        Object rawMedia = input.get("mediaUrls");
        if (rawMedia != null) {
            if (!(rawMedia instanceof List<?> list) || list.size() > MAX_MEDIA
                    || !list.stream().allMatch(u -> u instanceof String s && isHttpUrl(s))) {
                details.add(detail("mediaUrls", "must be at most " + MAX_MEDIA + " http(s) URLs"));
            } else {
                list.forEach(u -> mediaUrls.add((String) u));
            }
        }
        if (rawBody != null && !(rawBody instanceof String)) {
            details.add(detail("body", "must be a string"));
        } else if ((rawBody == null || ((String) rawBody).isEmpty()) && mediaUrls.isEmpty()) {
            details.add(detail("body", "is required (1.." + MAX_BODY_CHARS + " characters) unless mediaUrls are given"));
        } else if (rawBody != null && ((String) rawBody).codePointCount(0, ((String) rawBody).length()) > MAX_BODY_CHARS) {
            // in characters, as the webhook counts them (1,600 emoji are a text it takes; UTF-16 counted them twice)
            details.add(detail("body", "must be at most " + MAX_BODY_CHARS + " characters"));
        }
        if (details.isEmpty() && from.equals(to)) details.add(detail("to", "must differ from from"));
        if (!details.isEmpty()) {
            return GatewayResponse.error(400, "invalid_request", details.get(0).get("field") + " " + details.get(0).get("message"),
                    details);
        }
        String body = rawBody == null ? "" : (String) rawBody;
        var message = new EmulatedInbound("SM" + hex32(), from, to, body, mediaUrls,
                settings.publicBaseUrl() + INBOUND_WEBHOOK_PATH, clock.instant());
        synchronized (inbound) {
            inbound.add(message);
        }
        answerAsTheNetwork(from, to, body);
        Map<String, List<String>> params = inboundParams(message);
        try {
            runCounted(() -> message.webhookStatus(
                    webhooks.postLogged("inbound", message.webhookUrl(), params, message.sid())));
        } catch (RejectedExecutionException e) {
            return GatewayResponse.error(503, "unavailable", "the carrier emulator is shutting down");
        }
        var response = new LinkedHashMap<String, Object>();
        response.put("sid", message.sid());
        response.put("from", from);
        response.put("to", to);
        response.put("body", body);
        response.put("mediaUrls", mediaUrls);
        response.put("webhookUrl", message.webhookUrl());
        response.put("createdAt", Timestamps.format(message.createdAt().toEpochMilli()));
        return json(202, response);
    }

    /**
     * The word STOP to a US toll-free number is answered by the network (not our other opt-out words: UNSUBSCRIBE,
     * REMOVE, "Stop 🙏"; {@link Keywords#networkOptOut}), and so are START and UNSTOP ("Yes" is no network keyword). The network's block itself is not played: a real one would also refuse
     * the HELP reply API.md has the application send to an opted-out number, and the application never sends
     * anything else to a number whose opt-out it recorded.
     */
    private void answerAsTheNetwork(String phone, String number, String body) {
        if (!LineRules.isNetworkAnsweredTollFree(number)) return;
        var keyword = Keywords.classify(body);
        String reply;
        if (keyword.keyword() == Keywords.Keyword.OPT_OUT && Keywords.networkOptOut(body)) {
            reply = TOLL_FREE_STOP_REPLY;
        } else if (keyword.keyword() == Keywords.Keyword.OPT_IN && !Keywords.alsoAnEverydayAnswer(keyword, body)) {
            reply = TOLL_FREE_START_REPLY;
        } else {
            return;
        }
        synchronized (carrierReplies) {
            carrierReplies.add(new CarrierReply(number, phone, reply, clock.instant()));
        }
    }

    /** What the network answered by itself (see {@link CarrierReply}), oldest first; null filters match everything. */
    public List<CarrierReply> carrierReplies(String to, String from) {
        return between(carrierReplies, to, from, CarrierReply::to, CarrierReply::from);
    }

    private Map<String, List<String>> inboundParams(EmulatedInbound m) {
        var p = new LinkedHashMap<String, List<String>>();
        p.put("SmsMessageSid", List.of(m.sid()));
        p.put("NumMedia", List.of(String.valueOf(m.mediaUrls().size())));
        p.put("SmsSid", List.of(m.sid()));
        p.put("SmsStatus", List.of("received"));
        p.put("Body", List.of(m.body()));
        p.put("To", List.of(m.to()));
        p.put("NumSegments", List.of(String.valueOf(Math.max(1, SmsText.of(m.body()).segments()))));
        p.put("MessageSid", List.of(m.sid()));
        p.put("AccountSid", List.of(settings.accountSid()));
        p.put("From", List.of(m.from()));
        p.put("ApiVersion", List.of(API_VERSION));
        for (int i = 0; i < m.mediaUrls().size(); i++) {
            p.put("MediaContentType" + i, List.of(contentType(m.mediaUrls().get(i))));
            p.put("MediaUrl" + i, List.of(m.mediaUrls().get(i)));
        }
        return p;
    }

    // ---------------------------------------------------------------- helpers

    private static Map<String, String> detail(String field, String message) {
        var d = new LinkedHashMap<String, String>();
        d.put("field", field);
        d.put("message", message);
        return d;
    }

    /** Twilio's error body: {@code {code, message, more_info, status}}. */
    static GatewayResponse twilioError(int status, int code, String message) {
        var body = new LinkedHashMap<String, Object>();
        body.put("code", code);
        body.put("message", message);
        body.put("more_info", "https://www.twilio.com/docs/errors/" + code);
        body.put("status", status);
        return json(status, body);
    }

    private static GatewayResponse json(int status, Object body) {
        try {
            return new GatewayResponse(status, Map.of("content-type", List.of(GatewayResponse.JSON_TYPE)),
                    JSON_OUT.asBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Exactly E.164 and a valid number by libphonenumber's metadata. */
    static boolean isE164(String number) {
        return number != null && number.startsWith("+")
                && PhoneNumbers.normalize(number, null) instanceof PhoneNumbers.Valid v && v.e164().equals(number);
    }

    private static boolean isHttpUrl(String url) {
        try {
            URI uri = new URI(url);
            return uri.getHost() != null && ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()));
        } catch (Exception e) {
            return false;
        }
    }

    private static String contentType(String url) {
        String path = url.toLowerCase(Locale.ROOT);
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        if (path.endsWith(".png")) return "image/png";
        if (path.endsWith(".gif")) return "image/gif";
        if (path.endsWith(".mp4")) return "video/mp4";
        return "image/jpeg";
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    private static String hex32() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    /** Stops delivering; status callbacks not yet sent are dropped (a kept message's are sent on the next start). */
    @Override
    public void close() {
        deliveries.shutdownNow();
        try {
            deliveries.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            webhooks.close();
            CarrierJournal kept = journal;
            if (kept != null) kept.close();
        }
    }
}
