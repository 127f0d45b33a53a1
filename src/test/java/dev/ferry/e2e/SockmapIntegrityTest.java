package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random streams in both directions at once, checked by SHA-256, through each data plane: one set of
 * tests over the three planes, so that a fix in one cannot silently break another.
 */
@ParameterizedClass(name = "{0} plane")
@ValueSource(strings = {"sockmap", "splice", "copy"})
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SockmapIntegrityTest {
    private static final long MIB = 1024 * 1024;

    @Parameter
    String plane;

    @ParameterizedTest(name = "{0} bytes each way")
    @ValueSource(longs = {1, 1000, 65_537, 4 * 1024 * 1024 + 3, 256 * 1024 * 1024, 1024 * 1024 * 1024})
    void aSingleConnectionIsIntactBothWays(long size) throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 return HashPeer.run(socket, 2, size).get();
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint())) {
            HashPeer.Received atClient;
            try (Socket client = ferry.connect()) {
                HashPeer.syncAsClient(client);
                atClient = HashPeer.run(client, 1, size).get(9, TimeUnit.MINUTES);
            }
            HashPeer.Received atBackend = backend.nextResult(60);
            assertEquals(new HashPeer.Received(size, RandomStream.sha256(1, size)), atBackend, "client to backend");
            assertEquals(new HashPeer.Received(size, RandomStream.sha256(2, size)), atClient, "backend to client");
            assertForwardedBy(ferry, plane, 1);
        }
    }

    @Test
    void twoHundredConcurrentConnectionsOfFourMebibytes() throws Exception {
        int connections = 200;
        long size = 4 * MIB;
        String upstream = RandomStream.sha256(11, size);
        String downstream = RandomStream.sha256(12, size);
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 return HashPeer.run(socket, 12, size).get();
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint())) {
            List<Socket> clients = new ArrayList<>();
            List<CompletableFuture<HashPeer.Received>> runs = new ArrayList<>();
            try {
                for (int i = 0; i < connections; i++) {
                    Socket client = ferry.connect();
                    clients.add(client);
                    HashPeer.syncAsClient(client);
                    runs.add(HashPeer.run(client, 11, size));
                }
                for (CompletableFuture<HashPeer.Received> run : runs) {
                    assertEquals(new HashPeer.Received(size, downstream), run.get(5, TimeUnit.MINUTES));
                }
            } finally {
                for (Socket client : clients) {
                    client.close();
                }
            }
            for (int i = 0; i < connections; i++) {
                assertEquals(new HashPeer.Received(size, upstream), backend.nextResult(60));
            }
            assertForwardedBy(ferry, plane, connections);
        }
    }

    /**
     * A client whose FIN reaches Ferry before the handoff: the stream and its end still cross. The
     * kernel refuses sockets in CLOSE_WAIT, so on the sockmap plane such a connection is served by the
     * fallback (splice, which works wherever these tests run), counted; the other planes serve it
     * themselves.
     */
    @Test
    void aClientThatFinishedBeforeTheHandoffIsServedByTheFallback() throws Exception {
        // The head is incomplete until the client's FIN, so the route is only decided after it.
        byte[] head = "GET / HTTP/1.1\r\nX-Partial: yes\r\n".getBytes(StandardCharsets.US_ASCII);
        long size = 100_000;
        try (TestBackend backend = new TestBackend(socket -> {
                 byte[] received = socket.getInputStream().readAllBytes();
                 HashPeer.send(socket, 32, size);
                 return received;
             });
             FerryHarness ferry = FerryHarness.start(plane, """
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         routes:
                           - match: { host: "never.example.com" }
                             action: reject
                           - cluster: backend
                     clusters:
                       - { name: backend, endpoints: ["%s"] }
                     """.formatted(backend.endpoint()));
             Socket client = ferry.connect()) {
            client.getOutputStream().write(head);
            client.shutdownOutput();
            assertEquals(new HashPeer.Received(size, RandomStream.sha256(32, size)), HashPeer.receive(client.getInputStream()));
            assertArrayEquals(head, backend.nextResult(30));
            boolean sockmap = plane.equals("sockmap");
            assertEquals(sockmap ? 1 : 0, ferry.ferry().stats().sum("ferry_sockmap_fallback_total", "EOPNOTSUPP"));
            String servedBy = sockmap ? "splice" : plane;
            ferry.awaitEnded("plane=\"" + servedBy + "\",end=\"closed\"", 1);
            ferry.assertMapsEmpty(Duration.ofSeconds(10));
        }
    }

    /**
     * A client that sends its body right behind its head, as an upload does: Ferry's first read fills
     * its buffer and may stop inside a queued segment. The pair still goes to this plane, without a
     * fallback, and both streams arrive whole.
     */
    @Test
    void aClientThatSendsItsBodyWithItsHeadStaysOnThisPlane() throws Exception {
        long size = 16 * MIB;
        byte[] head = ("POST /upload HTTP/1.1\r\nHost: upload.example.com\r\nContent-Length: " + size + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (TestBackend backend = new TestBackend(socket -> HashPeer.run(socket, 42, size).get());
             FerryHarness ferry = FerryHarness.start(plane, """
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         routes:
                           - match: { host: "upload.example.com" }
                             cluster: backend
                           - action: reject
                     clusters:
                       - { name: backend, endpoints: ["%s"] }
                     """.formatted(backend.endpoint()));
             Socket client = ferry.connect()) {
            CompletableFuture<HashPeer.Received> atClient = HashPeer.receiveAsync(client);
            MessageDigest sent = RandomStream.newDigest();
            sent.update(head);
            RandomStream body = new RandomStream(41, size);
            byte[] chunk = new byte[(int) MIB];
            OutputStream out = client.getOutputStream();
            boolean first = true;
            int n;
            while ((n = body.next(chunk)) > 0) {
                sent.update(chunk, 0, n);
                if (first) {
                    // The head and the first MiB of the body in one write, so the first read fills its buffer.
                    byte[] headAndBody = Arrays.copyOf(head, head.length + n);
                    System.arraycopy(chunk, 0, headAndBody, head.length, n);
                    out.write(headAndBody);
                    first = false;
                } else {
                    out.write(chunk, 0, n);
                }
            }
            client.shutdownOutput();
            assertEquals(new HashPeer.Received(head.length + size, HexFormat.of().formatHex(sent.digest())),
                    backend.nextResult(60), "client to backend");
            assertEquals(new HashPeer.Received(size, RandomStream.sha256(42, size)), atClient.get(60, TimeUnit.SECONDS),
                    "backend to client");
            assertForwardedBy(ferry, plane, 1);
        }
    }

    static void assertForwardedBy(FerryHarness ferry, String plane, int connections) throws InterruptedException {
        ferry.assertMapsEmpty(Duration.ofSeconds(10));
        assertEquals(0, ferry.ferry().stats().sum("ferry_sockmap_fallback_total", ""), "fallbacks");
        ferry.awaitEnded("plane=\"" + plane + "\",end=\"closed\"", connections);
    }
}
