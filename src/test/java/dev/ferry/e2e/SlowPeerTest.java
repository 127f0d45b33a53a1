package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.config.DataPlaneConfig;
import dev.ferry.config.FlowConfig;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A backend that reads about 400 KB/s for a few seconds while the client writes as fast as it can:
 * the stream arrives intact on every plane, and Ferry holds the client back with its default settings:
 * what Ferry buffers in user space stays under the plane's bound, and what is in flight between client
 * and backend stays under what the socket buffers on the way can hold plus that bound. On the sockmap
 * plane the bound is flow control's {@code max_in_flight} (4 MiB by default); without flow control the
 * kernel takes the whole stream within a second or so (docs/dataplanes.md).
 */
@ParameterizedClass(name = "{0} plane")
@ValueSource(strings = {"sockmap", "splice", "copy"})
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SlowPeerTest {
    private static final long SIZE = 256L * 1024 * 1024;
    private static final int SLOW_CHUNK = 40_000;          // every 100 ms: 400 KB/s
    private static final long SLOW_MILLIS = 3_000;
    private static final long COPY_READ_BYTES = 64 * 1024; // Netty's largest read buffer

    @Parameter
    String plane;

    @Test
    void aBackendReadingFourHundredKilobytesASecondGetsTheWholeStreamIntact() throws Exception {
        AtomicLong written = new AtomicLong();
        AtomicLong read = new AtomicLong();
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 return slowThenFast(socket.getInputStream(), read);
             });
             FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint());
             Socket client = ferry.connect()) {
            HashPeer.syncAsClient(client);
            CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
                try {
                    send(client, written);
                    client.shutdownOutput();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            long maxInFlight = 0;
            long maxBuffered = 0;
            long slowUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SLOW_MILLIS - 300);
            while (System.nanoTime() < slowUntil) {
                maxInFlight = Math.max(maxInFlight, written.get() - read.get());
                maxBuffered = Math.max(maxBuffered, ferry.bufferedBytes(plane));
                Thread.sleep(10);
            }
            long writtenWhileSlow = written.get();
            sending.get(2, TimeUnit.MINUTES);
            HashPeer.Received atBackend = backend.nextResult(120);
            assertEquals(new HashPeer.Received(SIZE, RandomStream.sha256(51, SIZE)), atBackend, "client to backend");
            System.out.printf("%s plane, backend at 400 KB/s for %d ms: client wrote %d bytes, at most %d in flight,"
                    + " Ferry buffered at most %d%n", plane, SLOW_MILLIS, writtenWhileSlow, maxInFlight, maxBuffered);
            long planeBound = switch (plane) {
                case "splice" -> DataPlaneConfig.DEFAULT_SPLICE_PIPE_BYTES;
                case "copy" -> DataPlaneConfig.DEFAULT_COPY_BUFFER_BYTES + COPY_READ_BYTES;
                default -> FlowConfig.DEFAULT_MAX_IN_FLIGHT;
            };
            assertTrue(maxBuffered <= planeBound, "Ferry buffered " + maxBuffered + " bytes, bound " + planeBound);
            long socketsBound = 2 * (maxSysctl("tcp_wmem") + maxSysctl("tcp_rmem"));
            assertTrue(maxInFlight <= socketsBound + planeBound, maxInFlight + " bytes in flight: more than the"
                    + " socket buffers on the way (" + socketsBound + ") and the plane's bound can hold");
            assertTrue(writtenWhileSlow < SIZE, "the client was never held back");
        }
    }

    /** Reads SLOW_CHUNK bytes every 100 ms for SLOW_MILLIS, then everything to the end, hashing it. */
    private static HashPeer.Received slowThenFast(InputStream in, AtomicLong read) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[256 * 1024];
        long start = System.nanoTime();
        long total = 0;
        for (int tick = 0; tick * 100L < SLOW_MILLIS; tick++) {
            int wanted = SLOW_CHUNK;
            while (wanted > 0) {
                int n = in.read(buffer, 0, wanted);
                if (n < 0) {
                    return new HashPeer.Received(total, HexFormat.of().formatHex(digest.digest()));
                }
                digest.update(buffer, 0, n);
                total += n;
                read.addAndGet(n);
                wanted -= n;
            }
            long next = start + TimeUnit.MILLISECONDS.toNanos((tick + 1) * 100L);
            long sleep = next - System.nanoTime();
            if (sleep > 0) {
                TimeUnit.NANOSECONDS.sleep(sleep);
            }
        }
        int n;
        while ((n = in.read(buffer)) >= 0) {
            digest.update(buffer, 0, n);
            total += n;
            read.addAndGet(n);
        }
        return new HashPeer.Received(total, HexFormat.of().formatHex(digest.digest()));
    }

    private static void send(Socket socket, AtomicLong written) throws IOException {
        RandomStream stream = new RandomStream(51, SIZE);
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = stream.next(buffer)) > 0) {
            out.write(buffer, 0, n);
            written.addAndGet(n);
        }
        out.flush();
    }

    /** The largest buffer TCP autotuning may give a socket, the third field of net.ipv4.tcp_wmem or tcp_rmem. */
    private static long maxSysctl(String name) throws IOException {
        // procfs reports a size of 0: read to the end rather than by size.
        String text;
        try (InputStream in = Files.newInputStream(Path.of("/proc/sys/net/ipv4/" + name))) {
            text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
        }
        String[] fields = text.trim().split("\\s+");
        return Long.parseLong(fields[2]);
    }
}
