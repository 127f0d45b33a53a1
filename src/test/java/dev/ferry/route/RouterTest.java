package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import dev.ferry.config.HostMatch;
import dev.ferry.config.MatchConfig;
import dev.ferry.config.PrefixMatch;
import dev.ferry.config.RouteConfig;
import dev.ferry.config.SniMatch;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouterTest {

    private static final Optional<MatchConfig> CATCH_ALL = Optional.empty();
    static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.1", 40000);
    static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 8443);

    /** A decision in a few words: "forward ab 0", "reject 2", "no_match", "need_more", "refuse bad_proxy_header". */
    static String outcome(Decision decision) {
        return switch (decision) {
            case Decision.NeedMore needMore -> "need_more";
            case Decision.Forward forward -> "forward " + forward.cluster() + " " + forward.routeIndex();
            case Decision.Reject reject -> "reject " + reject.routeIndex();
            case Decision.NoMatch noMatch -> noMatch.reason().map(reason -> "no_match " + reason).orElse("no_match");
            case Decision.Refuse refuse -> "refuse " + refuse.reason();
        };
    }

    static Decision decide(Router router, byte[] bytes) {
        return readUnchanged(firstBytes(bytes), buffer -> router.decide(buffer, PEER, LOCAL));
    }

    static String route(Router router, String ascii) {
        return outcome(decide(router, ascii.getBytes(StandardCharsets.ISO_8859_1)));
    }

    static String route(Router router, byte[] bytes) {
        return outcome(decide(router, bytes));
    }

    static String routeFinal(Router router, String ascii) {
        return outcome(readUnchanged(firstBytes(ascii), buffer -> router.decideFinal(buffer, PEER, LOCAL)));
    }

    private static Optional<MatchConfig> prefix(String literal) {
        return Optional.of(new PrefixMatch(literal));
    }

    @Test
    void firstMatchingRouteWins() {
        Router router = Router.of(List.of(
                RouteConfig.forward(prefix("AB"), "ab"),
                RouteConfig.forward(prefix("A"), "a"),
                RouteConfig.reject(prefix("B"))));

        assertEquals("forward ab 0", route(router, "ABC"));
        assertEquals("forward a 1", route(router, "AC"));
        assertEquals("reject 2", route(router, "BA"));
    }

    @Test
    void aRouteThatNeedsMoreHoldsBackLaterRoutes() {
        Router router = Router.of(List.of(
                RouteConfig.reject(prefix("PING")),
                RouteConfig.forward(prefix("P"), "p"),
                RouteConfig.forward(CATCH_ALL, "fallback")));

        assertEquals("need_more", route(router, "PI"));
        assertEquals("reject 0", route(router, "PING"));
        assertEquals("forward p 1", route(router, "PIN\n"));
        assertEquals("forward fallback 2", route(router, "X"));
    }

    @Test
    void finalDecisionCountsRoutesStillWaitingAsNotMatching() {
        Router router = Router.of(List.of(
                RouteConfig.reject(prefix("PING")),
                RouteConfig.forward(CATCH_ALL, "fallback")));

        assertEquals("forward fallback 1", routeFinal(router, "PI"));
        assertEquals("reject 0", routeFinal(router, "PING"));
        Router noCatchAll = Router.of(List.of(RouteConfig.reject(prefix("PING"))));
        assertEquals("no_match", routeFinal(noCatchAll, "PI"));
    }

    @Test
    void leadingCatchAllDecidesBeforeAnyByteArrives() {
        Router router = Router.of(List.of(RouteConfig.forward(CATCH_ALL, "all")));

        Decision.Forward forward = assertInstanceOf(Decision.Forward.class,
                router.decide(ByteBuffer.allocate(0), PEER, LOCAL));
        assertEquals("all", forward.cluster());
        assertEquals(PEER, forward.source());
        assertEquals(Optional.empty(), forward.sni());
        assertEquals(0, forward.facts().leadingBytesToStrip());
    }

    @Test
    void emptyBufferWaitsWhenAMatcherComesFirst() {
        Router router = Router.of(List.of(
                RouteConfig.forward(Optional.of(new SniMatch("a.example.com")), "a"),
                RouteConfig.forward(CATCH_ALL, "all")));

        assertEquals(Decision.NEED_MORE, router.decide(ByteBuffer.allocate(0), PEER, LOCAL));
    }

    @Test
    void noRouteTakingTheConnectionIsNoMatch() throws Exception {
        Router router = Router.of(List.of(
                RouteConfig.forward(Optional.of(new SniMatch("a.example.com")), "a"),
                RouteConfig.forward(Optional.of(new HostMatch("a.example.com")), "a")));

        assertEquals("no_match", route(router, "SSH-2.0-OpenSSH_9.6\r\n"));
        assertEquals("no_match", route(router, TlsHellos.fromJdk("TLSv1.3", "b.example.com")));
    }

    @Test
    void forwardCarriesSniOrHostWhicheverRouteDecided() throws Exception {
        Router router = Router.of(List.of(
                RouteConfig.forward(prefix("\u0016"), "tls"),
                RouteConfig.forward(CATCH_ALL, "other")));

        Decision.Forward tls = assertInstanceOf(Decision.Forward.class,
                decide(router, TlsHellos.fromJdk("TLSv1.3", "Shop.Example.com")));
        assertEquals(Optional.of("shop.example.com"), tls.sni());
        assertEquals(Optional.empty(), tls.host());
        Decision.Forward http = assertInstanceOf(Decision.Forward.class,
                decide(router, "GET / HTTP/1.1\r\nHost: API.example.com:80\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(Optional.of("api.example.com"), http.host());
        assertEquals(Optional.empty(), http.sni());
        assertEquals(PEER, http.source());
        assertEquals(LOCAL, http.facts().destination());
    }

    @Test
    void sampleConfigRoutesEachKindOfTraffic() throws Exception {
        FerryConfig config = ConfigLoader.load(Path.of(RouterTest.class.getResource("/config/valid.yaml").toURI()));
        Router edge = Router.forListener(config.listeners().getFirst());

        assertEquals("forward eu 0", route(edge, TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com")));
        assertEquals("forward eu 0", route(edge, TlsHellos.reframed(TlsHellos.fromJdk("TLSv1.2", "x.y.eu.example.com"), 10)));
        assertEquals("forward api 1", route(edge, "GET / HTTP/1.1\r\nHost: API.example.com:8443\r\n"));
        assertEquals("reject 2", route(edge, "PING\n"));
        assertEquals("forward fallback 3", route(edge, TlsHellos.fromJdk("TLSv1.3", "other.org")));
        assertEquals("forward fallback 3", route(edge, "GET / HTTP/1.1\r\nHost: www.example.com\r\n"));
        assertEquals("need_more", route(edge, "GET / HTTP/1.1\r\nAccept: */*\r\n"));
        assertEquals("need_more", route(edge, "PI"));
    }
}
