package dev.ferry.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.dataplane.splice.SpliceSupport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The splice(2) binding: what the splice plane relies on, one fact per test. */
@Timeout(30)
class SpliceTest {
    private static final int FLAGS = Splice.SPLICE_F_NONBLOCK | Splice.SPLICE_F_MOVE;

    @Test
    void aPipeTakesTheCapacityAskedRoundedUpToAPowerOfTwoPages() throws IOException {
        int[] pipe = Splice.pipe();
        try {
            assertEquals(65536, Splice.pipeSize(pipe[1]), "the kernel's default");
            assertEquals(262144, Splice.setPipeSize(pipe[1], 200_000));
            assertEquals(262144, Splice.pipeSize(pipe[0]), "one pipe, seen from either end");
        } finally {
            close(pipe);
        }
    }

    /** EAGAIN on a socket with nothing to read, the bytes when there are some, 0 at the end of the stream. */
    @Test
    void spliceMovesBytesAndTellsWouldBlockFromTheEndOfTheStream() throws IOException {
        byte[] hello = "hello through a pipe".getBytes(StandardCharsets.US_ASCII);
        int[] pipe = Splice.pipe();
        try (LoopbackListener listener = LoopbackListener.open();
             Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.port());
             SocketFd server = listener.accept()) {
            client.setSoTimeout(5000);
            Splice.setNonBlocking(server.value());
            assertEquals(-Errno.EAGAIN, Splice.splice(server.value(), pipe[1], 4096, FLAGS), "nothing to read yet");
            assertEquals(-Errno.EAGAIN, Splice.splice(pipe[0], server.value(), 4096, FLAGS), "an empty pipe");

            client.getOutputStream().write(hello);
            assertEquals(hello.length, awaitSplice(server.value(), pipe[1]));
            // Back out through the same socket, to the client.
            assertEquals(hello.length, Splice.splice(pipe[0], server.value(), hello.length, FLAGS));
            assertArrayEquals(hello, client.getInputStream().readNBytes(hello.length));

            Splice.close(Splice.duplicate(server.value()));  // a duplicate closed: the socket stays open
            assertEquals(-Errno.EAGAIN, Splice.splice(server.value(), pipe[1], 4096, FLAGS), "still open");
            client.shutdownOutput();
            assertEquals(0, awaitSplice(server.value(), pipe[1]), "the end of the stream");
        } finally {
            close(pipe);
        }
    }

    @Test
    void theProbeWorksHere() {
        SpliceSupport.Result result = SpliceSupport.probe();
        assertTrue(result.ok(), result.detail());
    }

    /** Splices once data or the end arrives (loopback delivery is not always immediate). */
    private static long awaitSplice(int from, int to) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            long n = Splice.splice(from, to, 4096, FLAGS);
            if (n != -Errno.EAGAIN || System.nanoTime() > deadline) {
                return n;
            }
            Thread.onSpinWait();
        }
    }

    private static void close(int[] pipe) throws IOException {
        for (int fd : pipe) {
            Splice.close(fd);
        }
    }
}
