package groupmsg.integrations;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Where a webhook may point: an https URL of a public host. A host on this machine or a private network (loopback,
 * link-local such as 169.254.169.254, site-local, unique-local, the unspecified address) is refused, both when the
 * webhook is created (a literal address, {@code localhost}) and before each delivery (what the name resolves to
 * then, and the delivery connects to the address checked), so an account cannot make the worker call into the network it runs in. The local runtime allows plain
 * http to loopback ({@code loopbackAllowed}), where its tests and a developer's receiver listen.
 */
public record WebhookTargets(boolean loopbackAllowed, Resolver resolver, Duration resolveTimeout) {
    public static final int MAX_URL = 2000;
    /**
     * How long a lookup may take: the system's resolver waits 5 s a try for a server that does not answer, and a name
     * whose DNS is slow would otherwise take a webhook test past the admin function's 10 s (API Gateway's own 5xx).
     */
    public static final Duration RESOLVE_TIMEOUT = Duration.ofSeconds(3);

    /** What a host name resolves to (the system's resolver; a test's that answers differently each time). */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    public WebhookTargets(boolean loopbackAllowed) {
        this(loopbackAllowed, InetAddress::getAllByName);
    }

    public WebhookTargets(boolean loopbackAllowed, Resolver resolver) {
        this(loopbackAllowed, resolver, RESOLVE_TIMEOUT);
    }

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
        if (uri.getPort() != -1 && (uri.getPort() < 1 || uri.getPort() > 65_535)) return Optional.of("has a port out of range");
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

    /** Where a delivery to a webhook's URL goes now: the address to connect to, or why it must not go there. */
    public sealed interface Destination {
        /**
         * Connect to these addresses, each checked, in the resolver's order (the next when one does not take the
         * connection, as any HTTP client goes down a name's records), and to no other the name may resolve to by
         * then ({@link PinnedHttpPost}).
         */
        record Address(List<InetAddress> addresses) implements Destination {
            public Address(InetAddress address) {
                this(List.of(address));
            }
        }

        record Refused(String reason) implements Destination {}

        /**
         * The name did not resolve now: a resolver's outage (SERVFAIL, a timeout) looks the same as a name that is
         * gone, so this is tried again as a failed connection is, not given up at once as a refused address.
         */
        record Unresolved(String reason) implements Destination {}
    }

    /**
     * What {@code uri}'s host resolves to now, when every address it resolves to is public (or loopback, where
     * allowed): a delivery connects to that address, so what was checked is what is called.
     */
    public Destination destination(URI uri) {
        String host = stripBrackets(uri.getHost());
        try {
            InetAddress[] all = resolveInTime(host);
            if (all == null) {
                long ms = resolveTimeout.toMillis();
                return new Destination.Unresolved("the host did not resolve within " + (ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms"));
            }
            if (all.length == 0) return new Destination.Unresolved("the host did not resolve");
            for (InetAddress a : all) {
                if (a.isLoopbackAddress() && loopbackAllowed) continue;
                if (!isPublic(a)) return new Destination.Refused("the host resolves to a non-public address");
            }
            return new Destination.Address(List.of(all));
        } catch (UnknownHostException e) {
            return new Destination.Unresolved("the host did not resolve");
        }
    }

    /**
     * The resolver's answer, or null when it takes longer than {@link #resolveTimeout}: asked on a thread of its own,
     * which is left to finish (a lookup cannot be interrupted) while the delivery goes on without it.
     */
    private InetAddress[] resolveInTime(String host) throws UnknownHostException {
        var lookup = new CompletableFuture<InetAddress[]>();
        Thread.ofVirtual().start(() -> {
            try {
                InetAddress[] found = resolver.resolve(host);
                lookup.complete(found == null ? new InetAddress[0] : found);
            } catch (Throwable e) {
                lookup.completeExceptionally(e);
            }
        });
        try {
            return lookup.get(resolveTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (InterruptedException e) {
            // not the name's fault: nothing to record on the webhook (the job fails, and its retry looks again)
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while looking up the host");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownHostException unknown) throw unknown;
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error error) throw error;
            throw new IllegalStateException("looking up " + host, e.getCause());
        }
    }

    static boolean isPublic(InetAddress a) {
        if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (b.length == 16) {
            if ((b[0] & 0xFE) == 0xFC) return false; // fc00::/7, unique local
            // ::a.b.c.d (IPv4-compatible), ::ffff:a.b.c.d (IPv4-mapped: a name's AAAA record comes back in this form,
            // not turned into an IPv4 address as a literal is, and the OS connects to the IPv4 address) and
            // 64:ff9b::a.b.c.d (NAT64): judged by the IPv4 part
            // and ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765)
            boolean zeroPrefix = true;
            for (int i = 0; i < 8; i++) zeroPrefix &= b[i] == 0;
            boolean translated = zeroPrefix && (b[8] & 0xFF) == 0xFF && (b[9] & 0xFF) == 0xFF && b[10] == 0 && b[11] == 0;
            zeroPrefix &= b[8] == 0 && b[9] == 0;
            zeroPrefix &= (b[10] == 0 && b[11] == 0) || ((b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF);
            zeroPrefix |= translated;
            boolean nat64 = b[0] == 0 && b[1] == 0x64 && (b[2] & 0xFF) == 0xFF && (b[3] & 0xFF) == 0x9B;
            // 64:ff9b:1::/48 (local-use NAT64, RFC 8215) and 2002::/16 (6to4) embed an IPv4 address a translator on
            // the network may reach: neither is a public host of its own
            if (nat64 && b[4] == 0 && b[5] == 1) return false;
            if (b[0] == 0x20 && b[1] == 0x02) return false;
            for (int i = 4; i < 12 && nat64; i++) nat64 = b[i] == 0;
            if (zeroPrefix || nat64) {
                try {
                    return isPublic(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16)));
                } catch (java.net.UnknownHostException e) {
                    return false;
                }
            }
            // only global unicast (2000::/3) is anyone's host: not 100::/64 (discard), nor 2001::/32 (Teredo, which
            // embeds an IPv4 server) or 2001:db8::/32 (documentation)
            if ((b[0] & 0xE0) != 0x20) return false;
            if (b[0] == 0x20 && b[1] == 0x01 && ((b[2] == 0 && b[3] == 0) || (b[2] == 0x0D && (b[3] & 0xFF) == 0xB8))) return false;
            return true;
        }
        int first = b[0] & 0xFF, second = b[1] & 0xFF, third = b[2] & 0xFF;
        if (first == 0 || first >= 240) return false; // 0/8 "this network", 240/4 reserved (and broadcast)
        if (first == 100 && (second & 0xC0) == 64) return false; // 100.64/10, carrier-grade NAT
        if (first == 192 && second == 0 && third == 0) return false; // 192.0.0/24, protocol assignments
        if (first == 198 && (second & 0xFE) == 18) return false; // 198.18/15, benchmarking
        return true;
    }

    private static boolean isLoopbackName(String host) {
        String h = stripBrackets(host).toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1); // the absolute form of the same name
        if (h.equals("localhost") || h.endsWith(".localhost")) return true;
        if (!isAddressLiteral(host)) return false;
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** An IPv4 dotted quad or a bracketed IPv6 address (resolving it asks no DNS). */
    static boolean isAddressLiteral(String host) {
        return host.startsWith("[") || host.matches("[0-9.]+");
    }

    static String stripBrackets(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }
}
