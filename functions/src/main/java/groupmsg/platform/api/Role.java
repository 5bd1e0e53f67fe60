package groupmsg.platform.api;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** API key roles and what each may do (API.md, "Roles and permissions"). */
public enum Role {
    OWNER(EnumSet.allOf(Permission.class)),
    ADMIN(EnumSet.complementOf(EnumSet.of(Permission.MANAGE_KEYS))),
    MEMBER(EnumSet.of(Permission.READ, Permission.MANAGE_GROUPS, Permission.SEND_MESSAGES, Permission.CONVERSATIONS));

    private final Set<Permission> permissions;

    Role(Set<Permission> permissions) {
        this.permissions = permissions;
    }

    /**
     * {@code CONVERSATIONS} is additionally governed by the account's {@code groupChatRoles} setting, which the
     * conversations handler checks; the role table only says the role is not excluded outright.
     */
    public boolean may(Permission permission) {
        return permissions.contains(permission);
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Role> fromWire(String value) {
        if (value == null) return Optional.empty();
        for (Role r : values()) {
            if (r.wireName().equals(value)) return Optional.of(r);
        }
        return Optional.empty();
    }
}
