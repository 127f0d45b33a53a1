package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.dataplane.sockmap.SockmapKernel;
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

/**
 * The end of a stream crosses the sockmap only after every byte before it (KERNEL-NOTES fact 6),
 * and a reset on one side resets the other.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class HalfCloseAndResetTest {
    private static final SockmapKernel.MapOccupancy EMPTY = new SockmapKernel.MapOccupancy(0, 0, 0);
    private static final long SIZE = 200_000_000;

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
             FerryHarness ferry = FerryHarness.catchAll(backend.endpoint());
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
             FerryHarness ferry = FerryHarness.catchAll(backend.endpoint());
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
             FerryHarness ferry = FerryHarness.catchAll(backend.endpoint())) {
            Socket client = ferry.connect();
            client.getOutputStream().write(new byte[1000]);
            assertTrue(connected.await(10, TimeUnit.SECONDS));
            Thread.sleep(100);
            client.setSoLinger(true, 0);
            client.close();
            SocketException reset = backend.nextResult(30);
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
            assertEquals(EMPTY, ferry.awaitEmptyMaps(Duration.ofSeconds(5)));
        }
    }

    @Test
    void aBackendResetResetsTheClient() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 socket.getInputStream().readNBytes(1000);
                 socket.setSoLinger(true, 0);
                 return null;
             });
             FerryHarness ferry = FerryHarness.catchAll(backend.endpoint());
             Socket client = ferry.connect()) {
            client.getOutputStream().write(new byte[1000]);
            IOException reset = assertThrows(SocketException.class, () -> HashPeer.receive(client.getInputStream()));
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
            assertEquals(EMPTY, ferry.awaitEmptyMaps(Duration.ofSeconds(5)));
        }
    }
}
