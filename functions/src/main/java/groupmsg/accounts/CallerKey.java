package groupmsg.accounts;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.ErrorCode;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.util.ArrayList;
import java.util.List;

/**
 * The calling API key, checked again in the transaction of a write that outlives the request (a key, a key's
 * secret, a revocation, a webhook, its deletion, a line's deletion): the authorizer checked it before the handler ran, and a request under way when
 * its key was revoked would otherwise still commit, so a leaked owner key kept minting owner keys after the owner's
 * revocation answered 204. API.md: a revoked key stops working at once.
 */
public final class CallerKey {
    private CallerKey() {
    }

    /**
     * Runs {@code actions} in one transaction with the check that the caller's key still exists last, and throws
     * {@link #revoked()} when that check cancelled it. No check without a caller (the local runtime's own keys), nor
     * for a key acting on its own row ({@code ownKeyId}): its own action there is the check (and one transaction may
     * not touch an item twice).
     */
    public static DynamoOps.TransactOutcome transact(DynamoOps ops, String table, List<TransactWriteItem> actions,
                                                     Caller caller, String ownKeyId) {
        if (caller == null || caller.keyId().equals(ownKeyId)) return ops.transact(actions);
        var checked = new ArrayList<>(actions);
        checked.add(stillValid(table, caller));
        var outcome = ops.transact(checked);
        if (outcome instanceof DynamoOps.Cancelled c && c.conditionFailed(actions.size())) throw revoked();
        return outcome;
    }

    /** A condition that the caller's key row still exists ({@code ACCT#a / KEY#k}). */
    private static TransactWriteItem stillValid(String table, Caller caller) {
        return TransactWriteItem.builder().conditionCheck(c -> c.tableName(table)
                .key(Attr.key(Attr.accountPk(caller.accountId()), AccountStore.keySk(caller.keyId())))
                .conditionExpression("attribute_exists(pk)")).build();
    }

    /** The answer when {@link #stillValid} failed: as the authorizer answers a revoked key, and nothing was changed. */
    public static ApiException revoked() {
        return new ApiException(ErrorCode.FORBIDDEN, "this API key was revoked while the request ran; nothing was changed");
    }
}
