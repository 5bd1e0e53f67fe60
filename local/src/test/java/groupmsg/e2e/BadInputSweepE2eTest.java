package groupmsg.e2e;

import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import groupmsg.platform.json.Json;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.Select;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static groupmsg.e2e.ConversationsE2eTest.ANN;
import static groupmsg.e2e.ConversationsE2eTest.BOB;
import static groupmsg.e2e.ConversationsE2eTest.create;
import static groupmsg.e2e.ConversationsE2eTest.groupLine;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.InboundE2eTest.inbound;
import static groupmsg.e2e.InboundE2eTest.postInbound;
import static groupmsg.e2e.InboundE2eTest.sid;
import static groupmsg.e2e.InboundE2eTest.twilioInbound;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * API.md's "bad input never yields a 5xx" over every route of the table at once, on real resources of an account (so
 * each request reaches its body's checks, not a 404 for its path): malformed, mistyped and oversized bodies on every
 * POST and PATCH are a 4xx in the contract's error shape and change nothing (the account's resources read the same
 * through the API after, and its partition holds the same items); bad paging and unknown parameters are a 400 on
 * every list and never a 5xx on any read. A route added later is swept without a change here. DELETEs read nothing
 * but their path and are left out (a sweep would delete the resources).
 */
@ExtendWith(LocalRuntimeExtension.class)
class BadInputSweepE2eTest {

    private static final Set<String> CODES = Set.of("invalid_request", "unauthorized", "forbidden", "not_found",
            "not_cancellable", "conflict", "payload_too_large", "rate_limited");

    /** Bodies no route takes: each is refused as the caller's mistake. */
    private static final List<byte[]> BAD_BODIES = List.of(
            bytes("{"), bytes("[]"), bytes("null"), bytes("\"text\""), bytes("42"), bytes("{\"zzz\":1}"),
            bytes("{\"name\":{},\"body\":[],\"phone\":7,\"members\":\"x\",\"lineId\":false,\"url\":1}"),
            bytes("[".repeat(200) + "]".repeat(200)),
            bytes("{\"name\":\"" + "x".repeat(300_000) + "\"}"),
            new byte[]{'{', '"', 'n', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'});

    /** Query strings no list takes as they are. */
    private static final List<String> BAD_QUERIES = List.of("?limit=0", "?limit=abc", "?limit=1000000000000",
            "?cursor=not-a-cursor", "?cursor=bm90LWEtY3Vyc29y", "?cursor=%25%25", "?zzz=1", "?limit=5&limit=6");

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void noRouteAnswersBadInputWithA5xxAndBadBodiesChangeNothing(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Bad Input Sweep Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String line = linePhone();
        String lineId = groupLine(a, line, 50);
        String group = (String) a.post("/v1/groups", Map.of("name", "Sweep")).jsonObject().get("id");
        String member = "+14155550161";
        assertThat(a.post("/v1/groups/" + group + "/members", Map.of("members", List.of(Map.of("phone", member)))).status())
                .isEqualTo(200);
        assertThat(a.post("/v1/lines/" + lineId + "/keywords", Map.of("keyword", "JOIN", "action", "join", "groupId", group))
                .status()).isEqualTo(201);
        var sent = a.post("/v1/groups/" + group + "/messages", Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Hi"));
        assertThat(sent.status()).as(sent.body()).isEqualTo(202);
        String conversation = (String) create(a, lineId, List.of(ANN, BOB), "Hello").get("id");
        String threadMessage = (String) ConversationsE2eTest.thread(a, conversation).getFirst().get("id");
        var key = a.post("/v1/api-keys", Map.of("name", "spare", "role", "member"));
        assertThat(key.status()).isEqualTo(201);
        assertThat(postInbound(a, runtime, twilioInbound(sid(), "+14155550162", line, "Hello there"), null).status()).isEqualTo(200);
        String inboundId = (String) await(() -> inbound(a, "?lineId=" + lineId), l -> !l.isEmpty(), 10_000).getFirst().get("id");
        runtime.awaitIdle();

        Map<String, String> ids = new LinkedHashMap<>();
        ids.put("/v1/api-keys/{id}", (String) key.jsonObject().get("id"));
        ids.put("/v1/groups/{id}", group);
        ids.put("/v1/lines/{id}", lineId);
        var webhook = a.post("/v1/webhooks", Map.of("url", "https://hooks.example.com/sweep", "events", List.of("reply.received")));
        assertThat(webhook.status()).as(webhook.body()).isEqualTo(201);
        ids.put("/v1/webhooks/{id}", (String) webhook.jsonObject().get("id"));
        ids.put("/v1/messages/{id}", (String) sent.jsonObject().get("id"));
        ids.put("/v1/conversations/{id}", conversation);
        ids.put("/v1/inbound/{id}", inboundId);

        List<String> resources = List.of("/v1/account", "/v1/groups", "/v1/groups/" + group, "/v1/groups/" + group + "/members",
                "/v1/lines", "/v1/lines/" + lineId + "/keywords", "/v1/conversations/" + conversation,
                "/v1/conversations/" + conversation + "/messages", "/v1/webhooks", "/v1/opt-outs?lineId=" + lineId,
                "/v1/inbound?lineId=" + lineId, "/v1/usage");
        Map<String, String> before = read(a, resources);
        long itemsBefore = accountItems(runtime, accountId);
        List<String> faults = new ArrayList<>();
        int requests = 0;
        int lists = 0;
        for (RouteDef route : Routes.ALL) {
            if (!route.authorized() || route.method().equals("DELETE")) continue;
            String path = path(route, ids, lineId, member, threadMessage);
            if (route.method().equals("GET")) {
                var plain = a.get(path);
                // a list (JSON items, or a CSV part; not the import template, a file) refuses each of these; any
                // other read at least never fails on them
                boolean list = plain.status() == 200 && (plain.body().startsWith("{\"items\"")
                        || plain.headers().getOrDefault("content-type", List.of("")).getFirst().startsWith("text/csv")
                        && !route.path().endsWith("/import-template.csv"));
                if (list) lists++;
                for (String query : BAD_QUERIES) {
                    var r = a.send("GET", path + (path.contains("?") ? "&" + query.substring(1) : query), null, (byte[]) null);
                    requests++;
                    if (r.status() >= 500 || r.status() >= 400 && !contractError(r) || list && r.status() != 400) {
                        faults.add(route.key() + query + " -> " + r.status() + " " + cut(r.body()));
                    }
                }
                continue;
            }
            for (byte[] body : BAD_BODIES) {
                for (String type : List.of("application/json", "text/plain")) {
                    var r = a.send(route.method(), path, type, body);
                    requests++;
                    if (r.status() < 400 || r.status() >= 500 || !contractError(r)) {
                        faults.add(route.key() + " " + type + " " + shown(body) + " -> " + r.status() + " " + cut(r.body()));
                    }
                }
            }
        }
        assertThat(faults).as(requests + " requests").isEmpty();
        assertThat(requests).isGreaterThan(800);
        assertThat(lists).as("lists found among the reads").isGreaterThan(15);
        runtime.awaitIdle(); // what a request handed to a worker is done too
        assertThat(read(a, resources)).as("the account's resources, read through the API").isEqualTo(before);
        assertThat(accountItems(runtime, accountId)).as("items of the account's partition").isEqualTo(itemsBefore);
    }

    /** Each path's answer (status and body), read through the API. */
    private static Map<String, String> read(ApiClient a, List<String> paths) {
        Map<String, String> read = new LinkedHashMap<>();
        for (String path : paths) {
            var r = a.get(path);
            read.put(path, r.status() + " " + r.body());
        }
        return read;
    }

    /** The route's path with its parameters filled in with the account's resources. */
    private static String path(RouteDef route, Map<String, String> ids, String lineId, String member, String threadMessage) {
        String path = route.path();
        for (var id : ids.entrySet()) {
            if (path.startsWith(id.getKey())) path = id.getKey().replace("{id}", id.getValue()) + path.substring(id.getKey().length());
        }
        return path.replace("{phone}", member.replace("+", "%2B"))
                .replace("{keyword}", "JOIN")
                .replace("{lineId}", lineId)
                .replace("{importId}", "imp_01JDNOSUCHIMPORT00000000000")
                .replace("{messageId}", path.startsWith("/v1/conversations/") ? threadMessage : "dmg_nosuch");
    }

    /** A 4xx body as the contract shapes it: {@code {"error": {code, message, details}}} with one of its codes. */
    @SuppressWarnings("unchecked")
    private static boolean contractError(ApiClient.Response r) {
        try {
            var error = (Map<String, Object>) Json.parseObject(r.body()).get("error");
            return error != null && CODES.contains((String) error.get("code")) && error.get("message") instanceof String
                    && error.get("details") instanceof List<?>;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static long accountItems(LocalRuntime runtime, String accountId) {
        var w = runtime.wiring();
        return w.dynamo().query(q -> q.tableName(w.config().table(Tables.CORE)).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("ACCT#" + accountId)))
                .select(Select.COUNT).consistentRead(true)).count();
    }

    private static String shown(byte[] body) {
        return cut(new String(body, StandardCharsets.UTF_8));
    }

    private static String cut(String s) {
        return s == null ? "null" : s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }
}
