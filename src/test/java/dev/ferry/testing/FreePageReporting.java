package dev.ferry.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A virtio balloon's free page reporting, which lowers MemFree for a moment without any process or kernel user
 * taking memory. The guest takes up to 32 free blocks of 2 MiB (4 MiB at the top order) off the free lists, hands
 * them to the hypervisor, waits for the answer and puts them back (mm/page_reporting.c): MemFree falls by up to
 * 64 MiB, or 128, for the round trip. Measured on this machine kind: 64-134 MB for about 20 ms per report, a few
 * reports every 2 s until every block freed meanwhile is reported. A memory check that samples during one sees a
 * fall nobody caused.
 *
 * <p>The hypervisor answers each report with an interrupt on the balloon's reporting queue. A reading of MemFree
 * taken while no such interrupt arrived from shortly before it until well after it saw no pages held for
 * reporting. That is the count this class gives.
 */
final class FreePageReporting {
    private static final Path BALLOON_DEVICES = Path.of("/sys/bus/virtio/drivers/virtio_balloon");
    private static final Path INTERRUPTS = Path.of("/proc/interrupts");
    private static final String REPORTING_QUEUE = "-reporting_vq";
    /** The sysfs {@code features} file lists the negotiated feature bits as 0s and 1s, bit 0 first. */
    private static final int REPORTING_FEATURE_BIT = 5;
    /** Read once: devices and their negotiated features do not change while the tests run. */
    private static final List<String> REPORTING_BALLOONS = reportingBalloons();

    private FreePageReporting() {
    }

    /**
     * Reports the hypervisor has answered since boot: the interrupts of every reporting balloon's reporting queue,
     * or of the whole device where it has no interrupt of its own per queue. 0 without such a balloon.
     */
    static long reportsAnswered() {
        if (REPORTING_BALLOONS.isEmpty()) {
            return 0;
        }
        List<String> lines = readInterrupts();
        int cpus = lines.getFirst().trim().split("\\s+").length;
        long answered = 0;
        for (String balloon : REPORTING_BALLOONS) {
            OptionalLong reportingQueue = interrupts(lines, cpus, name -> name.equals(balloon + REPORTING_QUEUE));
            answered += reportingQueue.isPresent() ? reportingQueue.getAsLong()
                    : interrupts(lines, cpus, name -> name.equals(balloon) || name.startsWith(balloon + "-"))
                    .orElseThrow(() -> new IllegalStateException("balloon device " + balloon + " has no line in "
                            + INTERRUPTS + ": cannot tell when its free page reporting holds free pages"));
        }
        return answered;
    }

    /** Whether a balloon device reports free pages here. */
    static boolean offered() {
        return !REPORTING_BALLOONS.isEmpty();
    }

    /**
     * The virtio devices ("virtio0") the balloon driver is bound to that negotiated free page reporting
     * (VIRTIO_BALLOON_F_REPORTING, feature bit 5); empty on a host without one.
     */
    private static List<String> reportingBalloons() {
        if (!Files.isDirectory(BALLOON_DEVICES)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(BALLOON_DEVICES)) {
            return entries.map(entry -> entry.getFileName().toString()).filter(name -> name.matches("virtio\\d+"))
                    .filter(FreePageReporting::reportsFreePages).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean reportsFreePages(String device) {
        try {
            String features = Files.readString(Path.of("/sys/bus/virtio/devices", device, "features")).trim();
            return features.length() > REPORTING_FEATURE_BIT && features.charAt(REPORTING_FEATURE_BIT) == '1';
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> readInterrupts() {
        try {
            return Files.readAllLines(INTERRUPTS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The interrupts, summed over all CPUs, of the lines whose name is {@code named}; empty if there is none. */
    private static OptionalLong interrupts(List<String> lines, int cpus, Predicate<String> named) {
        OptionalLong total = OptionalLong.empty();
        for (String line : lines.subList(1, lines.size())) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length > cpus && named.test(fields[fields.length - 1])) {
                long count = 0;
                for (int cpu = 1; cpu <= cpus; cpu++) {
                    count += Long.parseLong(fields[cpu]);
                }
                total = OptionalLong.of(total.orElse(0) + count);
            }
        }
        return total;
    }
}
