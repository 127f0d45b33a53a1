package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProxyHeaderTest {

    static final InetSocketAddress CLIENT = new InetSocketAddress("203.0.113.7", 51234);
    static final InetSocketAddress FRONT = new InetSocketAddress("198.51.100.1", 443);
    static final InetSocketAddress CLIENT6 = new InetSocketAddress("2001:db8::7", 51234);
    static final InetSocketAddress FRONT6 = new InetSocketAddress("2001:db8::1", 443);

    static ProxyHeader.Parsed parse(byte[] bytes) {
        return readUnchanged(firstBytes(bytes), ProxyHeader::parse);
    }

    static ProxyHeader.Parsed parse(String ascii) {
        return parse(ascii.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void v1GivesAddressesAndLength() {
        byte[] header = ProxyHeaders.v1(CLIENT, FRONT);
        assertEquals(new ProxyHeader.Found(header.length, 1, Optional.of(CLIENT), Optional.of(FRONT), Optional.empty()),
                parse(TlsHellos.concat(header, "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII))));
        byte[] header6 = ProxyHeaders.v1(CLIENT6, FRONT6);
        assertEquals(new ProxyHeader.Found(header6.length, 1, Optional.of(CLIENT6), Optional.of(FRONT6), Optional.empty()),
                parse(header6));
    }

    @Test
    void v1UnknownKeepsTheRealPeer() {
        assertEquals(new ProxyHeader.Found(15, 1, Optional.empty(), Optional.empty(), Optional.empty()),
                parse("PROXY UNKNOWN\r\n"));
        ProxyHeader.Found found = assertInstanceOf(ProxyHeader.Found.class,
                parse("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\nrest"));
        assertEquals(Optional.empty(), found.source());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\n",          // bare LF
            "PROXY TCP4 203.0.113.7  198.51.100.1 51234 443\r\n",        // two spaces
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443 \r\n",        // trailing space
            "PROXY TCP4 203.0.113.07 198.51.100.1 51234 443\r\n",        // leading zero
            "PROXY TCP4 203.0.113.256 198.51.100.1 51234 443\r\n",       // octet too big
            "PROXY TCP4 2001:db8::7 198.51.100.1 51234 443\r\n",         // v6 address under TCP4
            "PROXY TCP6 203.0.113.7 198.51.100.1 51234 443\r\n",         // v4 address under TCP6
            "PROXY TCP4 203.0.113.7 198.51.100.1 65536 443\r\n",         // port too big
            "PROXY TCP4 203.0.113.7 198.51.100.1 051234 443\r\n",        // port with leading zero
            "PROXY UDP4 203.0.113.7 198.51.100.1 51234 443\r\n",         // not TCP
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234\r\n",             // missing port
            "PROXY TCP4 a.b.c.d 198.51.100.1 51234 443\r\n",             // name, not address
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\u0000",     // CR not followed by LF
    })
    void malformedV1IsInvalid(String header) {
        assertInstanceOf(ProxyHeader.Invalid.class, parse(header));
    }

    @Test
    void v1WithoutLineEndWithin107BytesIsInvalid() {
        assertEquals(ProxyHeader.NEED_MORE, parse("PROXY TCP6 " + "1".repeat(95)));
        assertInstanceOf(ProxyHeader.Invalid.class, parse("PROXY TCP6 " + "1".repeat(96)));
        assertInstanceOf(ProxyHeader.Invalid.class, parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u00ff\r\n"));
    }

    @Test
    void v2GivesAddressesAuthorityAndLength() {
        byte[] authority = ProxyHeaders.tlv(0x02, "shop.example.com".getBytes(StandardCharsets.US_ASCII));
        byte[] header = ProxyHeaders.v2(CLIENT, FRONT, ProxyHeaders.tlv(0x04, new byte[3]), authority);
        assertEquals(new ProxyHeader.Found(header.length, 2, Optional.of(CLIENT), Optional.of(FRONT),
                Optional.of("shop.example.com")), parse(TlsHellos.concat(header, new byte[] {22, 3, 1})));
        byte[] header6 = ProxyHeaders.v2(CLIENT6, FRONT6);
        assertEquals(new ProxyHeader.Found(header6.length, 2, Optional.of(CLIENT6), Optional.of(FRONT6), Optional.empty()),
                parse(header6));
    }

    @Test
    void v2LocalAndUnspecifiedKeepTheRealPeer() {
        byte[] local = ProxyHeaders.v2Raw(0x20, 0x00, new byte[0]);
        assertEquals(new ProxyHeader.Found(16, 2, Optional.empty(), Optional.empty(), Optional.empty()), parse(local));
        byte[] unspec = ProxyHeaders.v2Raw(0x21, 0x00, new byte[0]);
        assertEquals(new ProxyHeader.Found(16, 2, Optional.empty(), Optional.empty(), Optional.empty()), parse(unspec));
        byte[] unix = ProxyHeaders.v2Raw(0x21, 0x31, new byte[216]);
        assertEquals(Optional.empty(), assertInstanceOf(ProxyHeader.Found.class, parse(unix)).source());
    }

    @Test
    void v2Crc32cIsChecked() {
        byte[] good = ProxyHeaders.v2WithCrc(CLIENT, FRONT, ProxyHeaders.tlv(0x02, "a.example".getBytes(StandardCharsets.US_ASCII)));
        assertInstanceOf(ProxyHeader.Found.class, parse(good));
        byte[] bad = good.clone();
        bad[20] ^= 1; // an address byte
        assertEquals(new ProxyHeader.Invalid("v2: CRC32C mismatch"), parse(bad));
    }

    @Test
    void malformedV2IsInvalid() {
        byte[] good = ProxyHeaders.v2(CLIENT, FRONT);
        byte[] badVersion = good.clone();
        badVersion[12] = 0x11;
        assertInstanceOf(ProxyHeader.Invalid.class, parse(badVersion));
        assertInstanceOf(ProxyHeader.Invalid.class, parse(java.util.Arrays.copyOf(badVersion, 13)), "refused early");
        byte[] badCommand = good.clone();
        badCommand[12] = 0x22;
        assertInstanceOf(ProxyHeader.Invalid.class, parse(badCommand));
        byte[] badFamily = good.clone();
        badFamily[13] = 0x41;
        assertInstanceOf(ProxyHeader.Invalid.class, parse(badFamily));
        assertInstanceOf(ProxyHeader.Invalid.class, parse(ProxyHeaders.v2Raw(0x21, 0x11, new byte[8])), "short block");
        assertInstanceOf(ProxyHeader.Invalid.class,
                parse(ProxyHeaders.v2(CLIENT, FRONT, new byte[] {0x04, 0, 9, 1})), "TLV past the end");
        assertInstanceOf(ProxyHeader.Invalid.class,
                parse(ProxyHeaders.v2(CLIENT, FRONT, new byte[] {0x04, 0})), "truncated TLV header");
        assertInstanceOf(ProxyHeader.Invalid.class, parse(ProxyHeaders.v2(CLIENT, FRONT,
                ProxyHeaders.tlv(0x02, "a b".getBytes(StandardCharsets.US_ASCII)))), "space in authority");
        byte[] huge = TlsHellos.concat(ProxyHeader.V2_SIGNATURE, new byte[] {0x21, 0x11, (byte) 0xFF, (byte) 0xFF});
        assertInstanceOf(ProxyHeader.Invalid.class, parse(huge), "refused before waiting for 64 KiB");
    }

    @Test
    void everyCutOfAValidHeaderNeedsMore() {
        byte[][] headers = {
                ProxyHeaders.v1(CLIENT, FRONT), ProxyHeaders.v1(CLIENT6, FRONT6), ProxyHeaders.v2(CLIENT6, FRONT6),
                ProxyHeaders.v2WithCrc(CLIENT, FRONT, ProxyHeaders.tlv(0x02, "x.example".getBytes(StandardCharsets.US_ASCII))),
        };
        for (byte[] header : headers) {
            for (int length = 0; length < header.length; length++) {
                assertEquals(ProxyHeader.NEED_MORE, readUnchanged(firstBytes(header, length), ProxyHeader::parse),
                        "cut at " + length);
            }
            assertInstanceOf(ProxyHeader.Found.class, parse(header));
        }
    }

    @Test
    void otherBytesHaveNoHeader() throws Exception {
        assertEquals(ProxyHeader.ABSENT, parse("GET / HTTP/1.1\r\n"));
        assertEquals(ProxyHeader.ABSENT, parse("PROXZ"));
        assertEquals(ProxyHeader.ABSENT, parse(TlsHellos.fromJdk("TLSv1.3", "a.example.com")));
        assertEquals(ProxyHeader.ABSENT, parse("\r\n\r\nX"));
        assertEquals(ProxyHeader.NEED_MORE, parse("PROX"));
        assertEquals(ProxyHeader.NEED_MORE, parse(""));
    }

    // ---- the router's use of it ----

    private static Router router(String proxyProtocol, String routes) throws Exception {
        FerryConfig config = ConfigLoader.parse("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                    proxy_protocol: %s
                    routes:
                %s
                clusters:
                  - { name: inside, endpoints: ["127.0.0.1:1"] }
                  - { name: outside, endpoints: ["127.0.0.1:2"] }
                """.formatted(proxyProtocol, routes.indent(6)), "test.yaml");
        return Router.forListener(config.listeners().getFirst());
    }

    private static final String SOURCE_ROUTES = """
            - match: { source: ["203.0.113.0/24", "2001:db8::/32"] }
              cluster: inside
            - cluster: outside
            """;

    private static Decision decide(Router router, InetSocketAddress peer, byte[] bytes) {
        return readUnchanged(firstBytes(bytes), buffer -> router.decide(buffer, peer, RouterTest.LOCAL));
    }

    @Test
    void aTrustedPeersHeaderSetsTheSourceAndIsStripped() throws Exception {
        Router router = router("{ trusted_sources: [\"127.0.0.0/8\"] }", SOURCE_ROUTES);
        InetSocketAddress proxy = new InetSocketAddress("127.0.0.5", 60000);
        byte[] request = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

        java.util.Map<byte[], InetSocketAddress> headers = java.util.Map.of(
                ProxyHeaders.v1(CLIENT, FRONT), CLIENT,
                ProxyHeaders.v2(CLIENT6, FRONT6), CLIENT6);
        for (var header : headers.entrySet()) {
            Decision.Forward forward = assertInstanceOf(Decision.Forward.class,
                    decide(router, proxy, TlsHellos.concat(header.getKey(), request)));
            assertEquals("inside", forward.cluster());
            assertEquals(header.getKey().length, forward.facts().leadingBytesToStrip());
            assertEquals(header.getValue(), forward.source());
            assertEquals(true, forward.facts().proxied());
            assertEquals(Optional.of("a.example"), forward.host(), "routes see the bytes after the header");
        }
        Decision.Forward v6 = assertInstanceOf(Decision.Forward.class, decide(router, proxy,
                ProxyHeaders.v2(CLIENT6, FRONT6, ProxyHeaders.tlv(0x02, "auth.example".getBytes(StandardCharsets.US_ASCII)))));
        assertEquals(CLIENT6, v6.source());
        assertEquals(FRONT6, v6.facts().destination());
        assertEquals(Optional.of("auth.example"), v6.facts().authority());
        assertEquals(Decision.NEED_MORE, decide(router, proxy, "PROXY TCP4 203.0.113.7".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void anUntrustedPeersHeaderIsPayload() throws Exception {
        Router router = router("{ trusted_sources: [\"10.0.0.0/8\"] }", SOURCE_ROUTES);
        InetSocketAddress stranger = new InetSocketAddress("203.0.113.9", 60000);

        Decision.Forward forward = assertInstanceOf(Decision.Forward.class,
                decide(router, new InetSocketAddress("192.0.2.1", 1), ProxyHeaders.v1(CLIENT, FRONT)));
        assertEquals("outside", forward.cluster(), "a claimed source must not count");
        assertEquals(0, forward.facts().leadingBytesToStrip());
        assertEquals("forward inside 0", RouterTest.outcome(decide(router, stranger, ProxyHeaders.v2(CLIENT, FRONT))));
    }

    @Test
    void aTrustedPeerMustSendAValidHeaderUnlessOptional() throws Exception {
        Router required = router("{ trusted_sources: [\"127.0.0.1/32\"] }", SOURCE_ROUTES);
        InetSocketAddress proxy = new InetSocketAddress("127.0.0.1", 60000);
        assertEquals("refuse missing_proxy_header", RouterTest.outcome(decide(required, proxy,
                "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("refuse bad_proxy_header", RouterTest.outcome(decide(required, proxy,
                "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n".getBytes(StandardCharsets.US_ASCII))));
        Decision.Forward local = assertInstanceOf(Decision.Forward.class,
                decide(required, proxy, ProxyHeaders.v2Raw(0x20, 0, new byte[0])));
        assertEquals(proxy, local.source(), "LOCAL stands for the proxy itself");
        assertEquals(16, local.facts().leadingBytesToStrip());

        Router optional = router("{ trusted_sources: [\"127.0.0.1/32\"], required: false }", SOURCE_ROUTES);
        Decision.Forward direct = assertInstanceOf(Decision.Forward.class,
                decide(optional, proxy, "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(proxy, direct.source());
        assertEquals(0, direct.facts().leadingBytesToStrip());
    }

    @Test
    void destinationPortComesFromTheHeader() throws Exception {
        Router router = router("{ trusted_sources: [\"127.0.0.0/8\"] }", """
                - match: { destination_port: 443 }
                  cluster: inside
                - cluster: outside
                """);
        InetSocketAddress proxy = new InetSocketAddress("127.0.0.1", 60000);
        assertEquals("forward inside 0", RouterTest.outcome(decide(router, proxy, ProxyHeaders.v1(CLIENT, FRONT))));
        assertEquals("forward outside 1", RouterTest.outcome(decide(router, proxy,
                ProxyHeaders.v1(CLIENT, new InetSocketAddress("198.51.100.1", 8443)))));
    }
}
