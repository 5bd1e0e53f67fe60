package groupmsg.optout;

import groupmsg.platform.Log;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.QueryPage;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.HashMap;
import java.util.Optional;
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
    public static final String SOURCE_KEYWORD = "keyword";
    public static final String SOURCE_MANUAL = "manual";
    /** A person reviewed a text of the number (no keyword, e.g. "stop texting me") and took it as an opt-out. */
    public static final String SOURCE_REVIEW = "review";

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

    /** How often a "Yes" in a conversation that lifted nothing is answered with the line's optInReply: once a day per number. */
    static final long EVERYDAY_OPT_IN_REPLY_EVERY_MILLIS = 24 * 3_600_000L;

    /**
     * Claims the line's {@code optInReply} for the "Yes" {@code inboundId} from a number that was not opted out, in a
     * conversation (an everyday answer, also relayed there): true when the number had none in the last day, or this
     * same text claimed it before (a retry of its job sends its reply still). In a conversation where "Yes" answers most
     * questions, each one earned its author "You are resubscribed", billed, while they had never been unsubscribed.
     * {@code YESREPLY#<lineId> / <phone>}, expiring with its day.
     */
    public boolean claimEverydayOptInReply(String lineId, String phone, String inboundId, long at) {
        try {
            dynamo.putItem(b -> b.tableName(table).item(java.util.Map.of("pk", AttributeValue.fromS("YESREPLY#" + lineId),
                            "sk", AttributeValue.fromS(phone), "inboundId", AttributeValue.fromS(inboundId),
                            "repliedAt", Attr.n(at), "expiresAt", Attr.n((at + EVERYDAY_OPT_IN_REPLY_EVERY_MILLIS) / 1000 + 3_600)))
                    .conditionExpression("attribute_not_exists(pk) OR repliedAt <= :dayAgo OR inboundId = :id")
                    .expressionAttributeValues(java.util.Map.of(":dayAgo", Attr.n(at - EVERYDAY_OPT_IN_REPLY_EVERY_MILLIS),
                            ":id", AttributeValue.fromS(inboundId))));
            return true;
        } catch (software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException e) {
            return false;
        }
    }

    /** Which of {@code phones} are opted out of {@code lineId} (BatchGetItem, 100 keys a call). */
    public Set<String> optedOut(String lineId, List<String> phones) {
        Set<String> out = new HashSet<>();
        for (var item : rowsOf(lineId, phones)) out.add(Attr.str(item, "sk"));
        return out;
    }

    /** {@link #optedOut}, with when each opted out (the same BatchGetItem). */
    public java.util.Map<String, Long> optedOutAt(String lineId, List<String> phones) {
        var out = new java.util.HashMap<String, Long>();
        for (var item : rowsOf(lineId, phones)) out.put(Attr.str(item, "sk"), Attr.num(item, "optedOutAt", 0));
        return out;
    }

    /** The opt-out rows of those of {@code phones} that have one on the line. */
    private List<java.util.Map<String, AttributeValue>> rowsOf(String lineId, List<String> phones) {
        if (phones.isEmpty()) return List.of();
        return ops.batchGet(table, phones.stream().map(p -> Attr.key(pk(lineId), p)).toList());
    }

    /**
     * Records an opt-out caused by the inbound message {@code inboundId} (a STOP). True when this message is the one
     * the number gets its confirmation for: the number was not opted out, or only by the business ({@code manual})
     * or a carrier error, so it never got the line's {@code optOutReply}; or an earlier try of this same message
     * recorded it. False when the number had already texted a STOP before, or a text of its was reviewed as an
     * opt-out (it has had its confirmation either way); false too when the opt-out was lifted after the STOP arrived.
     * <p>
     * A row recorded otherwise becomes this STOP's (source {@code keyword}, {@code causedBy} this message), keeping
     * when the number opted out first; so a later STOP finds a keyword row caused by another message, and gets no
     * second reply.
     */
    public boolean recordKeyword(String accountId, String lineId, String phone, String inboundId, long at) {
        // never made anew: its arrival wrote the row (recordOnArrival), so a row gone since was lifted after
        // the STOP (the business removed it, or a START handled while this STOP's job was held back): it stays
        // lifted, unconfirmed (a confirmation now would tell a resubscribed number it is unsubscribed)
        return recordConfirmable(accountId, lineId, phone, inboundId, at, SOURCE_KEYWORD, List.of(SOURCE_KEYWORD, SOURCE_REVIEW), false);
    }

    /**
     * Makes the opt-out this text's, with {@code source}, unless it is already one that had its confirmation (its
     * source among {@code confirmed}, caused by another text): true when it is this text's now (the text's confirmation
     * is due), false otherwise. The first opt-out's time stays.
     */
    private boolean recordConfirmable(String accountId, String lineId, String phone, String inboundId, long at,
                                      String source, List<String> confirmed, boolean mayCreate) {
        var values = new HashMap<String, AttributeValue>(java.util.Map.of(":a", s(accountId), ":line", s(lineId),
                ":phone", s(phone), ":id", s(inboundId), ":at", n(at), ":source", s(source)));
        List<String> notConfirmed = new java.util.ArrayList<>();
        for (int i = 0; i < confirmed.size(); i++) {
            values.put(":confirmed" + i, s(confirmed.get(i)));
            notConfirmed.add("#source <> :confirmed" + i);
        }
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(pk(lineId), phone))
                    .updateExpression("SET accountId = :a, lineId = :line, phone = :phone, #source = :source, "
                            + "causedBy = :id, optedOutAt = if_not_exists(optedOutAt, :at)")
                    .conditionExpression((mayCreate ? "attribute_not_exists(pk) OR " : "attribute_exists(pk) AND (")
                            + "causedBy = :id OR attribute_not_exists(#source) "
                            + "OR (" + String.join(" AND ", notConfirmed) + ")" + (mayCreate ? "" : ")"))
                    .expressionAttributeNames(java.util.Map.of("#source", "source"))
                    .expressionAttributeValues(values));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    /**
     * The opt-out of a STOP as it arrives, to commit with the inbound message itself (API.md: "recorded at once"): from
     * that moment nothing but the confirmation and HELP answers goes to the number, though the opt-out worker, which
     * decides on the confirmation ({@link #recordKeyword}), runs a moment later. It never fails (a condition would
     * cancel the message's store) and takes nothing from a row there already: a number opted out before keeps its
     * source, time and the STOP it was confirmed for; {@code causedBy} is only added where there is none, so it is
     * this message's exactly when {@link #recordKeyword} would have made it so.
     */
    public TransactWriteItem recordOnArrival(String accountId, String lineId, String phone, String inboundId, long at,
                                             boolean networkWord) {
        // networkStop: whether a STOP of the number's may have been the toll-free network's own word (it blocks the
        // number then): once one was, it stays so while the opt-out lasts. A row from before networkStop whose STOP
        // came then is taken for one (its word is not known): read first, only for another word (STOPs are few).
        boolean network = networkWord || stoppedBeforeNetworkStop(lineId, phone);
        var values = new HashMap<>(keywordValues(accountId, lineId, phone, inboundId, at));
        values.put(":networkWord", AttributeValue.fromBool(network));
        String networkStop = network ? ", networkStop = :networkWord" : ", networkStop = if_not_exists(networkStop, :networkWord)";
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(Attr.key(pk(lineId), phone))
                .updateExpression("SET accountId = :a, lineId = :line, phone = :phone, "
                        + "#source = if_not_exists(#source, :keyword), causedBy = if_not_exists(causedBy, :id), "
                        + "optedOutAt = if_not_exists(optedOutAt, :at), lastStopId = :id" + networkStop)
                .expressionAttributeNames(java.util.Map.of("#source", "source"))
                .expressionAttributeValues(values)).build();
    }

    /** The expression values of a STOP's opt-out: its row's fields, the keyword source, the STOP's id and time. */
    private static java.util.Map<String, AttributeValue> keywordValues(String accountId, String lineId, String phone,
                                                                       String inboundId, long at) {
        return java.util.Map.of(":a", s(accountId), ":line", s(lineId), ":phone", s(phone), ":keyword", s(SOURCE_KEYWORD),
                ":id", s(inboundId), ":at", n(at));
    }

    /**
     * Records the opt-out a person read in the text {@code inboundId} ({@code causedBy} it). True when this text's
     * review made it (now, or an earlier try of it), or took over an opt-out recorded by hand or after a carrier error
     * (never confirmed: as a STOP does, see {@link #recordKeyword}); false when the number's STOP, or another reviewed
     * text, opted it out already (it was confirmed then). A later STOP leaves the row as it is (no second
     * confirmation; its opt_out.changed event still says "keyword", of that STOP), and a later START lifts it.
     */
    public boolean recordReviewed(String accountId, String lineId, String phone, String inboundId, long at) {
        return recordConfirmable(accountId, lineId, phone, inboundId, at, SOURCE_REVIEW, List.of(SOURCE_KEYWORD, SOURCE_REVIEW), true);
    }

    /**
     * Records a manual opt-out, with {@code alsoWrite} (the outbox row of its event; null for none) in the same
     * transaction when it creates one; returns the one on record and whether this call created it.
     */
    public Recorded recordManual(String accountId, String lineId, String phone, long at, TransactWriteItem alsoWrite) {
        var item = item(accountId, lineId, phone, SOURCE_MANUAL, at);
        var put = TransactWriteItem.builder().put(b -> b.tableName(table).item(item).conditionExpression("attribute_not_exists(pk)")).build();
        if (commitsUnlessItsConditionFails(put, alsoWrite, "manual opt-out")) {
            return new Recorded(new OptOut(lineId, phone, SOURCE_MANUAL, at), true);
        }
        // opted out already; or lifted again since the condition failed, which leaves nothing to show: this one's
        return new Recorded(get(lineId, phone).orElse(new OptOut(lineId, phone, SOURCE_MANUAL, at)), false);
    }

    public record Recorded(OptOut optOut, boolean created) {}

    /**
     * Records an opt-out the carrier reported (it refused a send: the number unsubscribed), with {@code alsoWrite} (the
     * outbox row of the job that follows it) in the same transaction, so that what follows cannot be lost between
     * the two; false when the number was opted out on the line already (nothing follows a second time).
     */
    public boolean recordCarrierRefusal(String accountId, String lineId, String phone, long at, TransactWriteItem alsoWrite) {
        var item = item(accountId, lineId, phone, SOURCE_CARRIER_ERROR, at);
        var put = TransactWriteItem.builder().put(p -> p.tableName(table).item(item).conditionExpression("attribute_not_exists(pk)")).build();
        return commitsUnlessItsConditionFails(put, alsoWrite, "carrier opt-out");
    }

    /**
     * Whether the number's opt-out on the line came from the network's side, which a toll-free network then enforces
     * itself: a STOP it texted in the network's own word ({@code networkStop}, whatever source the row keeps: one
     * reviewed first stays {@code review}), or a carrier's refusal. False when it is not opted out, and for an opt-out
     * by another of our words ("REMOVE"), which the network neither blocks nor answers. A row from before
     * {@code networkStop} counts any STOP it had ({@code lastStopId}, or the keyword source) as the network's.
     */
    public boolean fromTheNetworksSide(String lineId, String phone) {
        var item = item(lineId, phone);
        if (item == null || item.isEmpty()) return false;
        String source = Attr.str(item, "source");
        if (SOURCE_CARRIER_ERROR.equals(source)) return true;
        AttributeValue networkStop = item.get("networkStop");
        if (networkStop != null && networkStop.bool() != null) return networkStop.bool();
        return stoppedBeforeNetworkStop(item);
    }

    /**
     * Whether the number's opt-out row had a STOP recorded before rows kept {@code networkStop}. A read that fails says
     * no, as for a number with no row, the common case (only an old row could say yes), and the STOP it is asked for
     * is stored with its webhook whatever happens.
     */
    private boolean stoppedBeforeNetworkStop(String lineId, String phone) {
        java.util.Map<String, AttributeValue> item;
        try {
            item = item(lineId, phone);
        } catch (RuntimeException e) {
            Log.error("optout_network_stop_unknown", java.util.Map.of("lineId", lineId), e);
            return false;
        }
        return item != null && !item.isEmpty() && !item.containsKey("networkStop") && stoppedBeforeNetworkStop(item);
    }

    /** A row without {@code networkStop}: whether it has a STOP on record (which then counts as the network's). */
    private static boolean stoppedBeforeNetworkStop(java.util.Map<String, AttributeValue> row) {
        return row.containsKey("lastStopId") || SOURCE_KEYWORD.equals(Attr.str(row, "source"));
    }

    public Optional<OptOut> get(String lineId, String phone) {
        var item = item(lineId, phone);
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(toOptOut(item));
    }

    /** The number's opt-out row on the line, read consistently (null or empty when there is none). */
    private java.util.Map<String, AttributeValue> item(String lineId, String phone) {
        return dynamo.getItem(b -> b.tableName(table).key(Attr.key(pk(lineId), phone)).consistentRead(true)).item();
    }

    /**
     * Removes the opt-out for an opt-in keyword ({@code inboundId}, a START), unless a STOP arrived after it: STOPs
     * are recorded as they are stored ({@code lastStopId}, see {@link #recordOnArrival}), so a START handled a moment
     * later must not lift the opt-out of a STOP the number sent after it. Inbound ids are ULIDs, ordered by when each
     * text was stored; a START stored late is placed where it came ({@link #position}): one the webhook handed on,
     * stored seconds later, came after a STOP sent after it and stored at once, and lifted its opt-out (a STOP handed
     * on and stored after a later START keeps the number opted out: the safe side). Rows from before {@code lastStopId}
     * go by {@code causedBy}; rows of no STOP go: a carrier error's, and one by hand recorded before the START arrived.
     * True when this removed the opt-out, together with {@code markLifted} (the START's mark, in one transaction, so
     * that a retry of a START whose first run lifted it and then failed knows it did); false when there was none to
     * remove, or a later STOP's stays.
     */
    public boolean removeForOptIn(String lineId, String phone, String inboundId) {
        return removeForOptIn(lineId, phone, inboundId,
                groupmsg.platform.config.Ids.timeOf(inboundId.substring(inboundId.indexOf('_') + 1)), false, null);
    }

    /**
     * As {@link #removeForOptIn(String, String, String)}, for a START that came at {@code arrivedAt} ({@code handedOn}:
     * stored by the inbound worker from its webhook's hand-on), with its mark (null: none) in the same transaction.
     */
    public boolean removeForOptIn(String lineId, String phone, String inboundId, long arrivedAt, boolean handedOn,
                                  TransactWriteItem markLifted) {
        String position = position(inboundId, arrivedAt, handedOn);
        // an opt-out by hand recorded after the START arrived is newer than it, and stays (a carrier's "unsubscribed",
        // stamped when its send returned, tells of an opt-out at the carrier from before: the START lifts it)
        var delete = TransactWriteItem.builder().delete(b -> b.tableName(table)
                .key(Attr.key(pk(lineId), phone))
                .conditionExpression("attribute_exists(pk) AND (lastStopId < :id OR (attribute_not_exists(lastStopId) "
                        + "AND (causedBy < :id OR (attribute_not_exists(causedBy) AND (#source <> :manual OR optedOutAt < :arrived)))))")
                .expressionAttributeNames(java.util.Map.of("#source", "source"))
                .expressionAttributeValues(java.util.Map.of(":id", s(position), ":arrived", n(arrivedAt),
                        ":manual", s(SOURCE_MANUAL)))).build();
        if (commitsUnlessItsConditionFails(delete, markLifted, "opt-in")) return true;
        // None, or a later STOP's: it stays, and becomes that STOP's, which then gets the confirmation (this START
        // resubscribed the number, so that STOP opts it out anew; the row still named the STOP before).
        try {
            dynamo.updateItem(b -> b.tableName(table).key(Attr.key(pk(lineId), phone))
                    .updateExpression("SET causedBy = lastStopId, #source = :keyword")
                    // not when a STOP after the START is its cause already (confirmed, or a review's): a repeated
                    // STOP after it is not confirmed a second time
                    .conditionExpression("lastStopId > :id AND (attribute_not_exists(causedBy) OR causedBy < :id)")
                    .expressionAttributeNames(java.util.Map.of("#source", "source"))
                    .expressionAttributeValues(java.util.Map.of(":id", s(position), ":keyword", s(SOURCE_KEYWORD))));
        } catch (ConditionalCheckFailedException gone) {
            // none, or removed or taken by another since: nothing to hand over
        }
        return false;
    }

    /**
     * Where a START stands among the number's STOPs (ids, ordered as stored): its id; or, for one its webhook handed on
     * ({@code handedOn}: stored by the inbound worker, however soon) or stored over {@link #STORED_LATE_MILLIS} after it
     * came ({@code arrivedAt}: slowed by retries), the lowest id of the moment it came, so it is not taken for one sent
     * after the STOPs stored meanwhile (a hand-on's job can be stored within the 500 ms, after a STOP that came after
     * it and was stored at once). A STOP that came before such a START but was stored after it came (slowed too) then
     * keeps the number opted out: the safe side. One stored at once keeps its id: a STOP stored just before it, in the
     * same millisecond, is before it.
     */
    static String position(String inboundId, long arrivedAt, boolean handedOn) {
        int ulidAt = inboundId.indexOf('_') + 1;
        if (!handedOn && groupmsg.platform.config.Ids.timeOf(inboundId.substring(ulidAt)) - arrivedAt <= STORED_LATE_MILLIS) {
            return inboundId;
        }
        String cameAt = inboundId.substring(0, ulidAt) + groupmsg.platform.config.Ids.lowestAt(arrivedAt);
        return cameAt.compareTo(inboundId) < 0 ? cameAt : inboundId;
    }

    /**
     * How long after it came a START its webhook stored counts as late ({@link #position}): a webhook's own store takes
     * tens of milliseconds, and one slowed by the SDK's retries takes seconds.
     */
    static final long STORED_LATE_MILLIS = 500;

    /**
     * The STOP after the START {@code inboundId} (which came at {@code arrivedAt}; {@code handedOn} as
     * {@link #position}'s) that the number's opt-out on the line is now caused by (a consistent read; see
     * {@link #removeForOptIn}), when there is one.
     */
    public Optional<String> laterStopCause(String lineId, String phone, String inboundId, long arrivedAt, boolean handedOn) {
        var item = item(lineId, phone);
        String causedBy = item == null ? null : Attr.str(item, "causedBy");
        String position = position(inboundId, arrivedAt, handedOn);
        return Optional.ofNullable(causedBy).filter(id -> id.compareTo(position) > 0 && SOURCE_KEYWORD.equals(Attr.str(item, "source")));
    }

    /**
     * Removes the number's opt-out on the line if it is a carrier's refusal recorded before {@code before} (epoch ms),
     * with {@code alsoWrite} (the outbox row of its event) in the same transaction; false when it is not (none, a STOP's
     * since, one by hand).
     */
    public boolean removeCarrierRefusal(String lineId, String phone, long before, TransactWriteItem alsoWrite) {
        var delete = TransactWriteItem.builder().delete(b -> b.tableName(table).key(Attr.key(pk(lineId), phone))
                .conditionExpression("#source = :carrier AND optedOutAt < :before AND attribute_not_exists(lastStopId)")
                .expressionAttributeNames(java.util.Map.of("#source", "source"))
                .expressionAttributeValues(java.util.Map.of(":carrier", s(SOURCE_CARRIER_ERROR), ":before", n(before)))).build();
        return commitsUnlessItsConditionFails(delete, alsoWrite, "carrier opt-out lift");
    }

    /**
     * Removes the opt-out, with {@code alsoWrite} (the outbox row of its event; null for none) in the same transaction,
     * if the number's last STOP is still {@code lastStopId} (null: it texted none); false when there was none, or another
     * STOP came since.
     */
    public boolean remove(String lineId, String phone, String lastStopId, TransactWriteItem alsoWrite) {
        var delete = TransactWriteItem.builder().delete(b -> {
            b.tableName(table).key(Attr.key(pk(lineId), phone));
            if (lastStopId == null) {
                b.conditionExpression("attribute_exists(pk) AND attribute_not_exists(lastStopId)");
            } else {
                b.conditionExpression("attribute_exists(pk) AND lastStopId = :stop")
                        .expressionAttributeValues(java.util.Map.of(":stop", s(lastStopId)));
            }
        }).build();
        return commitsUnlessItsConditionFails(delete, alsoWrite, "opt-out removal");
    }

    /** The number's opt-out on the line as its removal needs it: the id of its last STOP, null when none came. */
    public record Standing(String lastStopId) {}

    public Optional<Standing> standing(String lineId, String phone) {
        var item = item(lineId, phone);
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(new Standing(Attr.str(item, "lastStopId")));
    }

    /**
     * Commits {@code write} with {@code alsoWrite} (null: none) in one transaction: true when it committed, false when
     * {@code write}'s condition failed; cancelled for any other reason, it throws ({@code what} names it).
     */
    private boolean commitsUnlessItsConditionFails(TransactWriteItem write, TransactWriteItem alsoWrite, String what) {
        var outcome = ops.transact(alsoWrite == null ? List.of(write) : List.of(write, alsoWrite));
        if (outcome instanceof DynamoOps.Committed) return true;
        if (!((DynamoOps.Cancelled) outcome).conditionFailed(0)) throw new IllegalStateException(what + " cancelled: " + outcome);
        return false;
    }

    public record Page(List<OptOut> optOuts, java.util.Map<String, AttributeValue> lastKey) {}

    /** The number's opt-outs of any of {@code lineIds} (BatchGetItem, 100 keys a call), in no particular order. */
    public List<OptOut> ofNumber(List<String> lineIds, String phone) {
        if (lineIds.isEmpty()) return List.of();
        return ops.batchGet(table, lineIds.stream().map(l -> Attr.key(pk(l), phone)).toList()).stream()
                .map(OptOutStore::toOptOut).toList();
    }

    /**
     * A line's opt-outs in number order; read consistently, as the keys and groups are listed: an opt-out just
     * recorded (a 201, a STOP) must be in the list and the do-not-text export read right after it.
     */
    public Page list(String lineId, int limit, java.util.Map<String, AttributeValue> start) {
        var page = QueryPage.of(dynamo, limit, b -> b.tableName(table).keyConditionExpression("pk = :pk").consistentRead(true)
                .expressionAttributeValues(java.util.Map.of(":pk", s(pk(lineId)))).exclusiveStartKey(start));
        return new Page(page.items().stream().map(OptOutStore::toOptOut).toList(), page.lastKey());
    }

    /** The partition a cursor of {@link #list} must point into. */
    public static String listPartition(String lineId) {
        return pk(lineId);
    }

    private static HashMap<String, AttributeValue> item(String accountId, String lineId, String phone, String source, long at) {
        var item = new HashMap<String, AttributeValue>(Attr.key(pk(lineId), phone));
        item.put("accountId", s(accountId));
        item.put("lineId", s(lineId));
        item.put("phone", s(phone));
        item.put("source", s(source));
        item.put("optedOutAt", n(at));
        return item;
    }

    private static OptOut toOptOut(java.util.Map<String, AttributeValue> item) {
        String pk = Attr.str(item, "pk");
        return new OptOut(pk.substring("OPTOUT#".length()), Attr.str(item, "sk"), Attr.str(item, "source"),
                Attr.num(item, "optedOutAt", 0));
    }
}
