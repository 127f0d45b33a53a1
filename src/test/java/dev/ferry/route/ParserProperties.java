package dev.ferry.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.DnsName;
import dev.ferry.config.HttpPaths;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Properties of every first-packet parser, checked on generated input:
 * <ul>
 * <li>any bytes, random or a mutated valid message, are answered without an exception, from a buffer whose
 *     bounds are exact (a read past them would throw) and unchanged afterwards;
 * <li>the answer does not depend on where in its backing array the buffer starts (position is respected);
 * <li>a valid message cut anywhere before its end answers need-more, and whole it gives back what was put in.
 * </ul>
 */
class ParserProperties {

    private static final Router ROUTER = everyCondition();

    /** Every parser (and the router with every kind of condition) over one buffer. */
    private static final List<Function<ByteBuffer, Object>> PARSERS = List.of(
            ClientHello::parse,
            HttpRequestHead::parse,
            HttpRequestHead::parseRequestLine,
            bytes -> HttpRequestHead.parseHeader(bytes, "x-ferry-token"),
            ProxyHeader::parse,
            TokenPreamble::parse,
            KafkaRequestHeader::parse,
            bytes -> ROUTER.decide(bytes, RouterTest.PEER, RouterTest.LOCAL),
            bytes -> ROUTER.decideFinal(bytes, RouterTest.PEER, RouterTest.LOCAL));

    private static Router everyCondition() {
        try {
            return Router.forListener(ConfigLoader.parse("""
                    listeners:
                      - name: edge
                        address: 127.0.0.1:0
                        proxy_protocol: { trusted_sources: ["127.0.0.0/8"], required: false }
                        routes:
                          - match: { token: { digests: ["%s"] }, sni: "*.example.com" }
                            cluster: c
                          - match: { any: [ { alpn: h2 }, { tls: false, method: [GET, POST] } ] }
                            cluster: c
                          - match: { not: { path_prefix: /admin/ }, host: [a.example.com, "[::1]"] }
                            cluster: c
                          - match: { kafka_client_id: "tenant-*", source: ["10.0.0.0/8", "::1/128"] }
                            cluster: c
                          - match: { destination_port: ["443", "8000-8099"], prefix: "PING" }
                            action: reject
                          - match: { token: { digests: ["%s"], from: http_header, header: X-Ferry-Token } }
                            cluster: c
                          - match: { token: { digests: ["%s"], from: kafka_client_id } }
                            cluster: c
                    clusters:
                      - { name: c, endpoints: ["127.0.0.1:1"] }
                    """.formatted("a".repeat(64), "b".repeat(64), "c".repeat(64)), "properties.yaml").listeners().getFirst());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The bytes, in a read-only buffer with exact bounds: any read outside them throws. */
    private static ByteBuffer exact(byte[] bytes, int length) {
        return ByteBuffer.wrap(Arrays.copyOf(bytes, length)).asReadOnlyBuffer();
    }

    private static Object parseChecked(Function<ByteBuffer, Object> parser, byte[] bytes, int length) {
        ByteBuffer exact = exact(bytes, length);
        Object fromExact = parser.apply(exact);
        assertEquals(0, exact.position(), "position moved");
        assertEquals(length, exact.limit(), "limit moved");
        Object fromOffset = Buffers.readUnchanged(Buffers.firstBytes(bytes, length), parser);
        assertEquals(describe(fromExact), describe(fromOffset), "the answer depends on the buffer's position");
        return fromExact;
    }

    /** Decisions carry buffers' facts with addresses only; compare them as text. */
    private static String describe(Object result) {
        return result instanceof Decision decision ? RouterTest.outcome(decision) : String.valueOf(result);
    }

    private static void allParsersSurvive(byte[] bytes) {
        for (Function<ByteBuffer, Object> parser : PARSERS) {
            for (int length : new int[] {bytes.length, bytes.length / 2, Math.min(bytes.length, 7)}) {
                parseChecked(parser, bytes, length);
            }
        }
    }

    // ---- random and mutated input never throws ----

    @Property(tries = 2000)
    void randomBytesNeverThrow(@ForAll @Size(max = 700) byte[] bytes) {
        allParsersSurvive(bytes);
    }

    @Property(tries = 1000)
    void randomBytesBehindEachSignatureNeverThrow(@ForAll("signatures") byte[] signature,
                                                   @ForAll @Size(max = 400) byte[] rest) {
        allParsersSurvive(TlsHellos.concat(signature, rest));
    }

    @Provide
    Arbitrary<byte[]> signatures() {
        return Arbitraries.of(
                new byte[] {22, 3, 1, 1, 0, 1},
                new byte[] {22, 3, 3, 0, 64, 1, 0, 0, 60, 3, 3},
                "PROXY TCP4 ".getBytes(StandardCharsets.US_ASCII),
                "PROXY TCP6 ::1 ".getBytes(StandardCharsets.US_ASCII),
                ProxyHeader.V2_SIGNATURE,
                TlsHellos.concat(ProxyHeader.V2_SIGNATURE, new byte[] {0x21, 0x11, 0, 12}),
                TlsHellos.concat(ProxyHeader.V2_SIGNATURE, new byte[] {0x21, 0x21, 0, 40}),
                "FERRY ".getBytes(StandardCharsets.US_ASCII),
                "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII),
                "POST http://a.example.com/x HTTP/1.1\r\nX-Ferry-Token: ".getBytes(StandardCharsets.US_ASCII),
                new byte[] {0, 0, 0, 40, 0, 18, 0, 3, 0, 0, 0, 1, 0, 8});
    }

    @Property(tries = 500)
    void mutatedValidMessagesNeverThrow(@ForAll("validMessages") byte[] message,
                                        @ForAll @Size(min = 1, max = 6) List<@IntRange(max = 1 << 20) Integer> positions,
                                        @ForAll @Size(min = 6, max = 6) byte[] values) {
        byte[] mutated = message.clone();
        for (int i = 0; i < positions.size(); i++) {
            mutated[positions.get(i) % mutated.length] = values[i];
        }
        allParsersSurvive(mutated);
    }

    @Provide
    Arbitrary<byte[]> validMessages() {
        return Arbitraries.oneOf(
                helloCases().map(HelloCase::bytes),
                requestCases().map(RequestCase::bytes),
                proxyCases().map(ProxyCase::bytes),
                kafkaCases().map(KafkaCase::bytes),
                tokens().map(token -> ("FERRY " + token + "\n").getBytes(StandardCharsets.US_ASCII)));
    }

    // ---- TLS ClientHello ----

    record HelloCase(byte[] bytes, Optional<String> serverName, List<String> alpn) {
    }

    @Provide
    Arbitrary<HelloCase> helloCases() {
        Arbitrary<Optional<String>> names = dnsNames().optional(0.8);
        Arbitrary<List<String>> alpn = Arbitraries.of("h2", "http/1.1", "imap", "x-ferry").list().uniqueElements().ofMaxSize(3);
        Arbitrary<Integer> minor = Arbitraries.integers().between(1, 3);
        Arbitrary<List<Integer>> greaseNibbles = Arbitraries.integers().between(0, 15).list().ofMaxSize(3);
        Arbitrary<List<Integer>> fragments = Arbitraries.integers().between(1, 300).list().ofMaxSize(5);
        return Combinators.combine(names, alpn, minor, greaseNibbles, fragments).as((name, protocols, version, grease, sizes) -> {
            List<byte[]> extensions = new ArrayList<>();
            for (int nibble : grease) {
                int value = nibble << 12 | 0x0A00 | nibble << 4 | 0x0A;
                extensions.add(TlsHellos.extension(value, new byte[extensions.size()]));
            }
            name.ifPresent(n -> extensions.add(TlsHellos.serverNameExtension(n)));
            List<String> offered = new ArrayList<>(protocols);
            if (!grease.isEmpty()) {
                offered.add(1 % (offered.size() + 1), new String(new byte[] {0x2A, 0x2A}, StandardCharsets.ISO_8859_1));
            }
            if (!offered.isEmpty()) {
                ByteArrayOutputStream list = new ByteArrayOutputStream();
                for (String protocol : offered) {
                    byte[] bytes = protocol.getBytes(StandardCharsets.ISO_8859_1);
                    list.write(bytes.length);
                    list.writeBytes(bytes);
                }
                extensions.add(TlsHellos.extension(16, TlsHellos.concat(TlsHellos.u16(list.size()), list.toByteArray())));
            }
            byte[] hello = TlsHellos.withExtensions(extensions.toArray(byte[][]::new));
            hello[2] = (byte) (int) version;          // record version 3.1..3.3
            hello[9 + 1] = (byte) (int) version;      // legacy_version 3.1..3.3 (record 5 + handshake header 4)
            int[] split = sizes.stream().mapToInt(Integer::intValue).toArray();
            return new HelloCase(TlsHellos.reframed(hello, split), name.map(n -> n.toLowerCase(Locale.ROOT)), protocols);
        });
    }

    private static Arbitrary<String> dnsNames() {
        Arbitrary<String> label = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
                .ofMinLength(1).ofMaxLength(20);
        return label.list().ofMinSize(1).ofMaxSize(5).map(labels -> String.join(".", labels)).filter(DnsName::isValid);
    }

    @Property(tries = 300)
    void aClientHelloIsReadWholeAndNeedsMoreWhenCut(@ForAll("helloCases") HelloCase hello) {
        assertEquals(new ClientHello.Found(hello.serverName(), hello.alpn()),
                parseChecked(ClientHello::parse, hello.bytes(), hello.bytes().length));
        for (int length = 0; length < hello.bytes().length; length++) {
            assertEquals(ClientHello.NEED_MORE, parseChecked(ClientHello::parse, hello.bytes(), length), "cut at " + length);
        }
    }

    // ---- HTTP/1.x request head ----

    record RequestCase(byte[] bytes, String method, String target, Optional<String> host, int headEnd) {
    }

    @Provide
    Arbitrary<RequestCase> requestCases() {
        Arbitrary<String> method = Arbitraries.strings().withCharRange('A', 'Z').ofMinLength(1).ofMaxLength(16);
        Arbitrary<String> path = Arbitraries.strings().withChars("abcxyz019/-._~%?=&").ofMaxLength(40).map(p -> "/" + p);
        Arbitrary<Optional<String>> host = dnsNames().optional(0.8);
        Arbitrary<List<String>> headers = Combinators.combine(
                Arbitraries.strings().withChars("abcxyzABC-_!#").ofMinLength(1).ofMaxLength(12),
                Arbitraries.strings().withChars("abc xyz\t019/;=,\"").ofMaxLength(30))
                .as((name, value) -> name + ":" + value).filter(h -> !h.toLowerCase(Locale.ROOT).startsWith("host:"))
                .list().ofMaxSize(4);
        return Combinators.combine(method, path, host, headers).as((m, p, h, hs) -> {
            StringBuilder head = new StringBuilder(m + " " + p + " HTTP/1.1\r\n");
            hs.forEach(line -> head.append(line).append("\r\n"));
            h.ifPresent(name -> head.append("Host: ").append(name).append(":8080\r\n"));
            head.append("\r\n");
            return new RequestCase(head.toString().getBytes(StandardCharsets.US_ASCII), m, p,
                    h.map(name -> name.toLowerCase(Locale.ROOT)), head.length());
        });
    }

    @Property(tries = 300)
    void aRequestHeadIsReadAndNeedsMoreWhenCut(@ForAll("requestCases") RequestCase request) {
        byte[] bytes = request.bytes();
        HttpRequestHead.Found found = assertInstanceOf(HttpRequestHead.Found.class,
                parseChecked(HttpRequestHead::parse, bytes, bytes.length));
        assertEquals(new HttpRequestHead.Found(request.method(), request.target(), request.host()), found);
        assertEquals(new HttpRequestHead.RequestLine(request.method(), request.target()),
                parseChecked(HttpRequestHead::parseRequestLine, bytes, bytes.length));
        int lineEnd = new String(bytes, StandardCharsets.US_ASCII).indexOf("\r\n") + 2;
        for (int length = 0; length < bytes.length; length++) {
            if (length < lineEnd) {
                assertEquals(HttpRequestHead.NEED_MORE, parseChecked(HttpRequestHead::parseRequestLine, bytes, length));
            }
            Object head = parseChecked(HttpRequestHead::parse, bytes, length);
            // With a Host header, parsing stops right after it: later cuts may already be complete.
            assertTrue(head == HttpRequestHead.NEED_MORE || head.equals(found), "cut at " + length + ": " + head);
            Object header = parseChecked(b -> HttpRequestHead.parseHeader(b, "x-ferry-token"), bytes, length);
            assertEquals(HttpRequestHead.NEED_MORE, header, "cut at " + length);
        }
    }

    @Property(tries = 1000)
    void pathNormalizationIsIdempotentAndNeverThrows(@ForAll @Size(max = 60) List<@net.jqwik.api.constraints.CharRange(from = ' ', to = '~') Character> chars) {
        StringBuilder path = new StringBuilder("/");
        chars.forEach(path::append);
        Optional<String> normal = HttpPaths.normalize(path.toString());
        normal.ifPresent(once -> {
            assertTrue(once.startsWith("/"), once);
            assertEquals(Optional.of(once), HttpPaths.normalize(once), "idempotent");
            assertTrue(!once.contains("/./") && !once.contains("/../") && !once.endsWith("/.") && !once.endsWith("/.."), once);
        });
    }

    // ---- PROXY protocol ----

    record ProxyCase(byte[] bytes, InetSocketAddress source, InetSocketAddress destination, Optional<String> authority,
                     int version) {
    }

    @Provide
    Arbitrary<ProxyCase> proxyCases() {
        Arbitrary<Boolean> ipv6 = Arbitraries.of(true, false);
        Arbitrary<byte[]> bytes16 = Arbitraries.bytes().array(byte[].class).ofSize(16);
        Arbitrary<Integer> port = Arbitraries.integers().between(0, 65535);
        Arbitrary<Optional<String>> authority = dnsNames().optional(0.5);
        Arbitrary<List<byte[]>> noise = Combinators.combine(Arbitraries.of(0x01, 0x04, 0x05, 0x20, 0x30, 0xE0),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(20)).as(ProxyHeaders::tlv).list().ofMaxSize(3);
        Arbitrary<Integer> form = Arbitraries.of(1, 2, 3);
        return Combinators.combine(ipv6, bytes16, bytes16, port, port, authority, noise, form)
                .as((v6, a, b, sourcePort, destinationPort, name, tlvs, version) -> {
                    InetSocketAddress source = new InetSocketAddress(address(v6, a), sourcePort);
                    InetSocketAddress destination = new InetSocketAddress(address(v6, b), destinationPort);
                    if (version == 1) {
                        return new ProxyCase(ProxyHeaders.v1(source, destination), source, destination, Optional.empty(), 1);
                    }
                    List<byte[]> all = new ArrayList<>(tlvs);
                    name.ifPresent(n -> all.add(ProxyHeaders.tlv(0x02, n.getBytes(StandardCharsets.US_ASCII))));
                    byte[] header = version == 2 ? ProxyHeaders.v2(source, destination, all.toArray(byte[][]::new))
                            : ProxyHeaders.v2WithCrc(source, destination, all.toArray(byte[][]::new));
                    return new ProxyCase(header, source, destination, name, 2);
                });
    }

    private static InetAddress address(boolean ipv6, byte[] bytes) {
        try {
            byte[] raw = ipv6 ? bytes : Arrays.copyOf(bytes, 4);
            if (ipv6 && raw[10] == (byte) 0xFF && raw[11] == (byte) 0xFF) {
                raw[10] = 0; // an IPv4-mapped address would come back as IPv4 from getByAddress
            }
            return InetAddress.getByAddress(raw);
        } catch (java.net.UnknownHostException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    @Property(tries = 500)
    void aProxyHeaderIsReadAndNeedsMoreWhenCut(@ForAll("proxyCases") ProxyCase header,
                                               @ForAll @Size(max = 30) byte[] after) {
        byte[] bytes = TlsHellos.concat(header.bytes(), after);
        assertEquals(new ProxyHeader.Found(header.bytes().length, header.version(), Optional.of(header.source()),
                Optional.of(header.destination()), header.authority()), parseChecked(ProxyHeader::parse, bytes, bytes.length));
        for (int length = 0; length < header.bytes().length; length++) {
            assertEquals(ProxyHeader.NEED_MORE, parseChecked(ProxyHeader::parse, bytes, length), "cut at " + length);
        }
    }

    // ---- FERRY preamble ----

    @Provide
    Arbitrary<String> tokens() {
        return Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(TokenPreamble.MAX_TOKEN_LENGTH);
    }

    @Property(tries = 300)
    void aPreambleIsReadAndNeedsMoreWhenCut(@ForAll("tokens") String token, @ForAll boolean crlf) {
        byte[] line = ("FERRY " + token + (crlf ? "\r\n" : "\n")).getBytes(StandardCharsets.US_ASCII);
        assertEquals(new TokenPreamble.Found(line.length, token), parseChecked(TokenPreamble::parse, line, line.length));
        for (int length = 0; length < line.length; length++) {
            assertEquals(TokenPreamble.NEED_MORE, parseChecked(TokenPreamble::parse, line, length), "cut at " + length);
        }
    }

    // ---- Kafka request header ----

    record KafkaCase(byte[] bytes, KafkaRequestHeader.Found header, int clientIdEnd) {
    }

    @Provide
    Arbitrary<KafkaCase> kafkaCases() {
        Arbitrary<Integer> apiKey = Arbitraries.integers().between(0, 65535);
        Arbitrary<Integer> version = Arbitraries.integers().between(0, 32767);
        Arbitrary<Integer> correlation = Arbitraries.integers();
        Arbitrary<Optional<String>> clientId = Arbitraries.strings().ofMaxLength(200)
                .filter(s -> StandardCharsets.UTF_8.newEncoder().canEncode(s)).optional(0.9);
        Arbitrary<byte[]> body = Arbitraries.bytes().array(byte[].class).ofMaxSize(50);
        return Combinators.combine(apiKey, version, correlation, clientId, body).as((key, v, id, client, rest) -> {
            byte[] bytes = KafkaRequestHeaderTest.header(key, v, id, client.orElse(null), rest);
            int end = 4 + 10 + client.map(c -> c.getBytes(StandardCharsets.UTF_8).length).orElse(0);
            return new KafkaCase(bytes, new KafkaRequestHeader.Found(key, v, id, client), end);
        });
    }

    @Property(tries = 500)
    void aKafkaHeaderIsReadAndNeedsMoreWhenCut(@ForAll("kafkaCases") KafkaCase request) {
        byte[] bytes = request.bytes();
        assertEquals(request.header(), parseChecked(KafkaRequestHeader::parse, bytes, bytes.length));
        for (int length = 0; length < request.clientIdEnd(); length++) {
            assertEquals(KafkaRequestHeader.NEED_MORE, parseChecked(KafkaRequestHeader::parse, bytes, length),
                    "cut at " + length);
        }
    }

    // ---- the router, over all of it ----

    @Property(tries = 300)
    void theRouterNeverDecidesBeforeATrustedProxyHeaderIsWhole(@ForAll("proxyCases") ProxyCase header,
                                                                 @ForAll("validMessages") byte[] payload) {
        byte[] bytes = TlsHellos.concat(header.bytes(), payload);
        for (int length = 0; length < header.bytes().length; length++) {
            Object decision = parseChecked(b -> ROUTER.decide(b, RouterTest.PEER, RouterTest.LOCAL), bytes, length);
            assertEquals("need_more", describe(decision), "cut at " + length);
        }
        Object whole = parseChecked(b -> ROUTER.decideFinal(b, RouterTest.PEER, RouterTest.LOCAL), bytes, bytes.length);
        if (whole instanceof Decision.Forward forward) {
            assertEquals(header.source(), forward.source());
            assertTrue(forward.facts().leadingBytesToStrip() >= header.bytes().length);
        }
    }
}
