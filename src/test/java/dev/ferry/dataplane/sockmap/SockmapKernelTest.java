package dev.ferry.dataplane.sockmap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.bpf.BpfException;
import dev.ferry.dataplane.sockmap.SockmapKernel.ConnCounters;
import dev.ferry.dataplane.sockmap.SockmapKernel.MapOccupancy;
import dev.ferry.sys.LoopbackListener;
import dev.ferry.sys.SocketFd;
import dev.ferry.sys.Sockets;
import dev.ferry.sys.TcpInfo;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SockmapKernelTest {
    private static final int MAX_SOCKETS = 16;
    private static final int TCP_CLOSE_WAIT = 8;

    @Test
    void anEchoSocketSendsEveryByteBack() throws Exception {
        byte[] data = random(1 << 20, 1);
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd server = listener.accept();
             ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            long cookie = Sockets.cookie(server.value());
            kernel.insertEcho(server.value(), cookie);
            assertEquals(new MapOccupancy(1, 1, 1, 0), kernel.occupancy());

            Future<?> writing = executor.submit(() -> write(client, data));
            byte[] echoed = client.getInputStream().readNBytes(data.length);
            writing.get();

            assertArrayEquals(sha256(data), sha256(echoed));
            ConnCounters counters = kernel.counters(cookie).orElseThrow();
            assertEquals(cookie, counters.peerCookie());
            assertEquals(data.length, counters.redirectedBytes());
            assertTrue(counters.redirectedSkbs() > 0);
            assertEquals(0, counters.redirectFailures());
        }
    }

    @Test
    void bytesQueuedBeforeInsertionAreForwardedToo() throws Exception {
        byte[] data = random(100 * 1024, 2);
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd server = listener.accept()) {
            write(client, data);
            awaitUnread(server, data.length);

            long cookie = Sockets.cookie(server.value());
            kernel.insertEcho(server.value(), cookie);

            assertArrayEquals(sha256(data), sha256(client.getInputStream().readNBytes(data.length)));
            assertEquals(data.length, kernel.counters(cookie).orElseThrow().redirectedBytes());
        }
    }

    @Test
    void aPairForwardsBothWaysAndLeavesNothingBehind() throws Exception {
        byte[] upstream = random(512 * 1024, 3);
        byte[] downstream = random(384 * 1024, 4);
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd clientSide = listener.accept();
             Socket backend = connect(listener);
             SocketFd backendSide = listener.accept();
             ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            long clientCookie = Sockets.cookie(clientSide.value());
            long backendCookie = Sockets.cookie(backendSide.value());
            kernel.insertPair(clientSide.value(), clientCookie, backendSide.value(), backendCookie);
            assertEquals(new MapOccupancy(2, 2, 2, 0), kernel.occupancy());

            Future<?> up = executor.submit(() -> write(client, upstream));
            Future<?> down = executor.submit(() -> write(backend, downstream));
            Future<byte[]> atBackend = executor.submit(() -> backend.getInputStream().readNBytes(upstream.length));
            byte[] atClient = client.getInputStream().readNBytes(downstream.length);
            up.get();
            down.get();
            assertArrayEquals(sha256(upstream), sha256(atBackend.get()));
            assertArrayEquals(sha256(downstream), sha256(atClient));

            ConnCounters fromClient = kernel.counters(clientCookie).orElseThrow();
            ConnCounters fromBackend = kernel.counters(backendCookie).orElseThrow();
            assertEquals(backendCookie, fromClient.peerCookie());
            assertEquals(clientCookie, fromBackend.peerCookie());
            assertEquals(upstream.length, fromClient.redirectedBytes());
            assertEquals(downstream.length, fromBackend.redirectedBytes());

            // No drained entry until user space reports held bytes written; the verdict reads none as 0.
            kernel.setDrained(clientCookie, 0);
            assertEquals(new MapOccupancy(2, 2, 2, 1), kernel.occupancy());

            // Closing a socket drops it from the sockhashes; conns and drained are ours to clean.
            clientSide.close();
            backendSide.close();
            assertEquals(new MapOccupancy(0, 0, 2, 1), kernel.occupancy());
            kernel.forgetClosed(clientCookie, true);
            kernel.forgetClosed(backendCookie, false);
            assertEquals(new MapOccupancy(0, 0, 0, 0), kernel.occupancy());
            assertEquals(Optional.empty(), kernel.counters(clientCookie));
        }
    }

    @Test
    void aFailedInsertionLeavesNothingBehind() throws Exception {
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd server = listener.accept()) {
            long cookie = Sockets.cookie(server.value());
            // Fails after the conns entries and the first target went in. -1, a __u64 above
            // S32_MAX for the kernel, is refused before any fd lookup: EINVAL, not EBADF.
            BpfException e = assertThrows(BpfException.class,
                    () -> kernel.insertPair(server.value(), cookie, -1, cookie + 1));
            assertEquals("EINVAL", e.errnoName());
            assertEquals("update map sock_targets", e.operation());
            assertTrue(kernel.occupancy().isEmpty(), kernel.occupancy().toString());
        }
    }

    @Test
    void aSecondInsertionFailsWithoutUndoingTheFirst() throws Exception {
        byte[] data = random(4096, 5);
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd server = listener.accept()) {
            long cookie = Sockets.cookie(server.value());
            kernel.insertEcho(server.value(), cookie);
            BpfException e = assertThrows(BpfException.class, () -> kernel.insertEcho(server.value(), cookie));
            assertEquals("EEXIST", e.errnoName());
            assertEquals(new MapOccupancy(1, 1, 1, 0), kernel.occupancy());
            write(client, data);
            assertArrayEquals(data, client.getInputStream().readNBytes(data.length));
        }
    }

    @Test
    void aPairRefusedAfterItsFirstSocketForwardedReportsWhatWasForwardedAndThatItArrived() throws Exception {
        byte[] data = random(1000, 6);
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd clientSide = listener.accept();
             Socket backend = connect(listener);
             SocketFd backendSide = listener.accept()) {
            long clientCookie = Sockets.cookie(clientSide.value());
            long backendCookie = Sockets.cookie(backendSide.value());
            SockmapKernel.Socket clientSocket = new SockmapKernel.Socket(clientSide.value(), clientCookie,
                    enteredSendQueue(clientSide));
            SockmapKernel.Socket backendSocket = new SockmapKernel.Socket(backendSide.value(), backendCookie,
                    enteredSendQueue(backendSide));
            // The client's socket is in, the backend's not yet: the client's bytes take the kernel path to the
            // backend, which answers with its FIN, so that the kernel refuses its socket next.
            kernel.betweenSources = () -> {
                try {
                    write(client, data);
                    assertArrayEquals(data, backend.getInputStream().readNBytes(data.length));
                    backend.shutdownOutput();
                    awaitState(backendSide, TCP_CLOSE_WAIT);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            ForwardedBeforeRefusalException e = assertThrows(ForwardedBeforeRefusalException.class,
                    () -> kernel.insertPair(clientSocket, backendSocket, 0));
            assertEquals("EOPNOTSUPP", e.refusal().errnoName());
            assertEquals(data.length, e.forwardedFrom(clientCookie));
            assertEquals(0, e.forwardedFrom(backendCookie));
            // Delivered: none held, and every redirected byte entered the backend side's send queue.
            assertFalse(e.held(), e.getMessage());
            assertTrue(enteredSendQueue(backendSide) - backendSocket.sendBase() >= data.length, e.getMessage());
            assertTrue(kernel.occupancy().isEmpty(), kernel.occupancy().toString());
        }
    }

    /** Bytes (plus SYN) that entered the socket's send queue: bytes_acked, then SIOCOUTQ. */
    private static long enteredSendQueue(SocketFd socket) throws IOException {
        return Sockets.tcpInfo(socket.value()).bytesAcked() + Sockets.unsentAndUnacked(socket.value());
    }

    @Test
    void aSocketWhosePeerSentFinCannotBeInserted() throws Exception {
        try (SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
             LoopbackListener listener = LoopbackListener.open();
             Socket client = connect(listener);
             SocketFd server = listener.accept()) {
            client.shutdownOutput();
            awaitState(server, TCP_CLOSE_WAIT);
            BpfException e = assertThrows(BpfException.class,
                    () -> kernel.insertEcho(server.value(), Sockets.cookie(server.value())));
            assertEquals("EOPNOTSUPP", e.errnoName());
            assertTrue(kernel.occupancy().isEmpty());
        }
    }

    @Test
    void closeIsIdempotentAndEndsEveryOperation() throws Exception {
        SockmapKernel kernel = SockmapKernel.load(MAX_SOCKETS);
        assertEquals(Optional.empty(), kernel.counters(42));
        kernel.close();
        kernel.close();
        assertThrows(IllegalStateException.class, () -> kernel.counters(42));
        assertThrows(IllegalStateException.class, kernel::occupancy);
    }

    private static Socket connect(LoopbackListener listener) throws IOException {
        Socket socket = new Socket(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), listener.port());
        socket.setSoTimeout(20_000);
        return socket;
    }

    private static Void write(Socket socket, byte[] data) throws IOException {
        socket.getOutputStream().write(data);
        return null;
    }

    private static void awaitUnread(SocketFd socket, int bytes) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (Sockets.unread(socket.value()) < bytes) {
            assertTrue(System.nanoTime() < deadline, "bytes did not arrive");
            Thread.sleep(1);
        }
    }

    private static void awaitState(SocketFd socket, int state) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        TcpInfo info;
        while ((info = Sockets.tcpInfo(socket.value())).state() != state) {
            assertTrue(System.nanoTime() < deadline, "still in state " + info.state());
            Thread.sleep(1);
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }
}
