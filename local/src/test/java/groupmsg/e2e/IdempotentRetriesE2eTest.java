package groupmsg.e2e;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import groupmsg.conversations.ConversationsApiHandler;
import groupmsg.groups.GroupsApiHandler;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.messages.MessagesApiHandler;
import groupmsg.platform.api.HttpApiHandler;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

import static groupmsg.e2e.ConversationsE2eTest.groupLine;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.awaitSent;
import static groupmsg.e2e.MessagesE2eTest.carrierMessages;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Requests that create things and then meet a fault: once their work is committed they succeed, or their retry
 * under the same Idempotency-Key finds that work, and nobody is sent anything twice. The API handlers run here on
 * SDK clients that fail chosen requests; the runtime's workers send what they enqueue.
 */
@ExtendWith(LocalRuntimeExtension.class)
class IdempotentRetriesE2eTest {

    /** The runtime's tables and queues through clients whose first request that {@code which} picks fails. */
    static Wiring failingOnce(LocalRuntime runtime, Predicate<Object> which) {
        return failing(runtime, which, 1, () -> SdkClientException.create("injected fault (test)"));
    }

    /** The runtime's tables and queues through clients whose first {@code times} requests that {@code which} picks fail. */
    static Wiring failing(LocalRuntime runtime, Predicate<Object> which, int times, Supplier<RuntimeException> fault) {
        var failures = new AtomicInteger();
        ExecutionInterceptor interceptor = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (which.test(context.request()) && failures.getAndIncrement() < times) {
                    throw fault.get();
                }
            }
        };
        return runtime.wiringWith(interceptor);
    }

    static Predicate<Object> sendsTo(String queueName) {
        return request -> request instanceof SendMessageBatchRequest b && b.queueUrl().contains(queueName);
    }

    /** The write that remembers an Idempotency-Key's response. */
    static boolean completesAnIdempotencyRecord(Object request) {
        return request instanceof UpdateItemRequest u && u.key().get("pk").s().endsWith("#IDEM")
                && u.updateExpression().contains(":done");
    }

    /** One API request straight to a handler, as API Gateway would send it after the authorizer. */
    static APIGatewayV2HTTPResponse call(HttpApiHandler handler, ApiClient caller, String routeKey, String path,
                                         Map<String, String> pathParameters, Object body, String idempotencyKey) {
        @SuppressWarnings("unchecked")
        var keys = (List<Map<String, Object>>) caller.get("/v1/api-keys").jsonObject().get("items");
        return call(handler, caller, routeKey, path, pathParameters, body, idempotencyKey, (String) keys.getFirst().get("id"), "owner");
    }

    /** As the call above, by the account's key {@code keyId} of {@code role}. */
    static APIGatewayV2HTTPResponse call(HttpApiHandler handler, ApiClient caller, String routeKey, String path,
                                         Map<String, String> pathParameters, Object body, String idempotencyKey,
                                         String keyId, String role) {
        Map<String, Object> account = caller.get("/v1/account").jsonObject();
        var event = new APIGatewayV2HTTPEvent();
        event.setRouteKey(routeKey);
        event.setRawPath(path);
        event.setPathParameters(pathParameters);
        event.setHeaders(new HashMap<>(Map.of("content-type", "application/json", "idempotency-key", idempotencyKey)));
        event.setBody(Json.write(body));
        var authorizer = new APIGatewayV2HTTPEvent.RequestContext.Authorizer();
        authorizer.setLambda(Map.of("accountId", account.get("id"), "keyId", keyId, "role", role));
        var context = new APIGatewayV2HTTPEvent.RequestContext();
        context.setAuthorizer(authorizer);
        context.setRouteKey(routeKey);
        event.setRequestContext(context);
        var lambdaContext = (com.amazonaws.services.lambda.runtime.Context) Proxy.newProxyInstance(
                IdempotentRetriesE2eTest.class.getClassLoader(), new Class<?>[]{com.amazonaws.services.lambda.runtime.Context.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getRemainingTimeInMillis" -> 10_000;
                    case "getAwsRequestId" -> "test-request";
                    default -> null;
                });
        return handler.handleRequest(event, lambdaContext);
    }

    /** Sends what was left in the outbox (maintenance does this for rows over 30 s old). */
    static void redriveOutbox(LocalRuntime runtime) {
        Wiring w = runtime.wiring();
        new Outbox(w.dynamo(), w.config().table(Tables.CORE), new SqsQueueSender(w.sqsClient(), w.config()), w.clock())
                .redrive(Duration.ZERO, 100);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGroupMessageWhoseFanOutCouldNotBeEnqueuedIsAcceptedSentOnceAndReplayed(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Enqueue Fault Co");
        String line = linePhone();
        String lineId = createLine(a, line, 100);
        String g = createGroup(a, "Enqueue fault");
        List<String> phones = addMembers(a, g, 100, 3);
        var handler = new MessagesApiHandler(failingOnce(runtime, sendsTo("fanout")));
        Map<String, Object> body = Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Enqueue fault");

        // SQS refuses the fan-out job: the message is accepted all the same (its job waits in the outbox)
        var first = call(handler, a, "POST /v1/groups/{id}/messages", "/v1/groups/" + g + "/messages", Map.of("id", g), body, "send-1");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(202);
        String id = (String) Json.parseObject(first.getBody()).get("id");
        redriveOutbox(runtime);
        assertThat(awaitSent(a, id, 20_000)).containsEntry("status", "sent");

        // the client's retry is the original answer, and sends nothing
        var retry = a.withHeader("Idempotency-Key", "send-1").post("/v1/groups/" + g + "/messages", body);
        assertThat(retry.status()).isEqualTo(202);
        assertThat(retry.jsonObject()).containsEntry("id", id);
        for (String p : phones) {
            assertThat(carrierMessages(a, line).stream().filter(m -> p.equals(m.get("to")))).as(p).hasSize(1);
        }
        assertThat((List<Object>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items")).hasSize(1);
    }

    /**
     * A queue that hangs costs maintenance one send's time limit, not its run: the outbox's send to it gives up after
     * 10 s and the run goes on to its last step (it hung on the 20 s socket timeout, retried, past the 60 s run, and
     * the steps after it never ran); the row stays, and a later run sends it.
     */
    @Test
    void aHangingQueueCostsMaintenanceOneSendsTimeNotItsRun(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Hanging Queue Co");
        String line = linePhone();
        String lineId = createLine(a, line, 100);
        String g = createGroup(a, "Hanging queue");
        addMembers(a, g, 100, 2);
        var handler = new MessagesApiHandler(failingOnce(runtime, sendsTo("fanout")));
        var first = call(handler, a, "POST /v1/groups/{id}/messages", "/v1/groups/" + g + "/messages", Map.of("id", g),
                Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Hanging queue"), "hang-1");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(202);
        String id = (String) Json.parseObject(first.getBody()).get("id");

        // two minutes on (the row past the outbox's grace), the fan-out queue hanging
        var hangs = new AtomicInteger();
        Wiring hanging = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
                if (sendsTo("fanout").test(context.request())) {
                    hangs.incrementAndGet();
                    try {
                        Thread.sleep(40_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("the hanging send was cut off", e);
                    }
                }
            }
        }).withClock(java.time.Clock.offset(java.time.Clock.systemUTC(), Duration.ofMinutes(2)));
        var sixtySeconds = (com.amazonaws.services.lambda.runtime.Context) Proxy.newProxyInstance(
                IdempotentRetriesE2eTest.class.getClassLoader(), new Class<?>[]{com.amazonaws.services.lambda.runtime.Context.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getRemainingTimeInMillis" -> 60_000;
                    case "getAwsRequestId" -> "test-request";
                    default -> null;
                });
        long started = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.maintenance.MaintenanceHandler(hanging)
                .handleRequest(new com.amazonaws.services.lambda.runtime.events.ScheduledEvent(), sixtySeconds));
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(hangs).as("the send was tried").hasPositiveValue();
        assertThat(tookMillis).as("one send's limit, not the hang").isLessThan(25_000);
        assertThat(a.get("/v1/messages/" + id).jsonObject()).containsEntry("status", "sending");

        redriveOutbox(runtime);
        assertThat(awaitSent(a, id, 20_000)).containsEntry("status", "sent");
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGroupMessageAcceptedButNotRememberedIsFoundByItsRetryAndSentOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Lost Answer Co");
        String line = linePhone();
        String lineId = createLine(a, line, 100);
        String g = createGroup(a, "Lost answer");
        List<String> phones = addMembers(a, g, 200, 3);
        var handler = new MessagesApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Lost answer");

        // accepted and sent, but the key's record could not be completed: the client gets a 500
        var first = call(handler, a, "POST /v1/groups/{id}/messages", "/v1/groups/" + g + "/messages", Map.of("id", g), body, "send-2");
        assertThat(first.getStatusCode()).isEqualTo(500);
        // its retry, at once, runs again with the same id: it finds the message and sends nothing more
        var retry = a.withHeader("Idempotency-Key", "send-2").post("/v1/groups/" + g + "/messages", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(202);
        String id = (String) retry.jsonObject().get("id");
        assertThat(awaitSent(a, id, 20_000)).containsEntry("status", "sent").containsEntry("recipients", 3);
        assertThat((List<Object>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items")).hasSize(1);
        runtime.awaitIdle(); // a second message's sends would have gone by now
        for (String p : phones) {
            assertThat(carrierMessages(a, line).stream().filter(m -> p.equals(m.get("to")))).as(p).hasSize(1);
        }
        var replay = a.withHeader("Idempotency-Key", "send-2").post("/v1/groups/" + g + "/messages", body);
        assertThat(replay.header("idempotent-replayed")).isEqualTo("true");
        assertThat(replay.jsonObject()).containsEntry("id", id);
        // another body under the key is still refused
        assertThat(a.withHeader("Idempotency-Key", "send-2").post("/v1/groups/" + g + "/messages",
                Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Other")).status()).isEqualTo(409);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aConversationWhoseFirstMessageCouldNotBeEnqueuedIsCreatedOnceAndItsMessageSentOnce(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Conversation Fault Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 10);
        var handler = new ConversationsApiHandler(failingOnce(runtime, sendsTo("relays")));
        Map<String, Object> body = Map.of("lineId", lineId, "participants", List.of("+14155550801", "+14155550802"),
                "body", "Kick-off at 9");

        var first = call(handler, a, "POST /v1/conversations", "/v1/conversations", Map.of(), body, "cnv-1");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(201);
        String id = (String) Json.parseObject(first.getBody()).get("id");
        redriveOutbox(runtime);
        var retry = a.withHeader("Idempotency-Key", "cnv-1").post("/v1/conversations", body);
        assertThat(retry.jsonObject()).containsEntry("id", id);
        long deadline = System.currentTimeMillis() + 20_000;
        while (carrierMessages(a, line).size() < 2 && System.currentTimeMillis() < deadline) Thread.sleep(200);
        runtime.awaitIdle();
        assertThat(carrierMessages(a, line)).extracting(m -> m.get("to")).containsExactlyInAnyOrder("+14155550801", "+14155550802");
        assertThat((List<Object>) a.get("/v1/conversations").jsonObject().get("items")).hasSize(1);

        // a business message whose answer was lost: its retry finds it in the thread, and it is sent once
        var lost = new ConversationsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> next = Map.of("body", "Moved to 10");
        assertThat(call(lost, a, "POST /v1/conversations/{id}/messages", "/v1/conversations/" + id + "/messages",
                Map.of("id", id), next, "cnv-msg-1").getStatusCode()).isEqualTo(500);
        var again = a.withHeader("Idempotency-Key", "cnv-msg-1").post("/v1/conversations/" + id + "/messages", next);
        assertThat(again.status()).as(again.body()).isEqualTo(202);
        deadline = System.currentTimeMillis() + 20_000;
        while (carrierMessages(a, line).size() < 4 && System.currentTimeMillis() < deadline) Thread.sleep(200);
        runtime.awaitIdle();
        assertThat(carrierMessages(a, line)).hasSize(4);
        var thread = (List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages").jsonObject().get("items");
        assertThat(thread).extracting(m -> m.get("body")).containsExactly("Kick-off at 9", "Moved to 10");
        assertThat(thread.get(1)).containsEntry("id", again.jsonObject().get("id"));
    }

    /**
     * A conversation created whose answer was lost (a 500), retried when the caller's role may no longer write
     * conversations (a 403), then again once it may: the retry finds the conversation the first run created. Before,
     * the 403 let the key's record go with the ids it kept, and the last retry created a second conversation.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aRetryRefusedAfterItsFirstRunDidTheWorkStillFindsThatWork(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Role Change Co");
        String lineId = groupLine(a, linePhone(), 10);
        var member = a.post("/v1/api-keys", Map.of("name", "mem", "role", "member")).jsonObject();
        var lost = new ConversationsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("lineId", lineId, "participants", List.of("+14155550821", "+14155550822"), "body", "Hi");
        assertThat(call(lost, a, "POST /v1/conversations", "/v1/conversations", Map.of(), body, "cnv-role-1",
                (String) member.get("id"), "member").getStatusCode()).isEqualTo(500);
        var created = (List<Map<String, Object>>) a.get("/v1/conversations").jsonObject().get("items");
        assertThat(created).hasSize(1);

        ApiClient memberKeyed = a.withKey((String) member.get("key")).withHeader("Idempotency-Key", "cnv-role-1");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of("owner", "admin")))).status()).isEqualTo(200);
        assertThat(memberKeyed.post("/v1/conversations", body).status()).isEqualTo(403);
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("groupChatRoles", List.of("owner", "admin", "member")))).status()).isEqualTo(200);
        var retry = memberKeyed.post("/v1/conversations", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.jsonObject()).containsEntry("id", created.getFirst().get("id"));
        assertThat((List<Object>) a.get("/v1/conversations").jsonObject().get("items")).hasSize(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aConversationFromAGroupWhoseAnswerWasLostIsTheAnswerToItsRetryAfterTheGroupIsGone(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Group Conversation Fault Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 10);
        String g = createGroup(a, "Crew");
        assertThat(a.post("/v1/groups/" + g + "/members", Map.of("members", List.of(Map.of("phone", "+14155550811"),
                Map.of("phone", "+14155550812")))).jsonObject()).containsEntry("added", 2);
        var lost = new ConversationsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("lineId", lineId, "groupId", g, "body", "From the group");
        assertThat(call(lost, a, "POST /v1/conversations", "/v1/conversations", Map.of(), body, "cnv-group-1")
                .getStatusCode()).isEqualTo(500);
        var created = (List<Map<String, Object>>) a.get("/v1/conversations").jsonObject().get("items");
        assertThat(created).hasSize(1);

        // the group is gone by the retry: the conversation its first run created is the answer, not "no such group"
        assertThat(a.delete("/v1/groups/" + g).status()).isEqualTo(204);
        var retry = a.withHeader("Idempotency-Key", "cnv-group-1").post("/v1/conversations", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.jsonObject()).containsEntry("id", created.getFirst().get("id"));
        assertThat((List<Object>) a.get("/v1/conversations").jsonObject().get("items")).hasSize(1);
    }

    @Test
    void aGroupCreatedButNotRememberedIsTheAnswerToItsRetryNotANameConflict(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Group Fault Co");
        var handler = new GroupsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("name", "Volunteers");

        assertThat(call(handler, a, "POST /v1/groups", "/v1/groups", Map.of(), body, "grp-1").getStatusCode()).isEqualTo(500);
        var retry = a.withHeader("Idempotency-Key", "grp-1").post("/v1/groups", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.jsonObject()).containsEntry("name", "Volunteers");
        var groups = a.get("/v1/groups").jsonObject();
        assertThat((List<?>) groups.get("items")).hasSize(1);
        // without the key the name is taken, as before
        assertThat(a.post("/v1/groups", body).status()).isEqualTo(409);
    }

    /**
     * A run that ends in an Error (a stack overflow: a regular expression's recursion on a long input once did) is the
     * contract's 500, its claim given up so its retry runs at once: uncaught, the client got API Gateway's own 500 body
     * and every retry "still being processed" for a minute.
     */
    @Test
    void aRunEndingInAStackOverflowIsTheContracts500AndItsRetryRuns(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Overflow Co");
        var thrown = new AtomicInteger();
        var handler = new GroupsApiHandler(runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest
                        && thrown.getAndIncrement() == 0) {
                    throw new StackOverflowError();
                }
            }
        }));
        Map<String, Object> body = Map.of("name", "Deep Volunteers");
        var response = call(handler, a, "POST /v1/groups", "/v1/groups", Map.of(), body, "grp-deep");
        assertThat(thrown).as("the fault was met").hasValue(1);
        assertThat(response.getStatusCode()).isEqualTo(500);
        assertThat(Json.parseObject(response.getBody())).isEqualTo(Map.of("error",
                Map.of("code", "internal_error", "message", "internal error", "details", List.of())));
        var retry = a.withHeader("Idempotency-Key", "grp-deep").post("/v1/groups", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat((List<?>) a.get("/v1/groups").jsonObject().get("items")).hasSize(1);

        // one thrown as the response is remembered (the group created): the same 500, and the retry finds the group
        var remembering = new AtomicInteger();
        var forgetful = new GroupsApiHandler(runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (completesAnIdempotencyRecord(context.request()) && remembering.getAndIncrement() == 0) {
                    throw new StackOverflowError();
                }
            }
        }));
        Map<String, Object> second = Map.of("name", "Deeper Volunteers");
        var unremembered = call(forgetful, a, "POST /v1/groups", "/v1/groups", Map.of(), second, "grp-deeper");
        assertThat(remembering).as("the fault was met").hasValue(1);
        assertThat(unremembered.getStatusCode()).isEqualTo(500);
        var found = a.withHeader("Idempotency-Key", "grp-deeper").post("/v1/groups", second);
        assertThat(found.status()).as(found.body()).isEqualTo(201);
        assertThat((List<?>) a.get("/v1/groups").jsonObject().get("items")).hasSize(2);
    }

    /**
     * A line keyword created whose answer was not remembered (a 500) is the answer to its retry under the same key, not
     * a 409 "the line has the keyword already"; without the key it is a 409, as before.
     */
    @Test
    void aLineKeywordCreatedButNotRememberedIsTheAnswerToItsRetryNotAConflict(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Keyword Fault Co");
        String line = createLine(a, linePhone(), 10);
        String group = createGroup(a, "Joiners");
        var handler = new groupmsg.accounts.AdminApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("keyword", "join", "action", "join", "groupId", group);
        assertThat(call(handler, a, "POST /v1/lines/{id}/keywords", "/v1/lines/" + line + "/keywords", Map.of("id", line),
                body, "kw-1").getStatusCode()).isEqualTo(500);
        var retry = a.withHeader("Idempotency-Key", "kw-1").post("/v1/lines/" + line + "/keywords", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.jsonObject()).containsEntry("keyword", "JOIN").containsEntry("groupId", group);
        assertThat((List<?>) a.get("/v1/lines/" + line + "/keywords").jsonObject().get("items")).hasSize(1);
        assertThat(a.post("/v1/lines/" + line + "/keywords", body).status()).isEqualTo(409);

        // its group deleted before the retry: the retry's answer is still the keyword it stored, not a 400
        String gone = createGroup(a, "Leaving soon");
        var failing = new groupmsg.accounts.AdminApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> other = Map.of("keyword", "hello", "action", "join", "groupId", gone);
        assertThat(call(failing, a, "POST /v1/lines/{id}/keywords", "/v1/lines/" + line + "/keywords", Map.of("id", line),
                other, "kw-2").getStatusCode()).isEqualTo(500);
        assertThat(a.delete("/v1/groups/" + gone).status()).isEqualTo(204);
        var late = a.withHeader("Idempotency-Key", "kw-2").post("/v1/lines/" + line + "/keywords", other);
        assertThat(late.status()).as(late.body()).isEqualTo(201);
        assertThat(late.jsonObject()).containsEntry("keyword", "HELLO");
    }

    /**
     * A keyword's put whose answer was lost, retried by the SDK, fails its condition on what it wrote itself: that is the
     * request's own keyword, a 201, not another's 409. (The first try is played here by a put of the same item just
     * before the request's own.)
     */
    @Test
    void aLineKeywordPutWhoseAnswerWasLostIsItsOwnNotAConflict(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Keyword Lost Put Co");
        String line = createLine(a, linePhone(), 10);
        String group = createGroup(a, "Joiners");
        var played = new AtomicInteger();
        var plain = runtime.wiring().dynamo();
        var handler = new groupmsg.accounts.AdminApiHandler(runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.PutItemRequest put
                        && put.item().get("sk").s().startsWith("LINEKW#") && played.getAndIncrement() == 0) {
                    plain.putItem(b -> b.tableName(put.tableName()).item(put.item()));
                }
            }
        }));
        var created = call(handler, a, "POST /v1/lines/{id}/keywords", "/v1/lines/" + line + "/keywords", Map.of("id", line),
                Map.of("keyword", "join", "action", "join", "groupId", group), "kw-lost");
        assertThat(created.getStatusCode()).as(created.getBody()).isEqualTo(201);
        assertThat(played).hasValue(1);
        assertThat(a.post("/v1/lines/" + line + "/keywords", Map.of("keyword", "join", "action", "join", "groupId", group))
                .status()).as("another request's is a conflict").isEqualTo(409);
    }

    /**
     * A key whose first run did its work but was not remembered (a 500), and whose retry was then refused (the group
     * deleted meanwhile: 404), stays bound to its path: the members it added there stand, so the same key on another
     * group is a 409 that adds nothing. (Only a key's first use of all, refused, lets its path go.)
     */
    @Test
    void aKeyWhoseRunDidItsWorkStaysOnItsPathAfterALaterRefusal(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Key Path Co");
        String g1 = GroupsE2eTest.createGroup(a, "First");
        String g2 = GroupsE2eTest.createGroup(a, "Second");
        var handler = new GroupsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("members", List.of(Map.of("phone", "+14155550731")));
        assertThat(call(handler, a, "POST /v1/groups/{id}/members", "/v1/groups/" + g1 + "/members", Map.of("id", g1), body,
                "members-1").getStatusCode()).isEqualTo(500);
        assertThat(a.delete("/v1/groups/" + g1).status()).isEqualTo(204);
        var keyed = a.withHeader("Idempotency-Key", "members-1");
        assertThat(keyed.post("/v1/groups/" + g1 + "/members", body).status()).isEqualTo(404);
        var elsewhere = keyed.post("/v1/groups/" + g2 + "/members", body);
        assertThat(elsewhere.status()).as(elsewhere.body()).isEqualTo(409);
        assertThat(a.get("/v1/groups/" + g2).jsonObject()).containsEntry("memberCount", 0);
    }

    /**
     * A group created with members whose add met contention (a 409 after the group committed) is found by the
     * request's retry under its Idempotency-Key, which adds the members. Before, the 409 released the key like an
     * answer that changed nothing: the retry made a new group id and met the first group's name, 409 for good.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aGroupCreatedWhoseMembersMetContentionIsCompletedByItsRetry(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Group Contention Co");
        String members = runtime.wiring().config().table(groupmsg.platform.schema.Tables.MEMBERS);
        // every membership transaction finds a member row changed under it (another writer), until it gives up
        ExecutionInterceptor contended = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest tx && tx.transactItems().stream()
                        .anyMatch(i -> (i.put() != null && members.equals(i.put().tableName()))
                                || (i.update() != null && members.equals(i.update().tableName())))) {
                    var reasons = new java.util.ArrayList<software.amazon.awssdk.services.dynamodb.model.CancellationReason>();
                    for (int i = 0; i < tx.transactItems().size(); i++) {
                        reasons.add(software.amazon.awssdk.services.dynamodb.model.CancellationReason.builder()
                                .code(i == 0 ? "ConditionalCheckFailed" : "None").build());
                    }
                    throw software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException.builder()
                            .message("injected contention (test)").cancellationReasons(reasons).build();
                }
            }
        };
        var handler = new GroupsApiHandler(runtime.wiringWith(contended));
        Map<String, Object> body = Map.of("name", "Ushers", "members", List.of(Map.of("phone", "+14155550871", "name", "Ann"),
                Map.of("phone", "+14155550872")));

        var first = call(handler, a, "POST /v1/groups", "/v1/groups", Map.of(), body, "grp-contended");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(409);
        var retry = a.withHeader("Idempotency-Key", "grp-contended").post("/v1/groups", body);

        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.jsonObject()).containsEntry("name", "Ushers").containsEntry("memberCount", 2);
        var groups = (List<Map<String, Object>>) a.get("/v1/groups").jsonObject().get("items");
        assertThat(groups).singleElement().satisfies(g -> assertThat(g).containsEntry("id", retry.jsonObject().get("id")));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aConversationCreatedButNotRememberedIsTheAnswerToItsRetryEvenIfAnOptOutWouldBlockANewOne(ApiClient api,
                                                                                                 LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Blocked Retry Co");
        assertThat(a.patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String line = linePhone();
        String lineId = groupLine(a, line, 10);
        var lost = new ConversationsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("lineId", lineId, "participants", List.of("+14155550811", "+14155550812"),
                "body", "Shift swap?");
        assertThat(call(lost, a, "POST /v1/conversations", "/v1/conversations", Map.of(), body, "cnv-blocked").getStatusCode())
                .isEqualTo(500);
        // meanwhile one of them opts out: a new conversation with them would be refused (409)
        assertThat(a.post("/v1/opt-outs", Map.of("lineId", lineId, "phone", "+14155550812")).status()).isEqualTo(201);
        assertThat(a.post("/v1/conversations", body).status()).isEqualTo(409);

        var retry = a.withHeader("Idempotency-Key", "cnv-blocked").post("/v1/conversations", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat((List<Object>) a.get("/v1/conversations").jsonObject().get("items")).hasSize(1);
        String id = (String) retry.jsonObject().get("id");
        String first = (String) ((List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages").jsonObject()
                .get("items")).getFirst().get("id");
        var copies = InboundE2eTest.await(() -> (List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages/"
                + first + "/deliveries").jsonObject().get("items"),
                l -> !l.isEmpty() && l.stream().noneMatch(d -> "queued".equals(d.get("status"))), 15_000);
        assertThat(copies).isNotEmpty().noneMatch(d -> "queued".equals(d.get("status")));
        // the first message went out at most once each, never to the number once it opted out; and under
        // block_conversation the opt-out blocked the conversation: what of it was not sent by then goes to nobody
        var sentTo = carrierMessages(a, line).stream().map(m -> (String) m.get("to")).toList();
        assertThat(sentTo).doesNotHaveDuplicates().isSubsetOf("+14155550811", "+14155550812");
        assertThat(copies).filteredOn(d -> !sentTo.contains(d.get("phone")))
                .allSatisfy(d -> assertThat(d.get("status")).isIn("failed", "opted_out"));
        assertThat(a.get("/v1/conversations/" + id).jsonObject()).containsEntry("status", "blocked");
    }

    /** The first write of a business message in a conversation: its thread row, with the message that sends it. */
    static boolean storesAThreadMessage(Object request) {
        return request instanceof TransactWriteItemsRequest t && t.transactItems().stream()
                .anyMatch(i -> i.put() != null && i.put().item().get("pk").s().contains("#CNV#"));
    }

    /** A group message's acceptance. */
    static boolean acceptsAGroupMessage(Object request) {
        return request instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest t
                && t.transactItems().stream().anyMatch(i -> i.put() != null && i.put().item().get("sk").s().startsWith("MSG#msg_"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRetryWhoseFirstRunStoredNothingTakesItsOwnTimeSoListsKeepTheOrderThingsHappenedIn(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Fresh Retry Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 10);
        String id = (String) a.post("/v1/conversations", Map.of("lineId", lineId,
                "participants", List.of("+14155550821", "+14155550822"), "body", "Kick-off")).jsonObject().get("id");

        // A fails before anything is stored; B is sent; A is retried: A is listed after B, as the phones got them
        var failing = new ConversationsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::storesAThreadMessage));
        Map<String, Object> first = Map.of("body", "A");
        assertThat(call(failing, a, "POST /v1/conversations/{id}/messages", "/v1/conversations/" + id + "/messages",
                Map.of("id", id), first, "fresh-a").getStatusCode()).isEqualTo(500);
        Thread.sleep(20);
        assertThat(a.post("/v1/conversations/" + id + "/messages", Map.of("body", "B")).status()).isEqualTo(202);
        Thread.sleep(20);
        // retried a minute later (sooner, the first run's writes could still land: it keeps its ids, back-dated seconds)
        var minuteLater = new ConversationsApiHandler(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofSeconds(61))));
        var retriedCall = call(minuteLater, a, "POST /v1/conversations/{id}/messages", "/v1/conversations/" + id + "/messages",
                Map.of("id", id), first, "fresh-a");
        assertThat(retriedCall.getStatusCode()).as(retriedCall.getBody()).isEqualTo(202);
        var retried = new ApiClient.Response(retriedCall.getStatusCode(), Map.of(), retriedCall.getBody());
        var thread = (List<Map<String, Object>>) a.get("/v1/conversations/" + id + "/messages").jsonObject().get("items");
        assertThat(thread).extracting(m -> m.get("body")).containsExactly("Kick-off", "B", "A");
        assertThat((String) thread.get(2).get("createdAt")).isGreaterThan((String) thread.get(1).get("createdAt"));
        // and a second retry finds the renewed one
        assertThat(a.withHeader("Idempotency-Key", "fresh-a").post("/v1/conversations/" + id + "/messages", first).jsonObject())
                .containsEntry("id", retried.jsonObject().get("id"));

        // the same for group messages: newest first by id and by createdAt
        String g = createGroup(a, "Fresh retry");
        addMembers(a, g, 300, 2);
        String groupLine = createLine(a, linePhone(), 100);
        var failingSend = new MessagesApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::acceptsAGroupMessage));
        Map<String, Object> sendA = Map.of("lineId", groupLine, "sender", "Ops", "title", "t", "body", "Group A");
        assertThat(call(failingSend, a, "POST /v1/groups/{id}/messages", "/v1/groups/" + g + "/messages", Map.of("id", g),
                sendA, "fresh-send-a").getStatusCode()).isEqualTo(500);
        Thread.sleep(20);
        String b = (String) a.post("/v1/groups/" + g + "/messages", Map.of("lineId", groupLine, "sender", "Ops", "title", "t",
                "body", "Group B")).jsonObject().get("id");
        Thread.sleep(20);
        var sendMinuteLater = new MessagesApiHandler(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofSeconds(61))));
        String retriedSend = (String) Json.parseObject(call(sendMinuteLater, a, "POST /v1/groups/{id}/messages",
                "/v1/groups/" + g + "/messages", Map.of("id", g), sendA, "fresh-send-a").getBody()).get("id");
        var listed = (List<Map<String, Object>>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items");
        assertThat(listed).extracting(m -> m.get("id")).containsExactly(retriedSend, b);
    }

    @Test
    void aGroupMessageAcceptedButNotRememberedIsTheAnswerToItsRetryAfterItsGroupWasDeleted(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Deleted Group Retry Co");
        String lineId = createLine(a, linePhone(), 100);
        String g = createGroup(a, "Short-lived");
        addMembers(a, g, 400, 2);
        var handler = new MessagesApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Last call");
        assertThat(call(handler, a, "POST /v1/groups/{id}/messages", "/v1/groups/" + g + "/messages", Map.of("id", g), body,
                "deleted-group").getStatusCode()).isEqualTo(500);
        assertThat(a.delete("/v1/groups/" + g).status()).isEqualTo(204);

        var retry = a.withHeader("Idempotency-Key", "deleted-group").post("/v1/groups/" + g + "/messages", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(202);
        assertThat(awaitSent(a, (String) retry.jsonObject().get("id"), 20_000)).containsEntry("status", "sent")
                .containsEntry("recipients", 2);
        // without the key, the group is gone
        assertThat(a.post("/v1/groups/" + g + "/messages", body).status()).isEqualTo(404);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGroupMessageThrottledAtAcceptanceIsA503ThatChangesNothingAndItsRetryIsSentOnce(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Throttled Send Co");
        String line = linePhone();
        String lineId = createLine(a, line, 100);
        String g = createGroup(a, "Throttled");
        List<String> phones = addMembers(a, g, 500, 2);
        var throttled = new MessagesApiHandler(failing(runtime, IdempotentRetriesE2eTest::acceptsAGroupMessage,
                Integer.MAX_VALUE, () -> ProvisionedThroughputExceededException.builder().statusCode(400)
                        .awsErrorDetails(AwsErrorDetails.builder().errorCode("ProvisionedThroughputExceededException")
                                .errorMessage("The level of configured provisioned throughput for the table was exceeded (test)")
                                .build()).build()));
        Map<String, Object> body = Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Throttled");

        var first = call(throttled, a, "POST /v1/groups/{id}/messages", "/v1/groups/" + g + "/messages", Map.of("id", g),
                body, "throttled-1");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(503);
        assertThat(first.getHeaders()).containsEntry("retry-after", "1");
        var error = (Map<String, Object>) Json.parseObject(first.getBody()).get("error");
        assertThat(error).containsEntry("code", "unavailable").containsEntry("details", List.of());
        assertThat((String) error.get("message")).contains("retry").doesNotContain("throughput");
        assertThat((List<Object>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items")).isEmpty();
        runtime.awaitIdle();
        assertThat(carrierMessages(a, line)).isEmpty();

        // the retry the 503 asks for, once the table has capacity again: accepted and sent, once each
        var retry = a.withHeader("Idempotency-Key", "throttled-1").post("/v1/groups/" + g + "/messages", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(202);
        assertThat(retry.header("idempotent-replayed")).isNull();
        assertThat(awaitSent(a, (String) retry.jsonObject().get("id"), 20_000)).containsEntry("recipients", 2);
        for (String p : phones) {
            assertThat(carrierMessages(a, line).stream().filter(m -> p.equals(m.get("to")))).as(p).hasSize(1);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGroupCreatedWhileStorageIsOutOfReachIsA503ThatCreatesNothing(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Unreachable Store Co");
        var unreachable = new GroupsApiHandler(failing(runtime, r -> r instanceof TransactWriteItemsRequest, 1,
                () -> SdkClientException.builder().message("Unable to execute HTTP request: Connection refused")
                        .cause(new java.net.ConnectException("Connection refused")).build()));
        var first = call(unreachable, a, "POST /v1/groups", "/v1/groups", Map.of(), Map.of("name", "Out of reach"),
                "unreachable-1");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(503);
        assertThat(first.getHeaders()).containsEntry("retry-after", "1");
        assertThat(first.getBody()).doesNotContain("Connection refused");
        assertThat((List<Object>) a.get("/v1/groups").jsonObject().get("items")).isEmpty();

        var retry = a.withHeader("Idempotency-Key", "unreachable-1").post("/v1/groups", Map.of("name", "Out of reach"));
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat((List<Map<String, Object>>) a.get("/v1/groups").jsonObject().get("items"))
                .extracting(m -> m.get("name")).containsExactly("Out of reach");

        // a fault that is the request's or the code's own stays a 500, which waiting would not cure
        var broken = new GroupsApiHandler(failing(runtime, r -> r instanceof TransactWriteItemsRequest, 1,
                () -> SdkClientException.create("Unable to marshall request (test)")));
        assertThat(call(broken, a, "POST /v1/groups", "/v1/groups", Map.of(), Map.of("name", "Broken"), "broken-1")
                .getStatusCode()).isEqualTo(500);
    }

    /**
     * An API key created but its answer lost (the key's record could not be completed: a 500): the retry under the
     * same Idempotency-Key makes no second key. The one key gets a new secret, which the retry answers, and which works;
     * before, a second key was made, and the first one's secret was seen by nobody.
     */
    @Test
    @SuppressWarnings("unchecked")
    void anApiKeyWhoseAnswerWasLostIsOneKeyWithTheRetrysSecret(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Lost Key Answer Co");
        var handler = new groupmsg.accounts.AdminApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("name", "ci", "role", "admin");
        var first = call(handler, a, "POST /v1/api-keys", "/v1/api-keys", Map.of(), body, "key-lost-1");
        assertThat(first.getStatusCode()).isEqualTo(500);

        var retry = a.withHeader("Idempotency-Key", "key-lost-1").post("/v1/api-keys", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        String secret = (String) retry.jsonObject().get("key");
        assertThat(secret).isNotBlank();
        var keys = (List<Map<String, Object>>) a.get("/v1/api-keys").jsonObject().get("items");
        assertThat(keys).filteredOn(k -> "ci".equals(k.get("name"))).singleElement().satisfies(k -> {
            assertThat(k.get("id")).isEqualTo(retry.jsonObject().get("id"));
            assertThat(k.get("last4")).isEqualTo(secret.substring(secret.length() - 4));
        });
        assertThat(a.withKey(secret).get("/v1/account").status()).isEqualTo(200);
        // replayed from now on: the same key, its secret not shown again
        var replay = a.withHeader("Idempotency-Key", "key-lost-1").post("/v1/api-keys", body);
        assertThat(replay.header("idempotent-replayed")).isEqualTo("true");
        assertThat(replay.jsonObject()).containsEntry("id", retry.jsonObject().get("id")).containsEntry("key", null);
        assertThat((List<Object>) a.get("/v1/api-keys").jsonObject().get("items")).hasSize(keys.size());
    }

    /**
     * A key or a webhook made by a request whose answer was lost, revoked or deleted before the request's retry: the
     * retry is a 409 that says so, and makes nothing (before, it made the same id again: a revoked key active again,
     * with a secret only the retry saw).
     */
    @Test
    @SuppressWarnings("unchecked")
    void aRetryAfterItsKeyWasRevokedOrItsWebhookDeletedMakesNeitherAgain(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Revoked Before Retry Co");
        var handler = new groupmsg.accounts.AdminApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("name", "ci", "role", "admin");
        assertThat(call(handler, a, "POST /v1/api-keys", "/v1/api-keys", Map.of(), body, "key-revoked-1").getStatusCode())
                .isEqualTo(500);
        var keys = (List<Map<String, Object>>) a.get("/v1/api-keys").jsonObject().get("items");
        String made = (String) keys.stream().filter(k -> "ci".equals(k.get("name"))).findFirst().orElseThrow().get("id");
        assertThat(a.delete("/v1/api-keys/" + made).status()).isEqualTo(204);
        var retry = a.withHeader("Idempotency-Key", "key-revoked-1").post("/v1/api-keys", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(409);
        assertThat(retry.body()).contains("has been revoked since");
        assertThat((List<Map<String, Object>>) a.get("/v1/api-keys").jsonObject().get("items"))
                .extracting(k -> k.get("name")).doesNotContain("ci");
        // and so is one minutes later, when a retry whose first run stored nothing would take a fresh id
        var later = new groupmsg.accounts.AdminApiHandler(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))));
        var lateRetry = call(later, a, "POST /v1/api-keys", "/v1/api-keys", Map.of(), body, "key-revoked-1");
        assertThat(lateRetry.getStatusCode()).as(lateRetry.getBody()).isEqualTo(409);
        assertThat((List<Map<String, Object>>) a.get("/v1/api-keys").jsonObject().get("items"))
                .extracting(k -> k.get("name")).doesNotContain("ci");
        var another = a.withHeader("Idempotency-Key", "key-revoked-2").post("/v1/api-keys", body);
        assertThat(another.status()).as("a new request makes a new key").isEqualTo(201);
        assertThat(another.jsonObject().get("id")).isNotEqualTo(made);

        var hookHandler = new groupmsg.accounts.AdminApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> hook = Map.of("url", "https://example.com/revoked-retry");
        assertThat(call(hookHandler, a, "POST /v1/webhooks", "/v1/webhooks", Map.of(), hook, "hook-deleted-1").getStatusCode())
                .isEqualTo(500);
        var hooks = (List<Map<String, Object>>) a.get("/v1/webhooks").jsonObject().get("items");
        assertThat(hooks).hasSize(1);
        assertThat(a.delete("/v1/webhooks/" + hooks.getFirst().get("id")).status()).isEqualTo(204);
        var hookRetry = a.withHeader("Idempotency-Key", "hook-deleted-1").post("/v1/webhooks", hook);
        assertThat(hookRetry.status()).as(hookRetry.body()).isEqualTo(409);
        assertThat(hookRetry.body()).contains("has been deleted since");
        var lateHookRetry = call(later, a, "POST /v1/webhooks", "/v1/webhooks", Map.of(), hook, "hook-deleted-1");
        assertThat(lateHookRetry.getStatusCode()).as(lateHookRetry.getBody()).isEqualTo(409);
        assertThat((List<?>) a.get("/v1/webhooks").jsonObject().get("items")).isEmpty();
    }

    /**
     * A group made by a request whose answer was lost, deleted before the request's retry: the retry is a 409 that says
     * so, at once or minutes later, and makes no group (before: the same group again within a minute, a new one after).
     */
    @Test
    @SuppressWarnings("unchecked")
    void aRetryAfterItsGroupWasDeletedMakesItNotAgain(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Deleted Before Retry Co");
        var handler = new GroupsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::completesAnIdempotencyRecord));
        Map<String, Object> body = Map.of("name", "Drivers");
        assertThat(call(handler, a, "POST /v1/groups", "/v1/groups", Map.of(), body, "group-deleted-1").getStatusCode())
                .isEqualTo(500);
        var groups = (List<Map<String, Object>>) a.get("/v1/groups").jsonObject().get("items");
        assertThat(groups).hasSize(1);
        assertThat(a.delete("/v1/groups/" + groups.getFirst().get("id")).status()).isEqualTo(204);
        var retry = a.withHeader("Idempotency-Key", "group-deleted-1").post("/v1/groups", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(409);
        assertThat(retry.body()).contains("has been deleted since");
        var later = new GroupsApiHandler(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))));
        var lateRetry = call(later, a, "POST /v1/groups", "/v1/groups", Map.of(), body, "group-deleted-1");
        assertThat(lateRetry.getStatusCode()).as(lateRetry.getBody()).isEqualTo(409);
        assertThat((List<?>) a.get("/v1/groups").jsonObject().get("items")).isEmpty();
        assertThat(a.withHeader("Idempotency-Key", "group-deleted-2").post("/v1/groups", body).status())
                .as("a new request makes a new group, under the name that is free again").isEqualTo(201);
        assertThat(a.delete("/v1/groups/" + ((List<Map<String, Object>>) a.get("/v1/groups").jsonObject().get("items"))
                .getFirst().get("id")).status()).isEqualTo(204);

        // created with its first members, and deleted while they are added: a 409 whose retry makes nothing either
        // (a 404 let the request's key go, and its retry made the group again under a new id)
        var deletingIt = runtime.wiringWith(groupmsg.local.JustBefore.transaction(tx -> tx.transactItems().stream()
                .anyMatch(i -> i.put() != null && i.put().item().get("pk").s().contains("#GRP#")), () -> {
                    var made = (List<Map<String, Object>>) a.get("/v1/groups").jsonObject().get("items");
                    assertThat(a.delete("/v1/groups/" + made.getFirst().get("id")).status()).isEqualTo(204);
                }));
        Map<String, Object> withMembers = Map.of("name", "Riders", "members", List.of(Map.of("phone", "+14155550941")));
        var cut = call(new GroupsApiHandler(deletingIt), a, "POST /v1/groups", "/v1/groups", Map.of(), withMembers,
                "group-members-deleted-1");
        assertThat(cut.getStatusCode()).as(cut.getBody()).isEqualTo(409);
        assertThat(cut.getBody()).contains("was deleted while its members were added");
        var cutRetry = a.withHeader("Idempotency-Key", "group-members-deleted-1").post("/v1/groups", withMembers);
        assertThat(cutRetry.status()).as(cutRetry.body()).isEqualTo(409);
        assertThat((List<?>) a.get("/v1/groups").jsonObject().get("items")).isEmpty();
    }

    /**
     * Through the handler: a key first answered 400 on one group's members, run there 23 hours later, is still bound
     * there two hours after that (its run's record lives 24 hours): the same key on another group is a 409, not a
     * second add; a day after the run it is free.
     */
    @Test
    void aKeyRunLaterOnItsPathStaysBoundThereAsLongAsThatRunsRecord(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Renewed Binding Co");
        String groupA = createGroup(a, "Renewed A");
        String groupB = createGroup(a, "Renewed B");
        java.util.function.Function<Duration, GroupsApiHandler> at = offset ->
                new GroupsApiHandler(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), offset)));
        Map<String, Object> none = Map.of("members", List.of());
        Map<String, Object> one = Map.of("members", List.of(Map.of("phone", "+14155550931")));
        String route = "POST /v1/groups/{id}/members";
        assertThat(call(at.apply(Duration.ZERO), a, route, "/v1/groups/" + groupA + "/members", Map.of("id", groupA), none, "renew-1")
                .getStatusCode()).isEqualTo(400);
        assertThat(call(at.apply(Duration.ofHours(23)), a, route, "/v1/groups/" + groupA + "/members", Map.of("id", groupA), one, "renew-1")
                .getStatusCode()).isEqualTo(200);
        assertThat(call(at.apply(Duration.ofHours(25)), a, route, "/v1/groups/" + groupB + "/members", Map.of("id", groupB), one, "renew-1")
                .getStatusCode()).as("still bound to group A").isEqualTo(409);
        assertThat(call(at.apply(Duration.ofHours(25)), a, route, "/v1/groups/" + groupA + "/members", Map.of("id", groupA), one, "renew-1")
                .getHeaders()).containsEntry("idempotent-replayed", "true");
        assertThat(call(at.apply(Duration.ofHours(48)), a, route, "/v1/groups/" + groupB + "/members", Map.of("id", groupB), one, "renew-1")
                .getStatusCode()).as("a day after the run").isEqualTo(200);
    }

    /**
     * A bad request whose claim could not be let go (the delete throttled) is still answered with its 400, not a 503
     * whose retries would each meet "still being processed" for a minute; the same request retried at once gets the
     * 400 again.
     */
    @Test
    void aBadRequestWhoseClaimCannotBeReleasedIsStillItsOwn400(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Unreleased Claim Co");
        var handler = new GroupsApiHandler(failing(runtime, r -> r instanceof software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest d
                        && d.key().get("pk").s().endsWith("#IDEM"), 1,
                () -> SdkClientException.create("Rate of requests exceeds the allowed throughput (test)")));
        Map<String, Object> bad = Map.of("name", "");
        var first = call(handler, a, "POST /v1/groups", "/v1/groups", Map.of(), bad, "unreleased-1");
        assertThat(first.getStatusCode()).as(first.getBody()).isEqualTo(400);
        assertThat(first.getBody()).contains("invalid_request").doesNotContain("throughput");
        var again = call(handler, a, "POST /v1/groups", "/v1/groups", Map.of(), bad, "unreleased-1");
        assertThat(again.getStatusCode()).as(again.getBody()).isEqualTo(400);
    }

    /** The write that accepts a conversation's first (business) message: its MSG#cout_ item. */
    static boolean acceptsAConversationsFirstMessage(Object request) {
        return request instanceof TransactWriteItemsRequest t && t.transactItems().stream()
                .anyMatch(i -> i.put() != null && i.put().item().get("sk").s().startsWith("MSG#cout_"));
    }

    /**
     * The conversation is stored in one transaction with the message that sends its first message: a failed write
     * stores neither (before, the conversation was stored, and closing it before the retry left a first message
     * that nobody got), and the retry creates both and sends it once each.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aConversationIsNeverStoredWithoutItsFirstMessage(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Atomic Create Co");
        String line = linePhone();
        String lineId = groupLine(a, line, 10);
        var handler = new ConversationsApiHandler(failingOnce(runtime, IdempotentRetriesE2eTest::acceptsAConversationsFirstMessage));
        Map<String, Object> body = Map.of("lineId", lineId, "participants", List.of("+14155550811", "+14155550812"),
                "body", "Sent once");
        assertThat(call(handler, a, "POST /v1/conversations", "/v1/conversations", Map.of(), body, "cnv-closed")
                .getStatusCode()).isEqualTo(500);
        assertThat((List<Object>) a.get("/v1/conversations").jsonObject().get("items")).isEmpty();

        var retry = a.withHeader("Idempotency-Key", "cnv-closed").post("/v1/conversations", body);
        assertThat(retry.status()).as(retry.body()).isEqualTo(201);
        assertThat(retry.jsonObject()).containsEntry("status", "active");
        String id = (String) retry.jsonObject().get("id");
        assertThat((List<Map<String, Object>>) a.get("/v1/conversations").jsonObject().get("items"))
                .extracting(c -> c.get("id")).containsExactly(id);
        runtime.awaitIdle();
        assertThat(carrierMessages(a, line)).extracting(m -> m.get("to"))
                .containsExactlyInAnyOrder("+14155550811", "+14155550812");
    }
}
