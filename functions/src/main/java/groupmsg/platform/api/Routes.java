package groupmsg.platform.api;

import groupmsg.platform.schema.Handlers;

import java.util.List;
import java.util.Optional;

import static groupmsg.platform.api.Permission.*;

/** Every route of the public HTTP API (API.md). The stack and the local gateway are both built from this list. */
public final class Routes {
    private static final String ADMIN = Handlers.ADMIN_API.name();
    private static final String GROUPS = Handlers.GROUPS_API.name();
    private static final String MESSAGES = Handlers.MESSAGES_API.name();
    private static final String WEBHOOK = Handlers.CARRIER_WEBHOOK.name();
    private static final String INBOUND = Handlers.INBOUND_API.name();
    private static final String CONVERSATIONS_API = Handlers.CONVERSATIONS_API.name();

    public static final List<RouteDef> ALL = List.of(
            new RouteDef("GET", "/v1/account", ADMIN, READ, false),
            new RouteDef("PATCH", "/v1/account", ADMIN, ADMINISTER, false),
            new RouteDef("POST", "/v1/api-keys", ADMIN, MANAGE_KEYS, true),
            new RouteDef("GET", "/v1/api-keys", ADMIN, MANAGE_KEYS, false),
            new RouteDef("DELETE", "/v1/api-keys/{id}", ADMIN, MANAGE_KEYS, false),

            new RouteDef("POST", "/v1/groups", GROUPS, MANAGE_GROUPS, true),
            new RouteDef("GET", "/v1/groups", GROUPS, READ, false),
            new RouteDef("GET", "/v1/groups/{id}/members.csv", GROUPS, READ, false),
            new RouteDef("GET", "/v1/groups/import-template.csv", GROUPS, READ, false),
            new RouteDef("GET", "/v1/groups/{id}", GROUPS, READ, false),
            new RouteDef("PATCH", "/v1/groups/{id}", GROUPS, MANAGE_GROUPS, false),
            new RouteDef("DELETE", "/v1/groups/{id}", GROUPS, MANAGE_GROUPS, false),
            new RouteDef("POST", "/v1/groups/{id}/members", GROUPS, MANAGE_GROUPS, true),
            new RouteDef("GET", "/v1/groups/{id}/members", GROUPS, READ, false),
            new RouteDef("GET", "/v1/groups/{id}/members/{phone}", GROUPS, READ, false),
            new RouteDef("PATCH", "/v1/groups/{id}/members/{phone}", GROUPS, MANAGE_GROUPS, false),
            new RouteDef("DELETE", "/v1/groups/{id}/members/{phone}", GROUPS, MANAGE_GROUPS, false),
            // an extension: the group's messages go to the number again (its undeliverable mark cleared)
            new RouteDef("DELETE", "/v1/groups/{id}/members/{phone}/undeliverable", GROUPS, MANAGE_GROUPS, false),
            // an extension of API.md: removal in batches, as adding is
            new RouteDef("POST", "/v1/groups/{id}/members/remove", GROUPS, MANAGE_GROUPS, true),
            new RouteDef("POST", "/v1/groups/{id}/imports", GROUPS, MANAGE_GROUPS, true),
            // extensions: one number across the account's groups (add to several, remove from all)
            new RouteDef("POST", "/v1/members", GROUPS, MANAGE_GROUPS, true),
            new RouteDef("POST", "/v1/members/remove", GROUPS, MANAGE_GROUPS, true),
            new RouteDef("GET", "/v1/groups/{id}/imports", GROUPS, READ, false),
            new RouteDef("GET", "/v1/groups/{id}/imports/{importId}", GROUPS, READ, false),

            new RouteDef("POST", "/v1/lines", ADMIN, ADMINISTER, true),
            new RouteDef("GET", "/v1/lines", ADMIN, READ, false),
            new RouteDef("GET", "/v1/lines/{id}", ADMIN, READ, false),
            // an extension: the account's own webhooks (its events POSTed to its endpoints)
            new RouteDef("POST", "/v1/webhooks", ADMIN, ADMINISTER, true),
            new RouteDef("GET", "/v1/webhooks", ADMIN, ADMINISTER, false),
            new RouteDef("GET", "/v1/webhooks/{id}", ADMIN, ADMINISTER, false),
            new RouteDef("PATCH", "/v1/webhooks/{id}", ADMIN, ADMINISTER, false),
            new RouteDef("POST", "/v1/webhooks/{id}/test", ADMIN, ADMINISTER, false),
            new RouteDef("POST", "/v1/webhooks/{id}/rotate-secret", ADMIN, ADMINISTER, true),
            new RouteDef("DELETE", "/v1/webhooks/{id}", ADMIN, ADMINISTER, false),
            new RouteDef("PATCH", "/v1/lines/{id}", ADMIN, ADMINISTER, false),
            // an extension: a line given up (its number free again; the same number later brings it back)
            new RouteDef("DELETE", "/v1/lines/{id}", ADMIN, ADMINISTER, false),
            // an extension: a line's own keywords (a text "JOIN" joins its sender to a group, "LEAVE" takes them out)
            new RouteDef("POST", "/v1/lines/{id}/keywords", ADMIN, ADMINISTER, true),
            new RouteDef("GET", "/v1/lines/{id}/keywords", ADMIN, READ, false),
            new RouteDef("GET", "/v1/lines/{id}/keywords/{keyword}", ADMIN, READ, false),
            new RouteDef("PATCH", "/v1/lines/{id}/keywords/{keyword}", ADMIN, ADMINISTER, false),
            new RouteDef("DELETE", "/v1/lines/{id}/keywords/{keyword}", ADMIN, ADMINISTER, false),
            new RouteDef("GET", "/v1/usage", ADMIN, READ, false),

            new RouteDef("POST", "/v1/groups/{id}/messages", MESSAGES, SEND_MESSAGES, true),
            // an extension: what a send would be now (text, encoding, segments, recipients), nothing sent or stored
            new RouteDef("POST", "/v1/groups/{id}/messages/preview", MESSAGES, SEND_MESSAGES, false),
            new RouteDef("GET", "/v1/messages", MESSAGES, READ, false),
            new RouteDef("GET", "/v1/messages/{id}", MESSAGES, READ, false),
            new RouteDef("GET", "/v1/messages/{id}/deliveries.csv", MESSAGES, READ, false),
            new RouteDef("GET", "/v1/messages/{id}/deliveries", MESSAGES, READ, false),
            // an extension: the texts its recipients sent in answer to a group message (inbound messages, hence here)
            new RouteDef("GET", "/v1/messages/{id}/replies", INBOUND, READ, false),
            new RouteDef("GET", "/v1/messages/{id}/opt-outs", INBOUND, READ, false),
            new RouteDef("DELETE", "/v1/messages/{id}", MESSAGES, SEND_MESSAGES, false),

            // Writes also need the caller's role in the account's groupChatRoles (checked by the service).
            new RouteDef("POST", "/v1/conversations", CONVERSATIONS_API, CONVERSATIONS, true),
            new RouteDef("GET", "/v1/conversations", CONVERSATIONS_API, READ, false),
            new RouteDef("GET", "/v1/conversations/{id}", CONVERSATIONS_API, READ, false),
            new RouteDef("PATCH", "/v1/conversations/{id}", CONVERSATIONS_API, CONVERSATIONS, false),
            new RouteDef("POST", "/v1/conversations/{id}/participants", CONVERSATIONS_API, CONVERSATIONS, false),
            new RouteDef("DELETE", "/v1/conversations/{id}/participants/{phone}", CONVERSATIONS_API, CONVERSATIONS, false),
            // an extension of API.md: a participant's name (as the others see their replies) can be corrected
            new RouteDef("PATCH", "/v1/conversations/{id}/participants/{phone}", CONVERSATIONS_API, CONVERSATIONS, false),
            new RouteDef("POST", "/v1/conversations/{id}/messages", CONVERSATIONS_API, CONVERSATIONS, true),
            new RouteDef("GET", "/v1/conversations/{id}/messages", CONVERSATIONS_API, READ, false),
            new RouteDef("GET", "/v1/conversations/{id}/messages/{messageId}", CONVERSATIONS_API, READ, false),
            new RouteDef("GET", "/v1/conversations/{id}/messages/{messageId}/deliveries", CONVERSATIONS_API, READ, false),

            new RouteDef("GET", "/v1/opt-outs", INBOUND, READ, false),
            new RouteDef("GET", "/v1/opt-outs.csv", INBOUND, READ, false),
            new RouteDef("POST", "/v1/opt-outs", INBOUND, ADMINISTER, true),
            new RouteDef("DELETE", "/v1/opt-outs/{lineId}/{phone}", INBOUND, ADMINISTER, false),
            new RouteDef("GET", "/v1/inbound", INBOUND, READ, false),
            new RouteDef("GET", "/v1/inbound/{id}", INBOUND, READ, false),
            // an extension of API.md: answering one person, the sender of an inbound message
            new RouteDef("POST", "/v1/inbound/{id}/replies", INBOUND, SEND_MESSAGES, true),
            new RouteDef("GET", "/v1/inbound/{id}/replies", INBOUND, READ, false),
            // an extension of API.md: the business's own message to one number from a line (nothing to answer)
            new RouteDef("POST", "/v1/lines/{id}/messages", INBOUND, SEND_MESSAGES, true),
            new RouteDef("GET", "/v1/lines/{id}/messages", INBOUND, READ, false),
            new RouteDef("GET", "/v1/lines/{id}/messages/{messageId}", INBOUND, READ, false),
            // an extension of API.md: a person's reading of a text flagged possibleOptOut (any role that may send, as
            // honouring an opt-out must never wait for an admin)
            new RouteDef("POST", "/v1/inbound/{id}/review", INBOUND, SEND_MESSAGES, false),

            // Carrier webhooks: no API key; the carrier's signature is the credential.
            new RouteDef("POST", "/webhooks/twilio/inbound", WEBHOOK, null, false),
            new RouteDef("POST", "/webhooks/twilio/status", WEBHOOK, null, false));

    /** API Gateway's catch-all route key; answers unknown routes with the contract's 404 body. */
    public static final String DEFAULT_ROUTE_KEY = "$default";

    public static List<RouteDef> forHandler(String handler) {
        return ALL.stream().filter(r -> r.handler().equals(handler)).toList();
    }

    /** The other methods the path of a route key is served with, e.g. ["GET"] for "DELETE /v1/messages/{id}". */
    public static List<String> otherMethods(String routeKey) {
        return byKey(routeKey).map(route -> ALL.stream().filter(r -> r.path().equals(route.path()))
                .map(RouteDef::method).filter(m -> !m.equals(route.method())).distinct().sorted().toList())
                .orElse(List.of());
    }

    public static Optional<RouteDef> byKey(String routeKey) {
        return ALL.stream().filter(r -> r.key().equals(routeKey)).findFirst();
    }

    private Routes() {}
}
