package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.demo.DemoBackends;
import dev.ferry.route.KafkaRequestHeader;
import dev.ferry.testing.Await;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.Processes;
import dev.ferry.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first-packet conditions through a real Ferry, with real clients: curl for method and path, gnutls-cli for
 * ALPN and SNI from a second TLS stack, tokens in a FERRY preamble before TLS and HTTP (minted with openssl as the
 * docs say), and the Kafka client id of a real Kafka admin client.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FirstPacketMatchersTest {
    private static final String DIGEST_TOKEN = "letmein-0123456789";
    private static final String SECRET = "ferry-test-secret-0123456789abcdef";
    private static final List<String> CLUSTERS = List.of("tenant-a-db", "tokened", "eu-h2", "eu", "uploads", "api");

    @TempDir
    static Path workDir;
    static DemoBackends backends;
    static TestBackend streamA;
    static TestBackend streamB;
    static FerryHarness ferry;

    @BeforeAll
    static void start() throws Exception {
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        backends = DemoBackends.start(CLUSTERS.stream().map(name -> new DemoBackends.Endpoint(name, any)).toList(), workDir);
        streamA = new TestBackend(FirstPacketMatchersTest::kafkaClientId);
        streamB = new TestBackend(FirstPacketMatchersTest::kafkaClientId);
        Path secret = workDir.resolve("token.secret");
        Files.writeString(secret, SECRET + "\n");
        StringBuilder clusters = new StringBuilder();
        List<InetSocketAddress> bound = backends.boundAddresses();
        for (int i = 0; i < CLUSTERS.size(); i++) {
            clusters.append("  - { name: %s, endpoints: [\"127.0.0.1:%d\"] }\n".formatted(CLUSTERS.get(i), bound.get(i).getPort()));
        }
        clusters.append("  - { name: stream-a, endpoints: [\"%s\"] }\n".formatted(streamA.endpoint()));
        clusters.append("  - { name: stream-b, endpoints: [\"%s\"] }\n".formatted(streamB.endpoint()));
        ferry = FerryHarness.start("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                    first_packet: { max_bytes: 8192, timeout: 2s }
                    routes:
                      - match: { sni: "*.db.example.com", token: { hmac_secret_file: "%s", tenants: [tenant-a] } }
                        cluster: tenant-a-db
                      - match: { token: { digests: ["%s"] } }
                        cluster: tokened
                      - match: { kafka_client_id: "tenant-a*" }
                        cluster: stream-a
                      - match: { kafka_client_id: "tenant-b*" }
                        cluster: stream-b
                      - match: { sni: "*.eu.example.com", alpn: h2 }
                        cluster: eu-h2
                      - match: { sni: "*.eu.example.com" }
                        cluster: eu
                      - match: { method: [POST, PUT], path_prefix: /upload/ }
                        cluster: uploads
                      - match: { all: [ { tls: false }, { path_prefix: /api/ } ], not: { method: DELETE } }
                        cluster: api
                clusters:
                %s""".formatted(secret, sha256Hex(DIGEST_TOKEN), clusters));
    }

    @AfterAll
    static void stop() throws Exception {
        try (DemoBackends closingBackends = backends; TestBackend a = streamA; TestBackend b = streamB) {
            if (ferry != null) {
                ferry.close();
            }
        }
    }

    /** A Kafka broker stand-in: reads the first request header and answers nothing. */
    private static Object kafkaClientId(Socket socket) throws IOException {
        socket.setSoTimeout(20_000);
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        while (true) {
            KafkaRequestHeader.Parsed parsed = KafkaRequestHeader.parse(ByteBuffer.wrap(received.toByteArray()));
            if (parsed instanceof KafkaRequestHeader.Found found) {
                return found.clientId().orElse("(null)");
            }
            int b = in.read();
            if (b < 0 || parsed instanceof KafkaRequestHeader.NotKafka) {
                return "(not kafka)";
            }
            received.write(b);
        }
    }

    static String sha256Hex(String token) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    }

    private static long refused(String reason) {
        return ferry.ferry().stats().sum("ferry_connections_refused_total", "reason=\"" + reason + "\"");
    }

    private static String curl(String... arguments) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("curl", "-sS", "--http1.1", "--max-time", "20"));
        command.addAll(List.of(arguments));
        return Processes.run(command, "", 30);
    }

    // ---- HTTP/1.x from curl ----

    @Test
    void methodAndPathPrefixFromCurl() throws Exception {
        String base = "http://127.0.0.1:" + ferry.port();
        assertTrue(curl("-X", "POST", "--data", "x=1", base + "/upload/photos").contains("hello from cluster uploads"));
        assertTrue(curl("-X", "PUT", "--data", "x=1", base + "/upload/photos").contains("hello from cluster uploads"));
        assertTrue(curl(base + "/api/v1/things?q=1").contains("hello from cluster api"));
        assertTrue(curl("--path-as-is", base + "/x/../api/v1").contains("hello from cluster api"),
                "dot segments are removed before comparing, as the backend would");
        assertTrue(curl(base + "/%61pi/v1").contains("hello from cluster api"), "%61 is 'a'");
        long before = refused("no_route");
        String get = curl(base + "/upload/photos");
        assertFalse(get.contains("hello from cluster"), get);
        String delete = curl("-X", "DELETE", base + "/api/v1/things");
        assertFalse(delete.contains("hello from cluster"), delete);
        assertEquals(before + 2, refused("no_route"));
    }

    // ---- TLS from gnutls-cli (GnuTLS) ----

    private static String gnutls(String serverName, String... alpn) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("gnutls-cli", "--insecure", "--port=" + ferry.port(),
                "--sni-hostname=" + serverName));
        for (String protocol : alpn) {
            command.add("--alpn=" + protocol);
        }
        command.add("127.0.0.1");
        // gnutls-cli closes on end of input; the backend answers and closes first because HTTP/1.0 asks it to.
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            process.getOutputStream().write(("GET / HTTP/1.0\r\nHost: " + serverName + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            process.getOutputStream().flush();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "gnutls-cli did not finish");
            return out;
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void alpnAndSniFromGnutls() throws Exception {
        String h2 = gnutls("shop.eu.example.com", "h2", "http/1.1");
        assertTrue(h2.contains("hello from cluster eu-h2") && h2.contains("shop.eu.example.com"), h2);
        String plain = gnutls("shop.eu.example.com", "http/1.1");
        assertTrue(plain.contains("hello from cluster eu ") && plain.contains("shop.eu.example.com"), plain);
    }

    // ---- tokens ----

    /** The recipe of docs/routing.md, run by a shell with openssl. */
    private static String mintWithOpenssl(String tenant, long expiry) throws Exception {
        String script = """
                tenant=%s; exp=%d
                sig=$(printf '%%s' "$tenant.$exp" | openssl dgst -sha256 -hmac "$FERRY_SECRET" -binary | basenc --base64url | tr -d '=')
                printf '%%s' "$tenant.$exp.$sig"
                """.formatted(tenant, expiry);
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", script);
        builder.environment().put("FERRY_SECRET", SECRET);
        Process process = builder.start();
        String token = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(process.waitFor(20, TimeUnit.SECONDS));
        assertTrue(token.matches("[a-z-]+\\.\\d+\\.[A-Za-z0-9_-]{43}"), token);
        return token;
    }

    /** A FERRY preamble, then TLS over the same socket: the backend must see a clean handshake. */
    private static String tlsAfterPreamble(String preamble, String serverName) throws Exception {
        try (Socket plain = ferry.connect()) {
            plain.getOutputStream().write(preamble.getBytes(StandardCharsets.US_ASCII));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, RoutingTest.trusting(backends.certificate()).getTrustManagers(), null);
            try (SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, serverName, ferry.port(), false)) {
                SSLParameters parameters = tls.getSSLParameters();
                parameters.setServerNames(List.of(new SNIHostName(serverName)));
                tls.setSSLParameters(parameters);
                tls.setUseClientMode(true);
                tls.getOutputStream().write(("GET / HTTP/1.0\r\nHost: " + serverName + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                return new String(tls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            }
        }
    }

    @Test
    void anHmacTokenInAPreambleBeforeTls() throws Exception {
        String token = mintWithOpenssl("tenant-a", Instant.now().getEpochSecond() + 600);
        String answer = tlsAfterPreamble("FERRY " + token + "\n", "orders.db.example.com");
        assertTrue(answer.contains("hello from cluster tenant-a-db") && answer.contains("orders.db.example.com"), answer);
    }

    @Test
    void aDigestTokenInAPreambleBeforeHttpIsStripped() throws Exception {
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write(("FERRY " + DIGEST_TOKEN + "\r\nGET /anything HTTP/1.0\r\nHost: x\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            // The demo backend answers HTTP only to a request that starts with a method: the preamble is gone.
            assertTrue(answer.startsWith("HTTP/1.") && answer.contains("hello from cluster tokened"), answer);
        }
    }

    @Test
    void badExpiredAndForeignTokensAreRefusedWithTheirReasonAndNeverLogged() throws Exception {
        String forged = "tenant-a." + (Instant.now().getEpochSecond() + 600) + "." + "A".repeat(43);
        String expired = mintWithOpenssl("tenant-a", Instant.now().getEpochSecond() - 1);
        String otherTenant = mintWithOpenssl("tenant-b", Instant.now().getEpochSecond() + 600);
        Map<String, String> cases = Map.of(
                "bad_token", "FERRY " + forged + "\n",
                "expired_token", "FERRY " + expired + "\n",
                "wrong_tenant", "FERRY " + otherTenant + "\n");
        PrintStream realErr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            for (Map.Entry<String, String> attempt : cases.entrySet()) {
                long before = refused(attempt.getKey());
                try {
                    String answer = tlsAfterPreamble(attempt.getValue(), "orders.db.example.com");
                    throw new AssertionError("forwarded with " + attempt.getKey() + ": " + answer);
                } catch (SocketException | javax.net.ssl.SSLException closed) {
                    // refused: the handshake finds the connection closed
                }
                awaitCount(attempt.getKey(), before + 1);
            }
        } finally {
            System.setErr(realErr);
        }
        String logged = log.toString(StandardCharsets.UTF_8);
        for (String reason : cases.keySet()) {
            assertTrue(logged.contains("refused: " + reason), logged);
        }
        for (String token : List.of(forged, expired, otherTenant)) {
            assertFalse(logged.contains(token.substring(token.lastIndexOf('.') + 1)), "a token was logged: " + logged);
        }
        assertFalse(logged.contains(SECRET), logged);
    }

    private static void awaitCount(String reason, long expected) throws InterruptedException {
        Await.until(() -> refused(reason) >= expected, Duration.ofSeconds(10),
                () -> expected + " refused with " + reason + " (is " + refused(reason) + ")");
        assertEquals(expected, refused(reason), reason);
    }

    // ---- Kafka ----

    @Test
    void aRealKafkaClientIsRoutedByItsClientId() throws Exception {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + ferry.port());
        properties.put(AdminClientConfig.CLIENT_ID_CONFIG, "tenant-b.analytics");
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        properties.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, 1000);
        int acceptedByA = streamA.accepted();
        try (Admin admin = Admin.create(properties)) {
            admin.describeCluster().clusterId();
            // The first connection is enough: the stand-in broker records its client id.
            assertEquals("tenant-b.analytics", streamB.<String>nextResult(20));
            admin.close(Duration.ofSeconds(1));
        }
        assertEquals(acceptedByA, streamA.accepted(), "nothing for tenant b reaches tenant a's cluster");
        Properties tenantA = new Properties();
        tenantA.putAll(properties);
        tenantA.put(AdminClientConfig.CLIENT_ID_CONFIG, "tenant-a");
        try (Admin admin = Admin.create(tenantA)) {
            admin.describeCluster().clusterId();
            assertEquals("tenant-a", streamA.<String>nextResult(20));
            admin.close(Duration.ofSeconds(1));
        }
    }
}
