package groupmsg.infra;

import groupmsg.infra.fixture.NeedsFixtures;
import groupmsg.notify.Topic;
import groupmsg.platform.schema.HandlerDef;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.TableDef;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The topics and carrier credentials each handler gets are derived from the deployed jar's bytecode
 * ({@link HandlerNeeds}): the real handlers, pinned, and the analysis's rules on small fixtures.
 */
class HandlerNeedsTest {

    private static HandlerNeeds lambdaJar;

    @BeforeAll
    static void analyze() {
        lambdaJar = HandlerNeeds.of(StackSettings.defaultFunctionsJar(Path.of("")));
    }

    /** What the known handlers need, from what their code does (a change here is a change of IAM grants). */
    static final Map<String, HandlerNeeds.Needs> KNOWN = Map.ofEntries(
            Map.entry(Handlers.AUTHORIZER.name(), needs(Set.of(), false)),
            Map.entry(Handlers.ADMIN_API.name(), needs(Set.of(), false)),
            Map.entry(Handlers.GROUPS_API.name(), needs(Set.of(), false)),
            Map.entry(Handlers.NOT_FOUND.name(), needs(Set.of(), false)),
            Map.entry(Handlers.IMPORT_WORKER.name(), needs(Set.of(), false)),
            // messages-api only reads Completion's counting helper; it never completes (publishes) a message.
            Map.entry(Handlers.MESSAGES_API.name(), needs(Set.of(), false)),
            // group_message.sent is published by whichever of these completes the message. Maintenance also asks the
            // carrier what it holds of sends whose answers were lost.
            Map.entry(Handlers.MAINTENANCE.name(), needs(Set.of(Topic.NOTIFICATIONS), true)),
            Map.entry(Handlers.FANOUT_WORKER.name(), needs(Set.of(Topic.NOTIFICATIONS), false)),
            // Sends through the carrier, with status callback URLs under the public base URL.
            Map.entry(Handlers.DELIVERY_WORKER.name(), needs(Set.of(Topic.NOTIFICATIONS), true, true)),
            // Receipts only move rows (the worker or maintenance completes messages), inbound texts are only stored
            // and queued: no topic. The signature check needs the auth token, over the public URL.
            Map.entry(Handlers.CARRIER_WEBHOOK.name(), needs(Set.of(), true, true)),
            Map.entry(Handlers.RECEIPT_WORKER.name(), needs(Set.of(), false)),
            // reply.received and opt_out.changed (a manual opt-out, a text's keyword, a carrier's refusal) go to the
            // integrations topic; a missing ARN there fails the publish (SnsEventPublisher), so each is pinned.
            Map.entry(Handlers.INBOUND_API.name(), needs(Set.of(Topic.INTEGRATIONS), false)),
            Map.entry(Handlers.INBOUND_WORKER.name(), needs(Set.of(Topic.INTEGRATIONS), false)),
            Map.entry(Handlers.CONVERSATIONS_API.name(), needs(Set.of(), false)),
            // Relays send as the delivery worker does (its DeliveryService), completion path included.
            Map.entry(Handlers.RELAY_WORKER.name(), needs(Set.of(Topic.NOTIFICATIONS), true, true)),
            Map.entry(Handlers.OPTOUT_WORKER.name(), needs(Set.of(Topic.INTEGRATIONS), false)),
            // a webhook disabled after days of failures is told to the account as a notification
            Map.entry(Handlers.WEBHOOK_WORKER.name(), needs(Set.of(Topic.NOTIFICATIONS), false)),
            Map.entry(Handlers.BOOTSTRAP_ACCOUNT.name(), needs(Set.of(), false)));

    private static HandlerNeeds.Needs needs(Set<Topic> topics, boolean carrier) {
        return needs(topics, carrier, false);
    }

    private static HandlerNeeds.Needs needs(Set<Topic> topics, boolean carrier, boolean publicBaseUrl) {
        return new HandlerNeeds.Needs(topics, carrier, publicBaseUrl, Map.of());
    }

    @Test
    void theKnownHandlersNeedWhatTheirCodeUses() {
        for (HandlerDef def : Handlers.ALL) {
            HandlerNeeds.Needs expected = KNOWN.get(def.name());
            assertThat(expected).as(def.name() + " is pinned here").isNotNull();
            HandlerNeeds.Needs actual = lambdaJar.of(def);
            assertThat(actual.topics()).as(def.name() + " topics (" + actual.evidence() + ")").isEqualTo(expected.topics());
            assertThat(actual.carrierCredentials()).as(def.name() + " carrier credentials (" + actual.evidence() + ")")
                    .isEqualTo(expected.carrierCredentials());
            assertThat(actual.publicBaseUrl()).as(def.name() + " public base URL (" + actual.evidence() + ")")
                    .isEqualTo(expected.publicBaseUrl());
            // the others are denied writes of API keys' lookup rows (GroupMsgStackTest checks the Deny)
            assertThat(actual.writesKeyLookups()).as(def.name() + " writes key lookups (" + actual.evidence() + ")")
                    .isEqualTo(GroupMsgStackTest.KEY_LOOKUP_WRITERS.contains(def.name()));
        }
    }

    /**
     * Methods that pick one table or queue or another by an argument (the analysis does not follow values, so a
     * handler reaching such a method reaches every branch). Constant -> method -> why. A use found only at such a
     * method is a "maybe": the handler may list it or not. Every other use must be listed in its HandlerDef.
     */
    static final Map<String, Map<String, String>> CHOSEN_BY_ARGUMENT = Map.of(
            "Queues.FANOUT", Map.of("groupmsg.messages.DirectMessages.send", "unordered direct messages go to fanout, "
                    + "those with an order key (a conversation, a line and number) to the FIFO relays queue"),
            "Queues.RELAYS", Map.of("groupmsg.messages.DirectMessages.send", "see Queues.FANOUT"));

    /**
     * Methods that name the queue their own handler consumes only to change a received message's visibility: the
     * event source's grant covers it (sqs:ChangeMessageVisibility) and the stack gives a
     * consumer its queue's URL, so the HandlerDef does not list the queue (which would grant sqs:SendMessage for
     * nothing). Method -> why.
     */
    static final Map<String, String> OWN_QUEUE_VISIBILITY = Map.of(
            "groupmsg.messages.RelayWorkerHandler.retrySoon", "a relay out of time is made visible again sooner",
            "groupmsg.inbound.InboundWorkerHandler.retrySoon", "a reply's job that failed is made visible again sooner",
            "groupmsg.messages.DeliveryWorkerHandler.retrySoon", "a job the carrier did not take is made visible again sooner");

    /**
     * What the analysis cannot tell at {@code DirectMessages.send} ({@link #CHOSEN_BY_ARGUMENT}): the queues each
     * handler's direct messages go to, by what it sends. Pinned here, so a grant dropped from a HandlerDef fails a
     * test instead of the function in AWS (locally every handler shares one wiring).
     */
    static final Map<String, Set<String>> DIRECT_MESSAGE_QUEUES = Map.of(
            // relays: as below; fanout: each one's rerun of a message stored unordered before they were ordered
            // (DirectMessages.send sends it where its first run's went), which failed 500 in the two APIs
            "optout-worker", Set.of("relays", "fanout"), // keyword replies, in order per line and number
            "inbound-worker", Set.of("relays", "fanout"), // relayed replies; the opt-in reply of a "Yes" it relays
            "conversations-api", Set.of("relays", "fanout"), // the business's messages, in order
            "inbound-api", Set.of("relays", "fanout")); // answers to one person, in order per line and number

    @Test
    void handlersSendingDirectMessagesListTheQueuesTheirMessagesGoTo() {
        for (var pinned : DIRECT_MESSAGE_QUEUES.entrySet()) {
            HandlerDef def = Handlers.ALL.stream().filter(d -> d.name().equals(pinned.getKey())).findFirst().orElseThrow();
            assertThat(def.queuesSentTo()).as(def.name()).containsAll(pinned.getValue());
            // the pin is live: the handler's code does reach the method that picks the queue
            assertThat(lambdaJar.of(def).schemaUses().getOrDefault("Queues.FANOUT", Set.of())).as(def.name())
                    .contains("groupmsg.messages.DirectMessages.send");
        }
    }

    /**
     * Grants listed in a HandlerDef that its code does not use, known and reported to the owners of functions/:
     * handler -> table or queue -> note. Remove an entry when its HandlerDef drops the name.
     */
    static final Map<String, Map<String, String>> KNOWN_UNUSED = Map.of();

    /**
     * The tables and queues a {@link HandlerDef} lists are what the stack grants and wires; the code names what it
     * uses by the shared constants ({@code Tables.CORE}, {@code Queues.FANOUT}). They must agree: a table or queue
     * used but not listed has no grant and no name in AWS (the function fails there while working locally, where
     * every handler shares one wiring); one listed but unused is a grant too many.
     */
    @Test
    void everyHandlerDefListsExactlyTheTablesAndQueuesItsCodeUses() throws ReflectiveOperationException {
        List<String> problems = new java.util.ArrayList<>();
        for (HandlerDef def : Handlers.ALL) {
            HandlerNeeds.Needs needs = lambdaJar.of(def);
            Set<String> tables = new TreeSet<>();
            Set<String> queues = new TreeSet<>();
            // A lookup by a name read from data (e.g. the outbox's Queues.byName) may be any of them: then the code
            // shows only a lower bound of what is used.
            Set<String> maybe = new TreeSet<>();
            boolean anyTable = needs.schemaUses().keySet().stream().anyMatch(c -> c.startsWith("Tables.") && c.endsWith("()"));
            boolean anyQueue = needs.schemaUses().keySet().stream().anyMatch(c -> c.startsWith("Queues.") && c.endsWith("()"));
            for (var use : needs.schemaUses().entrySet()) {
                String constant = use.getKey();
                if (constant.endsWith("()")) continue;
                Class<?> owner = constant.startsWith("Tables.") ? Tables.class : Queues.class;
                Object value = owner.getField(constant.substring(constant.indexOf('.') + 1)).get(null);
                boolean onlyChosen = CHOSEN_BY_ARGUMENT.getOrDefault(constant, Map.of()).keySet().containsAll(use.getValue());
                if (value instanceof QueueDef q && q.consumer().equals(def.name())
                        && OWN_QUEUE_VISIBILITY.keySet().containsAll(use.getValue())) {
                    continue;
                }
                List<?> defs = value instanceof List<?> all ? all : List.of(value);
                for (Object d : defs) {
                    String name = d instanceof TableDef t ? t.name() : ((QueueDef) d).name();
                    (onlyChosen ? maybe : d instanceof TableDef ? tables : queues).add(name);
                }
            }
            // Naming a queue is sending to it (a consumer re-enqueuing on its own queue needs sqs:SendMessage too).
            compare(problems, def, "table", tables, maybe, def.tables(), anyTable, needs);
            compare(problems, def, "queue", queues, maybe, def.queuesSentTo(), anyQueue, needs);
        }
        assertThat(problems).as(String.join("\n", problems)).isEmpty();
    }

    private static void compare(List<String> problems, HandlerDef def, String kind, Set<String> used, Set<String> maybe,
                                List<String> listed, boolean lookupByName, HandlerNeeds.Needs needs) {
        for (String name : used) {
            if (!listed.contains(name)) {
                problems.add(def.name() + ": its code uses the " + kind + " '" + name + "' (" + needs.evidence()
                        + ") but its HandlerDef does not list it, so in AWS it has neither the grant nor the name. "
                        + "List it in Handlers, or, if the method that uses it picks it by an argument, add that "
                        + "method to HandlerNeedsTest.CHOSEN_BY_ARGUMENT with the reason.");
            }
        }
        if (lookupByName) return;
        for (String name : listed) {
            if (!used.contains(name) && !maybe.contains(name)
                    && !KNOWN_UNUSED.getOrDefault(def.name(), Map.of()).containsKey(name)) {
                problems.add(def.name() + ": its HandlerDef lists the " + kind + " '" + name + "' but its code never "
                        + "uses it: a grant too many (" + needs.evidence() + ")");
            }
        }
    }

    @Test
    void everyFindingNamesTheMethodThatMakesIt() {
        HandlerNeeds.Needs delivery = lambdaJar.of(Handlers.DELIVERY_WORKER);
        assertThat(delivery.evidence()).containsEntry("publishes NOTIFICATIONS", "groupmsg.messages.Completion.announceAcceptance")
                .containsKey("uses the carrier credentials")
                .containsEntry("uses the public base URL", "groupmsg.messages.DeliveryService.<init>");
        assertThat(lambdaJar.of(Handlers.ADMIN_API).evidence()).containsOnlyKeys("reads Tables.CORE", "writes API key lookups")
                .containsEntry("writes API key lookups", "groupmsg.accounts.AccountStore.addKey");
    }

    @Test
    void theJarHoldsEveryHandlerClass() {
        assertThat(lambdaJar.classNames()).contains(Handlers.class.getName())
                .containsAll(Handlers.ALL.stream().map(HandlerDef::className).toList());
        HandlerDef missing = new HandlerDef("ghost", "groupmsg.nowhere.GhostHandler", HandlerDef.Trigger.HTTP, 256, 3,
                List.of(), List.of());
        assertThatThrownBy(() -> lambdaJar.of(missing)).hasMessageContaining("groupmsg.nowhere.GhostHandler");
    }

    // ------------------------------------------------------------------------------------------ rules, on fixtures

    @Test
    void interfaceCallsReachEveryImplementation(@TempDir Path tmp) throws Exception {
        assertThat(fixtures(tmp).of(fixture(NeedsFixtures.DispatchHandler.class)).topics()).containsExactly(Topic.NOTIFICATIONS);
    }

    @Test
    void lambdasRunByOutsideCodeCount(@TempDir Path tmp) throws Exception {
        assertThat(fixtures(tmp).of(fixture(NeedsFixtures.LambdaHandler.class)).topics()).containsExactly(Topic.INTEGRATIONS);
    }

    @Test
    void anonymousClassesCalledBackByOutsideCodeCount(@TempDir Path tmp) throws Exception {
        assertThat(fixtures(tmp).of(fixture(NeedsFixtures.CallbackHandler.class)).topics()).containsExactly(Topic.NOTIFICATIONS);
    }

    @Test
    void aMethodNeverCalledDoesNotCount(@TempDir Path tmp) throws Exception {
        HandlerNeeds.Needs needs = fixtures(tmp).of(fixture(NeedsFixtures.StaticHelperHandler.class));
        assertThat(needs.topics()).isEmpty();
        assertThat(needs.carrierCredentials()).isFalse();
    }

    @Test
    void theCarrierCountsWhenTheHandlersOwnCodeAsksForIt(@TempDir Path tmp) throws Exception {
        HandlerNeeds analysis = fixtures(tmp);
        assertThat(analysis.of(fixture(NeedsFixtures.CarrierHandler.class)).carrierCredentials()).isTrue();
        // Building the wiring (which makes a carrier and a publisher for every handler) is not using them.
        HandlerNeeds.Needs wiringOnly = analysis.of(fixture(NeedsFixtures.WiringOnlyHandler.class));
        assertThat(wiringOnly.carrierCredentials()).isFalse();
        assertThat(wiringOnly.topics()).isEmpty();
    }

    private static HandlerDef fixture(Class<?> handler) {
        return new HandlerDef("fixture", handler.getName(), HandlerDef.Trigger.HTTP, 256, 3, List.of(), List.of());
    }

    /** A jar of the fixture classes alone (what they reference in the functions module is matched by name). */
    private static HandlerNeeds fixtures(Path tmp) throws IOException, URISyntaxException {
        Path jar = tmp.resolve("fixtures.jar");
        Path testClasses = Path.of(NeedsFixtures.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path fixtureDir = testClasses.resolve(NeedsFixtures.class.getPackageName().replace('.', '/'));
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.list(fixtureDir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                out.putNextEntry(new JarEntry(testClasses.relativize(f).toString().replace('\\', '/')));
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        return HandlerNeeds.readUncached(jar);
    }
}
