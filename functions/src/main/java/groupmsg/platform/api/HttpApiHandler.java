package groupmsg.platform.api;

import com.amazonaws.services.lambda.runtime.Context;
import groupmsg.platform.lambda.HttpFunction;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import groupmsg.platform.Log;
import groupmsg.platform.RetriesSpent;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.lambda.Priming;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.TransactionInProgressException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * The shape every HTTP API handler shares: match the route key to an action, check the caller's role, honour
 * {@code Idempotency-Key} on creating routes, and turn every outcome (including failures) into the contract's
 * response. This is the one place where exceptions become error bodies; 5xx bodies never carry exception text.
 */
public abstract class HttpApiHandler implements HttpFunction {
    private static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;
    /** What a 503 tells the client to wait: SDK retries and DynamoOps' backoff have already spent seconds. */
    private static final int RETRY_AFTER_SECONDS = 1;
    private static final Pattern START_KEY_REFUSAL = Pattern.compile("(?i)(starting key|exclusive ?start ?key)");

    private final String handlerName;
    private final IdempotencyStore idempotency;
    private final Map<String, Action> actions = new HashMap<>();

    /** @param callerBound whether only the key that made the request may have its answer replayed (see onShowingSecret) */
    private record Action(RouteDef route, Function<ApiRequest, ApiResponse> run, UnaryOperator<String> replayBody,
                          boolean callerBound) {}

    private final Priming priming;

    protected HttpApiHandler(String handlerName, IdempotencyStore idempotency, Wiring wiring) {
        this.handlerName = handlerName;
        this.idempotency = idempotency;
        this.priming = Priming.register(this, wiring);
    }

    @Override
    public final Priming priming() {
        return priming;
    }

    /** Registers the action of one of this handler's routes (as listed in {@link Routes}). */
    protected final void on(String routeKey, Function<ApiRequest, ApiResponse> action) {
        on(routeKey, action, UnaryOperator.identity());
    }

    /**
     * @param replayBody what of the response body is kept for an idempotent replay (e.g. without a secret that
     *                   must only ever be shown once)
     */
    protected final void on(String routeKey, Function<ApiRequest, ApiResponse> action, UnaryOperator<String> replayBody) {
        actions.put(routeKey, new Action(route(routeKey), action, replayBody, false));
    }

    /**
     * Registers a route whose answer shows a secret that its idempotent replay shows again (a webhook's signing
     * secret: a retry whose first answer was lost must still learn it), to the same API key only: another key that
     * uses the same Idempotency-Key gets a 409, not the secret (an account's keys share their Idempotency-Keys, and
     * one like "wh-1" is easily guessed).
     */
    protected final void onShowingSecret(String routeKey, Function<ApiRequest, ApiResponse> action) {
        actions.put(routeKey, new Action(route(routeKey), action, UnaryOperator.identity(), true));
    }

    private RouteDef route(String routeKey) {
        return Routes.byKey(routeKey)
                .filter(r -> r.handler().equals(handlerName))
                .orElseThrow(() -> new IllegalArgumentException(routeKey + " is not a route of " + handlerName));
    }

    /** The route keys this handler serves (a test checks they equal the route table's). */
    public final Set<String> routeKeys() {
        return Set.copyOf(actions.keySet());
    }

    @Override
    public final APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        ApiResponse response;
        try {
            response = dispatch(event);
        } catch (ApiException e) {
            response = ApiResponse.error(e);
        } catch (RuntimeException e) {
            if (cursorRefused(e, event)) {
                // A cursor Cursor.decode let through but the query's key condition rules out (another list's cursor
                // for the same partition): the caller's cursor is wrong, not the service.
                response = ApiResponse.error(ApiException.invalid("cursor is not valid for this list"));
            } else if (transientFault(e)) {
                // Storage or a queue is throttled, failing on its side or out of reach, or other writers kept
                // winning: the same request shortly after may succeed, which a 500 would not tell the client.
                Log.warn("transient_fault", Map.of("handler", handlerName,
                        "routeKey", String.valueOf(event.getRouteKey()),
                        "requestId", context == null ? "" : context.getAwsRequestId(),
                        "fault", e.getClass().getSimpleName()));
                response = ApiResponse.error(ErrorCode.UNAVAILABLE,
                        "the service is busy or briefly unavailable; retry shortly (with the same Idempotency-Key)",
                        List.of()).withHeader("retry-after", String.valueOf(RETRY_AFTER_SECONDS));
            } else {
                response = internalError(event, context, e);
            }
        } catch (Error e) {
            if (!answerable(e)) throw e;
            response = internalError(event, context, e);
        }
        Map<String, String> headers = response.headers();
        if (response.status() == ErrorCode.NOT_CANCELLABLE.status() && event.getRouteKey() != null) {
            // A 405 names what the resource does allow (RFC 9110): the other methods of its path.
            headers = new HashMap<>(headers);
            headers.put("allow", String.join(", ", Routes.otherMethods(event.getRouteKey())));
        }
        return APIGatewayV2HTTPResponse.builder()
                .withStatusCode(response.status())
                .withHeaders(headers)
                .withBody(response.body())
                .withIsBase64Encoded(false)
                .build();
    }

    /**
     * Whether {@code e} (or what caused it) is a fault of the moment rather than of the request or the code: AWS
     * throttling or a service-side 5xx, a transaction cancelled only by conflicting writers or throttling (after
     * DynamoOps' retries), a call that timed out, or a connection that failed.
     */
    static boolean transientFault(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            switch (t) {
                case TransactionCanceledException c -> {
                    return DynamoOps.onlyConflicts(c);
                }
                case TransactionInProgressException p -> {
                    return true;
                }
                case RetriesSpent spent -> {
                    return true;
                }
                case AwsServiceException s -> {
                    return s.isThrottlingException() || s.statusCode() >= 500;
                }
                case ApiCallTimeoutException timeout -> {
                    return true;
                }
                case ApiCallAttemptTimeoutException timeout -> {
                    return true;
                }
                case SdkClientException c when c.getCause() instanceof IOException -> {
                    return true;
                }
                default -> { }
            }
        }
        return false;
    }

    /**
     * Whether DynamoDB refused a start key the request's {@code cursor} gave: without one, the key was made here (a
     * page that goes on where the last one stopped), and its refusal is a fault of ours, a 500 logged as one, not the
     * caller's 400.
     */
    static boolean cursorRefused(RuntimeException e, APIGatewayV2HTTPEvent event) {
        if (!startKeyRefused(e)) return false;
        var query = event.getQueryStringParameters();
        if (query != null && query.get("cursor") != null) return true;
        try {
            // or in its body (POST /v1/members/remove pages with one)
            return new String(ApiRequest.from(event).body(), StandardCharsets.UTF_8).contains("\"cursor\"");
        } catch (RuntimeException unreadable) {
            return false;
        }
    }

    /** DynamoDB's refusal of a query's ExclusiveStartKey ("The provided starting key is ...", "Exclusive Start Key ..."). */
    static boolean startKeyRefused(RuntimeException e) {
        return e instanceof DynamoDbException d && d.statusCode() == 400 && d.getMessage() != null
                && START_KEY_REFUSAL.matcher(d.getMessage()).find();
    }

    private ApiResponse dispatch(APIGatewayV2HTTPEvent event) {
        Action action = actions.get(event.getRouteKey());
        if (action == null) {
            throw new ApiException(ErrorCode.NOT_FOUND, "no route for " + event.getRouteKey());
        }
        ApiRequest request = ApiRequest.from(event);
        Caller caller = request.requireCaller();
        if (!caller.role().may(action.route().permission())) {
            throw ApiException.forbidden("the " + caller.role().wireName() + " role may not do this");
        }
        var key = request.header("idempotency-key");
        if (!action.route().idempotent() || key.isEmpty()) return action.run().apply(request);
        return runIdempotently(action, request, key.get());
    }

    private ApiResponse runIdempotently(Action action, ApiRequest request, String key) {
        if (key.isBlank() || key.length() > MAX_IDEMPOTENCY_KEY_LENGTH) {
            throw ApiException.invalid("Idempotency-Key must be 1.." + MAX_IDEMPOTENCY_KEY_LENGTH + " characters");
        }
        String account = request.accountId();
        String target = action.route().key() + " " + request.rawPath();
        var binding = idempotency.binding(account, key, target);
        if (binding == IdempotencyStore.Binding.ELSEWHERE) {
            throw ApiException.conflict("Idempotency-Key was already used with a different request (on another route or path)");
        }
        String scope = target + " " + key;
        String hash = requestHash(request, 3);
        // a caller-bound answer's request is the same only from the same key (a record from before the binding, by
        // the request alone, still replays to its retry)
        var claim = action.callerBound()
                ? idempotency.claim(account, scope, "key " + request.requireCaller().keyId() + " " + hash, hash)
                : idempotency.claim(account, scope, hash, requestHash(request, 2));
        return switch (claim) {
            case IdempotencyStore.Mismatch m -> throw ApiException.conflict(
                    "Idempotency-Key was already used with a different request");
            case IdempotencyStore.InProgress p -> throw ApiException.conflict(
                    "a request with this Idempotency-Key is still being processed; retry shortly");
            // no-store as the first answer's may say: a replay of a webhook's creation shows its secret again
            case IdempotencyStore.Replay r -> new ApiResponse(r.status(), Map.of("content-type", ApiResponse.JSON_TYPE,
                    "idempotent-replayed", "true", "cache-control", "no-store"), r.body());
            case IdempotencyStore.Claimed c -> {
                // a claim under a binding made before keeps it as long as its record (every claim, a 4xx's too: the
                // renewal must come before the run, which must not go on if the key was bound elsewhere meanwhile)
                if (binding == IdempotencyStore.Binding.BEFORE && !idempotency.renewBinding(account, key, target, c.claimedAt())) {
                    idempotency.release(account, scope, c);
                    throw ApiException.conflict("Idempotency-Key was already used with a different request (on another route or path)");
                }
                ApiResponse response;
                try {
                    response = action.run().apply(request.withCreation(new ApiRequest.Creation(c.ulid(), c.rerun(),
                            () -> idempotency.renewUlid(account, scope, c))));
                } catch (ApiException e) {
                    if (e.isAfterPartOfTheWork()) throw abandoned(account, scope, c, e); // its retry finds that part
                    response = ApiResponse.error(e);
                } catch (RuntimeException | Error e) {
                    // Part of the work may have committed: the retry runs again with the same ids and finds it.
                    throw abandoned(account, scope, c, failure(e, "the request's run failed"));
                }
                if (response.status() >= 400 && !c.first()) {
                    // A claim taken over from an earlier run of this request (a 5xx, a crash), which may have done
                    // part of the work: this run's 4xx (its role lost the right since, say) is given up like a 5xx,
                    // keeping the record and its ids, so the retry once things are right finds that work rather than
                    // doing it a second time (a second conversation); another body under the key stays a 409.
                    giveUp(account, scope, c, false);
                } else if (response.status() >= 400) {
                    // Nothing was done (bad input changes nothing), so nothing is remembered, as with Stripe: a retry
                    // with the input fixed, or after what was missing exists, runs instead of meeting a 409; on any
                    // path when this was the key's first use of all (unbound with the release, while the claim still
                    // holds off a retry of it). A key used before keeps its path: a run before this one, its record
                    // given up or released since, may have done part of the work there.
                    try {
                        // (only a first claim gets here: a taken-over one was given up above)
                        if (binding == IdempotencyStore.Binding.NOW) idempotency.releaseAndUnbind(account, scope, c, key, target);
                        else idempotency.release(account, scope, c);
                    } catch (RuntimeException | Error e) {
                        if (e instanceof Error error && !answerable(error)) throw error;
                        // still the answer: a 503 would hide it, and its retries would meet "still being
                        // processed" until the claim counted as abandoned (given up now, the same request
                        // retried runs at once; a corrected one meets a 409 until the record expires)
                        RuntimeException again = giveUp(account, scope, c, true);
                        if (again != null) e.addSuppressed(again);
                        Log.error("idempotency_release_failed", Map.of("status", response.status()), e);
                    }
                } else {
                    try {
                        idempotency.complete(account, scope, response.status(), action.replayBody().apply(response.body()));
                    } catch (RuntimeException | Error e) {
                        // The work is done but not remembered: the retry runs again with the same ids and finds it.
                        throw abandoned(account, scope, c, failure(e, "the response was not remembered"));
                    }
                }
                yield response;
            }
        };
    }

    /** The contract's 500, its cause logged (never in the body). */
    private ApiResponse internalError(APIGatewayV2HTTPEvent event, Context context, Throwable e) {
        Log.error("unhandled_error", Map.of("handler", handlerName, "routeKey", String.valueOf(event.getRouteKey()),
                "requestId", context == null ? "" : context.getAwsRequestId()), e);
        return ApiResponse.error(ErrorCode.INTERNAL, "internal error", List.of());
    }

    /**
     * An Error a request's run can be answered after: all but the JVM's own failures (out of memory, an internal error),
     * which the runtime is left to restart from; a stack overflow is unwound by the time it is caught. Uncaught, the
     * client got API Gateway's own 500 body, and an Idempotency-Key's claim was never given up (its retries met "still
     * being processed" for a minute).
     */
    static boolean answerable(Error e) {
        return !(e instanceof VirtualMachineError) || e instanceof StackOverflowError;
    }

    /** {@code e} as the failure to give a claim up for: a RuntimeException as it is, an answerable Error wrapped. */
    private static RuntimeException failure(Throwable e, String what) {
        if (e instanceof RuntimeException r) return r;
        if (e instanceof Error error && !answerable(error)) throw error;
        return new IllegalStateException(what, e);
    }

    /** Gives up the claim after {@code failure}, which is returned to be thrown. */
    private RuntimeException abandoned(String account, String scope, IdempotencyStore.Claimed claim, RuntimeException failure) {
        RuntimeException again = giveUp(account, scope, claim, false);
        if (again != null) failure.addSuppressed(again); // (an ApiException keeps no suppressed exceptions: logged)
        return failure;
    }

    /**
     * Gives up the claim, so the same request retried takes it over at once; null, or what kept it from being given up
     * (logged: left pending, it is taken over after IdempotencyStore.ABANDONED_AFTER).
     */
    private RuntimeException giveUp(String account, String scope, IdempotencyStore.Claimed claim, boolean nothingDone) {
        try {
            idempotency.abandon(account, scope, claim, nothingDone);
            return null;
        } catch (RuntimeException again) {
            Log.warn("idempotency_abandon_failed", Map.of("error", again.getClass().getSimpleName()));
            return again;
        }
    }

    /**
     * What makes two requests with one Idempotency-Key the same: the media type (with a charset other than UTF-8) and the body, a JSON body as its
     * canonical form (keys sorted, no whitespace, whole numbers spelt as integers: 20.0 is 20; the hash marked
     * {@code v3:}), so a retry that serialises the same object differently is the same request, as with Stripe; any
     * other body as its bytes, unmarked. {@code version} 2 gives the form before whole numbers had one spelling
     * ({@code v2:}, keys sorted only), which records written then hold (a retry straddling the deploy still replays;
     * records from before v2, the bytes' hash, are past their 24 hours).
     * A body that reads as JSON counts as {@code application/json} whatever type it was sent as (it is read as JSON
     * whatever the type), so a retry that sends the same object under another type is the same request too.
     */
    private static String requestHash(ApiRequest request, int version) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] body = canonicalBody(request, version);
            digest.update((body == null ? request.mediaType() + declaredCharset(request) : "application/json").getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
            digest.update(body == null ? request.body() : body);
            return (body == null ? "" : "v" + version + ":") + HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A body's declared charset other than UTF-8 ({@code ;charset=windows-1252}), which says how its bytes read (a CSV
     * import's): none for UTF-8 or none declared, so the hashes of such requests' records stay the same.
     */
    private static String declaredCharset(ApiRequest request) {
        return request.charset().filter(c -> !ApiRequest.isUtf8(c)).map(c -> ";charset=" + c).orElse("");
    }

    /** The canonical form of a JSON body, or null for a body that is not JSON (or too large to be read as JSON). */
    private static byte[] canonicalBody(ApiRequest request, int version) {
        if (request.body().length > ApiRequest.MAX_JSON_BYTES) return null;
        try {
            Object json = Json.parse(ApiRequest.jsonText(request.body()));
            return (version >= 3 ? Json.writeCanonical(json) : Json.writeSortedKeys(json)).getBytes(StandardCharsets.UTF_8);
        } catch (ApiException | Json.JsonSyntaxException e) {
            return null; // the handler answers 400 for it
        }
    }
}
