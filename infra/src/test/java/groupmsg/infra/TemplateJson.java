package groupmsg.infra;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Small helpers for walking a synthesized CloudFormation template (as the Maps and Lists Jackson produces). */
final class TemplateJson {

    /** Every logical id referenced by {@code Ref} or {@code Fn::GetAtt} anywhere inside {@code node}. */
    static Set<String> refs(Object node) {
        Set<String> out = new LinkedHashSet<>();
        collectRefs(node, out);
        return out;
    }

    private static void collectRefs(Object node, Set<String> out) {
        if (node instanceof Map<?, ?> map) {
            if (map.size() == 1 && map.get("Ref") instanceof String ref) out.add(ref);
            if (map.size() == 1 && map.get("Fn::GetAtt") instanceof List<?> att && !att.isEmpty()) out.add((String) att.get(0));
            map.values().forEach(v -> collectRefs(v, out));
        } else if (node instanceof List<?> list) {
            list.forEach(v -> collectRefs(v, out));
        }
    }

    /** Every IAM statement inside {@code node} (identity policies, resource policies, trust policies). */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> statements(Object node) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (node instanceof Map<?, ?> map) {
            if (map.get("Statement") instanceof List<?> st) {
                for (Object s : st) out.add((Map<String, Object>) s);
            }
            for (Object v : map.values()) out.addAll(statements(v));
        } else if (node instanceof List<?> list) {
            for (Object v : list) out.addAll(statements(v));
        }
        return out;
    }

    static List<String> strings(Object actionOrResource) {
        List<String> out = new ArrayList<>();
        if (actionOrResource instanceof String s) out.add(s);
        else if (actionOrResource instanceof List<?> list) {
            for (Object o : list) if (o instanceof String s) out.add(s);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    private TemplateJson() {}
}
