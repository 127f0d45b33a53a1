package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.config.DnsName;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClientHelloTest {

    private static ClientHello.Parsed parse(byte[] bytes) {
        return readUnchanged(firstBytes(bytes), ClientHello::parse);
    }

    private static ClientHello.Parsed parsePrefix(byte[] bytes, int length) {
        return readUnchanged(firstBytes(bytes, length), ClientHello::parse);
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void jdkHelloGivesServerNameAndAlpn(String protocol) throws Exception {
        byte[] hello = TlsHellos.fromJdk(protocol, "a.eu.example.com", "h2", "http/1.1");

        assertEquals(new ClientHello.Found(Optional.of("a.eu.example.com"), List.of("h2", "http/1.1")), parse(hello));
    }

    @Test
    void serverNameIsLowercased() throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", "A.EU.Example.COM");

        assertEquals(Optional.of("a.eu.example.com"), assertInstanceOf(ClientHello.Found.class, parse(hello)).serverName());
    }

    @Test
    void helloWithoutServerNameHasNone() throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", null);

        ClientHello.Found found = assertInstanceOf(ClientHello.Found.class, parse(hello));
        assertEquals(Optional.empty(), found.serverName());
        assertEquals(List.of(), found.alpnProtocols());
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void everyCutShortOfTheEndNeedsMore(String protocol) throws Exception {
        byte[] hello = TlsHellos.fromJdk(protocol, "a.eu.example.com", "h2");

        for (int length = 0; length < hello.length; length++) {
            assertEquals(ClientHello.NEED_MORE, parsePrefix(hello, length), "cut at " + length);
        }
        assertInstanceOf(ClientHello.Found.class, parsePrefix(hello, hello.length));
    }

    @Test
    void helloSplitIntoTwoRecordsIsReassembled() throws Exception {
        byte[] hello = TlsHellos.reframed(TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com"), 100);

        assertEquals(Optional.of("a.eu.example.com"), assertInstanceOf(ClientHello.Found.class, parse(hello)).serverName());
        for (int length = 0; length < hello.length; length++) {
            assertEquals(ClientHello.NEED_MORE, parsePrefix(hello, length), "cut at " + length);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 40})
    void recordBoundaryAnywhereIsReassembled(int firstFragment) throws Exception {
        byte[] hello = TlsHellos.reframed(TlsHellos.fromJdk("TLSv1.2", "a.eu.example.com"), firstFragment);

        assertEquals(Optional.of("a.eu.example.com"), assertInstanceOf(ClientHello.Found.class, parse(hello)).serverName());
    }

    @Test
    void helloInOneByteRecordsIsReassembledAndEveryCutNeedsMore() throws Exception {
        byte[] hello = TlsHellos.oneByteRecords(TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com"));

        assertEquals(Optional.of("a.eu.example.com"), assertInstanceOf(ClientHello.Found.class, parse(hello)).serverName());
        for (int length = 0; length < hello.length; length++) {
            assertEquals(ClientHello.NEED_MORE, parsePrefix(hello, length), "cut at " + length);
        }
    }

    @Test
    void bytesAfterTheHelloAreIgnored() throws Exception {
        byte[] hello = TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com");
        byte[] withEarlyData = TlsHellos.concat(hello, TlsHellos.recordHeader(23, 3, 3), new byte[] {1, 2, 3});

        assertInstanceOf(ClientHello.Found.class, parse(withEarlyData));
    }

    @Test
    void otherProtocolsAreNotTlsFromTheirFirstByte() {
        assertEquals(ClientHello.NOT_TLS, parse("G".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(ClientHello.NOT_TLS, parse("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(ClientHello.NOT_TLS, parse(new byte[] {22, 2}), "record version 2.x");
        assertEquals(ClientHello.NOT_TLS, parse(new byte[] {(byte) 0x80, 0x2e, 1}), "SSLv2-style hello");
    }

    @Test
    void absurdOrEmptyLengthsAreRefusedAtOnce() {
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.recordHeader(22, 1, 16384 + 2048 + 1)), "record too long");
        assertEquals(ClientHello.NEED_MORE, parse(TlsHellos.recordHeader(22, 1, 16384 + 2048)), "longest record");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.recordHeader(22, 1, 0)), "empty record");
        byte[] hugeHandshake = TlsHellos.concat(TlsHellos.recordHeader(22, 1, 100), new byte[] {1, 1, 0, 1});
        assertEquals(ClientHello.NOT_TLS, parse(hugeHandshake), "handshake over 64 KiB");
        byte[] largestHandshake = TlsHellos.concat(TlsHellos.recordHeader(22, 1, 100), new byte[] {1, 1, 0, 0});
        assertEquals(ClientHello.NEED_MORE, parse(largestHandshake), "handshake of 64 KiB");
    }

    @Test
    void otherHandshakeMessagesAndInterleavedRecordsAreNotTls() throws Exception {
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.concat(TlsHellos.recordHeader(22, 3, 4), new byte[] {2})),
                "ServerHello");
        byte[] hello = TlsHellos.reframed(TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com"), 50);
        hello[5 + 50] = 23; // second record becomes application data
        assertEquals(ClientHello.NOT_TLS, parse(hello));
    }

    @Test
    void helloWithoutExtensionsHasNoServerName() {
        byte[] body = Arrays.copyOf(TlsHellos.handshakeBytes(TlsHellos.withExtensions()), 4 + 2 + 32 + 1 + 4 + 2);
        body[3] = (byte) (body.length - 4); // handshake length without the extensions block

        assertEquals(new ClientHello.Found(Optional.empty(), List.of()), parse(TlsHellos.inRecord(body)));
    }

    @Test
    void handMadeHelloIsRead() {
        byte[] hello = TlsHellos.withExtensions(
                TlsHellos.extension(10, new byte[] {0, 2, 0, 29}),
                TlsHellos.serverNameExtension("Www.Example.com"),
                TlsHellos.extension(16, new byte[] {0, 3, 2, 'h', '2'}));

        assertEquals(new ClientHello.Found(Optional.of("www.example.com"), List.of("h2")), parse(hello));
    }

    @Test
    void ambiguousOrMalformedServerNamesAreNotTls() {
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(
                TlsHellos.serverNameExtension("a.example.com"), TlsHellos.serverNameExtension("b.example.com"))),
                "two server_name extensions");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(
                TlsHellos.serverNameExtension("a.example.com", "b.example.com"))), "two host names");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(
                TlsHellos.serverNameExtension("evil\0.eu.example.com"))), "NUL in name");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(
                TlsHellos.serverNameExtension("example.com."))), "trailing dot");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(TlsHellos.extension(0, new byte[0]))),
                "empty server_name");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(
                TlsHellos.extension(0, new byte[] {0, 4, 0, 0, 1, 'a', 9}))), "bytes after the name list");
        assertEquals(ClientHello.NOT_TLS, parse(TlsHellos.withExtensions(
                TlsHellos.extension(16, new byte[] {0, 1, 0}))), "empty ALPN protocol");
    }

    @Test
    void unknownNameTypesAreSkipped() {
        byte[] otherTypeThenHost = {0, 11, 7, 0, 1, 'x', 0, 0, 5, 'a', '.', 'b', '.', 'c'};
        otherTypeThenHost[1] = (byte) (otherTypeThenHost.length - 2);

        ClientHello.Parsed parsed = parse(TlsHellos.withExtensions(TlsHellos.extension(0, otherTypeThenHost)));

        assertEquals(Optional.of("a.b.c"), assertInstanceOf(ClientHello.Found.class, parsed).serverName());
    }

    @Test
    void randomBytesNeverThrowAndNeverMatch() {
        Random random = new Random(20240601);
        SniMatcher matcher = new SniMatcher("*.example.com");
        for (int i = 0; i < 10_000; i++) {
            byte[] bytes = new byte[random.nextInt(600)];
            random.nextBytes(bytes);
            if (bytes.length >= 6 && random.nextBoolean()) {
                // Get past the first checks so that the deeper code sees garbage too.
                bytes[0] = 22;
                bytes[1] = 3;
                bytes[5] = 1;
            }
            ClientHello.Parsed parsed = parse(bytes);
            if (parsed instanceof ClientHello.Found found) {
                found.serverName().ifPresent(name -> assertTrue(DnsName.isValid(name), name));
            }
            assertNotEquals(Match.YES, Buffers.matches(matcher, firstBytes(bytes)));
        }
    }

    @Test
    void mutatedHellosNeverThrow() throws Exception {
        byte[] original = TlsHellos.reframed(TlsHellos.fromJdk("TLSv1.3", "a.eu.example.com", "h2"), 200);
        Random random = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            byte[] mutated = original.clone();
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
            }
            int length = random.nextInt(4) == 0 ? random.nextInt(mutated.length + 1) : mutated.length;
            ClientHello.Parsed parsed = parsePrefix(mutated, length);
            if (parsed instanceof ClientHello.Found found) {
                found.serverName().ifPresent(name -> assertTrue(DnsName.isValid(name), name));
            }
        }
    }
}
