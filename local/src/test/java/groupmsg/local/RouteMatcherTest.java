package groupmsg.local;

import groupmsg.platform.api.Permission;
import groupmsg.platform.api.RouteDef;
import groupmsg.platform.api.Routes;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class RouteMatcherTest {
    private final RouteMatcher routes = new RouteMatcher(Routes.ALL);

    private Optional<RouteMatcher.Match> match(String method, String path) {
        return routes.match(method, path);
    }

    @Test
    void literalSegmentBeatsPathParameter() {
        assertThat(match("GET", "/v1/groups/import-template.csv")).get()
                .satisfies(m -> {
                    assertThat(m.route().key()).isEqualTo("GET /v1/groups/import-template.csv");
                    assertThat(m.pathParameters()).isEmpty();
                });
        assertThat(match("GET", "/v1/groups/grp_123")).get()
                .satisfies(m -> {
                    assertThat(m.route().key()).isEqualTo("GET /v1/groups/{id}");
                    assertThat(m.pathParameters()).containsExactly(Map.entry("id", "grp_123"));
                });
    }

    @Test
    void literalBeatsParameterWhicheverOrderTheRoutesAreListed() {
        var parameterFirst = new RouteMatcher(List.of(
                new RouteDef("GET", "/v1/things/{id}", "h", Permission.READ, false),
                new RouteDef("GET", "/v1/things/special", "h", Permission.READ, false)));
        assertThat(parameterFirst.match("GET", "/v1/things/special")).get()
                .extracting(m -> m.route().path()).isEqualTo("/v1/things/special");
    }

    @Test
    void pathParametersAreUrlDecodedSegmentByEncodedSegment() {
        var m = match("DELETE", "/v1/groups/grp_1/members/%2B14155550123").orElseThrow();
        assertThat(m.route().key()).isEqualTo("DELETE /v1/groups/{id}/members/{phone}");
        assertThat(m.pathParameters()).containsEntry("id", "grp_1").containsEntry("phone", "+14155550123");

        // A literal "+" in a path is a plus, not a space; an encoded slash stays inside its segment.
        assertThat(match("DELETE", "/v1/groups/grp_1/members/+14155550123").orElseThrow().pathParameters())
                .containsEntry("phone", "+14155550123");
        assertThat(match("GET", "/v1/groups/a%2Fb").orElseThrow().pathParameters()).containsEntry("id", "a/b");
    }

    @Test
    void methodMustMatch() {
        assertThat(match("PUT", "/v1/groups/grp_1")).isEmpty();
        assertThat(match("POST", "/v1/groups/grp_1")).isEmpty();
        assertThat(match("DELETE", "/v1/groups/grp_1")).get()
                .extracting(m -> m.route().key()).isEqualTo("DELETE /v1/groups/{id}");
    }

    @Test
    void pathsMatchExactly() {
        assertThat(match("GET", "/v1/groups/")).as("trailing slash").isEmpty();
        assertThat(match("GET", "/v1/Groups")).as("case-sensitive").isEmpty();
        assertThat(match("GET", "/v1/groups/grp_1/members/extra/more")).isEmpty();
        assertThat(match("GET", "/v1//groups")).isEmpty();
        assertThat(match("GET", "/")).isEmpty();
        assertThat(match("GET", "")).isEmpty();
    }

    @Test
    void greedyParameterTakesTheRestAndRanksBelowLiteralsAndParameters() {
        var matcher = new RouteMatcher(List.of(
                new RouteDef("ANY", "/files/{proxy+}", "h", null, false),
                new RouteDef("GET", "/files/{name}", "h", null, false),
                new RouteDef("GET", "/files/readme", "h", null, false)));
        assertThat(matcher.match("GET", "/files/readme").orElseThrow().route().path()).isEqualTo("/files/readme");
        assertThat(matcher.match("GET", "/files/a").orElseThrow().route().path()).isEqualTo("/files/{name}");
        var greedy = matcher.match("GET", "/files/a/b%20c").orElseThrow();
        assertThat(greedy.route().path()).isEqualTo("/files/{proxy+}");
        assertThat(greedy.pathParameters()).containsEntry("proxy", "a/b c");
        assertThat(matcher.match("POST", "/files/a").orElseThrow().route().method()).isEqualTo("ANY");
        assertThat(matcher.match("GET", "/files")).isEmpty();
    }

    @Test
    void explicitMethodBeatsAnyOnTheSamePath() {
        var matcher = new RouteMatcher(List.of(
                new RouteDef("ANY", "/x", "any", null, false),
                new RouteDef("POST", "/x", "post", null, false)));
        assertThat(matcher.match("POST", "/x").orElseThrow().route().handler()).isEqualTo("post");
        assertThat(matcher.match("GET", "/x").orElseThrow().route().handler()).isEqualTo("any");
    }

    @Test
    void everyRouteOfTheApiIsReachableAndUnambiguous() {
        for (RouteDef route : Routes.ALL) {
            String concrete = route.path().replaceAll("\\{[^}]+}", "value1");
            assertThat(match(route.method(), concrete)).as(route.key()).get()
                    .extracting(m -> m.route()).isEqualTo(route);
        }
    }
}
