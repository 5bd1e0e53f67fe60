package groupmsg.local;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One handler as Lambda runs it: JSON in, JSON out, within the function's timeout and Lambda's 6 MB payload
 * limits. As the Lambda runtime does, a {@link RequestStreamHandler} is given the bytes (our handlers are, and read
 * them with {@code platform.lambda.LambdaJson}); any other {@code RequestHandler<I, O>} goes through the runtime's
 * serialisation of its declared types. Going through JSON (rather than handing over the objects the gateway
 * built) means a field the real runtime would not map is missing here too.
 *
 * <p>One instance serves concurrent invocations (Lambda would use one execution environment each), so handlers
 * must not keep per-request state in fields; they are built that way for SnapStart anyway.
 */
public final class LocalFunction {
    /** Lambda's synchronous invocation limits (6 MB request, 6 MB + 100 bytes response). */
    static final int MAX_REQUEST_BYTES = 6 * 1024 * 1024;
    static final int MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;
    /**
     * How long an invocation interrupted by a stopping runtime waits for its handler to wind down: a carrier call
     * under way (its timeout is 10 s) and the record of it.
     */
    static final Duration WIND_DOWN = Duration.ofSeconds(15);

    private final FunctionSpec spec;
    private final RequestHandler<Object, Object> handler;
    private final Throwable initError;
    private final PojoSerializer<Object> input;
    private final Type outputType;
    private final PojoSerializer<Object> declaredOutput;
    private final String region;
    private final Clock clock;
    /** Cuts off the AWS calls of an invocation abandoned at its timeout; null: none (a function without the runtime's clients). */
    private final InvocationCutoff cutoff;

    private LocalFunction(FunctionSpec spec, RequestHandler<Object, Object> handler, Throwable initError,
                          String region, Clock clock, InvocationCutoff cutoff) {
        this.cutoff = cutoff;
        this.spec = spec;
        this.handler = handler;
        this.initError = initError;
        this.region = region;
        this.clock = clock;
        if (handler == null || handler instanceof RequestStreamHandler) {
            this.input = null;
            this.outputType = Object.class;
            this.declaredOutput = null;
        } else {
            ClassLoader loader = handler.getClass().getClassLoader();
            Type[] types = requestHandlerTypes(handler.getClass());
            this.input = LambdaSerialization.serializerFor(types[0], loader);
            this.outputType = types[1];
            this.declaredOutput = isConcrete(types[1]) ? LambdaSerialization.serializerFor(types[1], loader) : null;
        }
    }

    @SuppressWarnings("unchecked")
    public static LocalFunction of(FunctionSpec spec, RequestHandler<?, ?> handler, String region, Clock clock) {
        return of(spec, handler, region, clock, null);
    }

    /** ... whose invocations' AWS calls {@code cutoff} ends at their timeout (it is on the handler's clients). */
    @SuppressWarnings("unchecked")
    static LocalFunction of(FunctionSpec spec, RequestHandler<?, ?> handler, String region, Clock clock, InvocationCutoff cutoff) {
        return new LocalFunction(spec, (RequestHandler<Object, Object>) handler, null, region, clock, cutoff);
    }

    /** A function whose handler could not be built: every invocation fails, as an init error does in Lambda. */
    public static LocalFunction failed(FunctionSpec spec, Throwable initError, String region, Clock clock) {
        return new LocalFunction(spec, null, initError, region, clock, null);
    }

    public String name() {
        return spec.name();
    }

    public FunctionSpec spec() {
        return spec;
    }

    public boolean initialised() {
        return initError == null;
    }

    /**
     * Runs the handler once on {@code eventJson} and returns its response as the Lambda runtime serialises it.
     *
     * @throws FunctionError when Lambda would report an error instead of a response
     */
    public String invoke(String eventJson) throws FunctionError {
        return invoke(eventJson, UUID.randomUUID().toString());
    }

    /** @param requestId the Lambda request id the handler sees as {@code context.getAwsRequestId()} */
    public String invoke(String eventJson, String requestId) throws FunctionError {
        if (initError != null) {
            throw new FunctionError(FunctionError.Kind.INIT_FAILED, name(), "handler could not be created: "
                    + initError, initError);
        }
        if (eventJson.getBytes(StandardCharsets.UTF_8).length > MAX_REQUEST_BYTES) {
            throw new FunctionError(FunctionError.Kind.REQUEST_TOO_LARGE, name(),
                    "request payload exceeds " + MAX_REQUEST_BYTES + " bytes", null);
        }
        var context = new LocalContext(requestId, spec, region, clock);
        CompletableFuture<String> result = new CompletableFuture<>();
        var abandoned = new AtomicBoolean();
        // Its own thread so a handler that overruns its timeout can be abandoned (and interrupted) as Lambda
        // would end it; the name shows up in thread dumps and log lines.
        Thread worker = Thread.ofVirtual().name("fn-" + name() + "-" + requestId).start(() -> {
            if (cutoff != null) cutoff.enter(abandoned);
            try {
                if (handler instanceof RequestStreamHandler stream) {
                    var out = new ByteArrayOutputStream(1024);
                    stream.handleRequest(new ByteArrayInputStream(eventJson.getBytes(StandardCharsets.UTF_8)), out, context);
                    result.complete(out.toString(StandardCharsets.UTF_8));
                } else {
                    Object event = input.fromJson(eventJson);
                    Object output = handler.handleRequest(event, context);
                    result.complete(toJson(output));
                }
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        String response;
        try {
            response = result.get(spec.timeoutSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            abandoned.set(true); // its AWS calls from now on fail, as in a sandbox Lambda ended
            worker.interrupt();
            long timedOutAt = System.nanoTime();
            result.whenComplete((late, error) -> LocalLog.warn("invocation_overran", Map.of("function", name(),
                    "requestId", requestId, "msAfterTimeout", (System.nanoTime() - timedOutAt) / 1_000_000)));
            throw new FunctionError(FunctionError.Kind.TIMEOUT, name(),
                    "Task timed out after " + spec.timeoutSeconds() + " seconds", null);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new FunctionError(FunctionError.Kind.UNHANDLED, name(), "unhandled " + cause, cause);
        } catch (InterruptedException e) {
            worker.interrupt();
            // The runtime is stopping: let the handler wind down what it was doing (a delivery job records the sends
            // it made and gives back the ones it had not) before the clients it writes with are closed.
            try {
                worker.join(WIND_DOWN);
            } catch (InterruptedException again) {
                // stopping harder: give up waiting
            }
            Thread.currentThread().interrupt();
            throw new FunctionError(FunctionError.Kind.UNHANDLED, name(), "invocation interrupted", e);
        }
        if (response.getBytes(StandardCharsets.UTF_8).length > MAX_RESPONSE_BYTES) {
            throw new FunctionError(FunctionError.Kind.RESPONSE_TOO_LARGE, name(),
                    "response payload exceeds " + MAX_RESPONSE_BYTES + " bytes", null);
        }
        return response;
    }

    private String toJson(Object output) {
        if (output == null) return "null";
        PojoSerializer<Object> serializer = declaredOutput != null ? declaredOutput
                : LambdaSerialization.serializerFor(output.getClass(), output.getClass().getClassLoader());
        var out = new ByteArrayOutputStream();
        serializer.toJson(output, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "LocalFunction[" + name() + (initError == null ? ", output " + outputType.getTypeName() : ", failed")
                + "]";
    }

    // ---------------------------------------------------------------- RequestHandler<I, O> resolution

    /**
     * The {@code I} and {@code O} a handler class binds {@code RequestHandler} to, following superclasses and
     * interfaces (a handler may extend a generic base class). Unbound variables become {@code Object}, which the
     * runtime also falls back to.
     */
    static Type[] requestHandlerTypes(Class<?> handlerClass) {
        Type[] found = resolve(handlerClass, Map.of());
        return found != null ? found : new Type[]{Object.class, Object.class};
    }

    private static Type[] resolve(Type type, Map<TypeVariable<?>, Type> outer) {
        Class<?> raw;
        Map<TypeVariable<?>, Type> bindings = new HashMap<>();
        if (type instanceof ParameterizedType p) {
            raw = (Class<?>) p.getRawType();
            TypeVariable<?>[] variables = raw.getTypeParameters();
            Type[] arguments = p.getActualTypeArguments();
            for (int i = 0; i < variables.length; i++) bindings.put(variables[i], substitute(arguments[i], outer));
        } else if (type instanceof Class<?> c) {
            raw = c;
        } else {
            return null;
        }
        if (raw == RequestHandler.class) {
            TypeVariable<?>[] variables = RequestHandler.class.getTypeParameters();
            return new Type[]{bindings.getOrDefault(variables[0], Object.class),
                    bindings.getOrDefault(variables[1], Object.class)};
        }
        for (Type supertype : raw.getGenericInterfaces()) {
            Type[] found = resolve(supertype, bindings);
            if (found != null) return found;
        }
        Type superclass = raw.getGenericSuperclass();
        return superclass == null ? null : resolve(superclass, bindings);
    }

    private static Type substitute(Type type, Map<TypeVariable<?>, Type> bindings) {
        if (type instanceof TypeVariable<?> v) return bindings.getOrDefault(v, Object.class);
        return type;
    }

    private static boolean isConcrete(Type type) {
        return type != Object.class && !(type instanceof TypeVariable<?>);
    }
}
