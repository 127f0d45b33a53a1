package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * On every data plane: the end of a stream crosses only after every byte before it (for the sockmap,
 * KERNEL-NOTES fact 6), a reset on one side resets the other, and a connection idle for the
 * listener's idle_timeout is closed.
 */
@ParameterizedClass(name = "{0} plane")
@ValueSource(strings = {"sockmap", "splice", "copy"})
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class HalfCloseAndResetTest {
    private static final long SIZE = 200_000_000;

    @Parameter
    String plane;

    /** Counts the stream to EOF, then answers with the count and hash, then closes. */
    private static Object countThenReply(Socket socket) throws Exception {
        HashPeer.Received received = HashPeer.receive(socket.getInputStream());
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.writeLong(received.bytes());
        out.writeUTF(received.sha256());
        out.flush();
        return received;
    }

    @Test
    void clientSendsThenHalfClosesAndReadsTheReply() throws Exception {
        try (TestBackend backend = new TestBackend(HalfCloseAndResetTest::countThenReply);
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            HashPeer.send(client, 21, SIZE);
            client.shutdownOutput();
            DataInputStream in = new DataInputStream(client.getInputStream());
            assertEquals(SIZE, in.readLong());
            assertEquals(RandomStream.sha256(21, SIZE), in.readUTF());
            assertEquals(-1, in.read(), "the backend's close reaches the client");
        }
    }

    @Test
    void backendSendsThenHalfClosesAndReadsTheReply() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.send(socket, 22, SIZE);
                 socket.shutdownOutput();
                 DataInputStream in = new DataInputStream(socket.getInputStream());
                 return new HashPeer.Received(in.readLong(), in.readUTF());
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            HashPeer.Received received = HashPeer.receive(client.getInputStream());
            DataOutputStream out = new DataOutputStream(client.getOutputStream());
            out.writeLong(received.bytes());
            out.writeUTF(received.sha256());
            out.flush();
            client.shutdownOutput();
            assertEquals(new HashPeer.Received(SIZE, RandomStream.sha256(22, SIZE)), backend.nextResult(60));
        }
    }

    @Test
    void aClientResetResetsTheBackend() throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        try (TestBackend backend = new TestBackend(socket -> {
                 connected.countDown();
                 return assertThrows(SocketException.class, () -> HashPeer.receive(socket.getInputStream()));
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint())) {
            Socket client = ferry.connect();
            client.getOutputStream().write(new byte[1000]);
            assertTrue(connected.await(10, TimeUnit.SECONDS));
            Thread.sleep(100);
            client.setSoLinger(true, 0);
            client.close();
            SocketException reset = backend.nextResult(30);
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
            ferry.assertMapsEmpty(Duration.ofSeconds(5));
            ferry.awaitEnded("plane=\"" + plane + "\",end=\"client_reset\"", 1);
        }
    }

    /**
     * A client that half-closed and then resets: the FIN has been seen already, and the reset must
     * still reach the backend, which is writing towards the client.
     */
    @Test
    void aResetAfterAHalfCloseResetsTheBackend() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 assertEquals(-1, socket.getInputStream().read(), "the client's FIN arrives first");
                 long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                 return assertThrows(SocketException.class, () -> {
                     while (System.nanoTime() < deadline) {
                         socket.getOutputStream().write(new byte[1024]);
                         Thread.sleep(20);
                     }
                 }, "the backend went on writing for 20 s after the client's reset");
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint())) {
            Socket client = ferry.connect();
            client.shutdownOutput();
            client.getInputStream().readNBytes(1024);  // the backend is writing through Ferry
            client.setSoLinger(true, 0);
            client.close();
            SocketException reset = backend.nextResult(30);
            assertTrue(reset.getMessage().contains("reset") || reset.getMessage().contains("pipe"), reset.getMessage());
        }
    }

    @Test
    void aBackendResetResetsTheClient() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 socket.getInputStream().readNBytes(1000);
                 socket.setSoLinger(true, 0);
                 return null;
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            client.getOutputStream().write(new byte[1000]);
            IOException reset = assertThrows(SocketException.class, () -> HashPeer.receive(client.getInputStream()));
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
            ferry.assertMapsEmpty(Duration.ofSeconds(5));
            ferry.awaitEnded("plane=\"" + plane + "\",end=\"backend_reset\"", 1);
        }
    }

    /**
     * The backend ends its stream and then resets while the client's bytes, already followed by the
     * client's FIN, are still on their way to it. Netty reports no reset on a socket whose input has
     * ended, so the plane has to notice by itself; the client must not wait for an end that never comes.
     */
    @Test
    void aBackendThatEndsAndThenResetsWhileTheClientsEndIsDeliveredResetsTheClient() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);  // handed off: the ends below cross the data plane
                 socket.shutdownOutput();
                 Thread.sleep(500);  // the client's bytes and FIN arrive meanwhile; none is read
                 socket.setSoLinger(true, 0);
                 return null;
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            HashPeer.syncAsClient(client);
            java.util.concurrent.CompletableFuture<Void> writing = new java.util.concurrent.CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    client.getOutputStream().write(new byte[16 * 1024 * 1024]);
                    client.shutdownOutput();
                } catch (IOException resetWhileWriting) {
                    // the backend's reset reached the client first: also an end
                }
                writing.complete(null);
            });
            client.setSoTimeout(20_000);
            try {
                assertEquals(-1, client.getInputStream().read(), "the backend's FIN reaches the client");
            } catch (SocketException reset) {
                // the reset may overtake the FIN
            }
            writing.get(20, TimeUnit.SECONDS);
            ferry.awaitEnded("plane=\"" + plane + "\",end=\"backend_reset\"", 1);
            ferry.assertMapsEmpty(Duration.ofSeconds(5));
        }
    }

    /**
     * The backend ends its stream and then resets while the client, still connected, sends nothing.
     * Netty ignores errors on a socket whose end it has read (and its loop wakes for them without
     * end), so the plane has to notice the reset by itself, and at once rather than at the idle timeout.
     */
    @Test
    void aBackendThatEndsAndThenResetsWhileTheClientIsSilentResetsTheClient() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);  // handed off: the end and the reset cross the data plane
                 socket.shutdownOutput();
                 Thread.sleep(300);  // the FIN reaches the client meanwhile
                 socket.setSoLinger(true, 0);
                 return null;
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            HashPeer.syncAsClient(client);
            client.setSoTimeout(20_000);
            assertEquals(-1, client.getInputStream().read(), "the backend's FIN reaches the client");
            ferry.awaitEnded("plane=\"" + plane + "\",end=\"backend_reset\"", 1);
            ferry.assertMapsEmpty(Duration.ofSeconds(5));
            IOException reset = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 100; i++) {
                    client.getOutputStream().write(new byte[1024]);
                    Thread.sleep(10);
                }
            }, "the client could still write for 1 s after the backend's reset");
            assertTrue(reset.getMessage().contains("reset") || reset.getMessage().contains("pipe"), reset.getMessage());
        }
    }

    /**
     * A socket shut both ways (the backend sent its FIN and Ferry forwarded the client's) while the
     * other direction still waits for a client that does not read: nothing may spin meanwhile.
     */
    @Test
    void waitingForASlowReaderAfterBothEndsCostsNoCpu() throws Exception {
        long size = 16 * 1024 * 1024;
        CountDownLatch clientRead = new CountDownLatch(1);
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 assertEquals(-1, socket.getInputStream().read(), "the client's FIN arrives first");
                 HashPeer.send(socket, 5, size);
                 socket.shutdownOutput();
                 clientRead.await();
                 return null;
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            HashPeer.syncAsClient(client);  // handed off: the FIN crosses the data plane
            client.shutdownOutput();
            Thread.sleep(1000);  // the backend writes what the buffers take, then waits on the client
            com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long cpuBefore = os.getProcessCpuTime();
            Thread.sleep(2000);
            long cpuMillis = (os.getProcessCpuTime() - cpuBefore) / 1_000_000;
            assertTrue(cpuMillis < 500, "the process used " + cpuMillis + " ms of CPU in 2 s while a connection waited");
            assertEquals(new HashPeer.Received(size, RandomStream.sha256(5, size)), HashPeer.receive(client.getInputStream()));
            clientRead.countDown();
        }
    }

    @Test
    void aConnectionIdleForTheIdleTimeoutIsClosedOnBothSides() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 return socket.getInputStream().read();
             });
             FerryHarness ferry = FerryHarness.start(plane, """
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         idle_timeout: 500ms
                         routes:
                           - cluster: backend
                     clusters:
                       - { name: backend, endpoints: ["%s"] }
                     """.formatted(backend.endpoint()));
             Socket client = ferry.connect()) {
            HashPeer.syncAsClient(client);
            long idleSince = System.nanoTime();
            assertEquals(-1, client.getInputStream().read(), "the client sees the end");
            long idleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - idleSince);
            assertTrue(idleMillis >= 300 && idleMillis < 10_000, "closed after " + idleMillis + " ms of silence");
            assertEquals(-1, (int) backend.nextResult(10), "the backend sees the end");
            ferry.assertMapsEmpty(Duration.ofSeconds(5));
            ferry.awaitEnded("plane=\"" + plane + "\",end=\"idle_timeout\"", 1);
        }
    }
}
