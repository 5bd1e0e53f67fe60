package groupmsg.accounts;

import groupmsg.platform.api.Role;

/** An API key as listed: never its secret. */
public record ApiKeyView(String id, String name, Role role, String last4, long createdAt) {
    public static final String ID_PREFIX = "key_";
}
