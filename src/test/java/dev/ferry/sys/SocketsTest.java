package dev.ferry.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SocketsTest {
    private static final int CLIENT_BYTES = 100_000;
    private static final int SERVER_BYTES = 7_000;

    @Test
    void cookiesAreNonzeroStableAndDistinct() throws IOException {
        try (LoopbackListener listener = LoopbackListener.open();
             SocketFd client = SocketFd.connectLoopback(listener.port());
             SocketFd server = listener.accept()) {
            long clientCookie = Sockets.cookie(client.value());
            long serverCookie = Sockets.cookie(server.value());
            assertNotEquals(0, clientCookie);
            assertNotEquals(0, serverCookie);
            assertNotEquals(clientCookie, serverCookie);
            assertEquals(clientCookie, Sockets.cookie(client.value()));
        }
    }

    /**
     * Measured on 6.18: bytes_acked counts the SYN on the connecting side only, and bytes_sent
     * includes retransmissions, even spurious ones: here the sender's tail loss probe fires
     * before the receiver's delayed ACK and resends the last segment (about 34 KB of 100 KB).
     */
    @Test
    void tcpInfoCountsPayloadAndTheConnectingSidesSyn() throws Exception {
        try (LoopbackListener listener = LoopbackListener.open();
             SocketFd client = SocketFd.connectLoopback(listener.port());
             SocketFd server = listener.accept()) {
            assertEquals(1, Sockets.tcpInfo(client.value()).bytesAcked(), "the SYN, acked by the SYN-ACK");
            assertEquals(0, Sockets.tcpInfo(server.value()).bytesAcked(), "the SYN-ACK is not counted");

            client.write(new byte[CLIENT_BYTES]);
            awaitAcked(client);
            server.write(new byte[SERVER_BYTES]);
            awaitAcked(server);

            TcpInfo clientInfo = Sockets.tcpInfo(client.value());
            TcpInfo serverInfo = Sockets.tcpInfo(server.value());
            assertEquals(TcpInfo.ESTABLISHED, clientInfo.state());
            assertEquals(CLIENT_BYTES + 1, clientInfo.bytesAcked());
            assertEquals(SERVER_BYTES, serverInfo.bytesAcked());
            assertEquals(CLIENT_BYTES, clientInfo.bytesSent() - clientInfo.bytesRetrans());
            assertEquals(SERVER_BYTES, serverInfo.bytesSent() - serverInfo.bytesRetrans());
            assertEquals(CLIENT_BYTES, serverInfo.bytesReceived());
            assertEquals(SERVER_BYTES, clientInfo.bytesReceived());
            assertEquals(0, clientInfo.notsentBytes());
            assertEquals(CLIENT_BYTES, Sockets.unread(server.value()));
            assertEquals(SERVER_BYTES, Sockets.unread(client.value()));
        }
    }

    @Test
    void outqHoldsWhatThePeerHasNotAcked() throws Exception {
        try (LoopbackListener listener = LoopbackListener.open();
             SocketFd client = SocketFd.connectLoopback(listener.port());
             SocketFd server = listener.accept()) {
            assertEquals(0, Sockets.unsentAndUnacked(client.value()));
            // Write until bytes stay unsent (the receiver reads nothing). Chunks far below the
            // 16 KB initial send buffer, so that a blocking write cannot get stuck first.
            byte[] chunk = new byte[4096];
            long written = 0;
            while (Sockets.tcpInfo(client.value()).notsentBytes() == 0) {
                client.write(chunk);
                written += chunk.length;
                assertTrue(written < 256L << 20, "the window never closed");
            }
            // Every byte is either in the sender's queue or, once acked, in the receiver's.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (Sockets.unsentAndUnacked(client.value()) + Sockets.unread(server.value()) != written) {
                assertTrue(System.nanoTime() < deadline, "outq + unread never reached " + written);
                Thread.sleep(5);
            }
        }
    }

    @Test
    void failuresNameTheCallAndTheErrno() {
        IOException e = assertThrows(IOException.class, () -> Sockets.cookie(-1));
        assertEquals("getsockopt SO_COOKIE failed: EBADF (Bad file descriptor)", e.getMessage());
        e = assertThrows(IOException.class, () -> Sockets.setReceiveLowWatermark(-1, 1));
        assertTrue(e.getMessage().startsWith("setsockopt SO_RCVLOWAT failed: EBADF"), e.getMessage());
    }

    private static void awaitAcked(SocketFd socket) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (Sockets.unsentAndUnacked(socket.value()) != 0) {
            assertTrue(System.nanoTime() < deadline, "not acked within 5 s");
            Thread.sleep(1);
        }
    }
}
