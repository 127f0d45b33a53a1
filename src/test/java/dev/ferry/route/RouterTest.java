package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import dev.ferry.config.HostMatch;
import dev.ferry.config.MatchConfig;
import dev.ferry.config.PrefixMatch;
import dev.ferry.config.RouteConfig;
import dev.ferry.config.SniMatch;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouterTest {

    private static final Optional<MatchConfig> CATCH_ALL = Optional.empty();

    private static Decision decide(Router router, String ascii) {
        return readUnchanged(firstBytes(ascii), router::decide);
    }

    private static Decision decide(Router router, byte[] bytes) {
        return readUnchanged(firstBytes(bytes), router::decide);
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

        assertEquals(new Decision.Forward("ab", 0), decide(router, "ABC"));
        assertEquals(new Decision.Forward("a", 1), decide(router, "AC"));
        assertEquals(new Decision.Reject(2), decide(router, "BA"));
    }

    @Test
    void aRouteThatNeedsMoreHoldsBackLaterRoutes() {
        Router router = Router.of(List.of(
                RouteConfig.reject(prefix("PING")),
                RouteConfig.forward(prefix("P"), "p"),
                RouteConfig.forward(CATCH_ALL, "fallback")));

        assertEquals(Decision.NEED_MORE, decide(router, "PI"));
        assertEquals(new Decision.Reject(0), decide(router, "PING"));
        assertEquals(new Decision.Forward("p", 1), decide(router, "PIN\n"));
        assertEquals(new Decision.Forward("fallback", 2), decide(router, "X"));
    }

    @Test
    void finalDecisionCountsRoutesStillWaitingAsNotMatching() {
        Router router = Router.of(List.of(
                RouteConfig.reject(prefix("PING")),
                RouteConfig.forward(CATCH_ALL, "fallback")));

        assertEquals(new Decision.Forward("fallback", 1), readUnchanged(firstBytes("PI"), router::decideFinal));
        assertEquals(new Decision.Reject(0), readUnchanged(firstBytes("PING"), router::decideFinal));
        Router noCatchAll = Router.of(List.of(RouteConfig.reject(prefix("PING"))));
        assertEquals(Decision.NO_MATCH, readUnchanged(firstBytes("PI"), noCatchAll::decideFinal));
    }

    @Test
    void leadingCatchAllDecidesBeforeAnyByteArrives() {
        Router router = Router.of(List.of(RouteConfig.forward(CATCH_ALL, "all")));

        assertEquals(new Decision.Forward("all", 0), router.decide(ByteBuffer.allocate(0)));
    }

    @Test
    void emptyBufferWaitsWhenAMatcherComesFirst() {
        Router router = Router.of(List.of(
                RouteConfig.forward(Optional.of(new SniMatch("a.example.com")), "a"),
                RouteConfig.forward(CATCH_ALL, "all")));

        assertEquals(Decision.NEED_MORE, router.decide(ByteBuffer.allocate(0)));
    }

    @Test
    void noRouteTakingTheConnectionIsNoMatch() throws Exception {
        Router router = Router.of(List.of(
                RouteConfig.forward(Optional.of(new SniMatch("a.example.com")), "a"),
                RouteConfig.forward(Optional.of(new HostMatch("a.example.com")), "a")));

        assertEquals(Decision.NO_MATCH, decide(router, "SSH-2.0-OpenSSH_9.6\r\n"));
        assertEquals(Decision.NO_MATCH, decide(router, TlsHellos.fromJdk("TLSv1.3", "b.example.com")));
    }

    @Test
    void sampleConfigRoutesEachKindOfTraffic() throws Exception {
        FerryConfig config = ConfigLoader.load(Path.of(RouterTest.class.getResource("/config/valid.yaml").toURI()));
        Router edge = Router.forListener(config.listeners().getFirst());

        assertEquals(new Decision.Forward("eu", 0), decide(edge, TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com")));
        assertEquals(new Decision.Forward("eu", 0), decide(edge,
                TlsHellos.reframed(TlsHellos.fromJdk("TLSv1.2", "x.y.eu.example.com"), 10)));
        assertEquals(new Decision.Forward("api", 1), decide(edge, "GET / HTTP/1.1\r\nHost: API.example.com:8443\r\n"));
        assertEquals(new Decision.Reject(2), decide(edge, "PING\n"));
        assertEquals(new Decision.Forward("fallback", 3), decide(edge, TlsHellos.fromJdk("TLSv1.3", "other.org")));
        assertEquals(new Decision.Forward("fallback", 3), decide(edge, "GET / HTTP/1.1\r\nHost: www.example.com\r\n"));
        assertEquals(Decision.NEED_MORE, decide(edge, "GET / HTTP/1.1\r\nAccept: */*\r\n"));
        assertEquals(Decision.NEED_MORE, decide(edge, "PI"));
    }
}
