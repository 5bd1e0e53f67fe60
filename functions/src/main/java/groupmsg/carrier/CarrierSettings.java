package groupmsg.carrier;

import java.util.ArrayList;
import java.util.List;

/**
 * Where and as whom to reach the carrier's REST API.
 *
 * @param apiBaseUrl        e.g. {@code https://api.twilio.com}; the local runtime points it at its emulator
 * @param authToken         the token requests are made with, and the carrier's webhooks are signed with
 * @param previousAuthToken while the token is being rotated, the one it replaces, whose signatures are still taken
 *                          (the carrier signs with its primary token until the new one is promoted); null otherwise
 */
public record CarrierSettings(String apiBaseUrl, String accountSid, String authToken, String previousAuthToken) {
    public static final String DEFAULT_API_BASE_URL = "https://api.twilio.com";

    public CarrierSettings(String apiBaseUrl, String accountSid, String authToken) {
        this(apiBaseUrl, accountSid, authToken, null);
    }

    /** The tokens a webhook's signature may be made with: the token, and the previous one during a rotation. */
    public List<String> signingTokens() {
        List<String> tokens = new ArrayList<>();
        if (authToken != null && !authToken.isEmpty()) tokens.add(authToken);
        if (previousAuthToken != null && !previousAuthToken.isEmpty() && !previousAuthToken.equals(authToken)) {
            tokens.add(previousAuthToken);
        }
        return List.copyOf(tokens);
    }

    @Override
    public String toString() {
        return "CarrierSettings[apiBaseUrl=" + apiBaseUrl + ", accountSid=" + accountSid + ", authToken=***"
                + (previousAuthToken == null ? "" : ", previousAuthToken=***") + "]";
    }
}
