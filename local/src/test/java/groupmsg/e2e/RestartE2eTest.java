package groupmsg.e2e;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.SendResult;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalSettings;
import groupmsg.messages.DeliveryService;
import groupmsg.platform.config.Wiring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static groupmsg.e2e.GroupsE2eTest.createGroup;
import static groupmsg.e2e.InboundE2eTest.await;
import static groupmsg.e2e.MessagesE2eTest.addMembers;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.MessagesE2eTest.createLine;
import static groupmsg.e2e.MessagesE2eTest.linePhone;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The local runtime stopped (as SIGTERM stops it) in the middle of a group message on a slow line, and started again
 * on the same DATA_DIR: the tables survive, the queues' jobs do not. Before, the stop left recipients whose sends
 * were waiting for their time in sending (failed ten minutes later as "outcome unknown", never sent) and the rest
 * queued with no job, untouched for ten minutes. And what a restart does to the default account's owner key.
 */
class RestartE2eTest {
    private static final String KEY = "restart-owner-key-0001";

    /**
     * What a kill leaves after a clean stop took the run marker away: the marker, as a killed run leaves it at any
     * moment (its start included), so the next start knows its queues' jobs were lost.
     */
    private static void leaveKillMarker(Path dataDir) throws IOException {
        java.nio.file.Files.writeString(dataDir.resolve("running.marker"), "1\n");
    }

    /**
     * An external DynamoDB keeps the tables past a runtime in memory, which keeps nothing else (queues' jobs, the
     * emulated carrier's records, the lock): refused at the start, before anything is touched.
     */
    @Test
    void aRuntimeInMemoryOnAnExternalDynamoDbIsRefused() {
        var settings = new LocalSettings(0, null, null, null, KEY, java.net.URI.create("http://127.0.0.1:1"), null, null, null,
                java.time.Duration.ofMinutes(1));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LocalRuntime.start(settings))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("give a DATA_DIR");
    }

    @Test
    void aStartThatFailsOnABusyPortLeavesNoMarkerUnlessAKilledRunLeftOne(@TempDir Path dataDir) throws Exception {
        try (var busy = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY).withPort(busy.getLocalPort());
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LocalRuntime.start(settings))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("port " + busy.getLocalPort() + " on 127.0.0.1 is in use");
            assertThat(dataDir.resolve("running.marker")).as("no run was killed: the next start recovers nothing").doesNotExist();

            leaveKillMarker(dataDir);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LocalRuntime.start(settings))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("port " + busy.getLocalPort() + " on 127.0.0.1 is in use");
            assertThat(dataDir.resolve("running.marker")).as("the killed run's, for the start that succeeds").exists();
        }
    }

    /**
     * A second runtime on a DATA_DIR whose first is still starting (its runtime file not written yet, its run marker
     * fresh) is refused before it reads anything there: before, it took the first's marker for a killed run's, opened
     * the same database file and recovered the same jobs beside it. The first's lock (held here as a starting runtime
     * holds it) is what tells; once it is let go, a start goes through, and its stop lets go of it in turn.
     */
    @Test
    void aSecondRuntimeOnADataDirInUseIsRefusedEvenWhileTheFirstIsStarting(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        java.nio.file.Files.writeString(dataDir.resolve("running.marker"), "first\n");
        try (var channel = java.nio.channels.FileChannel.open(dataDir.resolve("runtime.lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             var starting = channel.lock()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LocalRuntime.start(settings))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("another local runtime is using DATA_DIR");
            assertThat(dataDir.resolve("running.marker")).as("the first's, untouched").hasContent("first");
            assertThat(dataDir.resolve("shared-local-instance.db")).as("no database opened").doesNotExist();
        }
        java.nio.file.Files.delete(dataDir.resolve("running.marker")); // the first stopped cleanly
        try (LocalRuntime runtime = LocalRuntime.start(settings)) {
            assertThat(runtime.port()).isPositive();
        }
        try (var channel = java.nio.channels.FileChannel.open(dataDir.resolve("runtime.lock"), java.nio.file.StandardOpenOption.WRITE);
             var free = channel.tryLock()) {
            assertThat(free).as("let go at the stop").isNotNull();
        }
    }

    @Test
    void aMessageCutOffByAStopIsFinishedAfterTheRestartSendingEachRecipientOnce(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        String line = linePhone();
        String messageId;
        List<String> phones;
        var sends = new HashMap<String, Integer>();
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            String lineId = createLine(api, line, 2);
            String groupId = createGroup(api, "Restarted");
            phones = addMembers(api, groupId, 100, 24);
            var sent = api.post("/v1/groups/" + groupId + "/messages",
                    Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "Across a restart"));
            assertThat(sent.status()).as(sent.body()).isEqualTo(202);
            messageId = (String) sent.jsonObject().get("id");
            // a few sent at 2 a second; the stop gives the rest 5 s, then calls it off
            await(() -> first.carrierEmulator().messages(null, line).size(), n -> n >= 2, 10_000);
            first.close();
            first.carrierEmulator().messages(null, line).forEach(m -> sends.merge(m.to(), 1, Integer::sum));
        }
        assertThat(sends.size()).as("sent before the stop").isBetween(2, 20);

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            // straight after the stop: nothing left in sending, never sent (the sends under way were recorded)
            var deliveries = allDeliveries(api, messageId);
            assertThat(deliveries).extracting(d -> d.get("phone")).containsExactlyInAnyOrderElementsOf(phones);
            for (var d : deliveries) {
                assertThat(d.get("status")).as(d.toString()).isIn("queued", "sent", "delivered");
                assertThat(d.get("status").equals("queued")).as(d.toString()).isEqualTo(!sends.containsKey((String) d.get("phone")));
            }
            // the rest go out at once, not after maintenance's ten minutes
            var done = await(() -> api.get("/v1/messages/" + messageId).jsonObject(), m -> "sent".equals(m.get("status")), 30_000);
            assertThat(done).as("finished after the restart").containsEntry("status", "sent");
            // the emulated carrier keeps what it took across the restart, as a real one does: its list is both runs'
            var all = second.carrierEmulator().messages(null, line);
            assertThat(all.stream().filter(m -> sends.containsKey(m.to())).count()).as("the first run's sends, kept")
                    .isEqualTo(sends.size());
            sends.clear();
            all.forEach(m -> sends.merge(m.to(), 1, Integer::sum));
        }
        assertThat(sends.keySet()).containsExactlyInAnyOrderElementsOf(phones);
        assertThat(sends.values()).as("sends per recipient").containsOnly(1);
    }

    /**
     * A slow line's message gives its jobs places in the line's waiting line, up to the end of the backlog; a stop
     * loses those jobs (they are not kept). The restart's jobs for the same rows must not take places after the lost
     * ones: a 60-recipient message on a 1 mps line sent nothing for the rest of the lost backlog (about a minute here,
     * hours for a large one), and its rows were left alone by maintenance as "waiting" for as long.
     */
    @Test
    void aRestartForgetsThePlacesTheLostJobsHeldSoTheLineSendsAgainAtOnce(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        String line = linePhone();
        String messageId;
        int sentBefore;
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            String lineId = createLine(api, line, 1);
            String groupId = createGroup(api, "Slow line");
            addMembers(api, groupId, 300, 60);
            var sent = api.post("/v1/groups/" + groupId + "/messages",
                    Map.of("lineId", lineId, "sender", "Ops", "title", "t", "body", "A minute of sending"));
            assertThat(sent.status()).as(sent.body()).isEqualTo(202);
            messageId = (String) sent.jsonObject().get("id");
            await(() -> first.carrierEmulator().messages(null, line).size(), n -> n >= 3, 15_000);
            first.close();
            sentBefore = first.carrierEmulator().messages(null, line).size();
        }
        assertThat(sentBefore).as("sent before the stop").isLessThan(20);

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            long restarted = System.currentTimeMillis();
            // at the line's rate from the restart on: a dozen more in about 13 s (the first job sent a few and its
            // leftovers, like every later job, took places after the lost ones, about 50 s on)
            var more = await(() -> second.carrierEmulator().messages(null, line).size(), n -> n >= sentBefore + 12, 25_000);
            assertThat(more).as("sending at the line's rate after the restart (%d ms)", System.currentTimeMillis() - restarted)
                    .isGreaterThanOrEqualTo(sentBefore + 12);
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            assertThat(api.get("/v1/messages/" + messageId).jsonObject()).containsEntry("status", "sending");
        }
    }

    @Test
    void aStopTakenJustBeforeTheStopIsConfirmedOnceAcrossTheRestart(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        String line = linePhone();
        List<String> phones = List.of("+14155550601", "+14155550602", "+14155550603");
        var confirmations = new HashMap<String, Integer>();
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            createLine(api, line, 1);
            // three STOPs and the stop at once: their jobs are in the queues (or being handled) when it comes
            for (String phone : phones) {
                var r = api.withoutKey().post("/local/carrier/inbound", Map.of("from", phone, "to", line, "body", "STOP"));
                assertThat(r.status()).isEqualTo(202);
            }
            Thread.sleep(50);
            first.close();
            first.carrierEmulator().messages(null, line).forEach(m -> confirmations.merge(m.to(), 1, Integer::sum));
        }
        int beforeTheStop = confirmations.values().stream().mapToInt(Integer::intValue).sum();
        confirmations.clear();
        var restartedAt = java.time.Instant.now();
        try (LocalRuntime second = LocalRuntime.start(settings)) {
            // the emulated carrier's list holds both runs' messages (it keeps them in DATA_DIR)
            await(() -> second.carrierEmulator().messages(null, line).size(), n -> n >= 3, 30_000);
            second.awaitIdle(); // a second confirmation would have gone by now
            second.carrierEmulator().messages(null, line).forEach(m -> confirmations.merge(m.to(), 1, Integer::sum));
            assertThat(second.carrierEmulator().messages(null, line).subList(0, beforeTheStop))
                    .as("the first run's, kept and listed first").allMatch(m -> m.createdAt().isBefore(restartedAt));
        }
        assertThat(confirmations).as("one confirmation each, from either run")
                .containsExactlyInAnyOrderEntriesOf(Map.of(phones.get(0), 1, phones.get(1), 1, phones.get(2), 1));
    }

    /**
     * What a {@code kill -9} between the carrier call and its record leaves: one send the carrier took whose answer was
     * lost, one whose request never left, both rows in sending. The emulated carrier keeps what it took in DATA_DIR,
     * as a real carrier keeps its records, and the restart asks it about both at once: the first is settled with the
     * carrier's id, the second sent, once.
     */
    @Test
    void sendsWhoseAnswersTheLastRunLostAreSettledFromTheCarrierAtTheRestartAndOnlyTheUnsentIsSent(@TempDir Path dataDir)
            throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        DeliveryFaultsTest.Setup s;
        String taken;
        String neverSent;
        String takenSid;
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            CarrierPort real = first.wiring().carrier();
            Set<String> killedAfterSending = ConcurrentHashMap.newKeySet();
            Set<String> killedBeforeSending = ConcurrentHashMap.newKeySet();
            CarrierPort killed = message -> {
                if (killedBeforeSending.contains(message.to())) throw new UncheckedIOException(new IOException("killed"));
                SendResult result = real.send(message);
                if (killedAfterSending.contains(message.to())) throw new UncheckedIOException(new IOException("killed"));
                return result;
            };
            Wiring wiring = first.wiring().withCarrier(killed);
            s = DeliveryFaultsTest.acceptAndFanOut(api, wiring, 3);
            taken = s.phones().get(0);
            neverSent = s.phones().get(1);
            killedAfterSending.add(taken);
            killedBeforeSending.add(neverSent);
            DeliveryFaultsTest.deliverAll(new DeliveryService(wiring), s);

            takenSid = first.carrierEmulator().messages(taken, null).getFirst().sid();
            assertThat(first.carrierEmulator().messages(neverSent, null)).isEmpty();
            for (String phone : List.of(taken, neverSent)) {
                assertThat(DeliveryFaultsTest.storedStatus(first.wiring(), s.messageId(), DeliveryFaultsTest.shardOf(s, phone), phone)).isEqualTo("sending");
            }
        }

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            var done = await(() -> api.get("/v1/messages/" + s.messageId()).jsonObject(), m -> "sent".equals(m.get("status")), 30_000);
            assertThat(done).as("finished after the restart, not an hour on").containsEntry("status", "sent");
            var rows = allDeliveries(api, s.messageId());
            assertThat(rows).filteredOn(d -> taken.equals(d.get("phone"))).singleElement().satisfies(d -> {
                assertThat(d.get("status")).isIn("sent", "delivered");
                assertThat(d).containsEntry("carrierMessageId", takenSid);
            });
            assertThat(rows).extracting(d -> d.get("status")).allMatch(st -> st.equals("sent") || st.equals("delivered"));
            for (String phone : s.phones()) {
                assertThat(second.carrierEmulator().messages(phone, null)).as(phone + ": sent once, across both runs").hasSize(1);
            }
            assertThat(ReceiptsE2eTest.billedMessages(api)).isEqualTo(3);
        }
    }

    /**
     * Receipts a kill took with the in-memory queues: the carrier (the emulator, which keeps what it delivered in
     * DATA_DIR) is asked about the rows still {@code sent} at the next start, not an hour on. Their callbacks are left
     * out of the sends here, which leaves the rows as lost receipts do.
     */
    @Test
    void receiptsAKillLostAreFetchedFromTheCarrierAtTheRestart(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        DeliveryFaultsTest.Setup s;
        Map<String, String> sids = new HashMap<>();
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            CarrierPort real = first.wiring().carrier();
            Wiring wiring = first.wiring().withCarrier(DeliveryFaultsTest.withoutStatusCallbacks(real));
            s = DeliveryFaultsTest.acceptAndFanOut(api, wiring, 3);
            DeliveryFaultsTest.deliverAll(new DeliveryService(wiring), s);
            for (var d : allDeliveries(api, s.messageId())) sids.put((String) d.get("phone"), (String) d.get("carrierMessageId"));
            for (String phone : s.phones()) {
                await(() -> first.carrierEmulator().messages(phone, null).getFirst().status(), "delivered"::equals, 15_000);
            }
            assertThat(api.get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
            assertThat(allDeliveries(api, s.messageId())).extracting(d -> d.get("status")).containsOnly("sent");
            first.close();
            leaveKillMarker(dataDir);
        }

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            var rows = await(() -> allDeliveries(api, s.messageId()), l -> l.stream().allMatch(d -> "delivered".equals(d.get("status"))), 15_000);
            assertThat(rows).hasSize(3).allSatisfy(d -> assertThat(d).containsEntry("status", "delivered")
                    .containsEntry("carrierMessageId", sids.get((String) d.get("phone"))));
            @SuppressWarnings("unchecked")
            var counts = (Map<String, Object>) api.get("/v1/messages/" + s.messageId()).jsonObject().get("counts");
            assertThat(counts).containsEntry("delivered", 3).containsEntry("sent", 0);
            assertThat(ReceiptsE2eTest.billedMessages(api)).isEqualTo(3);
        }
    }

    /**
     * A kill while a message is still sending: the receipts of the rows it had sent are lost with the queue too. The
     * restart finishes the message (its queued rows' jobs were lost as well) and settles those rows from the carrier
     * at once, not an hour after the message completes.
     */
    @Test
    void receiptsOfAMessageStillSendingAtTheKillAreFetchedAtTheRestart(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        DeliveryFaultsTest.Setup s;
        String sentBeforeKill;
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            CarrierPort real = first.wiring().carrier();
            Wiring wiring = first.wiring().withCarrier(DeliveryFaultsTest.withoutStatusCallbacks(real));
            s = DeliveryFaultsTest.acceptAndFanOut(api, wiring, 3);
            // one row sent (its receipt lost), the others still queued when the kill comes (their jobs lost)
            sentBeforeKill = s.phones().getFirst();
            new DeliveryService(wiring).deliver(s.accountId(), s.messageId(), DeliveryFaultsTest.shardOf(s, sentBeforeKill), List.of(sentBeforeKill));
            await(() -> first.carrierEmulator().messages(sentBeforeKill, null).getFirst().status(), "delivered"::equals, 15_000);
            assertThat(api.get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sending");
            first.close();
            leaveKillMarker(dataDir);
        }

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            var rows = await(() -> allDeliveries(api, s.messageId()),
                    l -> l.size() == 3 && l.stream().allMatch(d -> "delivered".equals(d.get("status"))), 20_000);
            assertThat(rows).extracting(d -> d.get("status")).containsOnly("delivered");
            for (String phone : s.phones()) {
                assertThat(second.carrierEmulator().messages(phone, null)).as(phone + ": sent once, across both runs").hasSize(1);
            }
            assertThat(ReceiptsE2eTest.billedMessages(api)).isEqualTo(3);
        }
    }

    /**
     * A kill after a message's last send but before its completion: every row is {@code sent}, their receipts lost. The
     * restart's repair completes the message; its receipt check is written before that, so the rows are settled at
     * once, not an hour after the completion.
     */
    @Test
    void receiptsOfAMessageKilledBeforeItsCompletionAreFetchedAtTheRestart(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        DeliveryFaultsTest.Setup s;
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            CarrierPort real = first.wiring().carrier();
            var killedAtCompletion = new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
                @Override
                public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                            software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                    if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest t
                            && t.transactItems().stream().anyMatch(i -> i.update() != null
                            && i.update().updateExpression().startsWith("SET #status = :sent, completedAt"))) {
                        throw new IllegalStateException("killed before the completion");
                    }
                }
            };
            Wiring wiring = first.wiringWith(killedAtCompletion).withCarrier(DeliveryFaultsTest.withoutStatusCallbacks(real));
            s = DeliveryFaultsTest.acceptAndFanOut(api, wiring, 3);
            try {
                DeliveryFaultsTest.deliverAll(new DeliveryService(wiring), s);
            } catch (IllegalStateException expected) {
                // the completion did not happen
            }
            for (String phone : s.phones()) {
                await(() -> first.carrierEmulator().messages(phone, null).getFirst().status(), "delivered"::equals, 15_000);
            }
            assertThat(api.get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sending");
            assertThat(allDeliveries(api, s.messageId())).extracting(d -> d.get("status")).containsOnly("sent");
            first.close();
            leaveKillMarker(dataDir);
        }

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            var rows = await(() -> allDeliveries(api, s.messageId()),
                    l -> l.size() == 3 && l.stream().allMatch(d -> "delivered".equals(d.get("status"))), 20_000);
            assertThat(rows).extracting(d -> d.get("status")).containsOnly("delivered");
            assertThat(api.get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
            assertThat(ReceiptsE2eTest.billedMessages(api)).isEqualTo(3);
        }
    }

    /**
     * Replies and a keyword stored by the webhook whose jobs a kill took with the in-memory queues: the next start finds
     * them unfinished (never published, never handled) and queues them again, so each is relayed or handled once, and
     * a keyword handled before is not handled again. The kill is played by a clean stop
     * whose run marker is put back (as a killed run leaves it) and whose jobs never reached the queue.
     */
    @Test
    void repliesAndKeywordsWhoseJobsAKillLostAreHandledOnceAfterTheRestart(@TempDir Path dataDir) throws Exception {
        LocalSettings settings = LocalSettings.forTests().withDataDir(dataDir).withLocalApiKey(KEY);
        String line = linePhone();
        String ann = "+14155550811";
        String bob = "+14155550812";
        String cat = "+14155550813";
        String dan = "+14155550814";
        String conversationId;
        String lineId;
        try (LocalRuntime first = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(first.baseUrl(), KEY);
            lineId = ConversationsE2eTest.groupLine(api, line, 50);
            conversationId = (String) ConversationsE2eTest.create(api, lineId, List.<Object>of(ann, bob, cat), "Hello all").get("id");
            await(() -> first.carrierEmulator().messages(null, line).size(), n -> n == 3, 15_000);
            groupmsg.platform.queue.QueueSender lost = (queue, messages) -> { };
            var inbound = new groupmsg.inbound.InboundService(first.wiring(), lost);
            inbound.receive(new groupmsg.inbound.InboundService.InboundSms("SM" + "a".repeat(32), ann, line, "First", List.of()));
            inbound.receive(new groupmsg.inbound.InboundService.InboundSms("SM" + "b".repeat(32), bob, line, "Second", List.of()));
            // Dan's STOP was handled (opted out, confirmed); his START came just before the kill
            var stop = api.withoutKey().post("/local/carrier/inbound", Map.of("from", dan, "to", line, "body", "STOP"));
            assertThat(stop.status()).isEqualTo(202);
            assertThat(await(() -> first.carrierEmulator().messages(dan, line).size(), n -> n == 1, 15_000))
                    .as("Dan's STOP confirmed").isEqualTo(1);
            assertThat(await(() -> api.get("/v1/opt-outs?lineId=" + lineId).jsonObject().get("items").toString(), t -> t.contains(dan), 15_000))
                    .as("Dan opted out").contains(dan);
            inbound.receive(new groupmsg.inbound.InboundService.InboundSms("SM" + "c".repeat(32), dan, line, "START", List.of()));
            assertThat(dataDir.resolve("running.marker")).exists();
            first.close();
            assertThat(dataDir.resolve("running.marker")).as("a clean stop").doesNotExist();
            leaveKillMarker(dataDir);
        }

        try (LocalRuntime second = LocalRuntime.start(settings)) {
            ApiClient api = new ApiClient(second.baseUrl(), KEY);
            var thread = await(() -> ConversationsE2eTest.thread(api, conversationId), l -> l.size() == 3, 30_000);
            assertThat(thread).extracting(m -> m.get("body")).containsExactly("Hello all", "First", "Second");
            await(() -> second.carrierEmulator().messages(cat, line).size(), n -> n == 3, 30_000);
            second.awaitIdle(); // a second relay would have gone by now
            assertThat(second.carrierEmulator().messages(cat, line)).extracting(m -> m.body())
                    .containsExactly("Hello all", ann + ": First", bob + ": Second");
            assertThat(second.carrierEmulator().messages(ann, line)).extracting(m -> m.body()).containsExactly("Hello all", bob + ": Second");
            // the START is handled once: Dan opted in and told so, his handled STOP not handled again
            await(() -> second.carrierEmulator().messages(dan, line).size(), n -> n == 2, 30_000);
            second.awaitIdle();
            var lineNow = api.get("/v1/lines/" + lineId).jsonObject();
            assertThat(second.carrierEmulator().messages(dan, line)).extracting(m -> m.body())
                    .containsExactly((String) lineNow.get("optOutReply"), (String) lineNow.get("optInReply"));
            assertThat(api.get("/v1/opt-outs?lineId=" + lineId).jsonObject().get("items").toString()).doesNotContain(dan);
        }
    }

    @Test
    void eachStartReplacesTheLastStartsOwnerKeyAndASuppliedKeyIsNeverPrinted(@TempDir Path dataDir) throws Exception {
        LocalSettings generating = LocalSettings.forTests().withDataDir(dataDir);
        String firstKey;
        String secondKey;
        String madeKey;
        try (LocalRuntime first = LocalRuntime.start(generating)) {
            firstKey = first.defaultApiKey();
            assertThat(banner(first)).contains(firstKey);
        }
        try (LocalRuntime second = LocalRuntime.start(generating)) {
            secondKey = second.defaultApiKey();
            assertThat(secondKey).isNotEqualTo(firstKey);
            assertThat(new ApiClient(second.baseUrl(), secondKey).get("/v1/groups").status()).isEqualTo(200);
            assertThat(new ApiClient(second.baseUrl(), firstKey).get("/v1/groups").status()).as("replaced").isEqualTo(403);
        }
        try (LocalRuntime third = LocalRuntime.start(generating.withLocalApiKey(KEY))) {
            assertThat(new ApiClient(third.baseUrl(), KEY).get("/v1/groups").status()).isEqualTo(200);
            assertThat(new ApiClient(third.baseUrl(), secondKey).get("/v1/groups").status()).as("replaced").isEqualTo(403);
            String printed = banner(third);
            assertThat(printed).doesNotContain(KEY).contains("$LOCAL_API_KEY");
            // a key made through the API is not a start-up key: it stays
            var made = new ApiClient(third.baseUrl(), KEY).post("/v1/api-keys", Map.of("name", "ci", "role", "admin"));
            assertThat(made.status()).isEqualTo(201);
            madeKey = (String) made.jsonObject().get("key");
            // the account full of keys (at most 100): the next start's own key is still made, the last one revoked
            int status = 201;
            for (int i = 0; i < 100 && status == 201; i++) {
                status = new ApiClient(third.baseUrl(), KEY).post("/v1/api-keys", Map.of("name", "filler " + i, "role", "member")).status();
            }
            assertThat(status).isEqualTo(409);
        }
        // changing LOCAL_API_KEY (a leaked one, say) leaves the old one revoked
        try (LocalRuntime fourth = LocalRuntime.start(generating.withLocalApiKey(KEY + "-rotated"))) {
            assertThat(new ApiClient(fourth.baseUrl(), KEY + "-rotated").get("/v1/groups").status()).isEqualTo(200);
            assertThat(new ApiClient(fourth.baseUrl(), KEY).get("/v1/groups").status()).as("rotated away").isEqualTo(403);
            assertThat(new ApiClient(fourth.baseUrl(), madeKey).get("/v1/groups").status()).isEqualTo(200);
        }
    }

    private static String banner(LocalRuntime runtime) {
        var out = new ByteArrayOutputStream();
        runtime.printBanner(new PrintStream(out, true, StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }
}
