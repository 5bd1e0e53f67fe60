package groupmsg.integrations;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 POST to an address resolved and checked beforehand ({@link WebhookTargets#destination}). The
 * connection goes to that address: the URL's host is not looked up again between the check and the connect, where a
 * name that answered a public address could answer a private one the second time (DNS rebinding). TLS still names
 * the URL's host (SNI) and checks the certificate against it. The answer's status line decides; its body is not read
 * (the request says {@code Connection: close}). One deadline bounds the whole exchange, connect to status line: a
 * peer that trickles its handshake or its answer is cut off there.
 */
final class PinnedHttpPost {
    /** Longest status or header line read; a longer one is no HTTP answer we need to understand. */
    static final int MAX_LINE = 8192;
    /** Most header lines skipped after an interim (1xx) status line. */
    private static final int MAX_HEADER_LINES = 200;

    private final SSLSocketFactory tls;
    private final Duration connectTimeout;

    PinnedHttpPost(SSLSocketFactory tls, Duration connectTimeout) {
        this.tls = tls;
        this.connectTimeout = connectTimeout;
    }

    /**
     * POSTs {@code body} to {@code uri} at {@code address}, with {@code headers} (Host, Content-Length and Connection
     * are set here), and answers the final status code.
     *
     * @throws SocketTimeoutException no status line within {@code timeout}
     * @throws IOException            no connection, a refused certificate, or an answer that is not HTTP
     */
    int post(URI uri, InetAddress address, Map<String, String> headers, byte[] body, Duration timeout) throws IOException {
        if (timeout.toMillis() <= 0) throw new SocketTimeoutException("no time left for a status line");
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean https = "https".equals(uri.getScheme().toLowerCase(Locale.ROOT));
        int port = uri.getPort() != -1 ? uri.getPort() : https ? 443 : 80;
        Socket socket = new Socket();
        // whatever the socket waits on when the deadline comes (a connect, a handshake, a trickled line), closing it ends the wait
        var watchdog = CompletableFuture.runAsync(() -> closeQuietly(socket),
                CompletableFuture.delayedExecutor(timeout.toMillis(), TimeUnit.MILLISECONDS));
        try {
            try {
                socket.connect(new InetSocketAddress(address, port), (int) Math.max(1, Math.min(connectTimeout.toMillis(), timeout.toMillis())));
            } catch (SocketTimeoutException e) {
                // no connection (packets dropped by a firewall, a host down): not a receiver slow to answer
                throw new java.net.ConnectException("connect timed out after " + connectTimeout.toMillis() + " ms");
            }
            socket.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            Socket channel = https ? handshake(socket, uri.getHost(), port) : socket;
            OutputStream out = new BufferedOutputStream(channel.getOutputStream());
            out.write(head(uri, port, https, headers, body.length).getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            InputStream in = new BufferedInputStream(channel.getInputStream());
            while (true) {
                int status = statusOf(readLine(in));
                if (status >= 200) return status;
                skipHeaders(in); // 100 Continue and other interim answers come before the real one
            }
        } catch (IOException e) {
            if (System.nanoTime() - deadline >= 0) throw new SocketTimeoutException("no status line within " + timeout);
            throw e;
        } finally {
            watchdog.cancel(false);
            closeQuietly(socket);
        }
    }

    private Socket handshake(Socket socket, String host, int port) throws IOException {
        // "example.com." is example.com (a fully qualified name); SNI and certificates name it without the dot
        String name = WebhookTargets.stripBrackets(host.endsWith(".") ? host.substring(0, host.length() - 1) : host);
        SSLSocket ssl = (SSLSocket) tls.createSocket(socket, name, port, true);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the URL's host
        if (!WebhookTargets.isAddressLiteral(host)) params.setServerNames(List.of(new SNIHostName(name)));
        ssl.setSSLParameters(params);
        ssl.startHandshake();
        return ssl;
    }

    static String head(URI uri, int port, boolean https, Map<String, String> headers, int contentLength) {
        URI ascii = URI.create(uri.toASCIIString()); // other characters of the path and query go as UTF-8, %-encoded
        String target = ascii.getRawPath() == null || ascii.getRawPath().isEmpty() ? "/" : ascii.getRawPath();
        if (ascii.getRawQuery() != null) target += "?" + ascii.getRawQuery();
        boolean defaultPort = port == (https ? 443 : 80);
        StringBuilder head = new StringBuilder("POST ").append(target).append(" HTTP/1.1\r\n")
                .append("Host: ").append(uri.getHost()).append(defaultPort ? "" : ":" + port).append("\r\n")
                .append("Content-Length: ").append(contentLength).append("\r\n")
                .append("Connection: close\r\n");
        headers.forEach((name, value) -> {
            if (!value.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) throw new IllegalArgumentException("header " + name + " is not plain ASCII");
            head.append(name).append(": ").append(value).append("\r\n");
        });
        return head.append("\r\n").toString();
    }

    /** The code of an {@code HTTP/1.x NNN reason} line. */
    static int statusOf(String line) throws ProtocolException {
        if (line.length() < 12 || !line.startsWith("HTTP/1.") || line.charAt(8) != ' '
                || !line.substring(9, 12).chars().allMatch(Character::isDigit) || (line.length() > 12 && line.charAt(12) != ' ')) {
            throw new ProtocolException("not an HTTP/1.x status line");
        }
        return Integer.parseInt(line.substring(9, 12));
    }

    private static void skipHeaders(InputStream in) throws IOException {
        for (int i = 0; i < MAX_HEADER_LINES; i++) {
            if (readLine(in).isEmpty()) return;
        }
        throw new ProtocolException("too many header lines");
    }

    /** One CRLF- (or LF-) ended line, without its end. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        while (true) {
            int b = in.read();
            if (b == -1) throw new ProtocolException("the answer ended before its status line");
            if (b == '\n') break;
            if (line.length() == MAX_LINE) throw new ProtocolException("an answer line longer than " + MAX_LINE);
            line.append((char) b);
        }
        int end = line.length();
        if (end > 0 && line.charAt(end - 1) == '\r') line.setLength(end - 1);
        return line.toString();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is all that is left to do with it
        }
    }
}
