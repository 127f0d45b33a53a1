package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.config.Cidr;
import dev.ferry.config.DestinationPortMatch;
import dev.ferry.config.HttpPaths;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The conditions beyond sni, host and prefix, one by one and combined. */
class ConditionsTest {

    private static Match test(Matcher matcher, String ascii) {
        return Buffers.matches(matcher, firstBytes(ascii));
    }

    private static Match test(Matcher matcher, byte[] bytes) {
        return Buffers.matches(matcher, firstBytes(bytes));
    }

    private static Match from(Matcher matcher, String source, int destinationPort) {
        FirstBytes connection = FirstBytes.of(ByteBuffer.allocate(0), new InetSocketAddress(source, 40000),
                new InetSocketAddress("127.0.0.1", destinationPort));
        return matcher.test(connection);
    }

    // ---- TLS ----

    @Test
    void alpnMatchesAnyOfferedProtocol() throws Exception {
        AlpnMatcher h2 = new AlpnMatcher(List.of("h2"));
        assertEquals(Match.YES, test(h2, TlsHellos.fromJdk("TLSv1.3", "a.example.com", "http/1.1", "h2")));
        assertEquals(Match.NO, test(h2, TlsHellos.fromJdk("TLSv1.3", "a.example.com", "http/1.1")));
        assertEquals(Match.NO, test(h2, TlsHellos.fromJdk("TLSv1.3", "a.example.com")));
        assertEquals(Match.YES, test(new AlpnMatcher(List.of("imap", "http/1.1")),
                TlsHellos.fromJdk("TLSv1.2", "a.example.com", "http/1.1")));
        assertEquals(Match.NO, test(h2, "GET / HTTP/1.1\r\n"));
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", "a.example.com", "h2");
        assertEquals(Match.NEED_MORE, Buffers.matches(h2, firstBytes(hello, hello.length - 1)));
    }

    @Test
    void tlsTellsTlsFromCleartext() throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", "a.example.com");
        assertEquals(Match.YES, test(new TlsMatcher(true), hello));
        assertEquals(Match.NO, test(new TlsMatcher(false), hello));
        assertEquals(Match.NO, test(new TlsMatcher(true), "GET / HTTP/1.1\r\n"));
        assertEquals(Match.YES, test(new TlsMatcher(false), "G"));
        assertEquals(Match.YES, test(new TlsMatcher(false), new byte[] {0, 0, 0, 20}), "a Kafka request");
        assertEquals(Match.NEED_MORE, test(new TlsMatcher(false), new byte[] {22, 3, 1}));
        assertEquals(Match.NEED_MORE, test(new TlsMatcher(true), ""));
    }

    @Test
    void chromeShapedHelloWithGreaseAndEchIsRead() {
        for (int seed = 0; seed < 16; seed++) {
            byte[] hello = TlsHellos.chromeShaped("public.example.com", seed);
            ClientHello.Found found = assertInstanceOf(ClientHello.Found.class, ClientHello.parse(firstBytes(hello)));
            assertEquals(Optional.of("public.example.com"), found.serverName(), "the ECH outer name");
            assertEquals(List.of("h2", "http/1.1"), found.alpnProtocols());
            assertTrue(found.encryptedClientHello());
            assertTrue(hello.length > 1500, "a post-quantum key share makes it span TCP segments: " + hello.length);
            byte[] split = TlsHellos.reframed(hello, 512, 700);
            assertEquals(Optional.of("public.example.com"),
                    assertInstanceOf(ClientHello.Found.class, ClientHello.parse(firstBytes(split))).serverName());
            for (int length = 0; length < split.length; length += 7) {
                assertEquals(ClientHello.NEED_MORE, ClientHello.parse(firstBytes(split, length)));
            }
        }
    }

    @Test
    void greaseAlpnValuesAreLeftOut() {
        byte[] hello = TlsHellos.withExtensions(TlsHellos.extension(16,
                new byte[] {0, 8, 2, 0x3A, 0x3A, 2, 'h', '2', 2, 0x5A}));
        // The last entry is cut: malformed, so not TLS.
        assertEquals(ClientHello.NOT_TLS, ClientHello.parse(firstBytes(hello)));
        byte[] good = TlsHellos.withExtensions(TlsHellos.extension(16,
                new byte[] {0, 9, 2, 0x3A, 0x3A, 2, 'h', '2', 2, 0x5A, 0x5A}));
        assertEquals(List.of("h2"), assertInstanceOf(ClientHello.Found.class, ClientHello.parse(firstBytes(good))).alpnProtocols());
    }

    // ---- HTTP ----

    @Test
    void methodIsDecidedOnTheRequestLine() {
        MethodMatcher post = new MethodMatcher(List.of("POST", "PUT"));
        assertEquals(Match.YES, test(post, "POST /upload HTTP/1.1\r\n"));
        assertEquals(Match.YES, test(post, "PUT /x HTTP/1.0\r\n"));
        assertEquals(Match.NO, test(post, "GET /upload HTTP/1.1\r\n"));
        assertEquals(Match.NO, test(post, "post /upload HTTP/1.1\r\n"));
        assertEquals(Match.NO, test(post, "POSTX /upload HTTP/1.1\r\n"));
        assertEquals(Match.NEED_MORE, test(post, "POST /upload HTTP/1.1\r"));
        assertEquals(Match.NEED_MORE, test(post, "PO"));
        assertEquals(Match.NO, test(post, "POST /upload HTTP/1.1\n"), "bare LF");
    }

    @ParameterizedTest
    @CsvSource(textBlock = """
            /api/,  GET /api/v1/things?x=1 HTTP/1.1,             YES
            /api/,  GET /api HTTP/1.1,                           NO
            /api/,  GET /apiv2/ HTTP/1.1,                        NO
            /api,   GET /apiv2/ HTTP/1.1,                        YES
            /api/,  GET /%61pi/x HTTP/1.1,                       YES
            /api/,  GET /x/../api/y HTTP/1.1,                    YES
            /api/,  GET /api/../admin HTTP/1.1,                  NO
            /admin, GET /api/../admin HTTP/1.1,                  YES
            /admin, GET /api/%2E%2E/admin HTTP/1.1,              YES
            /admin, GET /./admin HTTP/1.1,                       YES
            /admin, GET /%2Fadmin HTTP/1.1,                      NO
            /api/,  GET http://h.example/api/x HTTP/1.1,         YES
            /,      GET http://h.example HTTP/1.1,               YES
            /api/,  GET http://h.example?x=/api/ HTTP/1.1,       NO
            /api/,  GET /api%zz/ HTTP/1.1,                       NO
            /api/,  GET /q?/api/ HTTP/1.1,                       NO
            /,      OPTIONS * HTTP/1.1,                          NO
            /,      CONNECT h.example:443 HTTP/1.1,              NO
            """)
    void pathPrefixComparesNormalizedPaths(String prefix, String requestLine, Match expected) {
        assertEquals(expected, test(new PathPrefixMatcher(prefix), requestLine + "\r\n"));
    }

    @Test
    void pathNormalizationDecodesOnlyUnreservedAndRemovesDotSegments() {
        assertEquals(Optional.of("/a/b"), HttpPaths.normalize("/a/./b"));
        assertEquals(Optional.of("/b"), HttpPaths.normalize("/a/../b"));
        assertEquals(Optional.of("/"), HttpPaths.normalize("/a/.."));
        assertEquals(Optional.of("/"), HttpPaths.normalize("/../../.."));
        assertEquals(Optional.of("/a/"), HttpPaths.normalize("/a/b/.."));
        assertEquals(Optional.of("/~u/%2F%3F"), HttpPaths.normalize("/%7eu/%2f%3F"));
        assertEquals(Optional.of("/.../x"), HttpPaths.normalize("/.../x"));
        assertEquals(Optional.empty(), HttpPaths.normalize("/a%2"));
        assertEquals(Optional.empty(), HttpPaths.normalize("a/b"));
        String deep = "/.".repeat(20_000) + "/x";
        long start = System.nanoTime();
        assertEquals(Optional.of("/x"), HttpPaths.normalize(deep));
        assertTrue(System.nanoTime() - start < 200_000_000L, "linear, not quadratic");
    }

    // ---- addresses ----

    @Test
    void sourceMatchesIpv4AndIpv6NetworksAndMappedAddresses() {
        SourceMatcher matcher = new SourceMatcher(List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("2001:db8::/32"),
                Cidr.parse("192.0.2.7")));
        assertEquals(Match.YES, from(matcher, "10.1.2.3", 1));
        assertEquals(Match.NO, from(matcher, "11.1.2.3", 1));
        assertEquals(Match.YES, from(matcher, "2001:db8:1::5", 1));
        assertEquals(Match.NO, from(matcher, "2001:db9::5", 1));
        assertEquals(Match.YES, from(matcher, "192.0.2.7", 1));
        assertEquals(Match.NO, from(matcher, "192.0.2.8", 1));
        FirstBytes mapped = FirstBytes.of(ByteBuffer.allocate(0),
                new InetSocketAddress(java.net.InetAddress.ofLiteral("::ffff:10.9.9.9"), 1), FirstBytes.UNKNOWN_ADDRESS);
        assertEquals(Match.YES, matcher.test(mapped));
        assertEquals(Match.YES, new SourceMatcher(List.of(Cidr.parse("0.0.0.0/0"))).test(FirstBytes.of(ByteBuffer.allocate(0))));
    }

    @Test
    void cidrsAreParsedStrictly() {
        assertEquals("10.0.0.0/8", Cidr.parse("10.0.0.0/8").toString());
        assertTrue(Cidr.parse("10.128.0.0/9").contains(java.net.InetAddress.ofLiteral("10.200.1.1")));
        for (String bad : List.of("10.0.0.1/8", "10.0.0.0/33", "10.0.0/8", "010.0.0.0/8", "example.com", "::1/129",
                "10.0.0.0/", "10.0.0.0/08", "1.2.3.4.5", "2001:db8::1/32")) {
            try {
                Cidr.parse(bad);
                throw new AssertionError("accepted " + bad);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().contains(bad), expected.getMessage());
            }
        }
    }

    @Test
    void destinationPortMatchesPortsAndRanges() {
        DestinationPortMatcher matcher = new DestinationPortMatcher(List.of(
                new DestinationPortMatch.Range(443, 443), new DestinationPortMatch.Range(8000, 8099)));
        assertEquals(Match.YES, from(matcher, "127.0.0.1", 443));
        assertEquals(Match.YES, from(matcher, "127.0.0.1", 8050));
        assertEquals(Match.NO, from(matcher, "127.0.0.1", 8100));
        assertEquals(Match.NO, from(matcher, "127.0.0.1", 80));
    }

    // ---- all / any / not ----

    private static final Matcher NEED = connection -> Match.NEED_MORE;
    private static final Matcher YES = connection -> Match.YES;
    private static final Matcher NO = connection -> Match.NO;

    @Test
    void combinatorsFollowThreeValuedLogic() {
        FirstBytes open = FirstBytes.of(ByteBuffer.allocate(0));
        assertEquals(Match.NO, new Logic.All(List.of(NEED, NO)).test(open), "NO is final");
        assertEquals(Match.NEED_MORE, new Logic.All(List.of(YES, NEED)).test(open));
        assertEquals(Match.YES, new Logic.All(List.of(YES, YES)).test(open));
        assertEquals(Match.YES, new Logic.Any(List.of(NEED, YES)).test(open), "YES is final");
        assertEquals(Match.NEED_MORE, new Logic.Any(List.of(NO, NEED)).test(open));
        assertEquals(Match.NO, new Logic.Any(List.of(NO, NO)).test(open));
        assertEquals(Match.NO, new Logic.Not(YES).test(open));
        assertEquals(Match.YES, new Logic.Not(NO).test(open));
        assertEquals(Match.NEED_MORE, new Logic.Not(NEED).test(open));
        FirstBytes done = new FirstBytes(ByteBuffer.allocate(0), FirstBytes.UNKNOWN_ADDRESS, FirstBytes.UNKNOWN_ADDRESS,
                TokenPreamble.ABSENT, true);
        assertEquals(Match.YES, new Logic.Not(NEED).test(done), "waiting counts as false once no more bytes come");
        assertEquals(Match.YES, new Logic.Not(new Logic.All(List.of(YES, NEED))).test(done));
    }

    @Test
    void combinedConditionsOnRealTraffic() throws Exception {
        Matcher tlsH2OrPlainPost = new Logic.Any(List.of(
                new Logic.All(List.of(new TlsMatcher(true), new AlpnMatcher(List.of("h2")))),
                new Logic.All(List.of(new MethodMatcher(List.of("POST")), new Logic.Not(new PathPrefixMatcher("/admin"))))));
        assertEquals(Match.YES, test(tlsH2OrPlainPost, TlsHellos.fromJdk("TLSv1.3", "a.example.com", "h2")));
        assertEquals(Match.NO, test(tlsH2OrPlainPost, TlsHellos.fromJdk("TLSv1.3", "a.example.com", "http/1.1")));
        assertEquals(Match.YES, test(tlsH2OrPlainPost, "POST /orders HTTP/1.1\r\n"));
        assertEquals(Match.NO, test(tlsH2OrPlainPost, "POST /admin/users HTTP/1.1\r\n"));
        assertEquals(Match.NO, test(tlsH2OrPlainPost, "GET /orders HTTP/1.1\r\n"));
        assertEquals(Match.NEED_MORE, test(tlsH2OrPlainPost, "POST /ord"));
    }

    @Test
    void factsParseEachProtocolOnceForAllRoutes() throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", "a.example.com", "h2");
        FirstBytes connection = FirstBytes.of(firstBytes(hello));
        ClientHello.Parsed first = connection.clientHello();
        new SniMatcher("a.example.com").test(connection);
        new AlpnMatcher(List.of("h2")).test(connection);
        assertTrue(first == connection.clientHello(), "memoized");
    }
}
