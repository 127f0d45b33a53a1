package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.demo.DemoBackends;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.Processes;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Routing on the first packet, with real TLS and HTTP clients against real backends. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RoutingTest {
    @TempDir
    static Path workDir;
    static DemoBackends backends;
    static FerryHarness ferry;

    @BeforeAll
    static void start() throws Exception {
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        backends = DemoBackends.start(List.of(
                new DemoBackends.Endpoint("eu", any),
                new DemoBackends.Endpoint("api", any),
                new DemoBackends.Endpoint("fallback", any)), workDir);
        List<InetSocketAddress> bound = backends.boundAddresses();
        ferry = FerryHarness.start("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                    first_packet: { max_bytes: 4096, timeout: 700ms }
                    routes:
                      - match: { sni: "*.eu.example.com" }
                        cluster: eu
                      - match: { host: "api.example.com" }
                        cluster: api
                      - match: { prefix: "PING" }
                        action: reject
                      - match: { prefix: "HELLO" }
                        cluster: fallback
                clusters:
                  - { name: eu, endpoints: ["127.0.0.1:%d"] }
                  - { name: api, endpoints: ["127.0.0.1:%d"] }
                  - { name: fallback, endpoints: ["127.0.0.1:%d"] }
                """.formatted(bound.get(0).getPort(), bound.get(1).getPort(), bound.get(2).getPort()));
    }

    @AfterAll
    static void stop() throws Exception {
        try (DemoBackends closing = backends) {
            if (ferry != null) {
                ferry.close();
            }
        }
    }

    @Test
    void sniFromOpensslSClientReachesTheEuCluster() throws Exception {
        String out = Processes.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + ferry.port(),
                "-servername", "a.eu.example.com", "-quiet", "-verify_quiet"),
                "GET / HTTP/1.0\r\nHost: a.eu.example.com\r\n\r\n", 30);
        assertTrue(out.contains("hello from cluster eu") && out.contains("a.eu.example.com"), out);
    }

    @Test
    void sniFromCurlReachesTheEuCluster() throws Exception {
        String out = Processes.run(List.of("curl", "-sS", "--max-time", "20", "--cacert", backends.certificate().toString(),
                "--resolve", "shop.eu.example.com:" + ferry.port() + ":127.0.0.1",
                "https://shop.eu.example.com:" + ferry.port() + "/"), "", 30);
        assertTrue(out.contains("hello from cluster eu") && out.contains("shop.eu.example.com"), out);
    }

    @Test
    void sniFromJavaSslSocketReachesTheEuCluster() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trusting(backends.certificate()).getTrustManagers(), null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", ferry.port())) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("java.eu.example.com")));
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write("GET / HTTP/1.0\r\nHost: java.eu.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.contains("hello from cluster eu") && answer.contains("java.eu.example.com"), answer);
        }
    }

    @Test
    void anSniOutsideTheWildcardIsNotRoutedThere() throws Exception {
        String out = Processes.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + ferry.port(),
                "-servername", "eu.example.com", "-quiet"), "", 30);
        assertTrue(!out.contains("hello from cluster"), out);
    }

    @Test
    void hostFromCurlReachesTheApiCluster() throws Exception {
        String out = Processes.run(List.of("curl", "-sS", "--max-time", "20", "-H", "Host: API.example.com:8080",
                "http://127.0.0.1:" + ferry.port() + "/v1/things"), "", 30);
        assertTrue(out.contains("hello from cluster api"), out);
    }

    @Test
    void aPrefixRouteForwards() throws Exception {
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write("HELLO there\n".getBytes(StandardCharsets.US_ASCII));
            String line = readLine(client.getInputStream());
            assertTrue(line.contains("hello from cluster fallback"), line);
        }
    }

    @Test
    void aRejectRouteResetsTheConnection() throws Exception {
        long before = ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"rejected\"");
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write("PING\n".getBytes(StandardCharsets.US_ASCII));
            assertClosedOrReset(client);
        }
        assertEquals(before + 1, ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"rejected\""));
    }

    @Test
    void noMatchingRouteClosesTheConnection() throws Exception {
        long before = ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"no_route\"");
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write("SSH-2.0-OpenSSH_9.2\r\n".getBytes(StandardCharsets.US_ASCII));
            assertClosedOrReset(client);
        }
        assertEquals(before + 1, ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"no_route\""));
    }

    @Test
    void aSilentClientIsClosedAfterTheFirstPacketTimeout() throws Exception {
        long before = ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"first_packet_timeout\"");
        long start = System.nanoTime();
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write("HEL".getBytes(StandardCharsets.US_ASCII));
            assertClosedOrReset(client);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 650 && millis < 5_000, "closed after " + millis + " ms");
        assertEquals(before + 1, ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"first_packet_timeout\""));
    }

    @Test
    void aFirstPacketOverTheLimitIsClosed() throws Exception {
        long before = ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"first_packet_too_large\"");
        try (Socket client = ferry.connect()) {
            byte[] header = ("GET / HTTP/1.1\r\nX-Filler: " + "a".repeat(5000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            client.getOutputStream().write(header);
            assertClosedOrReset(client);
        }
        assertEquals(before + 1, ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"first_packet_too_large\""));
    }

    private static void assertClosedOrReset(Socket client) throws IOException {
        client.setSoTimeout(10_000);
        try {
            assertEquals(-1, client.getInputStream().read());
        } catch (SocketException reset) {
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            line.append((char) c);
        }
        return line.toString();
    }

    static TrustManagerFactory trusting(Path pem) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = java.nio.file.Files.newInputStream(pem)) {
            X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            store.setCertificateEntry("demo", certificate);
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(store);
        return factory;
    }
}
