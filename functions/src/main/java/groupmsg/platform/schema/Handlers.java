package groupmsg.platform.schema;

import java.util.List;
import java.util.Map;

/**
 * Every handler in the functions jar. A handler that exists but is missing here fails a test. Memory and timeouts
 * follow the measurements in infra/DEPLOY.md ("Memory and timeouts"): init is CPU-bound, so handlers on a request
 * path that build SDK clients get 1024 MB (about 0.6 of a vCPU; a full one comes at 1,769 MB); heap needs are far below
 * that.
 */
public final class Handlers {
    public static final HandlerDef AUTHORIZER = new HandlerDef("authorizer",
            "groupmsg.accounts.AuthorizerHandler", HandlerDef.Trigger.AUTHORIZER, 1024, 5,
            List.of("core"), List.of());
    public static final HandlerDef ADMIN_API = new HandlerDef("admin-api",
            "groupmsg.accounts.AdminApiHandler", HandlerDef.Trigger.HTTP, 1024, 10,
            List.of("core"), List.of());
    public static final HandlerDef GROUPS_API = new HandlerDef("groups-api",
            "groupmsg.groups.GroupsApiHandler", HandlerDef.Trigger.HTTP, 1024, 29,
            List.of("core", "members"), List.of("imports"));
    public static final HandlerDef NOT_FOUND = new HandlerDef("not-found",
            "groupmsg.platform.api.NotFoundHandler", HandlerDef.Trigger.HTTP, 256, 3,
            List.of(), List.of());
    public static final HandlerDef IMPORT_WORKER = new HandlerDef("import-worker",
            "groupmsg.groups.ImportWorkerHandler", HandlerDef.Trigger.SQS, 1024, 120,
            List.of("core", "members"), List.of("imports"));
    public static final HandlerDef MAINTENANCE = new HandlerDef("maintenance",
            "groupmsg.maintenance.MaintenanceHandler", HandlerDef.Trigger.SCHEDULE, 512, 60,
            List.of("core", "members", "deliveries"), List.of("imports", "fanout", "deliveries", "inbound", "optouts", "relays"));

    public static final HandlerDef MESSAGES_API = new HandlerDef("messages-api",
            "groupmsg.messages.MessagesApiHandler", HandlerDef.Trigger.HTTP, 1024, 10,
            List.of("core", "members", "deliveries"), List.of("fanout"));
    public static final HandlerDef FANOUT_WORKER = new HandlerDef("fanout-worker",
            "groupmsg.messages.FanoutWorkerHandler", HandlerDef.Trigger.SQS, 1024, 120,
            List.of("core", "members", "deliveries"), List.of("fanout", "deliveries"));
    public static final HandlerDef DELIVERY_WORKER = new HandlerDef("delivery-worker",
            "groupmsg.messages.DeliveryWorkerHandler", HandlerDef.Trigger.SQS, 1024, 60,
            List.of("core", "members", "deliveries"), List.of("deliveries", "optouts"));
    public static final HandlerDef RECEIPT_WORKER = new HandlerDef("receipt-worker",
            "groupmsg.messages.ReceiptWorkerHandler", HandlerDef.Trigger.SQS, 1024, 30,
            // optouts: what follows a carrier's "unsubscribed" in a receipt (CarrierOptOuts)
            List.of("core", "members", "deliveries"), List.of("optouts"));
    public static final HandlerDef CARRIER_WEBHOOK = new HandlerDef("carrier-webhook",
            "groupmsg.webhooks.CarrierWebhookHandler", HandlerDef.Trigger.HTTP, 1024, 10,
            // deliveries: routing a text as it arrives reads whether a conversation's messages since the line's
            // private message reached its sender (ConversationRouter)
            List.of("core", "deliveries"), List.of("receipts", "inbound", "optouts"));

    public static final HandlerDef INBOUND_API = new HandlerDef("inbound-api",
            "groupmsg.inbound.InboundApiHandler", HandlerDef.Trigger.HTTP, 1024, 10,
            // fanout: an answer's rerun (Idempotency-Key) of one stored unordered before answers were ordered
            List.of("core", "deliveries", "members"), List.of("relays", "optouts", "fanout"));
    public static final HandlerDef INBOUND_WORKER = new HandlerDef("inbound-worker",
            "groupmsg.inbound.InboundWorkerHandler", HandlerDef.Trigger.SQS, 1024, 30,
            // inbound: a reply's publish the topic refused, handed to a job of its own; optouts: a "Yes" that lifts
            // (OptOutService.handleKeyword) tells the carrier refusals it lifts on other lines through the opt-out worker
            List.of("core", "deliveries", "members"), List.of("relays", "fanout", "inbound", "optouts"));
    public static final HandlerDef CONVERSATIONS_API = new HandlerDef("conversations-api",
            "groupmsg.conversations.ConversationsApiHandler", HandlerDef.Trigger.HTTP, 1024, 10,
            // fanout: a message's rerun (Idempotency-Key) of one stored unordered before conversations were ordered
            List.of("core", "members", "deliveries"), List.of("relays", "fanout"));
    public static final HandlerDef RELAY_WORKER = new HandlerDef("relay-worker",
            "groupmsg.messages.RelayWorkerHandler", HandlerDef.Trigger.SQS, 1024, 60,
            List.of("core", "deliveries"), List.of("optouts"));
    public static final HandlerDef OPTOUT_WORKER = new HandlerDef("optout-worker",
            "groupmsg.optout.OptOutWorkerHandler", HandlerDef.Trigger.SQS, 1024, 30,
            // relays: keyword replies, in order per line and number; fanout: a rerun of one stored unordered before;
            // optouts: a START's lift of carrier refusals on other lines, told in that number's order there
            List.of("core", "deliveries", "members"), List.of("relays", "fanout", "optouts"));

    /**
     * Delivers events to the accounts' own webhooks (the webhooks queue, which the integrations topic delivers to). An
     * event an endpoint did not take goes to the webhooks queue again, delayed, and after its last pass to its
     * dead-letter queue.
     */
    public static final HandlerDef WEBHOOK_WORKER = new HandlerDef("webhook-worker",
            "groupmsg.integrations.WebhookWorkerHandler", HandlerDef.Trigger.SQS, 512, 30,
            List.of("core"), List.of("webhooks"), List.of("webhooks"));

    /**
     * Creates an account and its first owner key for an operator ({@code aws lambda invoke}, see infra/DEPLOY.md):
     * the only way into a deployed stack, whose API needs a key for everything. Not latency-sensitive, hence 512 MB.
     */
    public static final HandlerDef BOOTSTRAP_ACCOUNT = new HandlerDef("bootstrap-account",
            "groupmsg.accounts.BootstrapAccountHandler", HandlerDef.Trigger.INVOKE, 512, 10,
            List.of("core"), List.of());

    public static final List<HandlerDef> ALL = List.of(AUTHORIZER, ADMIN_API, GROUPS_API, NOT_FOUND, IMPORT_WORKER,
            MAINTENANCE, MESSAGES_API, FANOUT_WORKER, DELIVERY_WORKER, RECEIPT_WORKER, CARRIER_WEBHOOK, INBOUND_API, INBOUND_WORKER,
            OPTOUT_WORKER, CONVERSATIONS_API, RELAY_WORKER, WEBHOOK_WORKER, BOOTSTRAP_ACCOUNT);

    /**
     * The partition key of an API key's lookup row ({@code KEYHASH#<sha256> / KEYHASH}): the authorizer takes the
     * account and role it holds as they are, so a function that can write one can make itself an owner key of any
     * account. Only the functions whose code writes them may (the stack denies the others, HandlerNeeds finds which).
     */
    public static final String KEY_LOOKUP_PREFIX = "KEYHASH#";

    /**
     * Handlers granted less than read/write on a table they list, by handler name (the stack grants these instead;
     * see {@link TableAccess}). The prefixes are the account store's key design (docs/TABLES.md).
     * <ul>
     *   <li>authorizer: one consistent GetItem of {@code KEYHASH#<sha256>} per request, nothing else (it runs for
     *       every API call, with no tenant of its own: it must not be able to read tenants' data);</li>
     *   <li>bootstrap-account: the one transaction that puts {@code ACCT#<a>/ACCOUNT}, {@code ACCT#<a>/KEY#<k>},
     *       {@code KEYHASH#<sha256>/KEYHASH} and the key count {@code ACCT#<a>/KEY-COUNT}; it never reads.</li>
     * </ul>
     */
    public static final Map<String, TableAccess> NARROWED_TABLE_ACCESS = Map.of(
            AUTHORIZER.name(), new TableAccess("core", List.of("dynamodb:GetItem"), List.of(KEY_LOOKUP_PREFIX)),
            BOOTSTRAP_ACCOUNT.name(), new TableAccess("core", List.of("dynamodb:PutItem"), List.of("ACCT#", KEY_LOOKUP_PREFIX)));

    /** How often the scheduled maintenance handler runs. */
    public static final int MAINTENANCE_INTERVAL_MINUTES = 1;

    public static HandlerDef byName(String name) {
        return ALL.stream().filter(h -> h.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no handler " + name));
    }

    private Handlers() {}
}
