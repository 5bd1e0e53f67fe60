package groupmsg.conversations;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Conversations in the core table:
 * <ul>
 *   <li>{@code ACCT#a / CNV#<id>}: name, line, participants (phone + name), createdAt, updatedAt, lastActivityAt,
 *       blockedAt (set once, by {@link #markBlocked}), closedAt (set once, by {@link #close});</li>
 *   <li>{@code CNVP#<lineId>#<phone> / <conversationId>} per participant: which conversations on a line a number is
 *       in, with the conversation's lastActivityAt (kept in step by {@link #touch}), so inbound routing picks the
 *       most recently active of them from these rows alone, however many there are, passing over closed ones
 *       (closedAt, set on the rows with the conversation's);</li>
 *   <li>{@code ACCT#a#CNV#<id> / <messageId>}: the thread, oldest first (ids are ULIDs, or derived from the inbound
 *       message so a retried relay stores nothing twice).</li>
 * </ul>
 */
final class ConversationStore {
    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    ConversationStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static Map<String, AttributeValue> key(String accountId, String id) {
        return Attr.key(Attr.accountPk(accountId), "CNV#" + id);
    }

    static String threadPk(String accountId, String conversationId) {
        return Attr.accountPk(accountId) + "#CNV#" + conversationId;
    }

    /** The activity index (gsi1) of an account's conversations: most recently active last. */
    static String activityPk(String accountId) {
        return Attr.accountPk(accountId) + "#CNVACT";
    }

    /** A conversation's place in the activity index: its lastActivityAt (13 digits) and id. */
    static String activitySk(long lastActivityAt, String conversationId) {
        return String.format("%013d#%s", lastActivityAt, conversationId);
    }

    /** A conversation's key in the activity index, as a query's LastEvaluatedKey holds it (a cursor after it). */
    static Map<String, AttributeValue> activityKey(Conversation c) {
        var key = new HashMap<String, AttributeValue>(key(c.accountId(), c.id()));
        key.put("gsi1pk", s(activityPk(c.accountId())));
        key.put("gsi1sk", s(activitySk(c.lastActivityAt(), c.id())));
        return key;
    }

    static String participantPk(String lineId, String phone) {
        return "CNVP#" + lineId + "#" + phone;
    }

    /** What a participant is told once when their text reached a blocked conversation: on its routing row, the text. */
    enum Notice {
        /** Blocked for good ({@code blockedAt}): "has ended". */
        ENDED("endedNoticeFor"),
        /** Blocked by the policy while someone in it is opted out, which their START lifts: "is on hold". */
        ON_HOLD("onHoldNoticeFor");

        final String attribute;

        Notice(String attribute) {
            this.attribute = attribute;
        }
    }

    /**
     * Claims the one notice of its kind a participant gets (on their routing row: the text it answers): true for the
     * first of their texts to a blocked conversation, and for that same text again (a retried job, whose notice's id
     * makes the send once); false for any later text. A conversation on hold and then blocked for good tells each once.
     */
    boolean claimNotice(Conversation c, String phone, String inboundId, Notice notice) {
        // "on hold" never after "has ended" (a retry of the ended one's text, its opt-out no longer fresh)
        String notEnded = notice == Notice.ON_HOLD ? " AND attribute_not_exists(" + Notice.ENDED.attribute + ")" : "";
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(participantPk(c.lineId(), phone), c.id()))
                    .updateExpression("SET #notice = :id")
                    .conditionExpression("attribute_exists(pk) AND (attribute_not_exists(#notice) OR #notice = :id)" + notEnded)
                    .expressionAttributeNames(Map.of("#notice", notice.attribute))
                    .expressionAttributeValues(Map.of(":id", s(inboundId))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * The writes that create a conversation with its first message (the conversation, conditional on its absence; its
     * participants' index rows; the thread message), for a transaction that also stores what sends the message.
     */
    List<TransactWriteItem> createItems(Conversation c, ThreadMessage first) {
        List<TransactWriteItem> items = new ArrayList<>();
        var item = new HashMap<String, AttributeValue>(key(c.accountId(), c.id()));
        item.put("conversationId", s(c.id()));
        item.put("accountId", s(c.accountId()));
        if (c.name() != null) item.put("name", s(c.name()));
        item.put("lineId", s(c.lineId()));
        item.put("linePhone", s(c.linePhone()));
        item.put("participants", AttributeValue.fromL(c.participants().stream().map(p -> {
            var m = new HashMap<String, AttributeValue>();
            m.put("phone", s(p.phone()));
            if (p.name() != null) m.put("name", s(p.name()));
            return AttributeValue.fromM(m);
        }).toList()));
        item.put("createdAt", n(c.createdAt()));
        item.put("updatedAt", n(c.updatedAt()));
        if (c.openedAt() != c.createdAt()) item.put("openedAt", n(c.openedAt()));
        item.put("lastActivityAt", n(c.lastActivityAt()));
        item.put("gsi1pk", s(activityPk(c.accountId())));
        item.put("gsi1sk", s(activitySk(c.lastActivityAt(), c.id())));
        item.put("lastMessage", lastMessage(Conversation.LastMessage.of(first)));
        items.add(TransactWriteItem.builder().put(p -> p.tableName(table).item(item).conditionExpression("attribute_not_exists(pk)")).build());
        for (var participant : c.participants()) {
            var index = new HashMap<String, AttributeValue>(Attr.key(participantPk(c.lineId(), participant.phone()), c.id()));
            index.put("accountId", s(c.accountId()));
            index.put("lastActivityAt", n(c.lastActivityAt()));
            items.add(TransactWriteItem.builder().put(p -> p.tableName(table).item(index)).build());
        }
        items.add(TransactWriteItem.builder().put(p -> p.tableName(table).item(threadItem(c.accountId(), first))).build());
        return items;
    }

    /** One message of a conversation's thread. */
    Optional<ThreadMessage> message(String accountId, String conversationId, String messageId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(Attr.key(threadPk(accountId, conversationId), messageId))
                .consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toMessage(conversationId, item));
    }

    Optional<Conversation> get(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toConversation(item));
    }

    record Page<T>(List<T> items, Map<String, AttributeValue> lastKey) {}

    /**
     * Newest first (ids are ULIDs), or with {@code byActivity} most recently active first (gsi1); only those on
     * {@code lineId} when given (a filter: a page may then hold fewer than {@code limit}, with a key when more were
     * read).
     */
    Page<Conversation> list(String accountId, String lineId, boolean byActivity, int limit, Map<String, AttributeValue> start) {
        var values = new HashMap<String, AttributeValue>();
        if (byActivity) {
            values.put(":pk", s(activityPk(accountId)));
        } else {
            values.put(":pk", s(Attr.accountPk(accountId)));
            values.put(":prefix", s("CNV#"));
        }
        if (lineId != null) values.put(":line", s(lineId));
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table)
                .indexName(byActivity ? "gsi1" : null)
                .keyConditionExpression(byActivity ? "gsi1pk = :pk" : "pk = :pk AND begins_with(sk, :prefix)")
                .filterExpression(lineId == null ? null : "lineId = :line")
                .expressionAttributeValues(values).scanIndexForward(false).exclusiveStartKey(start));
        return new Page<>(page.items().stream().map(ConversationStore::toConversation).toList(), page.lastKey());
    }

    /** False when there is no such conversation. */
    /** Sets the name, or removes it ({@code name} null); false when the conversation is not there. */
    boolean rename(String accountId, String id, String name, long now) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, id))
                    .updateExpression(name == null ? "SET updatedAt = :now REMOVE #name" : "SET #name = :name, updatedAt = :now")
                    .conditionExpression("attribute_exists(pk)")
                    .expressionAttributeNames(Map.of("#name", "name"))
                    .expressionAttributeValues(name == null ? Map.of(":now", n(now)) : Map.of(":name", s(name), ":now", n(now))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * Sets (or, {@code name} null, removes) the name of the participant at {@code index}, if that is still
     * {@code phone} (participants are fixed, so it is unless the conversation is gone): false when it is gone.
     */
    boolean renameParticipant(Conversation c, int index, String phone, String name, long now) {
        String field = "participants[" + index + "]";
        var values = new HashMap<String, AttributeValue>(Map.of(":phone", s(phone), ":now", n(now)));
        if (name != null) values.put(":name", s(name));
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(c.accountId(), c.id()))
                    .updateExpression(name == null ? "SET updatedAt = :now REMOVE " + field + ".#name"
                            : "SET " + field + ".#name = :name, updatedAt = :now")
                    .conditionExpression("attribute_exists(pk) AND " + field + ".phone = :phone")
                    .expressionAttributeNames(Map.of("#name", "name"))
                    .expressionAttributeValues(values));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * Moves lastActivityAt forward (never back), on the conversation and on its participants' routing rows. The
     * conversation goes first (ReturnValues gives its line and participants without a read), then each routing row
     * (at most 10), each conditionally, so none moves back when touches cross. When the conversation is already as
     * recent (a retry, or a later touch won), its rows are brought up to its time anyway: a touch that died between
     * the two steps is healed by its retry.
     */
    void touch(String accountId, String id, long at, ThreadMessage latest) {
        Map<String, AttributeValue> conversation;
        long rowsAt = at;
        var values = new HashMap<String, AttributeValue>(Map.of(":at", n(at), ":activityPk", s(activityPk(accountId)),
                ":activitySk", s(activitySk(at, id))));
        if (latest != null) values.put(":last", lastMessage(Conversation.LastMessage.of(latest)));
        try {
            conversation = dynamo.updateItem(b -> b.tableName(table).key(key(accountId, id))
                    .updateExpression("SET lastActivityAt = :at, gsi1pk = :activityPk, gsi1sk = :activitySk"
                            + (latest == null ? "" : ", lastMessage = :last"))
                    .conditionExpression("attribute_exists(pk) AND lastActivityAt < :at")
                    .expressionAttributeValues(values)
                    .returnValues(ReturnValue.ALL_NEW)).attributes();
        } catch (ConditionalCheckFailedException e) {
            conversation = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)).item();
            if (conversation == null || conversation.isEmpty()) return; // no such conversation
            rowsAt = Attr.num(conversation, "lastActivityAt", 0);
        }
        Conversation c = toConversation(conversation);
        for (var participant : c.participants()) touchRoutingRow(c, participant.phone(), rowsAt);
    }

    private void touchRoutingRow(Conversation c, String phone, long at) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(participantPk(c.lineId(), phone), c.id()))
                    .updateExpression("SET accountId = :a, lastActivityAt = :at")
                    .conditionExpression("attribute_not_exists(lastActivityAt) OR lastActivityAt < :at")
                    .expressionAttributeValues(Map.of(":a", s(c.accountId()), ":at", n(at))));
        } catch (ConditionalCheckFailedException e) {
            // already as recent
        }
    }

    /**
     * Closes a conversation for good as of {@code at}, it and its participants' routing rows in one transaction (so
     * routing never sees it open once it is closed); a conversation closed already keeps its first time. False when
     * there is no such conversation.
     */
    boolean close(Conversation c, long at) {
        List<TransactWriteItem> items = new ArrayList<>();
        items.add(TransactWriteItem.builder().update(u -> u.tableName(table).key(key(c.accountId(), c.id()))
                .updateExpression("SET closedAt = if_not_exists(closedAt, :at), updatedAt = :at")
                .conditionExpression("attribute_exists(pk)")
                .expressionAttributeValues(Map.of(":at", n(at)))).build());
        for (var participant : c.participants()) {
            items.add(TransactWriteItem.builder().update(u -> u.tableName(table)
                    .key(Attr.key(participantPk(c.lineId(), participant.phone()), c.id()))
                    .updateExpression("SET accountId = :a, closedAt = if_not_exists(closedAt, :at)")
                    .expressionAttributeValues(Map.of(":a", s(c.accountId()), ":at", n(at)))).build());
        }
        return ops.transact(items) instanceof DynamoOps.Committed;
    }

    /**
     * Blocks a conversation for good from {@code at} (an opt-out's time) unless it was blocked already: true when
     * blocked now. The first block's time stays (a retried or a second opt-out changes nothing). Its participants'
     * routing rows are marked with it, in one transaction ({@code lastPhone}'s row last when that fails and they are
     * marked one by one: a row marked means the conversation is blocked and every row before it marked too).
     */
    boolean markBlocked(String accountId, String conversationId, long at, String lastPhone) {
        Map<String, AttributeValue> conversation;
        boolean now;
        try {
            conversation = dynamo.updateItem(b -> b.tableName(table).key(key(accountId, conversationId))
                    .updateExpression("SET blockedAt = :at")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(blockedAt)")
                    .expressionAttributeValues(Map.of(":at", n(at)))
                    .returnValues(ReturnValue.ALL_NEW)).attributes();
            now = true;
        } catch (ConditionalCheckFailedException e) {
            // blocked already (its rows are brought up to it: a block that died between the two steps is healed by
            // its retry), or gone
            conversation = dynamo.getItem(b -> b.tableName(table).key(key(accountId, conversationId)).consistentRead(true)).item();
            if (conversation == null || !conversation.containsKey("blockedAt")) return false;
            now = false;
        }
        // on its participants' routing rows too, so routing passes over it without reading it (see mostRecentlyActive)
        Conversation c = toConversation(conversation);
        long blockedAt = c.blockedAt();
        List<String> phones = new ArrayList<>(c.participants().stream().map(Conversation.Participant::phone)
                .filter(p -> !p.equals(lastPhone)).toList());
        if (phones.size() < c.participants().size()) phones.add(lastPhone);
        // one request for all of them (a number in hundreds of conversations blocked each with ten UpdateItems, one
        // after another, inline in its STOP's job): a row missing cancels it, and they go one by one
        List<TransactWriteItem> rows = phones.stream().map(p -> TransactWriteItem.builder().update(u -> u.tableName(table)
                .key(Attr.key(participantPk(c.lineId(), p), c.id()))
                .updateExpression("SET blockedAt = if_not_exists(blockedAt, :at)").conditionExpression("attribute_exists(pk)")
                .expressionAttributeValues(Map.of(":at", n(blockedAt)))).build()).toList();
        if (ops.transact(rows) instanceof DynamoOps.Committed) return now;
        for (String phone : phones) {
            try {
                dynamo.updateItem(b -> b.tableName(table).key(Attr.key(participantPk(c.lineId(), phone), c.id()))
                        .updateExpression("SET blockedAt = :at")
                        .conditionExpression("attribute_exists(pk) AND attribute_not_exists(blockedAt)")
                        .expressionAttributeValues(Map.of(":at", n(blockedAt))));
            } catch (ConditionalCheckFailedException e) {
                // marked already, or no such row
            }
        }
        return now;
    }

    /**
     * A conversation as its routing row knows it: enough to pick the most recently active one ({@code lastActivityAt}
     * null on rows written before they carried it).
     */
    private record RoutingCandidate(String conversationId, Long lastActivityAt, boolean closed, boolean blocked) {}

    /**
     * The ids of the conversations on a line that include a number and may still speak: neither closed nor marked
     * blocked on the number's own row (strongly consistent, all pages). A block marks that row last, so a marked one
     * is blocked whole: an opt-out's retry, or a number's second opt-out, reads its rows and writes nothing.
     */
    List<String> openConversationIdsWith(String accountId, String lineId, String phone) {
        return routingRows(accountId, lineId, phone).stream().filter(r -> !r.closed() && !r.blocked())
                .map(RoutingCandidate::conversationId).toList();
    }

    private List<RoutingCandidate> routingRows(String accountId, String lineId, String phone) {
        List<RoutingCandidate> rows = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            var request = QueryRequest.builder().tableName(table).keyConditionExpression("pk = :pk")
                    .expressionAttributeValues(Map.of(":pk", s(participantPk(lineId, phone))))
                    .projectionExpression("sk, accountId, lastActivityAt, closedAt, blockedAt")
                    .consistentRead(true).exclusiveStartKey(start).build();
            var page = dynamo.query(request);
            for (var row : page.items()) {
                if (!accountId.equals(Attr.str(row, "accountId"))) continue; // line ids are unique; never another's
                rows.add(new RoutingCandidate(Attr.str(row, "sk"), Attr.numOrNull(row, "lastActivityAt"),
                        row.containsKey("closedAt"), row.containsKey("blockedAt")));
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return rows;
    }

    private static final Comparator<RoutingCandidate> MOST_RECENTLY_ACTIVE_FIRST = Comparator
            .comparingLong(RoutingCandidate::lastActivityAt).thenComparing(RoutingCandidate::conversationId).reversed();

    /**
     * The most recently active conversation on a line that includes a number and is not closed (ties: the higher id,
     * the newer), one not blocked first, or empty. Reads every routing row of the number on the line, page by page (a dispatcher can be in hundreds of
     * conversations, and rows come oldest conversation first: a first page alone misroutes to an old one), strongly
     * consistent (a reply right after a conversation was created must find it), and then the conversations its rows
     * do not show blocked, most recent first, until one that goes on. Rows written before they carried lastActivityAt take it from their conversation.
     */
    Optional<Conversation> mostRecentlyActive(String accountId, String lineId, String phone) {
        return mostRecentlyActive(accountId, lineId, phone, Long.MAX_VALUE, c -> false);
    }

    /**
     * As {@link #mostRecentlyActive(String, String, String)}, of the conversations created by {@code existedBy} (a
     * text routed late, by its worker, does not go into one created after it came); a conversation not marked blocked
     * passed over too when {@code blockedNow} says it is (under block_conversation, one with a participant opted out:
     * marked a moment after the STOP, or never when the policy was switched on after it).
     */
    Optional<Conversation> mostRecentlyActive(String accountId, String lineId, String phone, long existedBy,
                                              java.util.function.Predicate<Conversation> blockedNow) {
        List<RoutingCandidate> candidates = new ArrayList<>();
        List<Map<String, AttributeValue>> withoutTime = new ArrayList<>();
        for (var row : routingRows(accountId, lineId, phone)) {
            if (row.closed()) continue;
            if (row.lastActivityAt() != null) {
                candidates.add(row);
            } else {
                withoutTime.add(key(accountId, row.conversationId()));
            }
        }
        if (!withoutTime.isEmpty()) {
            for (var item : ops.batchGet(table, withoutTime)) {
                candidates.add(new RoutingCandidate(Attr.str(item, "conversationId"), Attr.num(item, "lastActivityAt", 0),
                        item.containsKey("closedAt"), item.containsKey("blockedAt")));
            }
        }
        candidates.sort(MOST_RECENTLY_ACTIVE_FIRST);
        // one blocked by an opt-out only if the number is in no conversation that goes on (the one the business
        // started instead, say), where its reply belongs; rows say which are blocked (rows marked before they did:
        // the conversation read says)
        java.util.function.Predicate<Conversation> open = c -> c.closedAt() == null && c.openedAt() <= existedBy;
        // most recently active first: one read already, or one marked blocked on its rows, read only if it comes to that
        List<java.util.function.Supplier<Optional<Conversation>>> blocked = new ArrayList<>();
        for (var candidate : candidates) {
            if (candidate.blocked()) {
                blocked.add(() -> get(accountId, candidate.conversationId()).filter(open));
                continue;
            }
            var conversation = get(accountId, candidate.conversationId()).filter(open);
            if (conversation.isEmpty()) continue;
            if (conversation.get().blockedAt() == null && !blockedNow.test(conversation.get())) return conversation;
            blocked.add(() -> conversation);
        }
        // the latest blocked one that existed when the text came
        for (var b : blocked) {
            var conversation = b.get();
            if (conversation.isPresent()) return conversation;
        }
        return Optional.empty();
    }

    /** {@link #addMessage} as a write of a transaction (which it cancels when the message is stored already). */
    TransactWriteItem addMessageItem(String accountId, ThreadMessage m) {
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(threadItem(accountId, m))
                .conditionExpression("attribute_not_exists(pk)")).build();
    }

    /** Stores a thread message unless one with its id exists (a retried relay); true when stored now. */
    boolean addMessage(String accountId, ThreadMessage m) {
        try {
            dynamo.putItem(b -> b.tableName(table).item(threadItem(accountId, m)).conditionExpression("attribute_not_exists(pk)"));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * Stores a participant's reply with what became of it ({@code outcome}: the conversation's status then, active
     * for relayed); returns the outcome on record: this one, or the first run's for a retry (read from the failed
     * put), so that a retry follows the first decision whatever changed since (a STOP that blocked the conversation
     * meanwhile must not earn the author an "ended" notice for a reply the others got). Its outcome is null for a
     * reply stored before outcomes were.
     */
    StoredReply addReply(String accountId, ThreadMessage m, String outcome) {
        var item = threadItem(accountId, m);
        item.put("outcome", s(outcome));
        try {
            dynamo.putItem(b -> b.tableName(table).item(item).conditionExpression("attribute_not_exists(pk)")
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD));
            return new StoredReply(outcome, true);
        } catch (ConditionalCheckFailedException e) {
            return new StoredReply(e.hasItem() ? Attr.str(e.item(), "outcome") : null, false);
        }
    }

    /**
     * Sets a reply's outcome to {@code outcome} where it is still {@code was}: a retry that found the first run's
     * decision to relay it never carried out, and the conversation no longer taking it (the thread shows that).
     */
    void correctOutcome(String accountId, String conversationId, String messageId, String was, String outcome) {
        // a failed condition: another run corrected it, or it was never that
        ops.updateIf(b -> b.tableName(table).key(Attr.key(threadPk(accountId, conversationId), messageId))
                .updateExpression("SET outcome = :now").conditionExpression("outcome = :was")
                .expressionAttributeValues(Map.of(":now", s(outcome), ":was", s(was))));
    }

    /** A reply's outcome on record, and whether this call stored it ({@code first}) or an earlier run had. */
    record StoredReply(String outcome, boolean first) {}

    /** Up to {@code limit} of the thread's messages placed at or after {@code fromMillis}, oldest first (one query). */
    List<ThreadMessage> messagesSince(String accountId, String conversationId, long fromMillis, int limit) {
        return dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk AND sk BETWEEN :from AND :to")
                .expressionAttributeValues(Map.of(":pk", s(threadPk(accountId, conversationId)),
                        ":from", s(ThreadMessage.ID_PREFIX + groupmsg.platform.config.Ids.lowestAt(fromMillis)),
                        ":to", s(ThreadMessage.ID_PREFIX + "~")))
                .limit(limit)).items().stream().map(i -> toMessage(conversationId, i)).toList();
    }

    Page<ThreadMessage> messages(String accountId, String conversationId, int limit, Map<String, AttributeValue> start,
                                 boolean newestFirst) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", s(threadPk(accountId, conversationId))))
                .scanIndexForward(!newestFirst).exclusiveStartKey(start));
        return new Page<>(page.items().stream().map(i -> toMessage(conversationId, i)).toList(), page.lastKey());
    }

    private Map<String, AttributeValue> threadItem(String accountId, ThreadMessage m) {
        var item = new HashMap<String, AttributeValue>(Attr.key(threadPk(accountId, m.conversationId()), m.id()));
        item.put("messageId", s(m.id()));
        item.put("direction", s(m.direction()));
        if (m.authorPhone() != null) item.put("authorPhone", s(m.authorPhone()));
        if (m.authorKeyId() != null) item.put("authorKeyId", s(m.authorKeyId()));
        item.put("body", s(m.body()));
        if (!m.mediaUrls().isEmpty()) item.put("mediaUrls", AttributeValue.fromL(m.mediaUrls().stream().map(Attr::s).toList()));
        item.put("createdAt", n(m.createdAt()));
        if (m.inboundId() != null) item.put("inboundId", s(m.inboundId()));
        if (m.receivedAt() != null) item.put("receivedAt", n(m.receivedAt()));
        if (m.authorName() != null) item.put("authorName", s(m.authorName()));
        return item;
    }

    private static ThreadMessage toMessage(String conversationId, Map<String, AttributeValue> item) {
        List<String> media = item.containsKey("mediaUrls") ? item.get("mediaUrls").l().stream().map(AttributeValue::s).toList() : List.of();
        return new ThreadMessage(Attr.str(item, "messageId"), conversationId, Attr.str(item, "direction"),
                Attr.str(item, "authorPhone"), Attr.str(item, "authorKeyId"), Attr.str(item, "body"), media,
                Attr.num(item, "createdAt", 0), Attr.str(item, "inboundId"), Attr.numOrNull(item, "receivedAt"),
                Attr.str(item, "authorName"), Attr.str(item, "outcome"));
    }

    static Conversation toConversation(Map<String, AttributeValue> item) {
        List<Conversation.Participant> participants = item.get("participants").l().stream()
                .map(v -> new Conversation.Participant(Attr.str(v.m(), "phone"), Attr.str(v.m(), "name"))).toList();
        return new Conversation(Attr.str(item, "conversationId"), Attr.str(item, "accountId"), Attr.str(item, "name"),
                Attr.str(item, "lineId"), Attr.str(item, "linePhone"), participants, Attr.num(item, "createdAt", 0),
                Attr.num(item, "updatedAt", 0), Attr.num(item, "lastActivityAt", 0), Attr.numOrNull(item, "blockedAt"),
                Attr.numOrNull(item, "closedAt"), lastMessage(item.get("lastMessage")),
                Attr.num(item, "openedAt", Attr.num(item, "createdAt", 0)));
    }

    private static AttributeValue lastMessage(Conversation.LastMessage m) {
        var map = new HashMap<String, AttributeValue>();
        map.put("id", s(m.id()));
        map.put("direction", s(m.direction()));
        if (m.authorPhone() != null) map.put("authorPhone", s(m.authorPhone()));
        if (m.authorKeyId() != null) map.put("authorKeyId", s(m.authorKeyId()));
        if (m.authorName() != null) map.put("authorName", s(m.authorName()));
        map.put("preview", s(m.preview()));
        map.put("mediaCount", n(m.mediaCount()));
        map.put("createdAt", n(m.createdAt()));
        return AttributeValue.fromM(map);
    }

    private static Conversation.LastMessage lastMessage(AttributeValue value) {
        if (value == null || !value.hasM()) return null;
        var m = value.m();
        return new Conversation.LastMessage(Attr.str(m, "id"), Attr.str(m, "direction"), Attr.str(m, "authorPhone"),
                Attr.str(m, "authorKeyId"), Attr.str(m, "authorName"), Attr.str(m, "preview"),
                (int) Attr.num(m, "mediaCount", 0), Attr.num(m, "createdAt", 0));
    }
}
