package groupmsg.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(LocalRuntimeExtension.class)
class LocalEndpointsE2eTest {

    @Test
    void healthIsOkWhenDynamoDbAndSqsAnswer(ApiClient api) {
        var health = api.withoutKey().get("/local/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.jsonObject()).containsEntry("status", "ok").containsEntry("dynamodb", "ok").containsEntry("sqs", "ok");
        assertThat(health.jsonObject().get("handlers")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("authorizer", "ok");
    }

    @Test
    void createsAnAccountWhoseOwnerKeyWorksAtOnce(ApiClient api) {
        var created = api.withoutKey().post("/local/accounts", Map.of("name", "Acme Dental"));
        assertThat(created.status()).isEqualTo(201);
        assertThat(created.header("content-type")).startsWith("application/json");
        String accountId = (String) created.jsonObject().get("accountId");
        String apiKey = (String) created.jsonObject().get("apiKey");
        assertThat(accountId).startsWith("acct_");
        assertThat(apiKey).isNotBlank();

        var account = api.withKey(apiKey).get("/v1/account");
        assertThat(account.status()).isEqualTo(200);
        assertThat(account.jsonObject()).containsEntry("id", accountId).containsEntry("name", "Acme Dental");
    }

    @Test
    void rejectsBadAccountRequestsWithTheContractsErrorBody(ApiClient api) {
        var noKey = api.withoutKey();
        for (String body : new String[]{"{not json", "[]", "{}", "{\"name\":\"  \"}", "{\"name\":42}", "",
                "{\"name\":\"x\"} xx", "{\"name\":\"a\\u0000b\"}", "{\"name\":\"a\\ud800\"}", "{\"name\":\"a\\nb\"}",
                "{\"name\":\"x\",\"nmae\":\"y\"}"}) {
            var response = noKey.send("POST", "/local/accounts", "application/json", body);
            assertThat(response.status()).as(body).isEqualTo(400);
            assertThat(response.errorCode()).as(body).isEqualTo("invalid_request");
            assertThat(response.jsonObject().get("error")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                    .containsKey("message");
        }
    }

    /**
     * The runtime under the published default carrier token: a request a tunnel forwarded reaches the API, not the
     * carrier webhooks (anyone knowing the tunnel could sign a STOP or a START with that token).
     */
    @Test
    void aForwardedWebhookIsRefusedWhileTheCarrierTokenIsTheDefault(ApiClient api) {
        var forwarded = api.withoutKey().withHeader("X-Forwarded-For", "203.0.113.9");
        var webhook = forwarded.post("/webhooks/twilio/inbound", Map.of());
        assertThat(webhook.status()).isEqualTo(403);
        assertThat(webhook.body()).contains("TWILIO_AUTH_TOKEN");
        assertThat(api.withHeader("X-Forwarded-For", "203.0.113.9").get("/v1/account").status()).isEqualTo(200);
    }

    @Test
    void unknownLocalEndpointsAreNotFound(ApiClient api) {
        var response = api.withoutKey().get("/local/nothing-here");
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.errorCode()).isEqualTo("not_found");
        assertThat(api.withoutKey().get("/local/accounts").status()).as("wrong method").isEqualTo(404);
    }
}
