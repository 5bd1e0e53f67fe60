package groupmsg.lines;

/**
 * Who a phone number belongs to (the {@code LINEPHONE} reservation): for routing inbound messages and status
 * callbacks to an account, and for the line's carrier rate.
 */
public record LineOwner(String accountId, String lineId, double mps) {}
