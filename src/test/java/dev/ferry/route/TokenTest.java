package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.ferry.config.RouteConfig;
import dev.ferry.config.SniMatch;
import dev.ferry.config.TokenMatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class TokenTest {

    static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    static final long NOW = 1_750_000_000L;
    static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC);

    /** {@code <tenant>.<expiry>.<base64url(hmac-sha256(secret, tenant + "." + expiry))>}, as docs/routing.md says. */
    static String mint(byte[] secret, String tenant, long expiry) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        String signed = tenant + "." + expiry;
        return signed + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.US_ASCII)));
    }

    static String sha256Hex(String token) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    }

    static TokenMatch hmac(TokenMatch.Carrier carrier, String... tenants) {
        return new TokenMatch(new TokenMatch.Hmac(new TokenMatch.Secret(SECRET, "test"), List.of(tenants)), carrier);
    }

    static TokenMatch digests(String... tokens) throws Exception {
        List<String> hex = new java.util.ArrayList<>();
        for (String token : tokens) {
            hex.add(sha256Hex(token));
        }
        return new TokenMatch(new TokenMatch.Digests(hex), TokenMatch.Carrier.PREAMBLE);
    }

    private static Router router(TokenMatch token) {
        return Router.forListener(new dev.ferry.config.ListenerConfig("edge",
                new java.net.InetSocketAddress("127.0.0.1", 0), dev.ferry.config.FirstPacketConfig.DEFAULTS,
                java.time.Duration.ofHours(1), List.of(RouteConfig.forward(Optional.of(token), "tenant"))), CLOCK);
    }

    private static String route(Router router, String ascii) {
        return RouterTest.outcome(RouterTest.decide(router, ascii.getBytes(StandardCharsets.ISO_8859_1)));
    }

    // ---- the preamble ----

    @Test
    void preambleIsReadAndSizedForStripping() {
        assertEquals(new TokenPreamble.Found(10, "abc"), readUnchanged(firstBytes("FERRY abc\nGET /"), TokenPreamble::parse));
        assertEquals(new TokenPreamble.Found(11, "abc"), readUnchanged(firstBytes("FERRY abc\r\n"), TokenPreamble::parse));
        assertEquals(TokenPreamble.ABSENT, TokenPreamble.parse(firstBytes("GET / HTTP/1.1")));
        assertEquals(TokenPreamble.ABSENT, TokenPreamble.parse(firstBytes("FERRYX")));
        assertEquals(TokenPreamble.MALFORMED, TokenPreamble.parse(firstBytes("FERRY \n")));
        assertEquals(TokenPreamble.MALFORMED, TokenPreamble.parse(firstBytes("FERRY a b\n")));
        assertEquals(TokenPreamble.MALFORMED, TokenPreamble.parse(firstBytes("FERRY ab\rX")));
        assertEquals(TokenPreamble.MALFORMED, TokenPreamble.parse(firstBytes("FERRY " + "a".repeat(1025))));
        assertEquals(TokenPreamble.NEED_MORE, TokenPreamble.parse(firstBytes("FERRY " + "a".repeat(1024))));
        String line = "FERRY tok.en_-~\r\n";
        for (int length = 0; length < line.length(); length++) {
            assertEquals(TokenPreamble.NEED_MORE, readUnchanged(firstBytes(line.getBytes(StandardCharsets.US_ASCII), length),
                    TokenPreamble::parse), "cut at " + length);
        }
    }

    @Test
    void theTokenNeverShowsInToString() {
        String secretToken = "s3cr3t-t0ken";
        TokenPreamble.Parsed parsed = TokenPreamble.parse(firstBytes("FERRY " + secretToken + "\n"));
        assertFalse(parsed.toString().contains(secretToken), parsed.toString());
        HttpRequestHead.HeaderParsed header = HttpRequestHead.parseHeader(
                firstBytes("GET / HTTP/1.1\r\nX-Token: " + secretToken + "\r\n\r\n"), "x-token");
        assertFalse(header.toString().contains(secretToken), header.toString());
        assertFalse(new TokenMatch.Secret(SECRET, "env X").toString().contains("0123"));
    }

    // ---- checks ----

    @Test
    void digestsAcceptListedTokensOnly() throws Exception {
        Router router = router(digests("alpha-token", "beta-token"));

        assertEquals("forward tenant 0", route(router, "FERRY alpha-token\nGET / HTTP/1.1\r\n"));
        assertEquals("forward tenant 0", route(router, "FERRY beta-token\n"));
        assertEquals("no_match bad_token", route(router, "FERRY gamma-token\n"));
        assertEquals("no_match missing_token", route(router, "GET / HTTP/1.1\r\n"));
        assertEquals("no_match bad_token", route(router, "FERRY bad token\n"));
        assertEquals("need_more", route(router, "FERRY alpha-tok"));
        assertEquals("need_more", route(router, "FER"));
    }

    @Test
    void hmacTokensAreCheckedForSignatureExpiryAndTenant() throws Exception {
        Router router = router(hmac(TokenMatch.Carrier.PREAMBLE, "tenant-a"));

        assertEquals("forward tenant 0", route(router, "FERRY " + mint(SECRET, "tenant-a", NOW + 60) + "\n"));
        assertEquals("no_match expired_token", route(router, "FERRY " + mint(SECRET, "tenant-a", NOW) + "\n"));
        assertEquals("no_match wrong_tenant", route(router, "FERRY " + mint(SECRET, "tenant-b", NOW + 60) + "\n"));
        byte[] otherSecret = "another-secret-another-secret-xx".getBytes(StandardCharsets.US_ASCII);
        assertEquals("no_match bad_token", route(router, "FERRY " + mint(otherSecret, "tenant-a", NOW + 60) + "\n"));
        String good = mint(SECRET, "tenant-a", NOW + 60);
        String forgedExpiry = good.replace("." + (NOW + 60) + ".", "." + (NOW + 6000) + ".");
        assertEquals("no_match bad_token", route(router, "FERRY " + forgedExpiry + "\n"));
        assertEquals("no_match bad_token", route(router, "FERRY " + good.substring(0, good.length() - 1) + "\n"));
        assertEquals("no_match bad_token", route(router, "FERRY tenant-a.123\n"));
        assertEquals("no_match bad_token", route(router, "FERRY a.b.c.d\n"));
        assertEquals("no_match bad_token", route(router, "FERRY tenant-a.12x.AAAA\n"));
    }

    @Test
    void anyTenantWithAValidSignatureWhenNoneAreListed() throws Exception {
        Router router = router(hmac(TokenMatch.Carrier.PREAMBLE));
        assertEquals("forward tenant 0", route(router, "FERRY " + mint(SECRET, "whoever", NOW + 1) + "\n"));
    }

    @Test
    void theTokenCanBeAnHttpHeaderOrTheKafkaClientId() throws Exception {
        String token = mint(SECRET, "tenant-a", NOW + 60);
        Router header = router(hmac(new TokenMatch.Carrier(TokenMatch.From.HTTP_HEADER, Optional.of("authorization"))));
        assertEquals("forward tenant 0", route(header, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + token + "\r\n\r\n"));
        assertEquals("forward tenant 0", route(header, "GET / HTTP/1.1\r\nauthorization: " + token + "\r\n"));
        assertEquals("no_match missing_token", route(header, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assertEquals("no_match bad_token", route(header, "GET / HTTP/1.1\r\nAuthorization: Bearer nope\r\n"));
        assertEquals("need_more", route(header, "GET / HTTP/1.1\r\nHost: a\r\n"));
        assertEquals("no_match missing_token", route(header, "FERRY " + token + "\nGET / HTTP/1.1\r\n"),
                "no preamble is looked for without a preamble route");

        Router kafka = router(hmac(new TokenMatch.Carrier(TokenMatch.From.KAFKA_CLIENT_ID, Optional.empty())));
        byte[] request = KafkaRequestHeaderTest.header(18, 3, 1, token, new byte[] {0});
        assertEquals("forward tenant 0", RouterTest.outcome(RouterTest.decide(kafka, request)));
        assertEquals("no_match bad_token", RouterTest.outcome(RouterTest.decide(kafka,
                KafkaRequestHeaderTest.header(18, 3, 1, "tenant-a", new byte[] {0}))));
    }

    @Test
    void thePreambleIsStrippedAndLaterRoutesSeeWhatFollows() throws Exception {
        String token = mint(SECRET, "tenant-a", Instant.now().getEpochSecond() + 3600); // Router.of: system clock
        Router router = Router.of(List.of(
                RouteConfig.forward(Optional.of(new dev.ferry.config.AllMatch(List.of(
                        hmac(TokenMatch.Carrier.PREAMBLE), new SniMatch("db.example.com")))), "db"),
                RouteConfig.forward(Optional.of(new SniMatch("db.example.com")), "public")));
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", "db.example.com");
        byte[] preamble = ("FERRY " + token + "\n").getBytes(StandardCharsets.US_ASCII);

        Decision.Forward forward = assertInstanceOf(Decision.Forward.class, RouterTest.decide(router,
                TlsHellos.concat(preamble, hello)));
        assertEquals(preamble.length, forward.facts().leadingBytesToStrip());
        assertEquals(Optional.of("db.example.com"), forward.sni());
        Decision.Forward noToken = assertInstanceOf(Decision.Forward.class, RouterTest.decide(router, hello));
        assertEquals("public", noToken.cluster());
        assertEquals(0, noToken.facts().leadingBytesToStrip());
    }

    @Test
    void whereTokenRoutesAndOthersMixOnlyAPresentedTokenGivesAReason() throws Exception {
        Router router = Router.of(List.of(
                RouteConfig.forward(Optional.of(digests("alpha")), "tokened"),
                RouteConfig.forward(Optional.of(new dev.ferry.config.AllMatch(List.of(
                        new SniMatch("db.example.com"), digests("beta")))), "db"),
                RouteConfig.forward(Optional.of(new SniMatch("a.example.com")), "a")));

        assertEquals("no_match", route(router, "GET / HTTP/1.1\r\n"), "matches nothing, needed no token to");
        assertEquals("no_match bad_token", route(router, "FERRY gamma\nGET / HTTP/1.1\r\n"));
    }

    @Test
    void aLineThatNeverEndsIsABadTokenAtTheFinalDecision() throws Exception {
        Router router = router(digests("alpha"));
        assertEquals("no_match bad_token", RouterTest.outcome(readUnchanged(firstBytes("FERRY alph"),
                buffer -> router.decideFinal(buffer, RouterTest.PEER, RouterTest.LOCAL))));
        assertEquals("no_match", RouterTest.outcome(readUnchanged(firstBytes("FE"),
                buffer -> router.decideFinal(buffer, RouterTest.PEER, RouterTest.LOCAL))),
                "a cut prefix is not worth a token reason; the caller's circumstance reason applies");
    }

    @Test
    void everyDigestIsComparedWhateverTheFirstGives() throws Exception {
        TokenMatcher matcher = new TokenMatcher(digests("one", "two", "three"), CLOCK);
        FirstBytes three = new FirstBytes(ByteBuffer.allocate(0), FirstBytes.UNKNOWN_ADDRESS, FirstBytes.UNKNOWN_ADDRESS,
                new TokenPreamble.Found(10, "three"), false);
        assertEquals(Match.YES, matcher.test(three));
        FirstBytes four = new FirstBytes(ByteBuffer.allocate(0), FirstBytes.UNKNOWN_ADDRESS, FirstBytes.UNKNOWN_ADDRESS,
                new TokenPreamble.Found(10, "four"), false);
        assertEquals(Match.NO, matcher.test(four));
        assertEquals(Optional.of("bad_token"), matcher.refusalReason(four));
    }
}
