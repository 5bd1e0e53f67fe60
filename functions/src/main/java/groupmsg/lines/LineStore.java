package groupmsg.lines;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static groupmsg.platform.dynamo.Attr.bool;
import static groupmsg.platform.dynamo.Attr.n;
import static groupmsg.platform.dynamo.Attr.s;

/**
 * Lines in the core table: line {@code ACCT#a / LINE#<lineId>}, and the number's reservation
 * {@code LINEPHONE#<phone> / LINEPHONE} (accountId, lineId, mps, type), which makes a number belong to one line
 * across all accounts and tells inbound routing whose it is. Both are written in one transaction.
 */
final class LineStore {
    static final String LINE_PREFIX = "LINE#";

    private final DynamoDbClient dynamo;
    private final DynamoOps ops;
    private final String table;

    LineStore(DynamoOps ops, String table) {
        this.dynamo = ops.client();
        this.ops = ops;
        this.table = table;
    }

    static Map<String, AttributeValue> lineKey(String accountId, String lineId) {
        return Attr.key(Attr.accountPk(accountId), LINE_PREFIX + lineId);
    }

    static Map<String, AttributeValue> phoneKey(String phone) {
        return Attr.key("LINEPHONE#" + phone, "LINEPHONE");
    }

    /**
     * The number's last line, once deleted ({@code LINEPHONE#<phone> / FORMER}: accountId, lineId, mps, deletedAt), until a
     * line of any account takes the number again: a STOP or START texted to it meanwhile (a person answering an old
     * broadcast) is still recorded for that line, whose opt-outs come back with it.
     */
    static Map<String, AttributeValue> formerKey(String phone) {
        return Attr.key("LINEPHONE#" + phone, "FORMER");
    }

    /**
     * The account's marker of a deleted line's number, {@code ACCT#a / DELPHONE#<phone>} (lineId): written with the
     * deletion, removed when the line comes back, and checked absent by a create, so a create that looked for a
     * deleted line before a deletion committed cannot make a second line of the number (whose opt-outs would be
     * missing).
     */
    static Map<String, AttributeValue> deletedPhoneKey(String accountId, String phone) {
        return Attr.key(Attr.accountPk(accountId), "DELPHONE#" + phone);
    }

    /**
     * Creates the line and reserves its number; 409 when the number already belongs to a line (of any account).
     * False, writing nothing, when a line of the account with this number was deleted meanwhile: bring it back.
     */
    boolean create(String accountId, Line line, String createdBy) {
        return put(accountId, line, false, createdBy);
    }

    /**
     * Brings back a deleted line of the account under its id, with {@code line}'s settings, and reserves its number
     * again: its opt-outs, conversations and history are keyed by that id. 409 when the number belongs to a line
     * again (of any account), or the line was brought back meanwhile.
     */
    void revive(String accountId, Line line, String createdBy) {
        put(accountId, line, true, createdBy);
        forgetWaitingLine(line.id());
    }

    /**
     * Ends the line's waiting line when the jobs that held its places are gone: a deleted line's (hours of places of a
     * large message, failed since: the line brought back would otherwise give its new messages' jobs places after
     * it), or a local restart's (its queues lost the jobs). The spacing stays, so no send
     * still reserved comes closer than the rate allows. Best effort: left, the places run out on their own.
     */
    void forgetWaitingLine(String lineId) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(LineService.rateCursorKey(lineId))
                    .updateExpression("REMOVE waitAt, waitMps").conditionExpression("attribute_exists(pk)"));
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            // the line never had a cursor
        } catch (RuntimeException e) {
            groupmsg.platform.Log.warn("line_waiting_line_not_reset", Map.of("lineId", lineId, "error", e.getClass().getSimpleName()));
        }
    }

    /**
     * The line's item (new, or over its deleted self) and its number's reservation, in one transaction, with the
     * number's deletion marker checked absent (new) or removed (brought back). False when the marker was there.
     * {@code createdBy} is the ulid of the request that did it (its rerun finds the line by it).
     */
    private boolean put(String accountId, Line line, boolean revive, String createdBy) {
        var item = new HashMap<String, AttributeValue>(lineKey(accountId, line.id()));
        item.put("lineId", s(line.id()));
        item.put("phone", s(line.phone()));
        item.put("type", s(line.type().wireName()));
        item.put("groupMessaging", bool(line.groupMessaging()));
        item.put("mps", n(line.mps()));
        item.put("optOutReply", s(line.optOutReply()));
        item.put("optInReply", s(line.optInReply()));
        item.put("helpReply", s(line.helpReply()));
        if (line.optOutNotice() != null) item.put("optOutNotice", s(line.optOutNotice()));
        item.put("createdAt", n(line.createdAt()));
        item.put("updatedAt", n(line.updatedAt()));
        item.put("createdBy", s(createdBy));
        if (line.revivedAt() != null) item.put("revivedAt", n(line.revivedAt()));
        var reservation = new HashMap<String, AttributeValue>(phoneKey(line.phone()));
        reservation.put("accountId", s(accountId));
        reservation.put("lineId", s(line.id()));
        reservation.put("mps", n(line.mps()));
        reservation.put("type", s(line.type().wireName()));
        var outcome = ops.transact(List.of(
                TransactWriteItem.builder().put(p -> p.tableName(table).item(item)
                        .conditionExpression(revive ? "attribute_exists(deletedAt)" : "attribute_not_exists(pk)")).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(reservation)
                        .conditionExpression("attribute_not_exists(pk)")).build(),
                revive
                        ? TransactWriteItem.builder().delete(d -> d.tableName(table)
                                .key(deletedPhoneKey(accountId, line.phone()))).build()
                        : TransactWriteItem.builder().conditionCheck(c -> c.tableName(table)
                                .key(deletedPhoneKey(accountId, line.phone()))
                                .conditionExpression("attribute_not_exists(pk)")).build(),
                // the number is a line's again (this account's or another's): texts to it are that line's
                TransactWriteItem.builder().delete(d -> d.tableName(table).key(formerKey(line.phone()))).build()));
        // Never say whose it is: it may be another account's. (A line brought back meanwhile has it too.)
        if (outcome instanceof DynamoOps.Cancelled c && (c.conditionFailed(1) || revive && c.conditionFailed(0))) {
            throw ApiException.conflict("phone number " + line.phone() + " already belongs to a line");
        }
        if (outcome instanceof DynamoOps.Cancelled c && !revive && c.conditionFailed(2)) return false;
        if (outcome instanceof DynamoOps.Cancelled c) throw new IllegalStateException("line create cancelled: " + c);
        return true;
    }

    /**
     * Deletes the line: marked {@code deletedAt} (kept, for the history, usage and opt-outs keyed by its id), its
     * number's reservation removed, so the number can be taken again, and the account's marker of the deleted number
     * put (see {@link #deletedPhoneKey}). False when it is not there (or deleted). With the check that {@code caller}'s
     * key still exists in the same transaction (null: none): a request of a key revoked while it ran deletes nothing
     * ({@code CallerKey}; a forced delete fails every unsent message of the line).
     */
    boolean delete(String accountId, Line line, long now, groupmsg.platform.api.Caller caller) {
        var outcome = groupmsg.accounts.CallerKey.transact(ops, table, List.of(
                TransactWriteItem.builder().update(u -> u.tableName(table).key(lineKey(accountId, line.id()))
                        .updateExpression("SET deletedAt = :now, updatedAt = :now")
                        .conditionExpression("attribute_exists(pk) AND attribute_not_exists(deletedAt)")
                        .expressionAttributeValues(Map.of(":now", n(now)))).build(),
                TransactWriteItem.builder().delete(d -> d.tableName(table).key(phoneKey(line.phone()))
                        .conditionExpression("lineId = :line")
                        .expressionAttributeValues(Map.of(":line", s(line.id())))).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(deletedPhoneMarker(accountId, line, now))).build(),
                TransactWriteItem.builder().put(p -> p.tableName(table).item(formerLine(accountId, line, now))).build()),
                caller, null);
        if (outcome instanceof DynamoOps.Cancelled c && c.conditionFailed(0)) return false;
        if (outcome instanceof DynamoOps.Cancelled c) throw new IllegalStateException("line delete cancelled: " + c);
        return true;
    }

    private static Map<String, AttributeValue> formerLine(String accountId, Line line, long now) {
        var former = new HashMap<String, AttributeValue>(formerKey(line.phone()));
        former.put("accountId", s(accountId));
        former.put("lineId", s(line.id()));
        former.put("mps", n(line.mps()));
        former.put("deletedAt", n(now));
        return former;
    }

    private static Map<String, AttributeValue> deletedPhoneMarker(String accountId, Line line, long now) {
        var marker = new HashMap<String, AttributeValue>(deletedPhoneKey(accountId, line.phone()));
        marker.put("lineId", s(line.id()));
        marker.put("deletedAt", n(now));
        return marker;
    }

    /**
     * Whether a message of the account from the line is still being sent (accepted, not complete): the account's
     * rows of {@code JOBS#sending} (in-flight work only; a group message's kept for its event are passed over), then
     * their messages' line (one BatchGetItem per 100).
     */
    boolean sendingFrom(String accountId, String lineId) {
        var keys = ops.queryAll(table, "JOBS#sending", accountId + "#").stream()
                .filter(job -> !job.containsKey("completedAt"))
                .map(job -> Attr.key(Attr.accountPk(accountId), "MSG#" + Attr.str(job, "messageId"))).toList();
        return ops.batchGet(table, keys).stream().anyMatch(message -> lineId.equals(Attr.str(message, "lineId")));
    }

    /** A line as stored, with the ulid of the request that created it or last brought it back (null before those were kept). */
    record Kept(Line line, String createdBy) {}

    /** Every line of the account, deleted ones too, read consistently (an account has few). */
    List<Kept> all(String accountId) {
        return ops.queryAll(table, Attr.accountPk(accountId), LINE_PREFIX).stream()
                .map(item -> new Kept(toLine(item), Attr.str(item, "createdBy"))).toList();
    }

    /** The line, also when it was deleted. */
    Optional<Line> get(String accountId, String lineId) {
        var item = dynamo.getItem(b -> b.tableName(table).key(lineKey(accountId, lineId)).consistentRead(true)).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toLine(item));
    }

    /** Any number of lines of one account by id (missing ones are left out; deleted ones are not: usage names them). */
    List<Line> getAll(String accountId, List<String> lineIds) {
        List<Map<String, AttributeValue>> keys = lineIds.stream().distinct().map(id -> lineKey(accountId, id)).toList();
        return ops.batchGet(table, keys).stream().map(LineStore::toLine).toList();
    }

    record LinePage(List<Line> lines, Map<String, AttributeValue> lastKey) {}

    /**
     * A page of the account's lines, deleted ones too (a filter of a partition's items would end pages short); read
     * consistently, as the keys and groups are listed: a line just created or deleted is listed so.
     */
    LinePage list(String accountId, int limit, Map<String, AttributeValue> startKey) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table).consistentRead(true)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                .expressionAttributeValues(Map.of(":pk", s(Attr.accountPk(accountId)), ":prefix", s(LINE_PREFIX)))
                .exclusiveStartKey(startKey));
        List<Line> lines = new ArrayList<>();
        page.items().forEach(i -> lines.add(toLine(i)));
        return new LinePage(lines, page.lastKey());
    }

    /**
     * Sets the given fields (null = leave; an empty {@code optOutNotice} removes it) and keeps the reservation's copy
     * of {@code mps} in step, atomically. Returns false when the line does not exist (or was deleted).
     */
    boolean update(String accountId, Line current, Boolean groupMessaging, Double mps, String optOutReply,
                   String optInReply, String helpReply, String optOutNotice, long now) {
        var names = new HashMap<String, String>();
        var values = new HashMap<String, AttributeValue>(Map.of(":now", n(now)));
        List<String> sets = new ArrayList<>(List.of("updatedAt = :now"));
        if (groupMessaging != null) set(sets, names, values, "groupMessaging", bool(groupMessaging));
        if (mps != null) set(sets, names, values, "mps", n(mps));
        if (optOutReply != null) set(sets, names, values, "optOutReply", s(optOutReply));
        if (optInReply != null) set(sets, names, values, "optInReply", s(optInReply));
        if (helpReply != null) set(sets, names, values, "helpReply", s(helpReply));
        if (optOutNotice != null && !optOutNotice.isEmpty()) set(sets, names, values, "optOutNotice", s(optOutNotice));
        String expression = "SET " + String.join(", ", sets)
                + (optOutNotice != null && optOutNotice.isEmpty() ? " REMOVE optOutNotice" : "");
        List<TransactWriteItem> actions = new ArrayList<>();
        actions.add(TransactWriteItem.builder().update(u -> {
            u.tableName(table).key(lineKey(accountId, current.id())).updateExpression(expression)
                    .conditionExpression("attribute_exists(pk) AND attribute_not_exists(deletedAt)").expressionAttributeValues(values);
            if (!names.isEmpty()) u.expressionAttributeNames(names);
        }).build());
        if (mps != null) {
            actions.add(TransactWriteItem.builder().update(u -> u.tableName(table).key(phoneKey(current.phone()))
                    .updateExpression("SET #mps = :mps")
                    .conditionExpression("lineId = :line")
                    .expressionAttributeNames(Map.of("#mps", "mps"))
                    .expressionAttributeValues(Map.of(":mps", n(mps), ":line", s(current.id())))).build());
        }
        var outcome = ops.transact(actions);
        if (outcome instanceof DynamoOps.Cancelled c) {
            if (c.conditionFailed(0)) return false;
            throw new IllegalStateException("line update cancelled: " + c);
        }
        return true;
    }

    Optional<LineOwner> owner(String phone) {
        return ownerAt(phoneKey(phone));
    }

    /** The number's last line, deleted, while no line has the number (see {@link #formerKey}). */
    Optional<LineOwner> formerOwner(String phone) {
        return ownerAt(formerKey(phone));
    }

    private Optional<LineOwner> ownerAt(Map<String, AttributeValue> key) {
        var item = dynamo.getItem(b -> b.tableName(table).key(key).consistentRead(true)).item();
        if (item == null || item.isEmpty()) return Optional.empty();
        return Optional.of(new LineOwner(Attr.str(item, "accountId"), Attr.str(item, "lineId"),
                Attr.decimal(item, "mps", LineRules.DEFAULT_MPS)));
    }

    private static void set(List<String> sets, Map<String, String> names, Map<String, AttributeValue> values,
                            String attribute, AttributeValue value) {
        names.put("#" + attribute, attribute);
        values.put(":" + attribute, value);
        sets.add("#" + attribute + " = :" + attribute);
    }

    private static Line toLine(Map<String, AttributeValue> item) {
        LineType type = LineType.fromWire(Attr.str(item, "type"))
                .orElseThrow(() -> new IllegalStateException("line with unknown type " + Attr.str(item, "type")));
        return new Line(Attr.str(item, "lineId"), Attr.str(item, "phone"), type, Attr.flag(item, "groupMessaging"),
                Attr.decimal(item, "mps", LineRules.DEFAULT_MPS), Attr.str(item, "optOutReply"),
                Attr.str(item, "optInReply"), Attr.str(item, "helpReply"), Attr.str(item, "optOutNotice"),
                Attr.num(item, "createdAt", 0),
                Attr.num(item, "updatedAt", 0), item.containsKey("deletedAt") ? Attr.num(item, "deletedAt", 0) : null,
                item.containsKey("revivedAt") ? Attr.num(item, "revivedAt", 0) : null);
    }
}
