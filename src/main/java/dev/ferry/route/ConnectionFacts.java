package dev.ferry.route;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * What routing learned about a connection, for everything after the decision: connecting (load balancing on
 * {@link #sni}, {@link #host} or {@link #source}), writing the first bytes, and the access log.
 *
 * <p>{@code sni} and {@code host} are what the bytes received at decision time reveal, whichever route decided:
 * a route that decides before the ClientHello or request head is complete (a catch-all, or one on
 * {@code source} or {@code destination_port} alone) leaves them empty.
 *
 * @param source the client: the address a trusted PROXY header gave, else the socket's peer
 * @param destination where the client connected: from a trusted PROXY header, else the listener socket's address
 * @param leadingBytesToStrip how many of the first bytes are Ferry's own (a PROXY header, a {@code FERRY} token
 *     preamble) and must be dropped, not forwarded
 * @param sni the TLS server name, lowercased (the outer name under Encrypted Client Hello)
 * @param host the HTTP/1.x host, lowercased, without port
 * @param authority the PROXY v2 authority TLV (the name the client asked the proxy in front for)
 * @param proxied whether a PROXY header was read (and is among the bytes to strip)
 */
public record ConnectionFacts(InetSocketAddress source, InetSocketAddress destination, int leadingBytesToStrip,
                              Optional<String> sni, Optional<String> host, Optional<String> authority,
                              boolean proxied) {

    public ConnectionFacts {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(sni, "sni");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(authority, "authority");
        if (leadingBytesToStrip < 0) {
            throw new IllegalArgumentException("leadingBytesToStrip < 0: " + leadingBytesToStrip);
        }
    }

    /** A connection as its socket sees it, before any byte was read. */
    public static ConnectionFacts of(InetSocketAddress source, InetSocketAddress destination) {
        return new ConnectionFacts(source, destination, 0, Optional.empty(), Optional.empty(), Optional.empty(), false);
    }
}
