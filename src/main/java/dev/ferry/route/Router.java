package dev.ferry.route;

import dev.ferry.config.Cidr;
import dev.ferry.config.InboundProxyConfig;
import dev.ferry.config.ListenerConfig;
import dev.ferry.config.RouteAction;
import dev.ferry.config.RouteConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Picks a listener's route for a connection: routes are tried in order and the first one that matches decides.
 * Immutable, so one instance serves every connection of a listener on any thread.
 *
 * <p>Before the routes, two things Ferry itself understands are read off the front of the bytes:
 * <ol>
 * <li>a PROXY protocol header (v1 or v2), when the listener accepts them and the peer is trusted: it sets the
 *     source and destination the routes see;
 * <li>a {@code FERRY <token>} preamble, when some route checks a token carried that way.
 * </ol>
 * Both are stripped before forwarding ({@link ConnectionFacts#leadingBytesToStrip()}).
 */
public final class Router {

    public static final String BAD_PROXY_HEADER = "bad_proxy_header";
    public static final String MISSING_PROXY_HEADER = "missing_proxy_header";

    /** @param matcher empty for a catch-all */
    private record Route(Optional<Matcher> matcher, RouteAction action, Optional<String> cluster) {
    }

    private final List<Route> routes;
    private final Optional<InboundProxyConfig> proxyProtocol;
    private final boolean readsPreamble;

    private Router(List<RouteConfig> routes, Optional<InboundProxyConfig> proxyProtocol, Clock clock) {
        List<Route> built = new ArrayList<>();
        boolean preamble = false;
        for (RouteConfig route : routes) {
            built.add(new Route(route.match().map(match -> Matchers.of(match, clock)), route.action(), route.cluster()));
            preamble |= route.match().map(Matchers::usesPreamble).orElse(false);
        }
        this.routes = List.copyOf(built);
        this.proxyProtocol = proxyProtocol;
        this.readsPreamble = preamble;
    }

    /**
     * A router for routes alone, without PROXY protocol support.
     *
     * @param routes in order; the loader has checked that forwarding routes name a cluster
     */
    public static Router of(List<RouteConfig> routes) {
        return new Router(routes, Optional.empty(), Clock.systemUTC());
    }

    /** A router for a listener: its routes and its {@code proxy_protocol} setting. */
    public static Router forListener(ListenerConfig listener) {
        return forListener(listener, Clock.systemUTC());
    }

    /** @param clock what token expiry is checked against */
    public static Router forListener(ListenerConfig listener, Clock clock) {
        return new Router(listener.routes(), listener.proxyProtocol(), clock);
    }

    /**
     * Decides while more bytes may still come. A route that needs more bytes ends the search with
     * {@link Decision#NEED_MORE} even if a later route would match now: first-match order must not depend on
     * how the client's bytes were split into packets.
     *
     * @param firstBytes every byte received so far, from position to limit; left unchanged
     * @param peer the socket's remote address
     * @param local the socket's local address
     */
    public Decision decide(ByteBuffer firstBytes, InetSocketAddress peer, InetSocketAddress local) {
        return decide(firstBytes, peer, local, false);
    }

    /**
     * Decides when no more bytes will be waited for: the first-packet timeout passed, the first-packet buffer is
     * full, or the client stopped sending. A route still needing more then counts as not matching, as HAProxy
     * treats rules still lacking data when {@code tcp-request inspect-delay} expires. Never answers
     * {@link Decision#NEED_MORE}.
     */
    public Decision decideFinal(ByteBuffer firstBytes, InetSocketAddress peer, InetSocketAddress local) {
        return decide(firstBytes, peer, local, true);
    }

    private Decision decide(ByteBuffer firstBytes, InetSocketAddress peer, InetSocketAddress local,
                            boolean noMoreBytes) {
        int start = firstBytes.position();
        int offset = start;
        InetSocketAddress source = peer;
        InetSocketAddress destination = local;
        Optional<String> authority = Optional.empty();
        boolean proxied = false;

        if (proxyProtocol.isPresent() && trusted(peer, proxyProtocol.get())) {
            ConnectionFacts asIs = ConnectionFacts.of(peer, local);
            switch (ProxyHeader.parse(firstBytes)) {
                case ProxyHeader.NeedMore needMore -> {
                    return noMoreBytes ? new Decision.NoMatch(Optional.empty(), asIs) : Decision.NEED_MORE;
                }
                case ProxyHeader.Invalid invalid -> {
                    return new Decision.Refuse(BAD_PROXY_HEADER, asIs);
                }
                case ProxyHeader.Absent absent -> {
                    if (proxyProtocol.get().required()) {
                        return new Decision.Refuse(MISSING_PROXY_HEADER, asIs);
                    }
                }
                case ProxyHeader.Found header -> {
                    offset += header.length();
                    source = header.source().orElse(peer);
                    destination = header.destination().orElse(local);
                    authority = header.authority();
                    proxied = true;
                }
            }
        }

        ByteBuffer payload = firstBytes.duplicate().position(offset);
        TokenPreamble.Parsed preamble = TokenPreamble.ABSENT;
        if (readsPreamble) {
            preamble = TokenPreamble.parse(payload);
            switch (preamble) {
                case TokenPreamble.NeedMore needMore -> {
                    if (!noMoreBytes) {
                        return Decision.NEED_MORE;
                    }
                    // A token line begun but never ended is a bad token; a few bytes of "FERRY " are not a token
                    // at all, and the circumstance (timeout, EOF) says best why the connection goes nowhere.
                    if (payload.remaining() >= TokenPreamble.PREFIX.length) {
                        preamble = TokenPreamble.MALFORMED;
                    }
                }
                case TokenPreamble.Found found -> payload.position(offset += found.length());
                case TokenPreamble.Absent absent -> {
                }
                case TokenPreamble.Malformed malformed -> {
                }
            }
        }

        FirstBytes connection = new FirstBytes(payload.slice(), source, destination, preamble, noMoreBytes);
        for (int index = 0; index < routes.size(); index++) {
            Route route = routes.get(index);
            Match match = route.matcher().isPresent() ? route.matcher().get().test(connection) : Match.YES;
            if (match == Match.YES) {
                ConnectionFacts facts = facts(connection, offset - start, authority, proxied);
                return route.action() == RouteAction.REJECT
                        ? new Decision.Reject(index, facts)
                        : new Decision.Forward(route.cluster().orElseThrow(), index, facts);
            }
            if (match == Match.NEED_MORE && !noMoreBytes) {
                return Decision.NEED_MORE;
            }
        }
        return new Decision.NoMatch(refusalReason(connection), facts(connection, offset - start, authority, proxied));
    }

    private static boolean trusted(InetSocketAddress peer, InboundProxyConfig proxyProtocol) {
        InetAddress address = peer.getAddress();
        if (address == null) {
            return false;
        }
        for (Cidr network : proxyProtocol.trustedSources()) {
            if (network.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Why no route took the connection, when a token was the trouble: the first reason, in route order, of a token
     * that was presented and failed (bad, expired, wrong tenant); a missing token only when every route failed
     * for want of one, so that in a listener that mixes token routes and others, traffic that simply matches
     * nothing is not counted as missing a token.
     */
    private Optional<String> refusalReason(FirstBytes connection) {
        Optional<String> first = Optional.empty();
        Optional<String> firstPresented = Optional.empty();
        boolean everyRouteHasOne = true;
        for (Route route : routes) {
            if (route.matcher().isPresent()) {
                Optional<String> reason = route.matcher().get().refusalReason(connection);
                if (reason.isEmpty()) {
                    everyRouteHasOne = false;
                    continue;
                }
                first = first.or(() -> reason);
                if (!reason.get().equals(TokenMatcher.MISSING)) {
                    firstPresented = firstPresented.or(() -> reason);
                }
            }
        }
        return everyRouteHasOne ? first : firstPresented;
    }

    private static ConnectionFacts facts(FirstBytes connection, int strip, Optional<String> authority,
                                         boolean proxied) {
        Optional<String> sni = connection.clientHello() instanceof ClientHello.Found hello
                ? hello.serverName() : Optional.empty();
        Optional<String> host = Optional.empty();
        if (sni.isEmpty() && connection.httpHead() instanceof HttpRequestHead.Found head) {
            host = head.host();
        }
        return new ConnectionFacts(connection.source(), connection.destination(), strip, sni, host, authority, proxied);
    }
}
