package groupmsg.inbound;

import groupmsg.carrier.TwilioSids;
import groupmsg.messages.BroadcastReplies;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import groupmsg.platform.queue.Outbox;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Inbound messages in the core table: {@code ACCT#a / IN#<id>} (ids sort by time), with
 * {@code gsi1pk = ACCT#a#LINE#<lineId>#IN} and {@code gsi2pk = ACCT#a#FROM#<phone>#IN} (sort key: the id) for the
 * per-line and per-sender lists, newest first. The carrier's message id is claimed in
 * {@code INSID#<carrier id> / -} (expires after {@link #SID_RETENTION}) in the same transaction, which is what
 * makes a resent webhook a no-op.
 */
final class InboundStore {
    /**
     * Twilio resends a webhook for minutes, but its signature has no time in it: a signed request captured (a log, a
     * proxy) and posted again later is refused only while its claim lasts. Kept as long as Twilio keeps the message
     * (400 days; the claim is a few dozen bytes), where a month let a captured START lift a later STOP.
     */
    static final Duration SID_RETENTION = Duration.ofDays(400);

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    InboundStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static Map<String, AttributeValue> key(String accountId, String id) {
        return Attr.key(Attr.accountPk(accountId), "IN#" + id);
    }

    static String linePk(String accountId, String lineId) {
        return Attr.accountPk(accountId) + "#LINE#" + lineId + "#IN";
    }

    static String fromPk(String accountId, String phone) {
        return Attr.accountPk(accountId) + "#FROM#" + phone + "#IN";
    }

    /**
     * The key that makes a carrier message one: Twilio's ids (SM/MM + 32 hex) are unique across all its accounts, as
     * they always were; any other id a carrier or a test tool makes up ("m1") only per line it was sent to, so two
     * lines' texts with the same short id are not taken for one.
     */
    static String sidKey(InboundMessage m) {
        String sid = m.carrierMessageId();
        return TwilioSids.isTwilios(sid) ? "INSID#" + sid : "INSID#" + m.linePhone() + "#" + sid;
    }

    /** Stores the message with its outbox row, unless its carrier id was seen before (then returns false). */
    boolean store(InboundMessage m, TransactWriteItem outboxRow, TransactWriteItem optOut) {
        var sid = new HashMap<String, AttributeValue>(Attr.key(sidKey(m), "-"));
        sid.put("inboundId", s(m.id()));
        sid.put("expiresAt", n(m.createdAt() / 1000 + SID_RETENTION.toSeconds()));
        List<TransactWriteItem> actions = new ArrayList<>(List.of(
                TransactWriteItem.builder().put(p -> p.tableName(table).item(sid).conditionExpression("attribute_not_exists(pk)")).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(toItem(m)).conditionExpression("attribute_not_exists(pk)")).build(),
                outboxRow));
        if (optOut != null) actions.add(optOut);
        var outcome = ops.transact(actions);
        return switch (outcome) {
            case DynamoOps.Committed c -> true;
            case DynamoOps.Cancelled c when c.conditionFailed(0) -> false;
            case DynamoOps.Cancelled c -> throw new IllegalStateException("inbound store cancelled: " + c);
        };
    }

    Optional<InboundMessage> get(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toMessage(item));
    }

    /** Marks the message as published to integrations; false when it already was. */
    boolean markPublished(String accountId, String id, long now) {
        return setOnce(accountId, id, "publishedAt", now);
    }

    /** Sets a time attribute of the message unless it is set already; false when it was (or the message is gone). */
    private boolean setOnce(String accountId, String id, String attribute, long now) {
        return ops.updateIf(b -> b.tableName(table).key(key(accountId, id))
                .updateExpression("SET " + attribute + " = :now")
                .conditionExpression("attribute_exists(pk) AND attribute_not_exists(" + attribute + ")")
                .expressionAttributeValues(Map.of(":now", n(now))));
    }

    /** Where a reply went: its conversation and its thread message's time-ordered id part. */
    record Routing(String conversationId, String threadUlid) {}

    /**
     * Records the conversation a reply goes into (the one it was routed to on arrival, or, for a message stored before
     * that, the one the worker found) and its place in the thread, once: a retry gets what the first run recorded.
     * {@code fromName}: the sender's name in the conversation the worker found (null: none, or routed on arrival,
     * which named it then), kept where the message has none.
     */
    Routing assignConversation(String accountId, String id, String conversationId, String threadUlid, String fromName) {
        var values = new HashMap<String, AttributeValue>(Map.of(":c", s(conversationId), ":t", s(threadUlid)));
        if (fromName != null) values.put(":n", s(fromName));
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, id))
                    .updateExpression("SET conversationId = :c, threadUlid = :t"
                            + (fromName == null ? "" : ", fromName = if_not_exists(fromName, :n)"))
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(threadUlid)"
                            + " AND (attribute_not_exists(conversationId) OR conversationId = :c)")
                    .expressionAttributeValues(values));
            return new Routing(conversationId, threadUlid);
        } catch (ConditionalCheckFailedException e) {
            return get(accountId, id).filter(m -> m.conversationId() != null)
                    .map(m -> new Routing(m.conversationId(), m.threadUlid())).orElse(new Routing(conversationId, threadUlid));
        }
    }

    /**
     * Records where a keyword came from ({@link InboundService#routeKeyword}), once: the message as recorded (a retry,
     * or a run that lost the race, gets what the first recorded). {@code conversationId} null: none.
     */
    InboundMessage recordKeywordRouting(InboundMessage m, String conversationId, String fromName) {
        var values = new HashMap<String, AttributeValue>(Map.of(":yes", Attr.bool(true)));
        var set = new StringBuilder("SET routedOnArrival = :yes");
        if (conversationId != null) {
            values.put(":c", s(conversationId));
            set.append(", conversationId = :c");
        }
        if (fromName != null) {
            values.put(":n", s(fromName));
            set.append(", fromName = if_not_exists(fromName, :n)");
        }
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(m.accountId(), m.id())).updateExpression(set.toString())
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(routedOnArrival)")
                    .expressionAttributeValues(values));
            return m.routedTo(conversationId, fromName);
        } catch (ConditionalCheckFailedException e) {
            return get(m.accountId(), m.id()).orElse(m);
        }
    }

    /**
     * Records what the text did as one of its line's own keywords, once: the message as recorded (a retry, or a run
     * that lost the race, gets what the first recorded).
     */
    InboundMessage recordKeywordAction(InboundMessage m, InboundMessage.KeywordAction done) {
        var action = AttributeValue.fromM(Map.of("keyword", s(done.keyword()), "action", s(done.action()),
                "groupId", s(done.groupId())));
        boolean first = ops.updateIf(b -> b.tableName(table).key(key(m.accountId(), m.id()))
                .updateExpression("SET keywordAction = :a")
                .conditionExpression("attribute_exists(pk) AND attribute_not_exists(keywordAction)")
                .expressionAttributeValues(Map.of(":a", action)));
        return first ? m.withKeywordAction(done) : get(m.accountId(), m.id()).orElse(m);
    }

    /**
     * Forgets what the text was to do as a keyword, unless it was done: its group went before the change was made, so
     * it did nothing, and is shown and published as the ordinary reply it then is.
     */
    void clearKeywordAction(String accountId, String id) {
        ops.updateIf(b -> b.tableName(table).key(key(accountId, id)).updateExpression("REMOVE keywordAction")
                .conditionExpression("attribute_exists(keywordAction) AND attribute_not_exists(keywordAction.appliedAt)"));
    }

    /**
     * The mark of the text's keyword action as done (its membership change made), for the change's own transaction:
     * its condition fails once marked, and the change is then not made again.
     */
    TransactWriteItem keywordActionApplied(String accountId, String id, long at) {
        return TransactWriteItem.builder().update(b -> b.tableName(table).key(key(accountId, id))
                .updateExpression("SET keywordAction.appliedAt = :at")
                .conditionExpression("attribute_exists(keywordAction) AND attribute_not_exists(keywordAction.appliedAt)")
                .expressionAttributeValues(Map.of(":at", n(at)))).build();
    }

    boolean published(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)
                .projectionExpression("publishedAt")).item();
        return item != null && item.containsKey("publishedAt");
    }

    record Page(List<InboundMessage> messages, Map<String, AttributeValue> lastKey) {}

    /** Which partition attribute and value a list query (and so its cursor) uses. */
    record Partition(String index, String attribute, String value) {}

    static Partition partition(String accountId, String lineId, String from) {
        if (from != null) return new Partition("gsi2", "gsi2pk", fromPk(accountId, from));
        if (lineId != null) return new Partition("gsi1", "gsi1pk", linePk(accountId, lineId));
        return new Partition(null, "pk", Attr.accountPk(accountId));
    }

    /**
     * Newest first. By sender through gsi2 (filtered by line when both are given: one person's messages are few),
     * by line through gsi1, else the account's partition. A filtered query may read a few pages to fill one.
     */
    /** Rows a filtered list reads per request (up to 10 requests a page). */
    static final int FILTERED_PAGE_ROWS = 1000;

    /** @param filter what else a message must be to be listed (flagged as a possible opt-out or not, its keyword) */
    Page list(String accountId, String lineId, String from, InboundService.ListFilter filter, int limit, Map<String, AttributeValue> start) {
        Boolean possibleOptOut = filter.possibleOptOut();
        Partition partition = partition(accountId, lineId, from);
        // One match past the page is looked for, so a cursor is given only when another match follows (a filtered
        // query's rows read past the page may all fail the filter).
        List<Map<String, AttributeValue>> items = new ArrayList<>();
        Map<String, AttributeValue> next = start;
        for (int round = 0; round < 10; round++) {
            var values = new HashMap<String, AttributeValue>();
            values.put(":pk", s(partition.value()));
            if (partition.index() == null) values.put(":prefix", s("IN#"));
            List<String> filters = new ArrayList<>();
            if (from != null && lineId != null) {
                values.put(":line", s(lineId));
                filters.add("lineId = :line");
            }
            if (possibleOptOut != null) {
                values.put(":flag", Attr.bool(possibleOptOut));
                filters.add("possibleOptOut = :flag");
            }
            if (filter.reviewed() != null) {
                filters.add(filter.reviewed() ? "attribute_exists(review)" : "attribute_not_exists(review)");
            }
            if (filter.keyword() != null && filter.keyword().keyword() == null) {
                filters.add("attribute_not_exists(keyword)");
            } else if (filter.keyword() != null) {
                values.put(":keyword", s(filter.keyword().keyword().wireName()));
                filters.add("keyword = :keyword");
            }
            Map<String, AttributeValue> after = next;
            // DynamoDB's limit counts rows read, not rows kept: a filtered list reads full pages, or a rare flag
            // (possibleOptOut) would take hundreds of near-empty pages to reach
            int read = filters.isEmpty() ? limit + 1 - items.size() : FILTERED_PAGE_ROWS;
            QueryPage page = QueryPage.of(dynamo, read, request -> {
                request.tableName(table).scanIndexForward(false).exclusiveStartKey(after).expressionAttributeValues(values);
                if (partition.index() == null) {
                    request.keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)");
                } else {
                    request.indexName(partition.index()).keyConditionExpression(partition.attribute() + " = :pk");
                }
                if (!filters.isEmpty()) request.filterExpression(String.join(" AND ", filters));
            });
            items.addAll(page.items());
            next = page.lastKey();
            if (next == null || items.size() > limit) break;
        }
        if (items.size() > limit) {
            items = items.subList(0, limit);
            next = QueryPage.keyOf(items.getLast(), partition.index());
        }
        return new Page(items.stream().map(InboundStore::toMessage).toList(), next);
    }

    /**
     * How far back the indexes may not show a text yet: DynamoDB fills a global secondary index after the write,
     * usually within a second; this is ample.
     */
    static final Duration INDEX_LAG = Duration.ofSeconds(60);

    /**
     * The opt-in keywords (a "Yes" that was also a reply too) from {@code from}, to any line, that came after the text
     * {@code afterId} and within {@link #INDEX_LAG} of {@code now}, read from the table itself (consistent), where the
     * sender index could still lack them. One Query of the account's texts of that last minute (every page), filtered.
     */
    List<InboundMessage> recentOptIns(String accountId, String from, String afterId, long now) {
        String recent = "IN#" + InboundMessage.ID_PREFIX + com.github.f4b6a3.ulid.Ulid.min(Math.max(0, now - INDEX_LAG.toMillis()));
        String after = "IN#" + afterId;
        String low = after.compareTo(recent) > 0 ? after : recent;
        List<InboundMessage> found = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> pageStart = start;
            var response = dynamo.query(b -> b.tableName(table).consistentRead(true).exclusiveStartKey(pageStart)
                    .keyConditionExpression("pk = :pk AND sk BETWEEN :low AND :high")
                    .filterExpression("#from = :from AND keyword = :optIn")
                    .expressionAttributeNames(Map.of("#from", "from"))
                    .expressionAttributeValues(Map.of(":pk", s(Attr.accountPk(accountId)), ":low", s(low),
                            ":high", s("IN#" + InboundMessage.ID_PREFIX + "~"), ":from", s(from),
                            ":optIn", s(Keywords.Keyword.OPT_IN.wireName()))));
            for (var item : response.items()) {
                if (!after.equals(Attr.str(item, "sk"))) found.add(toMessage(item)); // BETWEEN includes the text itself
            }
            start = response.hasLastEvaluatedKey() ? response.lastEvaluatedKey() : null;
        } while (start != null);
        return found;
    }

    /** The partition of a group message's answers: one row per text linked to it, sorted by the text's id (time). */
    static String answersPk(String accountId, String messageId) {
        return Attr.accountPk(accountId) + "#MSG#" + messageId + "#REPLIES";
    }

    /** The partition of the numbers that opted out in answer to a group message: one row per number. */
    static String optOutsPk(String accountId, String messageId) {
        return Attr.accountPk(accountId) + "#MSG#" + messageId + "#OPTOUTS";
    }

    /** A reply's row in its group message's answers. */
    static Map<String, AttributeValue> answerRow(InboundMessage m, String messageId) {
        var row = new HashMap<String, AttributeValue>(Attr.key(answersPk(m.accountId(), messageId), m.id()));
        row.put("inboundId", s(m.id()));
        row.put("from", s(m.from()));
        row.put("createdAt", n(m.createdAt()));
        return row;
    }

    /** A STOP's row in its group message's opt-outs: the number's first STOP in answer to it. */
    static Map<String, AttributeValue> optOutRow(InboundMessage m, String messageId) {
        var row = new HashMap<String, AttributeValue>(Attr.key(optOutsPk(m.accountId(), messageId), m.from()));
        row.put("inboundId", s(m.id()));
        row.put("lineId", s(m.lineId()));
        row.put("phone", s(m.from()));
        row.put("createdAt", n(m.createdAt()));
        return row;
    }

    enum LinkOutcome {
        LINKED,
        /** the text was linked already (a retried job, or a second worker): nothing changed */
        ALREADY_LINKED,
        /** the row was there (the number's earlier STOP in answer to the message): nothing changed */
        ROW_EXISTS
    }

    /**
     * Links a text to the group message it answers, once: its {@code inReplyTo}, {@code row} (in the message's answers
     * or opt-outs) and {@code count} (the message's counter) in one transaction.
     */
    LinkOutcome link(InboundMessage m, BroadcastReplies.Answered answered, String memberName,
                     Map<String, AttributeValue> row, TransactWriteItem count) {
        var outcome = ops.transact(List.of(setInReplyTo(m, answered, memberName),
                newRow(row),
                count));
        return switch (outcome) {
            case DynamoOps.Committed c -> LinkOutcome.LINKED;
            case DynamoOps.Cancelled c when c.conditionFailed(0) -> LinkOutcome.ALREADY_LINKED;
            case DynamoOps.Cancelled c when c.conditionFailed(1) -> LinkOutcome.ROW_EXISTS;
            case DynamoOps.Cancelled c -> throw new IllegalStateException("linking an answer cancelled: " + c);
        };
    }

    /** A row in a message's answers or opt-outs, put unless it is there (condition 0 or 1 of its transaction). */
    private TransactWriteItem newRow(Map<String, AttributeValue> row) {
        return TransactWriteItem.builder().put(p -> p.tableName(table).item(row).conditionExpression("attribute_not_exists(pk)")).build();
    }

    /** Sets only the text's {@code inReplyTo}, unless it has one. */
    void linkAlone(InboundMessage m, BroadcastReplies.Answered answered, String memberName) {
        if (ops.transact(List.of(setInReplyTo(m, answered, memberName))) instanceof DynamoOps.Cancelled c && !c.conditionFailed(0)) {
            throw new IllegalStateException("linking an answer cancelled: " + c);
        }
    }

    /** The link, and the sender's name in the message's group unless the text has a name (its conversation's). */
    private TransactWriteItem setInReplyTo(InboundMessage m, BroadcastReplies.Answered answered, String memberName) {
        var values = new HashMap<String, AttributeValue>(Map.of(":a", BroadcastReplies.toAttribute(answered)));
        if (memberName != null) values.put(":n", s(memberName));
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(key(m.accountId(), m.id()))
                .updateExpression("SET inReplyTo = :a" + (memberName == null ? "" : ", fromName = if_not_exists(fromName, :n)"))
                .conditionExpression("attribute_exists(pk) AND attribute_not_exists(inReplyTo)")
                .expressionAttributeValues(values)).build();
    }

    /** A number that opted out in answer to a group message: its first STOP's id and time. */
    record OptOutAnswer(String phone, String lineId, String inboundId, long createdAt) {}

    record OptOutAnswers(List<OptOutAnswer> optOuts, Map<String, AttributeValue> lastKey) {}

    /** The numbers that opted out in answer to a group message, in number order. */
    OptOutAnswers optOutAnswers(String accountId, String messageId, int limit, Map<String, AttributeValue> start) {
        QueryPage page = QueryPage.of(dynamo, limit, b -> b.tableName(table).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", s(optOutsPk(accountId, messageId)))).exclusiveStartKey(start)
                .consistentRead(true));
        return new OptOutAnswers(page.items().stream().map(row -> new OptOutAnswer(Attr.str(row, "phone"),
                Attr.str(row, "lineId"), Attr.str(row, "inboundId"), Attr.num(row, "createdAt", 0))).toList(), page.lastKey());
    }

    /** A group message's answers, oldest first: its answer rows, then the texts in one BatchGetItem. */
    Page answers(String accountId, String messageId, int limit, Map<String, AttributeValue> start) {
        QueryPage page = QueryPage.of(dynamo, limit, b -> b.tableName(table).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", s(answersPk(accountId, messageId)))).exclusiveStartKey(start)
                .consistentRead(true));
        var ids = page.items().stream().map(row -> Attr.str(row, "inboundId")).toList();
        Map<String, InboundMessage> byId = new HashMap<>();
        for (var item : ops.batchGet(table, ids.stream().map(id -> key(accountId, id)).toList())) {
            var message = toMessage(item);
            byId.put(message.id(), message);
        }
        return new Page(ids.stream().map(byId::get).filter(java.util.Objects::nonNull).toList(), page.lastKey());
    }

    private static Map<String, AttributeValue> toItem(InboundMessage m) {
        var item = new HashMap<String, AttributeValue>(key(m.accountId(), m.id()));
        item.put("gsi1pk", s(linePk(m.accountId(), m.lineId())));
        item.put("gsi1sk", s(m.id()));
        item.put("gsi2pk", s(fromPk(m.accountId(), m.from())));
        item.put("gsi2sk", s(m.id()));
        item.put("inboundId", s(m.id()));
        item.put("accountId", s(m.accountId()));
        item.put("lineId", s(m.lineId()));
        item.put("linePhone", s(m.linePhone()));
        item.put("from", s(m.from()));
        item.put("body", s(m.body()));
        if (!m.mediaUrls().isEmpty()) item.put("mediaUrls", AttributeValue.fromL(m.mediaUrls().stream().map(Attr::s).toList()));
        if (m.keyword() != null) item.put("keyword", s(m.keyword().wireName()));
        item.put("possibleOptOut", Attr.bool(m.possibleOptOut()));
        if (m.alsoAReply()) item.put("alsoAReply", Attr.bool(true));
        if (m.conversationId() != null) item.put("conversationId", s(m.conversationId()));
        if (m.fromName() != null) item.put("fromName", s(m.fromName()));
        if (m.routed()) item.put("routedOnArrival", Attr.bool(true));
        if (m.fromLine()) item.put("fromLine", Attr.bool(true));
        if (m.handedOn()) item.put("handedOn", Attr.bool(true));
        item.put("carrierMessageId", s(m.carrierMessageId()));
        item.put("createdAt", n(m.createdAt()));
        return item;
    }

    /** An inbound message whose handling may not have finished, and what is recorded of it. */
    record Unfinished(InboundMessage message, boolean published, boolean handled) {}

    /**
     * Every inbound message of every account received in {@code [from, to)} that is not yet published, or is a
     * keyword (handled or not: a later handled keyword tells an earlier one's job not to run again), in no order. A
     * scan of the table: only for a local runtime whose queues were lost (see
     * {@link InboundService#requeueUnfinished}).
     */
    List<Unfinished> unfinished(long from, long to) {
        List<Unfinished> found = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> after = start;
            var page = dynamo.scan(b -> b.tableName(table).consistentRead(true)
                    .filterExpression("begins_with(sk, :in) AND createdAt >= :from AND createdAt < :to"
                            + " AND (attribute_not_exists(publishedAt) OR attribute_exists(keyword))")
                    .expressionAttributeValues(Map.of(":in", s("IN#"), ":from", n(from), ":to", n(to)))
                    .exclusiveStartKey(after));
            page.items().forEach(item -> found.add(new Unfinished(toMessage(item), item.containsKey("publishedAt"),
                    item.containsKey("handledAt"))));
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return found;
    }

    /** Records that a keyword was handled (its opt-out, opt-in or reply done), once: a retried job's mark changes nothing. */
    void markHandled(String accountId, String id, long now) {
        setOnce(accountId, id, "handledAt", now);
    }

    /** Whether a keyword was handled (read consistently). */
    boolean handled(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)
                .projectionExpression("handledAt")).item();
        return item != null && item.containsKey("handledAt");
    }

    /** The update that marks a START as the one that lifted its number's opt-out (in the lift's own transaction). */
    TransactWriteItem markLiftedOptOut(String accountId, String id) {
        return TransactWriteItem.builder().update(u -> u.tableName(table)
                .key(key(accountId, id)).updateExpression("SET liftedOptOut = :yes")
                .conditionExpression("attribute_exists(pk)")
                .expressionAttributeValues(Map.of(":yes", AttributeValue.fromBool(true)))).build();
    }

    /** Whether the START lifted its number's opt-out (a retry of its job finds the mark its first run left). */
    boolean liftedOptOut(String accountId, String id) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)
                .projectionExpression("liftedOptOut")).item();
        return item != null && Attr.flag(item, "liftedOptOut");
    }

    static InboundMessage toMessage(Map<String, AttributeValue> item) {
        List<String> media = item.containsKey("mediaUrls") ? item.get("mediaUrls").l().stream().map(AttributeValue::s).toList() : List.of();
        return new InboundMessage(Attr.str(item, "inboundId"), Attr.str(item, "accountId"), Attr.str(item, "lineId"),
                Attr.str(item, "linePhone"), Attr.str(item, "from"), Attr.str(item, "body"), media,
                Keywords.Keyword.fromWire(Attr.str(item, "keyword")), Attr.flag(item, "possibleOptOut"),
                Attr.flag(item, "alsoAReply"), Attr.str(item, "conversationId"), Attr.str(item, "carrierMessageId"), Attr.num(item, "createdAt", 0),
                Attr.str(item, "threadUlid"), Attr.flag(item, "routedOnArrival"),
                BroadcastReplies.fromAttribute(item.get("inReplyTo")), review(item.get("review")), Attr.str(item, "fromName"),
                keywordAction(item.get("keywordAction")), Attr.flag(item, "fromLine"),
                Attr.flag(item, "handedOn"));
    }

    private static InboundMessage.KeywordAction keywordAction(AttributeValue attribute) {
        if (attribute == null || !attribute.hasM()) return null;
        var map = attribute.m();
        return new InboundMessage.KeywordAction(Attr.str(map, "keyword"), Attr.str(map, "action"), Attr.str(map, "groupId"),
                Attr.numOrNull(map, "appliedAt"));
    }

    private static InboundMessage.Review review(AttributeValue attribute) {
        if (attribute == null || !attribute.hasM()) return null;
        var map = attribute.m();
        return new InboundMessage.Review(Attr.flag(map, "optOut"), Attr.num(map, "reviewedAt", 0), Attr.str(map, "reviewedBy"));
    }

    /** What claiming or recording a review found. */
    sealed interface Reviewed {
        /** Claimed or recorded now, or found so by an earlier try of the same decision. */
        record Recorded(InboundMessage message) implements Reviewed {}
        /** Reviewed before, the other way: the review stands. */
        record DecidedOtherwise(InboundMessage.Review review) implements Reviewed {}
        /** Being reviewed the other way (claimed, its steps under way or cut off): that decision goes on. */
        record ClaimedOtherwise(boolean optOut) implements Reviewed {}
        record Gone() implements Reviewed {}
    }

    private static AttributeValue decision(boolean optOut) {
        return s(optOut ? "opt_out" : "not_opt_out");
    }

    /**
     * Claims a decision before any of its steps are taken ({@code reviewClaim}), so another decision is refused from
     * then on, also while the first one's steps run or after they were cut off (its retry goes on under the claim).
     */
    Reviewed claimReview(String accountId, String id, boolean optOut) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(accountId, id))
                    .updateExpression("SET reviewClaim = :d")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(review) "
                            + "AND (attribute_not_exists(reviewClaim) OR reviewClaim = :d)")
                    .expressionAttributeValues(Map.of(":d", decision(optOut))));
            return new Reviewed.Recorded(null);
        } catch (ConditionalCheckFailedException e) {
            return found(accountId, id, optOut);
        }
    }

    /**
     * Records the claimed decision once its steps are done: the first decision stands, and the same one again (a
     * retried request, a second person agreeing) changes nothing.
     */
    Reviewed review(String accountId, String id, InboundMessage.Review review) {
        var value = new HashMap<String, AttributeValue>();
        value.put("optOut", Attr.bool(review.optOut()));
        value.put("reviewedAt", n(review.reviewedAt()));
        value.put("reviewedBy", s(review.reviewedBy()));
        try {
            var item = dynamo.updateItem(b -> b.tableName(table).key(key(accountId, id))
                    .updateExpression("SET review = :r REMOVE reviewClaim")
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(review) AND reviewClaim = :d")
                    .expressionAttributeValues(Map.of(":r", AttributeValue.fromM(value), ":d", decision(review.optOut())))
                    .returnValues(software.amazon.awssdk.services.dynamodb.model.ReturnValue.ALL_NEW)).attributes();
            return new Reviewed.Recorded(toMessage(item));
        } catch (ConditionalCheckFailedException e) {
            return found(accountId, id, review.optOut());
        }
    }

    /** What a review's write found instead: the same decision (done), another one, a claim of another, or no text. */
    private Reviewed found(String accountId, String id, boolean optOut) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key(accountId, id)).consistentRead(true)).item();
        if (item == null || item.isEmpty()) return new Reviewed.Gone();
        var now = toMessage(item);
        if (now.review() != null) {
            return now.review().optOut() == optOut ? new Reviewed.Recorded(now) : new Reviewed.DecidedOtherwise(now.review());
        }
        return new Reviewed.ClaimedOtherwise(!optOut);
    }

    /**
     * Counts a text among a group message's answers or opt-outs, with its row, unless its row is there: for a text
     * linked already (a reply a person reviewed as an opt-out; a STOP-linked text the inbound worker then takes up).
     */
    void addRow(Map<String, AttributeValue> row, TransactWriteItem count) {
        var outcome = ops.transact(List.of(
                newRow(row),
                count));
        if (outcome instanceof DynamoOps.Cancelled c && !c.conditionFailed(0)) {
            throw new IllegalStateException("counting an answer cancelled: " + c);
        }
    }
}
