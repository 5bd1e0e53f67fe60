package groupmsg.messages;

/**
 * A job stopped because the carrier turned its sends away (429/20429, 503) or could not be reached, on every try: its
 * recipients were given back to queued, nothing of them sent, and the job is to be tried again in a while.
 */
public final class CarrierUnavailable extends IllegalStateException {
    public CarrierUnavailable(String message) {
        super(message);
    }
}
