package groupmsg.local;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalSettingsTest {

    private static String baseUrl(String value) {
        return LocalSettings.fromEnvironment(Map.of("PUBLIC_BASE_URL", value, "DATA_DIR", "memory")).publicBaseUrlFor(8080);
    }

    @Test
    void aPublicBaseUrlIsAnAbsoluteHttpUrlWithoutQueryOrFragment() {
        assertThat(baseUrl("https://abc.ngrok.app/")).isEqualTo("https://abc.ngrok.app");
        assertThat(baseUrl(" http://localhost:9000/groupmsg ")).isEqualTo("http://localhost:9000/groupmsg");
        for (String bad : new String[] {"localhost:8080", "abc.ngrok.app", "ftp://abc.ngrok.app", "https://abc.ngrok.app/?x=1",
                "https://abc.ngrok.app/#top", "http:///path", "https://a b"}) {
            assertThatThrownBy(() -> baseUrl(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("PUBLIC_BASE_URL ").hasMessageContaining(bad.strip());
        }
    }

    @Test
    void noPublicBaseUrlIsLocalhostOnThePort() {
        assertThat(LocalSettings.fromEnvironment(Map.of("DATA_DIR", "memory")).publicBaseUrlFor(18080)).isEqualTo("http://localhost:18080");
    }
}
