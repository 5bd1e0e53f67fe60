package groupmsg.integrations;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a webhook may point: an https URL of a public host. A host on this machine or a private network (loopback,
 * link-local such as 169.254.169.254, site-local, unique-local, the unspecified address) is refused, both when the
 * webhook is created (a literal address, {@code localhost}) and before each delivery (what the name resolves to
 * then), so an account cannot make the worker call into the network it runs in. The local runtime allows plain
 * http to loopback ({@code loopbackAllowed}), where its tests and a developer's receiver listen.
 */
public record WebhookTargets(boolean loopbackAllowed) {
    public static final int MAX_URL = 2000;

    /** Why {@code url} cannot be a webhook's address, or empty when it can. */
    public Optional<String> problem(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (java.net.URISyntaxException e) {
            return Optional.of("is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = uri.getHost();
        if (host == null || !uri.isAbsolute() || uri.getRawUserInfo() != null) {
            return Optional.of("must be an absolute https URL with a host and no user info");
        }
        if (uri.getRawFragment() != null) return Optional.of("must not have a fragment");
        boolean loopbackHost = isLoopbackName(host);
        if (loopbackAllowed && loopbackHost && (scheme.equals("http") || scheme.equals("https"))) return Optional.empty();
        if (!scheme.equals("https")) return Optional.of("must be an https URL");
        if (loopbackHost) return Optional.of("must be a public host, not this machine");
        if (isAddressLiteral(host)) {
            try {
                if (!isPublic(InetAddress.getByName(stripBrackets(host)))) return Optional.of("must be a public address");
            } catch (UnknownHostException e) {
                return Optional.of("is not a valid address");
            }
        }
        return Optional.empty();
    }

    /** Why a delivery must not go to {@code uri} now (its host resolves to a private address), or empty. */
    public Optional<String> deliveryProblem(URI uri) {
        String host = stripBrackets(uri.getHost());
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (a.isLoopbackAddress() && loopbackAllowed) continue;
                if (!isPublic(a)) return Optional.of("the host resolves to a non-public address");
            }
            return Optional.empty();
        } catch (UnknownHostException e) {
            return Optional.of("the host does not resolve");
        }
    }

    static boolean isPublic(InetAddress a) {
        if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (b.length == 16 && (b[0] & 0xFE) == 0xFC) return false; // fc00::/7, unique local
        if (b.length == 4 && (b[0] & 0xFF) == 100 && (b[1] & 0xC0) == 64) return false; // 100.64/10, carrier-grade NAT
        return true;
    }

    private static boolean isLoopbackName(String host) {
        String h = stripBrackets(host).toLowerCase(Locale.ROOT);
        if (h.equals("localhost") || h.endsWith(".localhost")) return true;
        if (!isAddressLiteral(host)) return false;
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** An IPv4 dotted quad or a bracketed IPv6 address (resolving it asks no DNS). */
    private static boolean isAddressLiteral(String host) {
        return host.startsWith("[") || host.matches("[0-9.]+");
    }

    private static String stripBrackets(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }
}
