package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.sys.OverlappingSegment;
import dev.ferry.sys.SocketFd;
import dev.ferry.testing.Await;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A retransmission that starts before bytes Ferry's socket already received and carries new ones
 * after them. TCP queues such a segment whole and leaves the reader to skip what it has read; the
 * kernel's sockmap reader does not, so without the verdict's cut the old bytes would reach the
 * backend twice (docs/flow-control.md, fact 10). The segment is sent on the client's behalf; the
 * client's own next write then overlaps it the same way.
 */
@Timeout(60)
class OverlappingRetransmissionTest {
    private static final int OLD = 1000;
    private static final int FRESH = 3000;

    @ParameterizedTest(name = "max_in_flight {0}")
    @ValueSource(strings = {"0", "4MiB"})
    void bytesTheVerdictHasSeenAreForwardedOnce(String maxInFlight) throws Exception {
        Random random = new Random(42);
        byte[] first = "first packet\n".getBytes();
        byte[] before = new byte[64 * 1024];
        byte[] after = new byte[10_000];
        random.nextBytes(before);
        random.nextBytes(after);
        AtomicLong received = new AtomicLong();
        try (TestBackend backend = new TestBackend(socket -> readAll(socket.getInputStream(), received));
             FerryHarness ferry = FerryHarness.start("sockmap",
                     "flow: { max_in_flight: " + maxInFlight + " }\n" + FerryHarness.catchAllYaml(backend.endpoint()));
             SocketFd client = SocketFd.connectLoopback(ferry.port())) {
            client.write(first);
            Await.until(() -> received.get() == first.length, "the first packet at the backend");
            client.write(before);
            Await.until(() -> received.get() == first.length + before.length, "the bytes before the overlap");

            OverlappingSegment.send(client.value(), ferry.port(),
                    Arrays.copyOfRange(before, before.length - OLD, before.length), Arrays.copyOf(after, FRESH));
            Await.until(() -> received.get() >= first.length + before.length + FRESH, Duration.ofSeconds(15),
                    () -> "the segment's new bytes at the backend; it has " + received.get());
            client.write(after);  // its first FRESH bytes are in Ferry's socket already
            client.close();

            byte[] expected = concat(first, before, after);
            assertArrayEquals(expected, backend.<byte[]>nextResult(20), "every byte once, in order");
            ferry.awaitEnded("plane=\"sockmap\",end=\"closed\"", 1);
            assertEquals(OLD + FRESH, ferry.stat("ferry_sockmap_seen_bytes_cut_total"),
                    "the injected segment's old bytes and the client's rewritten ones were cut");
        }
    }

    private static byte[] readAll(InputStream in, AtomicLong received) throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[16 * 1024];
        for (int n; (n = in.read(buffer)) > 0; ) {
            all.write(buffer, 0, n);
            received.addAndGet(n);
        }
        return all.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            all.writeBytes(part);
        }
        return all.toByteArray();
    }
}
