package groupmsg.optout;

import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Opt-outs per line and number in the core table: {@code OPTOUT#<lineId> / <phone>} with the account, source
 * ({@code keyword}, {@code manual}, {@code carrier_error}) and time. Looked up in batches at delivery time.
 */
public final class OptOutStore {
    public static final String SOURCE_CARRIER_ERROR = "carrier_error";

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    public OptOutStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static String pk(String lineId) {
        return "OPTOUT#" + lineId;
    }

    /** Which of {@code phones} are opted out of {@code lineId} (BatchGetItem, 100 keys a call). */
    public Set<String> optedOut(String lineId, List<String> phones) {
        Set<String> out = new HashSet<>();
        if (phones.isEmpty()) return out;
        var keys = phones.stream().map(p -> Attr.key(pk(lineId), p)).toList();
        for (var item : ops.batchGet(table, keys)) out.add(Attr.str(item, "sk"));
        return out;
    }

    /** Records an opt-out (idempotent: the first record's time and source are kept). */
    public void record(String accountId, String lineId, String phone, String source, long at) {
        var values = new HashMap<String, AttributeValue>();
        values.put(":a", s(accountId));
        values.put(":src", s(source));
        values.put(":at", n(at));
        values.put(":phone", s(phone));
        dynamo.updateItem(b -> b.tableName(table).key(Attr.key(pk(lineId), phone))
                .updateExpression("SET accountId = if_not_exists(accountId, :a), #source = if_not_exists(#source, :src), "
                        + "optedOutAt = if_not_exists(optedOutAt, :at), phone = :phone")
                .expressionAttributeNames(java.util.Map.of("#source", "source"))
                .expressionAttributeValues(values));
    }
}
