package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bytes that reached a socket before the data plane took it (for the sockmap, before it joined the
 * map: KERNEL-NOTES fact 1) must still be forwarded, in order, without any later byte to wake the
 * plane up. Run over every data plane.
 */
@ParameterizedClass(name = "{0} plane")
@ValueSource(strings = {"sockmap", "splice", "copy"})
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class StrandedBytesTest {

    @Parameter
    String plane;

    /** The client sends a whole length-prefixed request at once and then only waits for the answer. */
    @ParameterizedTest(name = "request of {0} bytes")
    @ValueSource(ints = {10, 16_000, 100_000, 5 * 1024 * 1024})
    void aRequestSentBeforeTheHandoffIsAnswered(int size) throws Exception {
        try (TestBackend backend = new TestBackend(StrandedBytesTest::answerWithDigest);
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            byte[] request = new byte[size];
            new RandomStream(size, size).next(request);
            DataOutputStream out = new DataOutputStream(client.getOutputStream());
            out.writeInt(size);
            out.write(request);
            out.flush();
            byte[] answer = new DataInputStream(client.getInputStream()).readNBytes(32);
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(request), answer);
        }
    }

    /** Reads one length-prefixed request and answers with its SHA-256, keeping the connection open. */
    private static Object answerWithDigest(Socket socket) throws Exception {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        byte[] request = in.readNBytes(in.readInt());
        socket.getOutputStream().write(MessageDigest.getInstance("SHA-256").digest(request));
        socket.getOutputStream().flush();
        return in.read();
    }

    /** A backend that speaks first: its greeting is queued on the backend socket before the handoff. */
    @Test
    void aBackendGreetingSentBeforeTheHandoffArrives() throws Exception {
        byte[] greeting = "220 ferry-test ESMTP ready\r\n".getBytes(StandardCharsets.US_ASCII);
        try (TestBackend backend = new TestBackend(socket -> {
                 socket.getOutputStream().write(greeting);
                 socket.getOutputStream().flush();
                 return HashPeer.receive(socket.getInputStream());
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            InputStream in = client.getInputStream();
            assertArrayEquals(greeting, in.readNBytes(greeting.length));
            HashPeer.send(client, 5, 1_000_000);
            client.shutdownOutput();
            assertEquals(-1, in.read());
            HashPeer.Received atBackend = backend.nextResult(30);
            assertEquals(new HashPeer.Received(1_000_000, RandomStream.sha256(5, 1_000_000)), atBackend);
        }
    }
}
