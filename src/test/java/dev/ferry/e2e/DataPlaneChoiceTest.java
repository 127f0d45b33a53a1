package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Which plane serves a listener: {@code auto} takes sockmap where this process can run it (these tests
 * run as root), a listener's own {@code dataplane} overrides the top level, and the sockmap program is
 * loaded only when a listener may use it.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DataPlaneChoiceTest {
    private static final long SIZE = 1_000_000;

    @Test
    void autoTakesSockmapWhereTheProgramLoads() throws Exception {
        try (TestBackend backend = new TestBackend(DataPlaneChoiceTest::countThenReply);
             FerryHarness ferry = FerryHarness.catchAll(backend.endpoint())) {
            assertTrue(ferry.ferry().kernel().isPresent(), "the sockmap program is loaded");
            roundTrip(ferry.port());
            ferry.awaitEnded("listener=\"edge\",plane=\"sockmap\",end=\"closed\"", 1);
        }
    }

    @Test
    void aListenersOwnPlaneOverridesTheTopLevel() throws Exception {
        try (TestBackend backend = new TestBackend(DataPlaneChoiceTest::countThenReply);
             FerryHarness ferry = FerryHarness.start("splice", """
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         routes:
                           - cluster: backend
                       - name: bulk
                         address: 127.0.0.1:0
                         dataplane: copy
                         routes:
                           - cluster: backend
                     clusters:
                       - { name: backend, endpoints: ["%s"] }
                     """.formatted(backend.endpoint()))) {
            assertTrue(ferry.ferry().kernel().isEmpty(), "no listener may use sockmap: the program is not loaded");
            roundTrip(ferry.port());
            roundTrip(ferry.ferry().listenerAddress("bulk").getPort());
            ferry.awaitEnded("listener=\"edge\",plane=\"splice\",end=\"closed\"", 1);
            ferry.awaitEnded("listener=\"bulk\",plane=\"copy\",end=\"closed\"", 1);
        }
    }

    @Test
    void aListenerMayAskForSockmapWhenTheTopLevelSaysCopy() throws Exception {
        try (TestBackend backend = new TestBackend(DataPlaneChoiceTest::countThenReply);
             FerryHarness ferry = FerryHarness.start("copy", """
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         dataplane: sockmap
                         routes:
                           - cluster: backend
                     clusters:
                       - { name: backend, endpoints: ["%s"] }
                     """.formatted(backend.endpoint()))) {
            assertTrue(ferry.ferry().kernel().isPresent(), "the sockmap program is loaded");
            roundTrip(ferry.port());
            ferry.awaitEnded("listener=\"edge\",plane=\"sockmap\",end=\"closed\"", 1);
        }
    }

    /** Sends a stream after a sync byte, half-closes, and checks the backend's count and hash. */
    private static void roundTrip(int port) throws Exception {
        try (Socket client = new Socket("127.0.0.1", port)) {
            client.setSoTimeout(60_000);
            HashPeer.syncAsClient(client);
            HashPeer.send(client, 71, SIZE);
            client.shutdownOutput();
            DataInputStream in = new DataInputStream(client.getInputStream());
            assertEquals(SIZE, in.readLong());
            assertEquals(RandomStream.sha256(71, SIZE), in.readUTF());
            assertEquals(-1, in.read());
        }
    }

    private static Object countThenReply(Socket socket) throws Exception {
        HashPeer.syncAsBackend(socket);
        HashPeer.Received received = HashPeer.receive(socket.getInputStream());
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.writeLong(received.bytes());
        out.writeUTF(received.sha256());
        out.flush();
        return received;
    }
}
