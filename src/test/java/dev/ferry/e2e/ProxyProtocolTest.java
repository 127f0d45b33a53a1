package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.demo.DemoBackends;
import dev.ferry.route.ProxyHeader;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.Haproxy;
import dev.ferry.testing.Processes;
import dev.ferry.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HAProxy in front of Ferry with {@code send-proxy-v2} and {@code send-proxy}: Ferry routes on the original client
 * address, which clients choose by binding 127.0.0.2 or 127.0.0.3 (all of 127/8 is loopback on Linux).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ProxyProtocolTest {
    private static final InetAddress CLIENT_TWO = InetAddress.ofLiteral("127.0.0.2");
    private static final InetAddress CLIENT_THREE = InetAddress.ofLiteral("127.0.0.3");

    @TempDir
    static Path workDir;
    static DemoBackends backends;
    static TestBackend recorder;
    static FerryHarness ferry;
    static Haproxy haproxy;
    static int v2Port;
    static int v1Port;
    static int untrustedPort;
    static int tlsPort;

    @BeforeAll
    static void start() throws Exception {
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        backends = DemoBackends.start(List.of(
                new DemoBackends.Endpoint("from-two", any),
                new DemoBackends.Endpoint("v1-port", any),
                new DemoBackends.Endpoint("others", any),
                new DemoBackends.Endpoint("echo", any)), workDir);
        recorder = new TestBackend(ProxyProtocolTest::readProxyHeader);
        List<InetSocketAddress> bound = backends.boundAddresses();
        v2Port = Haproxy.freePort();
        v1Port = Haproxy.freePort();
        untrustedPort = Haproxy.freePort();
        tlsPort = Haproxy.freePort();
        ferry = FerryHarness.start("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                    first_packet: { timeout: 2s }
                    proxy_protocol: { trusted_sources: ["127.0.0.1/32", "::1/128"] }
                    routes:
                      - match: { source: "127.0.0.2/32" }
                        cluster: from-two
                      - match: { destination_port: %d }
                        cluster: v1-port
                      - cluster: others
                  - name: untrusting
                    address: 127.0.0.1:0
                    proxy_protocol: { trusted_sources: ["192.0.2.0/24"] }
                    routes:
                      - cluster: echo
                clusters:
                  - { name: from-two, endpoints: ["127.0.0.1:%d"] }
                  - { name: v1-port, endpoints: ["127.0.0.1:%d"] }
                  - { name: others, endpoints: ["127.0.0.1:%d"] }
                  - { name: echo, endpoints: ["127.0.0.1:%d"] }
                """.formatted(v1Port, bound.get(0).getPort(), bound.get(1).getPort(), bound.get(2).getPort(),
                bound.get(3).getPort()));
        Path pem = selfSignedPem();
        haproxy = Haproxy.start(workDir, """
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend v2
                    bind 127.0.0.1:%d
                    default_backend ferry_v2
                backend ferry_v2
                    server ferry 127.0.0.1:%d send-proxy-v2 proxy-v2-options crc32c
                frontend v1
                    bind 127.0.0.1:%d
                    default_backend ferry_v1
                backend ferry_v1
                    server ferry 127.0.0.1:%d send-proxy
                frontend untrusted
                    bind 127.0.0.1:%d
                    default_backend ferry_untrusted
                backend ferry_untrusted
                    server ferry 127.0.0.1:%d send-proxy-v2
                frontend tls
                    bind 127.0.0.1:%d ssl crt %s
                    default_backend recorder
                backend recorder
                    server recorder %s send-proxy-v2 proxy-v2-options authority,crc32c
                """.formatted(v2Port, ferry.port(), v1Port, ferry.port(), untrustedPort,
                ferry.ferry().listenerAddress("untrusting").getPort(), tlsPort, pem, recorder.endpoint()),
                List.of(v2Port, v1Port, untrustedPort, tlsPort));
    }

    @AfterAll
    static void stop() throws Exception {
        try (DemoBackends closingBackends = backends; TestBackend closingRecorder = recorder) {
            if (haproxy != null) {
                haproxy.close();
            }
            if (ferry != null) {
                ferry.close();
            }
        }
    }

    private static Path selfSignedPem() throws Exception {
        Path key = workDir.resolve("haproxy.key");
        Path certificate = workDir.resolve("haproxy.crt");
        String out = Processes.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=auth.example.com",
                "-keyout", key.toString(), "-out", certificate.toString()), "", 30);
        assertTrue(Files.exists(certificate), out);
        Path pem = workDir.resolve("haproxy.pem");
        Files.writeString(pem, Files.readString(certificate) + Files.readString(key));
        return pem;
    }

    /** What HAProxy sends a server first, read by Ferry's parser. */
    private static Object readProxyHeader(Socket socket) throws IOException {
        socket.setSoTimeout(20_000);
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        while (true) {
            ProxyHeader.Parsed parsed = ProxyHeader.parse(ByteBuffer.wrap(received.toByteArray()));
            if (!(parsed instanceof ProxyHeader.NeedMore)) {
                return parsed;
            }
            int b = in.read();
            if (b < 0) {
                return parsed;
            }
            received.write(b);
        }
    }

    /** An HTTP/1.0 exchange from {@code clientAddress} to {@code port}; the answer names the cluster. */
    private static String request(InetAddress clientAddress, int port) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port, clientAddress, 0)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write("GET / HTTP/1.0\r\nHost: proxied.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void v2FromHaproxyCarriesTheOriginalClient() throws Exception {
        assertTrue(request(CLIENT_TWO, v2Port).contains("hello from cluster from-two"));
        assertTrue(request(CLIENT_THREE, v2Port).contains("hello from cluster others"));
    }

    @Test
    void v1FromHaproxyCarriesTheOriginalClientAndDestinationPort() throws Exception {
        assertTrue(request(CLIENT_TWO, v1Port).contains("hello from cluster from-two"));
        assertTrue(request(CLIENT_THREE, v1Port).contains("hello from cluster v1-port"),
                "destination_port is the port the client connected to on HAProxy");
    }

    @Test
    void curlThroughHaproxyIsRoutedByItsOwnAddress() throws Exception {
        String out = Processes.run(List.of("curl", "-sS", "--http1.1", "--max-time", "20", "--interface", "127.0.0.2",
                "http://127.0.0.1:" + v2Port + "/"), "", 30);
        assertTrue(out.contains("hello from cluster from-two"), out);
    }

    @Test
    void theAccessLogNamesTheOriginalClient() throws Exception {
        PrintStream realErr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), v2Port, CLIENT_TWO, 0)) {
                socket.setSoTimeout(20_000);
                socket.getOutputStream().write("GET / HTTP/1.0\r\nHost: log.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                socket.shutdownOutput();
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(answer.contains("hello from cluster from-two"), answer);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            while (!log.toString(StandardCharsets.UTF_8).contains("cluster=from-two") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        } finally {
            System.setErr(realErr);
        }
        String logged = log.toString(StandardCharsets.UTF_8);
        String line = logged.lines().filter(l -> l.contains("cluster=from-two")).findFirst().orElse(logged);
        assertTrue(line.contains("client=/127.0.0.2:"), line);
    }

    @Test
    void aDirectConnectionFromTheTrustedProxyAddressWithoutHeaderIsRefused() throws Exception {
        long before = ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"missing_proxy_header\"");
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), ferry.port(), InetAddress.getLoopbackAddress(), 0)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            try {
                assertEquals(-1, socket.getInputStream().read());
            } catch (SocketException reset) {
                // closed either way
            }
        }
        assertEquals(before + 1, ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"missing_proxy_header\""));
    }

    @Test
    void anUntrustedPeerCannotClaimAnAddress() throws Exception {
        // Directly from 127.0.0.3, claiming to be 127.0.0.2: the header is not Ferry's to read, so it is payload.
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), ferry.port(), CLIENT_THREE, 0)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("PROXY TCP4 127.0.0.2 127.0.0.1 5555 80\r\nGET / HTTP/1.0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.shutdownOutput(); // not HTTP to the demo backend, which then echoes until end of input
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.contains("hello from cluster others") && answer.contains("PROXY TCP4 127.0.0.2"), answer);
        }
        // HAProxy sending to a listener that does not trust it: the backend receives the header as bytes.
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), untrustedPort, CLIENT_TWO, 0)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            socket.shutdownOutput();
            String echoed = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(echoed.contains("hello from cluster echo") && echoed.contains("\r\n\r\n\u0000\r\nQUIT\n"), echoed);
        }
    }

    @Test
    void haproxySendsTheSniAsAuthorityWithAChecksum() throws Exception {
        String out = Processes.run(List.of("curl", "-sk", "--max-time", "5", "--interface", "127.0.0.2",
                "--resolve", "auth.example.com:" + tlsPort + ":127.0.0.1", "https://auth.example.com:" + tlsPort + "/"), "", 30);
        // Skip connections HAProxy may have made for the start-up probes, which had no TLS and so no SNI.
        ProxyHeader.Found header = null;
        for (int i = 0; i < 5 && (header == null || header.authority().isEmpty()); i++) {
            header = assertInstanceOf(ProxyHeader.Found.class, recorder.nextResult(20), out);
        }
        assertEquals(2, header.version());
        assertEquals(Optional.of("auth.example.com"), header.authority());
        assertEquals(InetAddress.ofLiteral("127.0.0.2"), header.source().orElseThrow().getAddress());
        assertEquals(tlsPort, header.destination().orElseThrow().getPort());
    }
}
