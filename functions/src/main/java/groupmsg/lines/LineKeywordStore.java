package groupmsg.lines;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * A line's own keywords in the core table: {@code ACCT#a / LINEKW#<lineId>#<KEYWORD>} (lineId, keyword, action,
 * groupId, reply, createdAt, updatedAt). Read by key for a text that may be one (one GetItem), listed by prefix.
 */
final class LineKeywordStore {
    private static final String PREFIX = "LINEKW#";

    private final DynamoOps ops;
    private final String table;

    LineKeywordStore(DynamoOps ops, String table) {
        this.ops = ops;
        this.table = table;
    }

    private static Map<String, AttributeValue> key(String accountId, String lineId, String keyword) {
        return Attr.key(Attr.accountPk(accountId), prefix(lineId) + keyword);
    }

    Optional<LineKeyword> get(String accountId, String lineId, String keyword) {
        return getKept(accountId, lineId, keyword).map(Kept::keyword);
    }

    /** A keyword as stored, with the id of the request that created it (null for one stored before they were kept). */
    record Kept(LineKeyword keyword, String createdBy) {}

    Optional<Kept> getKept(String accountId, String lineId, String keyword) {
        var item = ops.client().getItem(b -> b.tableName(table).key(key(accountId, lineId, keyword)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(kept(item));
    }

    /** The line's keywords, in the order of their words (every one: a line has 20 at most). */
    List<Kept> list(String accountId, String lineId) {
        return ops.queryAll(table, Attr.accountPk(accountId), prefix(lineId)).stream().map(LineKeywordStore::kept).toList();
    }

    record Page(List<LineKeyword> keywords, Map<String, AttributeValue> lastKey) {}

    /** A page of the line's keywords after {@code start} (a key of one of them, or null), in the order of their words. */
    Page list(String accountId, String lineId, int limit, Map<String, AttributeValue> start) {
        var page = QueryPage.of(ops.client(), limit, b -> b.tableName(table).consistentRead(true)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                .expressionAttributeValues(Map.of(":pk", s(Attr.accountPk(accountId)), ":prefix", s(prefix(lineId))))
                .exclusiveStartKey(start));
        return new Page(page.items().stream().map(LineKeywordStore::toKeyword).toList(), page.lastKey());
    }

    /** The sort keys of a line's keywords begin so: a list's cursor must too. */
    static String prefix(String lineId) {
        return PREFIX + lineId + "#";
    }

    /** Stores a new keyword, created by the request {@code createdBy}; false when the line has it already. */
    boolean create(String accountId, LineKeyword k, String createdBy) {
        var item = new HashMap<>(key(accountId, k.lineId(), k.keyword()));
        item.put("createdBy", s(createdBy));
        item.put("lineId", s(k.lineId()));
        item.put("keyword", s(k.keyword()));
        item.put("action", s(k.action().wireName()));
        item.put("groupId", s(k.groupId()));
        if (k.reply() != null) item.put("reply", s(k.reply()));
        item.put("createdAt", n(k.createdAt()));
        item.put("updatedAt", n(k.updatedAt()));
        return ops.putIf(b -> b.tableName(table).item(item).conditionExpression("attribute_not_exists(pk)"));
    }

    /**
     * Replaces what the keyword does, as {@code k} has it, if it is still as it was at {@code seenUpdatedAt}; false when
     * it changed meanwhile (or went): two changes at once each checked against the keyword they read.
     */
    boolean update(String accountId, LineKeyword k, long seenUpdatedAt) {
        var values = new HashMap<String, AttributeValue>();
        values.put(":action", s(k.action().wireName()));
        values.put(":group", s(k.groupId()));
        values.put(":at", n(k.updatedAt()));
        values.put(":seen", n(seenUpdatedAt));
        String set = "SET #action = :action, groupId = :group, updatedAt = :at";
        if (k.reply() != null) values.put(":reply", s(k.reply()));
        String reply = k.reply() != null ? ", reply = :reply" : " REMOVE reply";
        return ops.updateIf(b -> b.tableName(table).key(key(accountId, k.lineId(), k.keyword()))
                .updateExpression(set + reply).conditionExpression("updatedAt = :seen")
                .expressionAttributeNames(Map.of("#action", "action")).expressionAttributeValues(values));
    }

    /** Deletes the keyword if the request {@code createdBy} made it (not one made again since by another). */
    boolean deleteCreatedBy(String accountId, String lineId, String keyword, String createdBy) {
        return ops.deleteIf(b -> b.tableName(table).key(key(accountId, lineId, keyword))
                .conditionExpression("createdBy = :by").expressionAttributeValues(Map.of(":by", s(createdBy))));
    }

    /** Removes the keyword; false when the line had none such. */
    boolean delete(String accountId, String lineId, String keyword) {
        return ops.deleteIf(b -> b.tableName(table).key(key(accountId, lineId, keyword))
                .conditionExpression("attribute_exists(pk)"));
    }

    private static Kept kept(Map<String, AttributeValue> item) {
        return new Kept(toKeyword(item), Attr.str(item, "createdBy"));
    }

    private static LineKeyword toKeyword(Map<String, AttributeValue> item) {
        return new LineKeyword(Attr.str(item, "lineId"), Attr.str(item, "keyword"),
                LineKeyword.Action.fromWire(Attr.str(item, "action")).orElseThrow(), Attr.str(item, "groupId"),
                Attr.str(item, "reply"), Attr.num(item, "createdAt", 0), Attr.num(item, "updatedAt", 0));
    }
}
