package groupmsg.optout;

/**
 * A number that asked a line to send it nothing more.
 *
 * @param source {@code keyword} (it texted STOP), {@code manual} (the business recorded it) or
 *               {@code carrier_error} (the carrier refused to send, e.g. Twilio 21610) or {@code review} (a person
 *               took a text of it, such as "stop texting me", as an opt-out)
 */
public record OptOut(String lineId, String phone, String source, long createdAt) {}
