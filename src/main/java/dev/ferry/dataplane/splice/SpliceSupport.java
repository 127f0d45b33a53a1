package dev.ferry.dataplane.splice;

import dev.ferry.sys.Errno;
import dev.ferry.sys.LoopbackListener;
import dev.ferry.sys.SocketFd;
import dev.ferry.sys.Splice;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Whether this process can run the splice data plane, proven by doing it once: a loopback socket's
 * bytes go through a pipe with splice(2) and back out of the same socket. Seccomp filters, sandboxes
 * such as gVisor and descriptor limits are what can make it fail.
 */
public final class SpliceSupport {
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(2);

    /** The outcome: {@code detail} says what was proven or, when not ok, what failed. */
    public record Result(boolean ok, String detail) {}

    private SpliceSupport() {}

    /** Never throws. */
    public static Result probe() {
        byte[] probe = "ferry splice probe".getBytes(StandardCharsets.US_ASCII);
        int[] pipe;
        try {
            pipe = Splice.pipe();
        } catch (IOException | RuntimeException e) {
            return new Result(false, e.getMessage());
        }
        try (LoopbackListener listener = LoopbackListener.open();
             Socket client = new Socket(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), listener.port());
             SocketFd server = listener.accept()) {
            Splice.setNonBlocking(server.value());
            client.setSoTimeout((int) TimeUnit.NANOSECONDS.toMillis(TIMEOUT_NANOS));
            client.getOutputStream().write(probe);
            move(server.value(), pipe[1], probe.length, "socket to pipe");
            move(pipe[0], server.value(), probe.length, "pipe to socket");
            byte[] echoed = client.getInputStream().readNBytes(probe.length);
            if (!Arrays.equals(probe, echoed)) {
                return new Result(false, "sent " + probe.length + " bytes through a pipe, got back "
                        + echoed.length + " that differ");
            }
            return new Result(true, "a loopback socket's " + probe.length
                    + " bytes went through a pipe and back with splice(2)");
        } catch (IOException | RuntimeException e) {
            return new Result(false, e.getMessage());
        } finally {
            for (int fd : pipe) {
                try {
                    Splice.close(fd);
                } catch (IOException ignored) {
                    // a probe: nothing more to do
                }
            }
        }
    }

    private static void move(int from, int to, int length, String what) throws IOException {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        int moved = 0;
        while (moved < length) {
            long n = Splice.splice(from, to, length - moved, Splice.SPLICE_F_NONBLOCK);
            if (n > 0) {
                moved += (int) n;
            } else if (n == 0) {
                throw new IOException("splice " + what + ": unexpected end of stream after " + moved + " bytes");
            } else if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("splice " + what + ": nothing moved within 2 s");
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
            } else {
                throw new IOException("splice " + what + " failed: " + Errno.describe((int) -n));
            }
        }
    }
}
