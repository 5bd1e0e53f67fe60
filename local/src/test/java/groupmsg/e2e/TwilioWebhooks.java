package groupmsg.e2e;

import groupmsg.carrier.TwilioSignature;
import groupmsg.local.ApiClient;
import groupmsg.local.LocalRuntime;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Posts a webhook as Twilio would: form-encoded, signed over the runtime's public URL (or with a given signature). */
public final class TwilioWebhooks {
    private TwilioWebhooks() {}

    public static ApiClient.Response post(ApiClient api, LocalRuntime runtime, String pathAndQuery, Map<String, String> params,
                                   String signatureOverride) {
        StringBuilder form = new StringBuilder();
        Map<String, List<String>> multi = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            if (!form.isEmpty()) form.append('&');
            form.append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8));
            multi.put(k, List.of(v));
        });
        String signature = signatureOverride != null ? signatureOverride
                : TwilioSignature.compute(runtime.publicBaseUrl() + pathAndQuery, multi, runtime.settings().twilioAuthToken());
        return api.withoutKey().withHeader(TwilioSignature.HEADER, signature)
                .send("POST", pathAndQuery, "application/x-www-form-urlencoded", form.toString());
    }
}
