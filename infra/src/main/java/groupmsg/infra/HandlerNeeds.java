package groupmsg.infra;

import groupmsg.notify.Topic;
import groupmsg.platform.schema.HandlerDef;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.Handle;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * What a handler needs beyond the tables and queues its {@link HandlerDef} lists: the event topics it publishes to,
 * whether it uses the carrier credentials and whether it uses the public base URL. {@code HandlerDef} has no fields
 * for these, so they are read from
 * the code that is deployed (the Lambda jar): a call graph from the handler's entry points (its no-argument
 * constructor, {@code handleRequest}, static initializers) over the {@code groupmsg} classes, following virtual
 * and interface calls to every implementation in the jar and lambdas from where they are created.
 *
 * <ul>
 *   <li>A handler publishes to topic T when a method it reaches reads the constant {@code Topic.T} (any reached
 *       {@code Topic.values()} / {@code Topic.valueOf} counts as every topic).</li>
 *   <li>It uses the carrier credentials when a method it reaches calls {@code Wiring.carrier()} (to send) or
 *       {@code AppConfig.carrier()} (to verify webhook signatures).</li>
 *   <li>It uses the public base URL when a method it reaches calls {@code AppConfig.publicBaseUrl()} (webhook
 *       signatures, status callback URLs given to the carrier).</li>
 * </ul>
 *
 * {@code Wiring} and {@code AppConfig} themselves are not followed: they are the composition root every handler
 * starts from and build everything for everybody (a carrier, an SNS publisher) whether or not it is used. So new
 * handlers get exactly their topics and the secret without anyone keeping a list of handler names; the test
 * {@code HandlerNeedsTest} pins the result for the known handlers.
 */
public final class HandlerNeeds {

    /**
     * @param writesKeyLookups whether it writes API keys' lookup rows ({@link #KEY_LOOKUP_WRITES}): the stack denies
     *                   every other function writes under {@code Handlers.KEY_LOOKUP_PREFIX}
     * @param schemaUses the shared-definition constants reached ({@code "Tables.CORE"}, {@code "Queues.FANOUT"}, and
     *                   lookups by name as {@code "Queues.byName()"}) -> every method that reads or calls them
     * @param evidence   what was found -> the first method found doing it ({@code Class.method}), for review
     */
    public record Needs(Set<Topic> topics, boolean carrierCredentials, boolean publicBaseUrl,
                        boolean writesKeyLookups, Map<String, Set<String>> schemaUses, Map<String, String> evidence) {
        public Needs(Set<Topic> topics, boolean carrierCredentials, boolean publicBaseUrl, Map<String, String> evidence) {
            this(topics, carrierCredentials, publicBaseUrl, false, Map.of(), evidence);
        }

        public Needs {
            Map<String, Set<String>> uses = new TreeMap<>();
            schemaUses.forEach((k, v) -> uses.put(k, Collections.unmodifiableSet(new TreeSet<>(v))));
            schemaUses = Collections.unmodifiableMap(uses);
            topics = Collections.unmodifiableSet(topics.isEmpty() ? EnumSet.noneOf(Topic.class) : EnumSet.copyOf(topics));
            evidence = Collections.unmodifiableMap(new TreeMap<>(evidence));
        }
    }

    static final String TOPIC = "groupmsg/notify/Topic";
    static final String WIRING = "groupmsg/platform/config/Wiring";
    static final String APP_CONFIG = "groupmsg/platform/config/AppConfig";
    static final String ACCOUNT_STORE = "groupmsg/accounts/AccountStore";
    /** The account store's only methods that write a key's lookup row (a put, a delete). */
    static final Set<String> KEY_LOOKUP_WRITES = Set.of("putKeyHash", "deleteKeyHash");
    /**
     * The shared definitions whose constants ({@code Tables.CORE}, {@code Queues.FANOUT}) code names what it uses by;
     * recorded in {@link Needs#schemaUses()}.
     */
    static final Set<String> SCHEMA = Set.of("groupmsg/platform/schema/Tables", "groupmsg/platform/schema/Queues");
    /** Composition root: built once per execution environment for every handler; not followed (see above). */
    private static final Set<String> NOT_FOLLOWED = Set.of(WIRING, APP_CONFIG);
    private static final String PREFIX = "groupmsg/";

    private static final Map<Path, HandlerNeeds> CACHE = new ConcurrentHashMap<>();

    private final Map<String, ClassInfo> classes;
    private final Map<String, Set<String>> subtypes = new HashMap<>();

    private HandlerNeeds(Map<String, ClassInfo> classes) {
        this.classes = classes;
        for (ClassInfo c : classes.values()) {
            if (c.superName != null) subtypes.computeIfAbsent(c.superName, k -> new HashSet<>()).add(c.name);
            for (String i : c.interfaces) subtypes.computeIfAbsent(i, k -> new HashSet<>()).add(c.name);
        }
    }

    /** The analysis of the {@code groupmsg} classes in this jar (read once per jar and JVM). */
    public static HandlerNeeds of(Path jar) {
        return CACHE.computeIfAbsent(jar.toAbsolutePath().normalize(), HandlerNeeds::read);
    }

    private static HandlerNeeds read(Path jar) {
        Map<String, ClassInfo> classes = new HashMap<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            for (JarEntry e : Collections.list(file.entries())) {
                String n = e.getName();
                if (!n.startsWith(PREFIX) || !n.endsWith(".class")) continue;
                try (InputStream in = file.getInputStream(e)) {
                    ClassInfo info = ClassInfo.parse(in.readAllBytes());
                    classes.put(info.name, info);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + jar, e);
        }
        if (classes.isEmpty()) throw new IllegalStateException(jar + " holds no groupmsg classes");
        return new HandlerNeeds(classes);
    }

    /** Every {@code groupmsg} class in the jar (binary names, e.g. {@code groupmsg.accounts.AdminApiHandler}). */
    public Set<String> classNames() {
        Set<String> out = new TreeSet<>();
        classes.keySet().forEach(n -> out.add(n.replace('/', '.')));
        return out;
    }

    public Needs of(HandlerDef def) {
        String start = def.className().replace('.', '/');
        ClassInfo handler = classes.get(start);
        if (handler == null) {
            throw new IllegalStateException("handler " + def.name() + ": class " + def.className()
                    + " is not in the Lambda jar");
        }
        Set<Topic> topics = EnumSet.noneOf(Topic.class);
        boolean carrier = false;
        boolean publicUrl = false;
        boolean keyLookups = false;
        Map<String, Set<String>> schema = new TreeMap<>();
        Map<String, String> evidence = new LinkedHashMap<>();

        Deque<MethodRef> todo = new ArrayDeque<>();
        Set<MethodRef> seen = new HashSet<>();
        todo.add(new MethodRef(start, "<init>", "()V"));
        for (ClassInfo c = handler; c != null; c = classes.get(c.superName)) {
            for (MethodInfo m : c.methods.values()) {
                if (m.name.equals("handleRequest")) todo.add(new MethodRef(c.name, m.name, m.desc));
            }
        }
        todo.add(new MethodRef(start, "<clinit>", "()V"));
        while (!todo.isEmpty()) {
            MethodRef ref = todo.pop();
            if (!seen.add(ref)) continue;
            ClassInfo owner = classes.get(ref.owner);
            MethodInfo method = owner == null ? null : owner.methods.get(ref.name + ref.desc);
            if (method == null) continue;
            String where = ref.owner.replace('/', '.') + "." + ref.name;
            for (FieldRef f : method.staticReads) {
                if (f.owner.equals(TOPIC) && !ref.owner.equals(TOPIC) && isTopicConstant(f.name)) {
                    Topic t = Topic.valueOf(f.name);
                    if (topics.add(t)) evidence.put("publishes " + t, where);
                }
                if (SCHEMA.contains(f.owner) && !SCHEMA.contains(ref.owner)) {
                    String constant = f.owner.substring(f.owner.lastIndexOf('/') + 1) + "." + f.name;
                    if (schema.computeIfAbsent(constant, k -> new TreeSet<>()).add(where)) {
                        evidence.putIfAbsent("reads " + constant, where);
                    }
                }
                if (!f.owner.equals(ref.owner) && !NOT_FOLLOWED.contains(f.owner)) {
                    todo.add(new MethodRef(f.owner, "<clinit>", "()V"));
                }
            }
            for (Call call : method.calls) {
                if (call.owner.equals(TOPIC) && (call.name.equals("values") || call.name.equals("valueOf"))
                        && !ref.owner.equals(TOPIC)) {
                    for (Topic t : Topic.values()) if (topics.add(t)) evidence.put("publishes " + t, where);
                }
                if ((call.owner.equals(WIRING) || call.owner.equals(APP_CONFIG)) && call.name.equals("carrier")
                        && call.desc.startsWith("()")) {
                    if (!carrier) evidence.put("uses the carrier credentials", where);
                    carrier = true;
                }
                if (call.owner.equals(APP_CONFIG) && call.name.equals("publicBaseUrl") && call.desc.startsWith("()")) {
                    if (!publicUrl) evidence.put("uses the public base URL", where);
                    publicUrl = true;
                }
                if (call.owner.equals(ACCOUNT_STORE) && KEY_LOOKUP_WRITES.contains(call.name)) {
                    if (!keyLookups) evidence.put("writes API key lookups", where);
                    keyLookups = true;
                }
                if (SCHEMA.contains(call.owner) && !SCHEMA.contains(ref.owner) && !call.name.startsWith("<")) {
                    // e.g. Queues.byName(name read from data): which one is not in the code.
                    String lookup = call.owner.substring(call.owner.lastIndexOf('/') + 1) + "." + call.name + "()";
                    if (schema.computeIfAbsent(lookup, k -> new TreeSet<>()).add(where)) {
                        evidence.putIfAbsent("calls " + lookup, where);
                    }
                }
                if (NOT_FOLLOWED.contains(call.owner) || !call.owner.startsWith(PREFIX)) {
                    continue;
                }
                todo.add(new MethodRef(call.owner, "<clinit>", "()V"));
                resolve(call.owner, call.name, call.desc).ifPresent(todo::add);
                if (call.virtual) {
                    for (String sub : allSubtypes(call.owner)) {
                        MethodInfo m = classes.get(sub).methods.get(call.name + call.desc);
                        if (m != null) todo.add(new MethodRef(sub, call.name, call.desc));
                    }
                }
            }
            // Code outside the jar calls back into objects created here: Object's methods (string concatenation,
            // hash maps) on anything, and every instance method of a class that extends or implements a type from
            // outside the jar (an anonymous Comparator, an Iterator, an AutoCloseable...).
            for (String created : method.instantiated) {
                if (NOT_FOLLOWED.contains(created)) continue;
                boolean callback = hasOutsideSupertype(created);
                for (ClassInfo c = classes.get(created); c != null; c = classes.get(c.superName)) {
                    for (MethodInfo m : c.methods.values()) {
                        if (m.isStatic || m.name.startsWith("<")) continue;
                        if (callback || OBJECT_METHODS.contains(m.name + m.desc)) {
                            todo.add(new MethodRef(c.name, m.name, m.desc));
                        }
                    }
                }
            }
            for (MethodRef lambda : method.lambdas) {
                if (!NOT_FOLLOWED.contains(lambda.owner)) todo.add(lambda);
            }
        }
        return new Needs(topics, carrier, publicUrl, keyLookups, schema, evidence);
    }

    private static final Set<String> OBJECT_METHODS = Set.of("toString()Ljava/lang/String;",
            "equals(Ljava/lang/Object;)Z", "hashCode()I");
    /** Supertypes every class, record or enum has: they call nothing back beyond {@link #OBJECT_METHODS}. */
    private static final Set<String> PLAIN_SUPERTYPES = Set.of("java/lang/Object", "java/lang/Record", "java/lang/Enum");

    /** Whether the type has a supertype (transitively, through types in the jar) from outside the jar. */
    private boolean hasOutsideSupertype(String type) {
        Deque<String> todo = new ArrayDeque<>(List.of(type));
        Set<String> visited = new HashSet<>();
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (!visited.add(t)) continue;
            ClassInfo c = classes.get(t);
            if (c == null) {
                if (!PLAIN_SUPERTYPES.contains(t)) return true;
                continue;
            }
            if (c.superName != null) todo.add(c.superName);
            todo.addAll(c.interfaces);
        }
        return false;
    }

    private static boolean isTopicConstant(String field) {
        for (Topic t : Topic.values()) if (t.name().equals(field)) return true;
        return false;
    }

    /** The method a call to owner.name(desc) runs when the receiver is exactly owner: declared there or inherited. */
    private Optional<MethodRef> resolve(String owner, String name, String desc) {
        Deque<String> types = new ArrayDeque<>(List.of(owner));
        Set<String> visited = new HashSet<>();
        while (!types.isEmpty()) {
            ClassInfo c = classes.get(types.pop());
            if (c == null || !visited.add(c.name)) continue;
            if (c.methods.containsKey(name + desc)) return Optional.of(new MethodRef(c.name, name, desc));
            if (c.superName != null) types.add(c.superName);
            types.addAll(c.interfaces); // default methods
        }
        return Optional.empty();
    }

    private Set<String> allSubtypes(String type) {
        Set<String> out = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(subtypes.getOrDefault(type, Set.of()));
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (out.add(t)) todo.addAll(subtypes.getOrDefault(t, Set.of()));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ class file model

    private record MethodRef(String owner, String name, String desc) {}

    private record FieldRef(String owner, String name) {}

    private record Call(String owner, String name, String desc, boolean virtual) {}

    private static final class MethodInfo {
        final String name;
        final String desc;
        final boolean isStatic;
        final Set<Call> calls = new LinkedHashSet<>();
        final Set<FieldRef> staticReads = new LinkedHashSet<>();
        final Set<String> instantiated = new LinkedHashSet<>();
        final Set<MethodRef> lambdas = new LinkedHashSet<>();

        MethodInfo(String name, String desc, boolean isStatic) {
            this.name = name;
            this.desc = desc;
            this.isStatic = isStatic;
        }
    }

    private static final class ClassInfo {
        String name;
        String superName;
        List<String> interfaces = new ArrayList<>();
        final Map<String, MethodInfo> methods = new LinkedHashMap<>();

        static ClassInfo parse(byte[] bytes) {
            ClassInfo info = new ClassInfo();
            new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
                @Override
                public void visit(int version, int access, String name, String signature, String superName,
                                  String[] interfaces) {
                    info.name = name;
                    info.superName = superName;
                    if (interfaces != null) info.interfaces = List.of(interfaces);
                }

                @Override
                public MethodVisitor visitMethod(int access, String name, String desc, String signature,
                                                 String[] exceptions) {
                    MethodInfo m = new MethodInfo(name, desc, (access & Opcodes.ACC_STATIC) != 0);
                    info.methods.put(name + desc, m);
                    return new MethodVisitor(Opcodes.ASM9) {
                        @Override
                        public void visitMethodInsn(int opcode, String owner, String mName, String mDesc, boolean itf) {
                            boolean virtual = opcode == Opcodes.INVOKEVIRTUAL || opcode == Opcodes.INVOKEINTERFACE;
                            m.calls.add(new Call(owner, mName, mDesc, virtual));
                        }

                        @Override
                        public void visitFieldInsn(int opcode, String owner, String fName, String fDesc) {
                            if (opcode == Opcodes.GETSTATIC || opcode == Opcodes.PUTSTATIC) {
                                m.staticReads.add(new FieldRef(owner, fName));
                            }
                        }

                        @Override
                        public void visitTypeInsn(int opcode, String type) {
                            if (opcode == Opcodes.NEW && type.startsWith(PREFIX)) m.instantiated.add(type);
                        }

                        @Override
                        public void visitInvokeDynamicInsn(String iName, String iDesc, Handle bsm, Object... args) {
                            for (Object a : args) {
                                if (a instanceof Handle h && h.getOwner().startsWith(PREFIX)) {
                                    m.lambdas.add(new MethodRef(h.getOwner(), h.getName(), h.getDesc()));
                                }
                            }
                        }
                    };
                }
            }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
            return info;
        }
    }

    /** For tests: the analysis of the jar at {@code path} without the per-JVM cache. */
    static HandlerNeeds readUncached(Path path) {
        if (!Files.isRegularFile(path)) throw new IllegalArgumentException("no jar at " + path);
        return read(path);
    }
}
