package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HttpRequestHeadTest {

    private static HttpRequestHead.Parsed parse(String head) {
        return readUnchanged(firstBytes(head), HttpRequestHead::parse);
    }

    private static HttpRequestHead.Found found(String method, String target, String host) {
        return new HttpRequestHead.Found(method, target, Optional.ofNullable(host));
    }

    @Test
    void completeHeadGivesMethodTargetAndHost() {
        assertEquals(found("GET", "/index.html", "api.example.com"),
                parse("GET /index.html HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n"));
    }

    @Test
    void hostMayComeAfterOtherHeaders() {
        assertEquals(found("POST", "/v1", "api.example.com"), parse("""
                POST /v1 HTTP/1.1\r
                User-Agent: curl/8.5.0\r
                Content-Length: 0\r
                host:api.example.com \t\r
                \r
                """));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            API.Example.COM:8080 | api.example.com
            api.example.com:     | api.example.com
            127.0.0.1:80         | 127.0.0.1
            [::1]:8080           | [::1]
            [2001:DB8::1]        | [2001:db8::1]
            """)
    void hostIsLowercasedWithoutPort(String header, String host) {
        assertEquals(found("GET", "/", host), parse("GET / HTTP/1.1\r\nHost: " + header + "\r\n\r\n"));
    }

    @Test
    void nonAsciiTextInOtherHeadersIsAllowed() {
        assertEquals(found("GET", "/", "a.example.com"), parse("GET / HTTP/1.1\r\nX-Name: caf\u00e9\r\nHost: a.example.com\r\n"));
    }

    @Test
    void answersAsSoonAsTheHostLineIsComplete() {
        assertEquals(found("GET", "/", "api.example.com"), parse("GET / HTTP/1.1\r\nHost: api.example.com\r\nCook"));
    }

    @Test
    void headWithoutHostHasNone() {
        assertEquals(found("GET", "/", null), parse("GET / HTTP/1.0\r\n\r\n"));
        assertEquals(found("GET", "/", null), parse("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"));
        assertEquals(found("GET", "/", null), parse("GET / HTTP/1.1\r\nHost: \r\n\r\n"));
    }

    @Test
    void absoluteFormTargetWinsOverTheHostHeader() {
        assertEquals(found("GET", "http://user@Other.example.com:80/x?y", "other.example.com"),
                parse("GET http://user@Other.example.com:80/x?y HTTP/1.1\r\nHost: api.example.com\r\n\r\n"));
        assertEquals(found("GET", "https://[::1]", "[::1]"), parse("GET https://[::1] HTTP/1.1\r\n"));
    }

    @Test
    void everyCutBeforeTheHostLineEndsNeedsMore() {
        String head = "GET /a HTTP/1.1\r\nAccept: */*\r\nHost: api.example.com\r\n";
        for (int length = 0; length < head.length(); length++) {
            assertEquals(HttpRequestHead.NEED_MORE, parse(head.substring(0, length)), "cut at " + length);
        }
        assertEquals(found("GET", "/a", "api.example.com"), parse(head));
    }

    @Test
    void everyCutOfAHeadWithoutHostNeedsMore() {
        String head = "OPTIONS * HTTP/1.1\r\nAccept: */*\r\n\r\n";
        for (int length = 0; length < head.length(); length++) {
            assertEquals(HttpRequestHead.NEED_MORE, parse(head.substring(0, length)), "cut at " + length);
        }
        assertEquals(found("OPTIONS", "*", null), parse(head));
    }

    @Test
    void methodsUpToSixteenLettersAreAccepted() {
        assertEquals(HttpRequestHead.NEED_MORE, parse("ABCDEFGHIJKLMNOP"));
        assertEquals(HttpRequestHead.NOT_HTTP, parse("ABCDEFGHIJKLMNOPQ"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "\u0016\u0003\u0001",                                     // TLS
        "get / HTTP/1.1\r\n",                                     // lowercase method
        " GET / HTTP/1.1\r\n",                                    // leading space
        "GET  / HTTP/1.1\r\n",                                    // empty target
        "GET / HTTP/2.0\r\n",                                     // not HTTP/1.x
        "GET / HTTP/1.1\n",                                       // bare LF
        "GET / HTTP/1.1 \r\n",                                    // junk after version
        "GET /a\u0000b HTTP/1.1\r\n",                             // control in target
        "GET / HTTP/1.1\r\nAccept */*\r\n",                       // no colon
        "GET / HTTP/1.1\r\nX: a\r\n folded\r\n",                  // obsolete line folding
        "GET / HTTP/1.1\r\nX: a\u0000b\r\n",                      // NUL in value
        "GET / HTTP/1.1\r\nX: a\rb\r\n",                          // bare CR
        "GET / HTTP/1.1\r\nHost : a.example.com\r\n",             // space before colon
        "GET / HTTP/1.1\r\nHost: a b\r\n",                        // two hosts
        "GET / HTTP/1.1\r\nHost: a.example.com:http\r\n",         // port not numeric
        "GET / HTTP/1.1\r\nHost: [::1\r\n",                       // unclosed IPv6 literal
        "GET / HTTP/1.1\r\nHost: a..example.com\r\n",             // empty label
        "GET http:///x HTTP/1.1\r\n",                             // absolute form without host
        "PING\r\n",
    })
    void malformedHeadsAreNotHttp(String head) {
        assertEquals(HttpRequestHead.NOT_HTTP, parse(head));
    }

    @Test
    void randomBytesNeverThrowAndNeverMatch() {
        Random random = new Random(99);
        HostMatcher matcher = new HostMatcher("api.example.com");
        byte[] alphabet = "GET /HTP1.\r\n:Hosapi.exmpl.com".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 10_000; i++) {
            byte[] bytes = new byte[random.nextInt(300)];
            boolean nearHttp = random.nextBoolean();
            for (int j = 0; j < bytes.length; j++) {
                bytes[j] = nearHttp ? alphabet[random.nextInt(alphabet.length)] : (byte) random.nextInt(256);
            }
            readUnchanged(firstBytes(bytes), HttpRequestHead::parse);
            assertNotEquals(Match.YES, Buffers.matches(matcher, firstBytes(bytes)));
        }
    }

    @Test
    void mutatedHeadsNeverThrow() {
        byte[] original = "GET /x HTTP/1.1\r\nAccept: */*\r\nHost: api.example.com:8080\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        Random random = new Random(3);
        for (int i = 0; i < 10_000; i++) {
            byte[] mutated = original.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
            }
            readUnchanged(firstBytes(mutated, random.nextInt(mutated.length + 1)), HttpRequestHead::parse);
        }
    }
}
