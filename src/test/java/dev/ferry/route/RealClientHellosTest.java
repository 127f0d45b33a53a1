package dev.ferry.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ClientHellos recorded from real TLS stacks (OpenSSL via s_client and curl, GnuTLS via gnutls-cli, the JDK), as
 * they arrive on a socket, then read by the parser: whole, cut anywhere, and re-split into records.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RealClientHellosTest {

    /** Accepts one connection and keeps its bytes until they hold a whole ClientHello (or are not TLS). */
    static byte[] record(Client client) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(30_000);
            Process process = client.start(server.getLocalPort());
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(30_000);
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                byte[] chunk = new byte[4096];
                while (ClientHello.parse(ByteBuffer.wrap(received.toByteArray())) == ClientHello.NEED_MORE) {
                    int read = in.read(chunk);
                    if (read < 0) {
                        break;
                    }
                    received.write(chunk, 0, read);
                }
                return received.toByteArray();
            } finally {
                if (process != null) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    @FunctionalInterface
    interface Client {
        /** Starts a client against the port; null when it runs in this JVM. */
        Process start(int port) throws IOException;
    }

    static Client command(String... words) {
        return port -> {
            List<String> command = new ArrayList<>();
            for (String word : words) {
                command.add(word.replace("PORT", Integer.toString(port)));
            }
            return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        };
    }

    static ClientHello.Found assertReadEverywhere(byte[] hello, String serverName, List<String> alpn) {
        ClientHello.Found found = assertInstanceOf(ClientHello.Found.class, ClientHello.parse(Buffers.firstBytes(hello)));
        assertEquals(Optional.of(serverName), found.serverName());
        assertEquals(alpn, found.alpnProtocols());
        for (int length = 0; length < hello.length; length++) {
            assertEquals(ClientHello.NEED_MORE, ClientHello.parse(Buffers.firstBytes(hello, length)), "cut at " + length);
        }
        for (int split : new int[] {1, 5, 100}) {
            ClientHello.Found reframed = assertInstanceOf(ClientHello.Found.class,
                    ClientHello.parse(Buffers.firstBytes(TlsHellos.reframed(hello, split, split))));
            assertEquals(found, reframed);
        }
        assertEquals(Match.YES, Buffers.matches(new SniMatcher(serverName), Buffers.firstBytes(hello)));
        assertEquals(Match.YES, Buffers.matches(new TlsMatcher(true), Buffers.firstBytes(hello)));
        return found;
    }

    @Test
    void opensslTls13() throws Exception {
        byte[] hello = record(command("openssl", "s_client", "-connect", "127.0.0.1:PORT", "-servername",
                "ossl.example.com", "-alpn", "h2,http/1.1", "-tls1_3"));
        assertReadEverywhere(hello, "ossl.example.com", List.of("h2", "http/1.1"));
    }

    @Test
    void opensslTls12() throws Exception {
        byte[] hello = record(command("openssl", "s_client", "-connect", "127.0.0.1:PORT", "-servername",
                "ossl12.example.com", "-tls1_2"));
        assertEquals(3, hello[9 + 1], "legacy_version TLS 1.2");
        assertReadEverywhere(hello, "ossl12.example.com", List.of());
    }

    @Test
    void opensslTls10() throws Exception {
        byte[] hello = record(command("openssl", "s_client", "-connect", "127.0.0.1:PORT", "-servername",
                "ossl10.example.com", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"));
        assertEquals(1, hello[9 + 1], "legacy_version TLS 1.0");
        assertReadEverywhere(hello, "ossl10.example.com", List.of());
    }

    @Test
    void opensslHelloSplitAcrossRecordsByTheClient() throws Exception {
        // Many long ALPN names push the hello past -max_send_frag, so OpenSSL itself fragments it into records.
        List<String> protocols = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            protocols.add("x-ferry-protocol-" + i);
        }
        byte[] hello = record(command("openssl", "s_client", "-connect", "127.0.0.1:PORT", "-servername",
                "split.example.com", "-max_send_frag", "512", "-alpn", String.join(",", protocols)));
        int records = 0;
        for (int at = 0; at < hello.length; at += 5 + ((hello[at + 3] & 0xFF) << 8 | (hello[at + 4] & 0xFF))) {
            records++;
        }
        assertTrue(records >= 2, "records: " + records);
        assertReadEverywhere(hello, "split.example.com", protocols);
    }

    @Test
    void curl() throws Exception {
        byte[] hello = record(command("curl", "-sk", "--max-time", "20", "--resolve", "curl.example.com:PORT:127.0.0.1",
                "https://curl.example.com:PORT/"));
        assertReadEverywhere(hello, "curl.example.com", List.of("h2", "http/1.1"));
    }

    @Test
    void gnutls() throws Exception {
        byte[] hello = record(command("gnutls-cli", "--insecure", "--port=PORT", "--sni-hostname=gnutls.example.com",
                "--alpn=h2", "--alpn=http/1.1", "127.0.0.1"));
        assertReadEverywhere(hello, "gnutls.example.com", List.of("h2", "http/1.1"));
        byte[] tls12 = record(command("gnutls-cli", "--insecure", "--port=PORT", "--sni-hostname=gnutls12.example.com",
                "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.2", "127.0.0.1"));
        assertReadEverywhere(tls12, "gnutls12.example.com", List.of());
    }

    @Test
    void javaSslSocket() throws Exception {
        byte[] hello = record(port -> {
            Thread.startVirtualThread(() -> {
                try (SSLSocket socket = (SSLSocket) SSLContext.getDefault().getSocketFactory()
                        .createSocket("127.0.0.1", port)) {
                    SSLParameters parameters = socket.getSSLParameters();
                    parameters.setServerNames(List.of(new SNIHostName("java.example.com")));
                    parameters.setApplicationProtocols(new String[] {"h2"});
                    socket.setSSLParameters(parameters);
                    socket.startHandshake();
                } catch (Exception expected) {
                    // The recorder closes the connection after the hello.
                }
            });
            return null;
        });
        assertReadEverywhere(hello, "java.example.com", List.of("h2"));
    }
}
