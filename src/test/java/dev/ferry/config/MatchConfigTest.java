package dev.ferry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The match keys and the listener's proxy_protocol: what each reads into, and each one's errors. */
class MatchConfigTest {

    @TempDir
    static Path dir;

    /** A listener whose one route matches {@code match} (the match's value starts at line 6, column 16). */
    private static String withMatch(String match) {
        return """
                listeners:
                  - name: edge
                    address: 127.0.0.1:8443
                    routes:
                      - cluster: eu
                        match: %s
                clusters:
                  - { name: eu, endpoints: ["127.0.0.1:9001"] }
                """.formatted(match);
    }

    private static MatchConfig match(String match) throws ConfigException {
        return ConfigLoader.parse(withMatch(match), "test.yaml").listeners().getFirst().routes().getFirst().match().orElseThrow();
    }

    private static Cidr cidr(String text) {
        return Cidr.parse(text);
    }

    @Test
    void everyKeyReadsIntoItsCondition() throws Exception {
        assertEquals(new AlpnMatch(List.of("h2")), match("{ alpn: h2 }"));
        assertEquals(new AlpnMatch(List.of("h2", "http/1.1")), match("{ alpn: [h2, http/1.1] }"));
        assertEquals(new TlsMatch(false), match("{ tls: false }"));
        assertEquals(new MethodMatch(List.of("GET", "HEAD")), match("{ method: [GET, HEAD] }"));
        assertEquals(new PathPrefixMatch("/api/"), match("{ path_prefix: /api/ }"));
        assertEquals(new SourceMatch(List.of(cidr("10.0.0.0/8"), cidr("2001:db8::/32"), cidr("192.0.2.1/32"))),
                match("{ source: [10.0.0.0/8, \"2001:db8::/32\", 192.0.2.1] }"));
        assertEquals(new DestinationPortMatch(List.of(new DestinationPortMatch.Range(443, 443),
                new DestinationPortMatch.Range(8000, 8099))), match("{ destination_port: [443, 8000-8099] }"));
        assertEquals(new KafkaClientIdMatch("tenant-*"), match("{ kafka_client_id: \"tenant-*\" }"));
        assertEquals(new AnyMatch(List.of(new SniMatch("a.example.com"), new SniMatch("*.b.example.com"))),
                match("{ sni: [a.example.com, \"*.b.example.com\"] }"));
    }

    @Test
    void severalKeysMeanAllAndCombinatorsNest() throws Exception {
        assertEquals(new AllMatch(List.of(new SniMatch("a.example.com"), new AlpnMatch(List.of("h2")))),
                match("{ sni: a.example.com, alpn: h2 }"));
        assertEquals(new AnyMatch(List.of(new TlsMatch(true),
                        new AllMatch(List.of(new MethodMatch(List.of("GET")), new NotMatch(new PathPrefixMatch("/admin/")))))),
                match("{ any: [ { tls: true }, { method: GET, not: { path_prefix: /admin/ } } ] }"));
        assertEquals(new AllMatch(List.of(new HostMatch("a.example.com"))), match("{ all: [ { host: a.example.com } ] }"));
    }

    @Test
    void tokensReadDigestsOrASecretFromAFileOrTheEnvironment() throws Exception {
        String digest = "a".repeat(64);
        TokenMatch digests = assertInstanceOf(TokenMatch.class, match("{ token: { digests: [\"" + digest.toUpperCase() + "\"] } }"));
        assertEquals(new TokenMatch.Digests(List.of(digest)), digests.check());
        assertEquals(TokenMatch.Carrier.PREAMBLE, digests.carrier());

        Path secret = dir.resolve("secret");
        Files.writeString(secret, "0123456789abcdef0123\r\n");
        TokenMatch fromFile = assertInstanceOf(TokenMatch.class, match("{ token: { hmac_secret_file: \"" + secret
                + "\", tenants: [a, b-2], from: http_header, header: X-Ferry-Token } }"));
        TokenMatch.Hmac hmac = assertInstanceOf(TokenMatch.Hmac.class, fromFile.check());
        assertEquals("0123456789abcdef0123", new String(hmac.secret().key(), StandardCharsets.US_ASCII), "line end dropped");
        assertEquals(List.of("a", "b-2"), hmac.tenants());
        assertEquals(new TokenMatch.Carrier(TokenMatch.From.HTTP_HEADER, Optional.of("x-ferry-token")), fromFile.carrier());
        assertTrue(hmac.toString().contains("file ") && !hmac.toString().contains("0123456789"), hmac.toString());

        // PATH is set wherever tests run, and long enough to serve as a secret.
        TokenMatch fromEnv = assertInstanceOf(TokenMatch.class,
                match("{ token: { hmac_secret_env: PATH, from: kafka_client_id } }"));
        assertEquals("env PATH", assertInstanceOf(TokenMatch.Hmac.class, fromEnv.check()).secret().origin());
    }

    @Test
    void proxyProtocolIsReadOnTheListener() throws Exception {
        ListenerConfig listener = ConfigLoader.parse("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:8443
                    proxy_protocol: { trusted_sources: ["127.0.0.0/8", "::1"], required: false }
                    routes: [ { action: reject } ]
                """, "test.yaml").listeners().getFirst();
        assertEquals(Optional.of(new InboundProxyConfig(List.of(cidr("127.0.0.0/8"), cidr("::1/128")), false)),
                listener.proxyProtocol());
        ListenerConfig plain = ConfigLoader.parse("""
                listeners:
                  - { name: edge, address: 127.0.0.1:8443, routes: [ { action: reject } ] }
                """, "test.yaml").listeners().getFirst();
        assertEquals(Optional.empty(), plain.proxyProtocol());
    }

    static Stream<Arguments> invalidMatches() {
        return Stream.of(
                Arguments.of("{ alpn: [] }", "6:24: listeners[0].routes[0].match.alpn: must not be an empty list"),
                Arguments.of("{ tls: yes }", "6:23: listeners[0].routes[0].match.tls: expected true or false, got 'yes'"),
                Arguments.of("{ method: get }", "6:26: listeners[0].routes[0].match.method: invalid method 'get'"),
                Arguments.of("{ path_prefix: api/ }", "6:31: listeners[0].routes[0].match.path_prefix: invalid path prefix 'api/'"),
                Arguments.of("{ path_prefix: /a/../b }",
                        "6:31: listeners[0].routes[0].match.path_prefix: path prefix '/a/../b' is not in normal form, write '/b'"),
                Arguments.of("{ path_prefix: \"/%7Euser\" }",
                        "6:31: listeners[0].routes[0].match.path_prefix: path prefix '/%7Euser' is not in normal form, write '/~user'"),
                Arguments.of("{ source: 10.0.0.1/8 }",
                        "6:26: listeners[0].routes[0].match.source: invalid network '10.0.0.1/8': host bits are set (did you mean 10.0.0.0/8?)"),
                Arguments.of("{ source: [example.com] }",
                        "6:27: listeners[0].routes[0].match.source[0]: invalid network 'example.com'"),
                Arguments.of("{ destination_port: 0 }", "6:36: listeners[0].routes[0].match.destination_port: invalid port '0'"),
                Arguments.of("{ destination_port: 90-80 }", "6:36: listeners[0].routes[0].match.destination_port: invalid port '90-80'"),
                Arguments.of("{ kafka_client_id: \"a*b\" }",
                        "6:35: listeners[0].routes[0].match.kafka_client_id: invalid client id pattern 'a*b'"),
                Arguments.of("{ not: [ { tls: true } ] }", "6:23: listeners[0].routes[0].match.not: expected a mapping, got a list"),
                Arguments.of("{ any: [] }", "6:23: listeners[0].routes[0].match.any: needs at least one match mapping"),
                Arguments.of("{ all: [ {} ] }", "6:25: listeners[0].routes[0].match.all[0]: a match needs at least one of"),
                Arguments.of("{ token: { } }",
                        "6:25: listeners[0].routes[0].match.token: a token takes exactly one of digests, hmac_secret_env, hmac_secret_file, got none"),
                Arguments.of("{ token: { digests: [abc] } }",
                        "6:37: listeners[0].routes[0].match.token.digests[0]: expected a SHA-256 digest as 64 hex digits"),
                Arguments.of("{ token: { digests: [\"" + "a".repeat(64) + "\"], hmac_secret_env: X } }",
                        "6:25: listeners[0].routes[0].match.token: a token takes exactly one of digests, hmac_secret_env, hmac_secret_file, got digests and hmac_secret_env"),
                Arguments.of("{ token: { digests: [\"" + "a".repeat(64) + "\"], tenants: [a] } }",
                        "6:115: listeners[0].routes[0].match.token.tenants: tenants go with hmac_secret_env or hmac_secret_file"),
                Arguments.of("{ token: { hmac_secret_env: FERRY_SURELY_UNSET_VARIABLE } }",
                        "6:44: listeners[0].routes[0].match.token.hmac_secret_env: environment variable FERRY_SURELY_UNSET_VARIABLE is not set"),
                Arguments.of("{ token: { hmac_secret_file: /nonexistent/secret } }",
                        "6:45: listeners[0].routes[0].match.token.hmac_secret_file: cannot read the HMAC secret file /nonexistent/secret"),
                Arguments.of("{ token: { hmac_secret_env: PATH, from: somewhere } }",
                        "6:56: listeners[0].routes[0].match.token.from: unknown token carrier 'somewhere'"),
                Arguments.of("{ token: { hmac_secret_env: PATH, from: http_header } }",
                        "6:56: listeners[0].routes[0].match.token.from: from: http_header needs header: <name>"),
                Arguments.of("{ token: { hmac_secret_env: PATH, header: X-Token } }",
                        "6:58: listeners[0].routes[0].match.token.header: header goes with from: http_header"));
    }

    @ParameterizedTest
    @MethodSource("invalidMatches")
    void invalidMatchesSayWhereAndWhy(String match, String expected) {
        ConfigException error = assertThrows(ConfigException.class, () -> match(match));
        assertTrue(error.getMessage().startsWith("test.yaml:" + expected), error.getMessage() + "\nexpected: " + expected);
    }

    @Test
    void aShortSecretIsRefused() throws Exception {
        Path secret = dir.resolve("short");
        Files.writeString(secret, "tooshort\n");
        ConfigException error = assertThrows(ConfigException.class,
                () -> match("{ token: { hmac_secret_file: \"" + secret + "\" } }"));
        assertTrue(error.getMessage().contains("is 8 bytes, at least 16 are needed"), error.getMessage());
    }

    @Test
    void nestingIsBounded() {
        String deep = "{ tls: true }";
        for (int i = 0; i < 20; i++) {
            deep = "{ not: " + deep + " }";
        }
        String match = deep;
        ConfigException error = assertThrows(ConfigException.class, () -> match(match));
        assertTrue(error.getMessage().contains("nested more than 16 deep"), error.getMessage());
    }

    @Test
    void proxyProtocolErrorsSayWhereAndWhy() {
        ConfigException empty = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:8443
                    proxy_protocol: { trusted_sources: [] }
                    routes: [ { action: reject } ]
                """, "test.yaml"));
        assertTrue(empty.getMessage().startsWith(
                "test.yaml:4:40: listeners[0].proxy_protocol.trusted_sources: list at least one network"), empty.getMessage());
        ConfigException bad = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:8443
                    proxy_protocol: { trusted_sources: ["127.0.0.1/33"], required: maybe }
                    routes: [ { action: reject } ]
                """, "test.yaml"));
        assertTrue(bad.getMessage().startsWith(
                "test.yaml:4:41: listeners[0].proxy_protocol.trusted_sources[0]: invalid network '127.0.0.1/33'"), bad.getMessage());
        ConfigException unknown = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:8443
                    proxy_protocol: { trusted: ["127.0.0.1"] }
                    routes: [ { action: reject } ]
                """, "test.yaml"));
        assertTrue(unknown.getMessage().contains("unknown key 'trusted' (allowed: trusted_sources, required)"),
                unknown.getMessage());
    }
}
