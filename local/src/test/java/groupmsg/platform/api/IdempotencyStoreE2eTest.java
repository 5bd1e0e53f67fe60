package groupmsg.platform.api;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Instant;

import static groupmsg.local.TestClocks.readingFrom;
import static org.assertj.core.api.Assertions.assertThat;

/** Idempotency records on the real DynamoDB Local: a record written with an earlier form of the hash still replays. */
@ExtendWith(LocalRuntimeExtension.class)
class IdempotencyStoreE2eTest {
    @Test
    void aRecordHoldingTheEarlierFormOfTheHashStillReplaysAndADifferentRequestIsStillRefused(LocalRuntime runtime) {
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), Clock.systemUTC());
        String account = "acct_idem_" + System.nanoTime();
        // written before the deploy: the hash of the raw bytes, unmarked
        assertThat(store.claim(account, "POST /v1/groups k1", "rawhash")).isInstanceOf(IdempotencyStore.Claimed.class);
        store.complete(account, "POST /v1/groups k1", 201, "{\"id\":\"grp_1\"}");

        assertThat(store.claim(account, "POST /v1/groups k1", "v2:canonical", "rawhash"))
                .isEqualTo(new IdempotencyStore.Replay(201, "{\"id\":\"grp_1\"}"));
        assertThat(store.claim(account, "POST /v1/groups k1", "v2:canonical", "otherraw"))
                .isInstanceOf(IdempotencyStore.Mismatch.class);
        // a record written with the new form matches on it alone
        assertThat(store.claim(account, "POST /v1/groups k2", "v2:canonical", "rawhash")).isInstanceOf(IdempotencyStore.Claimed.class);
        store.complete(account, "POST /v1/groups k2", 201, "{\"id\":\"grp_2\"}");
        assertThat(store.claim(account, "POST /v1/groups k2", "v2:canonical", "spelt-otherwise"))
                .isEqualTo(new IdempotencyStore.Replay(201, "{\"id\":\"grp_2\"}"));
    }

    /**
     * A claim whose write went through but whose answer was lost (DynamoDB answered 500 after committing, a timeout)
     * is retried by the SDK, and that retry fails on the claim's own write: it is still this request's claim, not
     * another run's in progress (which answered a 409 to every retry for a minute).
     */
    @Test
    void aClaimWhoseAnswerWasLostAndWhoseRetryFailsOnItsOwnWriteIsStillClaimed(LocalRuntime runtime) {
        var tries = new java.util.concurrent.atomic.AtomicInteger();
        var answerLost = new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public software.amazon.awssdk.http.SdkHttpResponse modifyHttpResponse(
                    software.amazon.awssdk.core.interceptor.Context.ModifyHttpResponse context,
                    software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest u
                        && u.key().get("pk").s().endsWith("#IDEM") && tries.getAndIncrement() == 0) {
                    return context.httpResponse().toBuilder().statusCode(500).build();
                }
                return context.httpResponse();
            }
        };
        var store = new IdempotencyStore(runtime.wiringWith(answerLost).dynamo(), runtime.wiring().config().table(Tables.CORE),
                Clock.systemUTC());
        String account = "acct_idem_lost_" + System.nanoTime();
        var claim = store.claim(account, "POST /v1/groups/grp_1/messages k1", "hash");
        assertThat(tries).as("the first answer was lost and the write tried again").hasValue(2);
        assertThat(claim).isInstanceOf(IdempotencyStore.Claimed.class);
        assertThat(((IdempotencyStore.Claimed) claim).rerun()).isFalse();
        // another run of the same request meanwhile is still told it is in progress
        var plain = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), Clock.systemUTC());
        assertThat(plain.claim(account, "POST /v1/groups/grp_1/messages k1", "hash")).isInstanceOf(IdempotencyStore.InProgress.class);
        store.complete(account, "POST /v1/groups/grp_1/messages k1", 202, "{}");
        assertThat(plain.claim(account, "POST /v1/groups/grp_1/messages k1", "hash")).isEqualTo(new IdempotencyStore.Replay(202, "{}"));
    }

    /**
     * A key is kept 24 hours from its first use: after that it is free for any request, its record and its binding
     * to a path alike (a replay or a retry of the same request does not renew it)
     * (DynamoDB's TTL deletes them a while later, up to two days; DynamoDB Local never does).
     */
    @Test
    void aKeyPastItsRetentionIsFreeForAnotherRequest(LocalRuntime runtime) {
        var clock = new java.util.concurrent.atomic.AtomicLong(Instant.parse("2026-12-04T10:00:00Z").toEpochMilli());
        Clock ticking = readingFrom(clock);
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), ticking);
        String account = "acct_idem_expiry_" + System.nanoTime();
        assertThat(store.bind(account, "k1", "POST /v1/groups")).isTrue();
        assertThat(store.claim(account, "POST /v1/groups k1", "hash-a")).isInstanceOf(IdempotencyStore.Claimed.class);
        store.complete(account, "POST /v1/groups k1", 201, "{\"id\":\"grp_a\"}");

        clock.addAndGet(java.time.Duration.ofHours(23).toMillis());
        assertThat(store.claim(account, "POST /v1/groups k1", "hash-b")).isInstanceOf(IdempotencyStore.Mismatch.class);
        assertThat(store.bind(account, "k1", "POST /v1/groups")).as("its own request, again: no renewal").isTrue();
        assertThat(store.bind(account, "k1", "POST /v1/lines")).isFalse();
        assertThat(store.claim(account, "POST /v1/groups k1", "hash-a")).isEqualTo(new IdempotencyStore.Replay(201, "{\"id\":\"grp_a\"}"));

        clock.addAndGet(java.time.Duration.ofHours(2).toMillis()); // 25 hours after
        assertThat(store.bind(account, "k1", "POST /v1/lines")).isTrue();
        var fresh = store.claim(account, "POST /v1/groups k1", "hash-b");
        assertThat(fresh).isInstanceOf(IdempotencyStore.Claimed.class);
        assertThat(((IdempotencyStore.Claimed) fresh).rerun()).isFalse();
    }

    @Test
    void aScopeTooLongForADynamoKeyIsKeptByItsHashAndStillReplaysAndReleases(LocalRuntime runtime) {
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), Clock.systemUTC());
        String account = "acct_idem_long_" + System.nanoTime();
        // 255 four-byte characters and a percent-encoded path: 2,000+ bytes, over DynamoDB's 1,024 for a sort key
        String scope = "POST /v1/groups/{id}/members /v1/groups/" + "%E2%82%AC".repeat(100) + "/members " + "\uD83D\uDE00".repeat(255);
        String other = scope.substring(0, scope.length() - 2) + "x";
        assertThat(store.claim(account, scope, "h")).isInstanceOf(IdempotencyStore.Claimed.class);
        var otherClaim = store.claim(account, other, "h");
        assertThat(otherClaim).as("another long scope is another record").isInstanceOf(IdempotencyStore.Claimed.class);
        store.complete(account, scope, 200, "{}");
        assertThat(store.claim(account, scope, "h")).isEqualTo(new IdempotencyStore.Replay(200, "{}"));
        assertThat(store.claim(account, scope, "different")).isInstanceOf(IdempotencyStore.Mismatch.class);
        store.release(account, other, (IdempotencyStore.Claimed) otherClaim);
        assertThat(store.claim(account, other, "h2")).as("released, so free again").isInstanceOf(IdempotencyStore.Claimed.class);
    }

    /**
     * A claim given up after a run that may have done work keeps its ids, so the request's next claim is no first
     * one (its 4xx is given up too, not let go); one given up after a 4xx whose release failed (nothing done) drops
     * them, so the same request's next claim is first again and its 4xx lets the key go, as the release would have.
     */
    @Test
    void aClaimGivenUpAfterNothingWasDoneMakesTheNextClaimFirstAgain(LocalRuntime runtime) {
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), Clock.systemUTC());
        String account = "acct_idem_first_" + System.nanoTime();
        var first = (IdempotencyStore.Claimed) store.claim(account, "POST /v1/groups /v1/groups k", "h");
        assertThat(first.first()).isTrue();
        store.abandon(account, "POST /v1/groups /v1/groups k", first);
        var takenOver = (IdempotencyStore.Claimed) store.claim(account, "POST /v1/groups /v1/groups k", "h");
        assertThat(takenOver.first()).as("an earlier run may have done the work").isFalse();
        assertThat(takenOver.ulid()).isEqualTo(first.ulid());
        store.abandon(account, "POST /v1/groups /v1/groups k", takenOver, true);
        var again = (IdempotencyStore.Claimed) store.claim(account, "POST /v1/groups /v1/groups k", "h");
        assertThat(again.first()).as("nothing was done").isTrue();
    }

    /** A refused first run lets its key go with its binding; a release that is no longer its claim's lets nothing go. */
    @Test
    void releaseAndUnbindFreesTheKeyForAnyPathOnlyWhileItIsTheClaims(LocalRuntime runtime) {
        var clock = new java.util.concurrent.atomic.AtomicLong(Instant.parse("2026-12-06T10:00:00Z").toEpochMilli());
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), readingFrom(clock));
        String account = "acct_idem_unbind_" + System.nanoTime();
        String typo = "POST /v1/groups/{id}/messages /v1/groups/grp_typo/messages";
        String right = "POST /v1/groups/{id}/messages /v1/groups/grp_right/messages";
        assertThat(store.binding(account, "k", typo)).isEqualTo(IdempotencyStore.Binding.NOW);
        var refused = (IdempotencyStore.Claimed) store.claim(account, typo + " k", "body");
        store.releaseAndUnbind(account, typo + " k", refused, "k", typo);
        assertThat(store.binding(account, "k", right)).as("free for the corrected path").isEqualTo(IdempotencyStore.Binding.NOW);

        // a stale release (its answer lost, retried after another claim took the record) deletes neither
        var first = (IdempotencyStore.Claimed) store.claim(account, right + " k", "body");
        store.release(account, right + " k", first);
        clock.addAndGet(1_000);
        var second = (IdempotencyStore.Claimed) store.claim(account, right + " k", "body");
        store.releaseAndUnbind(account, right + " k", first, "k", right);
        assertThat(store.binding(account, "k", typo)).as("still bound").isEqualTo(IdempotencyStore.Binding.ELSEWHERE);
        assertThat(store.claim(account, right + " k", "body")).as("the other claim kept").isInstanceOf(IdempotencyStore.InProgress.class);
        store.releaseAndUnbind(account, right + " k", second, "k", right);
        assertThat(store.binding(account, "k", typo)).isEqualTo(IdempotencyStore.Binding.NOW);
    }

    /**
     * A key bound by a request that was answered 4xx, and used again on its path a day later (that run's record lives
     * 24 hours from then), stays bound there as long as that record: before, its binding ran out 24 hours from the
     * first use, and the key could run on another path while the record still answered retries on the first.
     */
    @Test
    void aBindingLastsAsLongAsTheRecordOfALaterClaimUnderIt(LocalRuntime runtime) {
        var clock = new java.util.concurrent.atomic.AtomicLong(Instant.parse("2026-12-04T10:00:00Z").toEpochMilli());
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), readingFrom(clock));
        String account = "acct_idem_renew_" + System.nanoTime();
        String target = "POST /v1/groups/{id}/messages /v1/groups/grp_a/messages";
        String scope = target + " k1";
        assertThat(store.binding(account, "k1", target)).isEqualTo(IdempotencyStore.Binding.NOW);
        store.release(account, scope, (IdempotencyStore.Claimed) store.claim(account, scope, "bad-body")); // a 4xx

        clock.addAndGet(java.time.Duration.ofHours(23).toMillis());
        assertThat(store.binding(account, "k1", target)).isEqualTo(IdempotencyStore.Binding.BEFORE);
        var claimed = (IdempotencyStore.Claimed) store.claim(account, scope, "good-body");
        assertThat(store.renewBinding(account, "k1", target, claimed.claimedAt())).isTrue();
        store.complete(account, scope, 202, "{\"id\":\"msg_a\"}");

        clock.addAndGet(java.time.Duration.ofHours(2).toMillis()); // 25 hours after the first use
        assertThat(store.bind(account, "k1", "POST /v1/groups/{id}/messages /v1/groups/grp_b/messages"))
                .as("still bound where it ran").isFalse();
        assertThat(store.claim(account, scope, "good-body")).isEqualTo(new IdempotencyStore.Replay(202, "{\"id\":\"msg_a\"}"));
    }

    /**
     * A release or a give-up of a claim that is no longer the record's (its answer lost and the request retried by the
     * SDK after another request claimed the key) leaves the other request's claim alone: deleted, or set to be taken
     * over at once, that request could run twice.
     */
    @Test
    void aLateReleaseOrGiveUpOfAnEarlierClaimLeavesTheNewClaimAlone(LocalRuntime runtime) {
        var clock = new java.util.concurrent.atomic.AtomicLong(Instant.parse("2026-12-04T10:00:00Z").toEpochMilli());
        Clock ticking = readingFrom(clock);
        var store = new IdempotencyStore(runtime.wiring().dynamo(), runtime.wiring().config().table(Tables.CORE), ticking);
        String account = "acct_idem_late_" + System.nanoTime();
        String scope = "POST /v1/groups /v1/groups k1";
        var first = (IdempotencyStore.Claimed) store.claim(account, scope, "bad-body");
        store.release(account, scope, first);
        clock.addAndGet(5);
        assertThat(store.claim(account, scope, "good-body")).isInstanceOf(IdempotencyStore.Claimed.class);

        store.release(account, scope, first);
        store.abandon(account, scope, first);
        assertThat(store.claim(account, scope, "good-body")).as("still the new claim, under way")
                .isInstanceOf(IdempotencyStore.InProgress.class);
    }
}
