package groupmsg.lines;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;

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
        return Attr.key(Attr.accountPk(accountId), PREFIX + lineId + "#" + keyword);
    }

    Optional<LineKeyword> get(String accountId, String lineId, String keyword) {
        var item = ops.client().getItem(b -> b.tableName(table).key(key(accountId, lineId, keyword)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toKeyword(item));
    }

    /** The line's keywords, in the order of their words. */
    List<LineKeyword> list(String accountId, String lineId) {
        return ops.queryAll(table, Attr.accountPk(accountId), PREFIX + lineId + "#").stream()
                .map(LineKeywordStore::toKeyword).toList();
    }

    /** Stores a new keyword; false when the line has it already. */
    boolean create(String accountId, LineKeyword k) {
        var item = new HashMap<>(key(accountId, k.lineId(), k.keyword()));
        item.put("lineId", s(k.lineId()));
        item.put("keyword", s(k.keyword()));
        item.put("action", s(k.action().wireName()));
        item.put("groupId", s(k.groupId()));
        if (k.reply() != null) item.put("reply", s(k.reply()));
        item.put("createdAt", n(k.createdAt()));
        item.put("updatedAt", n(k.updatedAt()));
        try {
            ops.client().putItem(b -> b.tableName(table).item(item).conditionExpression("attribute_not_exists(pk)"));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /** Replaces what the keyword does, as {@code k} has it; false when the line has no such keyword. */
    boolean update(String accountId, LineKeyword k) {
        var values = new HashMap<String, AttributeValue>();
        values.put(":action", s(k.action().wireName()));
        values.put(":group", s(k.groupId()));
        values.put(":at", n(k.updatedAt()));
        String set = "SET #action = :action, groupId = :group, updatedAt = :at";
        if (k.reply() != null) values.put(":reply", s(k.reply()));
        String reply = k.reply() != null ? ", reply = :reply" : " REMOVE reply";
        return ops.updateIf(b -> b.tableName(table).key(key(accountId, k.lineId(), k.keyword()))
                .updateExpression(set + reply).conditionExpression("attribute_exists(pk)")
                .expressionAttributeNames(Map.of("#action", "action")).expressionAttributeValues(values));
    }

    /** Removes the keyword; false when the line had none such. */
    boolean delete(String accountId, String lineId, String keyword) {
        try {
            ops.client().deleteItem(b -> b.tableName(table).key(key(accountId, lineId, keyword))
                    .conditionExpression("attribute_exists(pk)"));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    private static LineKeyword toKeyword(Map<String, AttributeValue> item) {
        return new LineKeyword(Attr.str(item, "lineId"), Attr.str(item, "keyword"),
                LineKeyword.Action.fromWire(Attr.str(item, "action")).orElseThrow(), Attr.str(item, "groupId"),
                Attr.str(item, "reply"), Attr.num(item, "createdAt", 0), Attr.num(item, "updatedAt", 0));
    }
}
