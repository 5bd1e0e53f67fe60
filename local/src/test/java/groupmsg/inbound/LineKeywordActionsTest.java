package groupmsg.inbound;

import groupmsg.groups.GroupService;
import groupmsg.lines.Line;
import groupmsg.lines.LineKeyword;
import groupmsg.lines.LineKeywordService;
import groupmsg.lines.LineService;
import groupmsg.lines.LineType;
import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The steps of a line keyword's text when its job runs more than once, or the world changes between its steps: what
 * the text was to do is recorded first and followed; the membership change is made once; a group deleted between the
 * record and the change leaves an ordinary reply. Driven directly (its worker's queue is a recording one here).
 */
@ExtendWith(LocalRuntimeExtension.class)
class LineKeywordActionsTest {
    private static final AtomicInteger NUMBERS = new AtomicInteger();

    /** Jobs recorded, none sent: the runtime's workers never see these texts. */
    static final class RecordingQueue implements QueueSender {
        final List<String> sent = new CopyOnWriteArrayList<>();

        @Override
        public void send(QueueDef queue, List<QueueMessage> messages) {
            messages.forEach(m -> sent.add(queue.name() + " " + m.deduplicationId()));
        }
    }

    private record Setup(String accountId, Line line, String group, String otherGroup, LineKeywordService keywords,
                         GroupService groups, InboundStore store, RecordingQueue queue) {}

    private static Setup setUp(LocalRuntime runtime, String name) {
        var wiring = runtime.wiring();
        String accountId = "acct_lkw_" + name;
        var line = new LineService(wiring).create(accountId, new LineService.NewLine(
                String.format("+1312555%04d", 1000 + NUMBERS.incrementAndGet()), null, LineType.LONG_CODE, false, 10.0,
                null, null, null, null), wiring.ids().next(""));
        var groups = new GroupService(wiring);
        String group = groups.create(accountId, "Joiners " + name, null).id();
        String other = groups.create(accountId, "Others " + name, null).id();
        var keywords = new LineKeywordService(wiring);
        keywords.create(accountId, line.id(), "join", new LineKeywordService.KeywordInput(LineKeyword.Action.JOIN, group, null),
                wiring.ids().next(""));
        var store = new InboundStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        return new Setup(accountId, line, group, other, keywords, groups, store, new RecordingQueue());
    }

    /** A text "Join!" from {@code from}, stored as the webhook stores a reply (its job not queued). */
    private static InboundMessage stored(LocalRuntime runtime, Setup s, String from) {
        return stored(runtime, s, from, "Join!");
    }

    /** A text of {@code body} from {@code from}, stored as the webhook stores a reply (its job not queued). */
    private static InboundMessage stored(LocalRuntime runtime, Setup s, String from, String body) {
        var wiring = runtime.wiring();
        var m = new InboundMessage(wiring.ids().next(InboundMessage.ID_PREFIX), s.accountId(), s.line().id(), s.line().phone(),
                from, body, List.of(), null, false, false, null, "SM" + wiring.ids().next(""), wiring.clock().millis(),
                null, true, null, null, null, null);
        String table = wiring.config().table(Tables.CORE);
        var noOutbox = TransactWriteItem.builder().put(p -> p.tableName(table)
                .item(Attr.key("TEST#" + m.id(), "-"))).build();
        assertThat(s.store().store(m, noOutbox, null)).isTrue();
        return m;
    }

    private static boolean member(Setup s, String groupId, String phone) {
        return s.groups().listMembers(s.accountId(), groupId, Optional.of(phone), null, 10, null).members().stream()
                .anyMatch(m -> m.phone().equals(phone));
    }

    @Test
    void aRetryFollowsWhatWasRecordedAndDoesNotMakeTheChangeAgain(LocalRuntime runtime) {
        var s = setUp(runtime, "retry");
        var actions = new LineKeywordActions(runtime.wiring(), s.queue());
        String phone = "+14155551301";
        var first = actions.apply(stored(runtime, s, phone));
        assertThat(first.keywordAction()).isNotNull();
        assertThat(member(s, s.group(), phone)).isTrue();
        assertThat(s.queue().sent).containsExactly("relays lkr_" + first.id());

        // the business takes the number out, and points the keyword at another group; the text's job runs again
        s.groups().removeMember(s.accountId(), s.group(), phone);
        s.keywords().update(s.accountId(), s.line().id(), "JOIN",
                new LineKeywordService.KeywordInput(null, s.otherGroup(), null));
        var again = actions.apply(s.store().get(s.accountId(), first.id()).orElseThrow());
        assertThat(again.keywordAction().groupId()).isEqualTo(s.group());
        assertThat(member(s, s.group(), phone)).as("removed since: stays removed").isFalse();
        assertThat(member(s, s.otherGroup(), phone)).as("the keyword's group now is not the text's").isFalse();
    }

    /**
     * A run that dies right after the membership change committed has marked it done all the same (the mark is in the
     * change's transaction), so its retry does not make it again. Before, the mark was a write of its own after the
     * change: a run that died between them had its retry add back a member the business had removed since.
     */
    @Test
    void aRunThatDiesRightAfterTheChangeLeavesItMarkedDone(LocalRuntime runtime) {
        var s = setUp(runtime, "died");
        String phone = "+14155551304";
        var m = stored(runtime, s, phone);
        var committed = new java.util.concurrent.atomic.AtomicBoolean();
        var dying = runtime.wiringWith(new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeExecution(software.amazon.awssdk.core.interceptor.Context.BeforeExecution context,
                                        software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (committed.get()) throw new IllegalStateException("the run died (test)");
            }

            @Override
            public void afterExecution(software.amazon.awssdk.core.interceptor.Context.AfterExecution context,
                                       software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.request() instanceof software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest) {
                    committed.set(true);
                }
            }
        });
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new LineKeywordActions(dying, s.queue()).apply(m))
                .hasStackTraceContaining("the run died");
        assertThat(member(s, s.group(), phone)).as("the change committed").isTrue();
        assertThat(s.store().get(s.accountId(), m.id()).orElseThrow().keywordAction().appliedAt()).as("and marked with it")
                .isNotNull();

        s.groups().removeMember(s.accountId(), s.group(), phone);
        var again = new LineKeywordActions(runtime.wiring(), s.queue()).apply(s.store().get(s.accountId(), m.id()).orElseThrow());
        assertThat(member(s, s.group(), phone)).as("removed since: stays removed").isFalse();
        assertThat(s.queue().sent).as("the answer the dead run did not send").containsExactly("relays lkr_" + again.id());
    }

    /**
     * A LEAVE takes the number out and is marked done with it; from a number that is no member it changes nothing but
     * the mark; a retry after the business added the number back leaves it in.
     */
    @Test
    void aLeaveIsMadeOnceAndMarkedWithTheRemoval(LocalRuntime runtime) {
        var s = setUp(runtime, "leave");
        s.keywords().create(s.accountId(), s.line().id(), "leave",
                new LineKeywordService.KeywordInput(LineKeyword.Action.LEAVE, s.group(), null), runtime.wiring().ids().next(""));
        var actions = new LineKeywordActions(runtime.wiring(), s.queue());
        String phone = "+14155551305";
        s.groups().addMembers(s.accountId(), s.group(), List.of(new GroupService.MemberInput(phone, null, null)));
        var left = actions.apply(stored(runtime, s, phone, "Leave"));
        assertThat(member(s, s.group(), phone)).isFalse();
        assertThat(s.store().get(s.accountId(), left.id()).orElseThrow().keywordAction().appliedAt()).isNotNull();

        s.groups().addMembers(s.accountId(), s.group(), List.of(new GroupService.MemberInput(phone, null, null)));
        actions.apply(s.store().get(s.accountId(), left.id()).orElseThrow());
        assertThat(member(s, s.group(), phone)).as("added back since: stays in").isTrue();

        var notMember = actions.apply(stored(runtime, s, "+14155551306", "leave"));
        assertThat(s.store().get(s.accountId(), notMember.id()).orElseThrow().keywordAction().appliedAt()).isNotNull();
        assertThat(s.groups().get(s.accountId(), s.group()).memberCount()).as("one member, as before").isEqualTo(1);
        assertThat(s.queue().sent).containsExactly("relays lkr_" + left.id(), "relays lkr_" + left.id(),
                "relays lkr_" + notMember.id());
    }

    /**
     * A member stored under a number today's metadata refuses (an earlier version took it) may still leave; such a
     * number joins no group.
     */
    @Test
    void aMemberWhoseNumberTheMetadataNoLongerTakesMayStillLeave(LocalRuntime runtime) {
        var s = setUp(runtime, "renumbered");
        s.keywords().create(s.accountId(), s.line().id(), "leave",
                new LineKeywordService.KeywordInput(LineKeyword.Action.LEAVE, s.group(), null), runtime.wiring().ids().next(""));
        var actions = new LineKeywordActions(runtime.wiring(), s.queue());
        String phone = "+15555550131";
        groupmsg.groups.StoredMembers.storeAsBefore(runtime.wiring(), s.accountId(), s.group(), List.of(phone));
        var left = actions.apply(stored(runtime, s, phone, "Leave"));
        assertThat(left.keywordAction()).isNotNull();
        assertThat(s.groups().get(s.accountId(), s.group()).memberCount()).isZero();

        var joined = actions.apply(stored(runtime, s, "+15555550132", "Join!"));
        assertThat(joined.keywordAction()).as("no member to make").isNull();
        assertThat(s.groups().get(s.accountId(), s.group()).memberCount()).isZero();
    }

    /**
     * A run with the text as read before another run marked it (two runs of the job at once): the change's transaction
     * finds it marked and writes nothing, for a join of a new member, a leave of a member and a leave of a number that
     * is none (the mark beside the group's check alone).
     */
    @Test
    void aStaleRunFindsTheChangeMarkedAndWritesNothing(LocalRuntime runtime) {
        var s = setUp(runtime, "stale");
        s.keywords().create(s.accountId(), s.line().id(), "leave",
                new LineKeywordService.KeywordInput(LineKeyword.Action.LEAVE, s.group(), null), runtime.wiring().ids().next(""));
        var actions = new LineKeywordActions(runtime.wiring(), s.queue());

        String joiner = "+14155551307";
        var join = s.store().recordKeywordAction(stored(runtime, s, joiner),
                new InboundMessage.KeywordAction("JOIN", "join", s.group(), null));
        actions.apply(join);
        s.groups().removeMember(s.accountId(), s.group(), joiner);
        actions.apply(join);
        assertThat(member(s, s.group(), joiner)).as("removed since: stays removed").isFalse();

        String leaver = "+14155551308";
        s.groups().addMembers(s.accountId(), s.group(), List.of(new GroupService.MemberInput(leaver, null, null)));
        var leave = s.store().recordKeywordAction(stored(runtime, s, leaver, "leave"),
                new InboundMessage.KeywordAction("LEAVE", "leave", s.group(), null));
        actions.apply(leave);
        s.groups().addMembers(s.accountId(), s.group(), List.of(new GroupService.MemberInput(leaver, null, null)));
        actions.apply(leave);
        assertThat(member(s, s.group(), leaver)).as("added back since: stays in").isTrue();

        var none = s.store().recordKeywordAction(stored(runtime, s, "+14155551309", "leave"),
                new InboundMessage.KeywordAction("LEAVE", "leave", s.group(), null));
        actions.apply(none);
        actions.apply(none);
        assertThat(s.store().get(s.accountId(), none.id()).orElseThrow().keywordAction().appliedAt()).isNotNull();
        assertThat(s.groups().get(s.accountId(), s.group()).memberCount()).isEqualTo(1);
    }

    /**
     * A run whose record another run took off (that one found the group gone) writes nothing and leaves an ordinary
     * reply: the mark's condition failed for the record's absence, not for a change made.
     */
    @Test
    void aRunWhoseRecordAnotherRunTookOffLeavesAnOrdinaryReply(LocalRuntime runtime) {
        var s = setUp(runtime, "cleared");
        String phone = "+14155551310";
        var recorded = s.store().recordKeywordAction(stored(runtime, s, phone),
                new InboundMessage.KeywordAction("JOIN", "join", s.group(), null));
        s.store().clearKeywordAction(s.accountId(), recorded.id());
        var done = new LineKeywordActions(runtime.wiring(), s.queue()).apply(recorded);
        assertThat(done.keywordAction()).as("published as an ordinary reply").isNull();
        assertThat(member(s, s.group(), phone)).isFalse();
        assertThat(s.queue().sent).as("nothing to answer").isEmpty();
    }

    @Test
    void aRecordedActionIsFollowedWhateverTheKeywordSaysSince(LocalRuntime runtime) {
        var s = setUp(runtime, "recorded");
        var actions = new LineKeywordActions(runtime.wiring(), s.queue());
        String phone = "+14155551302";
        var m = stored(runtime, s, phone);
        // a first run recorded the action and died before the change; the keyword is changed, then deleted
        var recorded = s.store().recordKeywordAction(m, new InboundMessage.KeywordAction("JOIN", "join", s.group(), null));
        s.keywords().update(s.accountId(), s.line().id(), "join",
                new LineKeywordService.KeywordInput(LineKeyword.Action.LEAVE, s.otherGroup(), null));
        s.keywords().delete(s.accountId(), s.line().id(), "join");
        var done = actions.apply(recorded);
        assertThat(member(s, s.group(), phone)).isTrue();
        assertThat(member(s, s.otherGroup(), phone)).isFalse();
        assertThat(s.store().get(s.accountId(), m.id()).orElseThrow().keywordAction().appliedAt()).isNotNull();
        assertThat(done.keywordAction().action()).isEqualTo("join");
    }

    @Test
    void aGroupDeletedBetweenTheRecordAndTheChangeLeavesAnOrdinaryReply(LocalRuntime runtime) {
        var s = setUp(runtime, "gone");
        var actions = new LineKeywordActions(runtime.wiring(), s.queue());
        var m = stored(runtime, s, "+14155551303");
        var recorded = s.store().recordKeywordAction(m, new InboundMessage.KeywordAction("JOIN", "join", s.group(), null));
        s.groups().delete(s.accountId(), s.group());
        var done = actions.apply(recorded);
        assertThat(done.keywordAction()).isNull();
        assertThat(s.store().get(s.accountId(), m.id()).orElseThrow().keywordAction()).as("shown and published as none").isNull();
        assertThat(s.queue().sent).as("nothing to answer").isEmpty();
    }
}
