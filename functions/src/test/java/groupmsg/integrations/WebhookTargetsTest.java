package groupmsg.integrations;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class WebhookTargetsTest {
    private final WebhookTargets deployed = new WebhookTargets(false);
    private final WebhookTargets local = new WebhookTargets(true);

    @Test
    void aDeployedWebhookIsAnHttpsUrlOfAPublicHost() {
        assertThat(deployed.problem("https://hooks.example.com/groupmsg?team=7")).isEmpty();
        assertThat(deployed.problem("https://93.184.216.34:8443/hook")).isEmpty();
        assertThat(deployed.problem("https://[2606:2800:220:1:248:1893:25c8:1946]/hook")).isEmpty();
        assertThat(deployed.problem("https://[64:ff9b::5db8:d822]/hook")).as("NAT64 of a public address").isEmpty();
        assertThat(deployed.problem("https://[::ffff:0:5db8:d822]/hook")).as("IPv4-translated public address").isEmpty();
        for (String bad : List.of("http://hooks.example.com/x", "https://localhost/x", "https://api.localhost/x",
                "https://127.0.0.1/x", "https://[::1]/x", "https://10.0.0.8/x", "https://172.16.4.4/x", "https://192.168.1.1/x",
                "https://169.254.169.254/latest", "https://0.0.0.0/x", "https://100.64.0.1/x", "https://[fd12::1]/x",
                "https://[fe80::1]/x", "https://u:p@hooks.example.com/x", "https://hooks.example.com/x#f", "hooks.example.com/x",
                "https://exa mple.com/x", "https://example.com:70000/x", "https://0.1.2.3/x", "https://192.0.0.8/x",
                "https://198.18.0.1/x", "https://240.0.0.1/x", "https://255.255.255.255/x", "https://[::10.0.0.1]/x",
                "https://[64:ff9b::a00:1]/x", "https://[::ffff:127.0.0.1]/x", "https://localhost./x",
                "https://api.localhost./x", "https://[64:ff9b:1::a9fe:a9fe]/x", "https://[2002:a9fe:a9fe::1]/x",
                "https://[2002:5db8:d822::1]/x", "https://[::ffff:0:a9fe:a9fe]/x", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",
                "https://[100::1]/x", "https://[2001:db8::1]/x", "https://[ff02::1]/x", "https://[4000::1]/x")) {
            assertThat(deployed.problem(bad)).as(bad).isPresent();
        }
    }

    @Test
    void theLocalRuntimeAlsoTakesThisMachineOverPlainHttpButNoPrivateNetwork() {
        assertThat(local.problem("http://127.0.0.1:8123/hook")).isEmpty();
        assertThat(local.problem("http://localhost:8123/hook")).isEmpty();
        assertThat(local.problem("http://10.0.0.8/x")).isPresent();
        assertThat(local.problem("https://10.0.0.8/x")).isPresent();
        assertThat(local.destination(URI.create("http://127.0.0.1:8123/hook")))
                .isEqualTo(new WebhookTargets.Destination.Address(java.net.InetAddress.getLoopbackAddress()));
        assertThat(deployed.destination(URI.create("https://127.0.0.1/hook"))).isInstanceOf(WebhookTargets.Destination.Refused.class);
        assertThat(deployed.destination(URI.create("https://localhost/hook"))).as("what a name resolves to counts")
                .isInstanceOf(WebhookTargets.Destination.Refused.class);
    }

    @Test
    void aNameWhoseRecordIsAnIpv4MappedAddressIsJudgedByItsIpv4Address() throws Exception {
        for (String inside : List.of("127.0.0.1", "169.254.169.254", "10.1.2.3", "192.168.1.1")) {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xFF;
            mapped[11] = (byte) 0xFF;
            System.arraycopy(java.net.InetAddress.getByName(inside).getAddress(), 0, mapped, 12, 4);
            // as a resolver hands back an AAAA record: an Inet6Address, where a literal would become an Inet4Address
            var address = java.net.Inet6Address.getByAddress("probe.example.com", mapped, -1);
            var targets = new WebhookTargets(false, host -> new java.net.InetAddress[] {address});
            assertThat(targets.destination(URI.create("https://probe.example.com/hook"))).as(inside)
                    .isInstanceOf(WebhookTargets.Destination.Refused.class);
        }
        byte[] mappedPublic = new byte[16];
        mappedPublic[10] = (byte) 0xFF;
        mappedPublic[11] = (byte) 0xFF;
        System.arraycopy(new byte[] {93, (byte) 184, (byte) 216, 34}, 0, mappedPublic, 12, 4);
        var publicOne = java.net.Inet6Address.getByAddress("hooks.example.com", mappedPublic, -1);
        assertThat(new WebhookTargets(false, host -> new java.net.InetAddress[] {publicOne})
                .destination(URI.create("https://hooks.example.com/hook"))).isInstanceOf(WebhookTargets.Destination.Address.class);
    }

    @Test
    void theSignatureIsAnHmacOfTheTimeAndTheBody() {
        assertThat(WebhookSignature.header("whsec_test", 1_796_083_200L, "{\"a\":1}"))
                .isEqualTo("t=1796083200,v1=" + WebhookSignature.hmac("whsec_test", "1796083200.{\"a\":1}"));
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        assertThat(WebhookSignature.hmac("Jefe", "what do ya want for nothing?"))
                .isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    @Test
    void anEventIsKnownByItsTypeAndWhatItIsAbout() {
        assertThat(WebhookDispatcher.eventKey(java.util.Map.of("messageId", "msg_1"), "group_message.sent", "sqs-1"))
                .isEqualTo("group_message.sent/msg_1");
        assertThat(WebhookDispatcher.eventKey(java.util.Map.of("inboundId", "inb_1"), "reply.received", "sqs-1"))
                .isEqualTo("reply.received/inb_1");
        assertThat(WebhookDispatcher.eventKey(java.util.Map.of("changeId", "manual-line_1-14155550100-01J-out"), "opt_out.changed", "sqs-1"))
                .as("a change no text made: the same on each publish of it").isEqualTo("opt_out.changed/manual-line_1-14155550100-01J-out");
        // a START's lift on another line names the START and its own change: each line's is an event of its own
        assertThat(WebhookDispatcher.eventKey(java.util.Map.of("inboundId", "inb_1", "changeId", "lift-line_2-14155550100-inb_1"),
                "opt_out.changed", "sqs-1")).isEqualTo("opt_out.changed/lift-line_2-14155550100-inb_1");
        assertThat(WebhookDispatcher.eventKey(java.util.Map.of(), "other", "sqs-1")).isEqualTo("other/sqs-1");
    }

    @Test
    void anEndpointThatJustFailedIsPausedForAMinuteUnlessItTookOneSince() {
        long now = 1_796_083_200_000L;
        var fresh = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now);
        assertThat(WebhookDispatcher.paused(fresh, now)).isFalse();
        var failed = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now, null, now - 59_000, "HTTP 500", null, null, null, null, null, null, false, null);
        assertThat(WebhookDispatcher.paused(failed, now)).isTrue();
        assertThat(WebhookDispatcher.paused(failed, now + 1_000)).as("a minute on: tried again").isFalse();
        var recovered = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now, now - 1_000, now - 5_000, "HTTP 500", null, null, null, null, null, null, false, null);
        assertThat(WebhookDispatcher.paused(recovered, now)).isFalse();
        var gone = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now, null, now - 1_000, "HTTP 404", null, null, null, null, null, null, false, now - 1_000);
        assertThat(WebhookDispatcher.paused(gone, now)).as("a 404 answers at once: not paused").isFalse();
        var failedDelivery = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now, null, now - 5_000, "HTTP 500", null, null, null, null, null, null, false, now - 5_000);
        assertThat(WebhookDispatcher.paused(failedDelivery, now)).isTrue();
        // a test failed after the delivery: its reason is not the delivery's (a final 404's pauses nothing), not paused
        var testedAfter = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now, null, now - 1_000, "HTTP 500", null, null, null, null, null, null, false, now - 5_000);
        assertThat(WebhookDispatcher.paused(testedAfter, now)).isFalse();
        var testedOnly = new Webhook("whk_1", "https://h.example.com", List.of("reply.received"), null, "s", now, null, now - 1_000, "HTTP 500", null, null, null, null, null, null, false, now - 120_000);
        assertThat(WebhookDispatcher.paused(testedOnly, now)).as("only a test failed within the minute").isFalse();
    }

    @Test
    void onlyPassingTroubleIsTriedAgainWithinThePass() {
        for (String passing : List.of("HTTP 408", "HTTP 425", "HTTP 500", "HTTP 502", "HTTP 503", "could not connect (ConnectException)",
                "the host did not resolve")) {
            assertThat(WebhookDispatcher.triedAgainInPass(passing)).as(passing).isTrue();
        }
        // taken; the same a second later; maybe still being worked on; asked to slow down: the queue's next pass
        for (String not : List.of("HTTP 404", "HTTP 301", "HTTP 410", "refused: the host resolves to a non-public address",
                "no answer within 10 s", "HTTP 429")) {
            assertThat(WebhookDispatcher.triedAgainInPass(not)).as(not).isFalse();
        }
        assertThat(WebhookDispatcher.triedAgainInPass(null)).isFalse();
    }

    @Test
    void onlyWhatNoRetryWouldChangeIsGivenUpAtOnce() {
        for (String last : List.of("HTTP 410")) {
            assertThat(WebhookDispatcher.isFinal(last)).as(last).isTrue();
            assertThat(WebhookDispatcher.answersTheSame(last)).as(last).isTrue();
        }
        // a wrong secret's 401, a firewall's 403, a route missing during a deploy, a redirect: fixed by the receiver's
        // owner, so tried again later (not within the pass)
        // ... and a name that resolves, for now, to an address we do not call: its answer changes (a DNS move)
        for (String fixable : List.of("HTTP 400", "HTTP 401", "HTTP 403", "HTTP 404", "HTTP 301", "HTTP 308",
                "refused: the host resolves to a non-public address")) {
            assertThat(WebhookDispatcher.isFinal(fixable)).as(fixable).isFalse();
            assertThat(WebhookDispatcher.answersTheSame(fixable)).as(fixable).isTrue();
        }
        for (String passing : List.of("HTTP 408", "HTTP 425", "HTTP 429", "HTTP 500", "HTTP 503", "no answer within 5 s",
                "could not connect (ConnectException)", "the host did not resolve")) {
            assertThat(WebhookDispatcher.isFinal(passing)).as(passing).isFalse();
            assertThat(WebhookDispatcher.answersTheSame(passing)).as(passing).isFalse();
        }
    }

    /**
     * An event's passes wait longer each time, and its queue's receives span the stretch of failures after which a
     * webhook is disabled (before, 10 passes 3 minutes apart: an endpoint down for more than half an hour lost its
     * events), within what the queue keeps.
     */
    @Test
    void anEventsPassesBackOffOverTheDaysBeforeItsWebhookIsDisabled() {
        var webhooks = groupmsg.platform.schema.Queues.WEBHOOKS;
        Duration before = Duration.ZERO;
        Duration spanned = Duration.ZERO;
        for (int receives = 1; receives < webhooks.maxReceiveCount(); receives++) {
            Duration delay = WebhookDispatcher.retryDelay(receives);
            // SQS refuses a wait past 12 hours from the receive: less than that, with the pass's own time
            assertThat(delay).as("after pass " + receives).isGreaterThanOrEqualTo(before).isLessThanOrEqualTo(Duration.ofHours(11));
            before = delay;
            spanned = spanned.plus(delay);
        }
        assertThat(WebhookDispatcher.retryDelay(1)).isEqualTo(Duration.ofMinutes(1));
        assertThat(WebhookDispatcher.retryDelay(0)).as("invoked by hand").isEqualTo(Duration.ofMinutes(1));
        assertThat(WebhookDispatcher.retryDelay(99)).isEqualTo(Duration.ofHours(11));
        assertThat(spanned).as("the last pass comes after the webhook would be disabled")
                .isGreaterThan(WebhookDispatcher.DISABLE_AFTER).isLessThan(WebhookDispatcher.DISABLE_AFTER.plusHours(12));
        assertThat(spanned.plus(Duration.ofHours(11))).as("kept until its last pass failed")
                .isLessThan(Duration.ofDays(webhooks.retentionDays()));
    }

    @Test
    void anEndpointsTriesOfAnEventEndWithinTheirBudget() {
        Duration timeout = new WebhookTargets(false).resolveTimeout().plus(WebhookDispatcher.DELIVERY_TIMEOUT); // as deliveries do
        assertThat(WebhookDispatcher.TRIES_BUDGET).as("the worker's 30 s holds them").isLessThanOrEqualTo(Duration.ofSeconds(20));
        assertThat(WebhookDispatcher.triesAgain(Duration.ofMillis(100), Duration.ofSeconds(1), timeout)).as("a quick 503").isTrue();
        assertThat(WebhookDispatcher.triesAgain(Duration.ofMillis(1_200), Duration.ofSeconds(3), timeout))
                .as("a quick 503's third try").isTrue();
        assertThat(WebhookDispatcher.triesAgain(Duration.ofSeconds(6), Duration.ofSeconds(1), timeout)).as("ends at 20 s").isTrue();
        assertThat(WebhookDispatcher.triesAgain(Duration.ofMillis(6_001), Duration.ofSeconds(1), timeout)).isFalse();
        assertThat(WebhookDispatcher.triesAgain(Duration.ofMillis(4_001), Duration.ofSeconds(3), timeout))
                .as("a 503 after 1.5 s, twice: the queue's next pass tries it").isFalse();
    }

    @Test
    void aNameThatDoesNotResolveNowIsNotRefusedForGood() {
        var failing = new WebhookTargets(false, host -> {
            throw new java.net.UnknownHostException(host);
        });
        var empty = new WebhookTargets(false, host -> new java.net.InetAddress[0]);
        for (var targets : List.of(failing, empty)) {
            assertThat(targets.destination(URI.create("https://hooks.example.com/x")))
                    .isEqualTo(new WebhookTargets.Destination.Unresolved("the host did not resolve"));
        }
    }

    /** A lookup that hangs (a name whose DNS server does not answer) is given up in time, as a name not resolving. */
    @Test
    void aLookupThatTakesTooLongIsGivenUpInTime() throws java.net.UnknownHostException {
        var publicOne = new java.net.InetAddress[] {java.net.InetAddress.getByAddress(new byte[] {93, (byte) 184, (byte) 215, 14})};
        var slow = new WebhookTargets(false, host -> {
            try {
                Thread.sleep(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return publicOne;
        }, Duration.ofMillis(200));
        long start = System.nanoTime();
        assertThat(slow.destination(URI.create("https://hooks.example.com/x")))
                .isEqualTo(new WebhookTargets.Destination.Unresolved("the host did not resolve within 200 ms"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        // a quick one in time is taken
        assertThat(new WebhookTargets(false, host -> publicOne, Duration.ofMillis(200)).destination(URI.create("https://hooks.example.com/x")))
                .isEqualTo(new WebhookTargets.Destination.Address(List.of(publicOne)));
    }
}
