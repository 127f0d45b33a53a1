package dev.ferry.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The host's MemAvailable, the figure the flow-control promises are stated in. */
public final class HostMemory {
    private static final long PAGE_BYTES = 4096;
    private static final Pattern KIB_LINE = Pattern.compile("([A-Za-z()_]+):\\s+(\\d+) kB");
    private static final Path MEMINFO = Path.of("/proc/meminfo");
    /** How far MemFree may move while the per-CPU lists are read for the two to count as read at one moment. */
    private static final long FREE_PAGES_SETTLED = 2 * 1024 * 1024;
    private static final int CONSISTENT_READ_ATTEMPTS = 100;
    /**
     * How long before a read no free page report may have been answered: longer than the kernel's worker takes
     * to put reported pages back after the answer's interrupt, so that a report answered just before the read
     * but not yet put back counts.
     */
    private static final long QUIET_BEFORE = 100;
    /** How long after a read no report may be answered: a report in flight at the read took 20 ms here. */
    private static final long QUIET_AFTER = 500;
    private static final int QUIET_READ_ATTEMPTS = 40;

    private HostMemory() {
    }

    /** Free pages on the page allocator's per-CPU lists: the {@code count} of every pageset in /proc/zoneinfo. */
    private static long perCpuFreeBytes() {
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

    /**
     * Packets waiting in every CPU's receive backlog: the backlog_len column (the twelfth) of
     * /proc/net/softnet_stat, one line per CPU, in hexadecimal.
     */
    private static long packetsInReceiveBacklogs() {
        try {
            long packets = 0;
            for (String line : Files.readAllLines(Path.of("/proc/net/softnet_stat"))) {
                String[] columns = line.trim().split("\\s+");
                if (columns.length < 12) {
                    throw new IllegalStateException("/proc/net/softnet_stat has no backlog_len column: " + line);
                }
                packets += Long.parseLong(columns[11], 16);
            }
            return packets;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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

    /**
     * The host's memory, read at one moment. {@code available} is MemAvailable plus the free pages the page
     * allocator keeps on its per-CPU lists, which MemAvailable leaves out: since kernel 6.7 those lists grow
     * with the rate at which a CPU frees pages, and a burst of loopback traffic can park tens of megabytes
     * there (in a slow-backend run MemAvailable fell 50-88 MB, of which the per-CPU lists had taken 35-71 MB,
     * TCP's charged memory 11 MB and the processes' anonymous memory 6-9 MB). {@code anonymous} is every
     * process's (AnonPages), {@code ownAnonymous} this JVM's (RssAnon); {@code filePages} is the page cache as
     * MemAvailable counts it (Active(file) and Inactive(file)). The rest name other places a fall can go:
     * {@code reclaimableSlab}, {@code kernelStacksAndPageTables}, {@code shmem}, {@code vmalloc}, and packets waiting in the
     * CPUs' receive backlogs ({@code softnetBacklogPackets}, /proc/net/softnet_stat), where loopback traffic
     * sits, charged to no socket, until the receiving softirq runs (up to net.core.netdev_max_backlog per CPU).
     */
    public record Snapshot(long available, long free, long perCpuFree, long anonymous, long ownAnonymous,
                           long filePages, long unreclaimableSlab, long tcp, long reclaimableSlab,
                           long kernelStacksAndPageTables, long shmem, long vmalloc, long softnetBacklogPackets) {
        /**
         * A snapshot no free page reporting overlapped ({@link FreePageReporting}): read, then kept once no report
         * was answered from 100 ms before the read until 500 ms after it.
         */
        public static Snapshot take() throws InterruptedException {
            for (int attempt = 0; attempt < QUIET_READ_ATTEMPTS; attempt++) {
                long reports = FreePageReporting.reportsAnswered();
                Thread.sleep(QUIET_BEFORE);
                Snapshot snapshot = read();
                Thread.sleep(QUIET_AFTER);
                if (FreePageReporting.reportsAnswered() == reports) {
                    return snapshot;
                }
            }
            throw new IllegalStateException("the balloon's free page reporting answered a report within every one of "
                    + QUIET_READ_ATTEMPTS + " reads of the host's memory: no reading free of it");
        }

        private static Snapshot read() {
            // MemFree and the per-CPU lists come from two files. Pages the kernel moves between the two while they
            // are read count twice or not at all, and the lowest of many samples picks the latter: the lists are
            // read between two reads of /proc/meminfo, and kept once MemFree stayed put across them.
            Map<String, Long> meminfo = kibFields(MEMINFO);
            long perCpu = 0;
            for (int attempt = 0; attempt < CONSISTENT_READ_ATTEMPTS; attempt++) {
                perCpu = perCpuFreeBytes();
                Map<String, Long> after = kibFields(MEMINFO);
                long moved = Math.abs(field(after, "MemFree") - field(meminfo, "MemFree"));
                meminfo = after;
                if (moved <= FREE_PAGES_SETTLED) {
                    break;
                }
            }
            return new Snapshot(field(meminfo, "MemAvailable") + perCpu, field(meminfo, "MemFree"), perCpu,
                    field(meminfo, "AnonPages"), field(kibFields(Path.of("/proc/self/status")), "RssAnon"),
                    field(meminfo, "Active(file)") + field(meminfo, "Inactive(file)"), field(meminfo, "SUnreclaim"),
                    tcpPages() * PAGE_BYTES, field(meminfo, "SReclaimable"),
                    field(meminfo, "KernelStack") + field(meminfo, "PageTables"), field(meminfo, "Shmem"),
                    field(meminfo, "VmallocUsed"), packetsInReceiveBacklogs());
        }

        /**
         * {@link #available} plus the anonymous memory of every process but this one, so that a fall counts
         * what this JVM (Ferry and the test's peers) and the kernel took, and not what Maven's JVM or a CI
         * runner's processes grew by meanwhile.
         */
        public long availableBesideOtherProcesses() {
            return available + anonymous - ownAnonymous;
        }

        /** TCP's charged memory in pages, as {@link #tcpPages()} counts it when read alone. */
        public long tcpChargedPages() {
            return tcp / PAGE_BYTES;
        }

        /** How far {@link #availableBesideOtherProcesses} fell from {@code before} to this snapshot. */
        public long fallSince(Snapshot before) {
            return before.availableBesideOtherProcesses() - availableBesideOtherProcesses();
        }

        /** Where the memory went between {@code before} and this snapshot, in MB, for a test's report. */
        public String describeFallSince(Snapshot before) {
            long anonymousGrowth = anonymous - before.anonymous;
            long ownGrowth = ownAnonymous - before.ownAnonymous;
            return String.format("MemAvailable (per-CPU free pages counted, other processes aside) fell %d MB"
                            + " (MemAvailable with per-CPU free pages %+d: MemFree %+d, per-CPU free pages %+d, TCP charged %+d,"
                            + " anonymous %+d of which this JVM %+d and other processes %+d, file pages %+d, unreclaimable slab %+d,"
                            + " reclaimable slab %+d, kernel stacks and page tables %+d, shmem %+d, vmalloc %+d;"
                            + " free pages taken by none of these but TCP %+d;"
                            + " %d packets in the CPUs' receive backlogs, against %d before)",
                    mb(fallSince(before)), mb(available - before.available), mb(free - before.free),
                    mb(perCpuFree - before.perCpuFree),
                    mb(tcp - before.tcp), mb(anonymousGrowth), mb(ownGrowth), mb(anonymousGrowth - ownGrowth),
                    mb(filePages - before.filePages), mb(unreclaimableSlab - before.unreclaimableSlab),
                    mb(reclaimableSlab - before.reclaimableSlab),
                    mb(kernelStacksAndPageTables - before.kernelStacksAndPageTables), mb(shmem - before.shmem),
                    mb(vmalloc - before.vmalloc), mb(takenByNoneOfThese(before)),
                    softnetBacklogPackets, before.softnetBacklogPackets);
        }

        /**
         * How much more of the free pages (MemFree and the per-CPU lists) is gone than the named page users grew
         * by. What is left is mostly packet data: the pages of socket buffers, of which TCP's charged memory counts
         * the charged part (their heads are slab), and of packets the kernel holds charged to no socket.
         */
        private long takenByNoneOfThese(Snapshot before) {
            long freeFell = (before.free + before.perCpuFree) - (free + perCpuFree);
            long namedGrew = (anonymous - before.anonymous) + (filePages - before.filePages)
                    + (unreclaimableSlab - before.unreclaimableSlab) + (reclaimableSlab - before.reclaimableSlab)
                    + (kernelStacksAndPageTables - before.kernelStacksAndPageTables) + (shmem - before.shmem)
                    + (vmalloc - before.vmalloc);
            return freeFell - namedGrew;
        }

        private static long mb(long bytes) {
            return bytes / 1_000_000;
        }
    }

    private static long field(Map<String, Long> fields, String name) {
        Long bytes = fields.get(name);
        if (bytes == null) {
            throw new IllegalStateException("no " + name + " among " + fields.keySet());
        }
        return bytes;
    }

    /** Every "Name: number kB" line of a /proc file, in bytes. */
    private static Map<String, Long> kibFields(Path file) {
        try {
            Map<String, Long> fields = new HashMap<>();
            for (String line : Files.readAllLines(file)) {
                Matcher matcher = KIB_LINE.matcher(line);
                if (matcher.matches()) {
                    fields.put(matcher.group(1), Long.parseLong(matcher.group(2)) * 1024);
                }
            }
            return fields;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Samples the host's memory every 100 ms (or {@code period}) on a daemon thread and gives the sample with the
     * least available beside other processes, among those no free page reporting overlapped: a sample counts once
     * no report was answered from 100 ms before it until 500 ms after it, as {@link Snapshot#take()} waits for.
     */
    public static final class LowWatermark implements AutoCloseable {
        /** Samples no report may have overlapped: at least this share of all, or the low point is not known. */
        private static final int LEAST_QUIET_PERCENT = 25;
        private final List<Sample> samples = new ArrayList<>();
        private final Thread sampler;
        private volatile boolean running = true;
        private volatile String kept = "no samples judged yet";
        private volatile Snapshot lowestOverlapped;

        /** A reading and the reports answered just before it. */
        private record Sample(long nanos, long reportsBefore, Snapshot snapshot) {
        }

        public LowWatermark() {
            this(Duration.ofMillis(100));
        }

        public LowWatermark(Duration period) {
            sample();
            sampler = Thread.ofPlatform().daemon().start(() -> {
                while (running) {
                    try {
                        Thread.sleep(period);
                    } catch (InterruptedException e) {
                        return;
                    }
                    sample();
                }
            });
        }

        /** Reads under the lock, so that the sampler's readings and {@link #lowest()}'s stay in time order. */
        private void sample() {
            synchronized (samples) {
                long reports = FreePageReporting.reportsAnswered();
                samples.add(new Sample(System.nanoTime(), reports, Snapshot.read()));
            }
        }

        /**
         * The snapshot with the least available memory so far, this moment's included, among those no free page
         * reporting overlapped. Waits 600 ms for the latest ones to be known free of it.
         */
        public Snapshot lowest() throws InterruptedException {
            sample();
            Thread.sleep(QUIET_BEFORE + QUIET_AFTER);
            sample();
            List<Sample> taken;
            synchronized (samples) {
                taken = List.copyOf(samples);
            }
            Snapshot lowest = null;
            Snapshot overlappedLowest = null;
            int quiet = 0;
            int judged = 0;
            for (int i = 1; i < taken.size(); i++) {
                Sample earlier = lastAtLeastBefore(taken, i, TimeUnit.MILLISECONDS.toNanos(QUIET_BEFORE));
                Sample later = firstAtLeastAfter(taken, i, TimeUnit.MILLISECONDS.toNanos(QUIET_AFTER));
                if (earlier == null || later == null) {
                    continue;
                }
                judged++;
                Snapshot snapshot = taken.get(i).snapshot();
                if (later.reportsBefore() == earlier.reportsBefore()) {
                    quiet++;
                    lowest = lower(lowest, snapshot);
                } else {
                    overlappedLowest = lower(overlappedLowest, snapshot);
                }
            }
            if (lowest == null || quiet * 100L < (long) judged * LEAST_QUIET_PERCENT) {
                throw new IllegalStateException("the balloon's free page reporting overlapped " + (judged - quiet)
                        + " of " + judged + " samples of the host's memory: its low point is not known");
            }
            lowestOverlapped = overlappedLowest;
            long belowKept = overlappedLowest == null ? 0
                    : lowest.availableBesideOtherProcesses() - overlappedLowest.availableBesideOtherProcesses();
            kept = quiet + " of " + judged + " samples kept; " + (judged - quiet)
                    + " overlapped the balloon's free page reporting"
                    + (belowKept > 0 ? ", the lowest of them " + belowKept / 1_000_000 + " MB below the kept low point"
                    : "");
            return lowest;
        }

        private static Snapshot lower(Snapshot lowest, Snapshot candidate) {
            return lowest == null || candidate.availableBesideOtherProcesses() < lowest.availableBesideOtherProcesses()
                    ? candidate : lowest;
        }

        /** The lowest of the samples the last {@link #lowest()} left out, if it left out any. */
        public Optional<Snapshot> lowestOverlapped() {
            return Optional.ofNullable(lowestOverlapped);
        }

        /** How many samples the last {@link #lowest()} kept, for a test's report. */
        public String samplesKept() {
            return kept;
        }

        /** The last sample taken at least {@code nanos} before sample {@code index}, or null if none was. */
        private static Sample lastAtLeastBefore(List<Sample> taken, int index, long nanos) {
            long until = taken.get(index).nanos();
            for (int j = index - 1; j >= 0; j--) {
                if (until - taken.get(j).nanos() >= nanos) {
                    return taken.get(j);
                }
            }
            return null;
        }

        /** The first sample taken at least {@code nanos} after sample {@code index}, or null if none is yet. */
        private static Sample firstAtLeastAfter(List<Sample> taken, int index, long nanos) {
            long from = taken.get(index).nanos();
            for (int j = index + 1; j < taken.size(); j++) {
                if (taken.get(j).nanos() - from >= nanos) {
                    return taken.get(j);
                }
            }
            return null;
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            sampler.join();
        }
    }
}
