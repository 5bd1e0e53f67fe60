package groupmsg.inbound;

import groupmsg.messages.BroadcastReplies;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.Map;

/**
 * The texts linked to a group message as answers to it ({@link BroadcastReplies}), for the inbound API alone: the
 * webhook and the workers that build {@link InboundService} need neither this nor the deliveries table.
 */
final class MessageAnswers {
    private final InboundStore store;
    private final BroadcastReplies broadcasts;

    MessageAnswers(Wiring wiring) {
        this.store = new InboundStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.broadcasts = new BroadcastReplies(wiring);
    }

    /** Oldest first; 404 unless the id is a group message of the account. */
    InboundService.InboundPage list(String accountId, String messageId, int limit, Map<String, AttributeValue> start) {
        if (!broadcasts.isGroupMessage(accountId, messageId)) throw ApiException.notFound("message");
        var page = store.answers(accountId, messageId, limit, start);
        return new InboundService.InboundPage(page.messages(), page.lastKey());
    }

    /** The partition a cursor of {@link #list} must point into. */
    static String partition(String accountId, String messageId) {
        return InboundStore.answersPk(accountId, messageId);
    }

    /** The numbers that opted out in answer to the message, in number order; 404 as {@link #list}. */
    InboundStore.OptOutAnswers optOuts(String accountId, String messageId, int limit, Map<String, AttributeValue> start) {
        if (!broadcasts.isGroupMessage(accountId, messageId)) throw ApiException.notFound("message");
        return store.optOutAnswers(accountId, messageId, limit, start);
    }

    /** The partition a cursor of {@link #optOuts} must point into. */
    static String optOutsPartition(String accountId, String messageId) {
        return InboundStore.optOutsPk(accountId, messageId);
    }
}
