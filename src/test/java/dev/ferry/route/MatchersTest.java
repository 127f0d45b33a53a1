package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ferry.config.HostMatch;
import dev.ferry.config.PrefixMatch;
import dev.ferry.config.SniMatch;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MatchersTest {

    private static Match test(Matcher matcher, byte[] bytes) {
        return Buffers.matches(matcher, firstBytes(bytes));
    }

    private static Match test(Matcher matcher, String ascii) {
        return test(matcher, ascii.getBytes(StandardCharsets.ISO_8859_1));
    }

    @ParameterizedTest
    @CsvSource(textBlock = """
            a.eu.example.com,   a.eu.example.com,   YES
            A.EU.example.com,   a.eu.example.com,   YES
            a.eu.example.com,   b.eu.example.com,   NO
            a.eu.example.com,   eu.example.com,     NO
            *.eu.example.com,   a.eu.example.com,   YES
            *.eu.example.com,   x.y.eu.example.com, YES
            *.EU.example.com,   a.eu.example.com,   YES
            *.eu.example.com,   eu.example.com,     NO
            *.eu.example.com,   aeu.example.com,    NO
            *.eu.example.com,   a.eu.example.org,   NO
            """)
    void sniMatchesExactlyOrBelowAWildcard(String pattern, String serverName, Match expected) throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", serverName);

        assertEquals(expected, test(new SniMatcher(pattern), hello));
    }

    @Test
    void sniNeedsTheWholeHelloAndRefusesOtherTraffic() throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.2", "a.eu.example.com");
        SniMatcher matcher = new SniMatcher("*.eu.example.com");

        assertEquals(Match.NEED_MORE, test(matcher, new byte[0]));
        assertEquals(Match.NEED_MORE, Buffers.matches(matcher, firstBytes(hello, hello.length - 1)));
        assertEquals(Match.NO, test(matcher, "GET / HTTP/1.1\r\n"));
        assertEquals(Match.NO, test(matcher, TlsHellos.fromJdk("TLSv1.3", null)));
    }

    @Test
    void hostMatchesIgnoringCaseAndPort() {
        HostMatcher matcher = new HostMatcher("API.example.com");

        assertEquals(Match.YES, test(matcher, "GET / HTTP/1.1\r\nHost: api.EXAMPLE.com:8443\r\n\r\n"));
        assertEquals(Match.NO, test(matcher, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"));
        assertEquals(Match.NO, test(matcher, "GET / HTTP/1.0\r\n\r\n"));
        assertEquals(Match.NO, test(matcher, "\u0016\u0003\u0001"));
        assertEquals(Match.NEED_MORE, test(matcher, "GET / HTTP/1.1\r\nHost: api.example.com"));
        assertEquals(Match.YES, test(new HostMatcher("[::1]"), "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"));
    }

    @Test
    void prefixMatchesOnceSeenWholeAndWaitsWhileItCouldStillBe() {
        PrefixMatcher matcher = new PrefixMatcher("PING".getBytes(StandardCharsets.US_ASCII));

        assertEquals(Match.NEED_MORE, test(matcher, ""));
        assertEquals(Match.NEED_MORE, test(matcher, "PI"));
        assertEquals(Match.YES, test(matcher, "PING"));
        assertEquals(Match.YES, test(matcher, "PING\r\nmore"));
        assertEquals(Match.NO, test(matcher, "PO"));
        assertEquals(Match.NO, test(matcher, "ping"));
    }

    @Test
    void prefixCannotBeEmptyAndKeepsItsOwnCopy() {
        assertThrows(IllegalArgumentException.class, () -> new PrefixMatcher(new byte[0]));
        byte[] bytes = {1, 2};
        PrefixMatcher matcher = new PrefixMatcher(bytes);
        bytes[0] = 9;
        assertEquals(Match.YES, test(matcher, new byte[] {1, 2}));
    }

    @Test
    void configuredConditionsBecomeMatchers() {
        assertEquals(new SniMatcher("*.example.com"), Matchers.of(new SniMatch("*.example.com")));
        assertEquals(new HostMatcher("a.example.com"), Matchers.of(new HostMatch("a.example.com")));
        Matcher prefix = assertInstanceOf(PrefixMatcher.class, Matchers.of(new PrefixMatch("\u0001é")));
        assertEquals(Match.YES, test(prefix, new byte[] {1, (byte) 0xC3, (byte) 0xA9}));
    }
}
