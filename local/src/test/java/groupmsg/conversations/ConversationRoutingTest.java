package groupmsg.conversations;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Inbound routing against DynamoDB Local: a number in more conversations on a line than one query page returns
 * (here pages of 7 routing rows, forced by an SDK interceptor; in AWS a page is 1 MB) still has its reply routed to
 * the most recently active of them, read strongly consistently (API.md: "the most recently active conversation on
 * that line that includes the sender").
 */
@ExtendWith(LocalRuntimeExtension.class)
class ConversationRoutingTest {
    private static final int PAGE = 7;
    private static final String DISPATCHER = "+14155550900";

    /** Every routing query (Query on a CNVP# partition), made to read small pages. */
    private final List<QueryRequest> routingQueries = new CopyOnWriteArrayList<>();
    /** The type of every write request made through {@link #wiring}. */
    private final List<String> writes = new CopyOnWriteArrayList<>();

    private String table;
    private Wiring wiring;
    private ConversationStore store;
    private ConversationRouter router;

    @BeforeEach
    void setUp(LocalRuntime runtime) {
        ExecutionInterceptor smallRoutingPages = new ExecutionInterceptor() {
            @Override
            public SdkRequest modifyRequest(Context.ModifyRequest context, ExecutionAttributes attributes) {
                if (context.request() instanceof QueryRequest query && query.expressionAttributeValues().containsKey(":pk")
                        && query.expressionAttributeValues().get(":pk").s().startsWith("CNVP#")) {
                    routingQueries.add(query);
                    return query.toBuilder().limit(PAGE).build();
                }
                return context.request();
            }

            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                String type = context.request().getClass().getSimpleName();
                if (type.startsWith("Update") || type.startsWith("Put") || type.startsWith("TransactWrite") || type.startsWith("Delete")) {
                    writes.add(type);
                }
            }
        };
        wiring = runtime.wiringWith(smallRoutingPages);
        table = wiring.config().table(Tables.CORE);
        store = new ConversationStore(new DynamoOps(wiring.dynamo()), table);
        router = new ConversationRouter(wiring);
    }

    @Test
    void aNumberInMoreConversationsThanAPageHoldsIsRoutedToTheMostRecentlyActive() {
        String accountId = "acct_route_" + UUID.randomUUID();
        String lineId = "line_route_" + UUID.randomUUID();
        long base = 1_800_000_000_000L;
        List<Conversation> conversations = new ArrayList<>();
        var ids = new Ids();
        for (int i = 1; i <= 101; i++) {
            // the dispatcher and one crew member each, created one after the other: the last is the newest
            conversations.add(create(ids, accountId, lineId, List.of(DISPATCHER, String.format("+1617555%04d", i)), base + i));
        }
        Conversation newest = conversations.getLast();

        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(newest.id());
        assertThat(store.mostRecentlyActive(accountId, lineId, DISPATCHER)).map(Conversation::id).contains(newest.id());
        assertThat(routingQueries).as("every page read").hasSizeGreaterThanOrEqualTo(101 / PAGE + 1)
                .allSatisfy(q -> assertThat(q.consistentRead()).as("strongly consistent").isTrue());
        // a crew member is in one conversation only
        assertThat(routedId(accountId, lineId, "+16175550042")).isEqualTo(conversations.get(41).id());
        assertThat(routedId(accountId, lineId, "+16175559999")).as("in none: a direct reply").isNull();
        assertThat(routedId(accountId, "line_other_" + UUID.randomUUID(), DISPATCHER)).as("another line").isNull();
        assertThat(routedId("acct_other_" + UUID.randomUUID(), lineId, DISPATCHER)).as("another account").isNull();

        // An old conversation becomes the most recently active (a business message or a reply touches it)...
        Conversation old = conversations.get(9);
        store.touch(accountId, old.id(), base + 1_000, null);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(old.id());
        // ...activity elsewhere that is older does not outrank it...
        store.touch(accountId, newest.id(), base + 500, null);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(old.id());
        // ...and a touch that comes late (an older time) moves nothing back, neither the conversation nor its rows.
        store.touch(accountId, old.id(), base + 200, null);
        assertThat(store.get(accountId, old.id()).orElseThrow().lastActivityAt()).isEqualTo(base + 1_000);
        var row = wiring.dynamo().getItem(b -> b.tableName(table).consistentRead(true)
                .key(Attr.key(ConversationStore.participantPk(lineId, DISPATCHER), old.id()))).item();
        assertThat(Attr.num(row, "lastActivityAt", 0)).isEqualTo(base + 1_000);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(old.id());
        // Equal times: the newer conversation (the higher id).
        store.touch(accountId, conversations.get(4).id(), base + 1_000, null);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(old.id());
        store.touch(accountId, conversations.get(19).id(), base + 1_000, null);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(conversations.get(19).id());
    }

    @Test
    void routingRowsWrittenBeforeTheyCarriedTheTimeAndRowsLeftBehindByACrashStillRouteRight() {
        String accountId = "acct_route_" + UUID.randomUUID();
        String lineId = "line_route_" + UUID.randomUUID();
        long base = 1_800_000_000_000L;
        var ids = new Ids();
        List<Conversation> conversations = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            conversations.add(create(ids, accountId, lineId, List.of(DISPATCHER, String.format("+1617556%04d", i)), base + i));
        }

        // A conversation from before the upgrade: its routing rows have no time, its own item is the most recent.
        Conversation legacy = conversations.get(2);
        for (var p : legacy.participants()) {
            wiring.dynamo().updateItem(b -> b.tableName(table)
                    .key(Attr.key(ConversationStore.participantPk(lineId, p.phone()), legacy.id())).updateExpression("REMOVE lastActivityAt"));
        }
        setConversationActivity(accountId, legacy.id(), base + 2_000);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(legacy.id());

        // A touch that died after moving the conversation but before its routing rows: its retry (the same time) heals
        // the rows, though the conversation itself needs no change.
        Conversation crashed = conversations.get(6);
        setConversationActivity(accountId, crashed.id(), base + 3_000);
        assertThat(routedId(accountId, lineId, DISPATCHER)).as("the rows still say older").isEqualTo(legacy.id());
        store.touch(accountId, crashed.id(), base + 3_000, null);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(crashed.id());
        // the legacy conversation's rows get their time with its next touch
        store.touch(accountId, legacy.id(), base + 4_000, null);
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(legacy.id());
        var row = wiring.dynamo().getItem(b -> b.tableName(table).consistentRead(true)
                .key(Attr.key(ConversationStore.participantPk(lineId, DISPATCHER), legacy.id()))).item();
        assertThat(Attr.num(row, "lastActivityAt", 0)).isEqualTo(base + 4_000);

        // touching a conversation that does not exist writes nothing
        String ghost = ids.next(Conversation.ID_PREFIX);
        store.touch(accountId, ghost, base + 5_000, null);
        assertThat(store.get(accountId, ghost)).isEmpty();
        assertThat(routedId(accountId, lineId, DISPATCHER)).isEqualTo(legacy.id());
    }

    /**
     * A number in blocked conversations only: its text goes into the latest of them that existed when it came (one
     * marked blocked on its rows, read only then), not into none because the latest was started after it.
     */
    @Test
    void aTextInBlockedConversationsOnlyGoesToTheLatestThatExistedWhenItCame() {
        String accountId = "acct_route_" + UUID.randomUUID();
        String lineId = "line_route_" + UUID.randomUUID();
        long base = 1_800_000_000_000L;
        var ids = new Ids();
        Conversation older = create(ids, accountId, lineId, List.of(DISPATCHER, "+16175557001"), base + 1);
        Conversation newer = create(ids, accountId, lineId, List.of(DISPATCHER, "+16175557002"), base + 100);
        assertThat(store.markBlocked(accountId, older.id(), base + 200, null)).isTrue();
        assertThat(store.markBlocked(accountId, newer.id(), base + 201, null)).isTrue();
        assertThat(store.mostRecentlyActive(accountId, lineId, DISPATCHER, base + 300, c -> false)).map(Conversation::id)
                .contains(newer.id());
        assertThat(store.mostRecentlyActive(accountId, lineId, DISPATCHER, base + 50, c -> false)).as("came before the newer")
                .map(Conversation::id).contains(older.id());
        assertThat(store.mostRecentlyActive(accountId, lineId, DISPATCHER, base, c -> false)).as("came before both").isEmpty();
    }

    /**
     * Blocking a number's conversations after its opt-out: each one is marked with every participant's routing row in
     * one transaction (before, an UpdateItem a row, one after another: a number in hundreds of conversations ran its
     * STOP's job past its time), closed ones are passed over, and a retry, or a second opt-out, finds none left to
     * block and writes nothing.
     */
    @Test
    void aNumbersConversationsAreBlockedOneTransactionEachAndABlockedOneIsNotWrittenAgain() {
        String accountId = "acct_route_" + UUID.randomUUID();
        String lineId = "line_route_" + UUID.randomUUID();
        long base = 1_800_000_000_000L;
        var ids = new Ids();
        List<Conversation> open = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            open.add(create(ids, accountId, lineId, List.of(DISPATCHER, String.format("+1617556%04d", i), String.format("+1617557%04d", i)), base + i));
        }
        Conversation closed = create(ids, accountId, lineId, List.of(DISPATCHER, "+16175569999"), base + 10);
        assertThat(store.close(closed, base + 20)).isTrue();
        assertThat(store.openConversationIdsWith(accountId, lineId, DISPATCHER))
                .containsExactlyInAnyOrderElementsOf(open.stream().map(Conversation::id).toList());

        writes.clear();
        for (Conversation c : open) assertThat(store.markBlocked(accountId, c.id(), base + 100, DISPATCHER)).isTrue();
        assertThat(writes).as("an UpdateItem and a transaction each").containsExactly(
                "UpdateItemRequest", "TransactWriteItemsRequest", "UpdateItemRequest", "TransactWriteItemsRequest",
                "UpdateItemRequest", "TransactWriteItemsRequest");
        for (Conversation c : open) {
            assertThat(store.get(accountId, c.id()).orElseThrow().blockedAt()).isEqualTo(base + 100);
            for (var p : c.participants()) {
                var row = wiring.dynamo().getItem(b -> b.tableName(table).consistentRead(true)
                        .key(Attr.key(ConversationStore.participantPk(lineId, p.phone()), c.id()))).item();
                assertThat(Attr.num(row, "blockedAt", 0)).as(p.phone()).isEqualTo(base + 100);
            }
        }
        assertThat(store.openConversationIdsWith(accountId, lineId, DISPATCHER)).as("nothing left for a retry").isEmpty();
        assertThat(store.openConversationIdsWith(accountId, lineId, open.getFirst().participants().get(1).phone())).isEmpty();
        assertThat(store.get(accountId, closed.id()).orElseThrow().blockedAt()).isNull();
        // blocked already: the first time stays
        assertThat(store.markBlocked(accountId, open.getFirst().id(), base + 500, DISPATCHER)).isFalse();
        assertThat(store.get(accountId, open.getFirst().id()).orElseThrow().blockedAt()).isEqualTo(base + 100);
    }

    private String routedId(String accountId, String lineId, String from) {
        // received after every conversation the tests make (dated from 2027): routing goes into none created after
        var routed = router.route(accountId, lineId, from, 1_900_000_000_000L);
        return routed == null ? null : routed.conversationId();
    }

    private Conversation create(Ids ids, String accountId, String lineId, List<String> phones, long at) {
        var c = new Conversation(ids.next(Conversation.ID_PREFIX), accountId, null, lineId, "+12125550999",
                phones.stream().map(p -> new Conversation.Participant(p, null)).toList(), at, at, at, null, null, null);
        var stored = new DynamoOps(wiring.dynamo()).transact(store.createItems(c, new ThreadMessage(ids.next(ThreadMessage.ID_PREFIX),
                c.id(), ThreadMessage.OUTBOUND, null, "key_test", "hello", List.of(), at)));
        assertThat(stored).isInstanceOf(DynamoOps.Committed.class);
        return c;
    }

    /** Moves only the conversation's own item, as a writer that died before its routing rows (or an old version) did. */
    private void setConversationActivity(String accountId, String id, long at) {
        wiring.dynamo().updateItem(b -> b.tableName(table).key(ConversationStore.key(accountId, id))
                .updateExpression("SET lastActivityAt = :at").expressionAttributeValues(Map.of(":at", AttributeValue.fromN(Long.toString(at)))));
    }
}
