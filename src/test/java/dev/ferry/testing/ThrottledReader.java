package dev.ferry.testing;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads a stream at a bounded rate, hashing it, and publishes how far it got, so that a test can
 * compare the writer's progress with the reader's.
 */
public final class ThrottledReader {
    private final AtomicLong received = new AtomicLong();
    private volatile long bytesPerSecond;

    public ThrottledReader(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Stops throttling: reads the rest as fast as it comes. */
    public void unthrottle() {
        bytesPerSecond = 0;
    }

    public long received() {
        return received.get();
    }

    /** Reads to EOF at about the configured rate; returns what it read. */
    public HashPeer.Received read(InputStream in) throws IOException, InterruptedException {
        MessageDigest digest = RandomStream.newDigest();
        byte[] slice = new byte[(int) Math.max(1024, bytesPerSecond / 20)];  // 20 reads a second
        byte[] flatOut = new byte[256 * 1024];
        long start = System.nanoTime();
        int n;
        while (true) {
            long rate = bytesPerSecond;
            byte[] buffer = rate == 0 ? flatOut : slice;
            if ((n = in.read(buffer)) < 0) {
                break;
            }
            digest.update(buffer, 0, n);
            long total = received.addAndGet(n);
            if (rate > 0) {
                long wait = start + total * 1_000_000_000L / rate - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
        }
        return new HashPeer.Received(received.get(), HexFormat.of().formatHex(digest.digest()));
    }
}
