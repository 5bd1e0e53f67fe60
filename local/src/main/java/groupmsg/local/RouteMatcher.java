package groupmsg.local;

import groupmsg.platform.api.RouteDef;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Picks the route of a request the way API Gateway HTTP APIs do: paths are compared segment by segment and are
 * case-sensitive; a literal segment beats a {@code {param}} which beats a greedy {@code {param+}} (so
 * {@code GET /v1/groups/import-template.csv} wins over {@code GET /v1/groups/{id}}); a route for the request's
 * method beats an {@code ANY} route. Path parameters are the URL-decoded segment values ("API Gateway decodes
 * URL-encoded request parameters"); a path that matches nothing goes to {@code $default}.
 */
public final class RouteMatcher {

    public record Match(RouteDef route, Map<String, String> pathParameters) {}

    private sealed interface Segment permits Literal, Variable, Greedy {}

    private record Literal(String text) implements Segment {}

    private record Variable(String name) implements Segment {}

    private record Greedy(String name) implements Segment {}

    private record CompiledRoute(RouteDef route, List<Segment> segments) {}

    private record Candidate(CompiledRoute compiled, Map<String, String> parameters) {}

    private static final String ANY = "ANY";

    private final List<CompiledRoute> routes;

    public RouteMatcher(List<RouteDef> routes) {
        this.routes = routes.stream().map(r -> new CompiledRoute(r, compile(r.path()))).toList();
    }

    public Optional<Match> match(String method, String rawPath) {
        if (rawPath == null || !rawPath.startsWith("/")) return Optional.empty();
        String[] raw = rawPath.substring(1).split("/", -1);
        List<Candidate> candidates = new ArrayList<>();
        for (CompiledRoute route : routes) {
            String routeMethod = route.route().method();
            if (!routeMethod.equals(method) && !routeMethod.equals(ANY)) continue;
            Map<String, String> parameters = bind(route.segments(), raw);
            if (parameters != null) candidates.add(new Candidate(route, parameters));
        }
        return candidates.stream()
                .min(Comparator.<Candidate, String>comparing(c -> specificity(c.compiled().segments()))
                        .thenComparing(c -> c.compiled().route().method().equals(ANY)))
                .map(c -> new Match(c.compiled().route(), c.parameters()));
    }

    /** Parameters bound by a match, or null when the path does not fit the route. */
    private static Map<String, String> bind(List<Segment> segments, String[] raw) {
        Map<String, String> parameters = new LinkedHashMap<>();
        for (int i = 0; i < segments.size(); i++) {
            Segment segment = segments.get(i);
            if (segment instanceof Greedy g) {
                if (i >= raw.length) return null;
                String rest = String.join("/", Arrays.copyOfRange(raw, i, raw.length));
                if (rest.isEmpty()) return null;
                parameters.put(g.name(), PercentDecoding.decodePath(rest));
                return parameters;
            }
            if (i >= raw.length) return null;
            String value = PercentDecoding.decodePath(raw[i]);
            switch (segment) {
                case Literal l -> {
                    if (!l.text().equals(value)) return null;
                }
                case Variable v -> {
                    if (value.isEmpty()) return null;
                    parameters.put(v.name(), value);
                }
                case Greedy g -> throw new AssertionError("handled above");
            }
        }
        return segments.size() == raw.length ? parameters : null;
    }

    /** A string that sorts more specific routes first: one character per segment, literal < variable < greedy. */
    private static String specificity(List<Segment> segments) {
        var key = new StringBuilder();
        for (Segment s : segments) {
            key.append(switch (s) {
                case Literal l -> 'a';
                case Variable v -> 'b';
                case Greedy g -> 'c';
            });
        }
        return key.toString();
    }

    private static List<Segment> compile(String path) {
        if (!path.startsWith("/")) throw new IllegalArgumentException("route path must start with /: " + path);
        List<Segment> segments = new ArrayList<>();
        String[] parts = path.substring(1).split("/", -1);
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            if (part.startsWith("{") && part.endsWith("}")) {
                String name = part.substring(1, part.length() - 1);
                if (name.endsWith("+")) {
                    if (i != parts.length - 1) throw new IllegalArgumentException("greedy variable must be last: " + path);
                    segments.add(new Greedy(name.substring(0, name.length() - 1)));
                } else {
                    segments.add(new Variable(name));
                }
            } else {
                segments.add(new Literal(part));
            }
        }
        return segments;
    }
}
