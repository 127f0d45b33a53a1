package dev.ferry.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The host's MemAvailable, the figure the flow-control promises are stated in. */
public final class HostMemory {
    private static final long PAGE_BYTES = 4096;

    private HostMemory() {
    }

    /**
     * MemAvailable plus the free pages the page allocator keeps on its per-CPU lists, which MemAvailable
     * leaves out. Since kernel 6.7 those lists grow with the rate at which a CPU frees pages, and a burst of
     * loopback traffic can park tens of megabytes of free pages there: in a slow-backend run, MemAvailable
     * fell 50-88 MB, of which the per-CPU lists had taken 35-71 MB, TCP's charged memory 11 MB and the
     * processes' anonymous memory 6-9 MB.
     */
    public static long availableBytes() {
        return memAvailableBytes() + perCpuFreeBytes();
    }

    /** MemAvailable alone, as /proc/meminfo gives it. */
    public static long memAvailableBytes() {
        return kibField(Path.of("/proc/meminfo"), "MemAvailable:") * 1024;
    }

    /** Free pages on the page allocator's per-CPU lists: the {@code count} of every pageset in /proc/zoneinfo. */
    public static long perCpuFreeBytes() {
        try {
            long pages = 0;
            for (String line : Files.readAllLines(Path.of("/proc/zoneinfo"))) {
                String trimmed = line.trim();
                if (trimmed.startsWith("count:")) {
                    pages += Long.parseLong(trimmed.substring("count:".length()).trim());
                }
            }
            return pages * PAGE_BYTES;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Anonymous memory of every process on the host (AnonPages): heaps and stacks, never kernel buffers. */
    public static long anonymousBytes() {
        return kibField(Path.of("/proc/meminfo"), "AnonPages:") * 1024;
    }

    /** The number on the line of {@code file} that starts with {@code label} (such files count in kB). */
    private static long kibField(Path file, String label) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(label)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no " + label + " in " + file);
    }

    /**
     * Pages charged to TCP sockets host-wide ({@code /proc/net/sockstat}, "TCP: ... mem"): socket
     * buffers and queued data. Bytes the kernel queues uncharged (a psock's backlog) show only in
     * MemAvailable.
     */
    public static long tcpPages() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/net/sockstat"))) {
                if (line.startsWith("TCP:")) {
                    String[] fields = line.trim().split("\\s+");
                    for (int i = 1; i + 1 < fields.length; i++) {
                        if (fields[i].equals("mem")) {
                            return Long.parseLong(fields[i + 1]);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no TCP mem in /proc/net/sockstat");
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
