package groupmsg.infra;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The stack's handler list and the functions module agree: every {@link HandlerDef} names a real Lambda handler,
 * and every Lambda handler in the functions module is deployed (a handler that exists in functions/ but not in the
 * stack fails here). Checked against the functions module's compiled classes on the classpath (its jar, or
 * functions/target/classes in a reactor build).
 */
class HandlerClassesTest {

    static final List<HandlerDef> HANDLERS = Handlers.ALL;

    @ParameterizedTest(name = "{0}")
    @FieldSource("HANDLERS")
    void everyHandlerDefNamesAConcreteLambdaHandlerClass(HandlerDef def) throws Exception {
        Class<?> type;
        try {
            type = Class.forName(def.className(), false, getClass().getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new AssertionError("Handlers.ALL names " + def.className() + " (handler '" + def.name()
                    + "') but the functions module on the classpath (" + functionsLocation() + ") has no such class", e);
        }
        assertThat(isLambdaHandler(type)).as(def.className() + " implements RequestHandler or RequestStreamHandler").isTrue();
        assertThat(Modifier.isPublic(type.getModifiers())).as(def.className() + " is public").isTrue();
        assertThat(Modifier.isAbstract(type.getModifiers())).as(def.className() + " is concrete").isFalse();
        // Lambda instantiates the handler through a public no-argument constructor.
        assertThat(Modifier.isPublic(type.getConstructor().getModifiers())).isTrue();
        assertThat(def.handlerString()).isEqualTo(def.className() + "::handleRequest");
    }

    @Test
    void everyLambdaHandlerInTheFunctionsModuleIsInTheStack() throws Exception {
        List<String> classNames = functionsClassNames();
        assertThat(classNames).as("classes found in the functions module").contains(Handlers.class.getName());
        List<String> loadFailures = new ArrayList<>();
        TreeSet<String> handlers = new TreeSet<>();
        for (String name : classNames) {
            Class<?> type;
            try {
                type = Class.forName(name, false, getClass().getClassLoader());
            } catch (LinkageError | ClassNotFoundException e) {
                loadFailures.add(name + ": " + e);
                continue;
            }
            if (isLambdaHandler(type) && !type.isInterface() && !Modifier.isAbstract(type.getModifiers())) {
                handlers.add(name);
            }
        }
        assertThat(loadFailures).as("functions classes that do not load").isEmpty();
        TreeSet<String> deployed = Handlers.ALL.stream().map(HandlerDef::className).collect(Collectors.toCollection(TreeSet::new));
        assertThat(handlers).as("Lambda handlers in functions/ missing from Handlers.ALL").isSubsetOf(deployed);
    }

    private static boolean isLambdaHandler(Class<?> type) {
        return RequestHandler.class.isAssignableFrom(type) || RequestStreamHandler.class.isAssignableFrom(type);
    }

    private static Path functionsLocation() throws URISyntaxException {
        return Path.of(Handlers.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** Every class of the functions module, from wherever the classpath has it (jar or classes directory). */
    private static List<String> functionsClassNames() throws IOException, URISyntaxException {
        Path location = functionsLocation();
        List<String> names = new ArrayList<>();
        if (Files.isDirectory(location)) {
            try (Stream<Path> files = Files.walk(location)) {
                files.filter(f -> f.toString().endsWith(".class"))
                        .map(f -> location.relativize(f).toString().replace('\\', '/'))
                        .forEach(n -> names.add(className(n)));
            }
        } else {
            try (JarFile jar = new JarFile(location.toFile())) {
                for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                    String n = e.nextElement().getName();
                    if (n.endsWith(".class") && !n.startsWith("META-INF/")) names.add(className(n));
                }
            }
        }
        return names.stream().filter(n -> !n.endsWith("module-info") && !n.endsWith("package-info")).toList();
    }

    private static String className(String path) {
        return path.substring(0, path.length() - ".class".length()).replace('/', '.');
    }
}
