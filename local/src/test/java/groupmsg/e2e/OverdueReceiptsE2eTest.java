package groupmsg.e2e;

import groupmsg.carrier.CarrierPort;
import groupmsg.carrier.OutboundMessage;
import groupmsg.carrier.SendResult;
import groupmsg.carrier.SentLookup;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.messages.DeliveryService;
import groupmsg.messages.OverdueReceipts;
import groupmsg.messages.StatusCallbacks;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static groupmsg.e2e.DeliveryFaultsTest.ScriptedCarrier;
import static groupmsg.e2e.DeliveryFaultsTest.Setup;
import static groupmsg.e2e.DeliveryFaultsTest.acceptAndFanOut;
import static groupmsg.e2e.DeliveryFaultsTest.deliverAll;
import static groupmsg.e2e.DeliveryFaultsTest.statuses;
import static groupmsg.e2e.MessagesE2eTest.allDeliveries;
import static groupmsg.e2e.ReceiptsE2eTest.billedMessages;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A final status callback that never came (Twilio does not resend one our webhook failed to take; the local runtime
 * loses the receipts queued in memory at a kill): maintenance asks the carrier about rows still {@code sent} an hour
 * and a day after their message completed, and applies what it holds.
 */
@ExtendWith(LocalRuntimeExtension.class)
class OverdueReceiptsE2eTest {

    /** A message sent through a scripted carrier that answers each recipient with an id of its own; no callback comes. */
    private record Sent(ApiClient api, ScriptedCarrier carrier, Wiring wiring, Setup setup, Map<String, String> sids) {}

    private static Sent sentWithoutCallbacks(ApiClient api, LocalRuntime runtime, String accountName, int members)
            throws InterruptedException {
        ApiClient a = api.forNewAccount(accountName);
        var carrier = new ScriptedCarrier();
        Wiring wiring = runtime.wiring().withCarrier(carrier);
        // the ids are this test's own: other tests' messages to the same numbers are looked up by this carrier too
        String prefix = "SMod" + Long.toHexString(System.nanoTime());
        Map<String, String> sids = new HashMap<>();
        for (int i = 0; i < members; i++) {
            String phone = String.format("+1617555%04d", 700 + i);
            sids.put(phone, prefix + i);
            carrier.script.put(phone, List.of(new SendResult.Accepted(prefix + i, "queued")));
        }
        Setup s = acceptAndFanOut(a, wiring, members);
        deliverAll(new DeliveryService(wiring), s);
        assertThat(a.get("/v1/messages/" + s.messageId()).jsonObject()).containsEntry("status", "sent");
        return new Sent(a, carrier, wiring, s, sids);
    }

    private static Wiring at(Wiring wiring, Duration later) {
        return wiring.withClock(Clock.offset(Clock.systemUTC(), later));
    }

    /**
     * Sweeps until no check is due any more (every test's messages have them, the longest due first, 25 a sweep);
     * returns each sweep's lookups of this carrier's ids.
     */
    private static List<Integer> sweepAll(OverdueReceipts checks, ScriptedCarrier carrier) {
        List<Integer> askedPerSweep = new ArrayList<>();
        for (int sweep = 0; sweep < 500; sweep++) {
            int before = carrier.idQueries.size();
            var summary = checks.sweep();
            askedPerSweep.add(carrier.idQueries.size() - before);
            if (((Number) summary.get("receiptsLookedUp")).intValue() == 0 && ((Number) summary.get("receiptChecksDone")).intValue() == 0
                    && ((Number) summary.get("receiptChecksGivenUp")).intValue() == 0) {
                return askedPerSweep;
            }
        }
        throw new AssertionError("checks still due after 500 sweeps");
    }

    /** The message's receipt checks as stored: their rounds. */
    private static List<Integer> checkRounds(Wiring wiring, String messageId) {
        return wiring.dynamo().query(b -> b.tableName(wiring.config().table(Tables.CORE)).consistentRead(true)
                        .keyConditionExpression("pk = :pk").filterExpression("messageId = :m")
                        .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS("JOBS#receipts"), ":m", AttributeValue.fromS(messageId))))
                .items().stream().map(i -> Integer.parseInt(i.get("round").n())).toList();
    }

    @Test
    void rowsWhoseCallbackNeverCameAreSettledFromTheCarrierAnHourAndADayOn(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Sent t = sentWithoutCallbacks(api, runtime, "Lost Callbacks Co", 5);
        List<String> phones = t.setup().phones();
        String delivered = phones.get(0), undelivered = phones.get(1), stillSent = phones.get(2), unknownToCarrier = phones.get(3),
                calledBack = phones.get(4);
        long billed = billedMessages(t.api());
        assertThat(billed).isEqualTo(5);
        // one callback did come: that row is not asked about
        new StatusCallbacks(t.wiring()).apply(new StatusCallbacks.Receipt.Key(t.setup().accountId(), t.setup().messageId(), 0),
                List.of(StatusCallbacks.receipt(t.setup().accountId(), t.setup().messageId(), "0", calledBack,
                        t.sids().get(calledBack), "delivered", null, System.currentTimeMillis()).orElseThrow()));
        t.carrier().byId.put(t.sids().get(delivered), new SentLookup.Found(t.sids().get(delivered), "delivered", null));
        t.carrier().byId.put(t.sids().get(undelivered), new SentLookup.Found(t.sids().get(undelivered), "undelivered", "30003"));
        t.carrier().byId.put(t.sids().get(unknownToCarrier), new SentLookup.NotFound());

        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(1);

        // not due yet: nobody is asked about
        sweepAll(new OverdueReceipts(t.wiring()), t.carrier());
        sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(50))), t.carrier());
        assertThat(t.carrier().idQueries).isEmpty();

        // an hour on: every row still sent is asked about once, and what the carrier holds is applied
        sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(61))), t.carrier());
        assertThat(t.carrier().idQueries).containsExactlyInAnyOrder(t.sids().get(delivered), t.sids().get(undelivered),
                t.sids().get(stillSent), t.sids().get(unknownToCarrier));
        var rows = allDeliveries(t.api(), t.setup().messageId());
        assertThat(rows).filteredOn(d -> undelivered.equals(d.get("phone"))).singleElement().satisfies(d -> assertThat(d)
                .containsEntry("status", "failed").containsEntry("error", "carrier 30003").containsEntry("carrierMessageId", t.sids().get(undelivered)));
        assertThat(statuses(t.api(), t.setup().messageId())).containsEntry(delivered, "delivered").containsEntry(stillSent, "sent")
                .containsEntry(unknownToCarrier, "sent").containsEntry(calledBack, "delivered");
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject().get("counts");
        assertThat(counts).containsEntry("delivered", 2).containsEntry("failed", 1).containsEntry("sent", 2);
        // billed when the carrier took them, not again
        assertThat(billedMessages(t.api())).isEqualTo(billed);

        // the first check is done, and a second is due a day on (rows are still sent): later sweeps of that hour ask nothing
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(2);
        sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(90))), t.carrier());
        assertThat(t.carrier().idQueries).hasSize(4);

        // a day on: only the rows still sent are asked about again; a late final status is applied
        t.carrier().byId.put(t.sids().get(stillSent), new SentLookup.Found(t.sids().get(stillSent), "delivered", null));
        sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofHours(25))), t.carrier());
        assertThat(t.carrier().idQueries.subList(4, t.carrier().idQueries.size()))
                .containsExactlyInAnyOrder(t.sids().get(stillSent), t.sids().get(unknownToCarrier));
        assertThat(statuses(t.api(), t.setup().messageId())).containsEntry(stillSent, "delivered").containsEntry(delivered, "delivered")
                .containsEntry(unknownToCarrier, "sent");

        // and then no more checks
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).isEmpty();
        sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofHours(72))), t.carrier());
        assertThat(t.carrier().idQueries).hasSize(6);
        assertThat(billedMessages(t.api())).isEqualTo(billed);
    }

    @Test
    void aMessageWhoseReceiptsAllCameIsCheckedByItsCountersAloneAndGetsNoSecondCheck(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Sent t = sentWithoutCallbacks(api, runtime, "All Receipts Came Co", 3);
        var callbacks = new StatusCallbacks(t.wiring());
        for (String phone : t.setup().phones()) {
            callbacks.apply(new StatusCallbacks.Receipt.Key(t.setup().accountId(), t.setup().messageId(), 0),
                    List.of(StatusCallbacks.receipt(t.setup().accountId(), t.setup().messageId(), "0", phone, t.sids().get(phone),
                            "delivered", null, System.currentTimeMillis()).orElseThrow()));
        }
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(1);
        sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(61))), t.carrier());
        assertThat(t.carrier().idQueries).isEmpty();
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).isEmpty();
    }

    @Test
    void aCheckTheCarrierNeverAnswersIsTriedLaterBehindTheOthersAndItsRoundGivenUpAfterTwelveTries(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Sent t = sentWithoutCallbacks(api, runtime, "Unreadable Carrier Co", 2);
        t.carrier().lookupsFailing = true;
        Duration later = Duration.ofMinutes(61);
        for (int failures = 0; failures < 12; failures++) {
            int before = t.carrier().idQueries.size();
            var checks = new OverdueReceipts(at(t.wiring(), later));
            for (int sweep = 0; sweep < 500 && t.carrier().idQueries.size() == before; sweep++) checks.sweep();
            assertThat(t.carrier().idQueries.size()).as("try " + (failures + 1)).isGreaterThan(before);
            // tried again only after its backoff (5 minutes times its failures)
            if (failures < 11) {
                sweepAll(new OverdueReceipts(at(t.wiring(), later.plusMinutes(5L * (failures + 1) - 1))), t.carrier());
                int asked = t.carrier().idQueries.size();
                sweepAll(new OverdueReceipts(at(t.wiring(), later.plusMinutes(5L * (failures + 1) - 1))), t.carrier());
                assertThat(t.carrier().idQueries).hasSize(asked);
            }
            later = later.plusMinutes(5L * (failures + 1) + 1);
        }
        // given up for this round; the next round still comes a day on
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(2);
        assertThat(statuses(t.api(), t.setup().messageId()).values()).containsOnly("sent");
    }

    @Test
    void aCheckCutShortGoesOnWhereItStoppedAndOneTheCarrierCouldNotAnswerIsAskedAgain(ApiClient api, LocalRuntime runtime)
            throws Exception {
        Sent t = sentWithoutCallbacks(api, runtime, "Big Lost Callbacks Co", 30);
        // half of them the carrier still calls sent (unscripted): those stay sent, so only the check's own record of
        // where it stopped keeps a sweep from asking them again
        List<String> deliveredOnes = t.sids().values().stream().filter(sid -> sid.charAt(sid.length() - 1) % 2 == 0).toList();
        deliveredOnes.forEach(sid -> t.carrier().byId.put(sid, new SentLookup.Found(sid, "delivered", null)));
        Wiring later = at(t.wiring(), Duration.ofMinutes(61));

        // the carrier is down: a sweep stops asking at the first chunk it fails, and nothing changes; when the check is
        // next due (5 minutes on) the same chunk is asked again
        t.carrier().lookupsFailing = true;
        var whileDown = new OverdueReceipts(later, 8);
        for (int sweep = 0; sweep < 500 && t.carrier().idQueries.isEmpty(); sweep++) whileDown.sweep();
        var firstChunk = List.copyOf(t.carrier().idQueries);
        assertThat(firstChunk).isNotEmpty().hasSizeLessThanOrEqualTo(8);
        var stillDown = new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(67)), 8);
        for (int sweep = 0; sweep < 500 && t.carrier().idQueries.size() == firstChunk.size(); sweep++) stillDown.sweep();
        assertThat(t.carrier().idQueries.subList(firstChunk.size(), t.carrier().idQueries.size())).containsExactlyInAnyOrderElementsOf(firstChunk);
        int askedWhileDown = t.carrier().idQueries.size();
        assertThat(statuses(t.api(), t.setup().messageId()).values()).containsOnly("sent");

        // up again: 8 lookups a sweep at most, each row asked once
        t.carrier().lookupsFailing = false;
        List<Integer> perSweep = sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(80)), 8), t.carrier());
        assertThat(perSweep).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(8));
        assertThat(perSweep.stream().filter(n -> n > 0)).hasSizeGreaterThanOrEqualTo(4);
        var askedWhenUp = t.carrier().idQueries.subList(askedWhileDown, t.carrier().idQueries.size());
        assertThat(askedWhenUp).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(t.sids().values());
        var rows = allDeliveries(t.api(), t.setup().messageId());
        assertThat(rows).hasSize(30).allSatisfy(d -> assertThat(d.get("status"))
                .isEqualTo(deliveredOnes.contains((String) d.get("carrierMessageId")) ? "delivered" : "sent"));
        assertThat(deliveredOnes).hasSize(15);
    }

    /**
     * A message over two shards (2,001 recipients) whose receipts were all lost, a third of them still sent by the
     * carrier's word: every row is asked about once in the round, 300 a sweep, across both shards; the rows the
     * carrier still calls sent are not asked again.
     */
    @Test
    void aBigCheckGoesOnAcrossShardsAndSweepsAskingEachRowOnce(ApiClient api, LocalRuntime runtime) throws Exception {
        Sent t = sentWithoutCallbacks(api, runtime, "Two Shards Co", 2001);
        List<String> stillSent = new ArrayList<>();
        int i = 0;
        for (String sid : t.sids().values()) {
            if (i++ % 3 == 0) stillSent.add(sid);
            else t.carrier().byId.put(sid, new SentLookup.Found(sid, "undelivered", "30006"));
        }
        List<Integer> perSweep = sweepAll(new OverdueReceipts(at(t.wiring(), Duration.ofMinutes(61)), 300), t.carrier());
        // alone, it takes turn after turn of 100 until the sweep's 300 are used
        assertThat(perSweep).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(300)).contains(300);
        assertThat(t.carrier().idQueries).doesNotHaveDuplicates().hasSize(2001);
        @SuppressWarnings("unchecked")
        var counts = (Map<String, Object>) t.api().get("/v1/messages/" + t.setup().messageId()).jsonObject().get("counts");
        assertThat(counts).containsEntry("failed", 2001 - stillSent.size()).containsEntry("sent", stillSent.size());
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(2);
    }

    /** Ends every check of the runtime's other messages (tests before this one), so only this test's are due. */
    private static void endOtherChecks(LocalRuntime runtime) {
        CarrierPort knowsNothing = new CarrierPort() {
            @Override
            public SendResult send(OutboundMessage message) {
                throw new UnsupportedOperationException();
            }

            @Override
            public SentLookup findById(String carrierMessageId) {
                return new SentLookup.NotFound();
            }
        };
        var checks = new OverdueReceipts(at(runtime.wiring().withCarrier(knowsNothing), Duration.ofHours(25)));
        for (int sweep = 0; sweep < 500; sweep++) {
            var summary = checks.sweep();
            if (((Number) summary.get("receiptsLookedUp")).intValue() == 0 && ((Number) summary.get("receiptChecksDone")).intValue() == 0) return;
        }
        throw new AssertionError("checks still due after 500 sweeps");
    }

    /**
     * A big check takes its turn of lookups, then the other checks due have theirs, then it goes on: within a sweep,
     * and across sweeps, where one stopped waits behind the others due. Alone, it takes turn after turn.
     */
    @Test
    void aBigCheckTakesTurnsWithTheOthersSoASmallOneIsNotHeldUp(ApiClient api, LocalRuntime runtime) throws Exception {
        endOtherChecks(runtime);
        Sent big = sentWithoutCallbacks(api, runtime, "Big Turn Co", 30);
        Sent small = sentWithoutCallbacks(api, runtime, "Small Turn Co", 5);
        // one carrier for both, as in production
        var carrier = new ScriptedCarrier();
        carrier.given.addAll(big.sids().values());
        carrier.given.addAll(small.sids().values());
        Wiring later = at(big.wiring().withCarrier(carrier), Duration.ofMinutes(61));
        java.util.function.Supplier<Long> askedOfBig = () -> carrier.idQueries.stream().filter(big.sids()::containsValue).count();

        // a sweep with room for one turn: the big one, due first, takes it
        assertThat(new OverdueReceipts(later, 8, 8).sweep()).containsEntry("receiptsLookedUp", 8);
        assertThat(askedOfBig.get()).isEqualTo(8);
        // the next sweep: the small one first (the big one waits behind it), then what is left for the big one
        assertThat(new OverdueReceipts(later, 8, 8).sweep()).containsEntry("receiptsLookedUp", 8);
        assertThat(carrier.idQueries).containsAll(small.sids().values());
        assertThat(askedOfBig.get()).isEqualTo(11);
        // within one sweep: a turn each, then the big one again, turn after turn, while the sweep has room
        var alone = new OverdueReceipts(later, 20, 8).sweep();
        assertThat(alone).containsEntry("receiptsLookedUp", 19).containsEntry("receiptChecksDone", 1);
        assertThat(carrier.idQueries).doesNotHaveDuplicates().hasSize(35);
    }

    /**
     * Failed turns count in a row: a check the carrier answers between its failures goes on with a short backoff and
     * keeps its round, however many failures it meets over a long check (a brief error now and then).
     */
    @Test
    void failedTurnsCountInARowSoACheckAnsweredBetweenFailuresKeepsItsRound(ApiClient api, LocalRuntime runtime) throws Exception {
        endOtherChecks(runtime);
        Sent t = sentWithoutCallbacks(api, runtime, "Flaky Carrier Co", 20);
        Duration later = Duration.ofMinutes(61);
        for (int i = 0; i < 14; i++) {
            t.carrier().lookupsFailing = true;
            new OverdueReceipts(at(t.wiring(), later), 1, 1).sweep(); // fails: due again 5 minutes on
            later = later.plusMinutes(6);
            t.carrier().lookupsFailing = false;
            new OverdueReceipts(at(t.wiring(), later), 1, 1).sweep(); // that row answered: its failures start anew
            later = later.plusMinutes(1);
        }
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(1);
        assertThat(t.carrier().idQueries).hasSize(28);
        assertThat(t.carrier().idQueries.stream().distinct().count()).as("rows answered, one more each time").isEqualTo(14);
    }

    /**
     * The sweep of a start after a kill runs the checks due within the next hour at once; a message completed nearly a
     * day before still has its first check then, and its second a day after its completion, not in the same sweep.
     */
    @Test
    void theSweepAfterAKillGivesEachMessageOneTurnNotItsNextRoundToo(ApiClient api, LocalRuntime runtime) throws Exception {
        endOtherChecks(runtime);
        Sent t = sentWithoutCallbacks(api, runtime, "Killed Long Ago Co", 3);
        Duration later = Duration.ofMinutes(23 * 60 + 30);
        var summary = new OverdueReceipts(at(t.wiring(), later)).sweepAfterJobsLost(System.currentTimeMillis() + later.toMillis());
        assertThat(summary).containsEntry("receiptChecksDone", 1);
        assertThat(t.carrier().idQueries).doesNotHaveDuplicates().hasSize(3);
        assertThat(checkRounds(t.wiring(), t.setup().messageId())).containsExactly(2);
    }

    /**
     * The sweep after a kill makes the first checks due now: what it does not reach (here, past its 2 lookups) the
     * next regular sweep goes on with, not an hour after the message completed.
     */
    @Test
    void checksTheSweepAfterAKillDoesNotReachAreDueNowForTheRegularSweeps(ApiClient api, LocalRuntime runtime) throws Exception {
        endOtherChecks(runtime);
        Sent t = sentWithoutCallbacks(api, runtime, "Killed Just Now Co", 5);
        new OverdueReceipts(t.wiring(), 2).sweepAfterJobsLost(System.currentTimeMillis());
        assertThat(t.carrier().idQueries).hasSize(2);
        sweepAll(new OverdueReceipts(t.wiring()), t.carrier());
        assertThat(t.carrier().idQueries).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(t.sids().values());
    }

    /** A sweep out of time (a clock that moves a second at every reading: a 10 s budget lasts a few chunks) notes where it stopped; the next goes on. */
    @Test
    void aSweepOutOfTimeNotesWhereTheCheckStoppedAndTheNextGoesOnFromThere(ApiClient api, LocalRuntime runtime) throws Exception {
        Sent t = sentWithoutCallbacks(api, runtime, "Slow Sweeps Co", 80);
        var base = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(61));
        var ticking = new Clock() {
            final java.util.concurrent.atomic.AtomicLong ticks = new java.util.concurrent.atomic.AtomicLong();

            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                return base.instant().plusSeconds(ticks.getAndIncrement());
            }
        };
        List<Integer> perSweep = sweepAll(new OverdueReceipts(t.wiring().withClock(ticking)), t.carrier());
        assertThat(perSweep.stream().filter(n -> n > 0).count()).as("sweeps that asked").isGreaterThanOrEqualTo(2);
        assertThat(t.carrier().idQueries).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(t.sids().values());
    }

    /**
     * On the real emulator over Twilio's REST API: its status callbacks were lost (left out of the send), it delivered
     * the messages, and {@code GET Messages/{sid}.json} says so.
     */
    @Test
    void theEmulatorsRecordOfADeliveredMessageSettlesARowWhoseCallbackWasLost(ApiClient api, LocalRuntime runtime)
            throws Exception {
        ApiClient a = api.forNewAccount("Emulated Lost Callbacks Co");
        CarrierPort real = runtime.wiring().carrier();
        Wiring wiring = runtime.wiring().withCarrier(DeliveryFaultsTest.withoutStatusCallbacks(real));
        Setup s = acceptAndFanOut(a, wiring, 3);
        deliverAll(new DeliveryService(wiring), s);
        var sids = new HashMap<String, String>();
        for (var d : allDeliveries(a, s.messageId())) sids.put((String) d.get("phone"), (String) d.get("carrierMessageId"));
        assertThat(sids.values()).doesNotContainNull().hasSize(3);
        // the emulator delivers them (about a second on), and tells nobody
        long until = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < until && !sids.values().stream()
                .allMatch(sid -> real.findById(sid) instanceof SentLookup.Found f && f.status().equals("delivered"))) {
            Thread.sleep(100);
        }
        assertThat(sids.values()).as("delivered by the emulator").allSatisfy(sid -> assertThat(real.findById(sid))
                .isInstanceOfSatisfying(SentLookup.Found.class, f -> assertThat(f.status()).isEqualTo("delivered")));
        assertThat(statuses(a, s.messageId()).values()).containsOnly("sent");

        var checks = new OverdueReceipts(at(runtime.wiring(), Duration.ofMinutes(61)));
        for (int sweep = 0; sweep < 500 && !statuses(a, s.messageId()).values().stream().allMatch("delivered"::equals); sweep++) {
            checks.sweep();
        }
        assertThat(statuses(a, s.messageId()).values()).hasSize(3).containsOnly("delivered");
        for (var d : allDeliveries(a, s.messageId())) assertThat(d.get("carrierMessageId")).isEqualTo(sids.get(d.get("phone")));
    }
}
