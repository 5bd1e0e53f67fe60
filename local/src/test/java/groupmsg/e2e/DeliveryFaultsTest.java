package groupmsg.e2e;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import groupmsg.carrier.SentLookup;
import groupmsg.groups.GroupService;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import groupmsg.messages.Delivery;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.DeliveryWorkerHandler;
import groupmsg.messages.FanoutService;
import groupmsg.messages.GroupMessage;
import groupmsg.messages.FanoutWorkerHandler;
import groupmsg.messages.MessageMaintenance;
import groupmsg.messages.MessageService;
import groupmsg.messages.StatusCallbacks;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Tables;
import groupmsg.local.RecordingEventPublisher;
import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Proxy;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

import static groupmsg.e2e.ReceiptsE2eTest.usageOfTheTest;
import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.ReceiptsE2eTest.billedMessages;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The delivery pipeline's fault rules, on the real tables, with a scripted carrier and the queues captured so
 * each step can be run (and re-run) by hand.
 */
@ExtendWith(LocalRuntimeExtension.class)
class DeliveryFaultsTest {

    /** Captures what would be enqueued instead of sending it. */
    static final class CapturingQueue implements QueueSender {
        final List<Map<String, Object>> deliveries = new CopyOnWriteArrayList<>();
        /** Each delivery job's delay, in the order of {@link #deliveries}. */
        final List<Integer> delays = new CopyOnWriteArrayList<>();
        /** Fan-out jobs, and each one's delay. */
        final List<Map<String, Object>> fanouts = new CopyOnWriteArrayList<>();
        final List<Integer> fanoutDelays = new CopyOnWriteArrayList<>();

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            if (queue.name().equals("fanout")) {
                for (QueueMessage m : messages) {
                    fanoutDelays.add(m.delaySeconds());
                    fanouts.add(Json.parseObject(m.body()));
                }
                return;
            }
            if (!queue.name().equals("deliveries")) return;
            for (QueueMessage m : messages) {
                delays.add(m.delaySeconds());
                deliveries.add(Json.parseObject(m.body()));
            }
        }
    }

    /** A carrier whose answer per recipient is scripted; counts calls per recipient. */
    static final class ScriptedCarrier implements CarrierPort {
        final Map<String, List<Object>> script = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        /** What each call asked to send, in order. */
        final List<OutboundMessage> messages = new CopyOnWriteArrayList<>();
        /** When each call came, in epoch milliseconds. */
        final List<Long> callTimes = new CopyOnWriteArrayList<>();
        /** Per phone, an epoch millisecond before which its answers are not given (a slow carrier). */
        final Map<String, Long> answerNotBefore = new ConcurrentHashMap<>();

        @Override
        public SendResult send(OutboundMessage message) {
            callTimes.add(System.currentTimeMillis());
            messages.add(message);
            long wait = answerNotBefore.getOrDefault(message.to(), 0L) - System.currentTimeMillis();
            if (wait > 0) {
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            Runnable meanwhile = duringSend.remove(message.to());
            if (meanwhile != null) meanwhile.run();
            int call = calls.computeIfAbsent(message.to(), k -> new AtomicInteger()).getAndIncrement();
            List<Object> answers = script.getOrDefault(message.to(), List.of(new SendResult.Accepted("SM" + message.to().substring(1), "queued")));
            Object answer = answers.get(Math.min(call, answers.size() - 1));
            if (answer instanceof RuntimeException e) throw e;
            if (answer instanceof SendResult.Accepted accepted) given.add(accepted.carrierMessageId());
            return (SendResult) answer;
        }

        int calls(String phone) {
            return calls.getOrDefault(phone, new AtomicInteger()).get();
        }

        /** Per phone, what a lookup of a sent message answers (unscripted: no answer). */
        final Map<String, SentLookup> lookups = new ConcurrentHashMap<>();
        /** Per line's number, the answer to a lookup of a message from it (before {@link #lookups}'). */
        final Map<String, SentLookup> lookupsFrom = new ConcurrentHashMap<>();
        /** The lookups of messages from lines this carrier sent from (maintenance sweeps every test's messages). */
        final List<SentLookup.Query> lookupQueries = new CopyOnWriteArrayList<>();

        /** Per phone, what happens while its next send is being answered (once). */
        final Map<String, Runnable> duringSend = new ConcurrentHashMap<>();

        /** Per phone, what happens while the carrier is being asked (another writer acting meanwhile). */
        final Map<String, Runnable> duringLookup = new ConcurrentHashMap<>();

        /** The ids this carrier gave (maintenance looks up every test's rows: only these are answered and counted). */
        final java.util.Set<String> given = ConcurrentHashMap.newKeySet();
        /** Per id, what a lookup by id answers (unscripted: still sent). */
        final Map<String, SentLookup> byId = new ConcurrentHashMap<>();
        /** The ids of this carrier looked up, in order. */
        final List<String> idQueries = new CopyOnWriteArrayList<>();
        /** While set, a lookup by id gets no answer (the carrier is down). */
        volatile boolean lookupsFailing;

        @Override
        public SentLookup findById(String carrierMessageId) {
            if (!given.contains(carrierMessageId)) return new SentLookup.Unanswered("not ours", false);
            idQueries.add(carrierMessageId);
            if (lookupsFailing) return new SentLookup.Unanswered("carrier down", true);
            return byId.getOrDefault(carrierMessageId, new SentLookup.Found(carrierMessageId, "sent", null));
        }

        @Override
        public SentLookup findSent(SentLookup.Query query) {
            if (messages.stream().noneMatch(m -> m.from().equals(query.from()))) return new SentLookup.Unanswered("not ours", false);
            lookupQueries.add(query);
            duringLookup.getOrDefault(query.to(), () -> { }).run();
            SentLookup fromLine = lookupsFrom.get(query.from());
            return fromLine != null ? fromLine : lookups.getOrDefault(query.to(), new SentLookup.Unanswered("not scripted", false));
        }
    }

    /**
     * {@code real} with the status callbacks left out of its sends: the carrier delivers, and its receipts never come
     * (as when they were lost on the way); lookups go to it as they are.
     */
    static CarrierPort withoutStatusCallbacks(CarrierPort real) {
        return new CarrierPort() {
            @Override
            public SendResult send(OutboundMessage m) {
                return real.send(new OutboundMessage(m.from(), m.to(), m.body(), m.mediaUrls(), null));
            }

            @Override
            public SentLookup findById(String carrierMessageId) {
                return real.findById(carrierMessageId);
            }
        };
    }

    record Setup(String accountId, String messageId, List<String> phones, CapturingQueue queue) {}

    static Setup acceptAndFanOut(ApiClient a, Wiring wiring, int members) {
        return acceptAndFanOut(a, wiring, members, createLine(a, linePhone(), 1000));
    }

    static Setup acceptAndFanOut(ApiClient a, Wiring wiring, int members, String lineId) {
        return acceptAndFanOut(a, wiring, members, lineId, "Faults");
    }

    /** A message to a new group named {@code groupName} (unique in the account) of {@code members}, fanned out. */
    static Setup acceptAndFanOut(ApiClient a, Wiring wiring, int members, String lineId, String groupName) {
        String g = createGroup(a, groupName);
        List<String> phones = addMembers(a, g, 700, members);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var queue = new CapturingQueue();
        var groups = new GroupService(wiring, queue);
        var message = new MessageService(wiring, groups, queue).send(accountId, g,
                new MessageService.SendRequest(lineId, "Ops", "fault test", "Hello", List.of()));
        new FanoutService(wiring, groups, queue).run(accountId, message.id());
        return new Setup(accountId, message.id(), phones, queue);
    }

    /** An account with a message to {@code members} new members on a 1,000 mps line, fanned out, and a scripted carrier. */
    record Scene(ApiClient api, ScriptedCarrier carrier, Wiring wiring, Setup setup) {}

    static Scene scene(ApiClient api, LocalRuntime runtime, String accountName, int members) {
        ApiClient a = api.forNewAccount(accountName);
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        return new Scene(a, carrier, wiring, acceptAndFanOut(a, wiring, members));
    }

    @SuppressWarnings("unchecked")
    static void deliverAll(DeliveryService service, Setup s) throws InterruptedException {
        for (var batch : s.queue().deliveries) {
            service.deliver(s.accountId(), s.messageId(), ((Number) batch.get("shard")).intValue(), (List<String>) batch.get("phones"));
        }
    }

    static Map<String, String> statuses(ApiClient a, String messageId) {
        Map<String, String> out = new ConcurrentHashMap<>();
        for (var d : allDeliveries(a, messageId)) out.put((String) d.get("phone"), (String) d.get("status"));
        return out;
    }

    /** Captures delivery batches; the n-th send to the deliveries queue fails, as a crash there would. */
    static final class CrashingQueue implements QueueSender {
        final CapturingQueue captured = new CapturingQueue();
        final int failAt;
        int sends;

        CrashingQueue(int failAt) {
            this.failAt = failAt;
        }

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            if (queue.name().equals("deliveries") && ++sends == failAt) throw new IllegalStateException("crash before enqueue");
            captured.send(queue, messages);
        }
    }

    /** Captures the first {@code kept} delivery jobs of the first send to the deliveries queue, then fails it: a send cut off part way. */
    static final class PartlyEnqueuingQueue implements QueueSender {
        final CapturingQueue captured = new CapturingQueue();
        final int kept;
        boolean failed;

        PartlyEnqueuingQueue(int kept) {
            this.kept = kept;
        }

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            if (queue.name().equals("deliveries") && !failed) {
                failed = true;
                captured.send(queue, messages.subList(0, kept));
                throw new IllegalStateException("cut off after " + kept + " of " + messages.size() + " jobs");
            }
            captured.send(queue, messages);
        }
    }

    /** A group message accepted (not fanned out) for a new account's group of {@code members} numbers from {@code from}. */
    record Accepted(ApiClient api, String accountId, String lineId, String groupId, List<String> phones, GroupService groups,
                    GroupMessage message) {}

    static Accepted accepted(ApiClient api, LocalRuntime runtime, String accountName, int from, int members) {
        ApiClient a = api.forNewAccount(accountName);
        String lineId = createLine(a, linePhone(), 1000);
        String g = createGroup(a, accountName);
        List<String> phones = addMembers(a, g, from, members);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var groups = new GroupService(runtime.wiring(), new CapturingQueue());
        var message = new MessageService(runtime.wiring(), groups, new CapturingQueue()).send(accountId, g,
                new MessageService.SendRequest(lineId, "Ops", accountName, "Hello", List.of()));
        return new Accepted(a, accountId, lineId, g, phones, groups, message);
    }

    /**
     * A page whose jobs partly went out before its run failed is taken over without a second job for the rows a worker
     * has by then (each would take a place in a busy line's waiting line for nothing); its other rows get theirs.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aFanOutRetryMakesNoSecondJobForRowsAWorkerHasAlready(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Fanout Handled Co", 7100, 2500); // two shards: two jobs a page
        var job = new SQSEvent.SQSMessage();
        job.setMessageId("job-1");
        job.setBody(Json.write(Map.of("accountId", accepted.accountId(), "messageId", accepted.message().id())));
        var event = new SQSEvent();
        event.setRecords(List.of(job));
        var first = new PartlyEnqueuingQueue(1);
        assertThat(new FanoutWorkerHandler(runtime.wiring(), first).handleRequest(event, null).getBatchItemFailures()).isEmpty();
        assertThat(first.captured.deliveries).hasSize(1);
        var sentJob = first.captured.deliveries.getFirst();
        List<String> taken = (List<String>) sentJob.get("phones");
        // a worker took that job's rows meanwhile
        String table = runtime.wiring().config().table(Tables.DELIVERIES);
        for (String p : taken) {
            runtime.wiring().dynamo().updateItem(b -> b.tableName(table)
                    .key(Map.of("pk", AttributeValue.fromS("MSG#" + accepted.message().id() + "#" + sentJob.get("shard")), "sk", AttributeValue.fromS(p)))
                    .updateExpression("SET #s = :sent").expressionAttributeNames(Map.of("#s", "status"))
                    .expressionAttributeValues(Map.of(":sent", AttributeValue.fromS("sent"))));
        }

        var retried = new SQSEvent.SQSMessage();
        retried.setMessageId("job-2");
        retried.setBody(Json.write(first.captured.fanouts.getFirst()));
        var retryEvent = new SQSEvent();
        retryEvent.setRecords(List.of(retried));
        var later = new CapturingQueue();
        assertThat(new FanoutWorkerHandler(runtime.wiring(), later).handleRequest(retryEvent, null).getBatchItemFailures()).isEmpty();
        List<String> enqueued = new ArrayList<>(taken);
        for (var batch : later.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        assertThat(enqueued).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(accepted.phones());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aFanOutThatDiesMidwayIsResumedWithNoDuplicatesAndNoGaps(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Fanout Crash Co", 3000, 2500); // three pages of 1,000
        ApiClient a = accepted.api();
        Wiring wiring = runtime.wiring();
        List<String> phones = accepted.phones();
        String accountId = accepted.accountId();
        var groups = accepted.groups();
        var message = accepted.message();

        // The first run writes page 1, enqueues it, writes page 2's rows and dies enqueueing them (killed: its lease
        // is not given back).
        var first = new CrashingQueue(2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new FanoutService(killed(runtime), groups, first).run(accountId, message.id()))
                .hasMessageContaining("crash");
        assertThat(first.captured.deliveries.stream().mapToInt(b -> ((List<String>) b.get("phones")).size()).sum()).isEqualTo(1000);
        // Meanwhile page 1's batches are delivered (rows claimed and sent).
        var carrier = new ScriptedCarrier();
        var delivery = new DeliveryService(wiring.withCarrier(carrier));
        for (var batch : first.captured.deliveries) {
            delivery.deliver(accountId, message.id(), ((Number) batch.get("shard")).intValue(), (List<String>) batch.get("phones"));
        }

        // A copy of the job arriving at once finds the page leased to the (dead) first run and stops.
        var early = new CapturingQueue();
        new FanoutService(wiring, groups, early).run(accountId, message.id());
        assertThat(early.deliveries).isEmpty();

        // After the lease expires a run takes the page over: it keeps the rows there, and finishes the rest.
        var later = new CapturingQueue();
        new FanoutService(wiring.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))), groups, later)
                .run(accountId, message.id());
        List<String> enqueued = new ArrayList<>();
        for (var batch : later.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        assertThat(enqueued).hasSize(1500).doesNotHaveDuplicates();
        for (var batch : later.deliveries) {
            delivery.deliver(accountId, message.id(), ((Number) batch.get("shard")).intValue(), (List<String>) batch.get("phones"));
        }
        // Everyone exactly once: no duplicates, no gaps.
        for (String p : phones) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        var rows = allDeliveries(a, message.id());
        assertThat(rows).hasSize(2500);
        assertThat(rows).allSatisfy(r -> assertThat(r.get("status")).isEqualTo("sent"));
        var m = a.get("/v1/messages/" + message.id()).jsonObject();
        assertThat(m).containsEntry("status", "sent").containsEntry("recipients", 2500);
    }

    /**
     * DynamoDB can answer a write with a 500 (or time out) after committing it; the SDK then sends it again, and a
     * conditional write fails on its own first try. A fan-out whose page claim and checkpoint move were both so
     * answered knows them for its own (the page's lease id) and goes on with the next page: before, it stopped as
     * "busy" or "superseded" and the rest of the group waited for maintenance, 10 minutes or more.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aFanOutWhoseWritesWereAnsweredWithErrorsAfterCommittingGoesOnWithEveryPage(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Fanout Lost Answers Co", 6000, 1500); // two pages
        var lostClaim = new AtomicInteger();
        var lostAdvance = new AtomicInteger();
        Wiring answersLost = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public software.amazon.awssdk.http.SdkHttpResponse modifyHttpResponse(
                    software.amazon.awssdk.core.interceptor.Context.ModifyHttpResponse context, ExecutionAttributes attributes) {
                if (context.request() instanceof UpdateItemRequest u) {
                    boolean claim = u.updateExpression().startsWith("SET fanoutPage = :token");
                    boolean advance = u.updateExpression().equals("SET fanoutCursor = :next ADD fannedOut :n");
                    if ((claim && lostClaim.getAndIncrement() == 0) || (advance && lostAdvance.getAndIncrement() == 0)) {
                        return context.httpResponse().toBuilder().statusCode(500).build();
                    }
                }
                return context.httpResponse();
            }
        });
        var queue = new CapturingQueue();
        new FanoutService(answersLost, accepted.groups(), queue).run(accepted.accountId(), accepted.message().id());
        assertThat(lostClaim).as("page 1's claim tried twice (its first answer lost), page 2's once").hasValue(3);
        assertThat(lostAdvance).as("page 1's advance tried twice (its first answer lost), page 2 is the last").hasValue(2);
        List<String> enqueued = new ArrayList<>();
        for (var batch : queue.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        assertThat(enqueued).as("both pages, each number once").doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(accepted.phones());
        assertThat(accepted.api().get("/v1/messages/" + accepted.message().id()).jsonObject()).containsEntry("recipients", 1500);
    }

    /** The runtime's tables through clients of a process being killed: a failed fan-out cannot give its lease back. */
    static Wiring killed(LocalRuntime runtime) {
        return runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof UpdateItemRequest u && u.updateExpression().equals("SET fanoutPageAt = :never")
                        && u.conditionExpression().contains("fanoutPage = :token")) {
                    throw SdkClientException.create("killed (test)");
                }
            }
        });
    }

    /**
     * A fan-out that fails part way (an enqueue refused, not a process killed) gives its page's lease back and is
     * enqueued again seconds later: the retry takes the page over at once and finishes, each recipient enqueued once
     * (here page 2's jobs were refused before any was sent; a batch partly sent before its failure is enqueued again,
     * which the delivery claims make harmless). Before,
     * SQS brought the job back only after its 12-minute visibility timeout (and a copy found the page leased).
     */
    @Test
    @SuppressWarnings("unchecked")
    void aFanOutThatFailsPartWayIsRetriedWithinSecondsAndEnqueuesEachOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Fanout Retry Co", 5000, 1500); // two pages
        ApiClient a = accepted.api();
        Wiring wiring = runtime.wiring();
        List<String> phones = accepted.phones();
        String accountId = accepted.accountId();
        var groups = accepted.groups();
        var message = accepted.message();
        String lineId = accepted.lineId();
        String g = accepted.groupId();
        var job = new SQSEvent.SQSMessage();
        job.setMessageId("job-1");
        job.setBody(groupmsg.platform.json.Json.write(Map.of("accountId", accountId, "messageId", message.id())));
        var event = new SQSEvent();
        event.setRecords(List.of(job));

        // page 2's jobs cannot be enqueued: the run fails, and the worker enqueues the fan-out again, 10 s on
        var first = new CrashingQueue(2);
        var answer = new FanoutWorkerHandler(wiring, first).handleRequest(event, null);
        assertThat(answer.getBatchItemFailures()).as("taken care of: not left to SQS").isEmpty();
        assertThat(first.captured.fanouts).singleElement().satisfies(retry -> assertThat(retry)
                .containsEntry("messageId", message.id()).containsEntry("retries", 1));
        assertThat(first.captured.fanoutDelays).containsExactly(10);

        // the retry comes at once (no lease to wait out) and finishes: every recipient enqueued once in all
        var retried = new SQSEvent.SQSMessage();
        retried.setMessageId("job-2");
        retried.setBody(groupmsg.platform.json.Json.write(first.captured.fanouts.getFirst()));
        var retryEvent = new SQSEvent();
        retryEvent.setRecords(List.of(retried));
        var later = new CapturingQueue();
        assertThat(new FanoutWorkerHandler(wiring, later).handleRequest(retryEvent, null).getBatchItemFailures()).isEmpty();
        List<String> enqueued = new ArrayList<>();
        for (var batch : first.captured.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        for (var batch : later.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        assertThat(enqueued).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(phones);
        assertThat(a.get("/v1/messages/" + message.id()).jsonObject()).containsEntry("recipients", 1500);

        // after its quick retries a failing job is left to SQS (its retries, then the dead-letter queue)
        var another = new MessageService(wiring, groups, new CapturingQueue()).send(accountId, g,
                new MessageService.SendRequest(lineId, "Ops", "retry test 2", "Hello again", List.of()));
        job.setBody(groupmsg.platform.json.Json.write(Map.of("accountId", accountId, "messageId", another.id(), "retries", 3)));
        var refusing = new CrashingQueue(1);
        assertThat(new FanoutWorkerHandler(wiring, refusing).handleRequest(event, null).getBatchItemFailures())
                .extracting(f -> f.getItemIdentifier()).containsExactly("job-1");
        assertThat(refusing.captured.fanouts).isEmpty();
    }

    /**
     * A fan-out that fails part way and cannot give its lease back (a process killed, the release refused): its quick
     * retry finds the page leased, and comes back once the lease has ended, when it takes the page over. Before, the
     * retry stopped as "busy" and the job was gone: the rest of the group waited for maintenance, 10 minutes.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aQuickRetryThatFindsTheFailedRunsLeaseComesBackWhenItEnds(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Fanout Held Lease Co", 8000, 1500); // two pages
        String accountId = accepted.accountId();
        String messageId = accepted.message().id();
        java.util.function.Function<Map<String, Object>, SQSEvent> eventOf = job -> {
            var message = new SQSEvent.SQSMessage();
            message.setMessageId("job-" + job.get("retries"));
            message.setBody(groupmsg.platform.json.Json.write(job));
            var event = new SQSEvent();
            event.setRecords(List.of(message));
            return event;
        };

        var first = new CrashingQueue(2); // page 2's jobs refused, and the lease is not given back
        assertThat(new FanoutWorkerHandler(killed(runtime), first).handleRequest(eventOf.apply(Map.of("accountId", accountId,
                "messageId", messageId)), null).getBatchItemFailures()).isEmpty();
        var quickRetry = first.captured.fanouts.getFirst();

        var busy = new CapturingQueue();
        assertThat(new FanoutWorkerHandler(runtime.wiring(), busy).handleRequest(eventOf.apply(quickRetry), null)
                .getBatchItemFailures()).isEmpty();
        assertThat(busy.deliveries).as("the page is leased").isEmpty();
        assertThat(busy.fanouts).as("back when the lease ends").singleElement()
                .satisfies(job -> assertThat(job).containsEntry("messageId", messageId));
        assertThat(busy.fanoutDelays).containsExactly(155);

        var afterLease = new CapturingQueue();
        var later = runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofSeconds(156)));
        assertThat(new FanoutWorkerHandler(later, afterLease).handleRequest(eventOf.apply(busy.fanouts.getFirst()), null)
                .getBatchItemFailures()).isEmpty();
        List<String> enqueued = new ArrayList<>();
        for (var batch : first.captured.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        for (var batch : afterLease.deliveries) enqueued.addAll((List<String>) batch.get("phones"));
        assertThat(enqueued).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(accepted.phones());
        assertThat(afterLease.fanouts).as("done: nothing more").isEmpty();
        assertThat(accepted.api().get("/v1/messages/" + messageId).jsonObject()).containsEntry("recipients", 1500);
    }

    /**
     * After a restart (the queues' jobs lost), a message whose fan-out was unfinished gets its fan-out re-driven and
     * the rows of the pages fanned out before enqueued again at once, as README says: before, the sweep stopped at
     * the re-drive and those rows waited for a sweep 10 minutes on. The rows of the page the fan-out takes over are
     * left to it: one job each.
     */
    @Test
    @SuppressWarnings("unchecked")
    void afterARestartAnUnfinishedFanOutsEarlierPagesAreEnqueuedAgainAtOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Fanout Restart Co", 1000, 1500); // two pages
        String messageId = accepted.message().id();
        var first = new CrashingQueue(2); // page 1 enqueued (jobs lost with the queues), page 2 written, then killed
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new FanoutService(killed(runtime), accepted.groups(), first)
                .run(accepted.accountId(), messageId)).hasMessageContaining("crash");

        var swept = new CapturingQueue();
        // budget enough for every message the shared runtime's other tests left unfinished, so this one is reached
        new MessageMaintenance(runtime.wiring(), swept, 100, Duration.ofMinutes(5)).sweepAfterJobsLost(System.currentTimeMillis() + 1);
        List<String> requeued = new ArrayList<>();
        for (var batch : swept.deliveries) {
            if (messageId.equals(batch.get("messageId"))) requeued.addAll((List<String>) batch.get("phones"));
        }
        assertThat(swept.fanouts).as("the fan-out re-driven").anySatisfy(job -> assertThat(job).containsEntry("messageId", messageId));
        List<String> page1 = new ArrayList<>();
        for (var batch : first.captured.deliveries) page1.addAll((List<String>) batch.get("phones"));
        assertThat(requeued).as("page 1's rows, whose jobs were lost; not page 2's, which the fan-out takes over")
                .containsExactlyInAnyOrderElementsOf(page1);

        var resumed = new CapturingQueue();
        new FanoutService(runtime.wiring(), accepted.groups(), resumed).run(accepted.accountId(), messageId, true);
        List<String> all = new ArrayList<>(requeued);
        for (var batch : resumed.deliveries) all.addAll((List<String>) batch.get("phones"));
        assertThat(all).as("everyone has one job").doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(accepted.phones());
        assertThat(accepted.api().get("/v1/messages/" + messageId).jsonObject()).containsEntry("recipients", 1500);
    }

    @Test
    void noBlockIsStartedPastTheDeadlineAndTheWorkerHandsTheRestOn(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Deadline Co");
        var carrier = new ScriptedCarrier();
        Setup s = acceptAndFanOut(a, runtime.wiring().withCarrier(carrier), 3);
        @SuppressWarnings("unchecked")
        List<String> phones = (List<String>) s.queue().deliveries.getFirst().get("phones");
        int shard = ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();

        // past the deadline before the first block: nothing claimed or sent, everything handed back
        var service = new DeliveryService(runtime.wiring().withCarrier(carrier));
        assertThat(service.deliverOnly(s.accountId(), s.messageId(), shard, phones, new DeliveryService.Deadline(0, 0)))
                .containsExactlyElementsOf(phones);
        for (String p : phones) assertThat(carrier.calls(p)).isZero();
        assertThat(statuses(a, s.messageId()).values()).containsOnly("queued");

        // an invocation with less time left than a block may need re-enqueues its job; the runtime's worker (a full
        // minute) delivers it, each recipient once
        var job = new SQSEvent.SQSMessage();
        job.setMessageId("job-1");
        job.setBody(Json.write(s.queue().deliveries.getFirst()));
        var event = new SQSEvent();
        event.setRecords(List.of(job));
        Context shortOfTime = (Context) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[]{Context.class},
                (proxy, method, args) -> method.getName().equals("getRemainingTimeInMillis") ? 15_000 : null);
        assertThat(new DeliveryWorkerHandler(runtime.wiring()).handleRequest(event, shortOfTime).getBatchItemFailures()).isEmpty();
        assertThat(MessagesE2eTest.awaitSent(a, s.messageId(), 30_000)).containsEntry("status", "sent");
        String lineId = (String) a.get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        String from = (String) a.get("/v1/lines/" + lineId).jsonObject().get("phone");
        for (String p : phones) {
            @SuppressWarnings("unchecked")
            var sent = (List<Object>) a.withoutKey().get("/local/carrier/messages?to=" + URLEncoder.encode(p, StandardCharsets.UTF_8)
                    + "&from=" + URLEncoder.encode(from, StandardCharsets.UTF_8)).jsonObject().get("items");
            assertThat(sent).as(p).hasSize(1);
        }
    }

    @Test
    void aLostCarrierAnswerTheCarrierCannotConfirmIsNeverResentAndIsFailedAfterAnHour(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Scene t = scene(api, runtime, "Lost Answer Co", 4);
        Setup s = t.setup();
        String lost = s.phones().get(0);
        // the carrier took the message, but the answer never came back (timeout after the request left)
        t.carrier().script.put(lost, List.of(new UncheckedIOException(new IOException("read timed out"))));

        var service = new DeliveryService(t.wiring());
        deliverAll(service, s);
        deliverAll(service, s); // the same SQS batches again (at-least-once delivery)

        assertThat(t.carrier().calls(lost)).isEqualTo(1);
        for (String p : s.phones().subList(1, 4)) assertThat(t.carrier().calls(p)).isEqualTo(1);
        assertThat(statuses(t.api(), s.messageId())).containsEntry(lost, "queued"); // still "sending" inside
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sending");
        // and the status filter finds it where the list shows it
        @SuppressWarnings("unchecked") var queued = (List<Map<String, Object>>) t.api()
                .get("/v1/messages/" + s.messageId() + "/deliveries?status=queued").jsonObject().get("items");
        assertThat(queued).extracting(d -> d.get("phone"), d -> d.get("status")).containsExactly(org.assertj.core.groups.Tuple.tuple(lost, "queued"));

        // eleven minutes later maintenance asks the carrier, which gives no answer (it is down, say): the row waits
        Wiring later = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));
        new MessageMaintenance(later, new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries).extracting(SentLookup.Query::to).containsExactly(lost);
        assertThat(storedStatus(t.wiring(), s.messageId(), 0, lost)).isEqualTo("sending");
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sending");

        // an hour on with still no answer, it fails as "outcome unknown" (never resent) and the message completes
        Wiring anHourOn = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(61)));
        new MessageMaintenance(anHourOn, new CapturingQueue()).sweep();
        assertThat(t.carrier().calls(lost)).isEqualTo(1);
        var row = allDeliveries(t.api(), s.messageId()).stream().filter(d -> lost.equals(d.get("phone"))).findFirst().orElseThrow();
        assertThat(row).containsEntry("status", "failed");
        assertThat((String) row.get("error")).contains("outcome unknown");
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
        assertThat(billedMessages(t.api()))
                .as("the three sent are billed, the unknown one not").isEqualTo(3);

        // the carrier's final word comes after all: the row is delivered, counted and billed, once
        int shard = 0; // four recipients: one shard
        var key = new StatusCallbacks.Receipt.Key(s.accountId(), s.messageId(), shard);
        var delivered = new StatusCallbacks.Receipt(s.accountId(), s.messageId(), shard, lost, "SMlate", Delivery.DELIVERED, null,
                System.currentTimeMillis());
        new StatusCallbacks(t.wiring()).apply(key, List.of(delivered));
        new StatusCallbacks(t.wiring()).apply(key, List.of(delivered)); // resent
        row = allDeliveries(t.api(), s.messageId()).stream().filter(d -> lost.equals(d.get("phone"))).findFirst().orElseThrow();
        assertThat(row).containsEntry("status", "delivered").containsEntry("carrierMessageId", "SMlate");
        assertThat(row.get("error")).isNull();
        @SuppressWarnings("unchecked") var counts = (Map<String, Object>) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("counts");
        assertThat(counts).containsEntry("delivered", 1).containsEntry("failed", 0).containsEntry("sent", 3);
        assertThat(billedMessages(t.api())).isEqualTo(4);
    }

    @Test
    void lostAnswersAreSettledFromTheCarriersRecordsAndOnlyWhatItNeverGotIsSentAgain(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Scene t = scene(api, runtime, "Carrier Records Co", 5);
        Setup s = t.setup();
        String delivered = s.phones().get(0);
        String neverGot = s.phones().get(1);
        String failed = s.phones().get(2);
        // queued by a Messaging Service, then failed as unsubscribed (21610): an opt-out, as at the send
        String unsubscribed = s.phones().get(4);
        var lostAnswer = new UncheckedIOException(new IOException("read timed out"));
        t.carrier().script.put(delivered, List.of(lostAnswer));
        t.carrier().script.put(unsubscribed, List.of(lostAnswer));
        t.carrier().lookups.put(unsubscribed, new SentLookup.Found("SMunsubscribed", "failed", "21610"));
        t.carrier().script.put(neverGot, List.of(lostAnswer, new SendResult.Accepted("SMresent", "queued")));
        t.carrier().script.put(failed, List.of(lostAnswer));
        t.carrier().lookups.put(delivered, new SentLookup.Found("SMtaken", "delivered", null));
        t.carrier().lookups.put(neverGot, new SentLookup.NotFound());
        t.carrier().lookups.put(failed, new SentLookup.Found("SMfailed", "undelivered", "30007"));
        var service = new DeliveryService(t.wiring());
        long before = System.currentTimeMillis();
        deliverAll(service, s);
        assertThat(billedMessages(t.api())).isEqualTo(1);

        // not yet stalled: nobody is asked about
        new MessageMaintenance(t.wiring(), new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries).isEmpty();

        var requeued = new CapturingQueue();
        Wiring later = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));
        new MessageMaintenance(later, requeued).sweep();
        // asked about exactly the message each was claimed for: from the line, this body, from about the claim on
        assertThat(t.carrier().lookupQueries).extracting(SentLookup.Query::to).containsExactlyInAnyOrder(delivered, neverGot, failed, unsubscribed);
        OutboundMessage sent = t.carrier().messages.getFirst();
        for (var q : t.carrier().lookupQueries) {
            assertThat(q.from()).isEqualTo(sent.from());
            assertThat(q.body()).isEqualTo(sent.body()).endsWith("Hello");
            assertThat(q.claimedAt().toEpochMilli()).as("the claim").isBetween(before, System.currentTimeMillis());
            assertThat(q.sentBy().toEpochMilli()).isGreaterThan(System.currentTimeMillis());
        }

        var rows = allDeliveries(t.api(), s.messageId());
        assertThat(rows).filteredOn(d -> delivered.equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("status", "delivered").containsEntry("carrierMessageId", "SMtaken"));
        assertThat(rows).filteredOn(d -> failed.equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("status", "failed").containsEntry("error", "carrier 30007")
                        .containsEntry("carrierMessageId", "SMfailed"));
        assertThat(storedStatus(t.wiring(), s.messageId(), 0, neverGot)).isEqualTo("queued");
        assertThat(rows).filteredOn(d -> unsubscribed.equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("status", "opted_out").containsEntry("error", "carrier 21610"));
        String lineId = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        assertThat(InboundE2eTest.optOuts(t.api(), lineId)).singleElement().satisfies(o -> assertThat(o)
                .containsEntry("phone", unsubscribed).containsEntry("source", "carrier_error"));
        // (maintenance sweeps every test's messages in this runtime: only this message's jobs count)
        var jobs = requeued.deliveries.stream().filter(job -> s.messageId().equals(job.get("messageId"))).toList();
        assertThat(jobs).singleElement().satisfies(job -> assertThat(job.get("phones")).isEqualTo(List.of(neverGot)));
        assertThat(requeued.delays.get(requeued.deliveries.indexOf(jobs.getFirst()))).isZero();
        // the carrier took two of them: billed, once
        assertThat(billedMessages(t.api())).isEqualTo(3);

        // the job sends the one the carrier never got, once; the next sweep asks nobody again
        var resend = new CapturingQueue();
        resend.deliveries.addAll(jobs);
        deliverAll(service, new Setup(s.accountId(), s.messageId(), s.phones(), resend));
        deliverAll(service, new Setup(s.accountId(), s.messageId(), s.phones(), resend)); // redelivered
        assertThat(t.carrier().calls(neverGot)).isEqualTo(2);
        assertThat(t.carrier().calls(delivered)).isEqualTo(1);
        assertThat(t.carrier().calls(failed)).isEqualTo(1);
        new MessageMaintenance(later, new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries).hasSize(4);
        var message = t.api().get("/v1/messages/" + s.messageId()).jsonObject();
        assertThat(message).containsEntry("status", "sent");
        @SuppressWarnings("unchecked") var counts = (Map<String, Object>) message.get("counts");
        assertThat(counts).containsEntry("delivered", 1).containsEntry("failed", 1)
                .containsEntry("sent", 2).containsEntry("optedOut", 1);
        assertThat(billedMessages(t.api())).as("not the unsubscribed one").isEqualTo(4);
    }

    /**
     * Once the carrier fails to answer a lookup, a sweep asks nothing more, and rows it did not ask wait for a sweep
     * that does, however long ago they were claimed: only a question left unanswered gives a row up as "outcome
     * unknown" (never resent), and a failing carrier's silence only after 4 hours (doubt, after 1: before, one 429 on
     * an hour-old row's lookup gave it up; the page comes from the first hour on). Before, every row the sweep did not ask after the failure and claimed over an hour ago
     * was failed so, which after an outage could be recipients the carrier never got.
     */
    @Test
    void rowsASweepDoesNotAskAfterTheCarrierFailsWaitForOneThatDoes(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Carrier Outage Co", 1);
        // a second message on another account's line, through the same carrier: both recipients are one number
        Setup other = acceptAndFanOut(api.forNewAccount("Carrier Outage Too Co"), t.wiring(), 1);
        String phone = t.setup().phones().getFirst();
        assertThat(other.phones()).containsExactly(phone);
        var lostAnswer = new UncheckedIOException(new IOException("read timed out"));
        t.carrier().script.put(phone, List.of(lostAnswer, lostAnswer));
        deliverAll(new DeliveryService(t.wiring()), t.setup());
        deliverAll(new DeliveryService(t.wiring()), other);
        t.carrier().lookups.put(phone, new SentLookup.Unanswered("carrier down", true));

        // an hour on, a failing carrier's silence is no answer: both rows wait for its word (and it pages)
        Wiring anHourOn = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(61)));
        var original = System.out;
        var captured = new java.io.ByteArrayOutputStream();
        Map<String, Object> summary;
        System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            summary = new MessageMaintenance(anHourOn, new CapturingQueue()).sweep();
        } finally {
            System.setOut(original);
        }
        var paged = captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();
        assertThat(t.carrier().lookupQueries).as("asked once, then nothing more this sweep").hasSize(1);
        assertThat(List.of(storedStatus(t.wiring(), t.setup().messageId(), 0, phone),
                storedStatus(t.wiring(), other.messageId(), 0, phone))).containsOnly("sending");
        assertThat(paged).filteredOn(l -> l.contains("\"carrier_lookups_failing\"")).singleElement()
                .satisfies(l -> assertThat(l).contains("\"deliveriesWaitingOverAnHour\":1", "\"metric\":\"CarrierLookupsFailing\""));

        // four hours on, still failing: the one asked is given up; the other waits
        Wiring fourHoursOn = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(241)));
        summary = new MessageMaintenance(fourHoursOn, new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries).hasSize(2);
        assertThat((Integer) summary.get("deliveriesFailedUnknown")).isGreaterThanOrEqualTo(1);
        assertThat((Long) summary.get("deliveriesNotAskedCarrierFailing")).as("the other, counted").isGreaterThanOrEqualTo(1L);
        List<String> rows = List.of(storedStatus(t.wiring(), t.setup().messageId(), 0, phone),
                storedStatus(t.wiring(), other.messageId(), 0, phone));
        assertThat(rows).as("the one asked is given up; the other waits").containsExactlyInAnyOrder("failed", "sending");

        // the carrier answers again: the row that waited is asked, and settled from its word
        t.carrier().lookups.put(phone, new SentLookup.NotFound());
        new MessageMaintenance(fourHoursOn, new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries).hasSize(3);
        assertThat(List.of(storedStatus(t.wiring(), t.setup().messageId(), 0, phone),
                storedStatus(t.wiring(), other.messageId(), 0, phone))).containsExactlyInAnyOrder("failed", "queued");
    }

    /**
     * A message whose lookups the carrier fails to answer every sweep (say a slow page of its list that always times
     * out) does not hold the other messages' lookups back: the next sweep starts after it. Before, it was asked first
     * each minute, and the others' rows lost on the way waited an hour, until its rows gave up, to be resent.
     */
    @Test
    void aMessageWhoseLookupsAlwaysFailDoesNotHoldTheOthersBack(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Slow Lookup Co", 1);
        ApiClient otherApi = api.forNewAccount("Slow Lookup Too Co");
        Setup other = acceptAndFanOut(otherApi, t.wiring(), 1);
        String phone = t.setup().phones().getFirst();
        var lostAnswer = new UncheckedIOException(new IOException("read timed out"));
        t.carrier().script.put(phone, List.of(lostAnswer, lostAnswer));
        deliverAll(new DeliveryService(t.wiring()), t.setup());
        deliverAll(new DeliveryService(t.wiring()), other);
        t.carrier().lookups.put(phone, new SentLookup.Unanswered("read timed out", true));
        Wiring later = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));

        new MessageMaintenance(later, new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries).as("the first asked fails; nothing more is asked").hasSize(1);
        String failingLine = t.carrier().lookupQueries.getFirst().from();
        Map<String, String> messageOfLine = Map.of(linePhoneOf(t.api(), t.setup()), t.setup().messageId(),
                linePhoneOf(otherApi, other), other.messageId());
        // that message's lookups keep failing; the other's would find it never sent
        t.carrier().lookupsFrom.put(failingLine, new SentLookup.Unanswered("read timed out", true));
        t.carrier().lookups.put(phone, new SentLookup.NotFound());
        String answeredMessage = messageOfLine.entrySet().stream().filter(e -> !e.getKey().equals(failingLine))
                .map(Map.Entry::getValue).findFirst().orElseThrow();

        new MessageMaintenance(later, new CapturingQueue()).sweep();
        assertThat(t.carrier().lookupQueries.subList(1, t.carrier().lookupQueries.size()))
                .extracting(SentLookup.Query::from).as("the other message asked first").first().isNotEqualTo(failingLine);
        assertThat(storedStatus(t.wiring(), answeredMessage, 0, phone)).as("never sent: to be sent").isEqualTo("queued");
        assertThat(storedStatus(t.wiring(), messageOfLine.get(failingLine), 0, phone)).isEqualTo("sending");
    }

    /** The number of the line {@code s}'s message went from. */
    private static String linePhoneOf(ApiClient a, Setup s) {
        String lineId = (String) a.get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        return (String) a.get("/v1/lines/" + lineId).jsonObject().get("phone");
    }

    /**
     * The same text sent to the number by another message (one announcement to two groups) is not taken for the
     * lost one: the one message of this text the carrier holds has its id on the other message's row, so this one was
     * never sent, and goes back to queued to be sent, rather than being marked delivered with the other's id (the
     * number never got it; the id on two rows).
     */
    @Test
    void aCarrierMessageWhoseIdAnotherRowHasIsNotThisOne(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Same Text Twice Co", 1);
        Setup other = acceptAndFanOut(api.forNewAccount("Same Text Twice Too Co"), t.wiring(), 1);
        String phone = t.setup().phones().getFirst();
        assertThat(other.phones()).containsExactly(phone);
        t.carrier().script.put(phone, List.of(new UncheckedIOException(new IOException("read timed out")),
                new SendResult.Accepted("SMtheother", "queued")));
        deliverAll(new DeliveryService(t.wiring()), t.setup());
        deliverAll(new DeliveryService(t.wiring()), other);
        assertThat(storedStatus(t.wiring(), t.setup().messageId(), 0, phone)).as("its answer lost").isEqualTo("sending");
        t.carrier().lookups.put(phone, new SentLookup.Found("SMtheother", "delivered", null));

        Wiring later = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));
        var requeued = new CapturingQueue();
        new MessageMaintenance(later, requeued).sweep();

        assertThat(storedStatus(t.wiring(), t.setup().messageId(), 0, phone)).as("never sent: to be sent").isEqualTo("queued");
        assertThat(enqueued(requeued, t.setup().messageId())).containsExactly(phone);
        assertThat(storedStatus(t.wiring(), other.messageId(), 0, phone)).isEqualTo("sent");
        assertThat(t.carrier().calls(phone)).isEqualTo(2);
    }

    /**
     * Two rows left in sending (two messages of one text to the number, both answers lost) whose lookups find the
     * same one message of the carrier's: it is the first's, and the second was never sent (it goes back to queued),
     * rather than both taking one id (one of them the number never got). (Here the second finds the id on the first's
     * row at once; the sweep also remembers the ids it gave, for an index that has not caught up, which DynamoDB
     * Local's never lags behind to show.)
     */
    @Test
    void oneCarrierMessageFoundForTwoRowsIsTheFirstsOnly(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "One Found Twice Co", 1);
        Setup other = acceptAndFanOut(api.forNewAccount("One Found Twice Too Co"), t.wiring(), 1);
        String phone = t.setup().phones().getFirst();
        var lostAnswer = new UncheckedIOException(new IOException("read timed out"));
        t.carrier().script.put(phone, List.of(lostAnswer, lostAnswer));
        deliverAll(new DeliveryService(t.wiring()), t.setup());
        deliverAll(new DeliveryService(t.wiring()), other);
        t.carrier().lookups.put(phone, new SentLookup.Found("SMonlyone", "delivered", null));

        Wiring later = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));
        new MessageMaintenance(later, new CapturingQueue()).sweep();

        assertThat(List.of(storedStatus(t.wiring(), t.setup().messageId(), 0, phone), storedStatus(t.wiring(), other.messageId(), 0, phone)))
                .containsExactlyInAnyOrder("delivered", "queued");
    }

    /**
     * What the carrier's records say it never charged for (Twilio's "failed": it could not send; "canceled") is
     * settled as failed and not billed, as a receipt saying so would be; its "undelivered" is billed.
     */
    @Test
    void carrierRecordsOfUnchargedOutcomesAreNotBilled(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Uncharged Records Co", 3);
        Setup s = t.setup();
        String failed = s.phones().get(0);
        String canceled = s.phones().get(1);
        String undelivered = s.phones().get(2);
        var lostAnswer = new UncheckedIOException(new IOException("read timed out"));
        for (String p : s.phones()) t.carrier().script.put(p, List.of(lostAnswer));
        t.carrier().lookups.put(failed, new SentLookup.Found("SMnotsent", "failed", "30001"));
        t.carrier().lookups.put(canceled, new SentLookup.Found("SMcanceled", "canceled", null));
        t.carrier().lookups.put(undelivered, new SentLookup.Found("SMundelivered", "undelivered", "30003"));
        deliverAll(new DeliveryService(t.wiring()), s);

        Wiring later = t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));
        new MessageMaintenance(later, new CapturingQueue()).sweep();

        assertThat(statuses(t.api(), s.messageId())).containsEntry(failed, "failed").containsEntry(canceled, "failed")
                .containsEntry(undelivered, "failed");
        assertThat(billedMessages(t.api())).as("only the undelivered one").isEqualTo(1);
        for (String p : s.phones()) assertThat(t.carrier().calls(p)).isEqualTo(1);
    }

    /**
     * A sweep decides from what it read: a row claimed again while the carrier was being asked (an overlapping sweep
     * gave it back and a job claimed it) is left to that claim, never given back a second time.
     */
    @Test
    void aLookupsAnswerNeverUndoesAClaimMadeWhileItWasAsked(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Overlap Co", 2);
        Setup s = t.setup();
        String phone = s.phones().get(0);
        t.carrier().script.put(phone, List.of(new UncheckedIOException(new IOException("read timed out"))));
        t.carrier().lookups.put(phone, new SentLookup.NotFound());
        deliverAll(new DeliveryService(t.wiring()), s);
        int shard = shardOf(s, phone);
        var key = Map.of("pk", AttributeValue.fromS("MSG#" + s.messageId() + "#" + shard), "sk", AttributeValue.fromS(phone));
        String table = t.wiring().config().table(Tables.DELIVERIES);
        long reclaimedAt = System.currentTimeMillis() + 11 * 60_000L;
        // while the carrier is asked, the row is claimed again (still sending, a newer updatedAt)
        t.carrier().duringLookup.put(phone, () -> t.wiring().dynamo().updateItem(b -> b.tableName(table).key(key)
                .updateExpression("SET updatedAt = :at").expressionAttributeValues(Map.of(":at", AttributeValue.fromN(String.valueOf(reclaimedAt))))));

        var requeued = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))), requeued).sweep();

        assertThat(t.carrier().lookupQueries).extracting(SentLookup.Query::to).containsExactly(phone);
        assertThat(requeued.deliveries).noneMatch(job -> s.messageId().equals(job.get("messageId")));
        var row = t.wiring().dynamo().getItem(b -> b.tableName(table).key(key).consistentRead(true)).item();
        assertThat(row.get("status").s()).isEqualTo("sending");
        assertThat(row.get("updatedAt").n()).isEqualTo(String.valueOf(reclaimedAt));
    }

    /**
     * A conversation's messages whose jobs were lost (a crash) are sent again through the FIFO relays queue under
     * the conversation, oldest first by the time in their ids whatever their kind, so the phones get them in the
     * thread's order. Before, maintenance sent them through the unordered fan-out and deliveries queues.
     */
    @Test
    void aConversationsLostRelaysAreSentAgainInTheThreadsOrderThroughTheRelaysQueue(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Relay Redrive Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), 50);
        var line = new groupmsg.lines.LineService(runtime.wiring()).find(accountId, lineId).orElseThrow();
        String conversation = "cnv_redrive_" + accountId;
        List<Map.Entry<String, QueueMessage>> sent = new CopyOnWriteArrayList<>();
        QueueSender lost = (queue, messages) -> messages.forEach(m -> sent.add(Map.entry(queue.name(), m)));
        var direct = new groupmsg.messages.DirectMessages(runtime.wiring(), lost);
        var ids = new groupmsg.platform.config.Ids();
        List<String> inOrder = new ArrayList<>();
        // a reply's relay, the business's message, another reply: by prefix, the business's would sort first
        for (String prefix : List.of("crly_", "cout_", "crly_")) {
            String id = prefix + ids.next("");
            inOrder.add(id);
            direct.send(id, accountId, line, groupmsg.messages.MessageKind.CONVERSATION, List.of("+14155550781", "+14155550782"),
                    "m" + inOrder.size(), List.of(), conversation);
            Thread.sleep(3);
        }
        assertThat(sent).extracting(Map.Entry::getKey).containsOnly("relays");
        sent.clear();

        new MessageMaintenance(runtime.wiring(), lost).sweepAfterJobsLost(System.currentTimeMillis() + 1);

        var ours = sent.stream().filter(e -> inOrder.contains((String) Json.parseObject(e.getValue().body()).get("messageId"))).toList();
        assertThat(ours).extracting(Map.Entry::getKey).containsOnly("relays");
        assertThat(ours).extracting(e -> e.getValue().groupId()).containsOnly(conversation);
        assertThat(ours).extracting(e -> (String) Json.parseObject(e.getValue().body()).get("messageId")).containsExactlyElementsOf(inOrder);
        assertThat(ours).extracting(e -> e.getValue().deduplicationId()).doesNotContainAnyElementsOf(inOrder);
    }

    /**
     * Answers to one person whose jobs were lost go again in the order they were sent, not in the order of the texts
     * they answer: their ids hold the inbound message's id before their own ULID ({@code drp_<inboundId>_<ULID>}).
     */
    @Test
    void lostAnswersToOnePersonAreSentAgainInTheOrderTheyWereSent(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Reply Redrive Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), 50);
        var line = new groupmsg.lines.LineService(runtime.wiring()).find(accountId, lineId).orElseThrow();
        String kim = "+14155550791";
        List<Map.Entry<String, QueueMessage>> sent = new CopyOnWriteArrayList<>();
        QueueSender lost = (queue, messages) -> messages.forEach(m -> sent.add(Map.entry(queue.name(), m)));
        var direct = new groupmsg.messages.DirectMessages(runtime.wiring(), lost);
        var ids = new groupmsg.platform.config.Ids();
        String textA = "inb_" + ids.next("");
        Thread.sleep(3);
        String textB = "inb_" + ids.next("");
        Thread.sleep(3);
        // the business answers the later text first, then the earlier one
        List<String> inOrder = new ArrayList<>();
        for (String answered : List.of(textB, textA)) {
            String id = groupmsg.messages.DirectReplies.idFor(answered, ids.next(""));
            inOrder.add(id);
            direct.send(id, accountId, line, groupmsg.messages.MessageKind.DIRECT_REPLY, List.of(kim), "r" + inOrder.size(),
                    List.of(), lineId + "#" + kim);
            Thread.sleep(3);
        }
        sent.clear();

        new MessageMaintenance(runtime.wiring(), lost).sweepAfterJobsLost(System.currentTimeMillis() + 1);

        var ours = sent.stream().filter(e -> inOrder.contains((String) Json.parseObject(e.getValue().body()).get("messageId"))).toList();
        assertThat(ours).extracting(Map.Entry::getKey).containsOnly("relays");
        assertThat(ours).extracting(e -> e.getValue().groupId()).containsOnly(lineId + "#" + kim);
        assertThat(ours).extracting(e -> (String) Json.parseObject(e.getValue().body()).get("messageId")).containsExactlyElementsOf(inOrder);
    }

    /**
     * Rows of a conversation's message that a second sweep moves back to queued within the FIFO queue's 5 minutes get
     * a relay job of their own. Under the one id per message and 5 minutes the first sweep's job had, the queue dropped
     * it as a duplicate, and the rows waited for the requeue 10 minutes on.
     */
    @Test
    void aSecondSweepsRelayJobForRowsItMovedIsNotDroppedAsTheFirstsDuplicate(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Relay Sweeps Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String lineId = createLine(a, linePhone(), 50);
        var line = new groupmsg.lines.LineService(runtime.wiring()).find(accountId, lineId).orElseThrow();
        String early = "+14155550795", late = "+14155550796";
        // every send's answer is lost (left in sending), and the carrier then says it never got either
        CarrierPort carrier = new CarrierPort() {
            @Override
            public SendResult send(OutboundMessage message) {
                throw new UncheckedIOException(new IOException("read timed out"));
            }

            @Override
            public SentLookup findSent(SentLookup.Query query) {
                return query.from().equals(line.phone()) ? new SentLookup.NotFound() : new SentLookup.Unanswered("not ours", false);
            }
        };
        List<Map.Entry<String, QueueMessage>> sent = new CopyOnWriteArrayList<>();
        QueueSender lost = (queue, messages) -> messages.forEach(m -> sent.add(Map.entry(queue.name(), m)));
        String id = "cout_" + new groupmsg.platform.config.Ids().next("");
        new groupmsg.messages.DirectMessages(runtime.wiring(), lost).send(id, accountId, line,
                groupmsg.messages.MessageKind.CONVERSATION, List.of(early, late), "hello", List.of(), "cnv_sweeps_" + accountId);
        // two sweeps 2 minutes apart in one 5-minute deduplication window, well after the message was accepted
        long window = Duration.ofMinutes(5).toMillis();
        long first = (System.currentTimeMillis() / window + 4) * window + 30_000;
        long second = first + Duration.ofMinutes(2).toMillis();
        // its relay job ran 11 minutes before the first sweep and both answers were lost
        try {
            new groupmsg.messages.OrderedDelivery(at(runtime.wiring().withCarrier(carrier), first - Duration.ofMinutes(11).toMillis()))
                    .deliver(accountId, id, DeliveryService.Deadline.NONE);
        } catch (RuntimeException ignored) {
            // however the job ends, its rows are left in sending
        }
        // the later one's claim is 2 minutes younger (a second try): stalled for the second sweep, not for the first
        String table = runtime.wiring().config().table(Tables.DELIVERIES);
        var lateKey = Map.of("pk", AttributeValue.fromS("MSG#" + id + "#0"), "sk", AttributeValue.fromS(late));
        runtime.wiring().dynamo().updateItem(b -> b.tableName(table).key(lateKey)
                .conditionExpression("#status = :sending").updateExpression("SET updatedAt = :at")
                .expressionAttributeNames(Map.of("#status", "status"))
                .expressionAttributeValues(Map.of(":sending", AttributeValue.fromS("sending"),
                        ":at", AttributeValue.fromN(String.valueOf(first - Duration.ofMinutes(9).toMillis())))));
        sent.clear();

        for (long when : List.of(first, second)) {
            new MessageMaintenance(at(runtime.wiring().withCarrier(carrier), when), lost).sweep();
        }

        var ours = sent.stream().filter(e -> id.equals(Json.parseObject(e.getValue().body()).get("messageId"))).toList();
        assertThat(ours).as("the first sweep's job for the early row, the second's for the late one").hasSize(2);
        assertThat(ours).extracting(Map.Entry::getKey).containsOnly("relays");
        assertThat(ours).extracting(e -> e.getValue().deduplicationId()).doesNotHaveDuplicates();
        var row = runtime.wiring().dynamo().getItem(b -> b.tableName(table).key(lateKey).consistentRead(true)).item();
        assertThat(row.get("status").s()).isEqualTo("queued");
    }

    /** {@code wiring} with its clock moved to {@code epochMillis} (and running on from there). */
    private static Wiring at(Wiring wiring, long epochMillis) {
        return wiring.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMillis(epochMillis - System.currentTimeMillis())));
    }

    @SuppressWarnings("unchecked")
    static int shardOf(Setup s, String phone) {
        return s.queue().deliveries.stream().filter(job -> ((List<String>) job.get("phones")).contains(phone))
                .mapToInt(job -> ((Number) job.get("shard")).intValue()).findFirst().orElseThrow();
    }

    /**
     * The carrier's "unsubscribed" under block_conversation: what follows the recorded opt-out (the block, the
     * opt_out.changed event) is the opt-out worker's, its job staged in the outbox in the opt-out's own transaction,
     * so a hand-over to the queue that fails loses neither: maintenance's redrive sends it. Before, that opt-out's
     * event was lost (and a worker dying between the opt-out and its hand-over lost both).
     */
    @Test
    void aCarrierOptOutsBlockAndEventGoThroughTheOptOutWorkerAlsoWhenItsHandOverFails(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Block Handover Co", 3);
        Setup s = t.setup();
        String unsubscribed = s.phones().get(0);
        String alsoUnsubscribed = s.phones().get(2);
        for (String p : List.of(unsubscribed, alsoUnsubscribed)) {
            t.carrier().script.put(p, List.of(new SendResult.Rejected(400, "21610", "Attempt to send to unsubscribed recipient", false, true)));
        }
        String messageLine = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        assertThat(t.api().patch("/v1/lines/" + messageLine, Map.of("groupMessaging", true)).status()).isEqualTo(200);
        assertThat(t.api().patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String conversation = (String) ConversationsE2eTest.create(t.api(), messageLine, List.of(unsubscribed, s.phones().get(1)), "Hi")
                .get("id");
        String other = (String) ConversationsE2eTest.create(t.api(), messageLine, List.of(alsoUnsubscribed, s.phones().get(1)), "Hi")
                .get("id");
        String accountId = (String) t.api().get("/v1/account").jsonObject().get("id");

        // the delivery worker's first hand-over to the opt-out queue fails
        var failedSends = new java.util.concurrent.atomic.AtomicInteger();
        Wiring faulty = IdempotentRetriesE2eTest.failing(runtime,
                r -> IdempotentRetriesE2eTest.sendsTo("optouts").test(r) && failedSends.incrementAndGet() == 1,
                1_000, () -> software.amazon.awssdk.core.exception.SdkClientException.create("injected fault (test)"));
        deliverAll(new DeliveryService(faulty.withCarrier(t.carrier())), s);
        assertThat(failedSends.get()).isEqualTo(2);

        assertThat(statuses(t.api(), s.messageId())).containsEntry(unsubscribed, "opted_out").containsEntry(alsoUnsubscribed, "opted_out");
        IdempotentRetriesE2eTest.redriveOutbox(runtime); // maintenance's, after its 30 s
        for (String id : List.of(conversation, other)) {
            var blocked = InboundE2eTest.await(() -> t.api().get("/v1/conversations/" + id).jsonObject(),
                    c -> c.get("blockedAt") != null, 15_000);
            assertThat(blocked).as(id).containsEntry("status", "blocked").extractingByKey("blockedAt").isNotNull();
        }
        // each one's event, the lost hand-over's too
        var events = InboundE2eTest.await(() -> InboundE2eTest.integrationEvents(t.api(), accountId, "opt_out.changed"),
                l -> l.size() == 2, 15_000);
        assertThat(events).allSatisfy(e -> assertThat(e).containsEntry("optedOut", true)
                .containsEntry("source", "carrier_error").containsEntry("lineId", messageLine))
                .extracting(e -> e.get("phone")).containsExactlyInAnyOrder(unsubscribed, alsoUnsubscribed);
        // for good: the opt-out removed by hand does not reopen it
        assertThat(t.api().delete("/v1/opt-outs/" + messageLine + "/" + unsubscribed.replace("+", "%2B")).status()).isEqualTo(204);
        assertThat(t.api().get("/v1/conversations/" + conversation).jsonObject()).containsEntry("status", "blocked");
    }

    /**
     * The carrier refuses the sender (the token was rotated: 20003): no recipient is failed for it. The job stops
     * sending, gives back what it claimed, and fails, its recipients all still queued; once the sender is mended, the
     * job's return sends each of them once.
     */
    @Test
    void aRefusalOfTheSenderKeepsEveryRecipientQueuedForWhenItIsMended(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Rotated Token Co", 5);
        Setup s = t.setup();
        var refused = new SendResult.Rejected(401, "20003", "Authenticate", false, false, true);
        for (String p : s.phones()) t.carrier().script.put(p, List.of(refused));
        var service = new DeliveryService(t.wiring());

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(service, s)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("refused line").hasMessageContaining("20003");
        int refusedCalls = s.phones().stream().mapToInt(p -> t.carrier().calls(p)).sum();
        assertThat(refusedCalls).as("sends already under way when the first refusal came, no more").isBetween(1, 5);
        assertThat(statuses(t.api(), s.messageId())).hasSize(5).allSatisfy((phone, status) -> assertThat(status).isEqualTo("queued"));
        var m = t.api().get("/v1/messages/" + s.messageId()).jsonObject();
        assertThat(m).containsEntry("status", "sending");
        assertThat(m.get("counts")).isEqualTo(Map.of("queued", 5, "sent", 0, "delivered", 0, "failed", 0, "optedOut", 0));
        assertThat(usageOfTheTest(t.api())).containsEntry("messages", 0);

        // mended: the job comes back and sends each recipient once
        t.carrier().script.clear();
        deliverAll(service, s);
        assertThat(statuses(t.api(), s.messageId())).hasSize(5).allSatisfy((phone, status) -> assertThat(status).isEqualTo("sent"));
        assertThat(s.phones().stream().mapToInt(p -> t.carrier().calls(p)).sum()).isEqualTo(refusedCalls + 5);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    /**
     * Through the carrier emulator, a long code that is not a message-capable number of the carrier account (Twilio's
     * 21606, played by a magic "From" number) is the sender's refusal: every recipient stays queued for when it is
     * mended. Before, 21606 was taken for the recipient's (as it is from a short code) and failed them all for good.
     */
    @Test
    void aLongCodeTheCarrierSaysIsNotItsNumberKeepsEveryRecipientQueued(ApiClient api) throws Exception {
        ApiClient a = api.forNewAccount("Not Capable Co");
        String lineId = createLine(a, "+15005550007", 10);
        String g = createGroup(a, "Capable");
        List<String> phones = addMembers(a, g, 760, 3);
        String id = (String) MessagesE2eTest.send(a, g, lineId, "Hello").get("id");
        InboundE2eTest.await(() -> a.withoutKey().get("/local/carrier/messages?from=%2B15005550007").jsonObject(),
                r -> ((Number) r.get("rejected")).intValue() >= 1, 15_000);
        Thread.sleep(500); // the job's other sends under way, if any, answered too
        assertThat(statuses(a, id)).hasSize(3).allSatisfy((phone, status) -> assertThat(status).isEqualTo("queued"));
        assertThat(a.get("/v1/messages/" + id).jsonObject()).containsEntry("status", "sending");
        assertThat(usageOfTheTest(a)).containsEntry("messages", 0);
        // the way out for a line never to be mended: deleted by force, its message completes
        assertThat(a.delete("/v1/lines/" + lineId + "?force=true").status()).isEqualTo(204);
    }

    /**
     * A line the carrier refuses for good (a number the carrier account does not own) keeps its messages queued, and a
     * line with messages being sent cannot be deleted (a 409). {@code ?force=true} is the way out: the line goes, and
     * the job's next run fails what is left unsent, so the message completes. Before, the line was stuck for good.
     */
    @Test
    void aLineTheCarrierRefusesForGoodCanBeDeletedByForceAndItsMessageCompletes(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Not Our Number Co", 3);
        Setup s = t.setup();
        var refused = new SendResult.Rejected(400, "21660", "Mismatch between the 'From' number and the account", false, false, true);
        for (String p : s.phones()) t.carrier().script.put(p, List.of(refused));
        var service = new DeliveryService(t.wiring());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(service, s)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("refused line").hasMessageContaining("21660");
        String lineId = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");

        var refusedDelete = t.api().delete("/v1/lines/" + lineId);
        assertThat(refusedDelete.status()).isEqualTo(409);
        assertThat(refusedDelete.body()).contains("force=true");
        assertThat(t.api().delete("/v1/lines/" + lineId + "?force=maybe").status()).isEqualTo(400);
        String number = (String) t.api().get("/v1/lines/" + lineId).jsonObject().get("phone");
        assertThat(t.api().delete("/v1/lines/" + lineId + "?force=true").status()).isEqualTo(204);
        assertThat(t.api().get("/v1/lines/" + lineId).status()).isEqualTo(404);
        // the carrier account mended and the number added again before the job comes back: the line returns, but the
        // message of its earlier life does not send
        var back = t.api().post("/v1/lines", Map.of("phone", number, "type", "long_code", "groupMessaging", false, "mps", 1000));
        assertThat(back.status()).as(back.body()).isEqualTo(201);
        assertThat(back.jsonObject()).containsEntry("id", lineId);
        t.carrier().script.clear();

        deliverAll(service, s);
        assertThat(statuses(t.api(), s.messageId())).hasSize(3).allSatisfy((phone, status) -> assertThat(status).isEqualTo("failed"));
        var m = t.api().get("/v1/messages/" + s.messageId()).jsonObject();
        assertThat(m).containsEntry("status", "sent");
        assertThat(s.phones().stream().mapToInt(p -> t.carrier().calls(p)).sum()).as("nothing sent after the deletion").isBetween(1, 3);
    }

    /**
     * Twilio's "failed" (the message could not be sent: queue overflow, account suspended) is not charged, nor is
     * "canceled": the bill made when the carrier took the message is taken back, once, with the row's move to failed;
     * "undelivered" (the handset's network said so) stays billed.
     */
    @Test
    void aCarrierFailedReceiptTakesTheBillBackAndAnUndeliveredOneDoesNot(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Uncharged Co", 4);
        Setup s = t.setup();
        deliverAll(new DeliveryService(t.wiring()), s);
        assertThat(statuses(t.api(), s.messageId())).hasSize(4).allSatisfy((phone, status) -> assertThat(status).isEqualTo("sent"));
        assertThat(usageOfTheTest(t.api())).containsEntry("messages", 4).containsEntry("segments", 4);

        String path = "/webhooks/twilio/status?a=" + s.accountId() + "&m=" + s.messageId() + "&s=0";
        String neverSent = s.phones().get(0), unreached = s.phones().get(1);
        var failed = Map.of("MessageSid", "SM" + neverSent.substring(1), "To", neverSent, "MessageStatus", "failed", "ErrorCode", "30001");
        var undelivered = Map.of("MessageSid", "SM" + unreached.substring(1), "To", unreached, "MessageStatus", "undelivered", "ErrorCode", "30003");
        assertThat(TwilioWebhooks.post(t.api(), runtime, path, failed, null).status()).isEqualTo(200);
        assertThat(TwilioWebhooks.post(t.api(), runtime, path, undelivered, null).status()).isEqualTo(200);
        String canceled = s.phones().get(3);
        assertThat(TwilioWebhooks.post(t.api(), runtime, path, Map.of("MessageSid", "SM" + canceled.substring(1), "To", canceled,
                "MessageStatus", "canceled"), null).status()).isEqualTo(200);
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);
        assertThat(TwilioWebhooks.post(t.api(), runtime, path, failed, null).status()).isEqualTo(200); // Twilio again
        StatusWebhookE2eTest.awaitReceiptsApplied(runtime);

        assertThat(statuses(t.api(), s.messageId())).containsEntry(neverSent, "failed").containsEntry(unreached, "failed")
                .containsEntry(s.phones().get(2), "sent").containsEntry(canceled, "failed");
        assertThat(allDeliveries(t.api(), s.messageId())).filteredOn(d -> canceled.equals(d.get("phone"))).singleElement()
                .satisfies(d -> assertThat(d).containsEntry("error", "carrier canceled"));
        var usage = usageOfTheTest(t.api());
        assertThat(usage).containsEntry("messages", 2).containsEntry("segments", 2);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("counts"))
                .isEqualTo(Map.of("queued", 0, "sent", 1, "delivered", 0, "failed", 3, "optedOut", 0));
    }

    /**
     * A receipt batch that fails after some of its rows moved still marks the members those rows' receipts said cannot
     * receive (30006): its redelivery finds the rows failed already, and before, the mark was never made (the next
     * group message went to the number, and was billed, again).
     */
    @Test
    void aReceiptBatchThatFailsHalfwayStillMarksWhoCannotReceive(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Half Applied Receipts Co", 2);
        Setup s = t.setup();
        deliverAll(new DeliveryService(t.wiring()), s);
        String unreachable = s.phones().get(0), other = s.phones().get(1);
        // the carrier's failed (uncharged, applied first) for a number that cannot receive, and an undelivered whose
        // transaction fails for good
        Wiring failing = failingRequests(t, request -> request instanceof TransactWriteItemsRequest tx && tx.transactItems().stream()
                        .anyMatch(i -> i.update() != null && AttributeValue.fromS("sent").equals(i.update().expressionAttributeValues().get(":from"))
                                && !i.update().expressionAttributeValues().containsKey(":seen")),
                n -> true, "receipt write failed (test)");
        var key = new StatusCallbacks.Receipt.Key(s.accountId(), s.messageId(), 0);
        long now = System.currentTimeMillis();
        var receipts = List.of(
                new StatusCallbacks.Receipt(s.accountId(), s.messageId(), 0, unreachable, "SM" + unreachable.substring(1),
                        Delivery.FAILED, "carrier 30006", now, true),
                new StatusCallbacks.Receipt(s.accountId(), s.messageId(), 0, other, "SM" + other.substring(1),
                        Delivery.FAILED, "carrier 30003", now, false));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new StatusCallbacks(failing).apply(key, receipts))
                .hasMessageContaining("receipt write failed");

        assertThat(statuses(t.api(), s.messageId())).containsEntry(unreachable, "failed").containsEntry(other, "sent");
        String group = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("groupId");
        var member = t.api().get("/v1/groups/" + group + "/members/" + unreachable.replace("+", "%2B"));
        assertThat(member.status()).isEqualTo(200);
        assertThat(member.jsonObject()).containsKey("undeliverable");
    }

    /**
     * A carrier's "unsubscribed" (21610) in a receipt held back, redelivered or looked up an hour on, of a number that
     * texted an opt-in since the send that lifted the carrier's block: its row is opted_out (that message was refused),
     * but no opt-out is recorded, nor told. Lifting opt-ins: START to the line; "Yes" to it, which was also a reply
     * (the number was not opted out here); START to another of the account's lines, a toll-free one too (the carrier
     * keeps opt-outs per Messaging Service, as the lift of carrier refusals on other lines has it). Another number's
     * is recorded, as at the send. On a toll-free line, whose network keeps its own block, only a START to it lifts.
     */
    @Test
    void aLateUnsubscribedReceiptDoesNotOptOutANumberThatOptedInSince(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Late Unsubscribe Co", 5);
        Setup s = t.setup();
        deliverAll(new DeliveryService(t.wiring()), s);
        String started = s.phones().get(0), saidYes = s.phones().get(1), startedElsewhere = s.phones().get(2),
                startedOnTollFree = s.phones().get(3), unsubscribed = s.phones().get(4);
        String lineId = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        String linePhone = (String) t.api().get("/v1/lines/" + lineId).jsonObject().get("phone");
        String otherPhone = MessagesE2eTest.linePhone();
        MessagesE2eTest.createLine(t.api(), otherPhone, 100);
        String tollFreePhone = LinesE2eTest.newTollFree();
        var tollFreeLine = t.api().post("/v1/lines", Map.of("phone", tollFreePhone, "type", "toll_free", "groupMessaging", false));
        assertThat(tollFreeLine.status()).isEqualTo(201);
        var inbound = new groupmsg.inbound.InboundService(t.wiring(), new groupmsg.platform.queue.SqsQueueSender(
                t.wiring().sqsClient(), t.wiring().config()));
        for (var text : List.of(List.of(started, linePhone, "START"), List.of(saidYes, linePhone, "Yes"),
                List.of(startedElsewhere, otherPhone, "START"), List.of(startedOnTollFree, tollFreePhone, "START"))) {
            assertThat(inbound.receive(new groupmsg.inbound.InboundService.InboundSms(InboundE2eTest.sid(), text.get(0),
                    text.get(1), text.get(2), List.of()))).isInstanceOf(groupmsg.inbound.InboundService.Stored.class);
        }

        var key = new StatusCallbacks.Receipt.Key(s.accountId(), s.messageId(), 0);
        long now = System.currentTimeMillis();
        new StatusCallbacks(t.wiring()).apply(key, s.phones().stream().map(phone -> new StatusCallbacks.Receipt(
                s.accountId(), s.messageId(), 0, phone, "SM" + phone.substring(1), Delivery.FAILED, "carrier 21610", now, true)).toList());

        for (String phone : s.phones()) assertThat(statuses(t.api(), s.messageId())).containsEntry(phone, "opted_out");
        assertThat(InboundE2eTest.optOuts(t.api(), lineId)).extracting(o -> o.get("phone")).containsExactly(unsubscribed);
        assertThat(InboundE2eTest.optOuts(t.api(), lineId)).allSatisfy(o -> assertThat(o).containsEntry("source", "carrier_error"));
        // a toll-free line's block is its network's own: a START to a long-code line lifts nothing there
        assertThat(new groupmsg.optout.CarrierOptOuts(t.wiring()).recordReported(s.accountId(),
                (String) tollFreeLine.jsonObject().get("id"), startedElsewhere, now - 60_000)).isTrue();
    }

    /**
     * A send that fails on our side before reaching the carrier fails its recipient with a fixed error: the
     * exception's text, which may name internals, goes to the log only (the row's error is shown to API clients).
     */
    @Test
    void aSendThatFailsBeforeReachingTheCarrierShowsNoExceptionText(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Internal Fault Co", 2);
        Setup s = t.setup();
        String faulty = s.phones().getFirst();
        t.carrier().script.put(faulty, List.of(new IllegalStateException("internal detail: arn:aws:secretsmanager:x")));
        deliverAll(new DeliveryService(t.wiring()), s);
        var rows = allDeliveries(t.api(), s.messageId());
        assertThat(rows).filteredOn(r -> faulty.equals(r.get("phone"))).singleElement().satisfies(r -> {
            assertThat(r).containsEntry("status", "failed").containsEntry("error", DeliveryService.NOT_SENT_FAULT);
        });
        assertThat(rows).filteredOn(r -> !faulty.equals(r.get("phone"))).singleElement()
                .satisfies(r -> assertThat(r).containsEntry("status", "sent"));
        assertThat(t.carrier().calls(faulty)).isEqualTo(1);
    }

    @Test
    void carrierRefusalsRetriesAndUnsubscribedRecipients(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Refusals Co", 5);
        Setup s = t.setup();
        String throttledThenOk = s.phones().get(0);
        String unsubscribed = s.phones().get(1);
        String invalid = s.phones().get(2);
        String alwaysDown = s.phones().get(3);
        String unreachable = s.phones().get(4);
        t.carrier().script.put(throttledThenOk, List.of(
                new SendResult.Rejected(429, "20429", "Too Many Requests", true, false),
                new SendResult.Rejected(503, "503", "Service Unavailable", true, false),
                new SendResult.Accepted("SMretried", "queued")));
        t.carrier().script.put(unsubscribed, List.of(new SendResult.Rejected(400, "21610", "Attempt to send to unsubscribed recipient", false, true)));
        t.carrier().script.put(invalid, List.of(new SendResult.Rejected(400, "21211", "Invalid 'To' Phone Number", false, false)));
        t.carrier().script.put(alwaysDown, List.of(new SendResult.Rejected(503, "503", "Service Unavailable", true, false)));
        // connection refused: never reached the carrier (before, the last try ended "outcome unknown", in sending)
        t.carrier().script.put(unreachable, List.of(new UncheckedIOException(new java.net.ConnectException("Connection refused"))));
        // under block_conversation, the carrier's "unsubscribed" blocks the number's conversations on the line, as a STOP
        String messageLine = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        assertThat(t.api().patch("/v1/lines/" + messageLine, Map.of("groupMessaging", true)).status()).isEqualTo(200);
        assertThat(t.api().patch("/v1/account", Map.of("settings", Map.of("conversationOptOutPolicy", "block_conversation")))
                .status()).isEqualTo(200);
        String withUnsubscribed = (String) ConversationsE2eTest.create(t.api(), messageLine, List.of(unsubscribed, invalid), "Hi")
                .get("id");
        String without = (String) ConversationsE2eTest.create(t.api(), messageLine, List.of(throttledThenOk, invalid), "Hi")
                .get("id");

        // the carrier did not take two sends on any try: the job sends nothing more, their rows kept queued, and it
        // fails to come back in a while, though the carrier took another (throttled, then taken): handed on at once,
        // the rest would run into the same throttling every few seconds
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(t.wiring()), s))
                .isInstanceOf(groupmsg.messages.CarrierUnavailable.class).hasMessageContaining("recipients not tried stay queued");

        // the block is the opt-out worker's, a moment later (its queue retries it)
        assertThat(InboundE2eTest.await(() -> t.api().get("/v1/conversations/" + withUnsubscribed).jsonObject(),
                c -> c.get("blockedAt") != null, 15_000)).containsEntry("status", "blocked");
        assertThat(t.api().get("/v1/conversations/" + without).jsonObject())
                .containsEntry("status", "active").containsEntry("blockedAt", null);

        assertThat(t.carrier().calls(throttledThenOk)).isEqualTo(3);
        assertThat(t.carrier().calls(unsubscribed)).isEqualTo(1);
        assertThat(t.carrier().calls(invalid)).isEqualTo(1);
        // tried until the first of them had its every try; the other's tries still waiting were called off
        assertThat(Math.max(t.carrier().calls(alwaysDown), t.carrier().calls(unreachable))).isEqualTo(DeliveryService.MAX_ATTEMPTS);
        assertThat(t.carrier().calls(alwaysDown)).isBetween(1, DeliveryService.MAX_ATTEMPTS);
        assertThat(t.carrier().calls(unreachable)).isBetween(1, DeliveryService.MAX_ATTEMPTS);
        var st = statuses(t.api(), s.messageId());
        assertThat(st).containsEntry(throttledThenOk, "sent").containsEntry(unsubscribed, "opted_out")
                .containsEntry(invalid, "failed").containsEntry(alwaysDown, "queued").containsEntry(unreachable, "queued");
        for (String given : List.of(alwaysDown, unreachable)) {
            int shard = ((Number) s.queue().deliveries.stream().filter(b -> ((List<?>) b.get("phones")).contains(given))
                    .findFirst().orElseThrow().get("shard")).intValue();
            assertThat(storedStatus(t.wiring(), s.messageId(), shard, given)).as("given back, not left claimed").isEqualTo("queued");
        }
        var lineId = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        assertThat(new OptOutStore(new DynamoOps(t.wiring().dynamo()), "core").optedOut(lineId, List.of(unsubscribed, invalid)))
                .containsExactly(unsubscribed);
        var m = t.api().get("/v1/messages/" + s.messageId()).jsonObject();
        assertThat(m).containsEntry("status", "sending");
        assertThat(m.get("counts")).isEqualTo(Map.of("queued", 2, "sent", 1, "delivered", 0, "failed", 1, "optedOut", 1));
        var errors = new ArrayList<String>();
        allDeliveries(t.api(), s.messageId()).forEach(d -> { if (d.get("error") != null) errors.add((String) d.get("error")); });
        assertThat(errors).hasSize(2).anySatisfy(e -> assertThat(e).contains("21211")).anySatisfy(e -> assertThat(e).contains("21610"));

        // the carrier takes sends again: the job's retry sends them, each once, and nothing else again
        t.carrier().script.remove(alwaysDown);
        t.carrier().script.remove(unreachable);
        int downCalls = t.carrier().calls(alwaysDown);
        int unreachableCalls = t.carrier().calls(unreachable);
        deliverAll(new DeliveryService(t.wiring()), s);
        assertThat(t.carrier().calls(alwaysDown)).isEqualTo(downCalls + 1);
        assertThat(t.carrier().calls(unreachable)).isEqualTo(unreachableCalls + 1);
        assertThat(t.carrier().calls(throttledThenOk)).isEqualTo(3);
        assertThat(t.carrier().calls(invalid)).isEqualTo(1);
        assertThat(statuses(t.api(), s.messageId())).containsEntry(alwaysDown, "sent").containsEntry(unreachable, "sent");
        var after = t.api().get("/v1/messages/" + s.messageId()).jsonObject();
        assertThat(after).containsEntry("status", "sent");
        assertThat(after.get("counts")).isEqualTo(Map.of("queued", 0, "sent", 3, "delivered", 0, "failed", 1, "optedOut", 1));
    }

    /**
     * A job the carrier does not take (throttled on every try) fails with its recipients queued, and the delivery
     * worker has it back in seconds (10 s after its first receive), not after the queue's visibility timeout; once the
     * carrier takes sends again, each recipient gets it once.
     */
    @Test
    void aJobTheCarrierDidNotTakeIsBackInSecondsAndSentOnceItDoes(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Throttled Co", 3);
        Setup s = t.setup();
        for (String p : s.phones()) t.carrier().script.put(p, List.of(new SendResult.Rejected(429, "20429", "Too Many Requests", true, false)));
        var sqs = runtime.wiring().sqs();
        // a queue of the test's own with a two-minute visibility timeout, standing in for deliveries
        var queue = new groupmsg.local.Provisioner(runtime.wiring().dynamo(), sqs).ensureQueue(
                new groupmsg.local.QueueSpec("carrier-retry-test-" + java.util.UUID.randomUUID().toString().substring(0, 8), false, 8, 120, 1));
        sqs.sendMessage(r -> r.queueUrl(queue.url()).messageBody(Json.write(s.queue().deliveries.getFirst())));
        var handler = new DeliveryWorkerHandler(t.wiring().withConfig(
                RelayRetryE2eTest.withQueue(t.wiring().config(), groupmsg.platform.schema.Queues.DELIVERIES, queue.url())));

        var first = RelayRetryE2eTest.receive(sqs, queue, 5);
        assertThat(handler.handleRequest(standardQueueEvent(first), null).getBatchItemFailures()).hasSize(1);
        assertThat(statuses(t.api(), s.messageId()).values()).containsOnly("queued");
        long failedAt = System.nanoTime();
        var again = RelayRetryE2eTest.receive(sqs, queue, 30);
        assertThat((System.nanoTime() - failedAt) / 1_000_000).as("ms until it was back").isBetween(8_000L, 25_000L);

        t.carrier().script.clear();
        var callsBefore = s.phones().stream().mapToInt(p -> t.carrier().calls(p)).boxed().toList();
        assertThat(handler.handleRequest(standardQueueEvent(again), null).getBatchItemFailures()).isEmpty();
        for (int i = 0; i < s.phones().size(); i++) {
            assertThat(t.carrier().calls(s.phones().get(i))).as(s.phones().get(i)).isEqualTo(callsBefore.get(i) + 1);
        }
        assertThat(statuses(t.api(), s.messageId()).values()).containsOnly("sent");
        sqs.deleteMessage(r -> r.queueUrl(queue.url()).receiptHandle(again.receiptHandle()));
    }

    /**
     * A job the carrier turns away on the deliveries queue's last receive goes on as a fresh job 5 minutes on, without
     * its place, rather than to the dead-letter queue, where its recipients waited for maintenance, which leaves a
     * message's queued rows alone while its other jobs wait for places (hours on a slow line); before its last
     * receive it fails for a retry as before.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aJobTurnedAwayOnItsLastReceiveGoesOnAsAFreshJobNotToTheDeadLetterQueue(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Last Receive Co", 3);
        Setup s = t.setup();
        for (String p : s.phones()) t.carrier().script.put(p, List.of(new SendResult.Rejected(429, "20429", "Too Many Requests", true, false)));
        var placed = new java.util.LinkedHashMap<String, Object>(s.queue().deliveries.getFirst());
        placed.put("ticketAt", System.currentTimeMillis() * 1000); // a place in the line's waiting line, due now
        placed.put("placeMps", 1000);
        var handedOn = new CapturingQueue();
        var handler = new DeliveryWorkerHandler(t.wiring(), handedOn);

        assertThat(handler.handleRequest(queueEvent(Json.write(placed), 7), null).getBatchItemFailures()).as("a retry to come").hasSize(1);
        assertThat(handedOn.deliveries).isEmpty();

        assertThat(handler.handleRequest(queueEvent(Json.write(placed), 8), null).getBatchItemFailures()).as("the last receive").isEmpty();
        assertThat(handedOn.deliveries).singleElement().satisfies(job -> assertThat(job)
                .containsEntry("messageId", s.messageId()).containsEntry("phones", placed.get("phones")).doesNotContainKeys("ticketAt", "placeMps"));
        assertThat(handedOn.delays).containsExactly(300);
        assertThat(statuses(t.api(), s.messageId()).values()).containsOnly("queued");
        // maintenance 11 minutes after the fan-out leaves the rows to the handed-on job: no second job for them
        var swept = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))), swept).sweep();
        assertThat(swept.deliveries).noneSatisfy(job -> assertThat(job).containsEntry("messageId", s.messageId()));

        // the carrier back, the fresh job sends each once
        t.carrier().script.clear();
        var callsBefore = s.phones().stream().mapToInt(p -> t.carrier().calls(p)).boxed().toList();
        new DeliveryService(t.wiring()).deliver(s.accountId(), s.messageId(), ((Number) handedOn.deliveries.getFirst().get("shard")).intValue(),
                (List<String>) handedOn.deliveries.getFirst().get("phones"));
        assertThat(statuses(t.api(), s.messageId()).values()).containsOnly("sent");
        for (int i = 0; i < s.phones().size(); i++) {
            assertThat(t.carrier().calls(s.phones().get(i))).as(s.phones().get(i)).isEqualTo(callsBefore.get(i) + 1);
        }
    }

    private static SQSEvent queueEvent(String body, int receiveCount) {
        var message = new SQSEvent.SQSMessage();
        message.setMessageId(java.util.UUID.randomUUID().toString());
        message.setReceiptHandle("test-" + message.getMessageId());
        message.setBody(body);
        message.setAttributes(Map.of("ApproximateReceiveCount", Integer.toString(receiveCount)));
        var event = new SQSEvent();
        event.setRecords(List.of(message));
        return event;
    }

    /** A standard queue's message as its event source hands it to a worker. */
    private static SQSEvent standardQueueEvent(software.amazon.awssdk.services.sqs.model.Message m) {
        var message = new SQSEvent.SQSMessage();
        message.setMessageId(m.messageId());
        message.setReceiptHandle(m.receiptHandle());
        message.setBody(m.body());
        message.setAttributes(Map.of("ApproximateReceiveCount", "1"));
        var event = new SQSEvent();
        event.setRecords(List.of(message));
        return event;
    }

    /** The status of one recipient's row as stored (the API shows sending as queued). */
    /** Phones of fresh numbers sorting before every member {@link MessagesE2eTest#addMembers} gives. */
    static List<String> addMembersSortingFirst(ApiClient a, String groupId, int count) {
        List<Map<String, Object>> members = new ArrayList<>();
        List<String> phones = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String p = String.format("+1617554%04d", i);
            phones.add(p);
            members.add(Map.of("phone", p));
        }
        var r = a.post("/v1/groups/" + groupId + "/members", Map.of("members", members));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.jsonObject()).containsEntry("added", count);
        return phones;
    }

    @Test
    @SuppressWarnings("unchecked")
    void aTakenOverPageThatEndsEarlierNeverPutsTheDeadRunsSentRowsBackToQueued(ApiClient api, LocalRuntime runtime) throws Exception {
        var accepted = accepted(api, runtime, "Moved Page Co", 0, 1500); // two pages: 1,000 and 500
        ApiClient a = accepted.api();
        Wiring wiring = runtime.wiring();
        List<String> phones = accepted.phones();
        String accountId = accepted.accountId();
        var groups = accepted.groups();
        var message = accepted.message();
        String g = accepted.groupId();

        // The first run writes page 1 and enqueues its jobs, but SQS's answer is lost: the run fails before it
        // moves the checkpoint, and the jobs are delivered.
        var first = new CapturingQueue();
        QueueSender lostAnswer = (queue, messages) -> {
            first.send(queue, messages);
            if (queue.name().equals("deliveries")) throw new IllegalStateException("SQS answer lost");
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new FanoutService(wiring, groups, lostAnswer).run(accountId, message.id()))
                .hasMessageContaining("answer lost");
        var carrier = new ScriptedCarrier();
        var delivery = new DeliveryService(wiring.withCarrier(carrier));
        for (var batch : first.deliveries) {
            delivery.deliver(accountId, message.id(), ((Number) batch.get("shard")).intValue(), (List<String>) batch.get("phones"));
        }
        for (String p : phones.subList(0, 1000)) assertThat(carrier.calls(p)).as(p).isEqualTo(1);

        // Numbers join after the send (not recipients) and sort first: page 1 now ends 5 rows earlier, so the last
        // five numbers the dead run sent to fall in page 2.
        addMembersSortingFirst(a, g, 5);

        // After the lease a run takes page 1 over and goes on to page 2, which the dead run never claimed.
        var later = new CapturingQueue();
        new FanoutService(wiring.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))), groups, later)
                .run(accountId, message.id());
        for (var batch : later.deliveries) {
            delivery.deliver(accountId, message.id(), ((Number) batch.get("shard")).intValue(), (List<String>) batch.get("phones"));
        }
        for (String p : phones) assertThat(carrier.calls(p)).as(p).isEqualTo(1);
        var rows = allDeliveries(a, message.id());
        assertThat(rows).hasSize(1500).allSatisfy(r -> assertThat(r.get("status")).isEqualTo("sent"));
        assertThat(rows.stream().map(r -> (String) r.get("carrierMessageId"))).doesNotContainNull();
        var m = a.get("/v1/messages/" + message.id()).jsonObject();
        assertThat(m).containsEntry("status", "sent").containsEntry("recipients", 1500);
        assertThat((Map<String, Object>) m.get("counts")).containsEntry("sent", 1500).containsEntry("queued", 0);
    }

    @Test
    void theFanOutReadsTheMembersWithConsistentReadsSoAChangeJustBeforeTheSendIsSeen(ApiClient api, LocalRuntime runtime) {
        ApiClient a = api.forNewAccount("Snapshot Read Co");
        String lineId = createLine(a, linePhone(), 1000);
        String g = createGroup(a, "Snapshot read");
        addMembers(a, g, 0, 1200); // two pages
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        // DynamoDB Local is always consistent; in AWS an eventually consistent page could miss a member added just
        // before the send, or keep one removed: the requests are what can be checked here
        String members = GroupService.membersPartition(accountId, g);
        List<Boolean> memberQueries = new CopyOnWriteArrayList<>();
        ExecutionInterceptor recorder = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q
                        && AttributeValue.fromS(members).equals(q.expressionAttributeValues().get(":pk"))) {
                    memberQueries.add(Boolean.TRUE.equals(q.consistentRead()));
                }
            }
        };
        Wiring recording = runtime.wiringWith(recorder);
        var queue = new CapturingQueue();
        var groups = new GroupService(recording, queue);
        var message = new MessageService(recording, groups, queue).send(accountId, g,
                new MessageService.SendRequest(lineId, "Ops", "snapshot", "Hello", List.of()));
        new FanoutService(recording, groups, queue).run(accountId, message.id());

        assertThat(queue.deliveries.stream().mapToInt(b -> ((List<?>) b.get("phones")).size()).sum()).isEqualTo(1200);
        assertThat(memberQueries).hasSizeGreaterThanOrEqualTo(2).containsOnly(true);
    }

    static String storedStatus(Wiring wiring, String messageId, int shard, String phone) {
        var row = wiring.dynamo().getItem(b -> b.tableName(wiring.config().table(Tables.DELIVERIES)).consistentRead(true)
                .key(Map.of("pk", AttributeValue.fromS("MSG#" + messageId + "#" + shard), "sk", AttributeValue.fromS(phone)))).item();
        return row.get("status").s();
    }

    /**
     * How many of a shard's rows are in {@code status}, from one consistent read of the partition: a snapshot (row by
     * row, a claim and a record landing between the reads counted rows of both blocks at once).
     */
    static int inStatus(Wiring wiring, String messageId, int shard, String status) {
        return (int) wiring.dynamo().query(b -> b.tableName(wiring.config().table(Tables.DELIVERIES)).consistentRead(true)
                        .keyConditionExpression("pk = :pk")
                        .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("MSG#" + messageId + "#" + shard))))
                .items().stream().filter(row -> row.containsKey("status") && status.equals(row.get("status").s())).count();
    }

    @Test
    @SuppressWarnings("unchecked")
    void aBlockWithNoRateSlotBeforeTheDeadlineGivesItsClaimsBackAndTheNextJobSendsThem(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Scene t = scene(api, runtime, "No Slot Co", 3);
        Setup s = t.setup();
        var batch = s.queue().deliveries.getFirst();
        List<String> phones = (List<String>) batch.get("phones");
        int shard = ((Number) batch.get("shard")).intValue();
        var service = new DeliveryService(t.wiring());

        // time to start the block, but its sends would all start after the deadline: claimed, then given back
        long now = System.currentTimeMillis();
        assertThat(service.deliverOnly(s.accountId(), s.messageId(), shard, phones, new DeliveryService.Deadline(now + 60_000, now)))
                .containsExactlyInAnyOrderElementsOf(phones);
        for (String p : phones) {
            assertThat(t.carrier().calls(p)).isZero();
            assertThat(storedStatus(t.wiring(), s.messageId(), shard, p)).as(p).isEqualTo("queued");
        }
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("counts"))
                .isEqualTo(Map.of("queued", 3, "sent", 0, "delivered", 0, "failed", 0, "optedOut", 0));

        // the job that takes over sends each of them once (before, they stayed in sending: never sent, failed later)
        service.deliver(s.accountId(), s.messageId(), shard, phones);
        for (String p : phones) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        assertThat(statuses(t.api(), s.messageId()).values()).containsOnly("sent");
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    @Test
    void aTurnedAwaySendWithNoTimeForAnotherTryIsGivenBackAndAnUnclearAnswerIsNeverResent(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Scene t = scene(api, runtime, "No Retry Co", 3);
        Setup s = t.setup();
        String throttled = s.phones().get(0);
        String unavailable = s.phones().get(1);
        String unclear = s.phones().get(2);
        int shard = ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();
        t.carrier().script.put(throttled, List.of(new SendResult.Rejected(429, "20429", "Too Many Requests", true, false),
                new SendResult.Accepted("SMlater", "queued")));
        t.carrier().script.put(unavailable, List.of(new SendResult.Rejected(503, "503", "Service Unavailable", true, false),
                new SendResult.Accepted("SMlater2", "queued")));
        // what the Twilio client makes of a 500: the message may have been sent
        t.carrier().script.put(unclear, List.of(new UncheckedIOException(new IOException("carrier answered 500 (20500): the message may have been sent")),
                new SendResult.Accepted("SMlater3", "queued")));
        var service = new DeliveryService(t.wiring());

        // the first tries are in time (5 s, however slow the set-up); the retries cannot be: the carrier turns them
        // away 0.3 s before the last moment a send may start, and the backoff alone (0.5 s) ends after it
        long now = System.currentTimeMillis();
        long lastSendAt = now + 5_000;
        t.carrier().answerNotBefore.put(throttled, lastSendAt - 300);
        t.carrier().answerNotBefore.put(unavailable, lastSendAt - 300);
        assertThat(service.deliverOnly(s.accountId(), s.messageId(), shard, List.of(throttled, unavailable, unclear),
                new DeliveryService.Deadline(now + 60_000, lastSendAt))).containsExactlyInAnyOrder(throttled, unavailable);
        t.carrier().answerNotBefore.clear();
        for (String p : s.phones()) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        // turned away: certainly not sent, so given back; an unclear answer stays sending, for its receipt or maintenance
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, throttled)).isEqualTo("queued");
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, unavailable)).isEqualTo("queued");
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, unclear)).isEqualTo("sending");

        service.deliver(s.accountId(), s.messageId(), shard, s.phones());
        assertThat(t.carrier().calls(throttled)).isEqualTo(2);
        assertThat(t.carrier().calls(unavailable)).isEqualTo(2);
        assertThat(t.carrier().calls(unclear)).as("never resent").isEqualTo(1);
        assertThat(statuses(t.api(), s.messageId())).containsEntry(throttled, "sent").containsEntry(unavailable, "sent");
    }

    /**
     * A carrier answering 500 to every send: after {@link DeliveryService#UNCLEAR_RUN} such answers in a row the job
     * stops as for a carrier turning sends away, the rows not tried kept queued for its retry; before, each recipient
     * got one try whose outcome only lookups could settle, an hour on for many ("outcome unknown"). Clear answers
     * between unclear ones keep the job going.
     */
    @Test
    void aRunOfUnclearAnswersStopsTheJobKeepingTheRestQueued(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Unclear Run Co", 30);
        Setup s = t.setup();
        for (String p : s.phones()) {
            t.carrier().script.put(p, List.of(new UncheckedIOException(new IOException("carrier answered 500 (20500): the message may have been sent"))));
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(t.wiring()), s))
                .isInstanceOf(groupmsg.messages.CarrierUnavailable.class).hasMessageContaining("answers in a row");
        int called = (int) s.phones().stream().filter(p -> t.carrier().calls(p) > 0).count();
        assertThat(called).as("stopped after the run, not every recipient tried").isBetween(DeliveryService.UNCLEAR_RUN, 20);
        for (String p : s.phones()) {
            assertThat(storedStatus(t.wiring(), s.messageId(), shardOf(s, p), p)).as(p)
                    .isEqualTo(t.carrier().calls(p) > 0 ? "sending" : "queued");
        }

        // one in three unclear: never five in a row, every recipient tried once
        Scene mixed = scene(api, runtime, "Unclear Mixed Co", 30);
        for (int i = 0; i < 30; i += 3) {
            mixed.carrier().script.put(mixed.setup().phones().get(i), List.of(new UncheckedIOException(new IOException("carrier answered 502 (502)"))));
        }
        deliverAll(new DeliveryService(mixed.wiring()), mixed.setup());
        for (String p : mixed.setup().phones()) assertThat(mixed.carrier().calls(p)).as(p).isEqualTo(1);
        for (int i = 0; i < 30; i++) {
            String p = mixed.setup().phones().get(i);
            assertThat(storedStatus(mixed.wiring(), mixed.setup().messageId(), shardOf(mixed.setup(), p), p)).as(p)
                    .isEqualTo(i % 3 == 0 ? "sending" : "sent");
        }

        // a run among the job's last sends, nothing left queued: the job is done, not failed to come back for nothing
        Scene last = scene(api, runtime, "Unclear Last Co", DeliveryService.UNCLEAR_RUN);
        for (String p : last.setup().phones()) {
            last.carrier().script.put(p, List.of(new UncheckedIOException(new IOException("carrier answered 500 (20500)"))));
        }
        deliverAll(new DeliveryService(last.wiring()), last.setup());
        for (String p : last.setup().phones()) {
            assertThat(storedStatus(last.wiring(), last.setup().messageId(), shardOf(last.setup(), p), p)).as(p).isEqualTo("sending");
        }
    }

    @Test
    void aRetrysFailedReservationGivesTheRecipientBack(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Retry Cursor Co", 1);
        Setup s = t.setup();
        String phone = s.phones().getFirst();
        int shard = ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();
        var throttled = new SendResult.Rejected(429, "20429", "Too Many Requests", true, false);
        t.carrier().script.put(phone, List.of(throttled, throttled, new SendResult.Accepted("SMlater", "queued")));
        // each block's reservation (one write on an idle line) goes through; each retry's fails
        Wiring failing = failingCursorWrites(t, write -> write % 2 == 0);

        assertThat(new DeliveryService(failing).deliverOnly(s.accountId(), s.messageId(), shard, List.of(phone),
                DeliveryService.Deadline.NONE)).containsExactly(phone);
        assertThat(t.carrier().calls(phone)).isEqualTo(1);
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, phone)).isEqualTo("queued");

        // a whole job delivered at once (a relay's FIFO job) fails rather than end with a recipient given back
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new DeliveryService(failing)
                .deliver(s.accountId(), s.messageId(), shard, List.of(phone))).hasMessageContaining("not sent yet");
        assertThat(t.carrier().calls(phone)).isEqualTo(2);
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, phone)).isEqualTo("queued");

        new DeliveryService(t.wiring()).deliver(s.accountId(), s.messageId(), shard, List.of(phone));
        assertThat(t.carrier().calls(phone)).isEqualTo(3);
        assertThat(statuses(t.api(), s.messageId())).containsEntry(phone, "sent");
    }

    static boolean isCursorWrite(Object request) {
        return request instanceof UpdateItemRequest u && u.key().get("pk").s().startsWith("RATE#");
    }

    /**
     * The scene's tables and carrier through SDK clients whose rate-cursor writes fail (a throttled or unreachable
     * DynamoDB) when {@code fails} says so of the write's number (1 for the first).
     */
    static Wiring failingCursorWrites(Scene t, IntPredicate fails) {
        return failingRequests(t, DeliveryFaultsTest::isCursorWrite, fails, "rate cursor write failed (test)");
    }

    /**
     * The scene's tables and carrier through SDK clients whose requests that {@code which} picks fail with
     * {@code message} when {@code fails} says so of the request's number among those picked (1 for the first).
     */
    static Wiring failingRequests(Scene t, java.util.function.Predicate<Object> which, IntPredicate fails, String message) {
        var picked = new AtomicInteger();
        ExecutionInterceptor interceptor = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (which.test(context.request()) && fails.test(picked.incrementAndGet())) {
                    throw SdkClientException.create(message);
                }
            }
        };
        return sceneWith(t, interceptor);
    }

    /** The scene's tables, carrier and recorded topics through SDK clients of their own with {@code interceptor}. */
    static Wiring sceneWith(Scene t, ExecutionInterceptor interceptor) {
        return Wiring.create(t.wiring().config(), StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local")),
                List.of(interceptor)).withCarrier(t.carrier()).withEvents(t.wiring().events());
    }

    /** A transaction recording sends: a row's {@code sending -> sent}. */
    static boolean isSentRecord(Object request) {
        return request instanceof TransactWriteItemsRequest tx && tx.transactItems().stream()
                .anyMatch(i -> i.update() != null && AttributeValue.fromS("sent").equals(i.update().expressionAttributeValues().get(":to")));
    }

    @Test
    void aFailedWriteOfABlocksOutcomesIsWrittenAgainBeforeTheJobFailsSoNoSentRowStaysSending(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Scene t = scene(api, runtime, "Lost Outcome Co", 3);
        Setup s = t.setup();
        Wiring failing = failingRequests(t, DeliveryFaultsTest::isSentRecord, n -> n == 1, "outcome write failed (test)");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(failing), s))
                .hasMessageContaining("outcome write failed");
        // the sends went out once, and what the carrier said is recorded all the same: sent, with its id
        var rows = allDeliveries(t.api(), s.messageId());
        assertThat(rows).hasSize(3).allSatisfy(r -> {
            assertThat(r.get("status")).as(r.toString()).isEqualTo("sent");
            assertThat(r.get("carrierMessageId")).as(r.toString()).isEqualTo("SM" + ((String) r.get("phone")).substring(1));
        });
        for (String p : s.phones()) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);

        // the job's retry sends nothing again
        deliverAll(new DeliveryService(t.wiring()), s);
        for (String p : s.phones()) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    /**
     * A block's record written again after a failure (its first chunks may have committed) leaves alone a row it gave
     * back that another job (a duplicate SQS delivery) has claimed since: moved back to queued under that job's send,
     * the send's record was dropped and the recipient sent to a second time by the job that came for it next.
     */
    @Test
    void aRecordWrittenAgainLeavesARowClaimedSinceByAnotherJobAlone(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Reclaimed Row Co", 1);
        Setup s = t.setup();
        String phone = s.phones().getFirst();
        int shard = ((Number) s.queue().deliveries.getFirst().get("shard")).intValue();
        // the carrier refuses the sender: the row is given back to queued for when the line can send again
        t.carrier().script.put(phone, List.of(new SendResult.Rejected(401, "20003", "Authenticate", false, false, true)));
        String table = t.wiring().config().table(Tables.DELIVERIES);
        long otherClaim = System.currentTimeMillis() + 5_000;
        var handBacks = new AtomicInteger();
        ExecutionInterceptor interceptor = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        ExecutionAttributes attributes) {
                if (isHandBack(context.request())) handBacks.incrementAndGet();
            }

            @Override
            public void afterExecution(software.amazon.awssdk.core.interceptor.Context.AfterExecution context,
                                       ExecutionAttributes attributes) {
                if (!isHandBack(context.request()) || handBacks.get() != 1) return;
                // committed; another job claims the row now, and this worker hears its write failed
                t.wiring().dynamo().updateItem(b -> b.tableName(table)
                        .key(Map.of("pk", AttributeValue.fromS("MSG#" + s.messageId() + "#" + shard), "sk", AttributeValue.fromS(phone)))
                        .updateExpression("SET #status = :sending, updatedAt = :at, claimedAt = :at")
                        .conditionExpression("#status = :queued")
                        .expressionAttributeNames(Map.of("#status", "status"))
                        .expressionAttributeValues(Map.of(":sending", AttributeValue.fromS("sending"),
                                ":queued", AttributeValue.fromS("queued"), ":at", AttributeValue.fromN(Long.toString(otherClaim)))));
                throw SdkClientException.create("record's answer lost (test)");
            }
        };
        Wiring failing = sceneWith(t, interceptor);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(failing), s))
                .hasMessageContaining("answer lost");
        assertThat(handBacks.get()).as("written again").isGreaterThanOrEqualTo(2);
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, phone)).as("the other job's claim stands").isEqualTo("sending");
        assertThat(t.carrier().calls(phone)).isEqualTo(1);
    }

    /** A transaction giving claimed rows back: a row's {@code sending -> queued}. */
    static boolean isHandBack(Object request) {
        return request instanceof TransactWriteItemsRequest tx && tx.transactItems().stream().anyMatch(i -> i.update() != null
                && AttributeValue.fromS("sending").equals(i.update().expressionAttributeValues().get(":from"))
                && AttributeValue.fromS("queued").equals(i.update().expressionAttributeValues().get(":to")));
    }

    @Test
    void aFailedRateReservationGivesTheBlockBackAndTheRetriedJobSendsEachOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Throttled Cursor Co", 3);
        Setup s = t.setup();
        // the same tables through clients whose writes to rate cursors fail (a throttled or unreachable DynamoDB)
        Wiring failing = failingCursorWrites(t, write -> true);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(failing), s))
                .hasMessageContaining("rate cursor write failed");
        var batch = s.queue().deliveries.getFirst();
        for (String p : s.phones()) {
            assertThat(t.carrier().calls(p)).isZero();
            assertThat(storedStatus(t.wiring(), s.messageId(), ((Number) batch.get("shard")).intValue(), p)).as(p).isEqualTo("queued");
        }

        // SQS brings the job back: every recipient is sent once
        deliverAll(new DeliveryService(t.wiring()), s);
        for (String p : s.phones()) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    /** Recipients of {@code messageId} in the delivery jobs {@code queue} captured. */
    @SuppressWarnings("unchecked")
    static List<String> enqueued(CapturingQueue queue, String messageId) {
        List<String> phones = new ArrayList<>();
        for (var job : queue.deliveries) {
            if (messageId.equals(job.get("messageId"))) phones.addAll((List<String>) job.get("phones"));
        }
        return phones;
    }

    /**
     * {@code count} messages, each to one member, delivered with no completion check after (a worker that died
     * right after its record): complete, but still {@code sending} until maintenance finds them.
     */
    static List<Scene> deliveredNotCompleted(ApiClient api, LocalRuntime runtime, String accountName, int count) throws Exception {
        List<Scene> scenes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Scene t = scene(api, runtime, accountName + " " + i, 1);
            @SuppressWarnings("unchecked")
            List<String> phones = (List<String>) t.setup().queue().deliveries.getFirst().get("phones");
            new DeliveryService(t.wiring()).deliverOnly(t.setup().accountId(), t.setup().messageId(), 0, phones,
                    DeliveryService.Deadline.NONE);
            assertThat(t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject()).containsEntry("status", "sending");
            scenes.add(t);
        }
        return scenes;
    }

    /**
     * A maintenance step that fails (the imports' read throttled, say) does not keep the others from their repairs:
     * the message sweep still completes what is done, and the run fails after them all (for the Errors alarm).
     */
    @Test
    void aFailingMaintenanceStepDoesNotKeepTheOthersFromRunning(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = deliveredNotCompleted(api, runtime, "Failing Step Co", 1).getFirst();
        Wiring failing = failingRequests(t, request -> request instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q
                        && q.expressionAttributeValues().getOrDefault(":pk", AttributeValue.fromS("")).s().startsWith("JOBS#import"),
                n -> true, "imports read throttled (test)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new groupmsg.maintenance.MaintenanceHandler(failing)
                .handleRequest(new com.amazonaws.services.lambda.runtime.events.ScheduledEvent(), null))
                .hasMessageContaining("imports read throttled");
        assertThat(t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject()).containsEntry("status", "sent");
    }

    /**
     * A maintenance run that cannot do its minute's work (no time left for the overdue receipts; a message sweep out of
     * its time) logs it with the MaintenanceBehind metric, which pages when it lasts; a run that does its work does not.
     */
    @Test
    void aMaintenanceRunThatCannotDoItsWorkSaysSoForTheAlarm(ApiClient api, LocalRuntime runtime) throws Exception {
        var handler = new groupmsg.maintenance.MaintenanceHandler(runtime.wiring());
        java.util.function.IntFunction<String> runWith = millis -> {
            Context context = (Context) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[]{Context.class},
                    (proxy, method, args) -> method.getName().equals("getRemainingTimeInMillis") ? millis : null);
            var original = System.out;
            var captured = new java.io.ByteArrayOutputStream();
            System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
            try {
                handler.handleRequest(new com.amazonaws.services.lambda.runtime.events.ScheduledEvent(), context);
            } finally {
                System.setOut(original);
            }
            return captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                    .filter(l -> l.contains("\"maintenance_behind\"")).findFirst().orElse(null);
        };
        assertThat(runWith.apply(60_000)).as("a whole minute").isNull();
        assertThat(runWith.apply(14_000)).as("no time left for the receipts").isNotNull()
                .contains("\"receipts\"", "\"metric\":\"MaintenanceBehind\"");
        // two messages still sending, and a millisecond for the message sweep: it runs out of time after the first
        scene(api, runtime, "Behind Co one", 1);
        scene(api, runtime, "Behind Co two", 1);
        int forMessagesOnly = (int) (MessageMaintenance.LOOKUP_RESERVE.toMillis() + 5_001);
        assertThat(runWith.apply(forMessagesOnly)).as("the message sweep out of time").isNotNull()
                .contains("\"messages\"", "\"metric\":\"MaintenanceBehind\"").doesNotContain("\"receipts\"");
    }

    /**
     * A sweep reads a message's rows in sending only in shards whose counter has some: a message in flight for hours
     * had all its rows read every minute. Rows left in sending are still found and settled.
     */
    @Test
    void maintenanceReadsRowsInSendingOnlyWhereTheCountersHaveSome(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Counted Sweep Co", 3);
        Setup s = t.setup();
        var sendingReads = new AtomicInteger();
        ExecutionInterceptor counter = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.QueryRequest q
                        && AttributeValue.fromS("sending").equals(q.expressionAttributeValues().get(":status"))
                        && q.expressionAttributeValues().get(":pk").s().startsWith("MSG#" + s.messageId() + "#")) {
                    sendingReads.incrementAndGet();
                }
            }
        };
        Wiring counted = sceneWith(t, counter)
                .withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11)));
        // nothing sent yet, eleven minutes on: the rows are queued, none in sending
        new MessageMaintenance(counted, new CapturingQueue()).sweep();
        assertThat(sendingReads.get()).as("no shard has rows in sending").isZero();

        // one recipient's answer lost: its row stays in sending, and is read and settled from the carrier's word
        String lost = s.phones().getFirst();
        t.carrier().script.put(lost, List.of(new UncheckedIOException(new IOException("read timed out"))));
        t.carrier().lookups.put(lost, new SentLookup.Found("SMfound", "delivered", null));
        deliverAll(new DeliveryService(t.wiring()), s);
        new MessageMaintenance(counted, new CapturingQueue()).sweep();
        assertThat(sendingReads.get()).isEqualTo(1);
        assertThat(statuses(t.api(), s.messageId())).containsEntry(lost, "delivered");
    }

    @Test
    void maintenanceVisitsEveryMessageStillSendingPageAfterPage(ApiClient api, LocalRuntime runtime) throws Exception {
        List<Scene> scenes = deliveredNotCompleted(api, runtime, "Paged Maintenance Co", 3);
        // one message per page: a sweep that read only its first page would complete one of them at most
        new MessageMaintenance(runtime.wiring(), new CapturingQueue(), 1, Duration.ofSeconds(30)).sweep();
        for (Scene t : scenes) {
            assertThat(t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject()).containsEntry("status", "sent");
        }
    }

    @Test
    void sweepsOutOfTimeResumeWhereTheLastOneStoppedSoNoMessageWaitsForGood(ApiClient api, LocalRuntime runtime) throws Exception {
        // A message still legitimately sending (accepted just now, nothing delivered yet) stays in JOBS#sending, and
        // its account, created first, sorts before the others.
        scene(api, runtime, "Resumed Maintenance Co blocker", 1);
        List<Scene> scenes = deliveredNotCompleted(api, runtime, "Resumed Maintenance Co", 3);
        // Every sweep out of time after its first message: one message a sweep. Starting from the first job each
        // time, they would visit the blocker (or another test's message still sending) for ever.
        var dynamo = runtime.wiring().dynamo();
        int stillSending = dynamo.query(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .keyConditionExpression("pk = :pk").expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("JOBS#sending")))).count();
        var hurried = new MessageMaintenance(runtime.wiring(), new CapturingQueue(), 1, Duration.ZERO);
        for (int sweep = 0; sweep < stillSending; sweep++) hurried.sweep();
        for (Scene t : scenes) {
            assertThat(t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject()).containsEntry("status", "sent");
        }
    }

    /**
     * A message no sweep can finish (here: every sweep out of time in its first message's repair) does not hold the
     * others back: a sweep that spent itself on one message alone resumes after it. Before, each sweep started with
     * it again, and no other message was completed, re-queued or settled while it lasted.
     */
    @Test
    void aMessageNoSweepCanFinishDoesNotHoldTheOthersBack(ApiClient api, LocalRuntime runtime) throws Exception {
        // fanned out, never delivered: stalled ten minutes on, its repair (re-queueing) never fits in no time at all
        scene(api, runtime, "Unfinished Maintenance Co blocker", 1);
        List<Scene> scenes = deliveredNotCompleted(api, runtime, "Unfinished Maintenance Co", 3);
        var dynamo = runtime.wiring().dynamo();
        int stillSending = dynamo.query(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .keyConditionExpression("pk = :pk").expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("JOBS#sending")))).count();
        var hurried = new MessageMaintenance(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))),
                new CapturingQueue(), 1, Duration.ZERO);
        for (int sweep = 0; sweep < stillSending; sweep++) hurried.sweep();
        for (Scene t : scenes) {
            assertThat(t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject()).containsEntry("status", "sent");
        }
    }

    /**
     * A send whose tries keep losing to membership changes, each slow (a busy table), stops trying after its time and
     * answers its 409 well within the function's 10 s, storing nothing. Before, it went on for up to 50 tries: past the
     * timeout, a 5xx whose last transaction could still commit.
     */
    @Test
    void aSendThatKeepsLosingToMembershipChangesGivesUpWithinItsTime(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Busy Group Co");
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        String g = createGroup(a, "Busy");
        addMembers(a, g, 700, 2);
        String lineId = createLine(a, linePhone(), 1000);
        var core = runtime.wiring().config().table(Tables.CORE);
        var direct = runtime.wiring().dynamo();
        var tries = new AtomicInteger();
        Wiring busy = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest t && t.transactItems().stream()
                        .anyMatch(i -> i.put() != null && i.put().item().get("sk").s().startsWith("MSG#msg_"))) {
                    tries.incrementAndGet();
                    try {
                        Thread.sleep(400); // a slow store
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    // a member change commits meanwhile
                    direct.updateItem(b -> b.tableName(core).key(Map.of("pk", AttributeValue.fromS("ACCT#" + accountId),
                                    "sk", AttributeValue.fromS("GROUP#" + g)))
                            .updateExpression("ADD memberVersion :one").expressionAttributeValues(Map.of(":one", AttributeValue.fromN("1"))));
                }
            }
        });
        var queue = new CapturingQueue();
        long started = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new MessageService(busy, new GroupService(busy, queue), queue)
                        .send(accountId, g, new MessageService.SendRequest(lineId, "Ops", "busy", "Hello", List.of())))
                .isInstanceOfSatisfying(groupmsg.platform.api.ApiException.class,
                        e -> assertThat(e.code()).isEqualTo(groupmsg.platform.api.ErrorCode.CONFLICT));
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(tookMillis).as("answered within the function's time").isLessThan(6_000);
        assertThat(tries.get()).as("tries stopped by the time, not the count").isBetween(2, 12);
        @SuppressWarnings("unchecked") var listed = (List<Object>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items");
        assertThat(listed).isEmpty();
        assertThat(queue.fanouts).isEmpty();

        // a try whose transaction keeps losing to conflicts retries them 3 s at most, not 6: the request still ends
        // well within the function's 10 s
        Wiring conflicting = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest t && t.transactItems().stream()
                        .anyMatch(i -> i.put() != null && i.put().item().get("sk").s().startsWith("MSG#msg_"))) {
                    throw software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException.builder().message("conflict (test)")
                            .cancellationReasons(software.amazon.awssdk.services.dynamodb.model.CancellationReason.builder()
                                    .code("TransactionConflict").build()).build();
                }
            }
        });
        long conflictStarted = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new MessageService(conflicting, new GroupService(conflicting, queue), queue)
                .send(accountId, g, new MessageService.SendRequest(lineId, "Ops", "busy", "Hello", List.of())))
                .isInstanceOf(software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException.class);
        assertThat((System.nanoTime() - conflictStarted) / 1_000_000).as("within the accept's time and its one try's").isBetween(2_000L, 5_000L);
        @SuppressWarnings("unchecked") var listedAfter = (List<Object>) a.get("/v1/messages?groupId=" + g).jsonObject().get("items");
        assertThat(listedAfter).isEmpty();
    }

    /**
     * Two callers at once (a fan-out job delivered twice, a sweep beside a late fan-out) publish a message's
     * acceptance event once: the first claims it; the others, finding the claim, publish nothing, and its completion
     * meanwhile leaves the sent event to a later sweep rather than put it first. Before, each caller that read the
     * event not out published it (a push or an email sent twice).
     */
    @Test
    void twoCallersAtOncePublishTheAcceptanceEventOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Once Accepted Co");
        var events = RecordingEventPublisher.inMemory();
        var inPublish = new java.util.concurrent.CountDownLatch(1);
        var letGo = new java.util.concurrent.CountDownLatch(1);
        EventPublisher slow = (topic, accountId, type, event) -> {
            if ("group_message.accepted".equals(type)) {
                inPublish.countDown();
                try {
                    letGo.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            events.publish(topic, accountId, type, event);
        };
        Wiring wiring = runtime.wiring().withCarrier(new ScriptedCarrier());
        String g = createGroup(a, "Twice");
        addMembers(a, g, 700, 2);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var queue = new CapturingQueue();
        var groups = new GroupService(wiring, queue);
        String messageId = new MessageService(wiring, groups, queue).send(accountId, g,
                new MessageService.SendRequest(createLine(a, linePhone(), 1000), "Ops", "once", "Hello", List.of())).id();
        // its fan-out starts 3 minutes late (a backlog), past the grace period after which a sweep publishes it too
        Wiring late = wiring.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3)));
        var first = new Thread(() -> new FanoutService(late.withEvents(slow), groups, queue).run(accountId, messageId));
        first.start();
        assertThat(inPublish.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Wiring recorded = wiring.withEvents(events);
        // the same job again, and a sweep, while the first is in its publish
        new FanoutService(late.withEvents(events), groups, queue).run(accountId, messageId);
        new MessageMaintenance(late.withEvents(events), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, messageId)).isEmpty();
        // its texts go, and it completes, the acceptance still on its way: no sent event before it
        deliverAll(new DeliveryService(recorded), new Setup(accountId, messageId, List.of(), queue));
        assertThat(a.get("/v1/messages/" + messageId).jsonObject()).containsEntry("status", "sent");
        assertThat(eventsOf(events, messageId)).isEmpty();
        letGo.countDown();
        first.join(30_000);
        assertThat(eventsOf(events, messageId)).extracting(e -> e.get("type")).containsExactly("group_message.accepted");
        new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(6))), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, messageId)).extracting(e -> e.get("type"))
                .containsExactly("group_message.accepted", "group_message.sent");
    }

    /**
     * The acceptance event's claim whose write went through but whose answer was lost (a 500 after the commit): the
     * SDK's retry meets the claim, the caller's own, and the fan-out publishes the event at once. Before, the claim
     * looked another's, and the event waited for it to run out and for a sweep.
     */
    @Test
    void anAcceptanceClaimWhoseAnswerWasLostIsTheCallersOwn(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Lost Claim Answer Co");
        var lost = new AtomicInteger();
        var events = RecordingEventPublisher.inMemory();
        Wiring answersLost = runtime.wiringWith(new ExecutionInterceptor() {
            @Override
            public software.amazon.awssdk.http.SdkHttpResponse modifyHttpResponse(
                    software.amazon.awssdk.core.interceptor.Context.ModifyHttpResponse context, ExecutionAttributes attributes) {
                if (context.request() instanceof UpdateItemRequest u && u.updateExpression().contains("acceptedClaimedBy")
                        && lost.getAndIncrement() == 0) {
                    return context.httpResponse().toBuilder().statusCode(500).build();
                }
                return context.httpResponse();
            }
        }).withEvents(events).withCarrier(new ScriptedCarrier());
        Setup s = acceptAndFanOut(a, answersLost, 2);
        assertThat(lost).as("the claim tried twice, its first answer lost").hasValue(2);
        assertThat(eventsOf(events, s.messageId())).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("type", "group_message.accepted"));
    }

    /**
     * A group message's acceptance event whose publish failed as its fan-out started: the texts do not wait for it
     * (the fan-out goes on), maintenance publishes it once after the grace period while the message is still being
     * sent, and its completion does not publish it again; a message completed before any sweep publishes it first,
     * then its sent event.
     */
    @Test
    void anAcceptanceEventWhosePublishFailedIsPublishedOnceByMaintenanceOrCompletion(ApiClient api, LocalRuntime runtime)
            throws Exception {
        EventPublisher down = (topic, accountId, type, event) -> {
            throw new IllegalStateException("SNS unavailable (test)");
        };
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        Setup s = acceptAndFanOut(api.forNewAccount("Late Acceptance Co"), wiring.withEvents(down), 2);
        assertThat(s.queue().deliveries).as("the fan-out went on").isNotEmpty();

        // the topic still failing does not keep maintenance from the message's repair: its stalled rows are queued again
        var requeued = new CapturingQueue();
        new MessageMaintenance(wiring.withEvents(down).withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))), requeued)
                .sweep();
        assertThat(requeued.deliveries).as("its stalled rows' jobs").anySatisfy(job -> assertThat(job).containsEntry("messageId", s.messageId()));

        var events = RecordingEventPublisher.inMemory();
        Wiring recorded = wiring.withEvents(events);
        new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(1))), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, s.messageId())).as("within the grace period").isEmpty();
        for (int sweep = 0; sweep < 2; sweep++) {
            new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))), new CapturingQueue()).sweep();
        }
        assertThat(eventsOf(events, s.messageId())).singleElement().satisfies(e -> assertThat(e)
                .containsEntry("type", "group_message.accepted").containsEntry("recipients", 2).doesNotContainKey("counts"));
        deliverAll(new DeliveryService(recorded), s);
        assertThat(eventsOf(events, s.messageId())).extracting(e -> e.get("type"))
                .containsExactly("group_message.accepted", "group_message.sent");

        // as a rule, its fan-out publishes it as it starts, before any text has gone
        Setup ordinary = acceptAndFanOut(api.forNewAccount("Prompt Acceptance Co"), recorded, 2);
        assertThat(eventsOf(events, ordinary.messageId())).singleElement()
                .satisfies(e -> assertThat(e).containsEntry("type", "group_message.accepted"));
        assertThat(new groupmsg.messages.MessageService(recorded, new GroupService(recorded, new CapturingQueue()),
                new CapturingQueue()).get(ordinary.accountId(), ordinary.messageId()).message().status()).as("its texts not sent yet")
                .isEqualTo("sending");

        // completed before any sweep: its completion publishes both, in order
        Setup quick = acceptAndFanOut(api.forNewAccount("Quick Acceptance Co"), wiring.withEvents(down), 2);
        deliverAll(new DeliveryService(recorded), quick);
        assertThat(eventsOf(events, quick.messageId())).extracting(e -> e.get("type"))
                .containsExactly("group_message.accepted", "group_message.sent");
        new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(6))), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, quick.messageId())).hasSize(2);

        // completed while the topic was down: maintenance publishes both, acceptance first
        Setup late = acceptAndFanOut(api.forNewAccount("Late Both Co"), wiring.withEvents(down), 2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(wiring.withEvents(down)), late))
                .hasMessageContaining("SNS unavailable");
        new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, late.messageId())).extracting(e -> e.get("type"))
                .containsExactly("group_message.accepted", "group_message.sent");
    }

    /**
     * While the topic fails, a sweep tries it for two messages: the later messages' events are not tried (each took up
     * to 5 s, and a sweep repaired a handful of messages a minute during an SNS brownout), and a later sweep publishes
     * them all. One message whose own event always fails holds no other's back.
     */
    @Test
    void aSweepTriesAFailingTopicTwiceAndLeavesTheOtherEventsToTheNext(ApiClient api, LocalRuntime runtime) throws Exception {
        EventPublisher down = (topic, accountId, type, event) -> {
            throw new IllegalStateException("SNS unavailable (test)");
        };
        List<Scene> scenes = new ArrayList<>();
        for (String name : List.of("Brownout One Co", "Brownout Two Co", "Brownout Three Co")) {
            Scene t = scene(api, runtime, name, 2);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(t.wiring().withEvents(down)),
                    t.setup())).hasMessageContaining("SNS unavailable");
            scenes.add(t);
        }
        var tries = new java.util.concurrent.atomic.AtomicInteger();
        EventPublisher counting = (topic, accountId, type, event) -> {
            tries.incrementAndGet();
            throw new IllegalStateException("SNS unavailable (test)");
        };
        Wiring later = scenes.getFirst().wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3)));
        var failing = new MessageMaintenance(later.withEvents(counting), new CapturingQueue()).sweep();
        assertThat(tries).as("the topic tried for two messages this sweep").hasValue(2);
        assertThat((Integer) failing.get("eventsLeftTopicFailing")).isPositive();

        // one message's own event fails (the first's), the topic takes the others': they go out in the same sweep
        String poisoned = scenes.getFirst().setup().messageId();
        var events = RecordingEventPublisher.inMemory();
        EventPublisher oneRefused = (topic, accountId, type, event) -> {
            if (poisoned.equals(event.get("messageId"))) throw new IllegalStateException("refused this one (test)");
            events.publish(topic, accountId, type, event);
        };
        new MessageMaintenance(later.withEvents(oneRefused), new CapturingQueue()).sweep();
        for (Scene t : scenes.subList(1, scenes.size())) {
            assertThat(eventsOf(events, t.setup().messageId())).extracting(e -> e.get("type"))
                    .as("its acceptance went out as it was fanned out").containsExactly("group_message.sent");
        }
        new MessageMaintenance(later.withEvents(events), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, poisoned)).extracting(e -> e.get("type")).containsExactly("group_message.sent");
    }

    @Test
    void aCompletedMessagesEventWhosePublishFailedIsPublishedByMaintenanceOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Late Event Co", 2);
        Setup s = t.setup();
        EventPublisher down = (topic, accountId, type, event) -> {
            throw new IllegalStateException("SNS unavailable (test)");
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliverAll(new DeliveryService(t.wiring().withEvents(down)), s))
                .hasMessageContaining("SNS unavailable");
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");

        // past the grace period with the publisher still down: that message fails, the sweep goes on, and the failure
        // is logged as a failed job, which pages when it lasts (before, a log line no alarm counted: a topic that
        // refused every publish went unnoticed)
        var original = System.out;
        var captured = new java.io.ByteArrayOutputStream();
        Map<String, Object> stillDown;
        System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            stillDown = new MessageMaintenance(t.wiring().withEvents(down).withClock(Clock.offset(Clock.systemUTC(),
                    Duration.ofMinutes(3))), new CapturingQueue()).sweep();
        } finally {
            System.setOut(original);
        }
        assertThat((Integer) stillDown.get("messagesFailed")).isPositive();
        assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains("\"message_maintenance_failed\"") && l.contains(s.messageId())))
                .isNotEmpty().allSatisfy(l -> assertThat(l).contains("\"metric\":\"JobFailed\""));

        var events = RecordingEventPublisher.inMemory();
        Wiring recorded = t.wiring().withEvents(events);
        // within the grace period the completing worker may still be publishing: left alone
        new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(1))), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, s.messageId())).isEmpty();
        // another sweep (overlapping this one) claimed its publish a moment ago: left to it, until the claim is stale
        var jobKey = Map.of("pk", AttributeValue.fromS("JOBS#sending"), "sk", AttributeValue.fromS(s.accountId() + "#" + s.messageId()));
        String core = runtime.wiring().config().table(Tables.CORE);
        runtime.wiring().dynamo().updateItem(b -> b.tableName(core).key(jobKey).updateExpression("SET eventClaimedAt = :at")
                .expressionAttributeValues(Map.of(":at", AttributeValue.fromN(Long.toString(
                        System.currentTimeMillis() + Duration.ofMinutes(3).toMillis())))));
        new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(3))), new CapturingQueue()).sweep();
        assertThat(eventsOf(events, s.messageId())).isEmpty();
        // after it, published once, with the message's counts
        for (int sweep = 0; sweep < 2; sweep++) {
            new MessageMaintenance(recorded.withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(6))), new CapturingQueue()).sweep();
        }
        List<Map<String, Object>> mine = eventsOf(events, s.messageId());
        assertThat(mine).hasSize(1);
        assertThat(mine.getFirst()).containsEntry("type", "group_message.sent").containsEntry("recipients", 2)
                .containsEntry("counts", Map.of("queued", 0, "sent", 2, "delivered", 0, "failed", 0, "optedOut", 0));
    }

    static List<Map<String, Object>> eventsOf(RecordingEventPublisher events, String messageId) {
        return events.events(Topic.NOTIFICATIONS).stream().map(Json::parseObject)
                .filter(e -> messageId.equals(e.get("messageId"))).toList();
    }

    @Test
    void maintenanceRequeuesAStalledBacklogOncePerStallNotEverySweep(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Backlog Co", 2);
        Setup s = t.setup();
        // fanned out, never delivered (its jobs were lost): queued rows
        var first = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))), first).sweep();
        assertThat(enqueued(first, s.messageId())).containsExactlyInAnyOrderElementsOf(s.phones());

        // the next minute's sweep finds them requeued a minute ago: nothing again (before, the whole backlog was)
        var second = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(12))), second).sweep();
        assertThat(enqueued(second, s.messageId())).isEmpty();

        // stalled again ten minutes after that: requeued again
        var third = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(22))), third).sweep();
        assertThat(enqueued(third, s.messageId())).containsExactlyInAnyOrderElementsOf(s.phones());
        assertThat(statuses(t.api(), s.messageId()).values()).containsOnly("queued");
    }

    /**
     * A fan-out whose job was lost is sent again once a stall (10 minutes), not every sweep, and with its quick retries
     * spent: maintenance is the slow retry. Before, each sweep sent one, each with three quick retries of its own.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aLostFanOutIsSentAgainOnceAStallWithoutQuickRetries(ApiClient api, LocalRuntime runtime) throws Exception {
        ApiClient a = api.forNewAccount("Lost Fanout Co");
        String g = createGroup(a, "Faults");
        addMembers(a, g, 700, 2);
        String accountId = (String) a.get("/v1/account").jsonObject().get("id");
        var lost = new CapturingQueue(); // the accepted message's fan-out job goes here, never to run
        String messageId = new MessageService(runtime.wiring(), new GroupService(runtime.wiring(), lost), lost).send(accountId, g,
                new MessageService.SendRequest(createLine(a, linePhone(), 1000), "Ops", "lost fan-out", "Hello", List.of())).id();
        assertThat(lost.fanouts).extracting(j -> j.get("messageId")).containsExactly(messageId);

        java.util.function.IntFunction<List<Map<String, Object>>> sweepAt = minutes -> {
            var queue = new CapturingQueue();
            new MessageMaintenance(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(minutes))), queue).sweep();
            return queue.fanouts.stream().filter(j -> messageId.equals(j.get("messageId"))).toList();
        };
        java.util.function.Supplier<String> redrivenAt = () -> {
            var item = runtime.wiring().dynamo().getItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE)).consistentRead(true)
                    .key(Map.of("pk", AttributeValue.fromS("ACCT#" + accountId), "sk", AttributeValue.fromS("MSG#" + messageId)))).item();
            return item.containsKey("fanoutRedrivenAt") ? item.get("fanoutRedrivenAt").n() : null;
        };
        // a sweep whose job could not be sent gives its claim back: the next sweep sends it
        QueueSender down = (queue, messages) -> {
            if (queue.name().equals("fanout")) throw new IllegalStateException("SQS unavailable (test)");
        };
        new MessageMaintenance(runtime.wiring().withClock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11))), down).sweep();
        assertThat(redrivenAt.get()).isNull();
        var first = sweepAt.apply(11);
        assertThat(first).singleElement().satisfies(j -> assertThat(((Number) j.get("retries")).intValue())
                .as("no quick retries of its own").isEqualTo(FanoutService.QUICK_RETRIES));
        String claimed = redrivenAt.get();
        assertThat(claimed).isNotNull();
        assertThat(sweepAt.apply(12)).as("a minute later: not again").isEmpty();
        assertThat(sweepAt.apply(13)).isEmpty();
        assertThat(redrivenAt.get()).as("the sweeps came by and claimed nothing").isEqualTo(claimed);
        assertThat(sweepAt.apply(22)).as("stalled again").hasSize(1);
        assertThat(redrivenAt.get()).isNotEqualTo(claimed);
    }

    /** Two sweeps at once (the second runs between the first's read of the rows and its write) enqueue each row once. */
    @Test
    void overlappingSweepsRequeueAStalledRowOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Overlapping Sweeps Co", 3);
        Setup s = t.setup();
        Clock later = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(11));
        var second = new CapturingQueue();
        var ran = new java.util.concurrent.atomic.AtomicBoolean();
        String deliveriesTable = t.wiring().config().table(Tables.DELIVERIES);
        var overlapping = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest tx && tx.transactItems().stream()
                        .anyMatch(i -> i.update() != null && deliveriesTable.equals(i.update().tableName())
                                && i.update().key().get("pk").s().contains(s.messageId()))
                        && ran.compareAndSet(false, true)) {
                    new MessageMaintenance(t.wiring().withClock(later), second).sweep();
                }
            }
        };
        var first = new CapturingQueue();
        new MessageMaintenance(runtime.wiringWith(overlapping).withCarrier(t.carrier()).withClock(later), first).sweep();

        assertThat(ran).isTrue();
        // the sweep that ran in between touched the rows first and enqueued them; the one it overlapped, none
        assertThat(enqueued(second, s.messageId())).containsExactlyInAnyOrderElementsOf(s.phones());
        assertThat(enqueued(first, s.messageId())).isEmpty();
    }

    /**
     * Rows of a message whose jobs wait in the queue for places (in the line's waiting line) are waiting, not lost:
     * maintenance leaves them alone (another job would take a place of its own and find them sent), and requeues
     * them once the message's last place is a minute past. Another message's waiting jobs on the line do not hold its
     * lost rows back.
     */
    @Test
    void maintenanceLeavesQueuedRowsAloneWhileTheirMessagesJobsWaitForPlaces(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Waiting Backlog Co", 2);
        Setup s = t.setup();
        Duration later = Duration.ofMinutes(11);
        long waitingUntil = System.currentTimeMillis() + later.toMillis() + 60_000;
        runtime.wiring().dynamo().updateItem(b -> b.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(Map.of("pk", AttributeValue.fromS("ACCT#" + s.accountId()), "sk", AttributeValue.fromS("MSG#" + s.messageId())))
                .updateExpression("SET waitingUntil = :t")
                .expressionAttributeValues(Map.of(":t", AttributeValue.fromN(Long.toString(waitingUntil)))));
        var waiting = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), later)), waiting).sweep();
        assertThat(enqueued(waiting, s.messageId())).isEmpty();

        // two minutes on, its last place is past: requeued
        var done = new CapturingQueue();
        new MessageMaintenance(t.wiring().withClock(Clock.offset(Clock.systemUTC(), later.plusMinutes(2))), done).sweep();
        assertThat(enqueued(done, s.messageId())).containsExactlyInAnyOrderElementsOf(s.phones());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aLineRateLoweredWhileAMessageSendsAppliesToItsNextJob(ApiClient api, LocalRuntime runtime) throws Exception {
        Scene t = scene(api, runtime, "Lowered Rate Co", 10); // a 1,000 mps line
        Setup s = t.setup();
        String lineId = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        // the carrier lowered the line's throughput after the message was accepted
        assertThat(t.api().patch("/v1/lines/" + lineId, Map.of("mps", 5)).status()).isEqualTo(200);

        var batch = s.queue().deliveries.getFirst();
        new DeliveryService(t.wiring()).deliver(s.accountId(), s.messageId(), ((Number) batch.get("shard")).intValue(),
                (List<String>) batch.get("phones"));
        // ten sends at 5 mps are 9 x 220 ms apart in all (at the accepted 1,000 mps they would take about 10 ms)
        List<Long> times = t.carrier().callTimes.stream().sorted().toList();
        assertThat(times).hasSize(10);
        assertThat(times.getLast() - times.getFirst()).as("ms from the first send to the last").isGreaterThanOrEqualTo(1_800);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    @Test
    void anInterruptedJobGivesBackTheSendsNotYetMadeAndRecordsTheOneUnderWay(ApiClient api, LocalRuntime runtime) throws Exception {
        SlowJob job = slowJob(api, runtime, "Stopping Co", 4, 8); // 250 ms apart
        Scene t = job.scene();
        Setup s = t.setup();
        List<String> phones = job.phones();
        int shard = job.shard();
        // the second send is under way when the process stops: its answer comes only after the stop
        var stopped = new java.util.concurrent.CountDownLatch(1);
        t.carrier().duringSend.put(phones.get(1), () -> {
            try {
                assertThat(stopped.await(20, java.util.concurrent.TimeUnit.SECONDS)).as("the test stopped the job").isTrue();
            } catch (InterruptedException e) {
                throw new IllegalStateException("the carrier's answer was interrupted", e);
            }
        });
        var thrown = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread worker = job.deliverInBackground(thrown::set);
        long until = System.currentTimeMillis() + 10_000;
        while (t.carrier().callTimes.size() < 2 && System.currentTimeMillis() < until) Thread.sleep(5);
        assertThat(t.carrier().callTimes).hasSize(2);
        worker.interrupt(); // what a stopping runtime's poller does
        Thread.sleep(300); // the job sees its stop while the answer is still to come
        stopped.countDown();
        assertThat(worker.join(java.time.Duration.ofSeconds(10))).isTrue();
        assertThat(thrown.get()).isInstanceOf(InterruptedException.class);

        // no later send was made; the call under way was answered and recorded; the rest are queued, none sending
        assertThat(t.carrier().callTimes).hasSize(2);
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, phones.get(0))).isEqualTo("sent");
        assertThat(storedStatus(t.wiring(), s.messageId(), shard, phones.get(1))).isEqualTo("sent");
        for (String p : phones.subList(2, 8)) assertThat(storedStatus(t.wiring(), s.messageId(), shard, p)).as(p).isEqualTo("queued");

        // the job's redelivery sends the six, and nobody twice
        job.service().deliver(s.accountId(), s.messageId(), shard, phones);
        for (String p : phones) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    /**
     * A block's sends past its opt-out lookup's first second look again first, all waiting on one read: when that
     * read is slow, the sends whose turns went by meanwhile must not all go out when it ends (a burst over the line's
     * rate in the carrier's second); each takes the next free turn.
     */
    @Test
    void aSendWhoseTurnWentByWhileItsOptOutsWereReadTakesTheNextTurnSoNoSecondHoldsMoreThanTheRate(ApiClient api,
                                                                                               LocalRuntime runtime) throws Exception {
        assertSentOnceEachWithinTheRateThoughOptOutReadsAreSlow(api, runtime, "Late Turns Co", 10, 30, read -> 450L);
    }

    /**
     * Reads that are now slow, now fast: a try woken ahead of its slot for a read as long as the last one can still
     * be made late by a longer one; it then takes a fresh slot, never going out over the rate.
     */
    @Test
    void optOutReadsNowSlowNowFastNeverPutMoreThanTheRateInASecond(ApiClient api, LocalRuntime runtime) throws Exception {
        long[] delays = {5, 300, 5, 5, 150, 5, 600, 5};
        assertSentOnceEachWithinTheRateThoughOptOutReadsAreSlow(api, runtime, "Uneven Reads Co", 10, 30,
                read -> delays[read % delays.length]);
        assertSentOnceEachWithinTheRateThoughOptOutReadsAreSlow(api, runtime, "Uneven Reads Slow Line Co", 1, 5,
                read -> delays[(read + 1) % delays.length]);
    }

    /**
     * On a slow line each send reads its opt-outs for itself: that read's time is its own, not a turn gone by
     * (counted as one, every send was put off again and again, and almost nothing went out).
     */
    @Test
    void onASlowLineASendsOwnSlowOptOutReadDoesNotPutItOff(ApiClient api, LocalRuntime runtime) throws Exception {
        assertSentOnceEachWithinTheRateThoughOptOutReadsAreSlow(api, runtime, "Own Reads Co", 1, 4, read -> 450L);
    }

    /** The job sent with the {@code read}th opt-out read (0 for the first) taking {@code delay} ms more. */
    private static void assertSentOnceEachWithinTheRateThoughOptOutReadsAreSlow(ApiClient api, LocalRuntime runtime,
            String accountName, int mps, int size, java.util.function.IntFunction<Long> delay) throws Exception {
        var reads = new AtomicInteger();
        SlowJob job = slowJob(api, runtime, accountName, mps, size);
        Scene t = job.scene();
        Setup s = t.setup();
        ExecutionInterceptor slowOptOutReads = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest b
                        && b.requestItems().values().stream().flatMap(k -> k.keys().stream())
                        .anyMatch(key -> key.get("pk").s().startsWith("OPTOUT#"))) {
                    try {
                        Thread.sleep(delay.apply(reads.getAndIncrement()));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        var slow = new SlowJob(t, job.phones(), job.shard(), new DeliveryService(sceneWith(t, slowOptOutReads)));
        var thrown = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread worker = slow.deliverInBackground(thrown::set);
        // the whole job takes about size / mps seconds
        assertThat(worker.join(Duration.ofSeconds(20 + 2L * size / mps))).as("the job ended").isTrue();
        assertThat(thrown.get()).isNull();

        List<Long> times = t.carrier().callTimes.stream().sorted().toList();
        assertThat(times).hasSize(size);
        // A try whose thread woke late (a busy CPU, not a slow read) goes as it is (DeliveryService: a fresh slot for
        // each cost a reservation and a read), so on a 10 mps line one may share a second with the next one's sends; the
        // fault, sends whose turns went by during a read all going when it ends, is several at once
        int most = mps >= 10 ? mps + 1 : mps;
        for (int i = 0; i < times.size(); i++) {
            long from = times.get(i);
            long inSecond = times.stream().filter(at -> at >= from && at < from + 1_000).count();
            assertThat(inSecond).as("sends in the second from the %dth (times %s)", i, times).isLessThanOrEqualTo(most);
        }
        for (String p : job.phones()) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    @Test
    void onASlowLineAJobClaimsAboutASecondOfSendsAtATimeSoACrashStrandsFew(ApiClient api, LocalRuntime runtime) throws Exception {
        SlowJob job = slowJob(api, runtime, "Slow Claims Co", 2, 10);
        Scene t = job.scene();
        Setup s = t.setup();
        List<String> phones = job.phones();
        int shard = job.shard();
        var thrown = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread worker = job.deliverInBackground(thrown::set);
        // what a kill -9 would leave in sending (claimed, maybe not sent), sampled while the 10 go out over 4.5 s
        int mostClaimedUnsent = 0;
        while (worker.isAlive()) {
            mostClaimedUnsent = Math.max(mostClaimedUnsent, inStatus(t.wiring(), s.messageId(), shard, "sending"));
            Thread.sleep(100);
        }
        // two blocks of a second each at 2 mps (before: the whole job, all 10, was claimed at once)
        assertThat(mostClaimedUnsent).isBetween(1, 4);
        assertThat(thrown.get()).isNull();
        for (String p : phones) assertThat(t.carrier().calls(p)).as(p).isEqualTo(1);
        assertThat(t.api().get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
    }

    /**
     * A scene of {@code size} members whose first delivery job holds them all, its line slowed to {@code mps} after the
     * fan-out, and the service to deliver it with.
     */
    record SlowJob(Scene scene, List<String> phones, int shard, DeliveryService service) {
        /** Delivers the job on a thread of its own; what it throws goes to {@code failure}. */
        Thread deliverInBackground(java.util.function.Consumer<Throwable> failure) {
            Setup s = scene.setup();
            return Thread.ofVirtual().start(() -> {
                try {
                    service.deliver(s.accountId(), s.messageId(), shard, phones);
                } catch (Throwable e) {
                    failure.accept(e);
                }
            });
        }
    }

    @SuppressWarnings("unchecked")
    static SlowJob slowJob(ApiClient api, LocalRuntime runtime, String accountName, int mps, int size) {
        Scene t = scene(api, runtime, accountName, size);
        Setup s = t.setup();
        String lineId = (String) t.api().get("/v1/messages/" + s.messageId()).jsonObject().get("lineId");
        assertThat(t.api().patch("/v1/lines/" + lineId, Map.of("mps", mps)).status()).isEqualTo(200);
        var batch = s.queue().deliveries.getFirst();
        List<String> phones = (List<String>) batch.get("phones");
        assertThat(phones).hasSize(size);
        return new SlowJob(t, phones, ((Number) batch.get("shard")).intValue(), new DeliveryService(t.wiring()));
    }
}
