package groupmsg.local;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Queues;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every handler of {@code Handlers.ALL}, built once with the runtime's {@link Wiring} through its public
 * {@code (Wiring)} constructor. Classes are found by name (the functions module may be mid-change): a handler
 * that cannot be built is logged and kept as a failed function, so the rest of the API still works and calls to
 * it fail as a Lambda init error would.
 */
public final class LocalFunctions {
    private final Map<String, LocalFunction> byName;

    private LocalFunctions(Map<String, LocalFunction> byName) {
        this.byName = byName;
    }

    public static LocalFunctions load(List<HandlerDef> handlers, Wiring wiring) {
        return load(handlers, wiring, null);
    }

    /** ... whose invocations' AWS calls {@code cutoff} (on {@code wiring}'s clients) ends at their timeout; null: none. */
    static LocalFunctions load(List<HandlerDef> handlers, Wiring wiring, InvocationCutoff cutoff) {
        Map<String, LocalFunction> functions = new LinkedHashMap<>();
        for (HandlerDef def : handlers) functions.put(def.name(), load(def, wiring, cutoff));
        return new LocalFunctions(functions);
    }

    /** Builds one handler; never throws (see the class comment). */
    public static LocalFunction load(HandlerDef def, Wiring wiring) {
        return load(def, wiring, null);
    }

    private static LocalFunction load(HandlerDef def, Wiring wiring, InvocationCutoff cutoff) {
        FunctionSpec spec = FunctionSpec.of(def);
        String region = wiring.config().region();
        try {
            return LocalFunction.of(spec, instantiate(def, wiring), region, wiring.clock(), cutoff);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            Throwable cause = e instanceof InvocationTargetException ite && ite.getCause() != null ? ite.getCause() : e;
            LocalLog.error("handler_init_failed", Map.of("handler", def.name(), "class", def.className()), cause);
            return LocalFunction.failed(spec, cause, region, wiring.clock());
        }
    }

    private static RequestHandler<?, ?> instantiate(HandlerDef def, Wiring wiring) throws ReflectiveOperationException {
        Class<?> type = Class.forName(def.className(), true, LocalFunctions.class.getClassLoader());
        if (!RequestHandler.class.isAssignableFrom(type)) {
            throw new IllegalStateException(def.className() + " does not implement RequestHandler");
        }
        Constructor<?> constructor = type.getConstructor(Wiring.class);
        return (RequestHandler<?, ?>) constructor.newInstance(asDeployed(def, wiring));
    }

    /**
     * The wiring a function has in AWS as far as tables and queues go: the names of the tables it lists, the URLs of
     * the queues it sends to and consumes, and of the dead-letter queues it sends to, only (the stack's environment),
     * so code that reaches another table or queue fails here as it would there, not only there.
     */
    static Wiring asDeployed(HandlerDef def, Wiring wiring) {
        Set<String> queues = new HashSet<>(def.queuesSentTo());
        Queues.ALL.stream().filter(q -> q.consumer().equals(def.name())).forEach(q -> queues.add(q.name()));
        def.deadLettersSentTo().forEach(q -> queues.add(Queues.byName(q).dlqName()));
        return wiring.withConfig(wiring.config().withOnlyQueues(queues).withOnlyTables(Set.copyOf(def.tables())));
    }

    public Optional<LocalFunction> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public LocalFunction get(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException("no function " + name));
    }

    public Collection<LocalFunction> all() {
        return byName.values();
    }
}
