package groupmsg.platform.api;

/** What a route needs from the caller's role. */
public enum Permission {
    READ,
    MANAGE_GROUPS,
    SEND_MESSAGES,
    CONVERSATIONS,
    /** Account settings, lines, opt-outs. */
    ADMINISTER,
    MANAGE_KEYS
}
