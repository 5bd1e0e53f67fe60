package groupmsg.carrier;

/**
 * Where and as whom to reach the carrier's REST API.
 *
 * @param apiBaseUrl e.g. {@code https://api.twilio.com}; the local runtime points it at its emulator
 */
public record CarrierSettings(String apiBaseUrl, String accountSid, String authToken) {
    public static final String DEFAULT_API_BASE_URL = "https://api.twilio.com";

    @Override
    public String toString() {
        return "CarrierSettings[apiBaseUrl=" + apiBaseUrl + ", accountSid=" + accountSid + ", authToken=***]";
    }
}
