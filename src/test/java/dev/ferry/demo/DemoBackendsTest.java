package dev.ferry.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
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
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class DemoBackendsTest {
    private static final long SUBPROCESS_TIMEOUT_SECONDS = 30;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private Path workDir;
    private DemoBackends backends;
    private InetSocketAddress eu;
    private InetSocketAddress us;

    @BeforeAll
    void startBackends(@TempDir Path workDir) throws IOException {
        this.workDir = workDir;
        backends = DemoBackends.start(List.of(
                new DemoBackends.Endpoint("eu", new InetSocketAddress(LOOPBACK, 0)),
                new DemoBackends.Endpoint("us", new InetSocketAddress(LOOPBACK, 0))), workDir);
        eu = backends.boundAddresses().get(0);
        us = backends.boundAddresses().get(1);
    }

    @AfterAll
    void stopBackends() {
        if (backends != null) {
            backends.close();
        }
    }

    @Test
    void cleartextHttpAnswerNamesClusterAndHost() throws IOException {
        try (Socket socket = new Socket(LOOPBACK, us.getPort())) {
            socket.getOutputStream().write(httpGet("api.example.com"));
            String response = readAll(socket.getInputStream());

            assertTrue(response.startsWith("HTTP/1.1 200 OK\r\n"), response);
            assertTrue(response.contains("\r\nConnection: close\r\n"), response);
            assertTrue(response.endsWith("\r\n\r\nhello from cluster us (endpoint 127.0.0.1:" + us.getPort()
                    + ") over cleartext, Host api.example.com\n"), response);
        }
    }

    @Test
    void otherBytesAreGreetedThenEchoedUntilEof() throws IOException {
        try (Socket socket = new Socket(LOOPBACK, eu.getPort())) {
            socket.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            String greeting = "hello from cluster eu (endpoint 127.0.0.1:" + eu.getPort() + "): got 5 bytes\n";
            assertEquals(greeting + "ping\n", new String(in.readNBytes(greeting.length() + 5), StandardCharsets.US_ASCII));

            socket.getOutputStream().write("more\n".getBytes(StandardCharsets.US_ASCII));
            socket.shutdownOutput();
            assertEquals("more\n", readAll(in));
        }
    }

    @Test
    void javaTlsClientSeesItsSni() throws Exception {
        SSLContext trustingDemo = clientContextTrusting(backends.certificate());
        try (Socket tcp = new Socket(LOOPBACK, eu.getPort());
                SSLSocket tls = (SSLSocket) trustingDemo.getSocketFactory()
                        .createSocket(tcp, "a.eu.example.com", eu.getPort(), true)) {
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("a.eu.example.com")));
            parameters.setEndpointIdentificationAlgorithm("HTTPS"); // also checks the certificate's SAN
            tls.setSSLParameters(parameters);
            tls.getOutputStream().write(httpGet("a.eu.example.com"));
            String response = readAll(tls.getInputStream());

            assertTrue(response.startsWith("HTTP/1.1 200 OK\r\n"), response);
            assertTrue(response.endsWith("hello from cluster eu (endpoint 127.0.0.1:" + eu.getPort()
                    + ") over TLS, SNI a.eu.example.com\n"), response);
        }
    }

    @Test
    void curlTrustingTheExportedCertificateGetsTheTlsAnswer() throws Exception {
        int port = eu.getPort();
        String output = run(null, "curl", "-sS", "--noproxy", "*", "--max-time", "20",
                "--cacert", backends.certificate().toString(),
                "--resolve", "a.eu.example.com:" + port + ":127.0.0.1",
                "https://a.eu.example.com:" + port + "/");

        assertEquals("hello from cluster eu (endpoint 127.0.0.1:" + port + ") over TLS, SNI a.eu.example.com\n", output);
    }

    @Test
    void opensslClientGetsTheTlsAnswer() throws Exception {
        Path request = Files.write(workDir.resolve("request.txt"), httpGet("x.eu.example.com"));
        String output = run(request, "openssl", "s_client", "-connect", "127.0.0.1:" + eu.getPort(),
                "-servername", "x.eu.example.com", "-quiet",
                "-CAfile", backends.certificate().toString(), "-verify_return_error");

        assertTrue(output.contains("HTTP/1.1 200 OK\r\n"), output);
        assertTrue(output.contains("hello from cluster eu (endpoint 127.0.0.1:" + eu.getPort()
                + ") over TLS, SNI x.eu.example.com\n"), output);
    }

    @Test
    void closeEndsIdleConnectionsAndStopsListening(@TempDir Path otherWorkDir) throws Exception {
        DemoBackends own = DemoBackends.start(
                List.of(new DemoBackends.Endpoint("idle", new InetSocketAddress(LOOPBACK, 0))), otherWorkDir);
        InetSocketAddress address = own.boundAddresses().getFirst();
        try (Socket idle = new Socket(LOOPBACK, address.getPort())) {
            // Accepted first: one still in the listen queue is reset, not ended, by close().
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (own.openConnections() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, own.openConnections(), "the backend did not accept the connection within 10 s");
            own.close(); // must not wait for a client that never speaks

            assertEquals(-1, idle.getInputStream().read());
            assertThrows(ConnectException.class, () -> new Socket(LOOPBACK, address.getPort()).close());
        }
    }

    private static byte[] httpGet(String host) {
        return ("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    private static SSLContext clientContextTrusting(Path pem) throws Exception {
        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        try (InputStream in = Files.newInputStream(pem)) {
            trusted.setCertificateEntry("demo", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trustManagers.getTrustManagers(), null);
        return context;
    }

    /** Runs a command with stdin from a file (or none), failing unless it exits 0 in time. */
    private String run(Path stdin, String... command) throws Exception {
        Path stdout = Files.createTempFile(workDir, "stdout-", ".txt");
        Path stderr = Files.createTempFile(workDir, "stderr-", ".txt");
        Process process = new ProcessBuilder(command)
                .redirectInput((stdin != null ? stdin : Path.of("/dev/null")).toFile())
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        try {
            assertTrue(process.waitFor(SUBPROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS),
                    command[0] + " did not finish in time; stderr: " + Files.readString(stderr));
            assertEquals(0, process.exitValue(), command[0] + " failed; stderr: " + Files.readString(stderr));
            return Files.readString(stdout);
        } finally {
            process.destroyForcibly();
        }
    }
}
