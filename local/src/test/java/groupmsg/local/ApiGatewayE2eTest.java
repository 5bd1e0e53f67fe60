package groupmsg.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The gateway's own rules, through HTTP, in front of the real authorizer and handlers. */
@ExtendWith(LocalRuntimeExtension.class)
class ApiGatewayE2eTest {

    @Test
    void missingAuthorizationHeaderIs401WithApiGatewaysBody(ApiClient api) {
        var response = api.withoutKey().get("/v1/groups");
        assertThat(response.status()).isEqualTo(401);
        assertThat(response.body()).isEqualTo("{\"message\":\"Unauthorized\"}");
        assertThat(response.header("content-type")).isEqualTo("application/json");
        assertThat(response.header("apigw-requestid")).isNotBlank();

        var blank = api.withoutKey().withHeader("Authorization", " ").get("/v1/groups");
        assertThat(blank.status()).isEqualTo(401);
    }

    @Test
    void unknownKeyIs403WithApiGatewaysBody(ApiClient api) {
        var response = api.withKey("gmk_this_key_does_not_exist_0000000000").get("/v1/groups");
        assertThat(response.status()).isEqualTo(403);
        assertThat(response.body()).isEqualTo("{\"message\":\"Forbidden\"}");

        var notBearer = api.withoutKey().withHeader("Authorization", "Basic dXNlcjpwYXNz").get("/v1/groups");
        assertThat(notBearer.status()).isEqualTo(403);
    }

    @Test
    void validKeyReachesTheHandler(ApiClient api) {
        var response = api.get("/v1/groups");
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.jsonObject()).containsKey("items");
    }

    @Test
    void unknownRoutesGetTheContracts404WithoutAuthorization(ApiClient api) {
        var response = api.withoutKey().get("/v1/no-such-thing");
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.errorCode()).isEqualTo("not_found");

        var wrongMethod = api.put("/v1/groups", Map.of());
        assertThat(wrongMethod.status()).isEqualTo(404);
        assertThat(wrongMethod.errorCode()).isEqualTo("not_found");
    }

    @Test
    void literalRouteWinsOverPathParameter(ApiClient api) {
        var template = api.get("/v1/groups/import-template.csv");
        assertThat(template.status()).isEqualTo(200);
        assertThat(template.header("content-type")).startsWith("text/csv");
        assertThat(template.body().split("\n")).containsExactly("country,phone,name", "US,(415) 555-0123,Ada Lovelace");
    }

    @Test
    void revokedKeyStopsWorkingAtOnceBecauseNothingIsCached(ApiClient api) {
        ApiClient owner = api.forNewAccount("revocation test");
        var created = owner.post("/v1/api-keys", Map.of("name", "temporary", "role", "member"));
        assertThat(created.status()).isEqualTo(201);
        String keyId = (String) created.jsonObject().get("id");
        ApiClient member = owner.withKey((String) created.jsonObject().get("key"));
        assertThat(member.get("/v1/groups").status()).isEqualTo(200);

        assertThat(owner.delete("/v1/api-keys/" + keyId).status()).isEqualTo(204);
        assertThat(member.get("/v1/groups").status()).isEqualTo(403);
    }

    @Test
    void bodiesOverTenMegabytesAre413(ApiClient api) {
        byte[] body = new byte[ApiGateway.MAX_BODY_BYTES + 1];
        var response = api.send("POST", "/v1/groups", "application/octet-stream", body);
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.body()).isEqualTo("{\"message\":\"Request Entity Too Large\"}");
    }
}
