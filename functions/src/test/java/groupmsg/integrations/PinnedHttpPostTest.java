package groupmsg.integrations;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The webhook POST goes to the address it is given, never to what the URL's name resolves to (no lookup is made at
 * all), speaks HTTP/1.1 and TLS with the URL's host as the certificate's name, and is bounded by one deadline
 * whatever the peer does. Against real local servers: the JDK's HTTP(S) server and raw sockets.
 */
class PinnedHttpPostTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) c.close();
    }

    record Seen(String method, String uri, String host, String signature, String connection, String body) {}

    @Test
    void postsToTheGivenAddressUnderTheUrlsHostWithoutLookingTheNameUp() throws Exception {
        List<Seen> seen = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(LOOPBACK, 0), 0);
        server.createContext("/", recordingAnswer(seen, 503));
        server.start();
        open.add(() -> server.stop(0));
        int port = server.getAddress().getPort();
        var post = new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), Duration.ofSeconds(2));

        // ".invalid" never resolves (RFC 6761): reaching the server proves the name was not looked up
        int status = post.post(URI.create("http://rebound.invalid:" + port + "/hooks/in?x=1&y=%20"), LOOPBACK,
                Map.of("Groupmsg-Signature", "t=1,v1=ab"), "{\"type\":\"t\",\"é\":1}".getBytes(StandardCharsets.UTF_8), TIMEOUT);
        assertThat(status).isEqualTo(503);
        assertThat(seen).containsExactly(new Seen("POST", "/hooks/in?x=1&y=%20", "rebound.invalid:" + port, "t=1,v1=ab", "close",
                "{\"type\":\"t\",\"é\":1}"));
        // characters beyond ASCII in the path and query go as UTF-8, %-encoded (a raw byte is no valid request line)
        assertThat(post.post(URI.create("http://rebound.invalid:" + port + "/h\u00e9/\u010d?q=\u00fc"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT))
                .isEqualTo(503);
        assertThat(seen.getLast().uri()).isEqualTo("/h%C3%A9/%C4%8D?q=%C3%BC");
    }

    @Test
    void tlsChecksTheCertificateAgainstTheUrlsHostNotTheAddress(@TempDir Path dir) throws Exception {
        KeyStore keys = selfSignedFor("localhost", dir);
        var kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, "changeit".toCharArray());
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        List<Seen> seen = new CopyOnWriteArrayList<>();
        HttpsServer server = HttpsServer.create(new InetSocketAddress(LOOPBACK, 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(serverTls));
        server.createContext("/", recordingAnswer(seen, 204));
        server.start();
        open.add(() -> server.stop(0));
        int port = server.getAddress().getPort();

        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("test", keys.getCertificate("test"));
        var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        SSLContext clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, tmf.getTrustManagers(), null);
        var post = new PinnedHttpPost(clientTls.getSocketFactory(), Duration.ofSeconds(2));

        assertThat(post.post(URI.create("https://localhost:" + port + "/tls"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT)).isEqualTo(204);
        assertThat(seen).extracting(Seen::uri, Seen::host).containsExactly(org.assertj.core.groups.Tuple.tuple("/tls", "localhost:" + port));
        // a fully qualified name ("localhost.") is the same host to TLS
        assertThat(post.post(URI.create("https://localhost.:" + port + "/fqdn"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT)).isEqualTo(204);
        // the same server and address under another name: its certificate does not name that host
        assertThatThrownBy(() -> post.post(URI.create("https://elsewhere.invalid:" + port + "/tls"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT))
                .isInstanceOf(SSLHandshakeException.class);
        // and a certificate nobody vouches for is refused as well
        var withDefaultTrust = new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), Duration.ofSeconds(2));
        assertThatThrownBy(() -> withDefaultTrust.post(URI.create("https://localhost:" + port + "/tls"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT))
                .isInstanceOf(SSLHandshakeException.class);
        assertThat(seen).hasSize(2);
    }

    @Test
    void anInterimAnswerIsFollowedByTheFinalOneAndWhatIsNotHttpIsRefused() throws Exception {
        var post = new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), Duration.ofSeconds(2));
        int continued = rawServer(out -> write(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"));
        assertThat(post.post(URI.create("http://127.0.0.1:" + continued + "/"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT)).isEqualTo(201);
        int lfOnly = rawServer(out -> write(out, "HTTP/1.0 404 Not Found\nServer: x\n\n"));
        assertThat(post.post(URI.create("http://127.0.0.1:" + lfOnly + "/"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT)).isEqualTo(404);
        int notHttp = rawServer(out -> write(out, "SSH-2.0-OpenSSH_9.6\r\n"));
        assertThatThrownBy(() -> post.post(URI.create("http://127.0.0.1:" + notHttp + "/"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT))
                .isInstanceOf(ProtocolException.class);
        int hangsUp = rawServer(out -> {});
        assertThatThrownBy(() -> post.post(URI.create("http://127.0.0.1:" + hangsUp + "/"), LOOPBACK, Map.of(), "{}".getBytes(), TIMEOUT))
                .isInstanceOf(ProtocolException.class);
        assertThatThrownBy(() -> post.post(URI.create("http://127.0.0.1:" + notHttp + "/"), LOOPBACK,
                Map.of("X-Bad", "a\r\nInjected: 1"), "{}".getBytes(), TIMEOUT)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aConnectionNeverMadeIsACouldNotConnectNotASlowAnswer() throws Exception {
        // a listener that accepts nothing, its backlog filled: the kernel drops further SYNs, the connect hangs
        try (var full = new ServerSocket(0, 1, LOOPBACK)) {
            List<Socket> waiting = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket();
                    try {
                        s.connect(new InetSocketAddress(LOOPBACK, full.getLocalPort()), 200);
                        waiting.add(s);
                    } catch (SocketTimeoutException e) {
                        s.close();
                        break; // full now
                    }
                }
                var post = new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), Duration.ofMillis(300));
                long started = System.nanoTime();
                assertThatThrownBy(() -> post.post(URI.create("http://127.0.0.1:" + full.getLocalPort() + "/"), LOOPBACK,
                        Map.of(), "{}".getBytes(), Duration.ofSeconds(5)))
                        .isInstanceOf(java.net.ConnectException.class).hasMessageContaining("connect timed out");
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).as("at the connect's timeout")
                        .isLessThan(3_000L);
            } finally {
                for (Socket s : waiting) s.close();
            }
        }
    }

    @Test
    void aPeerThatTricklesOrSaysNothingIsCutOffAtTheDeadline() throws Exception {
        var post = new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), Duration.ofSeconds(2));
        Duration deadline = Duration.ofMillis(800);
        // a byte every 100 ms: each read is quick, the status line never ends
        int trickles = rawServer(out -> {
            for (int i = 0; i < 100; i++) {
                write(out, "H");
                sleep(100);
            }
        });
        int silent = rawServer(out -> sleep(5_000));
        for (int port : List.of(trickles, silent)) {
            long started = System.nanoTime();
            assertThatThrownBy(() -> post.post(URI.create("http://127.0.0.1:" + port + "/"), LOOPBACK, Map.of(), "{}".getBytes(), deadline))
                    .isInstanceOf(SocketTimeoutException.class);
            // cut off at the 0.8 s deadline: the peers' own ends come at 5 s (silent) and 10 s (trickling)
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isBetween(700L, 4_000L);
        }
        // a TLS handshake that never comes is cut off the same way
        var tls = new PinnedHttpPost((SSLSocketFactory) SSLSocketFactory.getDefault(), Duration.ofSeconds(2));
        long started = System.nanoTime();
        assertThatThrownBy(() -> tls.post(URI.create("https://localhost:" + silent + "/"), LOOPBACK, Map.of(), "{}".getBytes(), deadline))
                .isInstanceOf(SocketTimeoutException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isBetween(700L, 4_000L);
    }

    private static com.sun.net.httpserver.HttpHandler recordingAnswer(List<Seen> seen, int status) {
        return exchange -> {
            var h = exchange.getRequestHeaders();
            seen.add(new Seen(exchange.getRequestMethod(), exchange.getRequestURI().toString(), h.getFirst("Host"),
                    h.getFirst("Groupmsg-Signature"), h.getFirst("Connection"),
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        };
    }

    /** A server that reads the request's head and answers each connection with {@code answer}, then closes it. */
    private int rawServer(Consumer<OutputStream> answer) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, LOOPBACK);
        open.add(server);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            readHead(s.getInputStream());
                            answer.accept(s.getOutputStream());
                        } catch (IOException | RuntimeException ignored) {
                            // the client went away: what the test looks at is the client's side
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server.getLocalPort();
    }

    private static void readHead(InputStream in) throws IOException {
        int matched = 0;
        byte[] end = "\r\n\r\n".getBytes();
        while (matched < 4) {
            int b = in.read();
            if (b == -1) return;
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
    }

    private static void write(OutputStream out, String text) {
        try {
            out.write(text.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A key and self-signed certificate for {@code host} (alias "test", password "changeit"), made by the JDK's keytool. */
    private static KeyStore selfSignedFor(String host, Path dir) throws Exception {
        Path file = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "test", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + host,
                "-ext", "SAN=dns:" + host, "-validity", "2", "-storetype", "PKCS12", "-keystore", file.toString(),
                "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(keytool.waitFor()).as(output).isZero();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            keys.load(in, "changeit".toCharArray());
        }
        return keys;
    }
}
