package dev.ferry.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The host's MemAvailable, the figure the flow-control promises are stated in. */
public final class HostMemory {
    private HostMemory() {
    }

    public static long availableBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no MemAvailable in /proc/meminfo");
    }

    /** Samples MemAvailable on a daemon thread and keeps the lowest value seen. */
    public static final class LowWatermark implements AutoCloseable {
        private final Thread sampler;
        private volatile long lowest = Long.MAX_VALUE;
        private volatile boolean running = true;

        public LowWatermark() {
            sampler = Thread.ofPlatform().daemon().start(() -> {
                while (running) {
                    lowest = Math.min(lowest, availableBytes());
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        public long lowest() {
            return Math.min(lowest, availableBytes());
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            sampler.join();
        }
    }
}
