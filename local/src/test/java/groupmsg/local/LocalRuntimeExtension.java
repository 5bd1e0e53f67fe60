package groupmsg.local;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One {@link LocalRuntime} for the whole test JVM (in memory, on a free port, real DynamoDB Local and ElasticMQ),
 * started by the first test class that asks for it and stopped when the JVM's test run ends. Starting costs about
 * five seconds, so every end-to-end test shares it; tests isolate themselves by working in their own account
 * ({@link ApiClient#forNewAccount(String)}).
 *
 * <pre>{@code
 * @ExtendWith(LocalRuntimeExtension.class)
 * class GroupsE2eTest {
 *     @Test
 *     void createsAGroup(ApiClient api) {
 *         ApiClient account = api.forNewAccount("groups test");
 *         var created = account.post("/v1/groups", Map.of("name", "Volunteers"));
 *         assertThat(created.status()).isEqualTo(201);
 *     }
 * }
 * }</pre>
 *
 * Test methods (and constructors, lifecycle methods) may declare a {@link LocalRuntime} parameter for the runtime
 * itself, and an {@link ApiClient} parameter for a client that sends the default account's owner key.
 */
public final class LocalRuntimeExtension implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LocalRuntimeExtension.class);

    /**
     * Stored in the root context: JUnit closes it once, after the last test of the run. The client (immutable, one
     * connection pool) is shared as well.
     */
    private record SharedRuntime(LocalRuntime runtime, ApiClient client) implements AutoCloseable {
        @Override
        public void close() {
            runtime.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == LocalRuntime.class || type == ApiClient.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        SharedRuntime shared = shared(context);
        Class<?> type = parameter.getParameter().getType();
        if (type == LocalRuntime.class) return shared.runtime();
        if (type == ApiClient.class) return shared.client();
        throw new ParameterResolutionException("cannot resolve " + type);
    }

    /** The shared runtime, started on first use (for extensions and fixtures that have an ExtensionContext). */
    public static LocalRuntime runtime(ExtensionContext context) {
        return shared(context).runtime();
    }

    private static SharedRuntime shared(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(SharedRuntime.class, k -> {
            LocalRuntime runtime = LocalRuntime.start(LocalSettings.forTests());
            return new SharedRuntime(runtime, new ApiClient(runtime.baseUrl(), runtime.defaultApiKey()));
        }, SharedRuntime.class);
    }
}
