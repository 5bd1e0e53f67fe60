package groupmsg.platform.api;

/**
 * One HTTP API route. {@code key()} is API Gateway's route key ("POST /v1/groups/{id}"); the local gateway
 * matches requests against {@code path} the way API Gateway does, and the stack creates one route per entry.
 *
 * @param permission null for routes without the authorizer (webhooks)
 * @param idempotent whether an {@code Idempotency-Key} header is honoured (writes that create things)
 */
public record RouteDef(String method, String path, String handler, Permission permission, boolean idempotent) {

    public String key() {
        return method + " " + path;
    }

    public boolean authorized() {
        return permission != null;
    }
}
